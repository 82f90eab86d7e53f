// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import Foundation
import PrewarmCore
import SlurmKit
import Testing

@testable import PrewarmCLI

// The arithmetic of the issue #5 benchmarks (`prewarm forecast-error`, `prewarm cycle-bench`).

@Test func stepSeriesIsZeroBeforeItsFirstChangeAndHoldsEachValue() {
    let s = StepSeries(times: [100, 200, 300], values: [2, 5, 1])
    #expect(s.value(at: 99) == 0)
    #expect(s.value(at: 100) == 2)
    #expect(s.value(at: 199) == 2)
    #expect(s.value(at: 200) == 5)
    #expect(s.value(at: 10_000) == 1)
    #expect(StepSeries(times: [], values: []).value(at: 5) == 0)
}

@Test func forecastScoringOnAHandMadeSeries() {
    // Busy nodes: 10 during the first week, then 4 from t = week on, 8 from t = week + 3600 on.
    let week = ForecastScoring.week
    let busy = StepSeries(times: [0, week, week + 3600], values: [10, 4, 8])
    let h: Int64 = 1800
    // Forecasts made at week + 1800 (target week + 3600: actual 8, naive 4, seasonal busy(3600) = 10) and at
    // week + 3600 (target week + 5400: actual 8, naive 8, seasonal 10); one too early for a seasonal reference
    // (target - week < 0) and one past the end are left out.
    let samples: [(time: Int64, forecast: Double)] = [
        (-1800 - 1, 0), (week + 1800, 7), (week + 3600, 9.5), (week + 7200, 100),
    ]
    let s = ForecastScoring.score(samples: samples, busy: busy, horizon: h, season: week, from: 0, until: week + 6000)
    #expect(s.count == 2)
    #expect(abs(s.prewarm - (1 + 1.5) / 2) < 1e-12)
    #expect(abs(s.naive - (4 + 0) / 2) < 1e-12)
    #expect(abs(s.seasonal - (2 + 2) / 2) < 1e-12)
    #expect(abs(s.prewarmBias - (-1 + 1.5) / 2) < 1e-12)
    #expect(abs(s.meanActual - 8) < 1e-12)
}

@Test func forecastScoringWithNothingToScoreIsZero() {
    let s = ForecastScoring.score(
        samples: [(0, 3)], busy: StepSeries(times: [0], values: [1]), horizon: 60, season: ForecastScoring.week,
        from: 0, until: 1_000_000)
    #expect(s == ForecastScoring.Scores())
}

@Test func medianOfOddAndEvenCounts() {
    #expect(BenchSupport.median([3, 1, 2]) == 2)
    #expect(BenchSupport.median([4, 1, 3, 2]) == 2.5)
    #expect(BenchSupport.median([]) == 0)
}

@Test func peakMemoryIsReadAndAtLeastTheCurrent() {
    let current = BenchSupport.currentRSSMegabytes()
    #expect(current > 0)
    BenchSupport.resetPeakRSS()
    #expect(BenchSupport.peakRSSMegabytes() >= current * 0.5)
}

