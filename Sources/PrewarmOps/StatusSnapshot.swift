// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
//
// The status snapshot prewarmd writes each cycle (`StateDirectory/status.json`) and `prewarm status` prints.

/// A partition's forecast for the next hour, one value per minute from `start`.
public struct ForecastCurve: Codable, Sendable, Equatable {
    public var start: Int64
    public var stepSeconds: Int
    /// Expected busy nodes.
    public var expected: [Double]
    /// Upper band (late ends of known jobs, a high quantile of arrivals).
    public var upper: [Double]
    /// Lower band, when the forecaster provides one (the current DemandForecaster's band is one-sided: nil).
    public var lower: [Double]?

    public init(start: Int64, stepSeconds: Int = 60, expected: [Double], upper: [Double], lower: [Double]? = nil) {
        self.start = start
        self.stepSeconds = stepSeconds
        self.expected = expected
        self.upper = upper
        self.lower = lower
    }

    /// The value of `series` at `minutes` ahead (clamped to the curve), nil when empty.
    public static func value(_ series: [Double], atMinute minutes: Int) -> Double? {
        guard !series.isEmpty else { return nil }
        return series[Swift.min(Swift.max(0, minutes), series.count - 1)]
    }
}

/// Queued jobs of a partition that can start on some of its nodes only, counted on those nodes: in the partition's
/// `pendingJobs`, not in its `neededNodes` or forecast.
public struct RestrictedStatus: Codable, Sendable, Equatable {
    /// The nodes, as a hostlist.
    public var nodes: String
    public var nodeCount: Int
    public var pendingJobs: Int
    /// Nodes of the set the policy plans for within the boot lead time (as the partition's `neededNodes`).
    public var neededNodes: Int
    /// Nodes of the set up (busy or idle) or booting.
    public var upOrBooting: Int

    public init(nodes: String, nodeCount: Int, pendingJobs: Int, neededNodes: Int, upOrBooting: Int) {
        self.nodes = nodes
        self.nodeCount = nodeCount
        self.pendingJobs = pendingJobs
        self.neededNodes = neededNodes
        self.upOrBooting = upOrBooting
    }
}

/// One partition as the daemon saw it in its last successful cycle.
public struct PartitionStatus: Codable, Sendable, Equatable {
    public var name: String
    public var nodes: Int
    /// Up: `busy + idle`.
    public var powered: Int
    public var busy: Int
    public var idle: Int
    public var booting: Int
    public var poweringDown: Int
    public var off: Int
    /// Down, drained, failed, not responding or in maintenance: never touched.
    public var unavailable: Int
    /// Excluded from power actions (SuspendExcNodes/Parts, ExcludeNodes/Partitions).
    public var excluded: Int
    /// Never powered down now, since Slurm keeps them up (a counted SuspendExcNodes set, SuspendExcStates; every node
    /// while power-downs are withheld). Absent in snapshots of older daemons.
    public var keptUp: Int?
    public var runningJobs: Int
    public var pendingJobs: Int
    /// Nodes the policy plans for within the boot lead time (the forecast's peak, blended toward the upper band
    /// by Aggressiveness, rounded up).
    public var neededNodes: Int
    public var forecast: ForecastCurve
    /// Its sets of queued jobs that need particular nodes, most needed nodes first, at most
    /// ``PartitionStatus/restrictedShown``; absent in snapshots of older daemons.
    public var restricted: [RestrictedStatus]?
    /// How many such sets there are in all (more than `restricted` holds on a large cluster).
    public var restrictedSets: Int?
    /// The sum of `neededNodes` over all of them (sets may share nodes, so it may count a node more than once).
    public var restrictedNeededNodes: Int?
    public static let restrictedShown = 20

