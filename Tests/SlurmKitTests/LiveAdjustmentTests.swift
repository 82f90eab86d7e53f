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
