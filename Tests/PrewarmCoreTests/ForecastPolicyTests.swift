// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
@testable import PrewarmCore
import Testing

private let t0: Int64 = 1_000_000 * 60  // a minute boundary

@Test func forecastCountsRunningAndPendingJobsMinuteByMinute() {
    let f = DemandForecaster.forecast(
        now: t0, minutes: 10,
        running: [RunningDemand(nodes: 3, predictedEnd: t0 + 150, lateEnd: t0 + 330)],
        pending: [PendingDemand(nodes: 2, predictedRuntime: 120, lateRuntime: 240, earliestStart: t0 + 240)],
        arrivals: ArrivalModel(), hourOfWeekAt: { _ in 0 }, totalNodes: 100)
    // running: minutes 0,1,2 (ends at 150 s); late end 330 s: minutes 0…5
    // pending: from 240 s (minute 4) for 120 s: minutes 4,5; late: 4…7
    #expect(f.expected == [3, 3, 3, 0, 2, 2, 0, 0, 0, 0])
    #expect(f.upper == [3, 3, 3, 3, 5, 5, 2, 2, 0, 0])
    #expect(f.peak(minutes: 0 ..< 4, aggressiveness: 0) == 3)
    #expect(f.peak(minutes: 3 ..< 10, aggressiveness: 1) == 5)
    #expect(f.peak(minutes: 3 ..< 10, aggressiveness: 0.5) == 3.5)
}

@Test func queuedJobsAreProjectedOntoTheNodesRunningJobsFree() {
    // 64 nodes; 50 busy until minute 10. Queue: 30 nodes (the head: waits for minute 10), then 10 nodes (fits the
    // free nodes now, yet queued: the scheduler declined it, so it is not projected to start now), then 80 nodes
    // (capped at 64: cannot fit within the horizon), then 4 nodes that may start at minute 15 (`--begin`).
    let running = [RunningDemand(nodes: 50, predictedEnd: t0 + 600, lateEnd: t0 + 600)]
    let pending = [
        PendingDemand(nodes: 30, predictedRuntime: 300, lateRuntime: 300),
        PendingDemand(nodes: 10, predictedRuntime: 1200, lateRuntime: 1200),
        PendingDemand(nodes: 80, predictedRuntime: 600, lateRuntime: 600),
        PendingDemand(nodes: 4, predictedRuntime: 300, lateRuntime: 300, earliestStart: t0 + 900),
    ]
    let f = DemandForecaster.forecast(
        now: t0, minutes: 20, running: running, pending: pending, arrivals: ArrivalModel(), hourOfWeekAt: { _ in 0 },
        totalNodes: 64)
    #expect(Array(f.expected[0 ..< 10]) == Array(repeating: 50, count: 10))
    #expect(Array(f.expected[10 ..< 15]) == Array(repeating: 30, count: 5))
    #expect(Array(f.expected[15 ..< 20]) == Array(repeating: 4, count: 5))
    #expect(f.expected.allSatisfy { $0 <= 64 })
    // The former projection (a variant `prewarm forecast-error` scores) backfills the 10-node job now.
    let variant = DemandForecaster.knownDemand(
        now: t0, minutes: 20, running: running, pending: pending, totalNodes: 64, late: false, backfillNow: true)
    #expect(Array(variant[0 ..< 10]) == Array(repeating: 60, count: 10))
    #expect(Array(variant[10 ..< 15]) == Array(repeating: 40, count: 5))
    #expect(Array(variant[15 ..< 20]) == Array(repeating: 14, count: 5))
}

