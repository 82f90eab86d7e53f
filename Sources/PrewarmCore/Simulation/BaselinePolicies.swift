// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

/// Every node powered all the time: no boot waits, the most idle energy.
public struct AlwaysOnPolicy: PowerPolicy, Sendable {
    /// Creates the policy.
    public init() {}

    /// Nodes start powered.
    public var startsPowered: Bool { true }

    /// Powers up any node found off (none, unless something else powered it down).
    public mutating func decide(_ view: ClusterView) -> PowerDecision {
        let off = view.count(.off)
        return off > 0 ? PowerDecision(actions: [.powerUp(count: off, reason: .alwaysOn)]) : .none
    }
}

/// Slurm's power saving: nodes start off, are resumed only when the scheduler places a job on them (the job
/// waits for the boot), and an idle node is powered down once it has been idle `suspendTime` seconds.
public struct ReactivePolicy: PowerPolicy, Sendable {
    /// Seconds a node stays idle before it is powered down (Slurm's `SuspendTime`).
    public var suspendTime: Int64

    /// Creates the policy.
    public init(suspendTime: Int64 = 600) { self.suspendTime = Swift.max(0, suspendTime) }

    /// Nodes start off.
    public var startsPowered: Bool { false }

    /// Powers down nodes idle for `suspendTime`; wakes up when the next one reaches it.
    public mutating func decide(_ view: ClusterView) -> PowerDecision {
        let now = view.now
        var down: [Int] = []
        var wake = Int64.max
        view.forEachIdleNodeByIdleTime { node, since in
            let due = since &+ suspendTime
            if due <= now {
                down.append(node)
                return true
            }
            wake = due
            return false
        }
        return PowerDecision(
            actions: down.isEmpty ? [] : [.powerDown(down, reason: .idleTimeout)],
            wakeAt: wake == .max ? nil : wake)
    }
}

/// Nodes busy over time as a step function: `values[i]` from `times[i]` until the next change; 0 before.
public struct NodeDemandProfile: Sendable, Equatable {
    /// Change times, increasing.
    public var times: [Int64]
    /// Busy nodes from each change time on.
    public var values: [Int]

    public init(times: [Int64], values: [Int]) {
        self.times = times
        self.values = values
    }

    /// The busy-node curve of a simulated schedule (jobs that ran, from start to end).
    public init(outcomes: [JobOutcome]) {
        var deltas: [(Int64, Int)] = []
        deltas.reserveCapacity(outcomes.count * 2)
        for o in outcomes where o.skipped == nil && o.start >= 0 && o.end > o.start {
            deltas.append((o.start, o.nodes))
            deltas.append((o.end, -o.nodes))
        }
        deltas.sort { $0.0 < $1.0 }
        times = []
        values = []
        var level = 0
        var i = 0
        while i < deltas.count {
            let t = deltas[i].0
            while i < deltas.count, deltas[i].0 == t {
                level += deltas[i].1
                i += 1
            }
            times.append(t)
            values.append(level)
        }
    }
}

/// The maximum of a step function over a window `[t, t + width]` for nondecreasing `t` (monotonic deque).
struct SlidingStepMax {
    let width: Int64
    var deque: [Int] = []
    var dequeHead = 0
    var nextIn = 0
    var current = -1  // index of the last change at or before t

    init(width: Int64) { self.width = width }

    mutating func query(_ t: Int64, _ profile: NodeDemandProfile) -> Int {
        let times = profile.times
        let values = profile.values
        while current + 1 < times.count, times[current + 1] <= t { current += 1 }
        while nextIn < times.count, times[nextIn] <= t &+ width {
            while deque.count > dequeHead, let last = deque.last, values[last] <= values[nextIn] {
                deque.removeLast()
            }
            if deque.count < dequeHead { dequeHead = deque.count }
            deque.append(nextIn)
            nextIn += 1
        }
        while dequeHead < deque.count, times[deque[dequeHead]] <= t { dequeHead += 1 }
        if dequeHead > 4096, dequeHead * 2 > deque.count {
            deque.removeFirst(dequeHead)
            dequeHead = 0
        }
        var best = current >= 0 ? values[current] : 0
        if dequeHead < deque.count { best = Swift.max(best, values[deque[dequeHead]]) }
        return best
    }
}

