// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import Foundation
import HistoryStore
import PrewarmCore
import PrewarmOps
import SlurmKit
import Testing

@testable import PrewarmCLI
@testable import PrewarmDaemon

private func configuration(_ dir: String, mode: DaemonMode = .enforce, perHour: Int = 200) -> DaemonConfiguration {
    var c = DaemonConfiguration()
    c.mode = mode
    c.interval = 60
    c.policy.bootLeadTime = 300
    c.policy.minIdleBeforePowerDown = 3600 * 24
    c.maxActionsPerHour = perHour
    c.stateDirectory = dir
    c.modelFile = dir + "/prewarm.model"
    return c
}

@Suite("prewarmd adjustment loop", .serialized)
struct AdjustmentLoopTests {
    /// SIGKILL right after the first power command: the state on disk at that moment lists every command of the
    /// cycle (saved before any was sent), so a new daemon built from it sends none of them again.
    @Test func killedAfterTheFirstPowerCommandRestartsWithoutDuplicates() throws {
        let dir = temporaryDirectory("kill")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // A 4-node job waits; node1 (idle) and node2 (busy) are up: cloud1 and cloud2 are powered up.
        let cluster = smallCluster(pendingNodes: 4)
        let faults = FaultInjector(cluster)
        faults.killAtPowerCommand = 2
        faults.stateFile = StateDirectory(path: dir).stateFile
        let log = LogLines()
        var first = AdjustmentLoop(slurm: faults, configuration: configuration(dir), log: log.append)
        _ = first.runCycle(now: now)
        #expect(cluster.commands.map(\.node) == ["cloud1"])  // the second never reached Slurm
        let disk = try #require(faults.diskAtKill)
        // What the killed process left: put it back (the old loop went on after the throw; a killed one cannot).
        try disk.write(to: URL(fileURLWithPath: faults.stateFile))

        let restartLog = LogLines()
        var second = AdjustmentLoop(slurm: cluster, configuration: configuration(dir), log: restartLog.append)
        #expect(Set(second.state.inFlight.map(\.node)) == ["cloud1", "cloud2"])
        #expect(second.state.issuedTimes.count == 2)
        #expect(restartLog.lines.first?.contains("2 command(s) in flight") == true)
        _ = second.runCycle(now: now + 30)
        #expect(cluster.commands.map(\.node) == ["cloud1"], "no duplicate, and no other node powered up instead")
        #expect(restartLog.lines.contains { $0.contains("no action (2 command(s) in flight)") })
    }

    /// Eight queued one-CPU jobs on nodes of four CPUs: where the controller gives jobs cores (cons_tres), two nodes
    /// hold them, so with node1 up one node is powered up; where it gives whole nodes, or the jobs or the partition
    /// are exclusive, they need a node each: every powered-down node is powered up.
    @Test func queuedJobsThatShareNodesArePackedWhereTheControllerAllocatesCores() throws {
        func powerUps(allocatesCores: Bool, exclusiveJobs: Bool = false, exclusivePartition: Bool = false) -> Int {
            let dir = temporaryDirectory("pack")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            var nodes = [SlurmNode(name: "node1", base: .idle, flags: [], cpus: 4, partitions: ["p"], lastBusy: now)]
            for i in 1 ... 5 {
                nodes.append(SlurmNode(name: "cloud\(i)", base: .idle, flags: [.cloud, .poweredDown], cpus: 4, partitions: ["p"]))
            }
            let jobs = (1 ... 8).map { id in
                var j = SlurmJob(
                    id: UInt32(id), arrayJobID: 0, arrayTaskID: 0, userID: 1, account: "", name: "j", partition: "p",
                    state: .pending, reasonCode: 0, submitTime: now, eligibleTime: now, startTime: 0, endTime: 0,
                    timeLimitMinutes: 30, cpus: 1, nodeCount: 1, nodes: "", adminComment: "", dependency: "")
                j.exclusive = exclusiveJobs
                return j
            }
            let cluster = ClusterState(
                nodes: nodes, partitions: [SlurmPartition(name: "p", nodes: "node1,cloud[1-5]", exclusive: exclusivePartition)],
                jobs: jobs)
            cluster.allocatesCores = allocatesCores
            var loop = AdjustmentLoop(slurm: cluster, configuration: configuration(dir), log: { _ in })
            _ = loop.runCycle(now: now)
            #expect(cluster.commands.allSatisfy { $0.request == .up })
            return cluster.commands.count
        }
        #expect(powerUps(allocatesCores: true) == 1)
        #expect(powerUps(allocatesCores: false) == 5)
        #expect(powerUps(allocatesCores: true, exclusiveJobs: true) == 5)
        #expect(powerUps(allocatesCores: true, exclusivePartition: true) == 5)
    }

