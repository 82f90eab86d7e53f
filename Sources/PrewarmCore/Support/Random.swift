// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

/// SplitMix64 (Steele, Lea & Flood 2014): a tiny 64-bit generator, used here to expand one seed
/// into the state of a ``Xoshiro256StarStar``.
///
/// Deterministic on every platform; never traps.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    /// The generator's whole state.
    public var state: UInt64

    /// Starts the sequence at `seed`.
    public init(seed: UInt64) {
        state = seed
    }

    /// The next 64 random bits.
    /// - Complexity: O(1).
    @inlinable
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// xoshiro256** 1.0 (Blackman & Vigna 2018): the forest's random number generator.
///
/// Fast, statistically strong, and reproducible across platforms and thread counts: every tree owns
/// one generator derived from `(seed, treeIndex)` with ``init(seed:stream:)``.
public struct Xoshiro256StarStar: RandomNumberGenerator, Sendable {
    @usableFromInline var s0: UInt64
    @usableFromInline var s1: UInt64
    @usableFromInline var s2: UInt64
    @usableFromInline var s3: UInt64

    /// Seeds the state from four outputs of ``SplitMix64`` started at `seed`.
    public init(seed: UInt64) {
        var mixer = SplitMix64(seed: seed)
        self.init(state: (mixer.next(), mixer.next(), mixer.next(), mixer.next()))
    }

    /// An independent stream for `(seed, stream)`, e.g. one per tree: the stream number is mixed into the
    /// seed through SplitMix64 so that neighbouring streams are unrelated.
    public init(seed: UInt64, stream: UInt64) {
        var outer = SplitMix64(seed: seed)
        let key = outer.next() ^ (stream &+ 1) &* 0xD1B5_4A32_D192_ED03
        var inner = SplitMix64(seed: key)
        _ = inner.next()
        self.init(state: (inner.next(), inner.next(), inner.next(), inner.next()))
    }

    /// Uses `state` as the raw state (an all-zero state, which would only ever produce zeros, is replaced).
    public init(state: (UInt64, UInt64, UInt64, UInt64)) {
        (s0, s1, s2, s3) = state
        if s0 | s1 | s2 | s3 == 0 {
            s0 = 0x9E37_79B9_7F4A_7C15
        }
    }

    @inlinable
    static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 {
        (x << k) | (x >> (64 &- k))
    }

    /// The next 64 random bits.
    /// - Complexity: O(1).
    @inlinable
    public mutating func next() -> UInt64 {
        let result = Self.rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = Self.rotl(s3, 45)
        return result
    }

    /// A uniform integer in `0 ..< bound` (Lemire's multiply-shift with rejection, unbiased).
    /// Returns 0 when `bound <= 0`.
    /// - Complexity: O(1) expected.
    @inlinable
    public mutating func next(below bound: Int) -> Int {
        guard bound > 1 else { return 0 }
        let b = UInt64(bound)
        var m = next().multipliedFullWidth(by: b)
        if m.low < b {
            let threshold = (0 &- b) % b
            while m.low < threshold {
                m = next().multipliedFullWidth(by: b)
            }
        }
        return Int(m.high)
    }

    /// A uniform `Double` in `[0, 1)` with 53 random bits.
    @inlinable
    public mutating func nextUnitDouble() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }
}
