// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
@testable import PrewarmCore
import Testing

/// ``ScriptText/check(_:truncated:)`` as it was before its 32-byte path (2026-12, issue #4), the oracle of that
/// path: same verdict and line count for every input.
private enum PreviousText {
    static func check(_ bytes: UnsafeRawBufferPointer, truncated: Bool) -> (isText: Bool, lines: Int) {
        let n = bytes.count
        var bad = 0
        var newlines = 0
        var nul = false
        var i = 0
        while i < n {
            // Fast path: 8 ASCII bytes whose only control bytes are newlines.
            if i &+ 8 <= n {
                let x = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                let high: UInt64 = 0x8080_8080_8080_8080
                if x & high == 0 {
                    let control = ~(x &+ 0x6060_6060_6060_6060) & high  // bytes < 0x20
                    let del = (x &+ 0x0101_0101_0101_0101) & high  // 0x7F
                    let y = x ^ 0x0A0A_0A0A_0A0A_0A0A
                    let newline = ~(y &+ 0x7F7F_7F7F_7F7F_7F7F) & high  // bytes == 0x0A
                    if control == newline && del == 0 {
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
}

/// Inputs of every length up to 300 bytes, mostly plain ASCII lines (the 32- and 8-byte paths) with now and then
/// a tab, CR, a control byte, DEL, NUL, a valid or broken UTF-8 sequence, at every position and near the end.
@Test func textCheckAgreesWithThePreviousOneOnEveryLength() {
    var g = SplitMix64(seed: 42)
    var compared = 0
    for length in 0 ... 300 {
        for variant in 0 ..< 12 {
            var bytes = [UInt8](repeating: 0, count: length)
            for i in 0 ..< length {
                let r = g.next() % 1000
                bytes[i] = r < 30 ? 0x0A : UInt8(0x20 + g.next() % 0x5F)
                if variant > 0 && r >= 990 {
                    let odd: [UInt8] = [0x09, 0x0D, 0x01, 0x7F, 0x00, 0xC3, 0xA9, 0xE2, 0x82, 0xAC, 0xFF, 0x1B]
                    bytes[i] = odd[Int(g.next() % UInt64(odd.count))]
                }
            }
            if variant == 11 && length >= 2 { bytes[length - 2] = 0xE2 }  // cut sequences at the end
            for truncated in [false, true] {
                let new = bytes.withUnsafeBytes { ScriptText.check($0, truncated: truncated) }
                let old = bytes.withUnsafeBytes { PreviousText.check($0, truncated: truncated) }
                #expect(new.isText == old.isText && new.lines == old.lines, "length \(length) variant \(variant)")
                compared += 1
            }
        }
    }
    #expect(compared == 301 * 24)
}
