// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

import PrewarmCore

/// Slurm's power-saving exclusions as slurmctld holds them: `SuspendExcNodes`, `SuspendExcParts` and
/// `SuspendExcStates`, with the release's way of reading the first.
public struct SlurmPowerExclusions: Sendable, Equatable {
    /// `SuspendExcNodes`, as written (`node[1-2],cloud[1-8]:2`).
    public var nodes = ""
    /// `SuspendExcParts`.
    public var partitions: [String] = []
    /// `SuspendExcStates` (Slurm 23.02 on), as written.
    public var states = ""
    /// How this release reads `SuspendExcNodes`.
    public var syntax = SuspendExclusionSyntax.upTo2311

    public init(
        nodes: String = "", partitions: [String] = [], states: String = "",
        syntax: SuspendExclusionSyntax = .upTo2311
    ) {
        self.nodes = nodes
        self.partitions = partitions
        self.states = states
        self.syntax = syntax
    }

    /// What the exclusions mean for prewarmd on the nodes as they are now (in slurmctld's node order, as
    /// `slurm_load_node` gives them): the nodes never touched, the nodes never powered down, and whether an item
    /// it cannot resolve withholds every power-down.
    public func protection(of nodes: [SlurmNode]) -> PowerProtection {
        var p = PowerProtection()
        let parsed = SuspendExcludedNodes.parse(self.nodes, syntax: syntax)
        for reason in parsed.unreadable {
            p.withhold("SuspendExcNodes \(reason): prewarmd cannot tell which nodes Slurm keeps up, so it powers none "
                + "down")
        }
        for reason in parsed.invalidCounts { p.problems.append("SuspendExcNodes \(reason)") }
        for entry in parsed.entries {
            let members: [SlurmNode]
            if entry.all {
                members = nodes
            } else {
                // Names slurmctld does not show (powered-down CLOUD nodes Slurm 22.05 hides, or names it rejects) have
                // nothing prewarmd could power down.
                let names = Set(entry.names)
                members = nodes.filter { names.contains($0.name) }
                if members.isEmpty {
                    switch syntax {
                    case .since2405:
                        // From 24.05 an item may be a NodeSet, whose nodes libslurm does not give.
                        p.withhold("SuspendExcNodes '\(entry.text)' names no node slurmctld shows (a NodeSet? "
                            + "prewarmd cannot expand NodeSets): it powers no node down until SuspendExcNodes lists "
                            + "the nodes as a hostlist")
                    case .upTo2311:
                        p.problems.append("SuspendExcNodes '\(entry.text)' names no node slurmctld shows")
                    }
                    continue
                }
            }
            guard let count = entry.count, count < members.count else {
                p.untouched.formUnion(members.map(\.name))
                continue
            }
            p.keptUp.formUnion(Self.kept(count, of: members, syntax: syntax).map(\.name))
        }
        let states = SuspendExcludedStates.parse(self.states)
        for token in states.unknown {
            p.problems.append("SuspendExcStates '\(token)' is no state slurmctld knows (it logs \"Invalid SuspendExcState\")")
        }
        if !states.states.isEmpty {
            for n in nodes where Self.matches(n, states.states) { p.keptUp.insert(n.name) }
        }
        let parts = Set(partitions)
        if !parts.isEmpty {
            for n in nodes where !parts.isDisjoint(with: n.partitions) { p.untouched.insert(n.name) }
        }
        p.keptUp.subtract(p.untouched)
        return p
    }

    /// The nodes of a counted set that slurmctld keeps from suspending now, as its `_pick_exc_nodes` picks them.
    static func kept(_ count: Int, of members: [SlurmNode], syntax: SuspendExclusionSyntax) -> [SlurmNode] {
        switch syntax {
        case .upTo2311:
            // The first `count` idle nodes (not completing, down, drained, powering up, powered down or powering down).
            let idle = members.filter { n in
                n.base == .idle
                    && n.flags.isDisjoint(with: [.completing, .drain, .poweringUp, .poweredDown, .poweringDown])
            }
            return Array(idle.prefix(count))
        case .since2405:
            // Powered-up nodes count toward `count`: allocated (or idle but not suspendable) ones first, then the
            // first suspendable (idle or down, not completing, powering, rebooting or powered down) are kept.
            var suspendable: [SlurmNode] = []
            var active = 0
            for n in members {
                let f = n.flags
                let isSuspendable = (n.base == .idle || n.base == .down)
                    && f.isDisjoint(with: [
                        .completing, .poweringUp, .poweringDown, .rebootIssued, .rebootRequested, .poweredDown,
                    ])
                if isSuspendable {
                    suspendable.append(n)
                } else if n.base == .allocated || n.base == .idle,
                    f.isDisjoint(with: [.poweringDown, .poweringUp, .poweredDown, .drain])
                {
                    active += 1
                }
            }
            return Array(suspendable.prefix(Swift.max(0, count - active)))
        }
    }

    static func matches(_ n: SlurmNode, _ states: Set<SuspendExcludedStates.State>) -> Bool {
        for s in states {
            let hit: Bool
            switch s {
            case .down: hit = n.base == .down
            case .cloud: hit = n.flags.contains(.cloud)
            case .drain: hit = n.flags.contains(.drain)
            case .dynamicFuture: hit = n.flags.contains(.dynamicFuture)
            case .dynamicNorm: hit = n.flags.contains(.dynamicNorm)
            case .fail: hit = n.flags.contains(.fail)
            case .invalidRegistration: hit = n.flags.contains(.invalidRegistration)
            case .maintenance: hit = n.flags.contains(.maintenance)
            case .notResponding: hit = n.flags.contains(.notResponding)
            case .planned: hit = n.flags.contains(.planned)
            case .reserved: hit = n.flags.contains(.reserved)
            }
            if hit { return true }
        }
        return false
    }
}

/// What Slurm's power-saving exclusions mean for prewarmd at one moment.
public struct PowerProtection: Sendable, Equatable {
    /// Never touched, powered neither up nor down: `SuspendExcNodes` sets kept whole, `SuspendExcParts` members.
    public var untouched: Set<String> = []
    /// Never powered down (Slurm keeps them up now), but may be powered up: the nodes of a counted
    /// `SuspendExcNodes` set that slurmctld would keep, and nodes in a `SuspendExcStates` state.
    public var keptUp: Set<String> = []
    /// Why every power-down is withheld (`SuspendExcNodes` holds an item prewarmd cannot resolve): the first such
    /// problem; nil when none is.
    public var withheldBecause: String?
    /// Every power-down withheld.
    public var powerDownsWithheld: Bool { withheldBecause != nil }
    /// What an admin should know, one line each (logged once by the daemon, shown by `prewarm check`).
    public var problems: [String] = []

    public init() {}

    mutating func withhold(_ reason: String) {
        if withheldBecause == nil { withheldBecause = reason }
        problems.append(reason)
    }
}
