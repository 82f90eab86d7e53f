// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

/// Running jobs' demand where jobs share nodes (Slurm's cons_tres, ``SimulatedCluster/sharesNodes``): each node is
/// busy until the last of its jobs is predicted to end, so jobs that share a node count one node, not one each.
/// The daemon's live forecast (nodes by name) and the simulator's prewarm policy (nodes by index) both use it.
public struct SharedNodeDemand<Node: Hashable> {
    private var ends: [Node: (end: Int64, late: Int64)] = [:]
    private var order: [Node] = []

    public init() {}

    /// A job on `node` (among others perhaps) with its predicted and late ends.
    public mutating func add(on node: Node, _ demand: RunningDemand) {
        if let known = ends[node] {
            ends[node] = (Swift.max(known.end, demand.predictedEnd), Swift.max(known.late, demand.lateEnd))
        } else {
            ends[node] = (demand.predictedEnd, demand.lateEnd)
            order.append(node)
        }
    }

    /// The nodes met, in the order first met.
    public var nodes: [Node] { order }

    /// One node of demand per node met, in the order first met, until its last job's ends.
    public var demands: [RunningDemand] {
        order.compactMap { n in ends[n].map { RunningDemand(nodes: 1, predictedEnd: $0.end, lateEnd: $0.late) } }
    }
}

/// Queued jobs that take a share of a node (fewer CPUs than a node has), packed into nodes in queue order as the
/// controller would fit them: each goes to the first node opened for jobs that may start in the same minute of the
/// forecast with CPUs left, else opens one; a node is busy for the longest of its jobs. The live forecast and the
/// simulator's prewarm policy both use it.
public struct SharedNodePacker {
    public let coresPerNode: Int
    /// The forecast's start: earliest starts in the same minute of its grid pack together.
    public let now: Int64
    /// The nodes with CPUs left: minute of the earliest start, CPUs used, and the node's place in the pending list.
    private var open: [(minute: Int64, used: Int, at: Int)] = []

    public init(coresPerNode: Int, now: Int64 = 0) {
        self.coresPerNode = Swift.max(1, coresPerNode)
        self.now = now
    }

    /// Adds a queued job of `cpus` CPUs (fewer than a node has) to `pending`: into an open node, or as a new one.
    public mutating func add(
        cpus: Int, predictedRuntime: Int64, lateRuntime: Int64, earliestStart: Int64?, to pending: inout [PendingDemand]
    ) {
        let c = Swift.max(1, cpus)
        // Jobs eligible a few seconds apart share a node, as the controller gives them one when they start.
        let m = earliestStart.map { DemandForecaster.minute(of: $0, now: now) } ?? 0
        if let b = open.firstIndex(where: { $0.minute == m && $0.used + c <= coresPerNode }) {
            let at = open[b].at
            pending[at].predictedRuntime = Swift.max(pending[at].predictedRuntime, predictedRuntime)
            pending[at].lateRuntime = Swift.max(pending[at].lateRuntime, lateRuntime, predictedRuntime)
            open[b].used += c
            if open[b].used >= coresPerNode { open.remove(at: b) }
        } else {
            if c < coresPerNode { open.append((m, c, pending.count)) }
            pending.append(PendingDemand(
                nodes: 1, predictedRuntime: predictedRuntime, lateRuntime: lateRuntime, earliestStart: earliestStart))
        }
    }
}
