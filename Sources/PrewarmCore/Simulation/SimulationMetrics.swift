// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

/// Options of one simulation run.
public struct SimulationOptions: Sendable, Equatable {
    /// Seconds between time-series samples, or 0 for no time series.
    public var sampleInterval: Int64
    /// Whether to record every event in ``SimulationResult/trace`` (for tests and debugging; costs memory).
    public var recordTrace: Bool
    /// Whether to record the busy-node curve (``SimulationResult/busyNodes``; the oracle's, where jobs share nodes).
    public var recordBusyNodes: Bool

    /// Creates options.
    public init(sampleInterval: Int64 = 600, recordTrace: Bool = false, recordBusyNodes: Bool = false) {
        self.sampleInterval = Swift.max(0, sampleInterval)
        self.recordTrace = recordTrace
        self.recordBusyNodes = recordBusyNodes
    }
}

/// Why a job was not simulated.
public enum SkipReason: UInt8, Sendable, Equatable {
    /// Runtime ≤ 0 (cancelled before start, or unknown).
    case noRuntime
    /// Needs more nodes than the cluster has.
    case tooLarge
}

/// What happened to one input job.
public struct JobOutcome: Sendable, Equatable {
    /// Submission time.
    public var submit: Int64
    /// Nodes it needed.
    public var nodes: Int
    /// When it was placed on nodes (-1 if skipped).
    public var placed: Int64
    /// When it started (-1 if skipped).
    public var start: Int64
    /// When it ended (-1 if skipped).
    public var end: Int64
    /// Whether it was killed at its requested time limit.
    public var killedAtLimit: Bool
    /// Why it was skipped, or `nil` when it ran.
    public var skipped: SkipReason?

    /// Creates an outcome.
    public init(
        submit: Int64, nodes: Int, placed: Int64, start: Int64, end: Int64, killedAtLimit: Bool,
        skipped: SkipReason? = nil
    ) {
        self.submit = submit
        self.nodes = nodes
        self.placed = placed
        self.start = start
        self.end = end
        self.killedAtLimit = killedAtLimit
        self.skipped = skipped
    }

    /// Seconds from submission to start.
    public var wait: Int64 { start - submit }
    /// Seconds between placement and start: the wait for nodes to boot.
    public var bootWait: Int64 { start - placed }
}

/// One recorded simulation event (``SimulationOptions/recordTrace``). Job numbers are input indices.
public enum SimulationEvent: Sendable, Equatable {
    /// A node changed power state.
    case node(time: Int64, node: Int, state: NodePowerState)
    /// A job was placed on nodes.
    case placed(time: Int64, job: Int, nodes: [Int])
    /// A job started on its nodes.
    case started(time: Int64, job: Int)
    /// A job ended.
    case ended(time: Int64, job: Int)
    /// The head of the queue could not start and got a reservation at `at` (EASY backfilling).
    case reservation(time: Int64, job: Int, at: Int64)
}

/// One point of the down-sampled time series.
public struct SimulationSample: Sendable, Equatable {
    /// Sample time.
    public var time: Int64
    /// Nodes running jobs.
    public var busyNodes: Int
    /// Nodes powered (idle, booting, busy, powering down).
    public var poweredNodes: Int
    /// Demand: nodes running jobs, held for jobs waiting for boots, and needed by queued jobs.
    public var demandNodes: Int
}

