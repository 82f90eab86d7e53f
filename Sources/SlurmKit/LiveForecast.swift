// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
//
// The demand forecast of PrewarmCore (the function the simulator runs) fed from a live Slurm: running and
// queued jobs with the runtimes the job_submit plugin annotated (else their time limits), per partition.

import PrewarmCore

/// One partition's forecast and what is powered now.
public struct PartitionForecast: Sendable {
    public var partition: String
    public var nodes: Int
    /// Nodes up now (idle, allocated or mixed, not powering down) and powering up.
    public var powered: Int
    public var poweringUp: Int
    public var runningJobs: Int
    public var pendingJobs: Int
    /// Jobs whose runtime came from a Prewarm annotation (the rest use their time limit).
    public var annotatedJobs: Int
    public var forecast: DemandForecast
    /// The nodes this partition's running jobs hold (those whose node list Slurm gave): a node busy with another
    /// partition's jobs only is that partition's capacity, not this one's.
    public var busyNodes: Set<String> = []
    /// Queued jobs that can start on some of the partition's nodes only (``NodeEligibility``), one forecast per set
    /// of nodes; `forecast` does not count them.
    public var restricted: [RestrictedForecast] = []
}

/// The demand of queued jobs that can start only on some nodes (`--nodelist`, `--exclude`, a reservation's nodes,
/// `--constraint`, `--gres`): those jobs and the running jobs on those nodes (of any partition), with no expected
/// arrivals.
public struct RestrictedForecast: Sendable {
    /// The nodes, in the order of the cycle's node list.
    public var nodes: [String]
    public var pendingJobs: Int
    public var forecast: DemandForecast
    /// The nodes of `nodes` that running jobs hold.
    public var busyNodes: Set<String>

    public init(nodes: [String], pendingJobs: Int, forecast: DemandForecast, busyNodes: Set<String>) {
        self.nodes = nodes
        self.pendingJobs = pendingJobs
        self.forecast = forecast
        self.busyNodes = busyNodes
    }
}

