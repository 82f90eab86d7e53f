// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import PrewarmCore
import Testing

private let t0: Int64 = 1_000_000 * 60

@Test func logNormalStillRunningHitsItsQuantilesAndConditionsOnElapsedTime() {
    // Median 3600 s, p90 7200 s: S(3600) = 0.5, S(7200) = 0.1.
    func p(_ elapsed: Double, _ ahead: Double, limit: Double? = nil) -> Double {
        RunningSurvival.stillRunning(elapsed: elapsed, ahead: ahead, median: 3600, p90: 7200, limit: limit)
    }
    #expect(abs(p(0, 3600) - 0.5) < 1e-9)
    #expect(abs(p(0, 7200) - 0.1) < 1e-9)
    #expect(abs(p(3600, 3600) - 0.2) < 1e-9)  // S(7200) / S(3600)
    #expect(p(0, 0) == 1)
    #expect(p(-600, 300) == 1)  // not started yet
    #expect(p(0, 3600, limit: 3600) == 0)  // killed at its limit
    #expect(abs(p(0, 3600, limit: 3601) - 0.5) < 1e-9)
    // Far in the tail (past the asymptotic switch of log erfc): a job that has run for ages is still running
    // half an hour later, and the probability stays in (0, 1] and does not jump across the switch.
    var previous = 0.0
    for e in stride(from: 4e7, through: 4e9, by: 2e8) {
        let q = RunningSurvival.stillRunning(elapsed: e, ahead: 1800, median: 60, p90: 120)
        #expect(q > 0.99 && q <= 1, "elapsed \(e): \(q)")
        #expect(q >= previous - 1e-6)
        previous = q
    }
}

@Test func survivalSumOfRunningJobsOnAHandCheckedCase() {
    let jobs = [
        RunningJobState(nodes: 2, start: t0, medianRuntime: 3600, p90Runtime: 7200, limitEnd: nil),
        RunningJobState(nodes: 3, start: t0 - 3600, medianRuntime: 3600, p90Runtime: 7200, limitEnd: t0 + 86_400),
        RunningJobState(nodes: 5, start: t0 - 60, medianRuntime: 3600, p90Runtime: 7200, limitEnd: t0 + 1800),
        RunningJobState(nodes: 0, start: t0, medianRuntime: 3600, p90Runtime: 7200, limitEnd: nil),
    ]
    // Minute 60: 2 × 0.5 + 3 × 0.2 + 5 × 0 (past its limit) = 1.6; minute 0: every job still running.
    #expect(abs(RunningSurvival.expectedBusy(now: t0, minute: 60, jobs: jobs) - 1.6) < 1e-9)
    let series = RunningSurvival.expectedBusy(now: t0, minutes: 61, jobs: jobs)
    #expect(series.count == 61)
    #expect(series[0] == 10)
    #expect(abs(series[60] - 1.6) < 1e-9)
    func at(_ m: Int) -> Double {
        let a = Double(60 * m)
        var sum = 2 * RunningSurvival.stillRunning(elapsed: 0, ahead: a, median: 3600, p90: 7200)
        sum += 3 * RunningSurvival.stillRunning(elapsed: 3600, ahead: a, median: 3600, p90: 7200)
        if m < 30 { sum += 5 * RunningSurvival.stillRunning(elapsed: 60, ahead: a, median: 3600, p90: 7200) }
        return sum
    }
    // The limited job (60 s run, 1860 s limit) counts until minute 29 and is gone from minute 30 (t0 + 1800).
    #expect(abs(series[29] - at(29)) < 1e-9)
    #expect(abs(series[30] - at(30)) < 1e-9)
    #expect(series[29] - series[30] > 4)
    #expect(zip(series, series.dropFirst()).allSatisfy { $0 >= $1 })
}

@Test func empiricalResidualSurvivalOnFourJobs() {
    var d = RuntimeResidualDistribution()
    d.minimumJobs = 4
    // Fewer jobs than the minimum: the log-normal.
    #expect(abs(d.stillRunning(elapsed: 0, ahead: 3600, median: 3600, p90: 7200, limit: nil) - 0.5) < 1e-9)
    for r: Int64 in [50, 100, 200, 400] { d.observe(runtime: r, median: 100) }
    d.observe(runtime: 0, median: 100)  // ignored
    #expect(d.total == 4)
    // Residuals log(r / 100) = −0.69, 0, 0.69, 1.39.
    #expect(d.survival(logRatio: -1) == 1)
    #expect(d.survival(logRatio: 0.3) == 0.5)
    #expect(d.survival(logRatio: 2) == 0)
    // Run 150 s (log 1.5 = 0.41: two residuals above), 100 s more (log 2.5 = 0.92: one above): 1/4 ÷ 2/4.
    #expect(d.stillRunning(elapsed: 150, ahead: 100, median: 100, p90: 200, limit: nil) == 0.5)
    #expect(d.stillRunning(elapsed: 150, ahead: 100, median: 100, p90: 200, limit: 250) == 0)
    #expect(d.stillRunning(elapsed: 1000, ahead: 60, median: 100, p90: 200, limit: nil) == 1)  // beyond all
    #expect(d.stillRunning(elapsed: -60, ahead: 30, median: 100, p90: 200, limit: nil) == 1)
    let jobs = [
        RunningJobState(nodes: 4, start: t0 - 150, medianRuntime: 100, p90Runtime: 200, limitEnd: nil),
        RunningJobState(nodes: 2, start: t0 - 150, medianRuntime: 100, p90Runtime: 200, limitEnd: t0 + 30),
    ]
    // Minute 0: both; in 100 s the first runs with probability 0.5 … at minute 2 (270 s: log 2.7 > 0.75, one
    // residual above): 4 × (1/4) / (2/4) = 2; the second is past its limit.
    #expect(d.expectedBusy(now: t0, minute: 0, jobs: jobs) == 6)
    #expect(d.expectedBusy(now: t0, minute: 2, jobs: jobs) == 2)
}

@Test func knownDemandStopsAtABlockedHeadUnlessAskedToBackfillNow() {
    // 10 nodes, 8 busy for two hours; the head (5 nodes) cannot start within the hour; a 2-node job behind it
    // fits now for its 10 minutes.
    let running = [RunningDemand(nodes: 8, predictedEnd: t0 + 7200, lateEnd: t0 + 7200)]
    let pending = [
        PendingDemand(nodes: 5, predictedRuntime: 600, lateRuntime: 600),
        PendingDemand(nodes: 2, predictedRuntime: 600, lateRuntime: 600),
    ]
    let planned = DemandForecaster.knownDemand(
        now: t0, minutes: 60, running: running, pending: pending, totalNodes: 10, late: false)
    #expect(planned == [Int](repeating: 8, count: 60))
    let backfilled = DemandForecaster.knownDemand(
        now: t0, minutes: 60, running: running, pending: pending, totalNodes: 10, late: false,
        backfillNow: true)
    #expect(backfilled == [Int](repeating: 10, count: 10) + [Int](repeating: 8, count: 50))
    // The planning forecast is the default projection (no arrivals here).
    let f = DemandForecaster.forecast(
        now: t0, minutes: 60, running: running, pending: pending, arrivals: ArrivalModel(), hourOfWeekAt: { _ in 0 },
        totalNodes: 10)
    #expect(f.expected == planned.map(Float.init))
}
