// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

/// Why a policy asked for a power action (kept with the action for reports and logs).
public enum PowerActionReason: Sendable, Equatable {
    /// Keep every node powered.
    case alwaysOn
    /// The node has been idle for the configured suspend time (Slurm's `SuspendTime`).
    case idleTimeout
    /// A job is expected to need the node within a boot time.
    case anticipatedDemand
    /// The node is idle and not expected to be needed within a boot plus power-down time.
    case notNeededSoon
    /// Any other reason, free text.
    case other(String)
}

/// One action a policy asks the simulator (or, later, the daemon) to carry out.
public enum PowerAction: Sendable, Equatable {
    /// Power up `count` nodes of the simulator's choice (off nodes first, then nodes powering down).
    case powerUp(count: Int, reason: PowerActionReason)
    /// Power up these nodes (ignored for nodes that are already up or booting).
    case powerUpNodes([Int], reason: PowerActionReason)
    /// Power down these nodes; only idle nodes not allocated to a job are powered down, the rest are ignored.
    case powerDown([Int], reason: PowerActionReason)
}

/// What a policy returns when consulted.
public struct PowerDecision: Sendable, Equatable {
    /// Actions to apply now, in order.
    public var actions: [PowerAction]
    /// Consult the policy again at this time at the latest (in addition to events and ticks), or `nil`.
    public var wakeAt: Int64?

    /// Creates a decision.
    public init(actions: [PowerAction] = [], wakeAt: Int64? = nil) {
        self.actions = actions
        self.wakeAt = wakeAt
    }

    /// No action, no wake-up.
    public static let none = PowerDecision()
}

/// A power-management policy hosted by the ``Simulator`` (and, later, by the daemon).
///
/// The simulator consults ``decide(_:)`` after every batch of simultaneous events (submissions, job ends,
/// boots and power-downs completing, after the scheduling pass), every ``tickInterval`` seconds when it is
/// positive, and at the policy's requested ``PowerDecision/wakeAt``. It never powers down a busy or
/// allocated node whatever the policy asks.
public protocol PowerPolicy {
    /// Whether nodes are powered (idle) when the simulation starts; otherwise they start off.
    var startsPowered: Bool { get }
    /// Seconds between periodic consultations, or 0 for none.
    var tickInterval: Int64 { get }
    /// Looks at the cluster and returns power actions.
    mutating func decide(_ view: ClusterView) -> PowerDecision
    /// A job was submitted (`runtime` and `wait` are hidden as -1: no peeking).
    mutating func jobSubmitted(_ job: JobRecord, at time: Int64)
    /// A job finished; `job.runtime` is the time it actually ran and `job.wait` its wait.
    mutating func jobFinished(_ job: JobRecord, at time: Int64)
    /// Mean accuracy of the runtime predictions the policy planned with, for a policy that predicts runtimes.
    var runtimeAccuracy: Double? { get }
}

extension PowerPolicy {
    /// No periodic tick by default.
    public var tickInterval: Int64 { 0 }
    /// Ignores submissions by default.
    public mutating func jobSubmitted(_ job: JobRecord, at time: Int64) {}
    /// Ignores completions by default.
    public mutating func jobFinished(_ job: JobRecord, at time: Int64) {}
    /// Predicts no runtimes by default.
    public var runtimeAccuracy: Double? { nil }
}

/// A queued job as a policy may see it.
public struct QueuedJobView: Sendable, Equatable {
    /// The job as submitted (`runtime` and `wait` hidden as -1).
    public var job: JobRecord
    /// Nodes it needs.
    public var nodes: Int
    /// Its time limit in seconds (requested time, or its runtime when the request is unknown).
    public var timeLimit: Int64
    /// Cores of one node it takes where jobs share nodes (``SimulatedCluster/sharesNodes``); 0: whole nodes.
    public var cores: Int = 0
}

