// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

/// What `prewarmd` does with its decisions.
public enum DaemonMode: String, Sendable, CaseIterable {
    /// Power nodes up and down through Slurm.
    case enforce
    /// Decide and log/export what it would do, change nothing.
    case forecastOnly = "forecast-only"
    /// Do nothing but keep learning (history, models).
    case off
}

/// The settings of `prewarmd` (`/etc/slurm/prewarmd.conf`, Slurm-style `Key=Value`).
public struct DaemonConfiguration: Sendable, Equatable {
    public var mode = DaemonMode.forecastOnly
    /// Seconds between adjustment cycles (a submission signal also starts one at once).
    public var interval = 60
    /// The adjustment policy's knobs; `bootLeadTime` 0 means "learn it from observed resumes".
    public var policy = AdjustmentConfiguration()
    /// Power actions allowed per rolling hour (on top of the per-cycle caps in `policy`).
    public var maxActionsPerHour = 200
    /// Nodes never touched, besides Slurm's own `SuspendExcNodes` (hostlist syntax).
    public var excludeNodes: [String] = []
    /// Partitions whose nodes are never touched, besides Slurm's `SuspendExcParts`.
    public var excludePartitions: [String] = []
    public var modelFile = "/var/lib/prewarm/prewarm.model"
    /// The finished-job history (SQLite); empty disables the history and retraining.
    public var historyDatabase = "/var/lib/prewarm/history.db"
    public var notifySocket = "/run/prewarm/prewarmd.sock"
    /// Seconds between retraining attempts; 0 disables retraining.
    public var retrainInterval = 86_400
    /// Newest finished jobs held out to compare a retrained model with the published one.
    public var retrainHoldout = 1000
    /// Newest stored jobs a retraining reads at most (bounds its time and memory on a big history).
    public var retrainMaxJobs = 100_000
    /// node_exporter textfile for the metrics; empty disables it.
    public var metricsFile = ""

    public init() {}

    public static let keys = [
        "Mode", "Interval", "BootLeadTime", "Threshold", "Aggressiveness", "MinIdleBeforePowerDown",
        "PowerDownMargin", "MaxPowerUpsPerCycle", "MaxPowerDownsPerCycle", "MaxActionsPerHour", "ExcludeNodes",
        "ExcludePartitions", "ModelFile", "HistoryDatabase", "NotifySocket", "RetrainInterval", "MetricsFile",
        "RetrainHoldout", "RetrainMaxJobs",
    ]

    /// Parses `prewarmd.conf`; every problem names the file, line and key.
    public static func parse(_ text: String, file: String) throws(ConfigurationError) -> DaemonConfiguration {
        var c = DaemonConfiguration()
        for e in try KeyValueFile.entries(text, file: file, keys: keys) {
            let v = e.value
            func path(emptyAllowed: Bool) throws(ConfigurationError) -> String {
                guard (emptyAllowed && v.isEmpty) || (v.hasPrefix("/") && !v.hasSuffix("/")) else {
                    throw e.error("must be an absolute file path\(emptyAllowed ? " or empty" : ""), found '\(v)'", file: file)
                }
                return v
            }
            switch e.key {
            case "Mode":
                guard let m = DaemonMode.allCases.first(where: { $0.rawValue == v.lowercased() }) else {
                    throw e.error("must be enforce, forecast-only or off, found '\(v)'", file: file)
                }
                c.mode = m
            case "Interval": c.interval = try KeyValueFile.integer(e, in: 5 ... 3600, unit: "seconds", file: file)
            case "BootLeadTime":
                c.policy.bootLeadTime = Int64(try KeyValueFile.integer(e, in: 0 ... 86_400, unit: "seconds", file: file))
            case "Threshold": c.policy.threshold = try KeyValueFile.integer(e, in: 0 ... 100_000, unit: "nodes", file: file)
            case "Aggressiveness":
                guard let a = Float(v), a >= 0, a <= 1 else {
                    throw e.error("must be a number from 0 to 1, found '\(v)'", file: file)
                }
                c.policy.aggressiveness = a
            case "MinIdleBeforePowerDown":
                c.policy.minIdleBeforePowerDown = Int64(
                    try KeyValueFile.integer(e, in: 0 ... 86_400, unit: "seconds", file: file))
            case "PowerDownMargin":
                c.policy.powerDownMargin = Int64(try KeyValueFile.integer(e, in: 0 ... 86_400, unit: "seconds", file: file))
            case "MaxPowerUpsPerCycle":
                c.policy.maxPowerUpsPerStep = try KeyValueFile.integer(e, in: 0 ... 100_000, unit: "", file: file)
            case "MaxPowerDownsPerCycle":
                c.policy.maxPowerDownsPerStep = try KeyValueFile.integer(e, in: 0 ... 100_000, unit: "", file: file)
            case "MaxActionsPerHour": c.maxActionsPerHour = try KeyValueFile.integer(e, in: 0 ... 1_000_000, unit: "", file: file)
            case "ExcludeNodes":
                do {
                    c.excludeNodes = v.isEmpty ? [] : try Hostlist.expand(v)
                } catch {
                    throw e.error("\(error)", file: file)
                }
            case "ExcludePartitions":
                c.excludePartitions = v.split(separator: ",").map { String($0).filter { $0 != " " } }.filter { !$0.isEmpty }
            case "ModelFile": c.modelFile = try path(emptyAllowed: false)
            case "HistoryDatabase": c.historyDatabase = try path(emptyAllowed: true)
            case "NotifySocket":
                c.notifySocket = try path(emptyAllowed: true)
                guard c.notifySocket.utf8.count < 108 else {
                    throw e.error("path longer than a Unix socket allows (107 bytes)", file: file)
                }
            case "RetrainInterval":
                let seconds = try KeyValueFile.integer(e, in: 0 ... 30 * 86_400, unit: "seconds", file: file)
                guard seconds == 0 || seconds >= 300 else {
                    throw e.error("must be 0 (never) or from 300 to 2592000 seconds, found '\(v)'", file: file)
                }
                c.retrainInterval = seconds
            case "RetrainHoldout":
                c.retrainHoldout = try KeyValueFile.integer(e, in: 20 ... 1_000_000, unit: "jobs", file: file)
            case "RetrainMaxJobs":
                c.retrainMaxJobs = try KeyValueFile.integer(e, in: 100 ... 100_000_000, unit: "jobs", file: file)
            case "MetricsFile": c.metricsFile = try path(emptyAllowed: true)
            default: throw e.error("not handled", file: file)
            }
        }
        return c
    }
}
