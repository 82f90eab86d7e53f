// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import PrewarmCore
@testable import SlurmKit
import Testing

private func job(_ id: UInt32, _ state: JobState, submit: Int64, start: Int64 = 0, end: Int64 = 0) -> SlurmJob {
    SlurmJob(
        id: id, arrayJobID: 0, arrayTaskID: 0, userID: 1000, account: "a", name: "j", partition: "batch,gpu",
        state: state, reasonCode: 0, submitTime: submit, eligibleTime: submit, startTime: start, endTime: end,
        timeLimitMinutes: 10, cpus: 4, nodeCount: 2, nodes: "", adminComment: "", dependency: "")
}

@Test func trackerLearnsEachSubmissionAndEndOnce() {
    var t = LiveDemandTracker()
    // Seeded from the history: job 1 (finished before the daemon started).
    t.seed([DemandLearner.PastJob(partition: "batch", user: 1000, nodes: 2, submit: 100, start: 110, end: 400,
                                  utcOffset: 0)])
    #expect(t.learner.submissions == 1 && t.learner.ends == 1)
    // The first cycle still shows job 1 (finished, already in the history), job 2 running, job 3 pending.
    let cycle1 = [job(1, .completed, submit: 100, start: 110, end: 400), job(2, .running, submit: 500, start: 510),
                  job(3, .pending, submit: 520)]
    t.observe(jobs: cycle1)
    #expect(t.learner.submissions == 3 && t.learner.ends == 1)
    t.observe(jobs: cycle1)  // the same list again: nothing new
    #expect(t.learner.submissions == 3 && t.learner.ends == 1)
    // Job 2 ends, job 3 starts, job 1 is gone from Slurm's list.
    let cycle2 = [job(2, .completed, submit: 500, start: 510, end: 900), job(3, .running, submit: 520, start: 905)]
    t.observe(jobs: cycle2)
    t.observe(jobs: cycle2)
    #expect(t.learner.submissions == 3 && t.learner.ends == 2)
    // Job 1 is forgotten: the tracker remembers only the jobs Slurm still shows.
    #expect(t.remembered == (2, 1))
    // A job id Slurm reuses later (new submit time) is a new job; a job in "batch,gpu" counts in batch.
    t.observe(jobs: [job(2, .pending, submit: 5000)])
    #expect(t.learner.submissions == 4)
    #expect(t.remembered == (1, 0))
    #expect(t.learner.partitions.keys.sorted() == ["batch"])
    #expect(t.learner.partitions["batch"]?.submissions == 4)
}

@Test func aSeededWeeklyBurstIsForecastWithNothingQueued() {
    // Four past weeks in which, around this time of the week, a 4-node job came every 4 minutes for two hours
    // (from many users: a user's own resubmissions are the session model's, learned live).
    let now: Int64 = 1_796_000_000
    var past: [DemandLearner.PastJob] = []
    for week in 1 ... 4 {
        let base = now - Int64(week) * 7 * 86_400 - 1800
        for k in 0 ..< 30 {
            let t = base + Int64(k) * 240
            past.append(DemandLearner.PastJob(
                partition: "debug", user: Int32(1000 + week * 100 + k), nodes: 4, submit: t, start: t + 5, end: t + 305,
                utcOffset: 0))
        }
    }
    var tracker = LiveDemandTracker()
    tracker.seed(past)
    let nodes = (1 ... 6).map { i in
        SlurmNode(name: i <= 2 ? "node\(i)" : "cloud\(i - 2)", base: .idle,
                  flags: i <= 2 ? [] : [.cloud, .poweredDown], partitions: ["debug"])
    }
    let partitions = [SlurmPartition(name: "debug", nodes: "node[1-2],cloud[1-4]")]
    let hourOfWeekAt: (Int) -> Int = { m in DemandLearner.hourOfWeek(now + Int64(m) * 60, utcOffset: 0) }
    let learned = LiveForecast.forecast(
        nodes: nodes, partitions: partitions, jobs: [], now: now, hourOfWeekAt: hourOfWeekAt,
        learned: tracker.learner.trusted())[0].forecast
    // A 4-node job's worth of nodes is expected, though nothing is queued...
    #expect(learned.expected[0] >= 4 && learned.expected[5] >= 4)
    // ...which the policy, allowed to boot for expected arrivals (ArrivalBootShare=1), turns into powering up two
    // CLOUD nodes beside the two that are up; at 0 (the default) arrivals only keep powered nodes up.
    var c = AdjustmentConfiguration()
    c.bootLeadTime = 60
    #expect(c.arrivalBootShare == 0)
    c.arrivalBootShare = 1
    let plan = LiveAdjustment.plan(
        nodes: nodes, partitions: partitions, jobs: [], now: now, configuration: c, excluded: [], inFlight: [],
        budget: 10, learned: tracker.learner.trusted(), hourOfWeekAt: hourOfWeekAt)
    #expect(plan.filter { $0.request == .up }.count == 2)
    c.arrivalBootShare = 0
    let lean = LiveAdjustment.plan(
        nodes: nodes, partitions: partitions, jobs: [], now: now, configuration: c, excluded: [], inFlight: [],
        budget: 10, learned: tracker.learner.trusted(), hourOfWeekAt: hourOfWeekAt)
    #expect(lean.filter { $0.request == .up }.isEmpty)
    #expect(lean.filter { $0.request != .up }.isEmpty)
    // Without the learned arrivals (or twelve hours later, outside the burst hours) nothing is expected.
    let plain = LiveForecast.forecast(nodes: nodes, partitions: partitions, jobs: [], now: now)[0].forecast
    #expect(plain.expected.allSatisfy { $0 == 0 })
    let later: (Int) -> Int = { m in DemandLearner.hourOfWeek(now + 43_200 + Int64(m) * 60, utcOffset: 0) }
    let quiet = LiveForecast.forecast(
        nodes: nodes, partitions: partitions, jobs: [], now: now + 43_200, hourOfWeekAt: later,
        learned: tracker.learner.trusted())[0].forecast
    #expect(quiet.expected[0] < 4)
}
