// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

/// Byte-level helpers of the script analyser: the text check, hashing and bounded strings.
enum ScriptText {
    /// Whether `bytes` look like text, and how many lines they hold, in one pass.
    ///
    /// Text: no NUL, and control bytes (other than tab, LF, VT, FF, CR, ESC) plus invalid UTF-8
    /// sequences at most 1/32 of the bytes. A sequence cut by truncation at the end is not invalid.
    /// - Complexity: O(bytes.count).
    static func check(_ bytes: UnsafeRawBufferPointer, truncated: Bool) -> (isText: Bool, lines: Int) {
        let n = bytes.count
        var bad = 0
        var newlines = 0
        var nul = false
        var i = 0
        let high: UInt64 = 0x8080_8080_8080_8080
        while i < n {
            // Fastest path: 32 ASCII bytes whose only control bytes are newlines, their newlines counted at once
            // (per word a byte 1 at each newline; the four words summed, every byte at most 4; their bytes summed
            // by one multiplication into the top byte, at most 32).
            while i &+ 32 <= n {
                let x0 = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                let x1 = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i &+ 8, as: UInt64.self))
                let x2 = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i &+ 16, as: UInt64.self))
                let x3 = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i &+ 24, as: UInt64.self))
                guard (x0 | x1 | x2 | x3) & high == 0 else { break }
                let n0 = Self.newlines(x0), n1 = Self.newlines(x1), n2 = Self.newlines(x2), n3 = Self.newlines(x3)
                let other = (Self.controlOrDelete(x0) ^ n0) | (Self.controlOrDelete(x1) ^ n1)
                    | (Self.controlOrDelete(x2) ^ n2) | (Self.controlOrDelete(x3) ^ n3)
                guard other == 0 else { break }
                let ones = (n0 &>> 7) &+ (n1 &>> 7) &+ (n2 &>> 7) &+ (n3 &>> 7)
                newlines &+= Int((ones &* 0x0101_0101_0101_0101) &>> 56)
                i &+= 32
            }
            if i >= n { break }
            // Fast path: 8 ASCII bytes whose only control bytes are newlines.
            if i &+ 8 <= n {
                let x = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                if x & high == 0 {
                    let newline = Self.newlines(x)
                    if Self.controlOrDelete(x) == newline {
                        // Newlines are rare (about one in 40 bytes) and the baseline x86-64 target has no popcnt
                        // instruction (nonzeroBitCount is a dozen instructions there): clear bits one at a time.
                        var m = newline
                        while m != 0 {
                            newlines &+= 1
                            m &= m &- 1
                        }
                        i &+= 8
                        continue
                    }
                }
            }
            let c = bytes[i]
            if c < 0x80 {
                if c == 0x0A {
                    newlines &+= 1
                } else if c == 0 {
                    nul = true
                    break
                } else if (c < 0x20 && c != 0x09 && c != 0x0B && c != 0x0C && c != 0x0D && c != 0x1B) || c == 0x7F {
                    bad &+= 1
                }
                i &+= 1
                continue
            }
            // Expected length and the range allowed for the second byte (RFC 3629, table 3-7).
            var length = 0
            var low: UInt8 = 0x80
            var high: UInt8 = 0xBF
            switch c {
            case 0xC2 ... 0xDF: length = 2
            case 0xE0: length = 3; low = 0xA0
            case 0xE1 ... 0xEC, 0xEE ... 0xEF: length = 3
            case 0xED: length = 3; high = 0x9F
            case 0xF0: length = 4; low = 0x90
            case 0xF1 ... 0xF3: length = 4
            case 0xF4: length = 4; high = 0x8F
            default: length = 0
            }
            guard length > 0 else {
                bad &+= 1
                i &+= 1
                continue
            }
            var k = 1
            var valid = true
            while k < length {
                let at = i &+ k
                if at >= n {
                    if !truncated { valid = false }
                    break
                }
                let d = bytes[at]
                let lo: UInt8 = k == 1 ? low : 0x80
                let hi: UInt8 = k == 1 ? high : 0xBF
                if d < lo || d > hi {
                    valid = false
                    break
                }
                k &+= 1
            }
            if !valid { bad &+= 1 }
            i &+= Swift.max(1, k)
            if bad > n / 32 { break }
        }
        // Known binary: only the lines are still counted.
        while i < n {
            if bytes[i] == 0x0A { newlines &+= 1 }
            i &+= 1
        }
        let lines = newlines &+ ((n > 0 && bytes[n &- 1] != 0x0A) ? 1 : 0)
        let isText = !nul && bad <= n / 32
        return (isText, lines)
    }

    /// For a word of 8 ASCII bytes (all below 0x80), 0x80 in every byte that is a newline, 0 in the others.
    @inline(__always)
    static func newlines(_ x: UInt64) -> UInt64 {
        ~((x ^ 0x0A0A_0A0A_0A0A_0A0A) &+ 0x7F7F_7F7F_7F7F_7F7F) & 0x8080_8080_8080_8080
    }

    /// For a word of 8 ASCII bytes (all below 0x80), 0x80 in every byte below 0x20 or equal to 0x7F, 0 in the
    /// others (no byte carries into the next: every sum stays below 0x100).
    @inline(__always)
    static func controlOrDelete(_ x: UInt64) -> UInt64 {
        (~(x &+ 0x6060_6060_6060_6060) | (x &+ 0x0101_0101_0101_0101)) & 0x8080_8080_8080_8080
    }

    static let fnvOffset: UInt64 = 0xCBF2_9CE4_8422_2325
    static let fnvPrime: UInt64 = 0x0000_0100_0000_01B3

    /// 64-bit FNV-1a of a string's UTF-8 bytes: the keys of the vocabulary tables.
    static func hash(_ s: String) -> UInt64 {
        var h = fnvOffset
        for c in s.utf8 { h = (h ^ UInt64(c)) &* fnvPrime }
        return h
    }

    /// 64-bit FNV-1a of `bytes[range]`, equal to ``hash(_:)`` of the same bytes.
    static func hash(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> UInt64 {
        var h = fnvOffset
        var i = Swift.max(0, range.lowerBound)
        let end = Swift.min(range.upperBound, bytes.count)
        while i < end {
            h = (h ^ UInt64(bytes[i])) &* fnvPrime
            i &+= 1
        }
        return h
    }

    /// 64-bit FNV-1a of `bytes[range]`, equal to ``hash(_:)`` of the same bytes.
    static func hash(_ bytes: [UInt8], _ range: Range<Int>) -> UInt64 {
        var h = fnvOffset
        var i = Swift.max(0, range.lowerBound)
        let end = Swift.min(range.upperBound, bytes.count)
        while i < end {
            h = (h ^ UInt64(bytes[i])) &* fnvPrime
            i &+= 1
        }
        return h
    }

    /// A string from at most ``BatchScriptAnalysis/maxStringBytes`` bytes of `bytes[range]`, cut before an
    /// incomplete UTF-8 character; invalid sequences become U+FFFD.
    static func boundedString(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> String {
        let lower = Swift.max(0, Swift.min(range.lowerBound, bytes.count))
        let upper = Swift.max(lower, Swift.min(range.upperBound, bytes.count))
        var end = upper
        if end &- lower > BatchScriptAnalysis.maxStringBytes {
            end = lower &+ BatchScriptAnalysis.maxStringBytes
            // Back off over continuation bytes (at most 3) so a character is not split.
            var back = 0
            while back < 3 && end > lower && (bytes[end] & 0xC0) == 0x80 {
                end &-= 1
                back &+= 1
            }
        }
        let s = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[lower ..< end]), as: UTF8.self)
        guard s.utf8.count > BatchScriptAnalysis.maxStringBytes else { return s }
        // Invalid bytes were replaced by 3-byte U+FFFD: cut again, at a scalar boundary.
        var out = String.UnicodeScalarView()
        var used = 0
        for scalar in s.unicodeScalars {
            let size = UTF8.width(scalar)
            guard used &+ size <= BatchScriptAnalysis.maxStringBytes else { break }
            out.append(scalar)
            used &+= size
        }
        return String(out)
    }
}
