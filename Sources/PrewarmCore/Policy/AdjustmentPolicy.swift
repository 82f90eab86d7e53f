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

    public init(kind: Kind, node: Int, reason: String) {
        self.kind = kind
        self.node = node
        self.reason = reason
    }
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

/// One partition of a decision over nodes that partitions may share (``AdjustmentPolicy/decide(now:nodes:partitions:configuration:)``).
public struct PartitionDemand: Sendable {
    /// Positions in the decision's `nodes` of the partition's nodes.
    public var members: [Int]
    public var forecast: DemandForecast
    /// Members busy only with other partitions' jobs: those partitions' capacity, not this one's (its forecast does
    /// not count their jobs).
    public var busyElsewhere: Set<Int>

    /// The partition is every node of the decision, in order, whatever `members` says (the one set of nodes of
    /// ``AdjustmentPolicy/decide(now:nodes:forecast:configuration:)``: no member list to build and check each step).
    var coversAllNodes = false

    public init(members: [Int], forecast: DemandForecast, busyElsewhere: Set<Int> = []) {
        self.members = members
        self.forecast = forecast
        self.busyElsewhere = busyElsewhere
    }
}

/// An action of a decision over several partitions, with the partition (its position in the input) it is for.
public struct PartitionAction: Sendable, Equatable {
    public var partition: Int
    public var action: NodeAction

    public init(partition: Int, action: NodeAction) {
        self.partition = partition
        self.action = action
    }
}

