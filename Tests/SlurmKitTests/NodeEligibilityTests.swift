// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import PrewarmCore
@testable import SlurmKit
import Testing

private let now: Int64 = 2_000_000
private let part = [SlurmPartition(name: "debug", nodes: "cloud[1-4]")]

/// cloud1–4, all idle for two hours (`off`: all powered down instead).
private func nodes(off: Bool = false) -> [SlurmNode] {
    (1 ... 4).map {
        SlurmNode(
            name: "cloud\($0)", base: .idle, flags: off ? [.cloud, .poweredDown] : [], partitions: ["debug"],
            lastBusy: off ? 0 : now - 7200)
    }
}

private func job(nodes: Int = 1, eligibleIn: Int64 = 120) -> SlurmJob {
    SlurmJob(
        id: 9, arrayJobID: 0, arrayTaskID: 0, userID: 1, account: "", name: "j", partition: "debug", state: .pending,
        reasonCode: 0, submitTime: now, eligibleTime: now + eligibleIn, startTime: 0, endTime: 0, timeLimitMinutes: 30,
        cpus: 1, nodeCount: nodes, nodes: "", adminComment: "", dependency: "")
}

private func plan(_ nodes: [SlurmNode], _ jobs: [SlurmJob], reservations: [SlurmReservation] = []) -> [PlannedAction] {
    var c = AdjustmentConfiguration()
    c.bootLeadTime = 300
    let forecasts = LiveForecast.forecast(
        nodes: nodes, partitions: part, jobs: jobs, now: now, reservations: reservations)
    return LiveAdjustment.plan(
        forecasts: forecasts, nodes: nodes, now: now, configuration: c, excluded: [], inFlight: [:], budget: 10)
}

@Test func constraintsThatCanBeEvaluatedAreReadTheRestAreNot() {
    #expect(FeatureConstraint("gpu") == .all(["gpu"]))
    #expect(FeatureConstraint("intel&avx512") == .all(["intel", "avx512"]))
    #expect(FeatureConstraint("a100|h100") == .any(["a100", "h100"]))
    #expect(FeatureConstraint("[rack1|rack2]") == .any(["rack1", "rack2"]))  // matching OR
    for unread in [
        "", "[rack1&rack2]", "[rack1*2&rack2*4]", "[a|b]&c", "[a]", "[]", "[|]", "gpu*2", "(a|b)*2", "!gpu",
        "a,b", "a&", "|b", "(a|b", "a|b)", "()", "(a||b)", "a&(b|)", "a(b)", "(a)b",
        String(repeating: "(", count: 10) + "a" + String(repeating: ")", count: 10),
    ] {
        #expect(FeatureConstraint(unread) == nil, "\(unread)")
    }
    #expect(FeatureConstraint("a|b")?.satisfied(by: ["b"]) == true)
    #expect(FeatureConstraint("a&b")?.satisfied(by: ["b"]) == false)
    // `&` and `|` mixed, and parentheses.
    func on(_ c: String, _ features: Set<String>) -> Bool? { FeatureConstraint(c)?.satisfied(by: features) }
    #expect(on("(a|b)&c", ["a", "c"]) == true && on("(a|b)&c", ["b", "c"]) == true)
    #expect(on("(a|b)&c", ["a"]) == false && on("(a|b)&c", ["c"]) == false)
    #expect(on("((a))", ["a"]) == true && on("( a | b ) & ( c | d )", ["b", "d"]) == true)
    // Without parentheses two readings: left to right (22.05), `a|b&c` is `(a|b)&c`; with `&` first, `a|(b&c)`.
    // A node counts when either reading holds, so the job's nodes are always among those counted.
    #expect(on("a|b&c", ["a"]) == true)  // `&` first
    #expect(on("a|b&c", ["b", "c"]) == true)  // both
    #expect(on("a|b&c", ["b"]) == false && on("a|b&c", ["c"]) == false)  // neither
    #expect(on("a&b|c", ["c"]) == true && on("a&b|c", ["a"]) == false)
    #expect(FeatureExpression("a|b&c")?.value(["a"], andFirst: false) == false)
    #expect(FeatureExpression("a|b&c")?.value(["a"], andFirst: true) == true)
    #expect(FeatureExpression("a&b|c&d")?.value(["a", "b"], andFirst: false) == false)
    #expect(FeatureExpression("a&b|c&d")?.value(["a", "b"], andFirst: true) == true)
}

