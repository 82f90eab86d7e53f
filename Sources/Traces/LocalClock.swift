// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Converts Unix times to a cluster's local hour of day and day of week, following DST in a named IANA zone.
///
/// At init the zone's UTC-offset transitions between 1970 and 2100 are probed once with the C library
/// (`TZ` + `tzset` + `localtime_r`, then the previous `TZ` is restored) into a small table; afterwards
/// ``local(_:)`` is a pure binary search and does not depend on the process's `TZ`. Times outside the probed
/// range use the offset at the nearest end of it.
///
/// If the zone is `nil` or not found under `/usr/share/zoneinfo`, the clock uses `fallbackOffset` (an SWF header's
/// `TimeZone:` seconds) as a fixed offset, else UTC. ``description`` says which was used.
///
/// Probing changes process-global state for a few milliseconds: concurrent `LocalClock` inits are serialised,
/// but other code calling `localtime` at the same moment could see the probed zone.
public struct LocalClock: Sendable, CustomStringConvertible {
    /// What the clock uses: `Europe/Stockholm (tz database, DST-aware)`, `fixed offset UTC+01:00 (…)` or `UTC (…)`.
    public let description: String
    /// The IANA zone in use, or `nil` when a fixed offset (or UTC) is used.
    public let zoneName: String?

    /// Transition instants, ascending; `transitionTimes[0]` is `Int64.min`.
    private let transitionTimes: [Int64]
    /// UTC offset in seconds in effect from the matching transition time on.
    private let offsets: [Int32]

    /// The probed range for named zones: 1970-01-01 to 2100-01-01 UTC.
    public static let probedRange: ClosedRange<Int64> = 0...4_102_444_800

    /// Creates a clock for an IANA zone name, falling back to a fixed UTC offset in seconds, else UTC.
    public init(timeZoneString: String?, fallbackOffset: Int?) {
        let fixedDescription: String
        let fixed: Int32
        if let fallbackOffset, fallbackOffset > -86_400, fallbackOffset < 86_400 {
            fixed = Int32(fallbackOffset)
            fixedDescription = "fixed offset \(LocalClock.formatOffset(Int(fixed)))"
        } else {
            fixed = 0
            fixedDescription = "UTC"
        }
        if let name = timeZoneString, let file = LocalClock.zoneFile(name) {
            let (times, offsets) = LocalClock.probe(zoneFile: file)
            self.transitionTimes = times
            self.offsets = offsets
            self.zoneName = name
            self.description = "\(name) (tz database, DST-aware)"
        } else {
            self.transitionTimes = [Int64.min]
            self.offsets = [fixed]
            self.zoneName = nil
            if let name = timeZoneString {
                self.description = "\(fixedDescription) (time zone '\(name)' not found)"
            } else if fallbackOffset != nil, fixedDescription != "UTC" {
                self.description = "\(fixedDescription) (no time zone name)"
            } else {
                self.description = "\(fixedDescription) (no time zone information)"
            }
        }
    }

    /// A clock that is always UTC.
    public static let utc = LocalClock(timeZoneString: nil, fallbackOffset: nil)

    /// The UTC offset in seconds in effect at Unix time `t`.
    @inline(__always)
    public func utcOffset(at t: Int64) -> Int {
        // Last index with transitionTimes[i] <= t; transitionTimes[0] is Int64.min.
        var lo = 0
        var hi = transitionTimes.count
        while hi - lo > 1 {
            let mid = (lo + hi) >> 1
            if transitionTimes[mid] <= t { lo = mid } else { hi = mid }
        }
        return Int(offsets[lo])
    }

    /// Local hour of day (0–23) and day of week (0 = Sunday … 6 = Saturday) at Unix time `t`.
    @inline(__always)
    public func local(_ t: Int64) -> (hourOfDay: Int8, dayOfWeek: Int8) {
        let localSeconds = t &+ Int64(utcOffset(at: t))
        let (days, secondOfDay) = LocalClock.floorDivMod(localSeconds, 86_400)
        // 1970-01-01 was a Thursday (4).
        let weekday = LocalClock.floorDivMod(days &+ 4, 7).1
        return (Int8(truncatingIfNeeded: secondOfDay / 3600), Int8(truncatingIfNeeded: weekday))
    }

