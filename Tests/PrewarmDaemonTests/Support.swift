// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import Foundation
import PrewarmCore
import SlurmKit

/// A cluster held in memory behind the `SlurmClient` protocol (the daemon's one seam): a power request sets the
/// flag Slurm sets when it accepts one (`POWER_UP`/`POWER_DOWN` requested), as `slurm_update_node` does.
final class ClusterState: SlurmClient {
    var nodes: [SlurmNode]
    var partitions: [SlurmPartition]
    var jobs: [SlurmJob]
    var exclusions = SlurmPowerExclusions()
    /// `SelectType=select/cons_tres`: jobs may share nodes.
    var allocatesCores = false
    /// Every accepted power request, in order.
    var commands: [(node: String, request: PowerRequest)] = []

    init(nodes: [SlurmNode], partitions: [SlurmPartition], jobs: [SlurmJob]) {
        self.nodes = nodes
        self.partitions = partitions
        self.jobs = jobs
    }

    func loadNodes() throws(SlurmError) -> [SlurmNode] { nodes }
    func loadPartitions() throws(SlurmError) -> [SlurmPartition] { partitions }
    func loadJobs() throws(SlurmError) -> [SlurmJob] { jobs }
    func loadPowerExclusions() throws(SlurmError) -> SlurmPowerExclusions { exclusions }
    func loadAllocatesCores() throws(SlurmError) -> Bool { allocatesCores }
    func updatePower(nodes names: String, _ request: PowerRequest) throws(SlurmError) {
        commands.append((names, request))
        guard let i = nodes.firstIndex(where: { $0.name == names }) else {
            throw SlurmError(
                operation: "slurm_update_node \(names)", code: 2001, message: "Invalid node name specified")
        }
        nodes[i].flags.insert(request == .up ? .powerUpRequested : .powerDownRequested)
    }
}

/// Wraps a client and injects faults: loads that fail for a number of calls, and a "kill" at the n-th power
/// command (the bytes of the state file at that moment are kept: what a SIGKILL would leave on disk).
final class FaultInjector: SlurmClient {
    let wrapped: SlurmClient
    var failingLoads = 0
    var killAtPowerCommand: Int?
    var stateFile = ""
    var diskAtKill: Data?
    private var powerCommands = 0

    struct Killed: Error {}

    init(_ wrapped: SlurmClient) { self.wrapped = wrapped }

    func loadNodes() throws(SlurmError) -> [SlurmNode] {
        if failingLoads > 0 {
            failingLoads -= 1
            throw SlurmError(
                operation: "slurm_load_node", code: 1007,
                message: "Unable to contact slurm controller (connect failure)")
        }
        return try wrapped.loadNodes()
    }
    func loadPartitions() throws(SlurmError) -> [SlurmPartition] { try wrapped.loadPartitions() }
    func loadJobs() throws(SlurmError) -> [SlurmJob] { try wrapped.loadJobs() }
    func loadPowerExclusions() throws(SlurmError) -> SlurmPowerExclusions {
        try wrapped.loadPowerExclusions()
    }
    func loadAllocatesCores() throws(SlurmError) -> Bool { try wrapped.loadAllocatesCores() }
    func updatePower(nodes: String, _ request: PowerRequest) throws(SlurmError) {
        powerCommands += 1
        if let k = killAtPowerCommand, powerCommands >= k {
            if diskAtKill == nil { diskAtKill = FileManager.default.contents(atPath: stateFile) ?? Data() }
            throw SlurmError(operation: "killed", code: -9, message: "the daemon died here (SIGKILL)")
        }
        try wrapped.updatePower(nodes: nodes, request)
    }
}

let now: Int64 = 1_800_000_000

/// node1 idle (2 h), node2 allocated, cloud1–4 powered down, all in `debug`; optionally a pending job.
func smallCluster(pendingNodes: Int?, at now: Int64 = now) -> ClusterState {
    var nodes = [
        SlurmNode(name: "node1", base: .idle, flags: [], partitions: ["debug"], lastBusy: now - 7200),
        SlurmNode(name: "node2", base: .allocated, flags: [], partitions: ["debug"]),
    ]
    for i in 1...4 {
        nodes.append(SlurmNode(name: "cloud\(i)", base: .idle, flags: [.cloud, .poweredDown], partitions: ["debug"]))
    }
    var jobs: [SlurmJob] = []
    if let n = pendingNodes {
        jobs.append(
            SlurmJob(
                id: 9, arrayJobID: 0, arrayTaskID: 0, userID: 1, account: "", name: "j", partition: "debug",
                state: .pending, reasonCode: 0, submitTime: now, eligibleTime: now, startTime: 0, endTime: 0,
                timeLimitMinutes: 30, cpus: 2, nodeCount: n, nodes: "", adminComment: "", dependency: ""))
    }
    return ClusterState(
        nodes: nodes, partitions: [SlurmPartition(name: "debug", nodes: "node[1-2],cloud[1-4]")], jobs: jobs)
}

/// A fresh state directory, removed by the caller.
func temporaryDirectory(_ tag: String) -> String {
    let d = FileManager.default.temporaryDirectory.appendingPathComponent("prewarm-\(tag)-\(UUID().uuidString)").path
    try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    return d
}

/// Collects log lines.
final class LogLines: @unchecked Sendable {
    var lines: [String] = []
    func append(_ s: String) { lines.append(s) }
}
