// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

/// A hostlist that cannot be expanded: what is wrong and where.
public struct HostlistError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What is wrong.
    public enum Reason: Equatable, Sendable {
        /// The input is longer than ``Hostlist/maxInputBytes``.
        case inputTooLong(limit: Int)
        /// The expansion would hold more than ``Hostlist/maxNames`` names.
        case tooManyNames(limit: Int)
        /// A `[` without its `]`.
        case unclosedBracket
        /// A `]` without its `[`.
        case unopenedBracket
        /// A `[` inside brackets.
        case nestedBracket
        /// `a,,b`, a leading or trailing comma, or an empty input.
        case emptyItem
        /// `n[]`, `n[1,]` or `n[1-]`.
        case emptyRange
        /// `n[5-3]`.
        case reversedRange(low: String, high: String)
        /// Something other than digits, `-` and `,` inside brackets.
        case nonNumericRange(String)
        /// A range bound with more than 18 digits.
        case numberTooLarge(String)
        /// Whitespace or a control character inside a name.
        case invalidCharacter(UInt8)
    }

    /// Byte offset (from 0) in the input where the problem was found.
    public var position: Int
    /// What is wrong.
    public var reason: Reason

    /// An error at byte `position` (from 0) for `reason`.
    public init(position: Int, reason: Reason) {
        self.position = position
        self.reason = reason
    }

    /// `hostlist: column N: problem` (N counts bytes from 1).
    public var description: String {
        let what: String
        switch reason {
        case .inputTooLong(let limit): what = "hostlist longer than \(limit) bytes"
        case .tooManyNames(let limit): what = "hostlist expands to more than \(limit) names"
        case .unclosedBracket: what = "unbalanced bracket: '[' is never closed"
        case .unopenedBracket: what = "unbalanced bracket: ']' without '['"
        case .nestedBracket: what = "nested '[' inside brackets"
        case .emptyItem: what = "empty item (two commas in a row, or a leading or trailing comma)"
        case .emptyRange: what = "empty range inside brackets"
        case .reversedRange(let low, let high): what = "reversed range \(low)-\(high) (the first bound must not exceed the second)"
        case .nonNumericRange(let text): what = "non-numeric range '\(text)' (expected digits, e.g. [1-4,7])"
        case .numberTooLarge(let text): what = "range bound '\(text)' has more than 18 digits"
        case .invalidCharacter(let byte): what = "invalid character 0x\(String(byte, radix: 16)) in a host name"
        }
        return "hostlist: column \(position + 1): \(what)"
    }
}

/// Slurm's hostlist syntax: `node[01-04,7],gpu[1-2]`.
///
/// An item is a name with any number of bracket groups (`rack[1-2]n[1-3]` is the product, leftmost group
/// slowest); a group holds numbers and ranges separated by commas. A range keeps the zero padding of its first
/// bound (`n[08-11]` → `n08 n09 n10 n11`), as Slurm does. Commas separate items only outside brackets.
public enum Hostlist {
    /// The most names ``expand(_:)`` returns; beyond it is an error (a hostile `n[0-999999999]` must not
    /// exhaust memory).
    public static let maxNames = 100_000
    /// The longest input ``expand(_:)`` accepts, in bytes.
    public static let maxInputBytes = 65_536

    private enum Segment {
        case literal([UInt8])
        /// Inclusive ranges with the zero-padded width of each.
        case group([(low: UInt64, high: UInt64, width: Int)])
    }

    /// Expands a hostlist into host names, in the order written.
    ///
    /// Leading and trailing whitespace of the whole input is ignored.
    /// - Parameter text: A hostlist such as `node[01-04,7],gpu[1-2]`.
    /// - Returns: The names; duplicates are kept.
    /// - Throws: ``HostlistError`` naming the byte position and the problem; never traps on any input.
    /// - Complexity: O(n + m) for n input bytes and m output names (m ≤ ``maxNames``).
    public static func expand(_ text: String) throws(HostlistError) -> [String] {
        let bytes = Array(text.utf8)
        guard bytes.count <= maxInputBytes else {
            throw HostlistError(position: maxInputBytes, reason: .inputTooLong(limit: maxInputBytes))
        }
        var start = 0
        var end = bytes.count
        while start < end, isSpace(bytes[start]) { start += 1 }
        while end > start, isSpace(bytes[end - 1]) { end -= 1 }

        var items: [[Segment]] = []
        var total = 0
        var i = start
        while true {
            let itemStart = i
            var segments: [Segment] = []
            var literal: [UInt8] = []
            var count = 1
            while i < end, bytes[i] != UInt8(ascii: ",") {
                let c = bytes[i]
                if c == UInt8(ascii: "[") {
                    if !literal.isEmpty { segments.append(.literal(literal)) }
                    literal = []
                    let (ranges, next) = try parseGroup(bytes, open: i, end: end)
                    var size = 0
                    for r in ranges {
                        // Each range holds at most 10^18 numbers; adding stops at the cap.
                        let (span, o1) = (r.high - r.low).addingReportingOverflow(1)
                        guard !o1, span <= UInt64(maxNames) else {
                            throw HostlistError(position: i, reason: .tooManyNames(limit: maxNames))
                        }
                        size += Int(span)
                    }
                    let (product, o2) = count.multipliedReportingOverflow(by: size)
                    guard !o2, product <= maxNames else {
                        throw HostlistError(position: i, reason: .tooManyNames(limit: maxNames))
                    }
                    count = product
                    segments.append(.group(ranges))
                    i = next
                } else if c == UInt8(ascii: "]") {
                    throw HostlistError(position: i, reason: .unopenedBracket)
                } else if c <= 0x20 || c == 0x7F {
                    throw HostlistError(position: i, reason: .invalidCharacter(c))
                } else {
                    literal.append(c)
                    i += 1
                }
            }
            if !literal.isEmpty { segments.append(.literal(literal)) }
            guard !segments.isEmpty else { throw HostlistError(position: itemStart, reason: .emptyItem) }
            total += count
            guard total <= maxNames else {
                throw HostlistError(position: itemStart, reason: .tooManyNames(limit: maxNames))
            }
            items.append(segments)
            if i >= end { break }
            i += 1  // the comma
        }

        var names: [String] = []
        names.reserveCapacity(total)
        for segments in items { emit(segments, into: &names) }
        return names
    }