@Test func syntheticSlurmStateHasTheRequestedShape() {
    let s = SyntheticSlurmState.make(nodes: 200, pending: 2_000, running: 100, finished: 50, seed: 1)
    #expect(s.nodes.count == 200)
    #expect(Set(s.nodes.map(\.name)).count == 200)
    #expect(s.partitions.map(\.name) == ["batch", "gpu", "cloud", "debug"])
    let c = s.counts
    #expect(c.pending == 2_000 && c.running == 100 && c.finished == 50)
    #expect(c.held > 0 && c.held < 200)
    #expect(c.dependent > 0)
    #expect(c.annotated > 1_500 && c.annotated < 2_000)
    #expect(s.nodes.contains { $0.flags.contains(.poweredDown) })
    #expect(s.nodes.contains { $0.flags.contains(.cloud) })
    #expect(s.nodes.contains { $0.base == .allocated })
    // Running jobs name their nodes, as Slurm does: as many as they hold, nodes of their partition.
    let names = Set(s.nodes.map(\.name))
    for j in s.jobs where j.state == .running {
        let held = (try? Hostlist.expand(j.nodes)) ?? []
        #expect(held.count == j.nodeCount && held.allSatisfy { names.contains($0) && $0.hasPrefix(j.partition) }, "\(j.nodes)")
    }
    // ... and jobs after each other hold nodes after each other, not all the same first ones.
    let running = s.jobs.filter { $0.state == .running }
    let distinct = Set(running.flatMap { (try? Hostlist.expand($0.nodes)) ?? [] }).count
    let held = running.reduce(0) { $0 + $1.nodeCount }
    #expect(distinct * 4 >= 3 * min(held, s.nodes.count), "\(distinct) distinct nodes of \(held) held")  // 187 of 302
    let inBatch = s.nodes.filter { $0.partitions.contains("batch") }.count
    #expect(inBatch > s.nodes.filter { $0.partitions == ["batch"] }.count)  // debug's nodes are in batch too
    // The cycle runs on it and the learner trusts the partitions it has seen enough of.
    var tracker = LiveDemandTracker()
    let t = CycleBench.cycle(s, jobs: s.jobs, tracker: &tracker)
    #expect(t.trustedPartitions >= 3)
    #expect(t.total > 0)
    // Fresh submissions are new jobs, distinct per batch.
    let a = s.freshSubmissions(count: 10, batch: 0, seed: 1)
    let b = s.freshSubmissions(count: 10, batch: 1, seed: 1)
    #expect(Set(a.map(\.id)).isDisjoint(with: b.map(\.id)))
    #expect(Set(a.map(\.id)).isDisjoint(with: s.jobs.map(\.id)))
}

@Test func forecastErrorCommandScoresTheFixture() throws {
    let r = try prewarm(["forecast-error", "--trace", fixture, "--every", "10", "--json"])
    #expect(r.status == 0, "stderr: \(r.stderr)")
    let obj = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
    let scored = try #require(obj["forecasts_scored"] as? Int)
    #expect(scored > 100)
    for key in ["mae_prewarm", "mae_naive", "mae_seasonal"] {
        let v = try #require(obj[key] as? Double ?? (obj[key] as? Int).map(Double.init), "missing \(key)")
        #expect(v > 0 && v < 100, "\(key) = \(v)")
    }
    // The decomposition scores the same forecasts: its (c) is the planning forecast, its naive the naive one.
    let d = try #require(obj["decomposition"] as? [String: Any])
    #expect(d["scored"] as? Int == scored)
    let planning = try #require((d["c_planning"] as? [String: Any])?["mae"] as? Double)
    let naive = try #require((d["naive"] as? [String: Any])?["mae"] as? Double)
    #expect(abs(planning - (try #require(obj["mae_prewarm"] as? Double))) < 1e-9)
    #expect(abs(naive - (try #require(obj["mae_naive"] as? Double))) < 1e-9)
    for key in ["a_running", "b_running_queue", "d_running_queue_expectation", "e_survival_running",
                "f_survival_queue_expectation", "g_empirical_running", "h_empirical_queue_expectation",
                "i_running_backfill", "j_running_backfill_expectation"] {
        let mae = try #require((d[key] as? [String: Any])?["mae"] as? Double, "missing \(key)")
        #expect(mae >= 0 && mae < 100, "\(key) = \(mae)")
    }
}

