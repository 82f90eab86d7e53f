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
    /// `BootLeadTime=auto`: learn the lead time from how long this cluster's power-ups really take
    /// (``BootLeadEstimator``), `policy.bootLeadTime` until enough have been measured.
    public var bootLeadLearned = false
    /// Power actions allowed per rolling hour (on top of the per-cycle caps in `policy`).
    public var maxActionsPerHour = 200
    /// Nodes never touched, besides Slurm's own `SuspendExcNodes` (hostlist syntax).
    public var excludeNodes: [String] = []
    /// Partitions whose nodes are never touched, besides Slurm's `SuspendExcParts`.
    public var excludePartitions: [String] = []
    public var modelFile = "/var/lib/prewarm/prewarm.model"
    /// The finished-job history (SQLite); empty disables the history and retraining.
    public var historyDatabase = "/var/lib/prewarm/history.db"
    /// Add the arrivals learned from the history and live submissions (hour of week, recent rate, users'
    /// series) to the forecast; off: plan for the queue and running jobs only.
    public var learnedArrivals = true
    /// Multiplies the prices of the learned arrivals' idle buffers and of nodes kept for users' next jobs
    /// (above 1: leaner, fewer idle node-hours, more boot waits; `simulate --price-scale` shows the trade-off).
    public var priceScale = 1.0
    public var notifySocket = "/run/prewarm/prewarmd.sock"
    /// Seconds between retraining attempts; 0 disables retraining.
    public var retrainInterval = 86_400
    /// Seconds between republications of the published model with the current history, between retrainings
    /// (the job_submit plugin learns of no job end by itself); 0 disables it.
    public var historyRefreshInterval = 600
    /// Days a finished job stays in the history, counted from its submission (`HistoryRetention`); 0 keeps every
    /// job. Older ones are removed a batch per cycle.
    public var historyRetentionDays = 0
    /// Newest finished jobs held out to compare a retrained model with the published one.
    public var retrainHoldout = 1000
    /// Newest stored jobs a retraining reads at most (bounds its time and memory on a big history).
    public var retrainMaxJobs = 100_000
    /// Whether retrained models scale the chosen runtime candidate (`ScaleRefinement`; `no`: as `prewarm train
    /// --no-refine`: about 40 % fewer instructions per in-controller prediction for a job unlike recent ones).
    public var scaleRefinement = true
    /// Trees of the forests the daemon retrains (`ModelTrees`; `prewarm retrain --trees`). The job_submit plugin
    /// walks every tree for a job unlike recent ones, so fewer trees cost the controller less per submission.
    public var modelTrees = 100
    /// Where the daemon keeps what must survive a restart (in-flight power commands, recent actions for the
    /// hourly cap) and its status snapshot (`status.json`, read by `prewarm status`).
    public var stateDirectory = "/var/lib/prewarm"
    /// With two or more `SlurmctldHost` and this host one of them: act only while this host's slurmctld is in
    /// control (``ControllerRole``), so that a prewarmd on each controller host follows a takeover; no: always act.
    public var followController = true
    /// node_exporter textfile for the metrics (written atomically each cycle); empty disables it.
    public var metricsTextfile = ""
    /// Loopback HTTP endpoint serving `GET /metrics`; nil disables it.
    public var metricsListen: ListenAddress?
    /// Allow `MetricsListen` on a non-loopback address (the endpoint has no authentication).
    public var metricsAllowRemote = false

    public init() {}

    public static let keys = [
        "Mode", "Interval", "BootLeadTime", "Threshold", "Aggressiveness", "MinIdleBeforePowerDown",
        "PowerDownMargin", "ArrivalBootShare", "MaxPowerUpsPerCycle", "MaxPowerDownsPerCycle", "MaxActionsPerHour", "ExcludeNodes",
        "ExcludePartitions", "ModelFile", "HistoryDatabase", "NotifySocket", "RetrainInterval", "HistoryRefreshInterval", "StateDirectory",
        "MetricsTextfile", "MetricsListen", "MetricsAllowRemote", "RetrainHoldout", "RetrainMaxJobs", "ScaleRefinement", "LearnedArrivals",
        "PriceScale", "ModelTrees", "HistoryRetention", "FollowController",
    ]

    /// Parses `prewarmd.conf`; every problem names the file, line and key.
    public static func parse(_ text: String, file: String) throws(ConfigurationError) -> DaemonConfiguration {
        var c = DaemonConfiguration()
        var listenEntry: KeyValueFile.Entry?
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
                if v.lowercased() == "auto" {
                    c.bootLeadLearned = true
                } else {
                    c.bootLeadLearned = false
                    c.policy.bootLeadTime = Int64(
                        try KeyValueFile.integer(e, in: 0 ... 86_400, unit: "seconds or auto", file: file))
                }
            case "Threshold": c.policy.threshold = try KeyValueFile.integer(e, in: 0 ... 100_000, unit: "nodes", file: file)
            case "Aggressiveness":
                guard let a = Float(v), a >= 0, a <= 1 else {
                    throw e.error("must be a number from 0 to 1, found '\(v)'", file: file)
                }
                c.policy.aggressiveness = a
            case "ArrivalBootShare":
                guard let a = Float(v), a >= 0, a <= 1 else {
                    throw e.error("must be a number from 0 to 1, found '\(v)'", file: file)
                }
                c.policy.arrivalBootShare = a
            case "PriceScale":
                guard let p = Double(v), p >= 0.01, p <= 100 else {
                    throw e.error("must be a number from 0.01 to 100, found '\(v)'", file: file)
                }
                c.priceScale = p
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
            case "HistoryRefreshInterval":
                let seconds = try KeyValueFile.integer(e, in: 0 ... 86_400, unit: "seconds", file: file)
                guard seconds == 0 || seconds >= 60 else {
                    throw e.error("must be 0 (never) or from 60 to 86400 seconds, found '\(v)'", file: file)
                }
                c.historyRefreshInterval = seconds
            case "HistoryRetention":
                let days = try KeyValueFile.integer(e, in: 0 ... 36_500, unit: "days", file: file)
                guard days == 0 || days >= 7 else {
                    throw e.error("must be 0 (keep every job) or from 7 to 36500 days, found '\(v)'", file: file)
                }
                c.historyRetentionDays = days
            case "RetrainHoldout":
                c.retrainHoldout = try KeyValueFile.integer(e, in: 20 ... 1_000_000, unit: "jobs", file: file)
            case "RetrainMaxJobs":
                c.retrainMaxJobs = try KeyValueFile.integer(e, in: 100 ... 100_000_000, unit: "jobs", file: file)
            case "ScaleRefinement": c.scaleRefinement = try KeyValueFile.boolean(e, file: file)
            case "ModelTrees": c.modelTrees = try KeyValueFile.integer(e, in: ForestParameters.modelTreeCounts, unit: "trees", file: file)
            case "StateDirectory": c.stateDirectory = try path(emptyAllowed: false)
            case "MetricsTextfile": c.metricsTextfile = try path(emptyAllowed: true)
            case "MetricsListen":
                if v.isEmpty {
                    c.metricsListen = nil
                } else {
                    guard let a = ListenAddress(v) else {
                        throw e.error(
                            "must be IPv4:PORT or [IPv6]:PORT with a literal address and a port from 1 to 65535 "
                                + "(e.g. 127.0.0.1:9520), or empty, found '\(v)'", file: file)
                    }
                    c.metricsListen = a
                    listenEntry = e
                }
            case "MetricsAllowRemote": c.metricsAllowRemote = try KeyValueFile.boolean(e, file: file)
            case "LearnedArrivals": c.learnedArrivals = try KeyValueFile.boolean(e, file: file)
            case "FollowController": c.followController = try KeyValueFile.boolean(e, file: file)
            default: throw e.error("not handled", file: file)
            }
        }
        if let a = c.metricsListen, let e = listenEntry, !a.isLoopback, !c.metricsAllowRemote {
            throw e.error(
                "\(a) is not a loopback address; the metrics endpoint has no authentication "
                    + "(set MetricsAllowRemote=yes to allow it)", file: file)
        }
        return c
    }
}