public enum LiveForecast {
    /// Forecasts every partition for the next `minutes` minutes from `now`.
    ///
    /// A job's runtime is the annotation's `rt` (late: `rt90`), else its time limit (else an hour). Running jobs
    /// use the conditional remaining-time estimate of ``RunningDemand``; queued jobs start no earlier than
    /// their eligible time, and a job with a dependency no earlier than its parents' predicted ends
    /// (``dependentStart(_:ends:pending:now:)``), and a job held back by a limit (an array's `%N` throttle, a
    /// per-user or per-group job/CPU/node limit) no earlier than a running job of the same array, user or group is
    /// predicted to end (``LimitWaits``), and a job in an advance reservation no earlier than its start
    /// (`reservations`). Expected arrivals and resubmissions come from what the daemon learned for
    /// the partition (`learned`, see ``LiveDemandTracker``), else from `arrivals` (an empty model adds none). A job
    /// in several partitions (pending `-p a,b`) counts in the first.
    ///
    /// Running jobs keep the nodes Slurm gave them, each node until the last of its jobs is predicted to end. Where
    /// `sharing` says the controller gives jobs cores (`select/cons_tres`; by default, whole nodes), queued jobs that
    /// take a share of a node (``NodeSharing``: one node and fewer CPUs than the partition's largest node, not `--exclusive` and not in
    /// an `OverSubscribe=EXCLUSIVE` partition) are packed into nodes in queue order (first fit among the queue's
    /// nodes with the same earliest start, each node busy for the longest of its jobs), as the controller would fit
    /// them, instead of a node each. A queued job needs at least as many nodes as its CPUs fill (of the partition's
    /// largest node).
    ///
    /// A queued job that can start only on some of the partition's nodes (its `--nodelist`, `--exclude`, its
    /// reservation's nodes, its `--constraint` of features joined by `&` or `|`, its `--gres`: ``NodeEligibility``)
    /// counts on those nodes (``PartitionForecast/restricted``), not on the partition's; with `--nodelist` and more
    /// nodes than it names, the rest count where they may run.
    public static func forecast(
        nodes: [SlurmNode], partitions: [SlurmPartition], jobs: [SlurmJob], now: Int64, minutes: Int = 60,
        arrivals: ArrivalModel = ArrivalModel(), hourOfWeekAt: (Int) -> Int = { _ in 0 },
        learned: [String: DemandLearner.Models] = [:], reservations: [SlurmReservation] = [],
        sharing: NodeSharing? = nil
    ) -> [PartitionForecast] {
        var reservationStart: [String: Int64] = [:]
        for r in reservations { reservationStart[r.name] = r.start }
        // Running jobs' predicted ends (by job id, and by array master id: its last task), for dependent jobs.
        var ends: [UInt32: Int64] = [:]
        var pendingIDs = Set<UInt32>()
        var limits = LimitWaits()
        for j in jobs {
            switch j.state {
            case .running, .suspended:
                let end = runningDemand(j, now: now).predictedEnd
                limits.addRunning(j, end: end)
                ends[j.id] = Swift.max(ends[j.id] ?? .min, end)
                if j.arrayJobID != 0 { ends[j.arrayJobID] = Swift.max(ends[j.arrayJobID] ?? .min, end) }
            case .pending:
                pendingIDs.insert(j.id)
                if j.arrayJobID != 0 { pendingIDs.insert(j.arrayJobID) }
            default: continue
            }
        }
        // Each job's partition (the first of a pending job's list), computed once: jobs by partition, in list order.
        var byPartition: [String: [Int]] = [:]
        for i in jobs.indices { byPartition[firstPartition(jobs[i].partition), default: []].append(i) }
        let sharing = sharing ?? NodeSharing(nodes: nodes, partitions: partitions, allocatesCores: false)
        var eligibility = NodeEligibility(nodes: nodes, reservations: reservations)
        // Running jobs by node (every partition's), built when a restricted job first needs it.
        var runningOnNode: [String: [RunningDemand]]?
        var out: [PartitionForecast] = []
        for p in partitions {
            let members = nodes.filter { $0.partitions.contains(p.name) }
            var memberPositions: [Int]?
            // Restricted queued jobs by the set of nodes they can take, in order of first use.
            var groupOf: [[Int]: Int] = [:]
            var groups: [(nodes: [Int], pending: [PendingDemand], jobs: Int, packer: SharedNodePacker)] = []
            var groupOfRestriction: [Int: RestrictedPlacement?] = [:]
            // Bounded work: the sets' nodes add up to at most 8 times the partition's (plus 1,024); a job whose set would
            // go beyond counts for any node of the partition, as every job did before (each set costs the decision a
            // pass over its nodes, and distinct `--nodelist`s of one node each cost one).
            var setBudget = 0
            func group(_ set: [Int]) -> Int {
                if let g = groupOf[set] { return g }
                groupOf[set] = groups.count
                groups.append((set, [], 0, SharedNodePacker(coresPerNode: packer.coresPerNode, now: now)))
                return groups.count - 1
            }
            /// Where a restriction's jobs count (its sets' groups), made on first use; nil past the budget.
            func placement(_ id: Int, _ r: NodeRestriction) -> RestrictedPlacement? {
                if let known = groupOfRestriction[id] { return known }
                var cost = 0
                if !r.required.isEmpty && groupOf[r.required] == nil { cost += r.required.count }
                if let o = r.others, !o.isEmpty, groupOf[o] == nil { cost += o.count }
                var place: RestrictedPlacement?
                if cost <= setBudget {
                    setBudget -= cost
                    let others: RestrictedPlacement.Others
                    if let o = r.others { others = o.isEmpty ? .nowhere : .group(group(o)) } else { others = .partition }
                    place = RestrictedPlacement(required: r.required.isEmpty ? nil : group(r.required), others: others)
                }
                groupOfRestriction[id] = place
                return place
            }
            let poweringUp = members.filter { $0.flags.contains(.poweringUp) }.count
            let powered = members.filter {
                !$0.flags.contains(.poweredDown) && !$0.flags.contains(.poweringDown)
                    && !$0.flags.contains(.poweringUp) && $0.base != .down
            }.count
            var running: [RunningDemand] = []
            var runningJobs = 0
            // Nodes running jobs, each until the last of its jobs is predicted to end: jobs that share a node (a
            // cluster that gives jobs cores, not whole nodes) keep one node busy, not one each.
            var byNode = SharedNodeDemand<String>()
            var pending: [PendingDemand] = []
            var pendingJobs = 0
            // Queued jobs that take a share of a node, packed into nodes.
            var packer = SharedNodePacker(coresPerNode: sharing.coresPerNode[p.name] ?? 1, now: now)
            var annotated = 0
            for i in byPartition[p.name] ?? [] {
                let j = jobs[i]
                let r = runtimes(j)
                if r.annotated { annotated += 1 }
                switch j.state {
                case .running, .suspended:
                    runningJobs += 1
                    let demand = runningDemand(j, now: now)
                    guard let names = allocatedNodes(j) else {
                        running.append(demand)  // no usable node list: its node count, until its own end
                        continue
                    }
                    for name in names { byNode.add(on: name, demand) }
                case .pending:
                    if j.held { continue }  // starts only when released: no demand to plan for
                    var earliest = j.eligibleTime > now ? j.eligibleTime : nil
                    if let d = JobDependency.parse(j.dependency) {
                        // From the parents' predicted ends; unknown (a parent still queued) or never: not planned.
                        guard let start = dependentStart(d, ends: ends, pending: pendingIDs, now: now) else { continue }
                        if start > now { earliest = Swift.max(earliest ?? start, start) }
                    }
                    // A job in an advance reservation that has not started yet: from the reservation's start.
                    if !j.reservation.isEmpty, let start = reservationStart[j.reservation], start > now {
                        earliest = Swift.max(earliest ?? start, start)
                    }
                    switch limits.start(of: j, runtime: r.runtime) {
                    case .notLimited: break
                    case .never: continue  // nothing running that would clear the limit: not planned
                    case .at(let start): if start > now { earliest = Swift.max(earliest ?? start, start) }
                    }
                    pendingJobs += 1
                    // A share of a node (one that may share it), else whole nodes: `-n 6` on nodes of 4 CPUs takes 2.
                    let share = sharing.nodes(partition: p.name, nodeCount: j.nodeCount, cpus: j.cpus, exclusive: j.exclusive)
                    if NodeEligibility.mayRestrict(j) {
                        let positions = memberPositions ?? nodes.indices.filter { nodes[$0].partitions.contains(p.name) }
                        if memberPositions == nil {
                            memberPositions = positions
                            setBudget = 8 * positions.count + 1024
                        }
                        if let (id, restriction) = eligibility.restriction(of: j, partition: p.name, members: positions),
                            let place = placement(id, restriction)
                        {
                            if share < 1 && restriction.required.count <= 1 {
                                // A share of a node: packed with the set's other small jobs, as the partition's are.
                                guard let g = place.required ?? place.others.group else { continue }
                                groups[g].jobs += 1
                                var small = groups[g].packer
                                small.add(
                                    cpus: j.cpus, predictedRuntime: r.runtime, lateRuntime: r.late, earliestStart: earliest,
                                    to: &groups[g].pending)
                                groups[g].packer = small
                                continue
                            }
                            // Whole nodes on the nodes it may take: its required ones, then the rest where it may run.
                            let whole = Int(Swift.min(Swift.max(1, share.rounded(.up)), Double(1 << 30)))
                            func add(_ g: Int, _ count: Int) {
                                guard count > 0 else { return }
                                groups[g].pending.append(PendingDemand(
                                    nodes: count, predictedRuntime: r.runtime, lateRuntime: r.late, earliestStart: earliest))
                                groups[g].jobs += 1
                            }
                            if let g = place.required { add(g, restriction.required.count) }
                            let rest = whole - restriction.required.count
                            switch place.others {
                            case .group(let g): add(g, rest)
                            case .partition where rest > 0:
                                pending.append(PendingDemand(
                                    nodes: rest, predictedRuntime: r.runtime, lateRuntime: r.late, earliestStart: earliest))
                            default: break
                            }
                            continue
                        }
                    }
                    guard share < 1 else {
                        pending.append(PendingDemand(
                            nodes: Int(Swift.min(share, Double(1 << 30))), predictedRuntime: r.runtime, lateRuntime: r.late,
                            earliestStart: earliest))
                        continue
                    }
                    packer.add(
                        cpus: j.cpus, predictedRuntime: r.runtime, lateRuntime: r.late, earliestStart: earliest,
                        to: &pending)
                default:
                    continue
                }
            }
            running += byNode.demands
            let models = learned[p.name]
            let a = models?.arrivals ?? arrivals
            let f = DemandForecaster.forecast(
                now: now, minutes: minutes, running: running, pending: pending, arrivals: a,
                sessions: models?.sessions.expectedDemand(now: now, minutes: minutes, allocationUnit: a.allocationUnit)
                    ?? [],
                hourOfWeekAt: hourOfWeekAt, totalNodes: members.count)
            var restricted: [RestrictedForecast] = []
            if !groups.isEmpty {
                let onNode = runningOnNode ?? runningByNode(jobs, now: now)
                runningOnNode = onNode
                for g in groups {
                    var held = SharedNodeDemand<String>()
                    for i in g.nodes { for d in onNode[nodes[i].name] ?? [] { held.add(on: nodes[i].name, d) } }
                    restricted.append(RestrictedForecast(
                        nodes: g.nodes.map { nodes[$0].name }, pendingJobs: g.jobs,
                        forecast: DemandForecaster.forecast(
                            now: now, minutes: minutes, running: held.demands, pending: g.pending,
                            arrivals: ArrivalModel(), sessions: [], hourOfWeekAt: hourOfWeekAt, totalNodes: g.nodes.count),
                        busyNodes: Set(held.nodes)))
                }
            }
            out.append(PartitionForecast(
                partition: p.name, nodes: members.count, powered: powered, poweringUp: poweringUp,
                runningJobs: runningJobs, pendingJobs: pendingJobs, annotatedJobs: annotated, forecast: f,
                busyNodes: Set(byNode.nodes), restricted: restricted))
        }
        return out
    }

