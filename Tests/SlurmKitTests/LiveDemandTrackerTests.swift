// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import PrewarmCore
import SlurmKit
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
    // A job id Slurm reuses later (new submit time) is a new job; a job in "batch,gpu" counts in batch.
    t.observe(jobs: [job(2, .pending, submit: 5000)])
    #expect(t.learner.submissions == 4)
    #expect(t.learner.partitions.keys.sorted() == ["batch"])
    #expect(t.learner.partitions["batch"]?.submissions == 4)
}