/// A literal IP address and TCP port (`127.0.0.1:9520`, `[::1]:9520`).
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    /// The address as written, without brackets.
    public var host: String
    public var port: Int
    public var isIPv6: Bool

    /// Parses `IPv4:PORT` or `[IPv6]:PORT`; nil when malformed. Host names are refused (no resolver here).
    public init?(_ text: String) {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = text[text.index(after: text.startIndex) ..< close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portText = rest.dropFirst()
            guard !host.isEmpty, host.allSatisfy({ $0 == ":" || $0 == "." || $0.isHexDigit }),
                host.contains(":")
            else { return nil }
            isIPv6 = true
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            let octets = host.split(separator: ".", omittingEmptySubsequences: false)
            func isOctet(_ o: Substring) -> Bool {
                o.count >= 1 && o.count <= 3 && o.allSatisfy { $0.isASCII && $0.isNumber } && (Int(o) ?? 256) <= 255
            }
            guard octets.count == 4, octets.allSatisfy(isOctet) else { return nil }
            isIPv6 = false
        }
        guard portText.count <= 5, !portText.isEmpty, portText.allSatisfy({ $0.isASCII && $0.isNumber }),
            let port = Int(portText), port >= 1, port <= 65535
        else { return nil }
        self.host = String(host)
        self.port = port
    }

    /// 127.0.0.0/8 or ::1 (also written in full, e.g. `0:0:0:0:0:0:0:1`).
    public var isLoopback: Bool {
        if !isIPv6 { return host.split(separator: ".").first == "127" }
        let groups = host.split(separator: ":", omittingEmptySubsequences: true)
        guard let last = groups.last, UInt16(last, radix: 16) == 1 else { return false }
        return groups.dropLast().allSatisfy { UInt16($0, radix: 16) == 0 }
    }

    public var description: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