    /// Formats Unix time `t` as local `YYYY-MM-DD HH:MM:SS +HH:MM`.
    public func format(_ t: Int64) -> String {
        let offset = utcOffset(at: t)
        let (days, secondOfDay) = LocalClock.floorDivMod(t &+ Int64(offset), 86_400)
        let (y, m, d) = LocalClock.civil(fromDays: days)
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(y)-\(two(m))-\(two(d)) \(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):"
            + "\(two(secondOfDay % 60)) \(LocalClock.formatOffset(offset).dropFirst(3))"
    }

    // MARK: - Helpers

    @inline(__always)
    static func floorDivMod(_ a: Int64, _ b: Int64) -> (Int64, Int64) {
        var q = a / b
        var r = a % b
        if r < 0 {
            q -= 1
            r += b
        }
        return (q, r)
    }

    /// Proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's algorithm).
    static func civil(fromDays z0: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    /// `UTC+01:00`, `UTC-05:00`, `UTC+05:30`.
    static func formatOffset(_ seconds: Int) -> String {
        let sign = seconds < 0 ? "-" : "+"
        let a = abs(seconds)
        let h = a / 3600
        let m = a / 60 % 60
        return "UTC\(sign)\(h < 10 ? "0" : "")\(h):\(m < 10 ? "0" : "")\(m)"
    }

    /// The zone file for a plausible IANA name that exists and starts with the `TZif` magic, else `nil`.
    static func zoneFile(_ name: String) -> String? {
        guard !name.isEmpty, !name.hasPrefix("/"), name.utf8.count < 256 else { return nil }
        for b in name.utf8 {
            let ok = (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39)
                || b == 0x2F || b == 0x5F || b == 0x2D || b == 0x2B || b == 0x2E
            guard ok else { return nil }
        }
        guard !name.split(separator: "/").contains(where: { $0 == ".." || $0 == "." }) else { return nil }
        let path = "/usr/share/zoneinfo/" + name
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var magic = [UInt8](repeating: 0, count: 4)
        let n = magic.withUnsafeMutableBytes { read(fd, $0.baseAddress, 4) }
        guard n == 4, magic == Array("TZif".utf8) else { return nil }
        return path
    }

    /// Probes the zone's offset transitions over ``probedRange``: samples every 12 hours, and bisects to the
    /// second wherever the offset changed.
    private static func probe(zoneFile: String) -> ([Int64], [Int32]) {
        withProbeLock { probeLocked(zoneFile: zoneFile) }
    }

    /// Runs `body` holding the lock that serialises `TZ` probing (for tests that touch `TZ` themselves).
    static func withProbeLock<T>(_ body: () throws -> T) rethrows -> T {
        tzLock.lock()
        defer { tzLock.unlock() }
        return try body()
    }

    private static func probeLocked(zoneFile: String) -> ([Int64], [Int32]) {
        let saved = getenv("TZ").map { String(cString: $0) }
        setenv("TZ", ":" + zoneFile, 1)
        tzset()
        defer {
            if let saved { setenv("TZ", saved, 1) } else { unsetenv("TZ") }
            tzset()
        }
        func offset(_ t: Int64) -> Int32 {
            var tt = time_t(t)
            var parts = tm()
            guard localtime_r(&tt, &parts) != nil else { return 0 }
            return Int32(truncatingIfNeeded: parts.tm_gmtoff)
        }
        let step: Int64 = 12 * 3600
        var times: [Int64] = [Int64.min]
        var offsets: [Int32] = [offset(probedRange.lowerBound)]
        var lo = probedRange.lowerBound
        var loOffset = offsets[0]
        while lo < probedRange.upperBound {
            let hi = min(lo + step, probedRange.upperBound)
            if offset(hi) == loOffset {
                lo = hi
                continue
            }
            // First second in (lo, hi] whose offset differs from loOffset.
            var a = lo
            var b = hi
            while b - a > 1 {
                let mid = a + (b - a) / 2
                if offset(mid) == loOffset { a = mid } else { b = mid }
            }
            loOffset = offset(b)
            times.append(b)
            offsets.append(loOffset)
            lo = b
        }
        return (times, offsets)
    }
}

/// Serialises `TZ` probing between `LocalClock` inits.
private let tzLock = PthreadLock()

private final class PthreadLock: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }
}
