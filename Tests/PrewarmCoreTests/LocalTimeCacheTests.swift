// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import PrewarmCore
import Testing

/// A zone as its UTC offsets from given instants on (ascending; the first applies before all).
private struct FakeZone {
    var changes: [(from: Int64, offset: Int64)]
    func offset(_ t: Int64) -> Int64 {
        var o = changes[0].offset
        for c in changes where c.from <= t { o = c.offset }
        return o
    }
}

@Test func localTimeCacheKnowsTheEpochAndToday() {
    var cache = LocalTimeCache()
    #expect(cache.hourAndDay(0, offsetAt: { _ in 0 })! == (0, 4))  // 1970-01-01 was a Thursday
    #expect(cache.hourAndDay(-3600, offsetAt: { _ in 0 })! == (23, 3))  // 1969-12-31, a Wednesday
    #expect(cache.hourAndDay(1_796_198_100, offsetAt: { _ in 0 })! == (7, 3))  // 2026-12-02 07:55 UTC, Wednesday
    // UTC+01:00: 08:55 the same day; UTC-08:00: 23:55 the day before.
    var plus = LocalTimeCache()
    #expect(plus.hourAndDay(1_796_198_100, offsetAt: { _ in 3600 })! == (8, 3))
    var minus = LocalTimeCache()
    #expect(minus.hourAndDay(1_796_198_100, offsetAt: { _ in -8 * 3600 })! == (23, 2))
    // An unknown offset gives nil, and is asked again next time.
    var unknown = LocalTimeCache()
    #expect(unknown.hourAndDay(1_796_198_100, offsetAt: { _ in nil }) == nil)
    #expect(unknown.hourAndDay(1_796_198_101, offsetAt: { _ in 0 })! == (7, 3))
    // Times far outside any calendar do not trap.
    var far = LocalTimeCache()
    _ = far.hourAndDay(.max, offsetAt: { _ in 3600 })
    _ = far.hourAndDay(.min, offsetAt: { _ in -3600 })
    #expect(far.hourAndDay(0, offsetAt: { _ in 86_400 * 3 }) == nil)  // no zone is three days off
    var odd = LocalTimeCache()
    #expect(odd.hourAndDay(0, offsetAt: { _ in .min }) == nil)
    // A transition to nonsense inside the quarter hour: the second it applies from is refused, not trapped on.
    #expect(odd.hourAndDay(0, offsetAt: { $0 == 0 ? 0 : .min })! == (0, 4))
    #expect(odd.hourAndDay(1, offsetAt: { $0 == 0 ? 0 : .min }) == nil)
}

/// The cache gives what the offset function gives at every second, across transitions on quarter hours (DST),
/// one at an odd second (a local mean time), 30-minute DST and a +05:45 zone; it asks once per quarter hour.
@Test func localTimeCacheFollowsEveryTransition() {
    let zones = [
        FakeZone(changes: [(.min, 3600), (1_774_746_000, 7200), (1_792_890_000, 3600)]),  // CET/CEST 2026
        FakeZone(changes: [(.min, 3208), (1_774_746_017, 3600)]),  // a local mean time ending at an odd second
        FakeZone(changes: [(.min, 37_800), (1_775_372_400, 39_600), (1_791_097_200, 37_800)]),  // +10:30/+11
        FakeZone(changes: [(.min, 20_700)]),  // +05:45
        FakeZone(changes: [(.min, -12_600), (1_773_552_600, -9000)]),  // -03:30 to -02:30
    ]
    func reference(_ local: Int64) -> (Int, Int) {
        let day = local >= 0 ? local / 86_400 : (local - 86_399) / 86_400
        let second = local - day * 86_400
        return (Int(second / 3600), Int(((day % 7) + 7 + 4) % 7))
    }
    for zone in zones {
        var cache = LocalTimeCache()
        var checked = 0
        var times: [Int64] = []
        for c in zone.changes.dropFirst() {
            times += Array(c.from - 1000 ... c.from + 1000)
        }
        times += Array(stride(from: Int64(1_767_225_600), to: 1_798_761_600, by: 3_607))  // all of 2026
        for t in times {
            let got = cache.hourAndDay(t, offsetAt: zone.offset)
            let want = reference(t + zone.offset(t))
            #expect(got.map { [$0.hour, $0.day] } == [want.0, want.1], "t=\(t)")
            checked += 1
        }
        #expect(checked == times.count)
        // Two lookups per quarter hour entered, plus one per time in a quarter hour with a transition inside.
        #expect(cache.lookups <= UInt64(times.count) * 3)
    }
    // One quarter hour of times costs two lookups, not one per time.
    var cache = LocalTimeCache()
    var asked = 0
    for t in Int64(1_796_198_400) ..< 1_796_198_400 + 900 {
        _ = cache.hourAndDay(t) { _ in
            asked += 1
            return 3600
        }
    }
    #expect(asked == 2)
    #expect(cache.lookups == 2)
}
