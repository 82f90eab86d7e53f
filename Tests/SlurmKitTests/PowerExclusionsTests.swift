// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import PrewarmCore
import SlurmKit
import Testing

private let now: Int64 = 2_000_000

private func node(_ name: String, _ base: NodeBaseState = .idle, _ flags: NodeFlags = [], partition: String = "p")
    -> SlurmNode
{
    SlurmNode(name: name, base: base, flags: flags, partitions: [partition], lastBusy: now - 7200)
}

/// slurmctld 22.05's `_pick_exc_nodes`: a count keeps the first idle nodes of the set (node order), whatever the
/// set's busy nodes; nodes powered down, powering, completing, down or drained are not picked.
@Test func slurm2205KeepsTheFirstIdleNodesOfACountedSet() {
    let nodes = [
        node("c1", .allocated), node("c2", .idle, [.poweredDown]), node("c3", .idle, [.drain]), node("c4"),
        node("c5", .idle, [.completing]), node("c6"), node("c7"), node("x1"),
    ]
    let e = SlurmPowerExclusions(nodes: "c[1-7]:2,x1", syntax: .upTo2311)
    let p = e.protection(of: nodes)
    #expect(p.keptUp == ["c4", "c6"])
    #expect(p.untouched == ["x1"])
    #expect(!p.powerDownsWithheld && p.problems.isEmpty)
    // Read as one set with the 22.05 syntax, "x1,c[1-7]:2" keeps 2 of the union.
    let union = SlurmPowerExclusions(nodes: "x1,c[1-7]:2", syntax: .upTo2311).protection(of: nodes)
    #expect(union.keptUp == ["c4", "c6"] && union.untouched.isEmpty)
}

/// slurmctld 24.05 on: powered-up (allocated) nodes count toward the count, then the first suspendable nodes
/// (idle or down, not powered down or powering) are kept for the rest.
@Test func slurm2405CountsAllocatedNodesTowardTheCount() {
    let nodes = [
        node("c1", .allocated), node("c2", .idle, [.poweredDown]), node("c3"), node("c4", .down), node("c5"),
        node("c6"),
    ]
    #expect(SlurmPowerExclusions(nodes: "c[1-6]:2", syntax: .since2405).protection(of: nodes).keptUp == ["c3"])
    #expect(SlurmPowerExclusions(nodes: "c[1-6]:3", syntax: .since2405).protection(of: nodes).keptUp == ["c3", "c4"])
    #expect(SlurmPowerExclusions(nodes: "c[1-6]:1", syntax: .since2405).protection(of: nodes).keptUp.isEmpty)
    // "x1,c[1-6]:2" is two sets from 24.05 on: x1 whole, 2 of c[1-6].
    let two = SlurmPowerExclusions(nodes: "x1,c[1-6]:2", syntax: .since2405).protection(of: nodes + [node("x1")])
    #expect(two.untouched == ["x1"] && two.keptUp == ["c3"])
    // ALL with a count: over every node.
    #expect(SlurmPowerExclusions(nodes: "ALL:2", syntax: .since2405).protection(of: nodes).keptUp == ["c3"])
    #expect(SlurmPowerExclusions(nodes: "ALL", syntax: .since2405).protection(of: nodes).untouched.count == 6)
}