@Test func arrivalModelLearnsAWeeklyBurst() {
    // Every week, 20 one-node jobs of 30 minutes arrive at hour-of-week 10 (Sunday 10:00); nothing else.
    // Fluid demand (no buffer price): the learnt rates themselves.
    var a = ArrivalModel()
    a.bufferPrice = 0
    a.upperBufferPrice = 0
    a.quietScaling = false  // the rates as learnt per hour of week (the quiet factors have their own test)
    for _ in 0 ..< 200 { a.observeRuntime(1800) }
    let week: Int64 = 7 * 86_400
    for w in 0 ..< 4 {
        let burst = Int64(w) * week + 10 * 3600
        for j in 0 ..< 20 { a.observeArrival(time: burst + Int64(j) * 60, hourOfWeek: 10, nodes: 1) }
        // a quiet arrival far away closes the bucket
        a.observeArrival(time: burst + 3 * 86_400, hourOfWeek: 82, nodes: 1)
    }
    // Forecast made just before the burst hour (minutes ahead 0…59 fall in hour 10) vs in a quiet hour.
    let busy = a.arrivalDemand(minutes: 60) { _ in 10 }
    let quiet = a.arrivalDemand(minutes: 60) { _ in 40 }
    #expect(busy.expected[30] > 5, "\(busy.expected[30])")
    #expect(quiet.expected[30] < 1, "\(quiet.expected[30])")
    #expect(zip(busy.expected, busy.upper).allSatisfy { $0 <= $1 })
    // 30-minute jobs: demand from arrivals grows, then plateaus once the first arrivals end.
    #expect(busy.expected[20] < busy.expected[40])
}

private func flat(_ n: Float, minutes: Int = 60) -> DemandForecast {
    DemandForecast(start: t0, expected: Array(repeating: n, count: minutes), upper: Array(repeating: n, count: minutes))
}

@Test func policyPowersUpTheShortfallBeyondTheThresholdByWeight() {
    let nodes = [
        PolicyNode(index: 0, power: .busy), PolicyNode(index: 1, power: .off, weight: 5),
        PolicyNode(index: 2, power: .off, weight: 1), PolicyNode(index: 3, power: .off, weight: 1),
        PolicyNode(index: 4, power: .off, weight: 1, excluded: true), PolicyNode(index: 5, power: .unavailable),
    ]
    var c = AdjustmentConfiguration()
    c.threshold = 0
    let a = AdjustmentPolicy.decide(now: t0, nodes: nodes, forecast: flat(3), configuration: c)
    #expect(a.map(\.node) == [2, 3])
    #expect(a.allSatisfy { $0.kind == .powerUp && $0.reason.contains("needs 3") })
    c.threshold = 2
    #expect(AdjustmentPolicy.decide(now: t0, nodes: nodes, forecast: flat(3), configuration: c).isEmpty)
    c.threshold = 0
    c.maxPowerUpsPerStep = 1
    #expect(AdjustmentPolicy.decide(now: t0, nodes: nodes, forecast: flat(10), configuration: c).map(\.node) == [2])
}

@Test func policyPowersDownOnlyLongIdleSurplusAndNeverBusyNodes() {
    let nodes = [
        PolicyNode(index: 0, power: .busy), PolicyNode(index: 1, power: .idle(since: t0 - 30)),
        PolicyNode(index: 2, power: .idle(since: t0 - 900)), PolicyNode(index: 3, power: .idle(since: t0 - 1800)),
        PolicyNode(index: 4, power: .booting), PolicyNode(index: 5, power: .idle(since: t0 - 5000), excluded: true),
    ]
    let c = AdjustmentConfiguration()  // min idle 120 s
    let a = AdjustmentPolicy.decide(now: t0, nodes: nodes, forecast: flat(1), configuration: c)
    // capacity 6 (busy, 4 idle incl. excluded, booting), need 1: surplus 5, but only nodes 2 and 3 are eligible
    #expect(a.map(\.node) == [3, 2])
    #expect(a.allSatisfy { $0.kind == .powerDown })
    // Demand ahead within boot lead + margin keeps them up.
    var ramp = flat(1)
    for m in 12 ..< 60 { ramp.expected[m] = 6; ramp.upper[m] = 6 }
    #expect(AdjustmentPolicy.decide(now: t0, nodes: nodes, forecast: ramp, configuration: c).isEmpty)
}

@Test func policyNeverPowersDownABusyNodeWhateverTheForecast() {
    var nodes: [PolicyNode] = []
    for i in 0 ..< 40 {
        let p: NodePower = i % 3 == 0 ? .busy : (i % 3 == 1 ? .idle(since: t0 - Int64(i) * 100) : .off)
        nodes.append(PolicyNode(index: i, power: p, weight: i % 4))
    }
    for need in stride(from: Float(0), through: 40, by: 5) {
        let a = AdjustmentPolicy.decide(now: t0, nodes: nodes, forecast: flat(need), configuration: .init())
        for action in a {
            let node = nodes[action.node]
            if action.kind == .powerDown {
                if case .idle = node.power {} else { Issue.record("powered down \(node)") }
            } else {
                #expect(node.power == .off)
            }
        }
        #expect(Set(a.map(\.node)).count == a.count)
    }
}

