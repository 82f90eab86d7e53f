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
    /// How the policy sees a live node. Down, drained, failed, not-responding or maintenance nodes, `FUTURE` ones
    /// (not in service yet) and those that registered with a configuration slurmctld rejects are `unavailable` and
    /// never touched; allocated, mixed or completing nodes are `busy`. A powered node that is neither busy nor idle
    /// (base state `UNKNOWN`, as before it first registers, or `ERROR`), or one with a reboot asked for or under way
    /// (`scontrol reboot`: `REBOOT_REQUESTED`, `REBOOT_ISSUED`), is `unavailable` too: slurmctld's own power saving
    /// does not suspend those either.
    public static func power(of n: SlurmNode, now: Int64) -> NodePower {
        let f = n.flags
        if n.base == .down || n.base == .future || f.contains(.dynamicFuture) || f.contains(.drain)
            || f.contains(.fail) || f.contains(.maintenance) || f.contains(.invalidRegistration)
            || (f.contains(.notResponding) && !f.contains(.poweredDown) && !f.contains(.poweringUp))
        {
            return .unavailable
        }
        if f.contains(.poweringDown) { return .poweringDown }
        if f.contains(.poweredDown) { return f.contains(.powerUpRequested) ? .booting : .off }
        if f.contains(.poweringUp) { return .booting }
        if n.base == .allocated || n.base == .mixed || f.contains(.completing) || f.contains(.planned) { return .busy }
        if n.base != .idle || f.contains(.rebootRequested) || f.contains(.rebootIssued) { return .unavailable }
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
    ///   a node appears at most once.
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
    /// - Returns: at most `budget` actions, power-ups first; a node appears at most once. Partitions that share nodes
    ///   are decided together (``AdjustmentPolicy/decide(now:nodes:partitions:configuration:)``): a node is powered
    ///   down only if no partition that holds it needs it, and the configuration's per-step caps hold for the cycle.
    public static func plan(
        forecasts: [PartitionForecast], nodes: [SlurmNode], now: Int64, configuration: AdjustmentConfiguration,
        excluded: Set<String>, keptUp: Set<String> = [], inFlight: [String: PowerRequest], budget: Int
    ) -> [PlannedAction] {
        // One decision over all partitions: where partitions share nodes, a node one partition could spare is not
        // powered down while another that holds it needs it, and a node busy with one partition's jobs is not
        // another's capacity. Power-ups first, each kind in the policy's order (Slurm Weight first).
        let policyNodes = nodes.enumerated().map { i, n in
            PolicyNode(
                index: i, power: expectedPower(of: n, now: now, inFlight: inFlight[n.name]), weight: n.weight,
                excluded: excluded.contains(n.name) || inFlight[n.name] != nil, keepUp: keptUp.contains(n.name))
        }
        var anyBusy = Set<String>()
        for f in forecasts { anyBusy.formUnion(f.busyNodes) }
        func busyElsewhere(_ i: Int, holding: Set<String>) -> Bool {
            guard case .busy = policyNodes[i].power else { return false }
            return !holding.contains(nodes[i].name) && anyBusy.contains(nodes[i].name)
        }
        var demands: [PartitionDemand] = []
        var labels: [String] = []
        var position: [String: Int]?
        for f in forecasts {
            var members: [Int] = []
            var elsewhere = Set<Int>()
            for (i, n) in nodes.enumerated() where n.partitions.contains(f.partition) {
                members.append(i)
                if busyElsewhere(i, holding: f.busyNodes) { elsewhere.insert(i) }
            }
            demands.append(PartitionDemand(members: members, forecast: f.forecast, busyElsewhere: elsewhere))
            labels.append("partition \(f.partition)")
            // Jobs that can start on some nodes only: their own demand on those nodes, decided with the partitions
            // (a smaller set claims its nodes first, so none of them is powered down while such a job needs it).
            for r in f.restricted {
                if position == nil {
                    var p: [String: Int] = [:]
                    for (i, n) in nodes.enumerated() where p[n.name] == nil { p[n.name] = i }
                    position = p
                }
                let members = r.nodes.compactMap { position?[$0] }
                guard !members.isEmpty else { continue }
                demands.append(PartitionDemand(
                    members: members, forecast: r.forecast,
                    busyElsewhere: Set(members.filter { busyElsewhere($0, holding: r.busyNodes) })))
                labels.append("partition \(f.partition), jobs that need \(Hostlist.compress(r.nodes))")
            }
        }
        let actions = AdjustmentPolicy.decide(now: now, nodes: policyNodes, partitions: demands, configuration: configuration)
        // The decision names a node at most once (SharedPartitionPolicyTests).
        let out = actions.filter { $0.action.node >= 0 && $0.action.node < nodes.count }.map { a in
            PlannedAction(
                node: nodes[a.action.node].name, request: a.action.kind == .powerUp ? .up : .down,
                reason: "\(labels[a.partition]): \(a.action.reason)")
        }
        return Array(out.prefix(Swift.max(0, budget)))
    }
}