/// An item prewarmd cannot resolve: from 24.05 it may be a NodeSet, so every power-down is withheld (and said); a
/// name Slurm 22.05 does not know (it has no NodeSets there) protects nothing.
@Test func unresolvableItemsWithholdPowerDownsWhereTheyMayBeNodeSets() {
    let nodes = [node("c1"), node("c2")]
    let p = SlurmPowerExclusions(nodes: "gpus,c1", syntax: .since2405).protection(of: nodes)
    #expect(p.powerDownsWithheld)
    #expect(p.untouched == ["c1"])
    #expect(p.problems.count == 1 && p.problems[0].contains("'gpus'") && p.problems[0].contains("NodeSet"))
    let old = SlurmPowerExclusions(nodes: "gpus:1,c1", syntax: .upTo2311).protection(of: nodes)
    #expect(!old.powerDownsWithheld && old.untouched == ["c1"] && old.problems.count == 1)
    // Within a set some of whose nodes slurmctld shows (the others: powered-down CLOUD nodes 22.05 hides), the rest
    // is kept and nothing is said.
    let partly = SlurmPowerExclusions(nodes: "c1,gpus", syntax: .upTo2311).protection(of: nodes)
    #expect(!partly.powerDownsWithheld && partly.untouched == ["c1"] && partly.problems.isEmpty)
    // No hostlist at all: withheld with either syntax.
    for syntax in [SuspendExclusionSyntax.upTo2311, .since2405] {
        let bad = SlurmPowerExclusions(nodes: "c[1-", syntax: syntax).protection(of: nodes)
        #expect(bad.powerDownsWithheld, "\(syntax)")
    }
    // A count slurmctld 22.05 rejects: prewarmd keeps every node named.
    let rejected = SlurmPowerExclusions(nodes: "c[1-2]:5", syntax: .upTo2311).protection(of: nodes)
    #expect(rejected.untouched == ["c1", "c2"] && !rejected.powerDownsWithheld && rejected.problems.count == 1)
}

@Test func suspendExcStatesAndPartitions() {
    let nodes = [
        node("c1", .idle, [.cloud]), node("c2", .idle, [.cloud, .poweredDown]), node("r1", .idle, [.reserved]),
        node("n1"), node("q1", partition: "quiet"),
    ]
    let p = SlurmPowerExclusions(partitions: ["quiet"], states: "CLOUD,RESERVED").protection(of: nodes)
    #expect(p.keptUp == ["c1", "c2", "r1"])
    #expect(p.untouched == ["q1"])
    let bad = SlurmPowerExclusions(states: "CLOUD,BOGUS").protection(of: nodes)
    #expect(bad.problems.count == 1 && bad.problems[0].contains("BOGUS"))
}

/// The plan: a kept-up node is never powered down but a powered-down one in a SuspendExcStates state may be powered
/// up; an excluded node is touched neither way.
@Test func keptUpNodesArePoweredUpButNeverDown() {
    var c = AdjustmentConfiguration()
    c.bootLeadTime = 300
    c.minIdleBeforePowerDown = 60
    let part = [SlurmPartition(name: "p", nodes: "c[1-4]")]
    // Nothing queued: all four idle cloud nodes are surplus; c1 and c2 are kept up.
    let idle = (1 ... 4).map { node("c\($0)", .idle, [.cloud]) }
    let downs = LiveAdjustment.plan(
        nodes: idle, partitions: part, jobs: [], now: now, configuration: c, excluded: [], inFlight: [], budget: 10)
    #expect(downs.map(\.node).sorted() == ["c1", "c2", "c3", "c4"])
    let forecasts = LiveForecast.forecast(nodes: idle, partitions: part, jobs: [], now: now)
    let kept = LiveAdjustment.plan(
        forecasts: forecasts, nodes: idle, now: now, configuration: c, excluded: [], keptUp: ["c1", "c2"],
        inFlight: [:], budget: 10)
    #expect(kept.map(\.node).sorted() == ["c3", "c4"] && kept.allSatisfy { $0.request == .down })
    // A queued 2-node job with every node powered down: kept-up nodes may be powered up, excluded ones not.
    let off = (1 ... 4).map { node("c\($0)", .idle, [.cloud, .poweredDown]) }
    let job = SlurmJob(
        id: 9, arrayJobID: 0, arrayTaskID: 0, userID: 1, account: "", name: "j", partition: "p", state: .pending,
        reasonCode: 0, submitTime: now, eligibleTime: now, startTime: 0, endTime: 0, timeLimitMinutes: 30, cpus: 2,
        nodeCount: 2, nodes: "", adminComment: "", dependency: "")
    let upForecasts = LiveForecast.forecast(nodes: off, partitions: part, jobs: [job], now: now)
    let ups = LiveAdjustment.plan(
        forecasts: upForecasts, nodes: off, now: now, configuration: c, excluded: ["c1"], keptUp: ["c2", "c3"],
        inFlight: [:], budget: 10)
    #expect(ups.map(\.node) == ["c2", "c3"] && ups.allSatisfy { $0.request == .up })
}
