// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
//
// prewarmd's Prometheus metrics in the text exposition format (version 0.0.4), for a node_exporter textfile
// and the loopback /metrics endpoint. Gauges are read off the cycle's status snapshot, so the metrics, the
// status file and `prewarm status` never disagree; counters live in `DaemonCounters` for the process's life
// (Prometheus handles the reset at a restart). Written by hand (~60 lines) rather than with swift-prometheus:
// the daemon sets every value once per cycle from one struct, and a registry would add three packages to the
// build for no code removed.

/// Counters since the daemon started. Every label combination is always exported (fixed dimensions).
public struct DaemonCounters: Sendable, Equatable {
    public var cycles = 0
    /// Failed libslurm calls (loads and refused power updates).
    public var slurmErrors = 0
    /// Power commands Slurm refused.
    public var refused = 0
    /// Submission datagrams from the job_submit plugin.
    public var submissions = 0
    /// Datagrams on the notify socket from users other than root, the daemon's own and SlurmUser, ignored.
    public var noticesIgnored = 0
    /// Power commands issued (enforce) and would-do decisions (forecast-only), by action.
    public var issued: [NodePowerAction: Int] = [:]
    public var would: [NodePowerAction: Int] = [:]
    /// Actions the policy planned and the hourly cap (MaxActionsPerHour) held back, by action.
    public var heldBack: [NodePowerAction: Int] = [:]

    public init() {}
}

/// A Prometheus text exposition, family by family.
public struct MetricsText {
    public enum Kind: String {
        case gauge, counter
    }
    public typealias Sample = (labels: [(String, String)], value: Double)

    public private(set) var text = ""

    public init() {}

    /// Appends one metric family: `# HELP`, `# TYPE` and one line per sample.
    public mutating func add(_ name: String, _ kind: Kind, _ help: String, _ samples: [Sample]) {
        text += "# HELP \(name) \(help.replacingAll("\\", "\\\\").replacingAll("\n", "\\n"))\n"
        text += "# TYPE \(name) \(kind.rawValue)\n"
        for s in samples {
            text += name
            if !s.labels.isEmpty {
                text += "{" + s.labels.map { "\($0.0)=\"\(Self.escape($0.1))\"" }.joined(separator: ",") + "}"
            }
            text += " \(Self.format(s.value))\n"
        }
    }

    /// One unlabelled sample.
    public mutating func add(_ name: String, _ kind: Kind, _ help: String, _ value: Double) {
        add(name, kind, help, [([], value)])
    }

    /// Label values escape backslash, double quote and newline.
    static func escape(_ s: String) -> String {
        s.replacingAll("\\", "\\\\").replacingAll("\"", "\\\"").replacingAll("\n", "\\n")
    }

    static func format(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return String(v)
    }
}

extension String {
    fileprivate func replacingAll(_ a: Character, _ b: String) -> String {
        guard contains(a) else { return self }
        var out = ""
        for c in self { if c == a { out += b } else { out.append(c) } }
        return out
    }
}

public enum DaemonMetrics {
    static let notifiedHelp = "Submission notifications from the job_submit plugin."
    static let ignoredHelp = "Datagrams on NotifySocket from users other than root, prewarmd's own and SlurmUser, ignored."
    static let standbyHelp =
        "1 while prewarmd waits because another controller's slurmctld is in control (FollowController), else 0."

    /// The notify socket's two counters, exported acting or standing by.
    static func addNotices(_ m: inout MetricsText, _ c: DaemonCounters) {
        m.add("prewarm_submissions_notified_total", .counter, notifiedHelp, Double(c.submissions))
        m.add("prewarm_notices_ignored_total", .counter, ignoredHelp, Double(c.noticesIgnored))
    }

    /// The exposition while the daemon stands by: it runs no cycle, so only that and the notices it counted.
    public static func standby(counters c: DaemonCounters) -> String {
        var m = MetricsText()
        m.add("prewarm_standby", .gauge, standbyHelp, 1)
        addNotices(&m, c)
        return m.text
    }