@Test func genericResourcesAreReadAsJobsAskAndNodesHaveThem() {
    #expect(GresKind.requested("gres/gpu:2") == [GresKind(name: "gpu", type: nil)])
    #expect(GresKind.requested("gres:gpu:a100:1") == [GresKind(name: "gpu", type: "a100")])
    #expect(GresKind.requested("cpu=4;gres/gpu=1,gres/mps:50,license/matlab:1")
        == [GresKind(name: "gpu", type: nil), GresKind(name: "mps", type: nil)])
    func amount(_ name: String, _ type: String?, _ count: Int64?) -> GresAmount {
        GresAmount(kind: GresKind(name: name, type: type), count: count)
    }
    #expect(GresAmount.requested("gres/gpu:a100:2,gres:mps:50,gres/gpu") == [
        amount("gpu", "a100", 2), amount("mps", nil, 50), amount("gpu", nil, 1),
    ])
    #expect(GresAmount.configured("gpu:a100:4(S:0,1),mps:100K,gpu:no_consume:2,nic")
        == [amount("gpu", "a100", 4), amount("mps", nil, 102_400), amount("gpu", nil, 2), amount("nic", nil, 1)])
    #expect(GresAmount.configured("(null)").isEmpty)
    #expect(GresAmount.count("3G") == 3 << 30)
    #expect(GresAmount.count("9999999P") == Int64.max)
    for bad in ["", "K", "-1", "1.5", "x"] { #expect(GresAmount.count(bad) == nil, "\(bad)") }
    let node = GresAmount.configured("gpu:a100:4(S:0-1),gpu:v100:2")
    #expect(amount("gpu", nil, 1).fits(in: node))
    #expect(amount("gpu", "a100", 4).fits(in: node))
    #expect(!amount("gpu", "a100", 5).fits(in: node))
    #expect(amount("gpu", nil, 6).fits(in: node))  // untyped: any types together
    #expect(!amount("gpu", nil, 7).fits(in: node))
    #expect(!amount("gpu", "h100", 1).fits(in: node))
    #expect(!amount("mps", nil, 1).fits(in: node))
    #expect(amount("gpu", nil, 8).fits(in: [amount("gpu", nil, nil)]))  // a count that did not parse: taken to fit
}

/// The hard rule: never power down a node that is about to run a job. A job that asked for cloud3 by name starts in
/// two minutes; counted as demand for any node of `debug`, one node was kept (cloud1, first in the policy's order)
/// and cloud3 was powered down, so the job would have waited for it to power down and boot again.
@Test func aNodeAQueuedJobNamesIsNotPoweredDown() {
    var j = job()
    j.requiredNodes = "cloud3"
    let p = plan(nodes(), [j])
    #expect(Set(p.map(\.node)) == ["cloud1", "cloud2", "cloud4"])
    #expect(p.allSatisfy { $0.request == .down })
    // Without the job every idle node goes.
    #expect(Set(plan(nodes(), []).map(\.node)) == ["cloud1", "cloud2", "cloud3", "cloud4"])
}