    /// Where the jobs of one ``NodeRestriction`` count: the group of their required nodes, and where the rest go.
    struct RestrictedPlacement {
        enum Others {
            case partition
            case group(Int)
            case nowhere

            var group: Int? { if case .group(let g) = self { g } else { nil } }
        }
        var required: Int?
        var others: Others
    }

    /// Every running job's demand on each node its node list names (jobs without a usable list are left out).
    static func runningByNode(_ jobs: [SlurmJob], now: Int64) -> [String: [RunningDemand]] {
        var out: [String: [RunningDemand]] = [:]
        for j in jobs where j.state == .running || j.state == .suspended {
            guard let names = allocatedNodes(j) else { continue }
            let d = runningDemand(j, now: now)
            for n in names { out[n, default: []].append(d) }
        }
        return out
    }

    /// The names of the nodes a running job holds, from its hostlist; nil when Slurm gave none or it does not parse
    /// or does not name as many nodes as the job has (the caller then counts the job's node count).
    static func allocatedNodes(_ j: SlurmJob) -> [String]? {
        guard !j.nodes.isEmpty, let names = try? Hostlist.expand(j.nodes), !names.isEmpty,
            j.nodeCount <= 0 || names.count == j.nodeCount
        else { return nil }
        return names
    }

    /// The first partition of a job's (comma-separated) list, "" when none: what `split(separator: ",").first`
    /// gives, without splitting the usual single name.
    static func firstPartition(_ list: String) -> String {
        guard list.utf8.contains(UInt8(ascii: ",")) else { return list }
        return list.split(separator: ",").first.map(String.init) ?? ""
    }

