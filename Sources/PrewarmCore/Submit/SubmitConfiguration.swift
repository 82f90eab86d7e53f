// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

/// Where the profiler writes its annotation in the job.
public enum AnnotationField: String, Sendable, CaseIterable {
    case adminComment = "AdminComment"
    case comment = "Comment"
    case none = "none"
}

/// The settings of the in-controller profiler, read from `prewarm.conf`: a Slurm-style file of `Key=Value`
/// lines (keys case-insensitive, `#` starts a comment, blank lines ignored).
public struct SubmitConfiguration: Sendable, Equatable {
    /// The model file `prewarm train` or `prewarmd` publishes.
    public var modelFile = "/var/lib/prewarm/prewarm.model"
    public var annotationField = AnnotationField.adminComment
    /// The daemon's Unix datagram socket; empty disables notifications.
    public var notifySocket = "/run/prewarm/prewarmd.sock"
    /// Seconds between checks of the model file for a new version.
    public var reloadInterval = 30
    /// Bytes of the batch script the analyser reads at most.
    public var maxScriptBytes = 65_536
    /// `no` turns the profiler off (jobs pass through untouched).
    public var enabled = true
    /// A file the profiler rewrites (atomically, off the submit path) with its latency histogram and counters;
    /// empty disables it.
    public var statsFile = ""

    public init() {}

    /// Keys understood, in the spelling of the example file.
    public static let keys = [
        "ModelFile", "AnnotationField", "NotifySocket", "ReloadInterval", "MaxScriptBytes", "Enabled", "StatsFile",
    ]

    /// A configuration problem, naming the file, line and key.
    public struct ParseError: Error, Equatable, CustomStringConvertible, Sendable {
        public var file: String
        public var line: Int
        public var key: String
        public var message: String
        public var description: String {
            key.isEmpty ? "\(file):\(line): \(message)" : "\(file):\(line): \(key): \(message)"
        }
    }

    /// Parses the text of a configuration file; `file` only names it in errors.
    ///
    /// Every problem is an error (an unknown key, a bad value, a key given twice): a typo must not silently
    /// leave a default in force.
    public static func parse(_ text: String, file: String) throws(ParseError) -> SubmitConfiguration {
        var c = SubmitConfiguration()
        var seen: Set<String> = []
        var lineNumber = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            var line = Substring(raw)
            if let hash = line.firstIndex(of: "#") { line = line[..<hash] }
            let trimmed = trim(line)
            if trimmed.isEmpty { continue }
            guard let eq = trimmed.firstIndex(of: "=") else {
                throw ParseError(file: file, line: lineNumber, key: "", message: "expected Key=Value, found '\(trimmed)'")
            }
            let key = trim(trimmed[..<eq])
            let value = trim(trimmed[trimmed.index(after: eq)...])
            guard let canonical = keys.first(where: { $0.lowercased() == key.lowercased() }) else {
                throw ParseError(
                    file: file, line: lineNumber, key: key,
                    message: "unknown key (known: \(keys.joined(separator: ", ")))")
            }
            guard !seen.contains(canonical) else {
                throw ParseError(file: file, line: lineNumber, key: canonical, message: "given more than once")
            }
            seen.insert(canonical)
            func fail(_ m: String) -> ParseError { ParseError(file: file, line: lineNumber, key: canonical, message: m) }
            switch canonical {
            case "ModelFile":
                guard value.hasPrefix("/") else { throw fail("must be an absolute path, found '\(value)'") }
                c.modelFile = value
            case "AnnotationField":
                guard let f = AnnotationField.allCases.first(where: { $0.rawValue.lowercased() == value.lowercased() })
                else { throw fail("must be AdminComment, Comment or none, found '\(value)'") }
                c.annotationField = f
            case "NotifySocket":
                guard value.isEmpty || value.hasPrefix("/") else {
                    throw fail("must be an absolute path or empty, found '\(value)'")
                }
                guard value.utf8.count < 108 else { throw fail("path longer than a Unix socket allows (107 bytes)") }
                c.notifySocket = value
            case "ReloadInterval":
                guard let v = Int(value), v >= 1, v <= 86_400 else {
                    throw fail("must be a whole number of seconds from 1 to 86400, found '\(value)'")
                }
                c.reloadInterval = v
            case "MaxScriptBytes":
                guard let v = Int(value), v >= 0, v <= 16 << 20 else {
                    throw fail("must be a byte count from 0 to 16777216, found '\(value)'")
                }
                c.maxScriptBytes = v
            case "Enabled":
                switch value.lowercased() {
                case "yes", "true", "1": c.enabled = true
                case "no", "false", "0": c.enabled = false
                default: throw fail("must be yes or no, found '\(value)'")
                }
            case "StatsFile":
                guard value.isEmpty || value.hasPrefix("/") else {
                    throw fail("must be an absolute path or empty, found '\(value)'")
                }
                c.statsFile = value
            default:
                throw fail("not handled")
            }
        }
        return c
    }

    private static func trim(_ s: Substring) -> String {
        let ws: Set<Character> = [" ", "\t", "\r"]
        var a = s.startIndex
        var b = s.endIndex
        while a < b, ws.contains(s[a]) { a = s.index(after: a) }
        while b > a, ws.contains(s[s.index(before: b)]) { b = s.index(before: b) }
        return String(s[a ..< b])
    }
}
