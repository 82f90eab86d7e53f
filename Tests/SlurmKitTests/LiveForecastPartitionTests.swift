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

/// Jobs that share a node (Slurm's cons_tres gives jobs cores) keep one node busy, until the last of them is predicted
/// to end; a multi-node job keeps each of its nodes; a running job without a usable node list counts its node count.
@Test func runningJobsThatShareANodeKeepOneNodeBusy() {
    let now: Int64 = 5_000_000
    let nodes = (1 ... 6).map { SlurmNode(name: "n\($0)", base: $0 <= 4 ? .mixed : .idle, flags: [], partitions: ["p"]) }
    func running(_ id: UInt32, on hosts: String, count: Int = 1, minutes: Int64) -> SlurmJob {
        SlurmJob(
            id: id, arrayJobID: 0, arrayTaskID: 0, userID: 1, account: "x", name: "j", partition: "p",
            state: .running, reasonCode: 0, submitTime: now - 100, eligibleTime: 0, startTime: now, endTime: 0,
            timeLimitMinutes: 120, cpus: 1, nodeCount: count, nodes: hosts,
            adminComment: "prewarm:v1 rt=\(minutes * 60) rt50=\(minutes * 60) rt90=\(minutes * 60) model=ab",
            dependency: "")
    }
    let jobs = [
        running(1, on: "n1", minutes: 10), running(2, on: "n1", minutes: 50), running(3, on: "n1", minutes: 20),
        running(4, on: "n1", minutes: 30), running(5, on: "n1", minutes: 40), running(6, on: "n2", minutes: 5),
        running(7, on: "n[3-4]", count: 2, minutes: 15),
        running(8, on: "", minutes: 25),  // no node list: its node count
        running(9, on: "n[5-6]", count: 3, minutes: 35),  // the list and the count disagree: its count, 3
    ]
    let f = LiveForecast.forecast(nodes: nodes, partitions: [SlurmPartition(name: "p", nodes: "n[1-6]")], jobs: jobs, now: now)
    #expect(f.count == 1 && f[0].runningJobs == 9)
    let e = f[0].forecast.expected
    // Minute 0: n1, n2, n3, n4, and 1 + 3 nodes of the jobs counted by their node counts (capped at the 6 nodes).
    #expect(e[0] == 6)
    #expect(e[6] == 6)  // n2 free (5 min): 3 + 1 + 3 = 7, capped
    #expect(e[16] == 5)  // n3, n4 free (15 min): n1, job 8, job 9
    #expect(e[26] == 4)  // job 8 ended (25 min): n1 and job 9
    #expect(e[36] == 1)  // job 9 ended (35 min): n1, held by its last job until minute 50
    #expect(e[51] == 0)
}

/// A queued job's node count is the least it asked for (`-n 6` gives 1): it needs as many nodes as its CPUs fill.
@Test func queuedJobsNeedTheNodesTheirCPUsFill() {
    let now: Int64 = 6_000_000
    let nodes = (1 ... 6).map { SlurmNode(name: "n\($0)", base: .idle, flags: [], cpus: 4, partitions: ["p"]) }
    func queued(_ id: UInt32, cpus: Int, nodes: Int) -> SlurmJob {
        SlurmJob(
            id: id, arrayJobID: 0, arrayTaskID: 0, userID: 1, account: "x", name: "j", partition: "p",
            state: .pending, reasonCode: 0, submitTime: now, eligibleTime: now + 600, startTime: 0, endTime: 0,
            timeLimitMinutes: 20, cpus: cpus, nodeCount: nodes, nodes: "", adminComment: "", dependency: "")
    }
    let parts = [SlurmPartition(name: "p", nodes: "n[1-6]")]
    for allocatesCores in [false, true] {
        for (job, needed) in [(queued(1, cpus: 6, nodes: 1), 2), (queued(2, cpus: 9, nodes: 1), 3),
                              (queued(3, cpus: 4, nodes: 1), 1), (queued(4, cpus: 2, nodes: 3), 3)] {
            let f = LiveForecast.forecast(
                nodes: nodes, partitions: parts, jobs: [job], now: now,
                sharing: NodeSharing(nodes: nodes, partitions: parts, allocatesCores: allocatesCores))
            #expect(f[0].forecast.expected[12] == Float(needed), "\(job.cpus) CPUs, \(job.nodeCount) nodes")
        }
    }
}