    /// A job's runtime: the annotation's `rt` (late: `rt90`), at most its time limit as it is now (a limit lowered
    /// after submission by a user, whose update the plugin does not re-annotate, or by scontrol), else its time
    /// limit (else an hour).
    static func runtimes(_ j: SlurmJob) -> (runtime: Int64, late: Int64, limit: Int64?, annotated: Bool) {
        let limit: Int64? = j.timeLimitMinutes > 0 ? j.timeLimitMinutes * 60 : nil
        if let a = SubmitProfiler.parse(j.adminComment) {
            let cap = limit ?? .max
            return (Swift.min(a.rt, cap), Swift.min(Swift.max(a.rt90, a.rt), cap), limit, true)
        }
        return (limit ?? 3600, limit ?? 3600, limit, false)
    }

    static func runningDemand(_ j: SlurmJob, now: Int64) -> RunningDemand {
        let r = runtimes(j)
        let start = j.startTime > 0 ? j.startTime : now
        return RunningDemand(
            nodes: Swift.max(1, j.nodeCount), start: start, now: now, predictedRuntime: r.runtime,
            lateRuntime: r.late, limitEnd: r.limit.map { start &+ $0 })
    }

    /// When a dependent job may start: the last of its parents' predicted ends (`?`: the first), plus any
    /// `+minutes`; a parent that already ended (gone from the list) counts as now. `nil` when it cannot be
    /// planned: Slurm says it will never be satisfied, or a parent it needs is itself still queued.
    static func dependentStart(
        _ d: JobDependency, ends: [UInt32: Int64], pending: Set<UInt32>, now: Int64
    ) -> Int64? {
        if d.neverSatisfied { return nil }
        var starts: [Int64] = []
        for parent in d.parents {
            let delay = Int64(parent.delayMinutes) * 60
            if let end = ends[parent.jobID] {
                starts.append((parent.kind == .afterStart ? now : end) &+ delay)
            } else if pending.contains(parent.jobID) {
                if !d.anyOf { return nil }
            } else {
                starts.append(now &+ delay)
            }
        }
        guard !starts.isEmpty else { return d.parents.isEmpty ? now : nil }
        return d.anyOf ? (starts.min() ?? now) : (starts.max() ?? now)
    }
}

