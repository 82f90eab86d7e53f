// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

/// A configuration problem, naming the file, line and key.
public struct ConfigurationError: Error, Equatable, CustomStringConvertible, Sendable {
    public var file: String
    public var line: Int
    public var key: String
    public var message: String

    public init(file: String, line: Int, key: String, message: String) {
        self.file = file
        self.line = line
        self.key = key
        self.message = message
    }

    public var description: String {
        key.isEmpty ? "\(file):\(line): \(message)" : "\(file):\(line): \(key): \(message)"
    }
}

/// Slurm-style configuration files: one `Key=Value` per line, keys case-insensitive, `#` starts a comment
/// (outside double quotes), blank lines ignored. Shared by `prewarm.conf`, `prewarm-power.conf` and
/// `prewarmd.conf`.
public enum KeyValueFile {
    public struct Entry: Sendable, Equatable {
        public var line: Int
        /// The key in the spelling of `keys`.
        public var key: String
        public var value: String

        /// An error about this entry's value.
        public func error(_ message: String, file: String) -> ConfigurationError {
            ConfigurationError(file: file, line: line, key: key, message: message)
        }
    }

    /// The entries of `text` in order. Every problem is an error (no `=`, an unknown key, a key given twice):
    /// a typo must not silently leave a default in force.
    public static func entries(_ text: String, file: String, keys: [String]) throws(ConfigurationError) -> [Entry] {
        var out: [Entry] = []
        var seen: Set<String> = []
        var lineNumber = 0
        for raw in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            lineNumber += 1
            let trimmed = trim(stripComment(Substring(raw)))
            if trimmed.isEmpty { continue }
            guard let eq = trimmed.firstIndex(of: "=") else {
                throw ConfigurationError(
                    file: file, line: lineNumber, key: "", message: "expected Key=Value, found '\(trimmed)'")
            }
            let key = trim(trimmed[..<eq])
            let value = trim(trimmed[trimmed.index(after: eq)...])
            guard let canonical = keys.first(where: { $0.lowercased() == key.lowercased() }) else {
                throw ConfigurationError(
                    file: file, line: lineNumber, key: key, message: "unknown key (known: \(keys.joined(separator: ", ")))")
            }
            guard !seen.contains(canonical) else {
                throw ConfigurationError(file: file, line: lineNumber, key: canonical, message: "given more than once")
            }
            seen.insert(canonical)
            out.append(Entry(line: lineNumber, key: canonical, value: value))
        }
        return out
    }

    /// A whole number in `range`, or an error naming the entry.
    public static func integer(_ e: Entry, in range: ClosedRange<Int>, unit: String, file: String)
        throws(ConfigurationError) -> Int
    {
        guard let v = Int(e.value), range.contains(v) else {
            throw e.error(
                "must be a whole number \(unit.isEmpty ? "" : "of \(unit) ")from \(range.lowerBound) to "
                    + "\(range.upperBound), found '\(e.value)'", file: file)
        }
        return v
    }

    /// `yes`/`true`/`1` or `no`/`false`/`0` (any case), or an error naming the entry.
    public static func boolean(_ e: Entry, file: String) throws(ConfigurationError) -> Bool {
        switch e.value.lowercased() {
        case "yes", "true", "1": return true
        case "no", "false", "0": return false
        default: throw e.error("must be yes or no, found '\(e.value)'", file: file)
        }
    }

    /// The line up to a `#` outside double quotes.
    static func stripComment(_ line: Substring) -> Substring {
        var inQuote = false
        var escaped = false
        for i in line.indices {
            let ch = line[i]
            if escaped {
                escaped = false
            } else if inQuote && ch == "\\" {
                escaped = true
            } else if ch == "\"" {
                inQuote.toggle()
            } else if ch == "#" && !inQuote {
                return line[..<i]
            }
        }
        return line
    }

    static func trim(_ s: Substring) -> String {
        let ws: Set<Character> = [" ", "\t", "\r"]
        var a = s.startIndex
        var b = s.endIndex
        while a < b, ws.contains(s[a]) { a = s.index(after: a) }
        while b > a, ws.contains(s[s.index(before: b)]) { b = s.index(before: b) }
        return String(s[a ..< b])
    }
}