extension DaemonConfiguration {
    /// The shortest Slurm `SuspendTime` under which prewarm keeps nearly the boot-wait cut it has alone (simulated on
    /// KTH-SP2, SDSC-SP2 and CTC-SP2: within 2.5 points at 3600 s, about half lost at 600 s; `prewarm simulate
    /// --frontier --slurm-suspend-time`, README "Slurm's SuspendTime under prewarmd").
    public static let backstopSuspendTime = 3600

    /// What to tell the admin when Slurm's own `SuspendTime` (nil: none) would suspend the idle nodes this daemon
    /// keeps up for expected jobs; nil when it would not, or when the daemon does not enforce. `source` says where
    /// it is set when not for the whole cluster ("partition debug, 6 nodes": a partition line's own SuspendTime).
    public func slurmSuspendTimeWarning(_ suspendTime: Int?, source: String? = nil) -> String? {
        guard mode == .enforce, let suspendTime, suspendTime < Self.backstopSuspendTime else { return nil }
        let setting = source.map { "SuspendTime=\(suspendTime) (\($0))" } ?? "SuspendTime=\(suspendTime)"
        let fix = source == nil ? "in slurm.conf" : "on the PartitionName line in slurm.conf"
        return "Slurm's \(setting) is under \(Self.backstopSuspendTime) s: Slurm suspends the idle nodes "
            + "prewarmd keeps up for expected jobs, and prewarmd boots them again (simulated at 600 s: about half of the "
            + "boot-wait cut lost); set SuspendTime=\(Self.backstopSuspendTime) or more \(fix), a backstop for when "
            + "prewarmd is down (prewarmd powers idle nodes down itself after MinIdleBeforePowerDown)"
    }

    /// What to tell the admin when `MaxActionsPerHour` is under one action an hour per node the daemon may power
    /// (`nodes`: not excluded by Slurm or by this file); nil when it is not, or when the daemon does not enforce. In
    /// simulations such a cap held back power-downs (`prewarm simulate --max-actions-per-hour`, README "With the
    /// prewarmd.conf you will run").
    public func hourlyCapWarning(nodes: Int) -> String? {
        guard mode == .enforce, nodes > 0, maxActionsPerHour < nodes else { return nil }
        return "MaxActionsPerHour=\(maxActionsPerHour) is under one action an hour per node prewarmd may power "
            + "(\(nodes) nodes): when demand turns, the cap holds back power-downs and idle nodes stay up (simulated at "
            + "the default setting, 200 an hour: +11 % idle node-hours on 338-node CTC-SP2, +33 % on 1,024-node "
            + "LANL-CM5); size it to about the node count, and `prewarm simulate --db … --daemon-conf` shows what it "
            + "costs on your own history"
    }
}
