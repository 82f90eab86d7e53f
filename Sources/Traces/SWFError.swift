// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

/// An error reading a Standard Workload Format log: the file could not be opened or decompressed, a header
/// value is malformed, or a job line does not have 18 numeric fields.
///
/// `description` reads like a compiler diagnostic, e.g.
/// `KTH.swf.gz:123: field 4 (run time): 'abc' is not a number` or `KTH.swf.gz:124: expected 18 fields, found 12`.
public struct SWFError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What went wrong, broadly.
    public enum Kind: Sendable, Equatable {
        /// The file could not be opened, read or decompressed (including a truncated or corrupt gzip stream).
        case io
        /// A `; Key: value` header line has a malformed value for a key the reader interprets.
        case header
        /// A job line is malformed (field count, a non-numeric or out-of-range field, or an overlong line).
        case record
    }

    /// The broad category of the error.
    public let kind: Kind
    /// The path of the file, as given to the reader.
    public let file: String
    /// The 1-based line number, or `nil` when the error is not tied to a line (e.g. the file cannot be opened).
    public let line: Int?
    /// The 1-based SWF field number (1–18), when one field is at fault.
    public let field: Int?
    /// The header key at fault, for `.header` errors.
    public let key: String?
    /// The offending text, truncated to about 40 characters, or `nil`.
    public let text: String?
    /// Why the text was rejected, e.g. `is not a number` or `expected 18 fields, found 12`.
    public let reason: String

    /// Creates an error. `text` is truncated to ``maxTextLength`` characters.
    public init(
        kind: Kind, file: String, line: Int?, field: Int? = nil, key: String? = nil, text: String? = nil,
        reason: String
    ) {
        self.kind = kind
        self.file = file
        self.line = line
        self.field = field
        self.key = key
        self.text = text.map(SWFError.truncate)
        self.reason = reason
    }

    /// The longest offending text kept in an error, in characters.
    public static let maxTextLength = 40

    /// The human-readable names of the 18 SWF fields, in field order.
    public static let fieldNames: [String] = [
        "job number", "submit time", "wait time", "run time", "allocated processors", "average CPU time",
        "used memory", "requested processors", "requested time", "requested memory", "status", "user id",
        "group id", "executable number", "queue number", "partition number", "preceding job number", "think time",
    ]

    /// The name of ``field`` (e.g. `run time` for field 4), if a field is at fault.
    public var fieldName: String? {
        guard let field, field >= 1, field <= SWFError.fieldNames.count else { return nil }
        return SWFError.fieldNames[field - 1]
    }

    /// `file:line: field N (name): 'text' reason`, `file:line: header Key: 'text' reason`,
    /// `file:line: reason` or `file: reason`.
    public var description: String {
        var s = file
        if let line { s += ":\(line)" }
        s += ": "
        if let field {
            s += "field \(field)"
            if let fieldName { s += " (\(fieldName))" }
            s += ": "
        } else if let key {
            s += "header \(key): "
        }
        if let text, field != nil || key != nil {
            s += "'\(text)' "
        }
        s += reason
        if let text, field == nil, key == nil {
            s += ": '\(text)'"
        }
        return s
    }

    static func truncate(_ text: String) -> String {
        var out = ""
        var count = 0
        for ch in text.unicodeScalars {
            if count == maxTextLength { return out + "…" }
            // Keep diagnostics on one line.
            out.unicodeScalars.append(ch.value < 0x20 || ch.value == 0x7F ? "?" : ch)
            count += 1
        }
        return out
    }
}
