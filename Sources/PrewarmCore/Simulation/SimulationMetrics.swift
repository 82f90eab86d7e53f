// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

/// Options of one simulation run.
public struct SimulationOptions: Sendable, Equatable {
    /// Seconds between time-series samples, or 0 for no time series.
    public var sampleInterval: Int64
    /// Whether to record every event in ``SimulationResult/trace`` (for tests and debugging; costs memory).
    public var recordTrace: Bool

    /// Creates options.
    public init(sampleInterval: Int64 = 600, recordTrace: Bool = false) {
        self.sampleInterval = Swift.max(0, sampleInterval)
        self.recordTrace = recordTrace
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
}
