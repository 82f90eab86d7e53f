// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

/// The local hour of day and day of week of submission times, without a time zone lookup per submission.
///
/// `localtime_r` costs the profiler about 460 instructions and 36 cache lines of glibc's code per job (a
/// search of the zone's transitions under a lock). Every time-zone offset is a whole number of minutes and
/// every transition of the zone database since 1970 happens on a quarter hour, so this keeps the UTC offset of
/// the current 15-minute block, asked once per block: at the block's first second and at its last. When the
/// two differ (a transition inside the block: only historical local mean times have them), the block is not
/// kept and every time in it is asked for, so the result is always the one the offset function gives.
public struct LocalTimeCache: Sendable {
    /// Seconds in one cached block.
    public static let block: Int64 = 900
    private var blockStart: Int64 = .min
    private var offset: Int64 = 0
    /// Offset lookups made (two per block kept, one per time in a block with a transition).
    public private(set) var lookups: UInt64 = 0

    public init() {}

    /// The hour of day (0–23) and day of week (0 = Sunday) of Unix time `t`, where `offsetAt(t)` is the zone's
    /// UTC offset in seconds at `t` (`tm_gmtoff`), or nil when unknown (then this returns nil).
    public mutating func hourAndDay(_ t: Int64, offsetAt: (Int64) -> Int64?) -> (hour: Int, day: Int)? {
        // Times beyond ±2^50 s (35 million years) are clamped: no arithmetic below can overflow.
        let time = Swift.min(Swift.max(t, -(1 << 50)), 1 << 50)
        let start = time - Self.floorMod(time, Self.block)
        if start != blockStart {
            lookups &+= 2
            guard let first = offsetAt(start), let last = offsetAt(start + Self.block - 1), Self.plausible(first)
            else { return nil }
            if first == last {
                blockStart = start
                offset = first
            } else {
                blockStart = .min
                lookups &+= 1
                guard let exact = offsetAt(time), Self.plausible(exact) else { return nil }
                return Self.hourAndDay(local: time + exact)
            }
        }
        return Self.hourAndDay(local: time + offset)
    }

    /// An offset within two days of UTC (no zone is further; `abs` would trap on `Int64.min`).
    static func plausible(_ offset: Int64) -> Bool { offset > -172_800 && offset < 172_800 }

    /// Hour and weekday of a local time in seconds since 1970-01-01 00:00 local (a Thursday).
    static func hourAndDay(local: Int64) -> (hour: Int, day: Int) {
        let days = (local - floorMod(local, 86_400)) / 86_400
        return (Int(floorMod(local, 86_400) / 3600), Int(floorMod(days + 4, 7)))
    }

    static func floorMod(_ a: Int64, _ m: Int64) -> Int64 {
        let r = a % m
        return r < 0 ? r + m : r
    }
}
