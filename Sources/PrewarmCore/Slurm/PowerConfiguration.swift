// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

/// Which of Slurm's power programs is running (`prewarm resume|suspend|resume-fail`).
public enum PowerProgram: String, Sendable, CaseIterable {
    /// `ResumeProgram`: power nodes up.
    case resume
    /// `SuspendProgram`: power nodes down.
    case suspend
    /// `ResumeFailProgram`: nodes that did not register within `ResumeTimeout`.
    case resumeFail = "resume-fail"

    /// The configuration key holding the action's command.
    public var configKey: String {
        switch self {
        case .resume: "ResumeCommand"
        case .suspend: "SuspendCommand"
        case .resumeFail: "ResumeFailCommand"
        }
    }
}

/// A per-node power command: an argv (never given to a shell) in which `{node}` stands for the node name.
public struct PowerCommand: Sendable, Equatable {
    /// The placeholder replaced by the node name in every word.
    public static let placeholder = "{node}"

    /// The words as written, placeholders unreplaced; the first is an absolute program path.
    public var words: [String]

    /// A command of `words` (not checked: ``PowerConfiguration/parse(_:file:)`` checks what it reads).
    public init(words: [String]) { self.words = words }

    /// The argv for one node: every `{node}` in every word replaced by `node`.
    /// - Parameter node: A host name.
    /// - Returns: The argument vector, program path first.
    public func argv(node: String) -> [String] {
        words.map { replacing($0, Self.placeholder, with: node) }
    }

    /// Splits a command line into words: whitespace separates words; a double-quoted part may hold spaces
    /// (`"a b"`) and, inside it, `\"` and `\\` stand for `"` and `\`. Nothing else is special (no `$`, `'`,
    /// globbing or redirection: the words are spawned directly, never given to a shell).
    /// - Returns: The words, or the problem (an unterminated quote).
    public static func split(_ text: String) -> Result<[String], SplitError> {
        var words: [String] = []
        var word: [UInt8] = []
        var inWord = false
        var inQuote = false
        var quoteStart = 0
        let b = Array(text.utf8)
        var i = 0
        while i < b.count {
            let c = b[i]
            if inQuote {
                if c == UInt8(ascii: "\\"), i + 1 < b.count, b[i + 1] == UInt8(ascii: "\"") || b[i + 1] == UInt8(ascii: "\\") {
                    word.append(b[i + 1])
                    i += 2
                    continue
                }
                if c == UInt8(ascii: "\"") { inQuote = false } else { word.append(c) }
            } else if c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") {
                if inWord { words.append(String(decoding: word, as: UTF8.self)) }
                word = []
                inWord = false
            } else if c == UInt8(ascii: "\"") {
                inQuote = true
                inWord = true
                quoteStart = i
            } else {
                word.append(c)
                inWord = true
            }
            i += 1
        }
        if inQuote { return .failure(SplitError(message: "unterminated double quote at column \(quoteStart + 1)")) }
        if inWord { words.append(String(decoding: word, as: UTF8.self)) }
        return .success(words)
    }

    /// Why ``split(_:)`` refused a command line.
    public struct SplitError: Error, Equatable, Sendable {
        /// What is wrong and at which column.
        public var message: String
    }

    /// A word as a POSIX shell would need it quoted to mean the same word (for display only: `--dry-run`).
    /// - Returns: The word unchanged when it holds only safe characters, else in single quotes.
    public static func shellQuoted(_ word: String) -> String {
        let safe = word.utf8.allSatisfy { c in
            (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
                || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || "/._-+=:,@%".utf8.contains(c)
        }
        if safe && !word.isEmpty { return word }
        return "'" + replacing(word, "'", with: "'\\''") + "'"
    }
}

/// Replaces every occurrence of `target` (non-empty) in `s`.
private func replacing(_ s: String, _ target: String, with replacement: String) -> String {
    let b = Array(s.utf8)
    let t = Array(target.utf8)
    guard !t.isEmpty, b.count >= t.count else { return s }
    var out: [UInt8] = []
    var i = 0
    while i < b.count {
        if i + t.count <= b.count, b[i ..< i + t.count].elementsEqual(t) {
            out += replacement.utf8
            i += t.count
        } else {
            out.append(b[i])
            i += 1
        }
    }
    return String(decoding: out, as: UTF8.self)
}