    /// Parses the group starting at `open` (a `[`); returns its ranges and the index after its `]`.
    private static func parseGroup(
        _ b: [UInt8], open: Int, end: Int
    ) throws(HostlistError) -> ([(low: UInt64, high: UInt64, width: Int)], Int) {
        var ranges: [(low: UInt64, high: UInt64, width: Int)] = []
        var i = open + 1
        while true {
            let rangeStart = i
            var dash = -1
            while i < end, b[i] != UInt8(ascii: ","), b[i] != UInt8(ascii: "]") {
                if b[i] == UInt8(ascii: "[") { throw HostlistError(position: i, reason: .nestedBracket) }
                if b[i] == UInt8(ascii: "-") && dash < 0 { dash = i }
                i += 1
            }
            guard i < end else { throw HostlistError(position: open, reason: .unclosedBracket) }
            let text = b[rangeStart ..< i]
            guard !text.isEmpty else { throw HostlistError(position: rangeStart, reason: .emptyRange) }
            let lowText = dash < 0 ? text : b[rangeStart ..< dash]
            let highText = dash < 0 ? text : b[(dash + 1) ..< i]
            let low = try number(lowText, at: rangeStart, whole: text)
            let high = try number(highText, at: dash < 0 ? rangeStart : dash + 1, whole: text)
            guard low <= high else {
                throw HostlistError(
                    position: rangeStart,
                    reason: .reversedRange(low: String(decoding: lowText, as: UTF8.self),
                                           high: String(decoding: highText, as: UTF8.self)))
            }
            ranges.append((low, high, lowText.count))
            let closing = b[i] == UInt8(ascii: "]")
            i += 1
            if closing { return (ranges, i) }
        }
    }

    private static func number(_ digits: ArraySlice<UInt8>, at position: Int, whole: ArraySlice<UInt8>)
        throws(HostlistError) -> UInt64
    {
        guard !digits.isEmpty else { throw HostlistError(position: position, reason: .emptyRange) }
        var value: UInt64 = 0
        for c in digits {
            guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else {
                throw HostlistError(
                    position: position, reason: .nonNumericRange(String(decoding: whole, as: UTF8.self)))
            }
            value = value &* 10 &+ UInt64(c - UInt8(ascii: "0"))
        }
        guard digits.count <= 18 else {
            throw HostlistError(position: position, reason: .numberTooLarge(String(decoding: digits, as: UTF8.self)))
        }
        return value
    }

    /// The names of one item: the product of its groups, leftmost slowest. Iterative (an item may hold
    /// thousands of groups); a group of one value is appended in place, so copying is bounded by the
    /// number of multi-valued groups (at most log2 of ``maxNames``) times the output.
    private static func emit(_ segments: [Segment], into names: inout [String]) {
        var partial: [[UInt8]] = [[]]
        for segment in segments {
            switch segment {
            case .literal(let bytes):
                for j in partial.indices { partial[j] += bytes }
            case .group(let ranges):
                var values: [[UInt8]] = []
                for r in ranges {
                    var n = r.low
                    while true {
                        values.append(padded(n, width: r.width))
                        if n == r.high { break }
                        n += 1
                    }
                }
                if values.count == 1, let only = values.first {
                    for j in partial.indices { partial[j] += only }
                } else {
                    var next: [[UInt8]] = []
                    next.reserveCapacity(partial.count * values.count)
                    for p in partial {
                        for v in values { next.append(p + v) }
                    }
                    partial = next
                }
            }
        }
        for p in partial { names.append(String(decoding: p, as: UTF8.self)) }
    }

    /// The decimal digits of `n`, zero-padded to `width`.
    private static func padded(_ n: UInt64, width: Int) -> [UInt8] {
        let digits = Array(String(n).utf8)
        if digits.count >= width { return digits }
        return [UInt8](repeating: UInt8(ascii: "0"), count: width - digits.count) + digits
    }