    /// The exposition for one cycle: gauges from its snapshot, counters since start. Every family the README's
    /// metrics table lists (a test checks that each name written here is in the table).
    public static func exposition(status s: StatusSnapshot, counters c: DaemonCounters) -> String {
        var m = MetricsText()
        let lead = Int((s.bootLeadTime + 59) / 60)
        m.add(
            "prewarm_mode", .gauge, "1 for the daemon's current mode (enforce, forecast-only, off).",
            ["enforce", "forecast-only", "off"].map { ([("mode", $0)], $0 == s.mode ? 1 : 0) })
        m.add("prewarm_last_cycle_timestamp_seconds", .gauge, "Unix time of the last adjustment cycle.", Double(s.time))
        m.add("prewarm_cycle_duration_seconds", .gauge, "Wall time of the last adjustment cycle.", s.cycleSeconds)
        m.add("prewarm_slurm_up", .gauge, "1 if slurmctld answered in the last cycle.", s.slurm.reachable ? 1 : 0)
        m.add("prewarm_standby", .gauge, standbyHelp, 0)
        let states: [(String, (PartitionStatus) -> Int)] = [
            ("busy", \.busy), ("idle", \.idle), ("booting", \.booting), ("powering_down", \.poweringDown),
            ("off", \.off), ("unavailable", \.unavailable),
        ]
        m.add(
            "prewarm_nodes", .gauge, "Nodes per partition by power state (exclusive states).",
            s.partitions.flatMap { p in
                states.map { st in ([("partition", p.name), ("state", st.0)], Double(st.1(p))) }
            })
        m.add(
            "prewarm_nodes_powered", .gauge, "Nodes up (busy or idle) per partition.",
            s.partitions.map { ([("partition", $0.name)], Double($0.powered)) })
        m.add(
            "prewarm_nodes_excluded", .gauge, "Nodes never touched (SuspendExc*, Exclude*) per partition.",
            s.partitions.map { ([("partition", $0.name)], Double($0.excluded)) })
        m.add(
            "prewarm_nodes_kept_up", .gauge,
            "Nodes never powered down now because Slurm keeps them up (counted SuspendExcNodes, SuspendExcStates).",
            s.partitions.map { ([("partition", $0.name)], Double($0.keptUp ?? 0)) })
        m.add(
            "prewarm_power_downs_withheld", .gauge,
            "1 while every power-down is withheld: SuspendExcNodes names something prewarmd cannot resolve.",
            s.powerDownsWithheld == nil ? 0 : 1)
        m.add(
            "prewarm_pending_jobs", .gauge, "Pending jobs (not held) per partition.",
            s.partitions.map { ([("partition", $0.name)], Double($0.pendingJobs)) })
        m.add(
            "prewarm_running_jobs", .gauge, "Running jobs per partition.",
            s.partitions.map { ([("partition", $0.name)], Double($0.runningJobs)) })
        m.add(
            "prewarm_forecast_nodes", .gauge, "Forecast busy nodes at now + boot lead time, expected and upper band.",
            s.partitions.flatMap { p in
                [("expected", p.forecast.expected), ("upper", p.forecast.upper)].compactMap { band, series in
                    ForecastCurve.value(series, atMinute: lead).map { ([("partition", p.name), ("band", band)], $0) }
                }
            })
        m.add(
            "prewarm_needed_nodes", .gauge, "Nodes the policy plans to have up or booting within the boot lead time.",
            s.partitions.map { ([("partition", $0.name)], Double($0.neededNodes)) })
        m.add(
            "prewarm_restricted_needed_nodes", .gauge,
            "The same for queued jobs that need particular nodes, summed over their sets (not in prewarm_needed_nodes).",
            s.partitions.map { ([("partition", $0.name)], Double($0.restrictedNeededNodes ?? 0)) })
        m.add(
            "prewarm_in_flight_commands", .gauge, "Nodes with a power change requested and not yet shown by Slurm.",
            Double(s.inFlight.count))
        m.add(
            "prewarm_actions_last_hour", .gauge, "Power commands issued in the last hour (the hourly cap counts them).",
            Double(s.actionsLastHour))
        m.add(
            "prewarm_max_actions_per_hour", .gauge, "The hourly cap (MaxActionsPerHour).", Double(s.maxActionsPerHour))
        let kinds: [NodePowerAction] = [.powerUp, .powerDown]
        m.add(
            "prewarm_actions_total", .counter,
            "Power actions since start: mode=enforced (issued to Slurm) or would (forecast-only).",
            kinds.flatMap { k in
                [
                    ([("action", k.rawValue), ("mode", "enforced")], Double(c.issued[k, default: 0])),
                    ([("action", k.rawValue), ("mode", "would")], Double(c.would[k, default: 0])),
                ]
            })
        m.add(
            "prewarm_actions_held_back_total", .counter,
            "Power actions the policy planned and the hourly cap (MaxActionsPerHour) held back.",
            kinds.map { k in ([("action", k.rawValue)], Double(c.heldBack[k, default: 0])) })
        m.add("prewarm_commands_refused_total", .counter, "Power commands Slurm refused.", Double(c.refused))
        m.add(
            "prewarm_slurm_errors_total", .counter, "Failed libslurm calls (loads and power updates).",
            Double(c.slurmErrors))
        m.add("prewarm_cycles_total", .counter, "Adjustment cycles run.", Double(c.cycles))
        addNotices(&m, c)
        if let model = s.model {
            m.add("prewarm_model_present", .gauge, "1 if the runtime model file exists.", model.present ? 1 : 0)
            if !model.quality.isEmpty {
                m.add(
                    "prewarm_model_quality", .gauge,
                    "Quality of the runtime model on recent finished jobs, by measure.",
                    model.quality.keys.sorted().map { ([("measure", $0)], model.quality[$0] ?? .nan) })
            }
        }
        return m.text
    }
}
