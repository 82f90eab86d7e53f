// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import PrewarmCore
import SlurmKit
import Testing

private func node(_ name: String, cpus: Int, _ partitions: [String], off: Bool = false) -> SlurmNode {
    SlurmNode(name: name, base: .idle, flags: off ? [.cloud, .poweredDown] : [], cpus: cpus, partitions: partitions)
}

private func finished(
    _ id: Int, partition: String = "p", cpus: Int, nodes: Int = 1, submit: Int64, runtime: Int64 = 600,
    exclusive: Bool = false
) -> SlurmJob {
    var j = SlurmJob(
        id: UInt32(id), arrayJobID: 0, arrayTaskID: 0, userID: UInt32(2000 + id), account: "a", name: "j",
        partition: partition, state: .completed, reasonCode: 0, submitTime: submit, eligibleTime: submit,
        startTime: submit + 5, endTime: submit + 5 + runtime, timeLimitMinutes: 60, cpus: cpus, nodeCount: nodes,
        nodes: "", adminComment: "", dependency: "")
    j.exclusive = exclusive
    return j
}

@Test func nodeSharingGivesSmallJobsAShareOfANodeWhereTheControllerAllocatesCores() {
    let nodes = [node("a1", cpus: 64, ["p", "q"]), node("a2", cpus: 32, ["p"]), node("b1", cpus: 8, ["q", "x"])]
    let parts = [SlurmPartition(name: "p", nodes: "a[1-2]"), SlurmPartition(name: "q", nodes: "a1,b1"),
                 SlurmPartition(name: "x", nodes: "b1", exclusive: true)]
    let shared = NodeSharing(nodes: nodes, partitions: parts, allocatesCores: true)
    #expect(shared.coresPerNode == ["p": 64, "q": 64, "x": 8])
    #expect(shared.exclusivePartitions == ["x"])
    #expect(shared.sharesNodes("p") && !shared.sharesNodes("x"))
    // The partition's largest node: 16 of 64 CPUs.
    #expect(shared.nodes(partition: "p", nodeCount: 1, cpus: 16, exclusive: false) == 0.25)
    #expect(shared.nodes(partition: "p", nodeCount: 0, cpus: 1, exclusive: false) == 1.0 / 64)
    // A whole node or more, --exclusive, more than one node, an exclusive partition: whole nodes.
    #expect(shared.nodes(partition: "p", nodeCount: 1, cpus: 64, exclusive: false) == 1)
    #expect(shared.nodes(partition: "p", nodeCount: 1, cpus: 65, exclusive: false) == 2)
    #expect(shared.nodes(partition: "p", nodeCount: 1, cpus: 2, exclusive: true) == 1)
    #expect(shared.nodes(partition: "p", nodeCount: 3, cpus: 3, exclusive: false) == 3)
    #expect(shared.nodes(partition: "x", nodeCount: 1, cpus: 2, exclusive: false) == 1)
    #expect(shared.nodes(partition: "x", nodeCount: 1, cpus: 20, exclusive: false) == 3)
    // Unknown CPUs or an unknown partition: the node count, at least one.
    #expect(shared.nodes(partition: "p", nodeCount: 2, cpus: 0, exclusive: false) == 2)
    #expect(shared.nodes(partition: "nope", nodeCount: 0, cpus: 4, exclusive: false) == 1)
    // Whole nodes (select/linear): never a share, at least the nodes the CPUs fill.
    let whole = NodeSharing(nodes: nodes, partitions: parts, allocatesCores: false)
    #expect(whole.nodes(partition: "p", nodeCount: 1, cpus: 16, exclusive: false) == 1)
    #expect(whole.nodes(partition: "q", nodeCount: 1, cpus: 130, exclusive: false) == 3)
    // A job Slurm shows: its first partition.
    #expect(shared.nodes(of: finished(1, partition: "x,p", cpus: 2, submit: 0)) == 1)
    #expect(shared.nodes(of: finished(1, partition: "p,x", cpus: 2, submit: 0)) == 2.0 / 64)
    // The default: whole nodes of unknown size, the node count.
    #expect(NodeSharing().nodes(of: finished(1, cpus: 200, nodes: 2, submit: 0)) == 2)
}

/// Four past weeks in which, around this time of the week, four one-CPU jobs came every minute for two hours, each
/// running ten minutes (about forty at a time). Learned where the controller gives jobs cores, on nodes of 64 CPUs,
/// they are a node's worth of demand; learned as whole nodes (the old count, and select/linear), a node per job.
@Test func arrivalsOfSmallJobsLearnedOnSharedNodesForecastTheNodesTheyFill() {
    let now: Int64 = 1_796_000_000
    var jobs: [SlurmJob] = []
    for week in 1 ... 4 {
        let base = now - Int64(week) * 7 * 86_400 - 3600
        for k in 0 ..< 480 {
            jobs.append(finished(week * 1000 + k, cpus: 1, submit: base + Int64(k / 4) * 60 + Int64(k % 4)))
        }
    }
    let nodes = (1 ... 48).map { i in node("n\(i)", cpus: 64, ["p"], off: i > 2) }
    let partitions = [SlurmPartition(name: "p", nodes: "n[1-48]")]
    let hourOfWeekAt: (Int) -> Int = { m in DemandLearner.hourOfWeek(now + Int64(m) * 60, utcOffset: 0) }
    func expected(allocatesCores: Bool, exclusive: Bool = false) -> (rate: Double, minute5: Float) {
        var tracker = LiveDemandTracker()
        var seen = jobs
        for i in seen.indices { seen[i].exclusive = exclusive }
        let sharing = NodeSharing(nodes: nodes, partitions: partitions, allocatesCores: allocatesCores)
        // UTC, as hourOfWeekAt reads it (another test changes the process's TZ while it runs).
        tracker.observe(jobs: seen, sharing: sharing, utcOffset: { _ in 0 })
        let f = LiveForecast.forecast(
            nodes: nodes, partitions: partitions, jobs: [], now: now, hourOfWeekAt: hourOfWeekAt,
            learned: tracker.learner.trusted(), sharing: sharing)[0].forecast
        return (tracker.learner.partitions["p"]?.arrivals.weeklyRate[hourOfWeekAt(0)] ?? -1, f.expected[5])
    }
    let shared = expected(allocatesCores: true)
    let whole = expected(allocatesCores: false)
    let exclusive = expected(allocatesCores: true, exclusive: true)
    // Four jobs a minute: 4 nodes a minute counted whole, 4/64 of a node as shares.
    #expect(abs(whole.rate - 4) < 0.5)
    #expect(abs(shared.rate * 64 - whole.rate) < 1e-9 * whole.rate)
    #expect(exclusive.rate == whole.rate)
    #expect(whole.minute5 >= 10)
    #expect(exclusive.minute5 == whole.minute5)
    #expect(shared.minute5 > 0 && shared.minute5 <= 1.5, "\(shared.minute5) against \(whole.minute5)")
}