/// The adjustment policy shared by the simulator and `prewarmd`: the user's rule "difference = predicted −
/// actual; beyond a threshold, scale up or down", made safe.
public enum AdjustmentPolicy {
    /// Decides the power actions for one step of one set of nodes (the simulator's cluster, or a pool).
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
        var all = PartitionDemand(members: [], forecast: forecast)
        all.coversAllNodes = true
        return decide(now: now, nodes: nodes, partitions: [all], configuration: c).map(\.action)
    }

    /// Decides the power actions for one step of partitions that may share nodes (`prewarmd`: Slurm's partitions
    /// often overlap, e.g. a `debug` partition on some nodes of `batch`). With one partition, or partitions without a
    /// common node, each partition gets exactly what ``decide(now:nodes:forecast:configuration:)`` gives it alone, but
    /// for the caps, which hold for the step as a whole. Where partitions share nodes:
    ///
    /// - A partition's capacity is its busy nodes that run its own jobs (not those in `busyElsewhere`) and the booting
    ///   and idle nodes no partition before it has claimed. Partitions go smallest first (fewest nodes), so a node a
    ///   partition needs is claimed before a larger one that contains it counts it.
    /// - A partition short of nodes powers up off nodes no partition before it chose, and claims all of its
    ///   booting and idle ones. Otherwise it claims as many as its forecast needs within boot lead + margin (its
    ///   nodes in the fewest partitions first), and offers its surplus of long-idle nodes for power-down, as alone.
    /// - A node is powered down only if a partition offered it and no partition claimed it: a node one partition
    ///   could spare is never taken from another that needs it.
    /// - The step's caps (`maxPowerUpsPerStep`, `maxPowerDownsPerStep`) hold over all partitions together.
    /// - Complexity: O(P × (nodes log nodes + forecast minutes)) for P partitions.
    public static func decide(
        now: Int64, nodes: [PolicyNode], partitions: [PartitionDemand], configuration c: AdjustmentConfiguration
    ) -> [PartitionAction] {
        let lead = Int(Swift.max(1, (c.bootLeadTime + 59) / 60))
        let holdMinutes = Int(Swift.max(1, (c.bootLeadTime + c.powerDownMargin + 59) / 60))
        // Each partition's members, valid and once each, and whether any node is in several partitions: claims matter
        // only then (otherwise each partition is decided as alone, and none of the bookkeeping below is needed, as in
        // the simulator's one set of nodes).
        var members: [[Int]] = []
        var sharedBy: [Int] = []
        let allNodes = partitions.count == 1 && partitions[0].coversAllNodes  // members: every position, in order
        if allNodes {
            members = [[]]
        } else {
            sharedBy = [Int](repeating: 0, count: nodes.count)
            var lastSeenIn = [Int](repeating: -1, count: nodes.count)
            members.reserveCapacity(partitions.count)
            for (pi, p) in partitions.enumerated() {
                var m: [Int] = []
                m.reserveCapacity(p.members.count)
                for i in p.members where i >= 0 && i < nodes.count && lastSeenIn[i] != pi {
                    lastSeenIn[i] = pi
                    sharedBy[i] += 1
                    m.append(i)
                }
                members.append(m)
            }
        }
        let overlapping = sharedBy.contains { $0 > 1 }
        let order = partitions.indices.sorted { (members[$0].count, $0) < (members[$1].count, $1) }

        // Booting and idle nodes a partition keeps, and off nodes chosen to power up: not another's capacity.
        var claimed = [Bool](repeating: false, count: overlapping ? nodes.count : 0)
        var offered = [Bool](repeating: false, count: overlapping ? nodes.count : 0)
        var ups: [PartitionAction] = []
        var downs: [(position: Int, action: PartitionAction)] = []
        for pi in order {
            let forecast = partitions[pi].forecast
            let needNow = Int(forecast.peak(
                minutes: 0 ..< lead + 1, aggressiveness: c.aggressiveness, arrivalShare: c.arrivalBootShare
            ).rounded(.up))
            let needSoon = Int(forecast.peak(minutes: 0 ..< holdMinutes + 1, aggressiveness: c.aggressiveness)
                .rounded(.up))

            var busy = 0
            var spare: [Int] = []  // booting and idle members no partition before claimed
            var off: [Int] = []
            let elsewhere = partitions[pi].busyElsewhere
            let someElsewhere = !elsewhere.isEmpty  // a lookup per busy node only where it can answer yes
            func visit(_ i: Int) {
                switch nodes[i].power {
                case .busy: if !someElsewhere || !elsewhere.contains(i) { busy += 1 }
                case .booting, .idle: if !overlapping || !claimed[i] { spare.append(i) }
                case .off: if !nodes[i].excluded && (!overlapping || !claimed[i]) { off.append(i) }
                case .poweringDown, .unavailable: break
                }
            }
            if allNodes {
                for i in nodes.indices { visit(i) }
            } else {
                for i in members[pi] { visit(i) }
            }
            let capacity = busy + spare.count
            let shortfall = needNow - capacity
            if shortfall > c.threshold {
                off.sort { (nodes[$0].weight, nodes[$0].index) < (nodes[$1].weight, nodes[$1].index) }
                let count = Swift.min(shortfall, Swift.max(0, c.maxPowerUpsPerStep - ups.count), off.count)
                for i in off.prefix(count) {
                    if overlapping { claimed[i] = true }
                    ups.append(PartitionAction(partition: pi, action: NodeAction(
                        kind: .powerUp, node: nodes[i].index,
                        reason: "forecast needs \(needNow) nodes within \(c.bootLeadTime)s; \(capacity) up or booting")))
                }
                if overlapping { for i in spare { claimed[i] = true } }
                continue
            }
            // Long-idle nodes beyond the forecast's need within boot lead + margin are offered for power-down.
            let surplus = capacity - needSoon
            var offer: [(i: Int, since: Int64)] = []
            if surplus > c.threshold {
                for i in spare where !nodes[i].excluded && !nodes[i].keepUp {
                    if case .idle(let since) = nodes[i].power, now &- since >= c.minIdleBeforePowerDown {
                        offer.append((i, since))
                    }
                }
                offer.sort {
                    (nodes[$1.i].weight, $0.since, nodes[$1.i].index) < (nodes[$0.i].weight, $1.since, nodes[$0.i].index)
                }
                offer.removeLast(offer.count - Swift.min(offer.count, Swift.max(0, surplus)))
                for o in offer where !overlapping || !offered[o.i] {
                    if overlapping { offered[o.i] = true }
                    downs.append((o.i, PartitionAction(partition: pi, action: NodeAction(
                        kind: .powerDown, node: nodes[o.i].index,
                        reason: "idle \(now &- o.since)s; forecast needs \(needSoon) nodes within "
                            + "\(c.bootLeadTime + c.powerDownMargin)s; \(capacity) up"))))
                }
            }
            // The rest of what it needs is claimed: nodes no partition offered first (they stay up anyway), then
            // those in the fewest partitions.
            guard overlapping else { continue }
            var keep = Swift.max(0, needSoon - busy)
            let offeredHere = Set(offer.map(\.i))
            let rest = spare.filter { !offeredHere.contains($0) }
                .sorted { (offered[$0] ? 1 : 0, sharedBy[$0], $0) < (offered[$1] ? 1 : 0, sharedBy[$1], $1) }
            for i in rest where keep > 0 {
                claimed[i] = true
                keep -= 1
            }
        }
        // Offered and claimed by no partition (one processed after the offer may need it).
        let down = downs.filter { !overlapping || !claimed[$0.position] }
            .prefix(Swift.max(0, c.maxPowerDownsPerStep)).map(\.action)
        return ups + down
    }
}