/// The metrics of one run.
public struct SimulationMetrics: Sendable, Equatable {
    /// Jobs simulated (ran).
    public var jobsSimulated = 0
    /// Jobs skipped (``skippedNoRuntime`` + ``skippedTooLarge``).
    public var jobsSkipped: Int { skippedNoRuntime + skippedTooLarge }
    /// Jobs skipped because their runtime was ≤ 0.
    public var skippedNoRuntime = 0
    /// Jobs skipped because they need more nodes than the cluster has.
    public var skippedTooLarge = 0
    /// Jobs killed at their requested time limit.
    public var killedAtLimit = 0
    /// Mean wait, submission to start, seconds.
    public var meanWait = 0.0
    /// 95th percentile wait (nearest rank), seconds.
    public var p95Wait = 0.0
    /// Mean boot-induced wait (placement to start), seconds, over all simulated jobs.
    public var meanBootWait = 0.0
    /// Share of simulated jobs whose start was delayed by booting nodes.
    public var bootDelayedShare = 0.0
    /// Share of the boot-induced wait (of its sum over all jobs) that fell on jobs placed the moment they were
    /// submitted, with no time in the queue: a policy could only have spared them by foreseeing their arrival.
    /// The rest fell on jobs that had queued first, in sight of the policy. 0 when no job waited for a boot.
    public var bootWaitAtSubmitShare = 0.0
    /// Mean bounded slowdown, `max(1, (wait + run) / max(run, 10))`.
    public var boundedSlowdown = 0.0
    /// Node-hours powered but not running a job (idle, booting, powering down).
    public var idleNodeHours = 0.0
    /// Node-hours running jobs.
    public var busyNodeHours = 0.0
    /// Node-hours off.
    public var offNodeHours = 0.0
    /// Parts of ``idleNodeHours``: booting, powering down, and up but allocated to a job that waits for its
    /// other nodes to boot (the rest is up and unallocated).
    public var bootingNodeHours = 0.0
    public var poweringDownNodeHours = 0.0
    public var heldIdleNodeHours = 0.0
    /// ``idleNodeHours`` without the boots: node-hours up (or powering down) and not running a job. Issue #3's
    /// own estimate of the oracle's idle energy (0.15× reactive's) is reproduced with this reading (0.14–0.19×
    /// at boot 300 s on the six logs), not with ``idleNodeHours`` (0.38–0.45×), which counts every boot as idle
    /// time because a booting node draws power; the energy counts the boots either way.
    public var idleNodeHoursWithoutBoot: Double { idleNodeHours - bootingNodeHours }
    /// Energy in kWh (booting and powering down draw idle watts).
    public var energyKWh = 0.0
    /// Boots (power cycles).
    public var powerCycles = 0
    /// Powered node-hours × price (0 when unpriced).
    public var cloudCost = 0.0
    /// Power actions the simulator refused or could not apply (e.g. powering down a busy node).
    public var ignoredActions = 0
    /// Simulated span, seconds (from one boot time before the first submission to the last job end).
    public var span: Int64 = 0
}

/// Everything one run produces.
public struct SimulationResult: Sendable {
    /// Aggregate metrics.
    public var metrics: SimulationMetrics
    /// One outcome per input job, in input order.
    public var outcomes: [JobOutcome]
    /// Down-sampled time series (empty when ``SimulationOptions/sampleInterval`` is 0).
    public var samples: [SimulationSample]
    /// Recorded events (empty unless ``SimulationOptions/recordTrace``).
    public var trace: [SimulationEvent]
    /// Times a job started on a node that was not up. Always 0 unless the simulator has a bug.
    public var invariantViolations: Int
    /// Busy nodes over time (``SimulationOptions/recordBusyNodes``), else `nil`.
    public var busyNodes: NodeDemandProfile? = nil
}

/// The figures of ``SimulationMetrics`` that come from the jobs alone (counts, waits, slowdown), accumulated outcome
/// by outcome: the simulator's, and those of several pools' runs merged (``SimulationResult/merged(_:)``).
struct JobFigures {
    private var waits: [Int64] = []
    private var simulated = 0
    private var noRuntime = 0
    private var tooLarge = 0
    private var killed = 0
    private var waitSum = 0.0
    private var bootSum = 0.0
    private var delayed = 0
    private var slowdownSum = 0.0
    private var bootAtSubmitSum = 0.0

    init(capacity: Int) { waits.reserveCapacity(capacity) }

    /// Counts one job: skipped, or (if it started) its wait, boot wait and bounded slowdown.
    mutating func add(_ o: JobOutcome) {
        switch o.skipped {
        case .noRuntime: noRuntime += 1
        case .tooLarge: tooLarge += 1
        case nil:
            guard o.start >= 0 else { return }
            simulated += 1
            if o.killedAtLimit { killed += 1 }
            let wait = o.start - o.submit
            let boot = o.start - o.placed
            waits.append(wait)
            waitSum += Double(wait)
            bootSum += Double(boot)
            if o.placed == o.submit { bootAtSubmitSum += Double(boot) }
            if boot > 0 { delayed += 1 }
            let run = Double(o.end - o.start)
            slowdownSum += Swift.max(1, (Double(wait) + run) / Swift.max(run, 10))
        }
    }

