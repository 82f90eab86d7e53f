// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

/// The header of a Standard Workload Format log: the `; Key: value` comment lines that precede the first job.
///
/// A few keys are interpreted (typed); all `Key: value` pairs are kept in ``entries`` in file order.
/// Continuation lines (comment lines without a `Key:` prefix, such as indented notes or URLs) are not entries.
/// When a typed key occurs more than once, the last occurrence wins. Numeric values are kept as written (a `-1`
/// stays `-1`); a trailing remark after whitespace is allowed, as in `; MaxNodes: 338 (batch partition; 512 total)`.
public struct SWFHeader: Sendable {
    /// `UnixStartTime`: the Unix time that submit times (field 2) are relative to.
    public var unixStartTime: Int64?
    /// `TimeZone`: the cluster's offset from UTC in seconds, documented as fixed (no DST).
    public var timeZone: Int?
    /// `TimeZoneString`: the cluster's IANA time zone name, e.g. `Europe/Stockholm`.
    public var timeZoneString: String?
    /// `MaxNodes`: the number of nodes in the machine.
    public var maxNodes: Int?
    /// `MaxProcs`: the number of processors in the machine.
    public var maxProcs: Int?
    /// Every `; Key: value` pair of the header, in file order, with surrounding whitespace trimmed.
    public var entries: [(key: String, value: String)]

    /// Creates a header; all fields default to absent.
    public init(
        unixStartTime: Int64? = nil, timeZone: Int? = nil, timeZoneString: String? = nil, maxNodes: Int? = nil,
        maxProcs: Int? = nil, entries: [(key: String, value: String)] = []
    ) {
        self.unixStartTime = unixStartTime
        self.timeZone = timeZone
        self.timeZoneString = timeZoneString
        self.maxNodes = maxNodes
        self.maxProcs = maxProcs
        self.entries = entries
    }

    /// The value of the first entry named `key` (case-sensitive), or `nil`.
    public func value(for key: String) -> String? {
        entries.first { $0.key == key }?.value
    }
}

extension SWFHeader {
    /// Splits a comment line (the bytes after `;`) into a key and a value, or returns `nil` for a continuation
    /// line. A key is a run of letters, digits, `_` or `-` directly followed by `:` and then whitespace or the end
    /// of the line (so `http://…` is not a key).
    static func splitEntry(_ body: String) -> (key: String, value: String)? {
        let scalars = Array(body.unicodeScalars)
        var i = 0
        while i < scalars.count, isBlank(scalars[i]) { i += 1 }
        let keyStart = i
        while i < scalars.count, isKeyScalar(scalars[i]) { i += 1 }
        guard i > keyStart, i < scalars.count, scalars[i] == ":" else { return nil }
        let keyEnd = i
        i += 1
        guard i == scalars.count || isBlank(scalars[i]) else { return nil }
        var valueEnd = scalars.count
        while valueEnd > i, isBlank(scalars[valueEnd - 1]) { valueEnd -= 1 }
        while i < valueEnd, isBlank(scalars[i]) { i += 1 }
        var key = ""
        key.unicodeScalars.append(contentsOf: scalars[keyStart..<keyEnd])
        var value = ""
        value.unicodeScalars.append(contentsOf: scalars[i..<valueEnd])
        return (key, value)
    }

    /// Records an entry and interprets the typed keys. Returns a reason when a typed value is malformed.
    mutating func apply(key: String, value: String) -> String? {
        entries.append((key: key, value: value))
        switch key {
        case "UnixStartTime":
            guard let v = SWFHeader.leadingInteger(value) else { return "is not an integer" }
            unixStartTime = v
        case "TimeZone":
            guard let v = SWFHeader.leadingInteger(value) else { return "is not an integer" }
            guard v > -100_000, v < 100_000 else { return "is not a plausible UTC offset in seconds" }
            timeZone = Int(v)
        case "TimeZoneString":
            timeZoneString = value.isEmpty ? nil : value
        case "MaxNodes":
            guard let v = SWFHeader.leadingInteger(value), let n = Int(exactly: v) else { return "is not an integer" }
            maxNodes = n
        case "MaxProcs":
            guard let v = SWFHeader.leadingInteger(value), let n = Int(exactly: v) else { return "is not an integer" }
            maxProcs = n
        default:
            break
        }
        return nil
    }

    /// Parses an integer (optionally written `3600.0`) that is the whole value or is followed by whitespace and
    /// a remark, as in `; MaxNodes: 338 (batch partition; 512 total)`.
    static func leadingInteger(_ value: String) -> Int64? {
        let bytes = Array(value.utf8)
        var end = 0
        while end < bytes.count, !SWFParse.isSpace(bytes[end]) { end += 1 }
        guard end > 0 else { return nil }
        return bytes.withUnsafeBufferPointer { buf in
            SWFParse.integer(buf.baseAddress!, 0, end)
        }
    }

    private static func isBlank(_ s: Unicode.Scalar) -> Bool { s == " " || s == "\t" || s == "\r" }

    private static func isKeyScalar(_ s: Unicode.Scalar) -> Bool {
        switch s {
        case "a"..."z", "A"..."Z", "0"..."9", "_", "-": return true
        default: return false
        }
    }
}
