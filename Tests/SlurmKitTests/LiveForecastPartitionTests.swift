// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import PrewarmCore
import SlurmKit
import Testing

/// Jobs are grouped by partition once per forecast (the first of a pending job's list): the counts must be what
/// filtering each partition's jobs gives.
@Test func jobsCountInTheFirstPartitionOfTheirList() {
    let nodes = ["a1", "a2", "b1", "b2"].map {
        SlurmNode(name: $0, base: .idle, flags: [], partitions: [$0.hasPrefix("a") ? "a" : "b"])
    }
    func job(_ id: UInt32, _ partition: String, _ state: JobState = .pending) -> SlurmJob {
        SlurmJob(
            id: id, arrayJobID: 0, arrayTaskID: 0, userID: 1, account: "x", name: "j", partition: partition,
            state: state, reasonCode: 0, submitTime: 0, eligibleTime: 0, startTime: state == .running ? 900 : 0,
            endTime: 0, timeLimitMinutes: 10, cpus: 1, nodeCount: 1, nodes: "",
            adminComment: id % 2 == 0 ? "prewarm:v1 rt=120 rt50=120 rt90=300 model=ab" : "", dependency: "")
    }
    let jobs = [
        job(1, "a"), job(2, "a,b"), job(3, "b,a"), job(4, ",b"), job(5, "b", .running), job(6, ""), job(7, "c,a"),
        job(8, "b,,a"),
    ]
    let parts = [SlurmPartition(name: "a", nodes: "a[1-2]"), SlurmPartition(name: "b", nodes: "b[1-2]")]
    let f = LiveForecast.forecast(nodes: nodes, partitions: parts, jobs: jobs, now: 1000)
    #expect(f.map(\.partition) == ["a", "b"])
    #expect(f[0].pendingJobs == 2 && f[0].runningJobs == 0 && f[0].annotatedJobs == 1)  // 1, 2
    #expect(f[1].pendingJobs == 3 && f[1].runningJobs == 1 && f[1].annotatedJobs == 2)  // 3, 4, 8; 5
    #expect(f[0].forecast.expected[0] == 2 && f[1].forecast.expected[0] == 2)
}