/// A job holding nodes (running, or placed and waiting for its nodes to boot) as a policy may see it.
public struct RunningJobView: Sendable, Equatable {
    /// The job as submitted (`runtime` and `wait` hidden as -1).
    public var job: JobRecord
    /// Nodes it holds.
    public var nodes: Int
    /// When it was placed on its nodes.
    public var placedAt: Int64
    /// When it started, or `nil` while it waits for nodes to boot.
    public var startedAt: Int64?
    /// When it will end at the latest (start, or expected start, plus its time limit).
    public var requestedEnd: Int64
    /// The node it shares with other jobs (``SimulatedCluster/sharesNodes``), `nil` when it holds whole nodes.
    public var sharedNode: Int? = nil
}

/// A read-only view of the simulated cluster, handed to ``PowerPolicy/decide(_:)``.
public struct ClusterView {
    let engine: SimulationEngine

    /// Current simulated time (Unix seconds).
    public var now: Int64 { engine.now }
    /// The cluster configuration.
    public var cluster: SimulatedCluster { engine.cluster }
    /// Number of nodes.
    public var nodeCount: Int { engine.cluster.nodes }
    /// Power state of `node`.
    public func state(ofNode node: Int) -> NodePowerState { engine.nodeState[node] }
    /// Whether `node` is allocated to a job (busy, or held for a job waiting for boots).
    public func isAllocated(_ node: Int) -> Bool { engine.nodeJob[node] != -1 }
    /// When `node` entered its current state (for an idle node: idle since).
    public func stateSince(_ node: Int) -> Int64 { engine.nodeSince[node] }
    /// When a booting or powering-down node completes the transition (meaningless in other states).
    public func transitionEnd(_ node: Int) -> Int64 { engine.nodeStateEnd[node] }
    /// Idle nodes not allocated to any job: the ones a policy may power down. Unordered.
    public var idleNodes: [Int32] { engine.idlePool.items }
    /// Calls `body` with the idle nodes not allocated to any job, longest idle first, with the time each became
    /// idle, until `body` returns false. Costs O(nodes visited), not O(nodes).
    public func forEachIdleNodeByIdleTime(_ body: (_ node: Int, _ idleSince: Int64) -> Bool) {
        engine.forEachIdleByAge(body)
    }
    /// Number of nodes in `state`.
    public func count(_ state: NodePowerState) -> Int { engine.stateCounts[Int(state.rawValue)] }
    /// Nodes powered or becoming powered: neither off nor powering down.
    public var poweredNodes: Int { nodeCount - count(.off) - count(.poweringDown) }
    /// Nodes not allocated to a job (what the scheduler can place jobs on, whatever their power state).
    public var freeNodes: Int { engine.freeCount }
    /// Number of queued jobs.
    public var queuedCount: Int { engine.queue.count }
    /// Total nodes needed by queued jobs (those that share nodes: the nodes their cores fill).
    public var queuedNodeDemand: Int { engine.queuedNodeDemand }
    /// Cores of the jobs holding nodes (a whole-node job: all its nodes' cores).
    public var usedCores: Int { engine.usedCores }
    /// Cores of the queued jobs (a whole-node job: all its nodes' cores).
    public var queuedCoreDemand: Int { engine.queuedCores }
    /// The `i`-th queued job in priority (FCFS) order.
    public func queuedJob(_ i: Int) -> QueuedJobView {
        let j = Int(engine.queue[i])
        return QueuedJobView(
            job: engine.visibleRecord(j), nodes: engine.jobNodes[j], timeLimit: engine.jobLimit[j],
            cores: Int(engine.jobCores[j]))
    }
    /// Number of jobs holding nodes.
    public var runningCount: Int { engine.running.items.count }
    /// The `i`-th job holding nodes (unordered).
    public func runningJob(_ i: Int) -> RunningJobView {
        let j = Int(engine.running.items[i])
        let start = engine.startAt[j]
        return RunningJobView(
            job: engine.visibleRecord(j), nodes: engine.jobNodes[j], placedAt: engine.placedAt[j],
            startedAt: start >= 0 ? start : nil, requestedEnd: engine.expectedEnd[j],
            sharedNode: engine.jobCores[j] > 0 ? engine.allocation[j].first.map { Int($0) } : nil)
    }
}
