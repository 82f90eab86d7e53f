// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

/// The power state of one simulated node.
public enum NodePowerState: UInt8, Sendable, CaseIterable {
    /// Powered off (draws `offWatts`).
    case off
    /// Booting: powered, not yet usable; becomes idle after `bootTime`.
    case booting
    /// Powered and up, not running a job (it may be allocated to a job waiting for other nodes to boot).
    case idle
    /// Running a job.
    case busy
    /// Shutting down; becomes off after `powerDownTime` and cannot boot before.
    case poweringDown
}

/// A homogeneous cluster to simulate: nodes, how long they take to boot and shut down, what they draw and cost.
public struct SimulatedCluster: Sendable, Equatable {
    /// Number of nodes (at least 1).
    public var nodes: Int
    /// Cores per node (at least 1); a job needs `ceil(procs / coresPerNode)` whole nodes.
    public var coresPerNode: Int
    /// Seconds from power-up to usable.
    public var bootTime: Int64
    /// Seconds from power-down to off (a node cannot boot again before).
    public var powerDownTime: Int64
    /// Watts drawn by a node that is off.
    public var offWatts: Double
    /// Watts drawn by a powered node that is not running a job (also while booting or powering down).
    public var idleWatts: Double
    /// Watts drawn by a node running a job.
    public var busyWatts: Double
    /// Price of one powered node-hour (cloud), or `nil` when nodes are not priced.
    public var pricePerNodeHour: Double?
    /// How many queued jobs behind the head job a scheduling pass considers for backfilling
    /// (Slurm's `bf_max_job_test`).
    public var backfillDepth: Int
    /// Whether jobs share nodes, as where Slurm gives jobs cores (`SelectType=select/cons_tres`): a job of one node
    /// and fewer processors than a node has takes that many cores of a node (``sharedCores(for:)``), and other such
    /// jobs may run beside it. Otherwise (the default) every job takes whole nodes.
    public var sharesNodes = false

    /// Creates a cluster; counts and times are clamped to sensible minimums (nodes, cores ≥ 1, times ≥ 0).
    public init(
        nodes: Int, coresPerNode: Int = 1, bootTime: Int64 = 300, powerDownTime: Int64 = 60,
        offWatts: Double = 5, idleWatts: Double = 100, busyWatts: Double = 300, pricePerNodeHour: Double? = nil,
        backfillDepth: Int = 500
    ) {
        self.nodes = Swift.max(1, nodes)
        self.coresPerNode = Swift.max(1, coresPerNode)
        self.bootTime = Swift.max(0, bootTime)
        self.powerDownTime = Swift.max(0, powerDownTime)
        self.offWatts = offWatts
        self.idleWatts = idleWatts
        self.busyWatts = busyWatts
        self.pricePerNodeHour = pricePerNodeHour
        self.backfillDepth = Swift.max(0, backfillDepth)
    }

    /// Cores per node for a Standard Workload Format trace: `MaxProcs / MaxNodes`, at least 1
    /// (1 when either header field is missing).
    public static func coresPerNode(maxProcs: Int?, maxNodes: Int?) -> Int {
        guard let procs = maxProcs, let nodes = maxNodes, procs > 0, nodes > 0 else { return 1 }
        return Swift.max(1, procs / nodes)
    }

    /// Whole nodes a job occupies: `ceil(procs / coresPerNode)`, at least 1 (may exceed `nodes`).
    public func nodesNeeded(procs: Int32) -> Int {
        let p = Swift.max(1, Int(procs))
        return (p + coresPerNode - 1) / coresPerNode
    }

    /// Nodes a job occupies: its requested node count when known (Slurm), else from its processors.
    public func nodesNeeded(for job: JobRecord) -> Int {
        if job.requestedNodes > 0 { return Int(job.requestedNodes) }
        return nodesNeeded(procs: job.procs)
    }

    /// The cores of one node a job takes where jobs share nodes (``sharesNodes``): its processors, when it needs one
    /// node and fewer processors than a node has; 0 when it takes whole nodes (always, unless ``sharesNodes``). A
    /// job Slurm gave a whole node (`--exclusive`) has the node's processors allocated, so it takes the node.
    public func sharedCores(for job: JobRecord) -> Int {
        guard sharesNodes, nodesNeeded(for: job) == 1 else { return 0 }
        let p = Int(job.procs)
        return p >= 1 && p < coresPerNode ? p : 0
    }
}
