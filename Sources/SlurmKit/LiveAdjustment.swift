// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
//
// One adjustment cycle on live state: the simulator's AdjustmentPolicy run per partition on the live forecast,
// with the safety rules of a production daemon (exclusions, unavailable nodes, one command per node at a time,
// hourly cap).

import PrewarmCore

/// A power action for a named node, with the policy's reason.
public struct PlannedAction: Sendable, Equatable {
    public var node: String
    public var request: PowerRequest
    public var reason: String
}

public enum LiveAdjustment {
    /// How the policy sees a live node. Down, drained, failed, not-responding or maintenance nodes are
    /// `unavailable` and never touched; allocated, mixed or completing nodes are `busy`.
    public static func power(of n: SlurmNode, now: Int64) -> NodePower {
        let f = n.flags
        if n.base == .down || f.contains(.drain) || f.contains(.fail) || f.contains(.maintenance)
            || (f.contains(.notResponding) && !f.contains(.poweredDown) && !f.contains(.poweringUp))
        {
            return .unavailable
        }
        if f.contains(.poweringDown) { return .poweringDown }
        if f.contains(.poweredDown) { return f.contains(.powerUpRequested) ? .booting : .off }
        if f.contains(.poweringUp) { return .booting }
        if n.base == .allocated || n.base == .mixed || f.contains(.completing) || f.contains(.planned) { return .busy }
        let since = n.lastBusy > 0 ? n.lastBusy : (n.bootTime > 0 ? n.bootTime : now)
        return .idle(since: Swift.min(since, now))
    }

    /// Plans one cycle.
    /// - Parameters:
    ///   - excluded: node names never touched (Slurm's `SuspendExcNodes`/`SuspendExcParts` members and the
    ///     daemon's own exclusions).
    ///   - inFlight: nodes with a command issued whose state change Slurm has not shown yet: left alone.
    ///   - budget: actions still allowed this hour.
    /// - Returns: at most `budget` actions, power-ups first, each kind in the policy's order (Slurm `Weight` first);
    ///   a node appears at most once (a node in several partitions that one wants up and another down is powered up).
    public static func plan(
        nodes: [SlurmNode], partitions: [SlurmPartition], jobs: [SlurmJob], now: Int64,
        configuration: AdjustmentConfiguration, excluded: Set<String>, inFlight: Set<String>, budget: Int,
        arrivals: ArrivalModel = ArrivalModel(), learned: [String: DemandLearner.Models] = [:],
        hourOfWeekAt: (Int) -> Int = { _ in 0 }
    ) -> [PlannedAction] {
        let forecasts = LiveForecast.forecast(
            nodes: nodes, partitions: partitions, jobs: jobs, now: now, arrivals: arrivals, hourOfWeekAt: hourOfWeekAt,
            learned: learned)
        return plan(
            forecasts: forecasts, nodes: nodes, now: now, configuration: configuration,
            excluded: excluded.union(inFlight), inFlight: [:], budget: budget)
    }

    /// How the policy should count a node with a command in flight: as what it was asked to become (powered
    /// down and asked up: booting; idle and asked down: powering down), so that a command Slurm has accepted
    /// but not yet shown is neither repeated on another node nor planned around.
    public static func expectedPower(of n: SlurmNode, now: Int64, inFlight request: PowerRequest?) -> NodePower {
        let p = power(of: n, now: now)
        switch (request, p) {
        case (.up?, .off): return .booting
        case (.down?, .idle), (.downAsap?, .idle): return .poweringDown
        default: return p
        }
    }

    /// Plans one cycle on forecasts already made
    /// (``LiveForecast/forecast(nodes:partitions:jobs:now:minutes:arrivals:hourOfWeekAt:learned:)``).
    /// - Parameters:
    ///   - excluded: node names never touched.
    ///   - keptUp: node names never powered down (they may be powered up): those Slurm's power saving keeps up now.
    ///   - inFlight: nodes with a command whose change Slurm has not shown yet, and the command: left alone and
    ///     counted as ``expectedPower(of:now:inFlight:)`` says.
    ///   - budget: actions still allowed this hour.
    public static func plan(
        forecasts: [PartitionForecast], nodes: [SlurmNode], now: Int64, configuration: AdjustmentConfiguration,
        excluded: Set<String>, keptUp: Set<String> = [], inFlight: [String: PowerRequest], budget: Int
    ) -> [PlannedAction] {
        // In the policy's order (power-ups by Slurm Weight, then node order; power-downs highest weight and longest
        // idle first), partition after partition: the hourly budget keeps the head of it.
        var up: [(name: String, reason: String)] = []
        var down: [(name: String, reason: String)] = []
        var wantedUp = Set<String>()
        var wantedDown = Set<String>()
        for f in forecasts {
            let members = nodes.filter { $0.partitions.contains(f.partition) }
            let policyNodes = members.enumerated().map { i, n in
                PolicyNode(
                    index: i, power: expectedPower(of: n, now: now, inFlight: inFlight[n.name]), weight: n.weight,
                    excluded: excluded.contains(n.name) || inFlight[n.name] != nil, keepUp: keptUp.contains(n.name))
            }
            let actions = AdjustmentPolicy.decide(
                now: now, nodes: policyNodes, forecast: f.forecast, configuration: configuration)
            for a in actions where a.node >= 0 && a.node < members.count {
                let name = members[a.node].name
                switch a.kind {
                case .powerUp:
                    if wantedUp.insert(name).inserted { up.append((name, "partition \(f.partition): \(a.reason)")) }
                case .powerDown:
                    if wantedDown.insert(name).inserted { down.append((name, "partition \(f.partition): \(a.reason)")) }
                }
            }
        }
        var out = up.map { PlannedAction(node: $0.name, request: .up, reason: $0.reason) }
        for d in down where !wantedUp.contains(d.name) {
            out.append(PlannedAction(node: d.name, request: .down, reason: d.reason))
        }
        return Array(out.prefix(Swift.max(0, budget)))
    }
}