/// The other side: the node powered up ahead of a job is one it can use.
@Test func theNodePoweredUpAheadOfARestrictedJobIsOneItCanUse() {
    // --nodelist: the named node.
    var named = job()
    named.requiredNodes = "cloud4"
    #expect(plan(nodes(off: true), [named]).map(\.node) == ["cloud4"])
    // --nodelist naming fewer nodes than it asks for: those, and the rest anywhere (name order).
    var more = job(nodes: 2)
    more.requiredNodes = "cloud4"
    #expect(Set(plan(nodes(off: true), [more]).map(\.node)) == ["cloud4", "cloud1"])
    // --exclude
    var excluding = job()
    excluding.excludedNodes = "cloud[1-2]"
    #expect(plan(nodes(off: true), [excluding]).map(\.node) == ["cloud3"])
    // --constraint on the nodes' features.
    var n = nodes(off: true)
    n[1].features = "intel,avx512"
    n[3].features = "intel,gpu"
    var gpu = job()
    gpu.constraint = "gpu"
    #expect(plan(n, [gpu]).map(\.node) == ["cloud4"])
    var both = job()
    both.constraint = "intel&avx512"
    #expect(plan(n, [both]).map(\.node) == ["cloud2"])
    var grouped = job()
    grouped.constraint = "(amd|intel)&gpu"
    #expect(plan(n, [grouped]).map(\.node) == ["cloud4"])
    // --gres of a type.
    n[2].gres = "gpu:a100:2(S:0)"
    n[3].gres = "gpu:v100:2"
    var a100 = job()
    a100.gresRequest = "gres/gpu:a100:1"
    #expect(plan(n, [a100]).map(\.node) == ["cloud3"])
    // --gres with a count per node: a node with fewer does not count (cloud3 has 2 A100s, cloud4 4 V100s).
    n[3].gres = "gpu:v100:4"
    var four = job()
    four.gresRequest = "gres/gpu:4"
    four.gresPerNode = "gres/gpu:4"
    #expect(plan(n, [four]).map(\.node) == ["cloud4"])
    var two = job()  // as many per job: the job may spread them over nodes, so any node with the kind counts
    two.gresRequest = "gres/gpu:4"
    #expect(plan(n, [two]).map(\.node) == ["cloud3"])
    // A reservation's nodes (it has started).
    var reserved = job()
    reserved.reservation = "maint"
    #expect(plan(nodes(off: true), [reserved], reservations: [
        SlurmReservation(name: "maint", start: now - 60, end: now + 3600, nodes: "cloud2"),
    ]).map(\.node) == ["cloud2"])
    // A constraint prewarmd does not read counts for any node, as before.
    var unread = job()
    unread.constraint = "[rack1*2&rack2*2]"
    #expect(plan(nodes(off: true), [unread]).map(\.node) == ["cloud1"])
}

/// A restricted job's nodes keep the running jobs on them (of any partition) in its forecast, and the partition's
/// forecast no longer counts the job.
@Test func aRestrictedForecastCountsTheRunningJobsOnItsNodes() {
    var n = nodes()
    n[2].base = .allocated
    let running = SlurmJob(
        id: 5, arrayJobID: 0, arrayTaskID: 0, userID: 2, account: "", name: "r", partition: "other", state: .running,
        reasonCode: 0, submitTime: now - 600, eligibleTime: now - 600, startTime: now - 600, endTime: now + 1200,
        timeLimitMinutes: 30, cpus: 1, nodeCount: 1, nodes: "cloud3", adminComment: "", dependency: "")
    var j = job(nodes: 1, eligibleIn: 0)
    j.requiredNodes = "cloud3"
    let f = LiveForecast.forecast(nodes: n, partitions: part, jobs: [running, j], now: now)
    #expect(f.count == 1)
    #expect(f[0].pendingJobs == 1)
    #expect(f[0].forecast.expected.allSatisfy { $0 == 0 })
    let r = f[0].restricted
    #expect(r.count == 1)
    #expect(r.first?.nodes == ["cloud3"])
    #expect(r.first?.busyNodes == ["cloud3"])
    // Busy with the running job for its 20 minutes left, then the queued job's 30-minute limit.
    #expect(r.first?.forecast.expected.first == 1)
    #expect(r.first?.forecast.expected[40] == 1)
    // The busy node is not powered down and not counted as anyone else's; the idle ones go.
    #expect(Set(plan(n, [running, j]).map(\.node)) == ["cloud1", "cloud2", "cloud4"])
}