/// Pending jobs held back by a limit that clears when a running job of the same group ends: a job array's running
/// task limit (`--array=…%N`: the array), Slurm's per-user QOS/association limits (`MaxJobsPerUser`,
/// `MaxTRESPerUser` CPU or node, association `MaxJobs`: the user) and group job limits (QOS `GrpJobs`: the QOS,
/// association `GrpJobs`: the account). The k-th such waiting job of a group (in Slurm's list order) starts when
/// the k-th of the group's running jobs is predicted to end, and when the group has fewer running jobs than waiting
/// ones, one predicted runtime after an earlier waiting job of the same slot.
struct LimitWaits {
    enum Start: Equatable {
        case notLimited
        /// Waiting on a limit with nothing running that would clear it.
        case never
        case at(Int64)
    }

    private enum Group: Hashable {
        case array(UInt32)
        case user(UInt32)
        case account(String)
        case qos(String)
    }

    static let arrayReasons = SlurmJob.limitReasons.array
    static let userReasons = SlurmJob.limitReasons.user
    static let accountReasons = SlurmJob.limitReasons.account
    static let qosReasons = SlurmJob.limitReasons.qos

    /// Per group: when each slot frees next (the running jobs' predicted ends, sorted, each advanced by the
    /// waiting jobs placed on it).
    private var slots: [Group: [Int64]] = [:]
    private var sorted = true
    private var placed: [Group: Int] = [:]

    /// Adds a running job and its predicted end (before the first ``start(of:runtime:)``).
    mutating func addRunning(_ j: SlurmJob, end: Int64) {
        if j.arrayJobID != 0 { slots[.array(j.arrayJobID), default: []].append(end) }
        slots[.user(j.userID), default: []].append(end)
        slots[.account(j.account), default: []].append(end)
        if !j.qos.isEmpty { slots[.qos(j.qos), default: []].append(end) }
        sorted = false
    }

    private static func group(of j: SlurmJob) -> Group? {
        if arrayReasons.contains(j.reasonCode) { return j.arrayJobID != 0 ? .array(j.arrayJobID) : nil }
        if userReasons.contains(j.reasonCode) { return .user(j.userID) }
        if accountReasons.contains(j.reasonCode) { return .account(j.account) }
        if qosReasons.contains(j.reasonCode) { return .qos(j.qos) }
        return nil
    }

    /// When a pending job may start, given the limit it waits on (call in Slurm's list order, once per job).
    mutating func start(of j: SlurmJob, runtime: Int64) -> Start {
        guard let g = Self.group(of: j) else { return .notLimited }
        if !sorted {
            for k in slots.keys { slots[k]?.sort() }
            sorted = true
        }
        guard var s = slots[g], !s.isEmpty else { return .never }
        let k = placed[g, default: 0]
        placed[g] = k + 1
        let slot = k % s.count
        let start = s[slot]
        s[slot] = start &+ Swift.max(60, runtime)
        slots[g] = s
        return .at(start)
    }
}