    public init(
        name: String, nodes: Int, busy: Int, idle: Int, booting: Int, poweringDown: Int, off: Int, unavailable: Int,
        excluded: Int, runningJobs: Int, pendingJobs: Int, neededNodes: Int, forecast: ForecastCurve,
        keptUp: Int? = nil
    ) {
        self.keptUp = keptUp
        self.name = name
        self.nodes = nodes
        self.powered = busy + idle
        self.busy = busy
        self.idle = idle
        self.booting = booting
        self.poweringDown = poweringDown
        self.off = off
        self.unavailable = unavailable
        self.excluded = excluded
        self.runningJobs = runningJobs
        self.pendingJobs = pendingJobs
        self.neededNodes = neededNodes
        self.forecast = forecast
    }
}

/// Whether slurmctld answered, and its last error.
public struct SlurmHealth: Codable, Sendable, Equatable {
    public var reachable: Bool
    public var consecutiveFailures: Int
    public var lastError: String?
    public var lastErrorTime: Int64?

    public init(reachable: Bool, consecutiveFailures: Int, lastError: String?, lastErrorTime: Int64?) {
        self.reachable = reachable
        self.consecutiveFailures = consecutiveFailures
        self.lastError = lastError
        self.lastErrorTime = lastErrorTime
    }
}

/// The runtime model in use, and its quality when known (a hook: filled by retraining).
public struct ModelStatus: Codable, Sendable, Equatable {
    public var file: String
    public var present: Bool
    /// Unix time the file was last replaced.
    public var modified: Int64?
    /// Quality measures by name (e.g. `mae_seconds`), empty until a scorer reports them.
    public var quality: [String: Double]

    public init(file: String, present: Bool, modified: Int64?, quality: [String: Double] = [:]) {
        self.file = file
        self.present = present
        self.modified = modified
        self.quality = quality
    }
}

/// The whole snapshot.
public struct StatusSnapshot: Codable, Sendable, Equatable {
    public static let formatVersion = 1

    public var version = StatusSnapshot.formatVersion
    /// Unix time of the cycle that wrote it.
    public var time: Int64
    public var pid: Int32
    /// The host the daemon runs on (`gethostname`): with a prewarmd on each controller host and the state directory
    /// shared, the one that acts. Absent in snapshots of older daemons.
    public var host: String?
    public var mode: String
    /// Seconds between cycles.
    public var interval: Int
    /// Unix time the next cycle is due (later than `time + interval` while backing off from Slurm errors).
    /// A reader calls the snapshot stale when the next one is 2 intervals overdue (3 intervals old normally).
    public var nextCycle: Int64
    public var bootLeadTime: Int64
    public var cycleSeconds: Double
    public var slurm: SlurmHealth
    public var partitions: [PartitionStatus]
    public var inFlight: [InFlightCommand]
    /// Oldest first.
    public var recentActions: [ActionRecord]
    public var actionsLastHour: Int
    public var maxActionsPerHour: Int
    public var model: ModelStatus?
    /// Why every power-down is withheld (a SuspendExcNodes item prewarmd cannot resolve), nil when none is.
    public var powerDownsWithheld: String?

    /// Whether a reader at `now` should doubt that the daemon still runs.
    public func isStale(now: Int64) -> Bool { now > nextCycle + 2 * Int64(Swift.max(1, interval)) }

    public init(
        time: Int64, pid: Int32, mode: String, interval: Int, nextCycle: Int64, bootLeadTime: Int64,
        cycleSeconds: Double,
        slurm: SlurmHealth, partitions: [PartitionStatus], inFlight: [InFlightCommand], recentActions: [ActionRecord],
        actionsLastHour: Int, maxActionsPerHour: Int, model: ModelStatus?, host: String? = nil
    ) {
        self.time = time
        self.pid = pid
        self.host = host
        self.mode = mode
        self.interval = interval
        self.nextCycle = nextCycle
        self.bootLeadTime = bootLeadTime
        self.cycleSeconds = cycleSeconds
        self.slurm = slurm
        self.partitions = partitions
        self.inFlight = inFlight
        self.recentActions = recentActions
        self.actionsLastHour = actionsLastHour
        self.maxActionsPerHour = maxActionsPerHour
        self.model = model
    }
}