    /// The arrivals prewarmd learns, from the history store at start-up and from the jobs of each cycle, count a
    /// one-CPU job on nodes of 64 CPUs as a 64th of a node where the controller gives jobs cores, and as a node where
    /// it gives whole nodes: every learned quantity scales by 64.
    @Test func learnedArrivalsCountSharesOfNodesWhereTheControllerAllocatesCores() throws {
        func learned(allocatesCores: Bool) throws -> (rate: Double, submissions: Int) {
            let dir = temporaryDirectory("share")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            var c = configuration(dir)
            c.historyDatabase = dir + "/history.db"
            let store = try HistoryStore(path: c.historyDatabase)
            try store.insert((0 ..< 120).map { k in
                var j = HistoryJob(cluster: "dev", jobID: Int64(100 + k), submitTime: now - 7200 + Int64(k) * 50,
                                   source: "sacct")
                j.partition = "p"
                j.userID = Int64(3000 + k)
                j.requestedCPUs = 1
                j.allocatedCPUs = 1
                j.requestedNodes = 1
                j.startTime = j.submitTime + 5
                j.endTime = j.submitTime + 605
                return j
            })
            let nodes = (1 ... 4).map { i in
                SlurmNode(name: "n\(i)", base: .idle, flags: i > 1 ? [.cloud, .poweredDown] : [], cpus: 64,
                          partitions: ["p"], lastBusy: now)
            }
            let jobs = (1 ... 10).map { id in
                SlurmJob(
                    id: UInt32(9000 + id), arrayJobID: 0, arrayTaskID: 0, userID: UInt32(4000 + id), account: "",
                    name: "j", partition: "p", state: .pending, reasonCode: 0, submitTime: now - 30,
                    eligibleTime: now - 30, startTime: 0, endTime: 0, timeLimitMinutes: 30, cpus: 1, nodeCount: 1,
                    nodes: "", adminComment: "", dependency: "")
            }
            let cluster = ClusterState(nodes: nodes, partitions: [SlurmPartition(name: "p", nodes: "n[1-4]")], jobs: jobs)
            cluster.allocatesCores = allocatesCores
            var loop = AdjustmentLoop(slurm: cluster, configuration: c, log: { _ in })
            loop.history = HistoryKeeper(configuration: c, log: { _ in })
            _ = loop.runCycle(now: now)
            let models = loop.demand.learner.partitions["p"]
            return (models?.arrivals.recentRate ?? -1, models?.submissions ?? 0)
        }
        let shared = try learned(allocatesCores: true)
        let whole = try learned(allocatesCores: false)
        #expect(shared.submissions == 130 && whole.submissions == 130)  // the store's 120 and the cycle's 10
        #expect(whole.rate > 0.5)
        #expect(abs(shared.rate * 64 - whole.rate) < 1e-9 * whole.rate)
    }