    /// Writes the job figures to `metrics` (its node-hour figures untouched).
    mutating func write(to metrics: inout SimulationMetrics) {
        metrics.jobsSimulated = simulated
        metrics.skippedNoRuntime = noRuntime
        metrics.skippedTooLarge = tooLarge
        metrics.killedAtLimit = killed
        let n = Double(simulated)
        guard simulated > 0 else { return }
        waits.sort()
        let rank = Int((0.95 * n).rounded(.up)) - 1
        metrics.meanWait = waitSum / n
        metrics.p95Wait = Double(waits[Swift.min(Swift.max(rank, 0), waits.count - 1)])
        metrics.meanBootWait = bootSum / n
        metrics.bootDelayedShare = Double(delayed) / n
        metrics.bootWaitAtSubmitShare = bootSum > 0 ? bootAtSubmitSum / bootSum : 0
        metrics.boundedSlowdown = slowdownSum / n
    }
}

extension SimulationResult {
    /// The runs of one policy on separate pools of nodes (a cluster's partitions, each with its own jobs), as one
    /// run of the whole cluster: the job figures over all the pools' jobs (outcomes in pool order), the node-hours,
    /// energy, power cycles, cost and refused actions summed, the span the longest, and the time series summed on
    /// the grid of `sampleInterval` seconds from the earliest pool's first sample (a pool counts its last sample
    /// before each grid time: none before its first sample, and after its last only its powered nodes). Job
    /// events are not kept (``SimulationResult/trace`` is empty).
    public static func merged(_ parts: [SimulationResult], sampleInterval: Int64) -> SimulationResult {
        if parts.count == 1, let only = parts.first { return only }
        var metrics = SimulationMetrics()
        var figures = JobFigures(capacity: parts.reduce(0) { $0 + $1.outcomes.count })
        var outcomes: [JobOutcome] = []
        outcomes.reserveCapacity(parts.reduce(0) { $0 + $1.outcomes.count })
        for part in parts {
            for o in part.outcomes { figures.add(o) }
            outcomes.append(contentsOf: part.outcomes)
            let m = part.metrics
            metrics.idleNodeHours += m.idleNodeHours
            metrics.busyNodeHours += m.busyNodeHours
            metrics.offNodeHours += m.offNodeHours
            metrics.bootingNodeHours += m.bootingNodeHours
            metrics.poweringDownNodeHours += m.poweringDownNodeHours
            metrics.heldIdleNodeHours += m.heldIdleNodeHours
            metrics.energyKWh += m.energyKWh
            metrics.powerCycles += m.powerCycles
            metrics.cloudCost += m.cloudCost
            metrics.ignoredActions += m.ignoredActions
            metrics.span = Swift.max(metrics.span, m.span)
        }
        figures.write(to: &metrics)
        return SimulationResult(
            metrics: metrics, outcomes: outcomes,
            samples: mergedSamples(parts.map(\.samples), interval: sampleInterval), trace: [],
            invariantViolations: parts.reduce(0) { $0 + $1.invariantViolations })
    }

    /// The pools' time series summed on one grid (see ``merged(_:sampleInterval:)``).
    static func mergedSamples(_ series: [[SimulationSample]], interval: Int64) -> [SimulationSample] {
        let nonEmpty = series.filter { !$0.isEmpty }
        guard interval > 0, let start = nonEmpty.compactMap(\.first?.time).min(),
            let end = nonEmpty.compactMap(\.last?.time).max()
        else { return [] }
        var next = [Int](repeating: 0, count: nonEmpty.count)  // per pool, its first sample after the grid time
        var out: [SimulationSample] = []
        var t = start
        while t <= end {
            var s = SimulationSample(time: t, busyNodes: 0, poweredNodes: 0, demandNodes: 0)
            for (p, pool) in nonEmpty.enumerated() {
                while next[p] < pool.count && pool[next[p]].time <= t { next[p] += 1 }
                guard next[p] > 0 else { continue }
                let last = pool[next[p] - 1]
                s.poweredNodes += last.poweredNodes
                if next[p] < pool.count || last.time == t {
                    s.busyNodes += last.busyNodes
                    s.demandNodes += last.demandNodes
                }
            }
            out.append(s)
            t += interval
        }
        return out
    }
}
