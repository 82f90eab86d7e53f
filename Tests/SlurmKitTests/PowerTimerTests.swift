// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import PrewarmCore
import SlurmKit
import Testing

// A node's SuspendTime and ResumeTimeout as slurmctld applies them (power_save_set_timeouts, slurm.conf(5)): the
// highest of its partitions' own values, INFINITE above all; the cluster's when none of its partitions sets one.

private func node(_ name: String, _ partitions: [String]) -> SlurmNode {
    SlurmNode(name: name, base: .idle, flags: [], partitions: partitions)
}

private func settings(cluster: Int?, resume: Int = 60) -> SlurmControllerSettings {
    var s = SlurmControllerSettings()
    s.suspendTime = cluster
    s.resumeTimeout = resume
    s.partitions = [
        SlurmPartition(name: "debug", nodes: ""),
        SlurmPartition(name: "long", nodes: "", suspendTime: .seconds(7200), resumeTimeout: .seconds(900)),
        SlurmPartition(name: "cloud", nodes: "", suspendTime: .seconds(300)),
        SlurmPartition(name: "keep", nodes: "", suspendTime: .never),
        SlurmPartition(name: "a", nodes: "", suspendTime: .seconds(120)),
        SlurmPartition(name: "b", nodes: "", suspendTime: .seconds(120)),
    ]
    s.nodes = [
        node("n1", ["debug"]),  // the cluster's
        node("n2", ["debug", "long"]),  // long's 7200 overrides the cluster's
        node("n3", ["long"]),
        node("n4", []),  // in no partition: the cluster's
        node("n5", ["cloud"]),
        node("n6", ["cloud", "keep"]),  // INFINITE is the highest
        node("n7", ["b", "a"]),  // a tie: both named
        node("n8", ["cloud", "debug"]),  // debug sets nothing: cloud's 300, even under a cluster value of 600
    ]
    return s
}

@Test func suspendTimeIsTheHighestOfTheNodesPartitionsElseTheClusters() {
    let groups = settings(cluster: 600).suspendTimes(under: 3600)
    #expect(groups == [
        PowerTimerGroup(seconds: 120, partitions: ["a", "b"], nodes: ["n7"]),
        PowerTimerGroup(seconds: 300, partitions: ["cloud"], nodes: ["n5", "n8"]),
        PowerTimerGroup(seconds: 600, partitions: [], nodes: ["n1", "n4"]),
    ])
    #expect(groups.map(\.source) == ["partitions a,b, 1 node", "partition cloud, 2 nodes", nil])
    // No cluster SuspendTime: only the partitions' own.
    #expect(settings(cluster: nil).suspendTimes(under: 3600).map(\.seconds) == [120, 300])
    // A lower limit keeps only what is under it.
    #expect(settings(cluster: 600).suspendTimes(under: 300).map(\.seconds) == [120])
}

@Test func nodesSlurmNeverSuspendsAreLeftOut() {
    var s = settings(cluster: 600)
    s.suspendExcludedNodes = "n[4-5]"
    s.suspendExcludedPartitions = ["a"]
    #expect(s.suspendTimes(under: 3600) == [
        PowerTimerGroup(seconds: 300, partitions: ["cloud"], nodes: ["n8"]),
        PowerTimerGroup(seconds: 600, partitions: [], nodes: ["n1"]),
    ])
    // `n[1-4]:2` excludes only two of them, which Slurm picks at run time: nobody is left out for it.
    s.suspendExcludedNodes = "n[1-4]:2"
    s.suspendExcludedPartitions = []
    #expect(s.suspendTimes(under: 3600).flatMap(\.nodes).sorted() == ["n1", "n4", "n5", "n7", "n8"])
    // Every node excluded: nothing to warn about, not the cluster's value.
    s.suspendExcludedNodes = "n[1-8]"
    #expect(s.suspendTimes(under: 3600).isEmpty)
}

@Test func withoutNodesTheClustersValueIsAllThatIsKnown() {
    var s = SlurmControllerSettings()
    s.suspendTime = 600
    s.resumeTimeout = 60
    #expect(s.suspendTimes(under: 3600) == [PowerTimerGroup(seconds: 600, partitions: [], nodes: [])])
    #expect(s.suspendTimes(under: 600).isEmpty)
    #expect(s.resumeTimeouts(under: 150) == [PowerTimerGroup(seconds: 60, partitions: [], nodes: [])])
    s.suspendTime = nil
    s.resumeTimeout = 0  // not reported
    #expect(s.suspendTimes(under: 3600).isEmpty)
    #expect(s.resumeTimeouts(under: 150).isEmpty)
}

@Test func resumeTimeoutFollowsTheSameRule() {
    let s = settings(cluster: 600, resume: 60)
    // long's 900 covers n2 and n3; every other node has the cluster's 60.
    #expect(s.resumeTimeouts(under: 150) == [
        PowerTimerGroup(seconds: 60, partitions: [], nodes: ["n1", "n4", "n5", "n6", "n7", "n8"])
    ])
    #expect(s.resumeTimeouts(under: 1000).map(\.seconds) == [60, 900])
}

@Test func theDaemonsWarningNamesThePartition() throws {
    var c = DaemonConfiguration()
    c.mode = .enforce
    let cluster = try #require(c.slurmSuspendTimeWarning(600))
    #expect(cluster.hasPrefix("Slurm's SuspendTime=600 is under 3600 s"))
    #expect(cluster.contains("or more in slurm.conf"))
    let part = try #require(c.slurmSuspendTimeWarning(300, source: "partition cloud, 2 nodes"))
    #expect(part.hasPrefix("Slurm's SuspendTime=300 (partition cloud, 2 nodes) is under 3600 s"))
    #expect(part.contains("or more on the PartitionName line in slurm.conf"))
}

/// The hourly cap against the nodes prewarmd may power: Slurm's exclusions and the daemon's own left out; a warning
/// only in enforce mode and under one action an hour per node.
@Test func theHourlyCapIsComparedWithTheNodesPrewarmdMayPower() throws {
    var s = settings(cluster: 600)
    var daemon = try DaemonConfiguration.parse("Mode=enforce\nMaxActionsPerHour=5\n", file: "prewarmd.conf")
    #expect(s.nodesPrewarmdMayPower(daemon) == 8)
    s.suspendExcludedNodes = "n[1-2]"
    s.suspendExcludedPartitions = ["keep"]  // n6
    #expect(s.nodesPrewarmdMayPower(daemon) == 5)
    daemon = try DaemonConfiguration.parse(
        "Mode=enforce\nMaxActionsPerHour=5\nExcludeNodes=n3\nExcludePartitions=cloud\n", file: "prewarmd.conf")
    #expect(s.nodesPrewarmdMayPower(daemon) == 2)  // n4 and n7 (n5 and n8 are in cloud)
    #expect(daemon.hourlyCapWarning(nodes: 5) == nil)  // one an hour per node is enough
    let warning = try #require(daemon.hourlyCapWarning(nodes: 6))
    #expect(warning.hasPrefix("MaxActionsPerHour=5 is under one action an hour per node prewarmd may power (6 nodes)"))
    let watching = try DaemonConfiguration.parse("Mode=forecast-only\nMaxActionsPerHour=5\n", file: "prewarmd.conf")
    #expect(watching.hourlyCapWarning(nodes: 6) == nil)
    #expect(DaemonConfiguration().hourlyCapWarning(nodes: 1000) == nil)  // forecast-only by default
}