    /// The hourly cap counts the commands of the killed daemon.
    @Test func theHourlyBudgetSurvivesARestart() throws {
        let dir = temporaryDirectory("budget")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cluster = smallCluster(pendingNodes: 4)
        var first = AdjustmentLoop(slurm: cluster, configuration: configuration(dir, perHour: 3), log: { _ in })
        _ = first.runCycle(now: now)
        #expect(cluster.commands.count == 2)
        // The job grows to 6 nodes; a restarted daemon may send only 1 more command this hour.
        cluster.jobs[0].nodeCount = 6
        let lines = LogLines()
        var second = AdjustmentLoop(slurm: cluster, configuration: configuration(dir, perHour: 3), log: lines.append)
        _ = second.runCycle(now: now + 60)
        #expect(cluster.commands.map(\.node) == ["cloud1", "cloud2", "cloud3"])
        // The fourth node the job needs is held back by the cap: counted, exported and said.
        #expect(second.counters.heldBack == [.powerUp: 1])
        #expect(lines.lines.contains("hourly cap: 1 action(s) held back (2 of MaxActionsPerHour=3 used in the last hour)"),
                "\(lines.lines)")
        #expect(DaemonMetrics.exposition(status: try #require(second.status), counters: second.counters)
            .contains("prewarm_actions_held_back_total{action=\"power_up\"} 1"))
        // An hour after the first two, they no longer count.
        var third = AdjustmentLoop(slurm: cluster, configuration: configuration(dir, perHour: 3), log: { _ in })
        _ = third.runCycle(now: now + 3601)
        #expect(cluster.commands.map(\.node) == ["cloud1", "cloud2", "cloud3", "cloud4"])
    }

    /// With no saved state, nodes Slurm already shows powering up or down are in flight: no command for them.
    @Test func nodesSlurmShowsPoweringAreInFlightAtStartup() throws {
        let dir = temporaryDirectory("observed")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // No demand: node1 (idle 2 h) would be powered down, but a power-down was already requested;
        // cloud1 is booting (someone asked for it), cloud2 is powering down.
        let cluster = smallCluster(pendingNodes: nil)
        cluster.nodes[0].flags.insert(.powerDownRequested)
        cluster.nodes[2].flags = [.cloud, .poweringUp]
        cluster.nodes[3].flags = [.cloud, .poweringDown]
        var c = configuration(dir)
        c.policy.minIdleBeforePowerDown = 60
        var loop = AdjustmentLoop(slurm: cluster, configuration: c, log: { _ in })
        _ = loop.runCycle(now: now)
        #expect(cluster.commands.isEmpty)
        let observed = loop.state.inFlight.filter { $0.origin == .observed }
        #expect(Set(observed.map(\.node)) == ["node1", "cloud1", "cloud2"])
        #expect(loop.state.inFlight(cloud: "cloud1")?.action == .powerUp)
        // Once Slurm shows the result, they are no longer in flight.
        cluster.nodes[0].flags = [.poweredDown]
        cluster.nodes[2].flags = [.cloud]
        cluster.nodes[2].lastBusy = now + 60
        cluster.nodes[3].flags = [.cloud, .poweredDown]
        _ = loop.runCycle(now: now + 60)
        #expect(loop.state.inFlight.isEmpty)
    }

    /// slurmctld unreachable for 4 cycles: the wait grows (capped at 300 s), one log line per failed cycle, and
    /// the loop resumes at the normal interval when Slurm answers.
    @Test func slurmOutageBacksOffOneLineEachAndResumes() throws {
        let dir = temporaryDirectory("outage")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cluster = smallCluster(pendingNodes: nil)
        let faults = FaultInjector(cluster)
        faults.failingLoads = 4
        let log = LogLines()
        var loop = AdjustmentLoop(slurm: faults, configuration: configuration(dir), log: log.append)
        var waits: [Int] = []
        var snapshots: [StatusSnapshot] = []
        for i in 0..<5 {
            waits.append(loop.runCycle(now: now + Int64(i) * 60))
            snapshots.append(try #require(loop.status))
        }
        // While backing off, the snapshot announces the later cycle, so `prewarm status` does not call the
        // daemon down 3 intervals after it.
        #expect(snapshots[2].nextCycle == now + 120 + 300 && !snapshots[2].slurm.reachable)
        #expect(!snapshots[2].isStale(now: now + 120 + 300 + 60))
        #expect(snapshots[2].isStale(now: now + 120 + 300 + 121))
        #expect(waits == [120, 240, 300, 300, 60])
        #expect(log.lines.filter { $0.contains("slurm unreachable") }.count == 4)
        #expect(log.lines.first?.contains("Unable to contact slurm controller") == true)
        #expect(log.lines.contains("slurm reachable again after 4 failed cycle(s)"))
        #expect(loop.counters.slurmErrors == 4)
        // The snapshot after the outage says Slurm answers and keeps the last error.
        let s = try StateDirectory(path: dir).loadStatus()
        #expect(s.slurm.reachable && s.slurm.consecutiveFailures == 0)
        #expect(s.slurm.lastError?.contains("slurm_load_node") == true)
    }

    /// If the state cannot be saved, no command is sent (a restart could not know about it).
    @Test func noCommandWhenTheStateCannotBeSaved() throws {
        let dir = temporaryDirectory("unsaved")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = FileManager.default.createFile(atPath: dir + "/file", contents: Data())
        let cluster = smallCluster(pendingNodes: 4)
        let log = LogLines()
        var loop = AdjustmentLoop(slurm: cluster, configuration: configuration(dir + "/file/state"), log: log.append)
        _ = loop.runCycle(now: now)
        #expect(cluster.commands.isEmpty)
        #expect(loop.state.inFlight.isEmpty)
        #expect(log.lines.contains { $0.contains("cannot save the daemon state") && $0.contains("not sent") })
    }

    /// A refused command is recorded as refused, counted, and not left in flight.
    @Test func refusedCommandsAreNotInFlight() throws {
        let dir = temporaryDirectory("refused")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cluster = smallCluster(pendingNodes: 3)
        // Every power command fails.
        let faults = FaultInjector(cluster)
        faults.killAtPowerCommand = 1
        var loop = AdjustmentLoop(slurm: faults, configuration: configuration(dir), log: { _ in })
        _ = loop.runCycle(now: now)
        #expect(loop.state.inFlight.isEmpty)
        #expect(loop.state.issuedTimes.isEmpty)
        #expect(loop.state.recentActions.last?.outcome == .refused)
        #expect(loop.counters.refused == 1)
        let saved = try #require(try StateDirectory(path: dir).loadState())
        #expect(saved.inFlight.isEmpty)
    }

    /// Slurm's `SuspendExcNodes=cloud[1-4]:2` keeps two idle cloud nodes up: the daemon powers down only the other
    /// two (the nodes slurmctld would not keep). An item it cannot resolve (a NodeSet, from Slurm 24.05) withholds
    /// every power-down, said once however many cycles see it.
    @Test func slurmsCountedExclusionsAreKeptUp() throws {
        func run(_ exclusions: SlurmPowerExclusions, cycles: Int = 1)
            -> (commands: [String], log: [String], status: StatusSnapshot?, metrics: String)
        {
            let dir = temporaryDirectory("exc")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let cluster = smallCluster(pendingNodes: nil)
            for i in cluster.nodes.indices where cluster.nodes[i].name.hasPrefix("cloud") {
                cluster.nodes[i].flags = [.cloud]
                cluster.nodes[i].lastBusy = now - 7200
            }
            cluster.exclusions = exclusions
            var c = configuration(dir)
            c.policy.minIdleBeforePowerDown = 60
            c.excludeNodes = ["node1"]
            let log = LogLines()
            var loop = AdjustmentLoop(slurm: cluster, configuration: c, log: log.append)
            for k in 0 ..< cycles { _ = loop.runCycle(now: now + Int64(k) * 60) }
            return (cluster.commands.map { "\($0.node) \($0.request)" }.sorted(), log.lines, loop.status, loop.metricsText)
        }
        #expect(run(SlurmPowerExclusions()).commands == ["cloud1 down", "cloud2 down", "cloud3 down", "cloud4 down"])
        let counted = run(SlurmPowerExclusions(nodes: "cloud[1-4]:2", syntax: .upTo2311))
        #expect(counted.commands == ["cloud3 down", "cloud4 down"])
        #expect(counted.status?.partitions.first?.keptUp == 2)
        #expect(counted.metrics.contains("prewarm_nodes_kept_up{partition=\"debug\"} 2\n"))
        #expect(counted.metrics.contains("prewarm_power_downs_withheld 0\n"))
        if let status = counted.status {
            #expect(PrewarmCLI.Status.render(status, now: now, actions: 5).contains("(2 kept up by Slurm)"))
        }
        #expect(run(SlurmPowerExclusions(nodes: "cloud[1-4]:2", syntax: .since2405)).commands
            == ["cloud3 down", "cloud4 down"])
        #expect(run(SlurmPowerExclusions(states: "CLOUD")).commands.isEmpty)
        let withheld = run(SlurmPowerExclusions(nodes: "cloudset", syntax: .since2405), cycles: 3)
        #expect(withheld.commands.isEmpty)
        #expect(withheld.log.filter { $0.contains("'cloudset'") && $0.hasPrefix("warning:") }.count == 1)
        #expect(withheld.status?.powerDownsWithheld?.contains("'cloudset'") == true)
        #expect(withheld.metrics.contains("prewarm_power_downs_withheld 1\n"))
        if let status = withheld.status {
            #expect(PrewarmCLI.Status.render(status, now: now, actions: 5).contains("POWER-DOWNS WITHHELD: SuspendExcNodes 'cloudset'"))
        }
    }

    /// forecast-only: decisions are recorded as "would", counted, and nothing is in flight.
    @Test func forecastOnlyRecordsWhatItWouldDo() throws {
        let dir = temporaryDirectory("would")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cluster = smallCluster(pendingNodes: 4)
        var loop = AdjustmentLoop(slurm: cluster, configuration: configuration(dir, mode: .forecastOnly), log: { _ in })
        _ = loop.runCycle(now: now)
        #expect(cluster.commands.isEmpty)
        #expect(loop.state.recentActions.map(\.outcome) == [.would, .would])
        #expect(loop.counters.would[.powerUp] == 2)
        #expect(loop.state.inFlight.isEmpty)
    }

    /// forecast-only changes nothing, so the same plan comes back every cycle: each action is said when it first
    /// appears (and again an hour later if still planned), with one line a cycle in between, not one per node.
    @Test func forecastOnlySaysAnActionOnceWhileItStaysPlanned() throws {
        let dir = temporaryDirectory("would-once")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cluster = smallCluster(pendingNodes: 4)
        let log = LogLines()
        var loop = AdjustmentLoop(slurm: cluster, configuration: configuration(dir, mode: .forecastOnly), log: log.append)
        _ = loop.runCycle(now: now)
        #expect(log.lines.filter { $0.hasPrefix("would power up") }.count == 2)
        for k in 1 ... 5 { _ = loop.runCycle(now: now + 60 * Int64(k)) }
        #expect(log.lines.filter { $0.hasPrefix("would power up") }.count == 2)
        #expect(log.lines.filter { $0.hasPrefix("cycle:") && $0.contains("no new action; would still power up 2") }.count == 5)
        #expect(loop.counters.would[.powerUp] == 2)
        #expect(loop.state.recentActions.count == 2)
        // An hour after they were said, and still planned: said again.
        _ = loop.runCycle(now: now + 3600)
        #expect(log.lines.filter { $0.hasPrefix("would power up") }.count == 4)
        #expect(loop.counters.would[.powerUp] == 4)
        // No longer planned (the job gone): forgotten; planned again, said again at once.
        let job = cluster.jobs
        cluster.jobs = []
        _ = loop.runCycle(now: now + 3660)
        #expect(loop.saidWould.keys.allSatisfy { !$0.hasPrefix("cloud") })
        cluster.jobs = job
        _ = loop.runCycle(now: now + 3720)
        #expect(log.lines.filter { $0.hasPrefix("would power up") }.count == 6)
        #expect(cluster.commands.isEmpty)
    }
}