/// The settings of `prewarm resume|suspend|resume-fail`, read from `prewarm-power.conf`: a Slurm-style file of
/// `Key=Value` lines (keys case-insensitive, `#` outside double quotes starts a comment, blank lines ignored).
public struct PowerConfiguration: Sendable, Equatable {
    /// The default file.
    public static let defaultPath = "/etc/slurm/prewarm-power.conf"

    /// `ResumeCommand`: powers one node up (`prewarm resume`); nil when not configured.
    public var resumeCommand: PowerCommand?
    /// `SuspendCommand`: powers one node down (`prewarm suspend`); nil when not configured.
    public var suspendCommand: PowerCommand?
    /// `ResumeFailCommand`: handles one node that did not come up (`prewarm resume-fail`); nil when not configured.
    public var resumeFailCommand: PowerCommand?
    /// Seconds a node's command may run before it is sent SIGTERM (then SIGKILL 5 s later).
    public var timeout = 300
    /// Nodes whose commands run at once, at most.
    public var parallel = 16
    /// The log (appended to; Slurm closes the programs' stdio).
    public var logFile = "/var/log/prewarm/power.log"

    /// The defaults: no commands, `Timeout=300`, `Parallel=16`, `LogFile=/var/log/prewarm/power.log`.
    public init() {}

    /// The command configured for `program`, if any.
    public func command(for program: PowerProgram) -> PowerCommand? {
        switch program {
        case .resume: resumeCommand
        case .suspend: suspendCommand
        case .resumeFail: resumeFailCommand
        }
    }

    /// Keys understood, in the spelling of the documentation.
    public static let keys = ["ResumeCommand", "SuspendCommand", "ResumeFailCommand", "Timeout", "Parallel", "LogFile"]

    /// A configuration problem, naming the file, line and key.
    public typealias ParseError = ConfigurationError

    /// Parses the text of a configuration file; `file` only names it in errors.
    ///
    /// Every problem is an error (an unknown key, a bad value, a key given twice): a typo must not silently
    /// leave a default in force. A command must start with an absolute program path and contain `{node}`
    /// (it runs once per node).
    public static func parse(_ text: String, file: String) throws(ParseError) -> PowerConfiguration {
        var c = PowerConfiguration()
        for e in try KeyValueFile.entries(text, file: file, keys: keys) {
            let value = e.value
            let canonical = e.key
            func fail(_ m: String) -> ParseError { e.error(m, file: file) }
            func command() throws(ParseError) -> PowerCommand {
                let words: [String]
                switch PowerCommand.split(value) {
                case .success(let w): words = w
                case .failure(let e): throw fail(e.message)
                }
                guard let program = words.first else { throw fail("empty command") }
                guard program.hasPrefix("/") else {
                    throw fail("must start with an absolute program path (it is not run by a shell), found '\(program)'")
                }
                guard words.contains(where: { $0.contains(PowerCommand.placeholder) }) else {
                    throw fail("must contain the \(PowerCommand.placeholder) placeholder (the command runs once per node)")
                }
                return PowerCommand(words: words)
            }
            switch canonical {
            case "ResumeCommand": c.resumeCommand = try command()
            case "SuspendCommand": c.suspendCommand = try command()
            case "ResumeFailCommand": c.resumeFailCommand = try command()
            case "Timeout":
                guard let v = Int(value), v >= 1, v <= 86_400 else {
                    throw fail("must be a whole number of seconds from 1 to 86400, found '\(value)'")
                }
                c.timeout = v
            case "Parallel":
                guard let v = Int(value), v >= 1, v <= 1024 else {
                    throw fail("must be a whole number from 1 to 1024, found '\(value)'")
                }
                c.parallel = v
            case "LogFile":
                guard value.hasPrefix("/"), !value.hasSuffix("/") else {
                    throw fail("must be an absolute file path, found '\(value)'")
                }
                c.logFile = value
            default:
                throw fail("not handled")
            }
        }
        return c
    }
}