/// The physical limit for a cluster and boot time: knows the future.
///
/// It first simulates the workload with every node always on (the schedule no boot wait can improve on)
/// and takes that schedule's busy-node curve `D(t)` as when jobs will need nodes. It then keeps at least
/// `max D` over `[t, t + boot]` nodes powered (so each node is powered up exactly one boot time before a job
/// needs it) and powers idle nodes down while more than `max D` over `[t, t + boot + powerDown]` are powered
/// (a node powered down now can be back by the end of that window). As long as no job waits for a boot, the
/// scheduler's decisions (which count free nodes whatever their power state) are the always-on ones, so the
/// curve stays exact and no job waits for a boot. Approximation: nodes the scheduler holds for a job it could
/// not start yet are not anticipated; this is exact for the always-on schedule.
public struct OraclePolicy: PowerPolicy, Sendable {
    /// The busy-node curve of the always-on schedule.
    public let profile: NodeDemandProfile
    let bootTime: Int64
    var upWindow: SlidingStepMax
    var keepWindow: SlidingStepMax

    /// Creates the oracle for `jobs` on `cluster` (runs the always-on simulation once). Where jobs share nodes, the
    /// curve is the nodes the schedule keeps busy (a node busy while any of its jobs runs), not the jobs' nodes.
    public init(jobs: [JobRecord], cluster: SimulatedCluster) {
        var alwaysOn = AlwaysOnPolicy()
        let reference = Simulator.run(
            jobs: jobs, cluster: cluster, policy: &alwaysOn,
            options: SimulationOptions(sampleInterval: 0, recordBusyNodes: cluster.sharesNodes))
        profile = reference.busyNodes ?? NodeDemandProfile(outcomes: reference.outcomes)
        bootTime = cluster.bootTime
        upWindow = SlidingStepMax(width: cluster.bootTime)
        keepWindow = SlidingStepMax(width: cluster.bootTime &+ cluster.powerDownTime)
    }

    /// Nodes start off.
    public var startsPowered: Bool { false }

    /// Powers up to the demand within a boot time, down to the demand within a boot plus power-down time.
    public mutating func decide(_ view: ClusterView) -> PowerDecision {
        let now = view.now
        let need = upWindow.query(now, profile)
        let keep = keepWindow.query(now, profile)
        let powered = view.poweredNodes
        var actions: [PowerAction] = []
        if need > powered {
            actions.append(.powerUp(count: need - powered, reason: .anticipatedDemand))
        } else if powered > keep {
            let surplus = Swift.min(powered - keep, view.idleNodes.count)
            if surplus > 0 {
                actions.append(.powerDown(view.idleNodes.prefix(surplus).map { Int($0) }, reason: .notNeededSoon))
            }
        }
        // Next times the windows change: a change leaving [t, ...] or entering [..., t + boot].
        var wake = Int64.max
        if upWindow.current + 1 < profile.times.count { wake = profile.times[upWindow.current + 1] }
        if upWindow.nextIn < profile.times.count {
            wake = Swift.min(wake, profile.times[upWindow.nextIn] &- bootTime)
        }
        return PowerDecision(actions: actions, wakeAt: wake == .max ? nil : wake)
    }
}

/// A policy run under Slurm's own power saving, as `prewarmd` runs on a live cluster: Slurm's power saving works only
/// with a `SuspendTime`, and Slurm suspends every node idle that long whatever the policy keeps it up for. The
/// policy sees such a node powering down at its next consultation (and may power it up again: a power cycle).
public struct UnderSlurmSuspend<Inner: PowerPolicy>: PowerPolicy {
    /// The policy deciding power-ups and earlier power-downs.
    public var inner: Inner
    /// Slurm's `SuspendTime`, as the reactive policy applies it.
    public var slurm: ReactivePolicy

    /// `inner` under Slurm's `SuspendTime` of `suspendTime` seconds.
    public init(_ inner: Inner, suspendTime: Int64) {
        self.inner = inner
        slurm = ReactivePolicy(suspendTime: suspendTime)
    }

    public var startsPowered: Bool { inner.startsPowered }
    public var tickInterval: Int64 { inner.tickInterval }