@Test func forecastDecompositionOnAHandMadeSeries() {
    // The busy series of forecastScoringOnAHandMadeSeries: both scored targets have 8 busy nodes; naive 4 and 8.
    let week = ForecastScoring.week
    let busy = StepSeries(times: [0, week, week + 3600], values: [10, 4, 8])
    let samples: [(time: Int64, forecast: Double)] = [(week + 1800, 7), (week + 3600, 9.5), (week + 7200, 100)]
    let parts = [
        ForecastParts(runningNow: 4, running: 3, known: 5, expectation: 9, survival: 3.5, empirical: 4, backfill: 6),
        ForecastParts(runningNow: 8, running: 6, known: 7, expectation: 8, survival: 7, empirical: 8, backfill: 7),
        ForecastParts(runningNow: 0, running: 0, known: 0, expectation: 0, survival: 0, empirical: 0, backfill: 0),
    ]
    let d = ForecastScoring.decompose(
        samples: samples, parts: parts, carried: [3, 6, 0], queued: [1, 1, 0], busy: busy, horizon: 1800,
        season: week, from: 0, until: week + 6000, totalNodes: 10)
    #expect(d.count == 2)
    #expect(d.naive == .init(mae: 2, bias: -2))
    #expect(d.running == .init(mae: 3.5, bias: -3.5))
    #expect(d.known == .init(mae: 2, bias: -2))
    #expect(d.planning == .init(mae: 1.25, bias: 0.25))
    #expect(d.expectation == .init(mae: 0.5, bias: 0.5))
    // (f): 3.5 + 9 − 3 = 9.5 and 7 + 8 − 6 = 9; (h): 4 + 9 − 3 = 10 and 8 + 8 − 6 = 10.
    #expect(d.survivalExpectation == .init(mae: 1.25, bias: 1.25))
    #expect(d.empiricalExpectation == .init(mae: 2, bias: 2))
    #expect(parts[0].survivalExpectation(totalNodes: 9) == 9)
    // (i): 6 and 7; (j): 6 + 9 − 5 = 10 and 7 + 8 − 7 = 8.
    #expect(d.backfill == .init(mae: 1.5, bias: -1.5))
    #expect(d.backfillExpectation == .init(mae: 1, bias: 1))
    #expect(d.queuedBackfill == .init(mae: 1, bias: 1))  // 6 − 3 = 3 and 7 − 6 = 1 against 1 and 1
    // Terms: carried 3 and 6 (persistence 4 and 8, point ends exact); queued 1 and 1 (projection 2 and 1);
    // arrived 8 − 3 − 1 = 4 and 8 − 6 − 1 = 1 (planning 7 − 5 = 2 and 9.5 − 7 = 2.5).
    #expect(d.carriedMean == 4.5 && d.queuedMean == 1 && d.arrivedMean == 2.5)
    #expect(d.carriedPersistence == .init(mae: 1.5, bias: 1.5))
    #expect(d.carriedPoint == .init(mae: 0, bias: 0))
    #expect(d.carriedSurvival == .init(mae: 0.75, bias: 0.75))
    #expect(d.queuedProjection == .init(mae: 0.5, bias: 0.5))
    #expect(d.arrivedPlanning == .init(mae: 1.75, bias: -0.25))
}

@Test func heldCountsJobsHoldingNodesAtATime() {
    let outcomes = [
        JobOutcome(submit: 0, nodes: 2, placed: 10, start: 10, end: 100, killedAtLimit: false),
        JobOutcome(submit: 0, nodes: 3, placed: 50, start: 50, end: 60, killedAtLimit: false),
        JobOutcome(submit: 0, nodes: 5, placed: -1, start: -1, end: -1, killedAtLimit: false, skipped: .tooLarge),
    ]
    #expect(ForecastScoring.held(at: 55, jobs: [0, 1, 2], outcomes: outcomes) == 5)
    #expect(ForecastScoring.held(at: 60, jobs: [0, 1, 2], outcomes: outcomes) == 2)  // ends at 60: gone
    #expect(ForecastScoring.held(at: 100, jobs: [0, 1], outcomes: outcomes) == 0)
    #expect(ForecastScoring.held(at: 10, jobs: [1], outcomes: outcomes) == 0)  // not started
}
