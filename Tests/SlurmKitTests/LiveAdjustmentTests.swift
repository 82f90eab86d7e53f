// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import PrewarmCore
import SlurmKit
import Testing

private let now: Int64 = 2_000_000

private func cluster() -> [SlurmNode] {
    var nodes = [
        SlurmNode(name: "node1", base: .idle, flags: [], partitions: ["debug"], lastBusy: now - 7200),
        SlurmNode(name: "node2", base: .allocated, flags: [], partitions: ["debug"]),
    ]
    for i in 1 ... 4 {
        nodes.append(SlurmNode(name: "cloud\(i)", base: .idle, flags: [.cloud, .poweredDown], partitions: ["debug"]))
    }
    return nodes
}

private func pendingJob(nodes: Int) -> SlurmJob {
    SlurmJob(
        id: 9, arrayJobID: 0, arrayTaskID: 0, userID: 1, account: "", name: "j", partition: "debug", state: .pending,
        reasonCode: 0, submitTime: now, eligibleTime: now, startTime: 0, endTime: 0, timeLimitMinutes: 30, cpus: 2,
        nodeCount: nodes, nodes: "", adminComment: "", dependency: "")
}

@Test func liveNodeStatesMapToThePolicysView() {
    #expect(LiveAdjustment.power(of: SlurmNode(name: "a", base: .idle, flags: [.poweredDown]), now: now) == .off)
    #expect(LiveAdjustment.power(of: SlurmNode(name: "a", base: .idle, flags: [.poweredDown, .powerUpRequested]), now: now) == .booting)
    #expect(LiveAdjustment.power(of: SlurmNode(name: "a", base: .idle, flags: [.poweringUp]), now: now) == .booting)
    #expect(LiveAdjustment.power(of: SlurmNode(name: "a", base: .idle, flags: [.poweringDown]), now: now) == .poweringDown)
    #expect(LiveAdjustment.power(of: SlurmNode(name: "a", base: .mixed, flags: []), now: now) == .busy)
    #expect(LiveAdjustment.power(of: SlurmNode(name: "a", base: .idle, flags: [.drain]), now: now) == .unavailable)
    #expect(LiveAdjustment.power(of: SlurmNode(name: "a", base: .down, flags: []), now: now) == .unavailable)
    #expect(LiveAdjustment.power(of: SlurmNode(name: "a", base: .idle, flags: [.notResponding]), now: now) == .unavailable)
    #expect(LiveAdjustment.power(of: SlurmNode(name: "a", base: .idle, flags: [], lastBusy: now - 50), now: now)
        == .idle(since: now - 50))
}

@Test func livePlanPowersUpTheShortfallRespectingExclusionsInFlightAndBudget() {
    let part = [SlurmPartition(name: "debug", nodes: "node[1-2],cloud[1-4]")]
    var c = AdjustmentConfiguration()
    c.bootLeadTime = 300
    c.minIdleBeforePowerDown = 3600
    // A 4-node job waits; node1 (idle) and node2 (busy) are up: two more are needed, taken in name order.
    let plan = LiveAdjustment.plan(
        nodes: cluster(), partitions: part, jobs: [pendingJob(nodes: 4)], now: now, configuration: c, excluded: [],
        inFlight: [], budget: 10)
    #expect(plan.map(\.node) == ["cloud1", "cloud2"])
    #expect(plan.allSatisfy { $0.request == .up && $0.reason.contains("forecast needs") })
    // An excluded node and a node with a command in flight are skipped; the budget caps the rest.
    let constrained = LiveAdjustment.plan(
        nodes: cluster(), partitions: part, jobs: [pendingJob(nodes: 5)], now: now, configuration: c,
        excluded: ["cloud1"], inFlight: ["cloud2"], budget: 1)
    #expect(constrained.map(\.node) == ["cloud3"])
    // No demand: the idle node (idle two hours) is powered down, never the busy one.
    let quiet = LiveAdjustment.plan(
        nodes: cluster(), partitions: part, jobs: [], now: now, configuration: c, excluded: [], inFlight: [], budget: 10)
    #expect(quiet.map(\.node) == ["node1"])
    #expect(quiet.first?.request == .down)
    // A held job is not demand.
    var held = pendingJob(nodes: 4)
    held.reasonCode = SlurmJob.heldReasons.1
    let none = LiveAdjustment.plan(
        nodes: cluster(), partitions: part, jobs: [held], now: now, configuration: c, excluded: ["node1"],
        inFlight: [], budget: 10)
    #expect(none.isEmpty)
}