extension DaemonState {
    fileprivate func inFlight(cloud name: String) -> InFlightCommand? { inFlight(name) }
}

/// `BootLeadTime=auto`: the lead time is learned from the power-ups the daemon saw complete.
@Test func theBootLeadTimeIsLearnedFromMeasuredPowerUps() throws {
    #expect(BootLeadEstimator.lead(samples: [40, 50], interval: 5) == nil)  // too few
    #expect(BootLeadEstimator.lead(samples: [40, 50, 45], interval: 5) == 55)  // 90th percentile + a cycle
    var samples: [Int64] = []
    for s in 1 ... 60 { BootLeadEstimator.record(Int64(s), into: &samples) }
    BootLeadEstimator.record(-5, into: &samples)  // a clock step: ignored
    #expect(samples.count == 50 && samples.first == 11)
    #expect(BootLeadEstimator.lead(samples: samples, interval: 0) == 55)

    let dir = temporaryDirectory("bootlead")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var c = configuration(dir)
    c.bootLeadLearned = true
    c.interval = 10
    let log = LogLines()
    let cluster = smallCluster(pendingNodes: 4)
    var loop = AdjustmentLoop(slurm: cluster, configuration: c, log: log.append)
    var t = now
    // Three rounds: the job's two CLOUD nodes are powered up, take 40, 50 and 70 s to come up, then power down.
    for boot: Int64 in [40, 50, 70] {
        _ = loop.runCycle(now: t)
        let asked = cluster.commands.suffix(2).map(\.node)
        #expect(asked.count == 2 && asked.allSatisfy { $0.hasPrefix("cloud") })
        for i in cluster.nodes.indices where asked.contains(cluster.nodes[i].name) {
            cluster.nodes[i].flags = [.cloud]  // up and idle
            cluster.nodes[i].bootTime = t + boot
        }
        _ = loop.runCycle(now: t + boot)
        for i in cluster.nodes.indices where cluster.nodes[i].name.hasPrefix("cloud") {
            cluster.nodes[i].flags = [.cloud, .poweredDown]
        }
        t += 3600
    }
    // Measured 40, 40, 50, 50, 70, 70: the 90th percentile (70) plus one 10 s cycle.
    #expect(loop.state.bootDurations == [40, 40, 50, 50, 70, 70])
    #expect(loop.effectiveBootLead == 80)
    #expect(log.lines.contains { $0.contains("boot lead time learned: 80s") })
    // Persisted: a restarted daemon plans with it at once.
    let restarted = AdjustmentLoop(slurm: cluster, configuration: c, log: { _ in })
    #expect(restarted.state.bootDurations?.count == 6)
}