    /// Slurm's suspensions first (they do not wait for the policy), then the policy's own actions, decided on the
    /// same view.
    public mutating func decide(_ view: ClusterView) -> PowerDecision {
        let own = inner.decide(view)
        let suspended = slurm.decide(view)
        let wake: Int64? = switch (own.wakeAt, suspended.wakeAt) {
        case let (a?, b?): Swift.min(a, b)
        case let (a, b): a ?? b
        }
        return PowerDecision(actions: suspended.actions + own.actions, wakeAt: wake)
    }

    public mutating func jobSubmitted(_ job: JobRecord, at time: Int64) { inner.jobSubmitted(job, at: time) }
    public mutating func jobFinished(_ job: JobRecord, at time: Int64) { inner.jobFinished(job, at: time) }
    public var runtimeAccuracy: Double? { inner.runtimeAccuracy }
}

/// A policy under `prewarmd`'s hourly cap (`MaxActionsPerHour`): at most `cap` actions (one node powered up or down
/// each) in any rolling hour, counted as the daemon counts its issued commands (an action `now - t < 3600` s old
/// counts). When the policy asks for more than the cap leaves, its power-ups go first, in its order, then its
/// power-downs, as the daemon cuts its plan; what is cut the policy asks for again at a later step if still needed.
/// Slurm's own suspensions are not the daemon's actions: wrap this in ``UnderSlurmSuspend``, not the other way.
public struct UnderHourlyCap<Inner: PowerPolicy>: PowerPolicy {
    /// The policy whose actions are capped.
    public var inner: Inner
    /// Actions allowed per rolling hour.
    public let cap: Int
    /// When each counted action was issued, oldest first (from `head` on; earlier entries are forgotten).
    private var issued: [Int64] = []
    private var head = 0
    /// Actions the policy asked for and the cap cut (a node asked for again at a later step counts again).
    public private(set) var cutActions = 0

    /// `inner` allowed at most `cap` (≥ 0) actions per rolling hour.
    public init(_ inner: Inner, cap: Int) {
        self.inner = inner
        self.cap = Swift.max(0, cap)
    }

    public var startsPowered: Bool { inner.startsPowered }
    public var tickInterval: Int64 { inner.tickInterval }

    /// Actions still allowed at `now`.
    public mutating func remaining(at now: Int64) -> Int {
        while head < issued.count, now &- issued[head] >= 3600 { head += 1 }
        if head > 1024, head * 2 > issued.count {
            issued.removeFirst(head)
            head = 0
        }
        return Swift.max(0, cap - (issued.count - head))
    }

    public mutating func decide(_ view: ClusterView) -> PowerDecision {
        let own = inner.decide(view)
        guard !own.actions.isEmpty else { return own }
        let allowed = remaining(at: view.now)
        var budget = allowed
        var out: [PowerAction] = []  // power-ups first, then power-downs
        var downs: [PowerAction] = []
        for action in own.actions {
            switch action {
            case let .powerUp(count, reason):
                let n = Swift.min(Swift.max(count, 0), budget)
                cutActions += Swift.max(count, 0) - n
                budget -= n
                if n > 0 { out.append(.powerUp(count: n, reason: reason)) }
            case let .powerUpNodes(nodes, reason):
                let kept = Array(nodes.prefix(budget))
                cutActions += nodes.count - kept.count
                budget -= kept.count
                if !kept.isEmpty { out.append(.powerUpNodes(kept, reason: reason)) }
            case .powerDown:
                downs.append(action)
            }
        }
        for case let .powerDown(nodes, reason) in downs {
            let kept = Array(nodes.prefix(budget))
            cutActions += nodes.count - kept.count
            budget -= kept.count
            if !kept.isEmpty { out.append(.powerDown(kept, reason: reason)) }
        }
        for _ in 0 ..< allowed - budget { issued.append(view.now) }
        return PowerDecision(actions: out, wakeAt: own.wakeAt)
    }

    public mutating func jobSubmitted(_ job: JobRecord, at time: Int64) { inner.jobSubmitted(job, at: time) }
    public mutating func jobFinished(_ job: JobRecord, at time: Int64) { inner.jobFinished(job, at: time) }
    public var runtimeAccuracy: Double? { inner.runtimeAccuracy }
}