/// Under the hourly budget the plan keeps the head of the policy's own order: the lowest Slurm `Weight` is powered
/// up first, whatever the nodes' names (not name order, which powered up a heavier node when the budget cut).
@Test func theHourlyBudgetKeepsThePolicysOrderNotNameOrder() {
    let part = [SlurmPartition(name: "debug", nodes: "node[1-2],cloud[1-4]")]
    var c = AdjustmentConfiguration()
    c.bootLeadTime = 300
    c.minIdleBeforePowerDown = 3600
    var nodes = cluster()
    for i in nodes.indices where nodes[i].name.hasPrefix("cloud") {
        nodes[i].weight = nodes[i].name == "cloud1" || nodes[i].name == "cloud2" ? 50 : 10
    }
    // A 5-node job: node1 and node2 are up, three more are needed: cloud3 and cloud4 (weight 10), then cloud1.
    let all = LiveAdjustment.plan(
        nodes: nodes, partitions: part, jobs: [pendingJob(nodes: 5)], now: now, configuration: c, excluded: [],
        inFlight: [], budget: 10)
    #expect(all.map(\.node) == ["cloud3", "cloud4", "cloud1"])
    let one = LiveAdjustment.plan(
        nodes: nodes, partitions: part, jobs: [pendingJob(nodes: 5)], now: now, configuration: c, excluded: [],
        inFlight: [], budget: 1)
    #expect(one.map(\.node) == ["cloud3"])
}

/// A node `scontrol reboot` is rebooting, or one Slurm does not yet know (base state UNKNOWN, ERROR, FUTURE, or a
/// rejected registration), is left alone like a drained one: slurmctld's own power saving does not suspend them.
@Test func rebootingUnknownAndFutureNodesAreLeftAlone() {
    for (base, flags) in [
        (NodeBaseState.idle, NodeFlags.rebootRequested), (.idle, .rebootIssued), (.unknown, []), (.error, []),
        (.future, []), (.future, .poweredDown), (.idle, .dynamicFuture), (.idle, .invalidRegistration),
    ] as [(NodeBaseState, NodeFlags)] {
        #expect(LiveAdjustment.power(of: SlurmNode(name: "a", base: base, flags: flags, lastBusy: now - 7200), now: now)
            == .unavailable, "\(base) \(flags)")
    }
    // Powered down while Slurm has not heard from it (base UNKNOWN after a restart): still off, may be powered up.
    #expect(LiveAdjustment.power(of: SlurmNode(name: "a", base: .unknown, flags: [.poweredDown]), now: now) == .off)
    // A node rebooting for a job it runs is busy.
    #expect(LiveAdjustment.power(of: SlurmNode(name: "a", base: .allocated, flags: [.rebootIssued]), now: now) == .busy)
    // Nothing queued: the node asked to reboot is not powered down, the plain idle one is.
    let nodes = [
        SlurmNode(name: "node1", base: .idle, flags: [.rebootRequested], partitions: ["debug"], lastBusy: now - 7200),
        SlurmNode(name: "node2", base: .idle, flags: [], partitions: ["debug"], lastBusy: now - 7200),
    ]
    let plan = LiveAdjustment.plan(
        nodes: nodes, partitions: [SlurmPartition(name: "debug", nodes: "node[1-2]")], jobs: [], now: now,
        configuration: AdjustmentConfiguration(), excluded: [], inFlight: [], budget: 10)
    #expect(plan.map(\.node) == ["node2"])
}