    private static func isSpace(_ c: UInt8) -> Bool {
        c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") || c == UInt8(ascii: "\n") || c == UInt8(ascii: "\r")
    }

    // MARK: Compression

    /// How ``compress(_:)`` groups a name: a prefix, then (optionally) a number written with `width` digits
    /// (0: unpadded).
    private struct Key: Comparable {
        var prefix: [UInt8]
        /// -1: a plain name (no trailing number); 0: an unpadded number; w > 0: zero-padded to w digits.
        var width: Int
        var number: UInt64

        static func < (a: Key, b: Key) -> Bool {
            if a.prefix != b.prefix { return a.prefix.lexicographicallyPrecedes(b.prefix) }
            if a.width != b.width { return a.width < b.width }
            return a.number < b.number
        }
    }

    /// Splits names into keys: trailing digits (at most 18) are the number; a number with a leading zero is
    /// padded to its length, and an unpadded number joins a padded group of the same prefix and length when one
    /// exists (`n08, n09, n10` → one group of width 2).
    private static func keys(_ names: [String]) -> [Key] {
        var raw: [(prefix: [UInt8], digits: ArraySlice<UInt8>)] = []
        raw.reserveCapacity(names.count)
        var paddedWidths: Set<[UInt8]> = []  // prefix + [width] for each padded group present
        for name in names {
            let b = Array(name.utf8)
            if b.isEmpty { continue }
            var d = b.count
            while d > 0, b[d - 1] >= UInt8(ascii: "0"), b[d - 1] <= UInt8(ascii: "9") { d -= 1 }
            let digits = b[d...]
            raw.append((Array(b[..<d]), digits))
            if digits.count > 1, digits.count <= 18, digits.first == UInt8(ascii: "0") {
                paddedWidths.insert(Array(b[..<d]) + [UInt8(digits.count)])
            }
        }
        return raw.map { item in
            let digits = item.digits
            guard !digits.isEmpty, digits.count <= 18 else {
                return Key(prefix: item.prefix + Array(digits), width: -1, number: 0)
            }
            var value: UInt64 = 0
            for c in digits { value = value * 10 + UInt64(c - UInt8(ascii: "0")) }
            let padded = digits.count > 1 && digits.first == UInt8(ascii: "0")
            let joins = !padded && paddedWidths.contains(item.prefix + [UInt8(digits.count)])
            return Key(prefix: item.prefix, width: padded || joins ? digits.count : 0, number: value)
        }
    }

    /// The names in the order ``expand(_:)`` returns them from ``compress(_:)``: by prefix, plain names first,
    /// then unpadded numbers, then padded numbers by width, each ascending by number; duplicates and empty names
    /// removed.
    /// - Complexity: O(m log m) for m names.
    public static func sorted(_ names: [String]) -> [String] {
        var out: [String] = []
        var last: Key?
        for key in keys(names).sorted() where key != last {
            last = key
            let name = key.width < 0 ? key.prefix : key.prefix + padded(key.number, width: key.width)
            out.append(String(decoding: name, as: UTF8.self))
        }
        return out
    }

    /// Slurm's compact form of a set of names: `node[1-4,7],gpu[1-2]`.
    ///
    /// Names are grouped by prefix (everything before the trailing digits) and padding, sorted numerically,
    /// and runs of consecutive numbers become ranges. For names that are plain or a prefix plus a number (no
    /// `[`, `]` or `,`), `expand(compress(x)) == sorted(x)`.
    /// - Parameter names: Host names, in any order; duplicates and empty names are dropped.
    /// - Returns: The hostlist; empty for no names.
    /// - Complexity: O(m log m) for m names.
    public static func compress(_ names: [String]) -> String {
        let sortedKeys = keys(names).sorted()
        var out: [UInt8] = []
        var k = 0
        while k < sortedKeys.count {
            let key = sortedKeys[k]
            if !out.isEmpty { out.append(UInt8(ascii: ",")) }
            out += key.prefix
            k += 1
            if key.width < 0 {
                while k < sortedKeys.count, sortedKeys[k] == key { k += 1 }
                continue
            }
            // Collect the group's runs.
            var runs: [(UInt64, UInt64)] = [(key.number, key.number)]
            while k < sortedKeys.count, sortedKeys[k].prefix == key.prefix, sortedKeys[k].width == key.width {
                let n = sortedKeys[k].number
                if let tail = runs.last {
                    if n == tail.1 {
                        // duplicate
                    } else if n == tail.1 + 1 {
                        runs[runs.count - 1].1 = n
                    } else {
                        runs.append((n, n))
                    }
                }
                k += 1
            }
            let bracket = runs.count > 1 || runs[0].0 != runs[0].1
            if bracket { out.append(UInt8(ascii: "[")) }
            for (j, run) in runs.enumerated() {
                if j > 0 { out.append(UInt8(ascii: ",")) }
                out += padded(run.0, width: key.width)
                if run.1 != run.0 {
                    out.append(UInt8(ascii: "-"))
                    out += padded(run.1, width: key.width)
                }
            }
            if bracket { out.append(UInt8(ascii: "]")) }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