/// An unreadable state.json (damaged, or a newer prewarmd's format after a downgrade) is moved aside, said in the log,
/// and the daemon starts without it; the first save writes a fresh file and the unreadable one is still there, byte
/// for byte (before 2026-12-07 the first save overwrote it).
@Test func anUnreadableStateFileIsKeptAside() throws {
    let dir = temporaryDirectory("unreadable")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let file = StateDirectory(path: dir).stateFile
    let garbage = Data("{\"version\": 99, \"inFlight\": [".utf8)
    try garbage.write(to: URL(fileURLWithPath: file))
    let log = LogLines()
    var loop = AdjustmentLoop(slurm: smallCluster(pendingNodes: nil), configuration: configuration(dir), log: log.append)
    let aside = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix("state.json.unreadable-") }
    #expect(aside.count == 1)
    #expect(log.lines.contains { $0.hasPrefix("error: ") && $0.contains("kept as \(dir)/state.json.unreadable-") }, "\(log.lines)")
    _ = loop.runCycle(now: now)
    #expect(try StateDirectory(path: dir).loadState() != nil)
    #expect(FileManager.default.contents(atPath: dir + "/" + (aside.first ?? "")) == garbage)
}

/// A boot longer than the 10 minutes after which a command Slurm does not show is forgotten (bare metal, with a long
/// `ResumeTimeout`): while Slurm shows the node powering up the command stays in flight, is not sent again, and the
/// boot is measured whole. Before, it was forgotten at 10 minutes, adopted again as someone else's, and never timed:
/// `BootLeadTime=auto` learned only the boots shorter than 10 minutes.
@Test func aBootLongerThanTenMinutesIsMeasuredWhole() throws {
    let dir = temporaryDirectory("longboot")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var c = configuration(dir)
    c.bootLeadLearned = true
    c.interval = 60
    let cluster = smallCluster(pendingNodes: 4)
    var loop = AdjustmentLoop(slurm: cluster, configuration: c, log: { _ in })
    _ = loop.runCycle(now: now)
    let asked = cluster.commands.map(\.node)
    #expect(asked.count == 2 && asked.allSatisfy { $0.hasPrefix("cloud") })
    for i in cluster.nodes.indices where asked.contains(cluster.nodes[i].name) {
        cluster.nodes[i].flags = [.cloud, .poweringUp]
    }
    // 25 minutes of boot, a cycle a minute: no command is repeated, both stay in flight as issued.
    for minute in Int64(1) ... 25 { _ = loop.runCycle(now: now + 60 * minute) }
    #expect(cluster.commands.count == 2)
    #expect(loop.state.inFlight.filter { $0.origin == .issued }.map(\.node).sorted() == asked.sorted())
    for i in cluster.nodes.indices where asked.contains(cluster.nodes[i].name) {
        cluster.nodes[i].flags = [.cloud]
        cluster.nodes[i].bootTime = now + 1530
    }
    _ = loop.runCycle(now: now + 1530)
    #expect(loop.state.bootDurations == [1530, 1530])
    #expect(loop.state.inFlight.isEmpty)
    // A command Slurm never shows is still forgotten after 10 minutes (and may be issued again).
    let dir2 = temporaryDirectory("longboot2")
    defer { try? FileManager.default.removeItem(atPath: dir2) }
    let other = smallCluster(pendingNodes: 4)
    var second = AdjustmentLoop(slurm: other, configuration: configuration(dir2), log: { _ in })
    _ = second.runCycle(now: now)
    #expect(second.state.inFlight.count == 2)
    for i in other.nodes.indices { other.nodes[i].flags.remove(.powerUpRequested) }  // Slurm shows nothing of them
    _ = second.runCycle(now: now + 599)
    #expect(other.commands.count == 2)
    _ = second.runCycle(now: now + 601)
    #expect(other.commands.count == 4)  // forgotten, and the job still needs them: asked again
}