@Test func anOverrunningJobIsNotForecastToEndWithinAMinute() {
    let start = t0 - 7200
    // Within its prediction (1 h predicted, p90 3 h, limit 8 h, 10 min elapsed): predicted end as is.
    let young = RunningDemand(
        nodes: 4, start: t0 - 600, now: t0, predictedRuntime: 3600, lateRuntime: 10_800, limitEnd: t0 - 600 + 28_800)
    #expect(young.predictedEnd == t0 + 3000)
    #expect(young.lateEnd == t0 - 600 + 10_800)
    // 2 h elapsed, past the 1 h prediction: expected at the later of the p90 (3 h) and twice the elapsed time
    // (4 h), late at the limit.
    let overdue = RunningDemand(
        nodes: 4, start: start, now: t0, predictedRuntime: 3600, lateRuntime: 10_800, limitEnd: start + 28_800)
    #expect(overdue.predictedEnd == start + 14_400)
    #expect(overdue.lateEnd == start + 28_800)
    // 4 h elapsed, past the p90 too: expected to run as long again, late at the limit.
    let old = RunningDemand(
        nodes: 4, start: t0 - 14_400, now: t0, predictedRuntime: 3600, lateRuntime: 10_800,
        limitEnd: t0 - 14_400 + 28_800)
    #expect(old.predictedEnd == t0 + 14_400)
    #expect(old.lateEnd == t0 + 14_400)  // the limit
    let pastP90 = RunningDemand(
        nodes: 4, start: t0 - 11_000, now: t0, predictedRuntime: 3600, lateRuntime: 10_800, limitEnd: nil)
    #expect(pastP90.predictedEnd == t0 + 11_000)
    let nearLimit = RunningDemand(
        nodes: 4, start: t0 - 14_400, now: t0, predictedRuntime: 3600, lateRuntime: 10_800, limitEnd: t0 + 1200)
    #expect(nearLimit.predictedEnd == t0 + 1200)
    // Whatever happens, never within a minute unless the limit says so, and never before now + 60 s.
    for elapsed in stride(from: Int64(0), through: 40_000, by: 500) {
        let r = RunningDemand(
            nodes: 1, start: t0 - elapsed, now: t0, predictedRuntime: 3600, lateRuntime: 7200, limitEnd: nil)
        #expect(r.predictedEnd >= t0 + 60)
        #expect(r.lateEnd >= r.predictedEnd)
        if elapsed >= 3600 { #expect(r.predictedEnd >= t0 + 1800, "elapsed \(elapsed)") }
    }
    // In the forecast: the overrunning job keeps its nodes over the next hour.
    let f = DemandForecaster.forecast(
        now: t0, minutes: 60, running: [overdue], pending: [], arrivals: ArrivalModel(), hourOfWeekAt: { _ in 0 },
        totalNodes: 10)
    #expect(f.expected.allSatisfy { $0 == 4 })
}

@Test func arrivalBufferCoversTheSmallJobsItCanServeWhole() {
    var a = ArrivalModel()
    for i in 0 ..< 100 { a.observeArrival(time: Int64(i) * 600, hourOfWeek: 0, nodes: i % 5 == 0 ? 64 : 1) }
    // One expected job: a 1-node buffer serves 80 % of arrivals; 64 nodes would serve all, at 64× the nodes.
    #expect(a.buffer(jobs: 1, price: 0.05) == 1)
    // Ten expected jobs: the 1-node jobs need 8 nodes between them; the 64-node ones are not worth it.
    #expect(a.buffer(jobs: 10, price: 0.05) == 8)
    #expect(a.buffer(jobs: 0, price: 0.05) == 0)
    // A low enough price buys the big jobs too.
    #expect(a.buffer(jobs: 10, price: 0.001) > 64)
    // Fluid mode (no price) keeps the expected nodes.
    var fluid = a
    fluid.bufferPrice = 0
    fluid.upperBufferPrice = 0
    let d = fluid.arrivalDemand(minutes: 60) { _ in 0 }
    let b = a.arrivalDemand(minutes: 60) { _ in 0 }
    #expect(d.expected[59] > b.expected[59])
}

@Test func sessionModelKeepsTheNodesOfUsersWhoResubmitSoon() {
    var s = SessionModel()
    let day: Int64 = 86_400
    // User 1 resubmits two minutes after each end; user 2 never within the window; user 3 like user 1.
    for k in 0 ..< 40 {
        let t = Int64(k) * day
        s.observeEnd(user: 1, nodes: 2, at: t)
        s.observeEnd(user: 2, nodes: 2, at: t)
        s.observeEnd(user: 3, nodes: 2, at: t)
        let first = s.observeSubmission(user: 1, at: t + 120)
        let third = s.observeSubmission(user: 3, at: t + 150)
        let second = s.observeSubmission(user: 2, at: t + 3 * 3600)  // the end expired unanswered
        #expect(first && third && !second)
    }
    let now = 50 * day
    s.observeEnd(user: 1, nodes: 2, at: now)
    s.observeEnd(user: 2, nodes: 2, at: now)
    #expect(s.expectedDemand(now: now + 30, minutes: 10) == Array(repeating: 2, count: 10))
    // Past the usual think time with no submission, user 1's nodes are no longer worth keeping.
    #expect(s.expectedDemand(now: now + 25 * 60, minutes: 10).allSatisfy { $0 == 0 })
    // A user who frees many nodes needs a proportionally higher chance: 200 nodes at ~certainty are not kept
    // at a price of 0.05 per node… 
    var big = s
    big.observeEnd(user: 3, nodes: 200, at: now + 60)
    #expect(big.expectedDemand(now: now + 90, minutes: 5) == Array(repeating: 2, count: 5))
    // …while a fluid model (no price) counts nodes × probability, growing with the minutes ahead.
    var fluid = s
    fluid.price = 0
    let f = fluid.expectedDemand(now: now + 30, minutes: 10)
    // user 1: 2 nodes × P(resubmit by minute 9) ≈ 0.96; user 2 only through the cluster-wide prior (≈ 0.07)
    #expect(f[0] < f[9])
    #expect(f[9] > 1.8 && f[9] < 2.3, "\(f[9])")
}

@Test func sessionModelLearnsResubmissionsPerRuntimeClassOfTheEndedJob() {
    var s = SessionModel()
    let day: Int64 = 86_400
    // User 1 resubmits two minutes after a job that ran 30 s (a quick fix-and-retry), never within the window
    // after one that ran two hours; users 2 and 3 the same, so the cluster-wide prior of each class says so too.
    for k in 0 ..< 40 {
        let t = Int64(k) * day
        for user: Int32 in 1 ... 3 {
            s.observeEnd(user: user, nodes: 2, at: t, runtime: 30)
            let quick = s.observeSubmission(user: user, at: t + 120)
            s.observeEnd(user: user, nodes: 2, at: t + 3600, runtime: 7200)
            let late = s.observeSubmission(user: user, at: t + 3600 + 3 * 3600)  // the end expired unanswered
            #expect(quick && !late)
        }
    }
    let now = 50 * day
    var short = s
    short.observeEnd(user: 1, nodes: 2, at: now, runtime: 30)
    #expect(short.expectedDemand(now: now + 30, minutes: 10) == Array(repeating: 2, count: 10))
    var long = s
    long.observeEnd(user: 1, nodes: 2, at: now, runtime: 7200)
    #expect(long.expectedDemand(now: now + 30, minutes: 10).allSatisfy { $0 == 0 })
    // The class of the user's last end counts: a short job ending after a long one makes the nodes worth keeping.
    long.observeEnd(user: 1, nodes: 2, at: now + 60, runtime: 45)
    #expect(long.expectedDemand(now: now + 90, minutes: 5) == Array(repeating: 4, count: 5))
    // A user never seen, after a short job: the short class's cluster-wide think times (resubmits soon).
    var stranger = s
    stranger.observeEnd(user: 9, nodes: 1, at: now, runtime: 20)
    #expect(stranger.expectedDemand(now: now + 30, minutes: 5) == Array(repeating: 1, count: 5))
    // Without the runtime (unknown class, nothing learned for it): the think times of all classes pooled,
    // half of the ends answered within two minutes, and 0.5 per node is above the price.
    var unknown = s
    unknown.observeEnd(user: 9, nodes: 1, at: now)
    #expect(unknown.expectedDemand(now: now + 30, minutes: 5) == Array(repeating: 1, count: 5))
    var unknownBig = s
    unknownBig.observeEnd(user: 9, nodes: 20, at: now)
    #expect(unknownBig.expectedDemand(now: now + 30, minutes: 5).allSatisfy { $0 == 0 })
    #expect(SessionModel.runtimeClass(59) == 0 && SessionModel.runtimeClass(60) == 1)
    #expect(SessionModel.runtimeClass(3599) == 2 && SessionModel.runtimeClass(3600) == 3)
    #expect(SessionModel.runtimeClass(-1) == SessionModel.runtimeClassBounds.count + 1)
}

@Test func buffersArePricedInTheClustersAllocationUnit() {
    // A CM-5-like cluster: every job takes a partition of 32 or 64 nodes.
    var a = ArrivalModel()
    for i in 0 ..< 100 { a.observeArrival(time: Int64(i) * 600, hourOfWeek: 0, nodes: i % 4 == 0 ? 64 : 32) }
    #expect(a.allocationUnit == 32)
    // One expected job: 64 nodes serve every arrival for two units' price (net 1 - 0.1 vs 0.75 - 0.05 for 32)…
    #expect(a.buffer(jobs: 1, price: 0.05) == 64)
    // …a dearer unit buys only the 32-node partition (0.75 - 0.4 > 1 - 0.8).
    #expect(a.buffer(jobs: 1, price: 0.4) == 32)
    // Per node (1-node jobs make the unit 1), no partial-partition buffer would ever be worth it.
    var mixed = a
    for i in 0 ..< 20 { mixed.observeArrival(time: 60_000 + Int64(i) * 600, hourOfWeek: 0, nodes: 1) }
    #expect(mixed.allocationUnit == 1)
    #expect(mixed.buffer(jobs: 1, price: 0.05) == 1)
    // Resubmissions: a user who always resubmits frees a 32-node partition; kept at a unit of 32, not of 1.
    var s = SessionModel()
    for k in 0 ..< 20 {
        s.observeEnd(user: 7, nodes: 32, at: Int64(k) * 86_400)
        _ = s.observeSubmission(user: 7, at: Int64(k) * 86_400 + 60)
    }
    s.observeEnd(user: 7, nodes: 32, at: 30 * 86_400)
    #expect(s.expectedDemand(now: 30 * 86_400, minutes: 5, allocationUnit: 32) == Array(repeating: 32, count: 5))
    #expect(s.expectedDemand(now: 30 * 86_400, minutes: 5, allocationUnit: 1).allSatisfy { $0 == 0 })
}

@Test func sessionModelKeepsTheNodesOfUsersWhoSubmitInSeries() {
    var s = SessionModel()
    let day: Int64 = 86_400
    // User 1 submits a 2-node job every 3 minutes for half an hour each day; user 2 a 4-node job once a day.
    for k in 0 ..< 20 {
        for i in 0 ..< 10 { s.observeSubmission(user: 1, nodes: 2, at: Int64(k) * day + Int64(i) * 180) }
        s.observeSubmission(user: 2, nodes: 4, at: Int64(k) * day + 7200)
    }
    let now = 30 * day
    s.observeSubmission(user: 1, nodes: 2, at: now)
    s.observeSubmission(user: 2, nodes: 4, at: now)
    // Only user 1's next job is likely enough: its 2 nodes are demand (no job has ended: no resubmission part).
    #expect(s.expectedDemand(now: now + 60, minutes: 5) == Array(repeating: 2, count: 5))
    // Long past the user's usual gap with no new job: nothing is kept.
    #expect(s.expectedDemand(now: now + 29 * 60, minutes: 5).allSatisfy { $0 == 0 })
    var off = s
    off.followPrice = 0
    #expect(off.expectedDemand(now: now + 60, minutes: 5).allSatisfy { $0 == 0 })
    // A user with both a recent end and a recent submission counts once (the larger).
    var both = s
    both.observeEnd(user: 1, nodes: 2, at: now + 30)
    #expect(both.expectedDemand(now: now + 60, minutes: 5).allSatisfy { $0 <= 2 })
}

@Test func demandLearnerReplaysHistoryInTimeOrderPerPartition() {
    // Sunday 2026-11-29 00:00 UTC is hour 0 of the week; 1970-01-01 (a Thursday) is hour 96.
    #expect(DemandLearner.hourOfWeek(1_795_910_400, utcOffset: 0) == 0)
    #expect(DemandLearner.hourOfWeek(0, utcOffset: 0) == 96)
    #expect(DemandLearner.hourOfWeek(1_795_910_400, utcOffset: 3600) == 1)
    #expect(DemandLearner.hourOfWeek(1_795_910_400, utcOffset: -3600) == 167)
    var l = DemandLearner()
    var jobs: [DemandLearner.PastJob] = []
    for i in 0 ..< 60 {
        let submit = Int64(i) * 600
        let partition = i % 3 == 0 ? "gpu" : "batch"
        jobs.append(DemandLearner.PastJob(
            partition: partition, user: Int32(i % 5), nodes: 2, submit: submit, start: submit + 10,
            end: submit + 310, utcOffset: 0))
    }
    l.replay(jobs.reversed())  // order does not matter: events are sorted
    #expect(l.submissions == 60 && l.ends == 60)
    #expect(l.partitions["batch"]?.submissions == 40 && l.partitions["gpu"]?.submissions == 20)
    #expect(l.trusted(minimumSubmissions: 30).keys.sorted() == ["batch"])
    #expect(l.partitions["batch"]?.arrivals.survival[6] == 0)  // every job ran 5 minutes
    // PriceScale: the trusted models' prices are scaled, the learner's own are not.
    let scaled = l.trusted(minimumSubmissions: 30, priceScale: 2)["batch"]
    let own = l.partitions["batch"]
    #expect(scaled?.arrivals.bufferPrice == 2 * (own?.arrivals.bufferPrice ?? 0))
    #expect(scaled?.arrivals.upperBufferPrice == 2 * (own?.arrivals.upperBufferPrice ?? 0))
    #expect(scaled?.sessions.price == 2 * (own?.sessions.price ?? 0))
    #expect(scaled?.sessions.followPrice == 2 * (own?.sessions.followPrice ?? 0))
    #expect(l.trusted(minimumSubmissions: 30, priceScale: 2)["batch"]?.arrivals.bufferPrice != own?.arrivals.bufferPrice)
}

@Test func aHigherPriceScaleKeepsASmallerArrivalBuffer() {
    var a = ArrivalModel()
    for i in 0 ..< 200 { a.observeArrival(time: Int64(i) * 30, hourOfWeek: 0, nodes: Double(1 + i % 4)) }
    let cheap = a.buffer(jobs: 3, price: a.bufferPrice)
    var lean = a
    lean.scalePrices(by: 8)
    #expect(lean.bufferPrice == 8 * a.bufferPrice)
    #expect(lean.buffer(jobs: 3, price: lean.bufferPrice) < cheap)
    var unchanged = a
    unchanged.scalePrices(by: -1)  // ignored
    #expect(unchanged == a)
}

/// Arrivals that cluster: the hour-of-week pattern is scaled by how long the cluster has been quiet. Jobs come in
/// bursts of ten half a minute apart, spread over every hour of the week alike: right after a
/// submission another is far likelier than the hour's average says; hours into a quiet spell it is less likely,
/// but the factor stays 1 there (the pattern is never scaled down). (The bursts come every 5 h 13 min, so they fall
/// at every hour of the week over the weeks.)
@Test func arrivalPatternIsScaledByTheTimeSinceTheLastArrival() {
    var a = ArrivalModel()
    var t: Int64 = 0
    for _ in 0 ..< 129 {  // four weeks of bursts
        for j in 0 ..< 10 {
            let at = t + Int64(j) * 30
            a.observeArrival(time: at, hourOfWeek: Int((at / 3600) % 168), nodes: 1)
        }
        t += 5 * 3600 + 13 * 60
    }
    let soon = a.quietFactor(minutes: 0)
    let late = a.quietFactor(minutes: 200)
    #expect(soon > 3, "\(soon)")
    #expect(late == 1, "\(late)")
    // Right after an arrival the rate is above the unscaled model's; 200 minutes later it is the same.
    var plain = a
    plain.quietScaling = false
    let h = 5
    #expect(plain.quietFactor(minutes: 0) == 1)
    let scaled = a.rate(hourOfWeek: h, minutesAhead: 0) - plain.rate(hourOfWeek: h, minutesAhead: 0)
    #expect(scaled > 0)
    #expect(a.rate(hourOfWeek: h, minutesAhead: 200) == plain.rate(hourOfWeek: h, minutesAhead: 200))
    // Quiet buckets: minutes since the last arrival in powers of two.
    #expect(ArrivalModel.quietBucket(0) == 0)
    #expect(ArrivalModel.quietBucket(1) == 1)
    #expect(ArrivalModel.quietBucket(2) == 1)
    #expect(ArrivalModel.quietBucket(3) == 2)
    #expect(ArrivalModel.quietBucket(1 << 30) == 16)
    #expect(ArrivalModel.quietBucket(-5) == 0)
}

/// An hour of the week that had submissions once and none since is learnt down to a low rate: hours without any
/// arrival count as observations of rate 0 (before, only hours with a submission were ever updated, so a quiet
/// night kept the rate of the last night that had one).
@Test func hoursWithoutArrivalsLowerTheirRate() {
    func model(zeroHours: Bool) -> ArrivalModel {
        var a = ArrivalModel()
        a.quietScaling = false
        a.zeroHours = zeroHours
        let week: Int64 = 7 * 86_400
        // Every week a job at hours 10 and 30; in week 0 only, ten jobs at hour 20 between them.
        for w in 0 ..< 6 {
            let base = Int64(w) * week
            a.observeArrival(time: base + 10 * 3600, hourOfWeek: 10, nodes: 1)
            if w == 0 {
                for j in 0 ..< 10 { a.observeArrival(time: base + 20 * 3600 + Int64(j) * 60, hourOfWeek: 20, nodes: 1) }
            }
            a.observeArrival(time: base + 30 * 3600, hourOfWeek: 30, nodes: 1)
        }
        return a
    }
    // Far from the last arrival, the recent rate has decayed: what is left is the hour of week's pattern.
    let kept = model(zeroHours: false).rate(hourOfWeek: 20, minutesAhead: 100_000)
    let lowered = model(zeroHours: true).rate(hourOfWeek: 20, minutesAhead: 100_000)
    #expect(kept > 0.09, "\(kept)")  // 10 nodes in the hour, learnt once: 10/60 × 0.6
    #expect(lowered < 0.3 * kept, "\(lowered) vs \(kept)")
}

/// The session model finds its expired entries in a queue ordered by their times instead of scanning every user's
/// at each event: on random streams of ends and submissions (gaps of seconds to hours, a few users, times from 0) it
/// holds exactly what a model that scans at every event holds, and forecasts the same.
@Test func sessionModelExpiresTheSameFromItsQueueAsByScanning() {
    var g = SplitMix64(seed: 5)
    for stream in 0 ..< 30 {
        var bounded = SessionModel()
        var scanning = SessionModel()
        scanning.scanAtEveryEvent()
        var t: Int64 = stream % 3 == 0 ? 0 : 1_700_000_000
        for step in 0 ..< 400 {
            t += [1, 30, 200, 900, 1_700, 1_900, 4_000][Int(g.next() % 7)]
            let user = Int32(g.next() % 6)
            if g.next() % 2 == 0 {
                let nodes = Double(g.next() % 4) / 2, runtime = Int64(g.next() % 5_000) - 1
                bounded.observeEnd(user: user, nodes: nodes, at: t, runtime: runtime)
                scanning.observeEnd(user: user, nodes: nodes, at: t, runtime: runtime)
            } else {
                let nodes = Double(g.next() % 3)
                #expect(bounded.observeSubmission(user: user, nodes: nodes, at: t)
                    == scanning.observeSubmission(user: user, nodes: nodes, at: t))
            }
            if step % 25 == 0 {
                #expect(bounded == scanning, "stream \(stream), step \(step)")
                #expect(bounded.expectedDemand(now: t, minutes: 60) == scanning.expectedDemand(now: t, minutes: 60))
            }
        }
        #expect(bounded == scanning, "stream \(stream)")
    }
}
