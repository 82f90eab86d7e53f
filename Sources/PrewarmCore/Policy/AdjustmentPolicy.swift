// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

/// Power state of a node as the policy sees it (from the simulator, or from Slurm's node flags).
public enum NodePower: Sendable, Equatable {
    /// Powered down (Slurm `idle~`).
    case off
    /// Resuming (`#`).
    case booting
    /// Powered and idle since the given time (Unix seconds).
    case idle(since: Int64)
    /// Running or allocated to a job (including jobs about to start).
    case busy
    /// Suspending (`%`).
    case poweringDown
    /// Down, drained or draining, failed: never touched.
    case unavailable
}

/// One node, as the policy sees it.
public struct PolicyNode: Sendable, Equatable {
    /// Index in the caller's node table (returned in actions).
    public var index: Int
    public var power: NodePower
    /// Slurm `Weight`: lower weights are powered up first, powered down last.
    public var weight: Int
    /// Excluded from power management (`SuspendExcNodes`/`SuspendExcParts`, or configured): never powered up or down.
    public var excluded: Bool
    /// Never powered down, but may be powered up (a node Slurm keeps up: a counted `SuspendExcNodes` set,
    /// `SuspendExcStates`).
    public var keepUp: Bool

    public init(index: Int, power: NodePower, weight: Int = 1, excluded: Bool = false, keepUp: Bool = false) {
        self.index = index
        self.power = power
        self.weight = weight
        self.excluded = excluded
        self.keepUp = keepUp
    }
}

/// What the policy asks for.
public struct NodeAction: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case powerUp
        case powerDown
    }

    public var kind: Kind
    public var node: Int
    /// Why, in words an admin can read in a log.
    public var reason: String
}

/// Knobs of the adjustment policy.
public struct AdjustmentConfiguration: Sendable, Equatable {
    /// How long a node takes to boot and register (seconds): demand within this lead time must be
    /// powered now.
    public var bootLeadTime: Int64 = 300
    /// Act only when the difference between needed and powered nodes exceeds this many nodes.
    public var threshold: Int = 0
    /// 0 = plan for the expected demand, 1 = for the upper band. The defaults of this, `minIdleBeforePowerDown` and
    /// `arrivalBootShare` (1, 60 s, 0) are the setting that, among the ten `prewarm simulate --frontier` tries, cuts
    /// the boot wait at equal idle and saves idle at equal wait more than the former default (0.5, 120 s, 1) on all six
    /// production logs of the README at boot 300 s.
    public var aggressiveness: Float = 1
    /// A powered idle node is a power-down candidate only after this long idle (seconds).
    public var minIdleBeforePowerDown: Int64 = 60
    /// Power-down also requires that the forecast does not need the node within this many seconds
    /// beyond the boot lead time (hysteresis against flapping).
    public var powerDownMargin: Int64 = 600
    /// Share (0…1) of the forecast's expected arrivals of jobs not submitted yet (``ArrivalModel``: hour of week,
    /// recent rate) that justifies booting nodes. They always count in full for keeping powered nodes up (a node
    /// freed by a job end is kept for them). Known jobs (running, queued) and users' expected resubmissions always
    /// count in full. 1: a learned burst boots nodes ahead of it. Lower: leaner — a node booted on speculation costs a
    /// boot and a power-down on top of its idle time, and about half of those boots went unused in simulations
    /// (CTC-SP2, boot 300 s); at 0 (the default), arrivals are served from nodes already up.
    public var arrivalBootShare: Float = 0
    /// At most this many actions of each kind per step.
    public var maxPowerUpsPerStep: Int = 50
    public var maxPowerDownsPerStep: Int = 50

    public init() {}
}

/// The adjustment policy shared by the simulator and `prewarmd`: the user's rule "difference = predicted −
/// actual; beyond a threshold, scale up or down", made safe.
public enum AdjustmentPolicy {
    /// Decides the power actions for one step.
    ///
    /// - Needed nodes = the peak of the forecast (blended toward its upper band by `aggressiveness`, expected
    ///   arrivals of unsubmitted jobs counted at `arrivalBootShare`) over the next boot lead time, rounded up.
    ///   Nodes that count as capacity: busy, idle, booting.
    /// - Power up the shortfall beyond `threshold`, off nodes in (weight, index) order, capped per step.
    /// - Power down idle nodes (longest idle first among the highest weights) only if idle for
    ///   `minIdleBeforePowerDown` and not needed within boot lead + margin; never a busy, booting, excluded,
    ///   kept-up or unavailable node; capped per step.
    /// - Complexity: O(nodes log nodes + forecast minutes)
    public static func decide(
        now: Int64, nodes: [PolicyNode], forecast: DemandForecast, configuration c: AdjustmentConfiguration
    ) -> [NodeAction] {
        let lead = Int(Swift.max(1, (c.bootLeadTime + 59) / 60))
        let holdMinutes = Int(Swift.max(1, (c.bootLeadTime + c.powerDownMargin + 59) / 60))
        let needNow = Int(forecast.peak(
            minutes: 0 ..< lead + 1, aggressiveness: c.aggressiveness, arrivalShare: c.arrivalBootShare
        ).rounded(.up))
        let needSoon = Int(forecast.peak(minutes: 0 ..< holdMinutes + 1, aggressiveness: c.aggressiveness)
            .rounded(.up))

        var capacity = 0
        var off: [PolicyNode] = []
        var idle: [(node: PolicyNode, since: Int64)] = []
        for n in nodes {
            switch n.power {
            case .busy, .booting: capacity += 1
            case .idle(let since):
                capacity += 1
                if !n.excluded && !n.keepUp { idle.append((n, since)) }
            case .off: if !n.excluded { off.append(n) }
            case .poweringDown, .unavailable: break
            }
        }
        var actions: [NodeAction] = []
        let shortfall = needNow - capacity
        if shortfall > c.threshold {
            off.sort { ($0.weight, $0.index) < ($1.weight, $1.index) }
            let count = Swift.min(shortfall, c.maxPowerUpsPerStep, off.count)
            for n in off.prefix(count) {
                actions.append(NodeAction(
                    kind: .powerUp, node: n.index,
                    reason: "forecast needs \(needNow) nodes within \(c.bootLeadTime)s; \(capacity) up or booting"))
            }
            return actions
        }
        let surplus = capacity - needSoon
        if surplus > c.threshold {
            let eligible = idle.filter { now &- $0.since >= c.minIdleBeforePowerDown }
                .sorted { ($1.node.weight, $0.since, $1.node.index) < ($0.node.weight, $1.since, $0.node.index) }
            let count = Swift.min(surplus, c.maxPowerDownsPerStep, eligible.count)
            for e in eligible.prefix(count) {
                actions.append(NodeAction(
                    kind: .powerDown, node: e.node.index,
                    reason: "idle \(now &- e.since)s; forecast needs \(needSoon) nodes within "
                        + "\(c.bootLeadTime + c.powerDownMargin)s; \(capacity) up"))
            }
        }
        return actions
    }
}
