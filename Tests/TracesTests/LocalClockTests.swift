// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import Testing
import PrewarmCore
@testable import Traces

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite struct LocalClockTests {
    /// 1997-03-30 01:00:00 UTC, the last Sunday of March: Stockholm goes from CET (+1) to CEST (+2).
    static let springForward1997: Int64 = 859_683_600
    /// 1997-10-26 01:00:00 UTC, the last Sunday of October: back from CEST to CET.
    static let fallBack1997: Int64 = 877_827_600

    @Test func stockholmDSTBoundaries() {
        let clock = LocalClock(timeZoneString: "Europe/Stockholm", fallbackOffset: 3600)
        #expect(clock.zoneName == "Europe/Stockholm")
        #expect(clock.description.contains("Europe/Stockholm"))

        let spring = LocalClockTests.springForward1997
        #expect(clock.utcOffset(at: spring - 1) == 3600)
        #expect(clock.utcOffset(at: spring) == 7200)
        #expect(clock.local(spring - 1) == (hourOfDay: 1, dayOfWeek: 0))  // 01:59:59 CET, Sunday
        #expect(clock.local(spring) == (hourOfDay: 3, dayOfWeek: 0))  // 03:00:00 CEST
        #expect(clock.format(spring - 1) == "1997-03-30 01:59:59 +01:00")
        #expect(clock.format(spring) == "1997-03-30 03:00:00 +02:00")

        let fall = LocalClockTests.fallBack1997
        #expect(clock.utcOffset(at: fall - 1) == 7200)
        #expect(clock.utcOffset(at: fall) == 3600)
        #expect(clock.local(fall - 1) == (hourOfDay: 2, dayOfWeek: 0))  // 02:59:59 CEST
        #expect(clock.local(fall) == (hourOfDay: 2, dayOfWeek: 0))  // 02:00:00 CET again
        #expect(clock.local(fall + 3600) == (hourOfDay: 3, dayOfWeek: 0))
        // Saturday 1997-10-25 23:30 UTC is Sunday 01:30 CEST.
        #expect(clock.local(fall - 5400) == (hourOfDay: 1, dayOfWeek: 0))
        #expect(clock.local(fall - 5400 - 7200) == (hourOfDay: 23, dayOfWeek: 6))
    }

    @Test func unknownZoneFallsBackToFixedOffset() {
        let clock = LocalClock(timeZoneString: "Mars/Olympus_Mons", fallbackOffset: 3600)
        #expect(clock.zoneName == nil)
        #expect(clock.description.contains("UTC+01:00"))
        #expect(clock.description.contains("Mars/Olympus_Mons"))
        // A fixed offset ignores DST: summer and winter are both +1.
        #expect(clock.utcOffset(at: LocalClockTests.springForward1997 + 86_400 * 60) == 3600)
        #expect(clock.local(LocalClockTests.springForward1997) == (hourOfDay: 2, dayOfWeek: 0))

        let west = LocalClock(timeZoneString: nil, fallbackOffset: -18_000)
        #expect(west.local(0) == (hourOfDay: 19, dayOfWeek: 3))  // Wednesday 1969-12-31 19:00
        #expect(west.description.contains("UTC-05:00"))

        for name in ["../../etc/passwd", "/etc/localtime", "", "zone.tab", "Europe/Stockholm; rm"] {
            let c = LocalClock(timeZoneString: name, fallbackOffset: nil)
            #expect(c.zoneName == nil, "\(name)")
            #expect(c.utcOffset(at: 900_000_000) == 0)
        }
        let utc = LocalClock(timeZoneString: nil, fallbackOffset: nil)
        #expect(utc.description.hasPrefix("UTC"))
        #expect(utc.local(-1) == (hourOfDay: 23, dayOfWeek: 3))
        #expect(utc.format(0) == "1970-01-01 00:00:00 +00:00")
    }

    /// Compares the precomputed table with `localtime_r` directly, at many times, in zones with DST, with
    /// half-hour DST (Lord Howe), with none (Kolkata) and with a southern-hemisphere DST.
    @Test(arguments: ["Europe/Stockholm", "US/Pacific", "Australia/Lord_Howe", "Asia/Kolkata", "America/Santiago"])
    func agreesWithLocaltime(zone: String) throws {
        let clock = LocalClock(timeZoneString: zone, fallbackOffset: nil)
        try #require(clock.zoneName == zone)
        var rng = SplitMix(seed: 42)
        var times: [Int64] = (0..<3000).map { _ in Int64(rng.next() % 4_102_444_800) }
        // Around every transition-prone instant of one year, too.
        times += stride(from: Int64(859_000_000), to: 878_000_000, by: 1799).map { $0 }
        LocalClock.withProbeLock {
            let saved = getenv("TZ").map { String(cString: $0) }
            setenv("TZ", ":/usr/share/zoneinfo/" + zone, 1)
            tzset()
            defer {
                if let saved { setenv("TZ", saved, 1) } else { unsetenv("TZ") }
                tzset()
            }
            for t in times {
                var tt = time_t(t)
                var parts = tm()
                _ = localtime_r(&tt, &parts)
                let got = clock.local(t)
                if got.hourOfDay != Int8(parts.tm_hour) || got.dayOfWeek != Int8(parts.tm_wday)
                    || clock.utcOffset(at: t) != parts.tm_gmtoff {
                    Issue.record("\(zone) at \(t): got \(got), localtime_r says \(parts.tm_hour) \(parts.tm_wday)")
                    return
                }
            }
        }
    }

    @Test func initRestoresTZAndClockIgnoresLaterChanges() {
        LocalClock.withProbeLock {
            setenv("TZ", "America/New_York", 1)
            tzset()
        }
        let clock = LocalClock(timeZoneString: "Europe/Stockholm", fallbackOffset: nil)
        LocalClock.withProbeLock {
            #expect(getenv("TZ").map { String(cString: $0) } == "America/New_York")
            setenv("TZ", "Asia/Tokyo", 1)
            tzset()
        }
        #expect(clock.local(LocalClockTests.springForward1997) == (hourOfDay: 3, dayOfWeek: 0))
        LocalClock.withProbeLock {
            unsetenv("TZ")
            tzset()
        }
        let other = LocalClock(timeZoneString: "Europe/Stockholm", fallbackOffset: nil)
        LocalClock.withProbeLock { #expect(getenv("TZ") == nil) }
        #expect(other.local(0) == (hourOfDay: 1, dayOfWeek: 4))
    }
}

/// A tiny deterministic generator for test inputs.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The profiler's quarter-hour cache of the UTC offset (``LocalTimeCache``) gives the hour and weekday of the
/// time zone database at every minute of 2026 and at every second around its transitions, in zones with DST,
/// 30-minute DST and odd offsets.
@Test func localTimeCacheAgreesWithTheZoneDatabase() throws {
    for name in ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu", "America/St_Johns"] {
        let clock = LocalClock(timeZoneString: name, fallbackOffset: nil)
        #expect(clock.zoneName == name, "\(name) not in /usr/share/zoneinfo: \(clock.description)")
        var cache = LocalTimeCache()
        var times = Array(stride(from: Int64(1_767_225_600), to: 1_798_761_600, by: 60))
        var transitions = 0
        for t in stride(from: Int64(1_767_225_600), to: 1_798_761_600, by: 3600)
        where clock.utcOffset(at: t) != clock.utcOffset(at: t + 3600) {
            times += Array(t ... t + 3600)
            transitions += 1
        }
        #expect(name == "Asia/Kathmandu" || transitions == 2, "\(name): \(transitions) transitions in 2026")
        var wrong = 0
        for t in times {
            let got = cache.hourAndDay(t) { Int64(clock.utcOffset(at: $0)) }
            let want = clock.local(t)
            if got.map({ [$0.hour, $0.day] }) != [Int(want.hourOfDay), Int(want.dayOfWeek)] { wrong += 1 }
        }
        #expect(wrong == 0, "\(name): \(wrong) of \(times.count) times differ")
    }
}