/// On a cluster that gives jobs cores, small jobs confined to some nodes are packed into those nodes as the
/// partition's small jobs are: four one-CPU GPU jobs fill one 4-CPU GPU node, not four nodes.
@Test func smallRestrictedJobsArePackedIntoTheirNodes() {
    var n = nodes(off: true)
    for i in n.indices { n[i].cpus = 4 }
    n[2].gres = "gpu:2"
    n[3].gres = "gpu:2"
    let jobs = (0 ..< 4).map { k -> SlurmJob in
        var j = job(nodes: 1, eligibleIn: 0)
        j.id = UInt32(20 + k)
        j.gresRequest = "gres/gpu:1"
        return j
    }
    let sharing = NodeSharing(nodes: n, partitions: part, allocatesCores: true)
    let f = LiveForecast.forecast(nodes: n, partitions: part, jobs: jobs, now: now, sharing: sharing)
    #expect(f[0].pendingJobs == 4)
    #expect(f[0].restricted.count == 1)
    #expect(f[0].restricted.first?.nodes == ["cloud3", "cloud4"])
    #expect(f[0].restricted.first?.pendingJobs == 4)
    #expect(f[0].restricted.first?.forecast.expected.first == 1)
    // Whole nodes (no core sharing): one node each, at most the two GPU nodes.
    let whole = LiveForecast.forecast(nodes: n, partitions: part, jobs: jobs, now: now)
    #expect(whole[0].restricted.first?.forecast.expected.first == 2)
}

/// `--exclude` of a few nodes leaves the job free to run nearly anywhere: it counts for the partition, and distinct
/// lists do not each make a set of nearly every node. Excluding half or more confines it.
@Test func excludingAFewNodesCountsForThePartition() {
    var few = job(eligibleIn: 0)
    few.excludedNodes = "cloud1"
    let f = LiveForecast.forecast(nodes: nodes(), partitions: part, jobs: [few], now: now)
    #expect(f[0].restricted.isEmpty)
    #expect(f[0].forecast.expected.first == 1)
    var half = few
    half.excludedNodes = "cloud[1-2]"
    let h = LiveForecast.forecast(nodes: nodes(), partitions: part, jobs: [half], now: now)
    #expect(h[0].restricted.map(\.nodes) == [["cloud3", "cloud4"]])
    // With another restriction, an exclusion always applies: a100 on cloud[2-4], cloud4 excluded.
    var n = nodes()
    for i in 1 ... 3 { n[i].gres = "gpu:a100:1" }
    var both = few
    both.excludedNodes = "cloud4"
    both.gresRequest = "gres/gpu:a100:1"
    let b = LiveForecast.forecast(nodes: n, partitions: part, jobs: [both], now: now)
    #expect(b[0].restricted.map(\.nodes) == [["cloud2", "cloud3"]])
}

/// Bounded work: the sets of a partition hold at most 8 times its nodes plus 1,024; jobs past that count for the
/// partition as before. 300 nodes, 40 jobs each asking for a feature about half of the nodes have, a different half.
@Test func restrictedSetsAreBoundedAndJobsPastTheBoundCountForThePartition() {
    let p = [SlurmPartition(name: "debug", nodes: "n[0-299]")]
    let n = (0 ..< 300).map { i in
        var node = SlurmNode(name: "n\(i)", base: .idle, flags: [], partitions: ["debug"], lastBusy: now - 7200)
        node.features = (0 ..< 40).filter { k in (i / (k + 1)) % 2 == 0 }.map { "f\($0)" }.joined(separator: ",")
        return node
    }
    let jobs = (0 ..< 40).map { k -> SlurmJob in
        var j = job(eligibleIn: 0)
        j.id = UInt32(100 + k)
        j.constraint = "f\(k)"
        return j
    }
    let f = LiveForecast.forecast(nodes: n, partitions: p, jobs: jobs, now: now)[0]
    let held = f.restricted.reduce(0) { $0 + $1.nodes.count }
    #expect(f.restricted.count >= 20 && f.restricted.count < 40, "\(f.restricted.count) sets")
    #expect(held <= 8 * 300 + 1024)
    #expect(f.pendingJobs == 40)
    #expect(f.forecast.expected.first == Float(40 - f.restricted.count))
    #expect(f.restricted.allSatisfy { $0.pendingJobs == 1 && $0.forecast.expected.first == 1 })
}