/// Slurm partitions that share nodes, as on most clusters (`batch` on every node, `short` on some of them):
/// `short` = node[1-2], `batch` = node[2-3], all idle for two hours. A 2-node job waits for `batch` with
/// `--begin` in 2 minutes. Planned one partition at a time, `short` (no demand) powered node1 and node2 down and
/// the job waited for node2 to boot again; now node2 is kept for `batch` and only node1 goes.
@Test func overlappingPartitionsDoNotPowerDownANodeTheOtherNeeds() {
    let parts = [
        SlurmPartition(name: "short", nodes: "node[1-2]"), SlurmPartition(name: "batch", nodes: "node[2-3]"),
    ]
    let nodes = [
        SlurmNode(name: "node1", base: .idle, flags: [], partitions: ["short"], lastBusy: now - 7200),
        SlurmNode(name: "node2", base: .idle, flags: [], partitions: ["short", "batch"], lastBusy: now - 7200),
        SlurmNode(name: "node3", base: .idle, flags: [], partitions: ["batch"], lastBusy: now - 7200),
    ]
    var job = pendingJob(nodes: 2)
    job.partition = "batch"
    job.eligibleTime = now + 120
    var c = AdjustmentConfiguration()
    c.bootLeadTime = 300
    let plan = LiveAdjustment.plan(
        nodes: nodes, partitions: parts, jobs: [job], now: now, configuration: c, excluded: [], inFlight: [],
        budget: 10)
    #expect(plan.map(\.node) == ["node1"])
    #expect(plan.first?.request == .down)
    #expect(plan.first?.reason.hasPrefix("partition short: idle 7200s") == true)
    // Without the job both partitions can spare all three.
    let quiet = LiveAdjustment.plan(
        nodes: nodes, partitions: parts, jobs: [], now: now, configuration: c, excluded: [], inFlight: [], budget: 10)
    #expect(Set(quiet.map(\.node)) == ["node1", "node2", "node3"])
}

/// `batch` = node[1-4], `short` = node[3-4]; a `short` job runs on node3 and node4, and `batch` has a 2-node job
/// eligible in 2 minutes. node3 and node4 are not `batch`'s capacity: node1 and node2 stay up.
@Test func nodesRunningAnotherPartitionsJobsAreNotThisPartitionsCapacity() {
    let parts = [
        SlurmPartition(name: "batch", nodes: "node[1-4]"), SlurmPartition(name: "short", nodes: "node[3-4]"),
    ]
    var nodes = (1 ... 4).map {
        SlurmNode(name: "node\($0)", base: .idle, flags: [], partitions: ["batch"], lastBusy: now - 7200)
    }
    for i in 2 ... 3 {
        nodes[i].base = .allocated
        nodes[i].partitions = ["batch", "short"]
    }
    var running = pendingJob(nodes: 2)
    running.id = 8
    running.partition = "short"
    running.state = .running
    running.startTime = now - 60
    running.nodes = "node[3-4]"
    var waiting = pendingJob(nodes: 2)
    waiting.partition = "batch"
    waiting.eligibleTime = now + 120
    var c = AdjustmentConfiguration()
    c.bootLeadTime = 300
    let plan = LiveAdjustment.plan(
        nodes: nodes, partitions: parts, jobs: [running, waiting], now: now, configuration: c, excluded: [],
        inFlight: [], budget: 10)
    #expect(plan.isEmpty, "\(plan)")
    // The running job's node list is what tells whose node it is: without it the busy nodes count for both.
    running.nodes = ""
    let blind = LiveAdjustment.plan(
        nodes: nodes, partitions: parts, jobs: [running, waiting], now: now, configuration: c, excluded: [],
        inFlight: [], budget: 10)
    #expect(Set(blind.map(\.node)) == ["node1", "node2"])
}

/// `MaxPowerUpsPerCycle` holds for the cycle, not for each partition: two partitions each short of 3 nodes, a cap
/// of 4, 4 power-ups.
@Test func theCycleCapHoldsOverAllPartitions() {
    let parts = [SlurmPartition(name: "a", nodes: "a[1-3]"), SlurmPartition(name: "b", nodes: "b[1-3]")]
    let nodes = ["a", "b"].flatMap { p in
        (1 ... 3).map { SlurmNode(name: "\(p)\($0)", base: .idle, flags: [.cloud, .poweredDown], partitions: [p]) }
    }
    var jobs: [SlurmJob] = []
    for (i, p) in ["a", "b"].enumerated() {
        var j = pendingJob(nodes: 3)
        j.id = UInt32(20 + i)
        j.partition = p
        jobs.append(j)
    }
    var c = AdjustmentConfiguration()
    c.maxPowerUpsPerStep = 4
    let plan = LiveAdjustment.plan(
        nodes: nodes, partitions: parts, jobs: jobs, now: now, configuration: c, excluded: [], inFlight: [],
        budget: 100)
    #expect(plan.count == 4)
    #expect(plan.allSatisfy { $0.request == .up })
}
