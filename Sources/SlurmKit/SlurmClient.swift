// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
//
// The daemon's view of a live Slurm: nodes, partitions and jobs as Swift values, and node power requests.
// C types stay in this file; every call to libslurm goes through one protocol (``SlurmClient``) so tests can
// wrap the real client and inject faults.
//
// Built without Slurm's headers (no `libslurm-dev`: `CSlurm`'s module map names /usr/include/slurm/slurm.h, so the
// module is unavailable), ``LibSlurmClient`` fails every call with a clear error and everything that does not talk
// to a live Slurm (`prewarm simulate`, `train`, `evaluate`, ...) builds and runs.

#if canImport(CSlurm)
internal import CSlurm
#endif

#if canImport(Glibc)
import Glibc
#endif
import PrewarmCore

/// The base state of a node (Slurm's `enum node_states`).
public enum NodeBaseState: String, Sendable {
    case unknown, down, idle, allocated, error, mixed, future
}

/// Node state flags the daemon reads (a subset of Slurm's `NODE_STATE_*` bits).
public struct NodeFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let cloud = NodeFlags(rawValue: 1 << 0)
    public static let drain = NodeFlags(rawValue: 1 << 1)
    public static let completing = NodeFlags(rawValue: 1 << 2)
    public static let notResponding = NodeFlags(rawValue: 1 << 3)
    public static let poweredDown = NodeFlags(rawValue: 1 << 4)
    public static let fail = NodeFlags(rawValue: 1 << 5)
    public static let poweringUp = NodeFlags(rawValue: 1 << 6)
    public static let maintenance = NodeFlags(rawValue: 1 << 7)
    public static let poweringDown = NodeFlags(rawValue: 1 << 8)
    public static let planned = NodeFlags(rawValue: 1 << 9)
    public static let powerDownRequested = NodeFlags(rawValue: 1 << 10)
    public static let powerUpRequested = NodeFlags(rawValue: 1 << 11)
    /// In an advance reservation (`RESERVED`).
    public static let reserved = NodeFlags(rawValue: 1 << 12)
    public static let dynamicFuture = NodeFlags(rawValue: 1 << 13)
    public static let dynamicNorm = NodeFlags(rawValue: 1 << 14)
    /// Registered with a configuration slurmctld rejects (`INVALID_REG`).
    public static let invalidRegistration = NodeFlags(rawValue: 1 << 15)
    public static let rebootRequested = NodeFlags(rawValue: 1 << 17)
    public static let rebootIssued = NodeFlags(rawValue: 1 << 18)
}

public struct SlurmNode: Sendable, Equatable {
    public var name: String
    public var base: NodeBaseState
    public var flags: NodeFlags
    public var cpus: Int
    public var weight: Int
    public var partitions: [String]
    public var reason: String
    /// Unix time the node last booted (0 when unknown).
    public var bootTime: Int64
    /// Unix time the node last ran a job (0 when unknown): idle since then.
    public var lastBusy: Int64
    /// The node's available features (`Features`/`AvailableFeatures`, comma-separated) and generic resources
    /// (`Gres`, e.g. `gpu:a100:4(S:0-1)`), "" when none: what a queued job's `--constraint` and `--gres` need.
    public var features = ""
    public var gres = ""

    public init(
        name: String, base: NodeBaseState, flags: NodeFlags, cpus: Int = 1, weight: Int = 1, partitions: [String] = [],
        reason: String = "", bootTime: Int64 = 0, lastBusy: Int64 = 0
    ) {
        self.lastBusy = lastBusy
        self.name = name
        self.base = base
        self.flags = flags
        self.cpus = cpus
        self.weight = weight
        self.partitions = partitions
        self.reason = reason
        self.bootTime = bootTime
    }
}

public enum JobState: Sendable, Equatable {
    case pending, running, suspended, completed, cancelled, failed, timeout, nodeFail, preempted, bootFail, deadline,
        outOfMemory
    case other(UInt32)

    init(raw: UInt32) {
        let all: [JobState] = [
            .pending, .running, .suspended, .completed, .cancelled, .failed, .timeout, .nodeFail, .preempted, .bootFail,
            .deadline, .outOfMemory,
        ]
        self = raw < UInt32(all.count) ? all[Int(raw)] : .other(raw)
    }

    /// The job has left the system.
    public var isFinished: Bool {
        switch self {
        case .pending, .running, .suspended: return false
        default: return true
        }
    }
}

public struct SlurmJob: Sendable, Equatable {
    public var id: UInt32
    /// Array master job id (0 when not an array task) and task id.
    public var arrayJobID: UInt32
    public var arrayTaskID: UInt32
    public var userID: UInt32
    public var account: String
    public var name: String
    public var partition: String
    public var state: JobState
    /// Slurm's pending reason code (`enum job_state_reason`).
    public var reasonCode: UInt32
    /// Held by its user or an administrator: it will not start until released.
    public var held: Bool { reasonCode == Self.heldReasons.0 || reasonCode == Self.heldReasons.1 }
    /// `WAIT_HELD` and `WAIT_HELD_USER`.
    #if canImport(CSlurm)
    public static let heldReasons: (UInt32, UInt32) = (CS_WAIT_HELD, CS_WAIT_HELD_USER)
    /// Pending reasons of limits that clear when a running job of the same array (`JobArrayTaskLimit`), user
    /// (QOS `MaxJobsPerUser`, `MaxTRESPerUser` CPU/node, association `MaxJobs`), account (association
    /// `GrpJobs`) or QOS (`GrpJobs`) ends.
    public static let limitReasons: (array: Set<UInt32>, user: Set<UInt32>, account: Set<UInt32>, qos: Set<UInt32>) = (
        [CS_WAIT_ARRAY_TASK_LIMIT],
        [CS_WAIT_QOS_MAX_JOB_PER_USER, CS_WAIT_QOS_MAX_CPU_PER_USER, CS_WAIT_QOS_MAX_NODE_PER_USER, CS_WAIT_ASSOC_MAX_JOBS],
        [CS_WAIT_ASSOC_GRP_JOB], [CS_WAIT_QOS_GRP_JOB]
    )
    #else
    /// Built without Slurm's headers no job comes from Slurm: stand-ins that no Slurm reason code takes.
    public static let heldReasons: (UInt32, UInt32) = (.max, .max - 1)
    public static let limitReasons: (array: Set<UInt32>, user: Set<UInt32>, account: Set<UInt32>, qos: Set<UInt32>) = (
        [.max - 2], [.max - 3, .max - 4, .max - 5, .max - 6], [.max - 7], [.max - 8]
    )
    #endif
    public var submitTime: Int64
    public var eligibleTime: Int64
    /// Actual start (running/finished) or Slurm's expected start (pending; 0 when unknown).
    public var startTime: Int64
    /// Actual end (finished) or expected end (running).
    public var endTime: Int64
    /// Minutes, -1 for INFINITE/unset.
    public var timeLimitMinutes: Int64
    public var cpus: Int
    public var nodeCount: Int
    /// Allocated nodes (hostlist syntax), "" when none.
    public var nodes: String
    public var adminComment: String
    public var dependency: String
    // Set by the libslurm client after `init` (the history store reads them; defaults elsewhere):
    /// The cluster the job ran on (`ClusterName`), "" when unknown.
    public var cluster = ""
    public var userName = ""
    public var qos = ""
    /// The advance reservation the job runs in (`--reservation`), "" when none.
    public var reservation = ""
    /// Requested tasks and CPUs per task (0 when not given).
    public var tasks = 0
    public var cpusPerTask = 0
    /// Requested memory in MB, per CPU when `memoryPerCPU`, else per node (0 when not given).
    public var memoryMB: Int64 = 0
    public var memoryPerCPU = false
    /// The job's exit status as `wait` reports it (exit code << 8 | signal), -1 when unknown.
    public var exitStatus: Int64 = -1
    /// Whether the job shares no node with other jobs (`--exclusive`, `=user`, `=mcs`).
    public var exclusive = false
    /// Where a queued job may run ("" when not restricted): its required and excluded nodes (hostlists), its
    /// feature constraint (`--constraint`) and its generic resources (the TRES per node, job, socket and task,
    /// joined by `,`: `gres/gpu:2`), and of those the ones per node alone (`--gres`, `--gpus-per-node`), whose counts
    /// a node must have.
    public var requiredNodes = ""
    public var excludedNodes = ""
    public var constraint = ""
    public var gresRequest = ""
    public var gresPerNode = ""

    public init(
        id: UInt32, arrayJobID: UInt32, arrayTaskID: UInt32, userID: UInt32, account: String, name: String,
        partition: String, state: JobState, reasonCode: UInt32, submitTime: Int64, eligibleTime: Int64,
        startTime: Int64, endTime: Int64, timeLimitMinutes: Int64, cpus: Int, nodeCount: Int, nodes: String,
        adminComment: String, dependency: String
    ) {
        self.id = id
        self.arrayJobID = arrayJobID
        self.arrayTaskID = arrayTaskID
        self.userID = userID
        self.account = account
        self.name = name
        self.partition = partition
        self.state = state
        self.reasonCode = reasonCode
        self.submitTime = submitTime
        self.eligibleTime = eligibleTime
        self.startTime = startTime
        self.endTime = endTime
        self.timeLimitMinutes = timeLimitMinutes
        self.cpus = cpus
        self.nodeCount = nodeCount
        self.nodes = nodes
        self.adminComment = adminComment
        self.dependency = dependency
    }
}

/// An advance reservation (`scontrol show reservation`): jobs submitted to it start no earlier than its start.
public struct SlurmReservation: Sendable, Equatable {
    public var name: String
    public var start: Int64
    public var end: Int64
    /// Reserved nodes (hostlist syntax, or `ALL`).
    public var nodes: String
    public var partition: String

    public init(name: String, start: Int64, end: Int64, nodes: String, partition: String = "") {
        self.name = name
        self.start = start
        self.end = end
        self.nodes = nodes
        self.partition = partition
    }
}

public struct SlurmPartition: Sendable, Equatable {
    public var name: String
    /// Member nodes in hostlist syntax.
    public var nodes: String
    /// `OverSubscribe=EXCLUSIVE`: every job gets whole nodes.
    public var exclusive: Bool
    /// The partition's own `SuspendTime`.
    public var suspendTime: PartitionTimer
    /// The partition's own `ResumeTimeout`.
    public var resumeTimeout: PartitionTimer

    public init(
        name: String, nodes: String, exclusive: Bool = false, suspendTime: PartitionTimer = .inherited,
        resumeTimeout: PartitionTimer = .inherited
    ) {
        self.name = name
        self.nodes = nodes
        self.exclusive = exclusive
        self.suspendTime = suspendTime
        self.resumeTimeout = resumeTimeout
    }
}

/// A power timer (`SuspendTime`, `ResumeTimeout`) as a partition line of slurm.conf sets it.
public enum PartitionTimer: Sendable, Equatable, CustomStringConvertible {
    /// Not set: the cluster's value applies (unless another partition of the node sets one).
    case inherited
    /// `INFINITE`: no suspension, no timeout.
    case never
    case seconds(Int)

    /// `inherited`, `infinite` or the seconds, as `prewarm slurm-probe` prints it.
    public var description: String {
        switch self {
        case .inherited: "inherited"
        case .never: "infinite"
        case .seconds(let s): String(s)
        }
    }
}

/// The nodes whose power timer, as slurmctld applies it, is one value from one place.
public struct PowerTimerGroup: Sendable, Equatable {
    public var seconds: Int
    /// The partitions whose own value it is (the node takes the highest of its partitions' values); empty when it is
    /// the cluster's value.
    public var partitions: [String]
    /// The nodes (empty when the nodes were not asked, and the cluster's value is all that is known).
    public var nodes: [String]

    public init(seconds: Int, partitions: [String], nodes: [String]) {
        self.seconds = seconds
        self.partitions = partitions
        self.nodes = nodes
    }

    /// Where the value is set, for a message: nil for the cluster's, else "partition debug, 6 nodes".
    public var source: String? {
        guard !partitions.isEmpty else { return nil }
        let count = "\(nodes.count) node\(nodes.count == 1 ? "" : "s")"
        return "partition\(partitions.count == 1 ? "" : "s") \(partitions.joined(separator: ",")), \(count)"
    }
}

/// A failed libslurm call, with Slurm's errno and message.
public struct SlurmError: Error, CustomStringConvertible, Sendable, Equatable {
    public var operation: String
    public var code: Int32
    public var message: String
    public init(operation: String, code: Int32, message: String) {
        self.operation = operation
        self.code = code
        self.message = message
    }
    public var description: String { "\(operation): \(message) (slurm errno \(code))" }
}

public enum PowerRequest: Sendable, Equatable {
    case up
    case down
    /// Power down once the node's jobs have finished, accepting no new ones (`power_down_asap`).
    case downAsap
}

/// Everything the daemon asks of Slurm. Blocking RPCs: call from one thread.
public protocol SlurmClient: AnyObject {
    func loadNodes() throws(SlurmError) -> [SlurmNode]
    func loadPartitions() throws(SlurmError) -> [SlurmPartition]
    func loadJobs() throws(SlurmError) -> [SlurmJob]
    /// Requests a power change for `nodes` (hostlist syntax).
    func updatePower(nodes: String, _ request: PowerRequest) throws(SlurmError)
    /// Slurm's own power-saving exclusions: `SuspendExcNodes`, `SuspendExcParts` and `SuspendExcStates`.
    func loadPowerExclusions() throws(SlurmError) -> SlurmPowerExclusions
    /// Advance reservations (a client that knows none returns none).
    func loadReservations() throws(SlurmError) -> [SlurmReservation]
    /// Whether the controller allocates cores rather than whole nodes (`SelectType=select/cons_tres` or
    /// `cons_res`), so that jobs may share a node; a client that cannot tell says no.
    func loadAllocatesCores() throws(SlurmError) -> Bool
}

extension SlurmClient {
    public func loadReservations() throws(SlurmError) -> [SlurmReservation] { [] }
    public func loadAllocatesCores() throws(SlurmError) -> Bool { false }
}

/// The parts of the running controller's configuration (`scontrol show config`) that `prewarm check` compares
/// with Prewarm's files.
public struct SlurmControllerSettings: Sendable, Equatable {
    /// `JobSubmitPlugins`, in order (`prewarm` for job_submit/prewarm).
    public var jobSubmitPlugins: [String] = []
    /// `PluginDir`, a colon-separated list.
    public var pluginDirectories: [String] = []
    public var resumeProgram = ""
    public var suspendProgram = ""
    public var resumeFailProgram = ""
    /// `SlurmUser`: the user slurmctld, the job_submit plugin and the power programs run as.
    public var slurmUser = ""
    /// `SlurmUser`'s uid, as slurmctld resolved it.
    public var slurmUserID: UInt32?
    /// `SuspendTime` in seconds; nil when idle nodes are never suspended by Slurm itself (`NONE`, `INFINITE`).
    public var suspendTime: Int?
    /// `ResumeTimeout` in seconds: a node not up that long after its resume is marked DOWN.
    public var resumeTimeout = 0
    /// Slurm 22.05 without `PrivateData=cloud`: powered-down CLOUD nodes are invisible to every query, prewarmd's too.
    public var hidesPoweredDownCloudNodes = false
    /// The nodes and partitions, for the partitions' own `SuspendTime` and `ResumeTimeout` (empty when not asked:
    /// then the cluster's values are all that is known).
    public var nodes: [SlurmNode] = []
    public var partitions: [SlurmPartition] = []
    /// `SlurmctldPidFile`: where the running slurmctld wrote its PID (on the controller host).
    public var pidFile = ""
    /// `SlurmctldHost`, primary first: more than one when a backup controller can take over.
    public var controllers: [String] = []
    /// `StateSaveLocation`: with a backup controller, storage both controllers mount.
    public var stateSaveLocation = ""
    /// `SuspendExcNodes` (a hostlist; entries with a `:count` suffix exclude only some of their nodes) and
    /// `SuspendExcParts`: nodes Slurm never suspends.
    public var suspendExcludedNodes = ""
    public var suspendExcludedPartitions: [String] = []
    /// `SuspendExcStates` (Slurm 23.02 on; empty before).
    public var suspendExcludedStates = ""
    /// How this Slurm reads `SuspendExcNodes`.
    public var suspendExclusionSyntax = SuspendExclusionSyntax.upTo2311

    public init() {}

    /// How many of the nodes prewarmd may power up or down: those not in Slurm's `SuspendExcNodes` (entries without a
    /// `:count`) or `SuspendExcParts`, nor in the daemon's `ExcludeNodes` or `ExcludePartitions`.
    public func nodesPrewarmdMayPower(_ daemon: DaemonConfiguration) -> Int {
        nodesNotExcluded(also: Set(daemon.excludeNodes), partitions: daemon.excludePartitions).count
    }

    /// Slurm's exclusions as these settings hold them.
    public var powerExclusions: SlurmPowerExclusions {
        SlurmPowerExclusions(
            nodes: suspendExcludedNodes, partitions: suspendExcludedPartitions, states: suspendExcludedStates,
            syntax: suspendExclusionSyntax)
    }

    /// The nodes outside Slurm's `SuspendExcNodes` (sets kept whole, not those with a `:count`) and `SuspendExcParts`,
    /// and outside `excluded` and the partitions `excludedPartitions`.
    func nodesNotExcluded(also excluded: Set<String> = [], partitions excludedPartitions: [String] = []) -> [SlurmNode] {
        var never = excluded
        never.formUnion(powerExclusions.protection(of: nodes).untouched)
        let partitions = Set(suspendExcludedPartitions + excludedPartitions)
        return nodes.filter { !never.contains($0.name) && partitions.isDisjoint(with: $0.partitions) }
    }

    /// The nodes Slurm suspends after less than `limit` seconds idle, grouped by value and origin, shortest first
    /// (nodes Slurm never suspends left out: `SuspendExcNodes` without a count, `SuspendExcParts`).
    public func suspendTimes(under limit: Int) -> [PowerTimerGroup] {
        let suspended = nodesNotExcluded()
        if !nodes.isEmpty, suspended.isEmpty { return [] }
        return Self.groups(under: limit, cluster: suspendTime, \.suspendTime, nodes: suspended, partitions: partitions)
    }

    /// The nodes Slurm marks DOWN when not up less than `limit` seconds after their resume, shortest first.
    public func resumeTimeouts(under limit: Int) -> [PowerTimerGroup] {
        Self.groups(under: limit, cluster: resumeTimeout > 0 ? resumeTimeout : nil, \.resumeTimeout, nodes: nodes,
            partitions: partitions)
    }

    /// Each node's timer as slurmctld applies it (`power_save_set_timeouts`): the highest of its partitions' own
    /// values, `INFINITE` above all, else the cluster's (`cluster`, nil for none); those under `limit`, grouped.
    static func groups(
        under limit: Int, cluster: Int?, _ timer: KeyPath<SlurmPartition, PartitionTimer>, nodes: [SlurmNode],
        partitions: [SlurmPartition]
    ) -> [PowerTimerGroup] {
        guard !nodes.isEmpty else {
            guard let cluster, cluster < limit else { return [] }
            return [PowerTimerGroup(seconds: cluster, partitions: [], nodes: [])]
        }
        var own: [String: PartitionTimer] = [:]
        for p in partitions { own[p.name] = p[keyPath: timer] }
        var groups: [PowerTimerGroup] = []
        for node in nodes {
            var highest: Int? = nil  // Int.max for INFINITE
            var from: [String] = []
            for name in node.partitions.sorted() {
                let value: Int
                switch own[name] ?? .inherited {
                case .inherited: continue
                case .never: value = Int.max
                case .seconds(let s): value = s
                }
                if value > highest ?? Int.min { highest = value; from = [name] }
                else if value == highest { from.append(name) }
            }
            let seconds: Int
            if let highest { seconds = highest } else if let cluster { seconds = cluster; from = [] } else { continue }
            guard seconds < limit else { continue }
            if let i = groups.firstIndex(where: { $0.seconds == seconds && $0.partitions == from }) {
                groups[i].nodes.append(node.name)
            } else {
                groups.append(PowerTimerGroup(seconds: seconds, partitions: from, nodes: [node.name]))
            }
        }
        return groups.sorted {
            ($0.seconds, $0.partitions.joined(separator: ",")) < ($1.seconds, $1.partitions.joined(separator: ","))
        }
    }
}

#if canImport(CSlurm)
/// The real client, over libslurm (the `SLURM_CONF` environment variable picks the cluster).
public final class LibSlurmClient: SlurmClient {
    /// Whether this build talks to Slurm (it was built with Slurm's headers, `libslurm-dev`).
    public static let isAvailable = true
    nonisolated(unsafe) private static var initialised = false

    public init() {
        if !Self.initialised {
            slurm_init(nil)
            Self.initialised = true
        }
    }

    private func failure(_ operation: String) -> SlurmError {
        // libslurm sets errno (22.05's slurm_get_errno() only returned it; 24.11 has no such function).
        let code = errno
        let text = slurm_strerror(code).map { String(cString: $0) } ?? "unknown error"
        return SlurmError(operation: operation, code: code, message: text)
    }

    public func loadNodes() throws(SlurmError) -> [SlurmNode] {
        var message: UnsafeMutablePointer<node_info_msg_t>?
        guard slurm_load_node(0, &message, CS_SHOW_ALL) == SLURM_SUCCESS, let m = message else {
            throw failure("slurm_load_node")
        }
        defer { slurm_free_node_info_msg(m) }
        // node_info_t.partitions is filled from the partition table only on request.
        var parts: UnsafeMutablePointer<partition_info_msg_t>?
        if slurm_load_partitions(0, &parts, CS_SHOW_ALL) == SLURM_SUCCESS, let p = parts {
            slurm_populate_node_partitions(m, p)
            slurm_free_partition_info_msg(p)
        }
        var out: [SlurmNode] = []
        let count = Int(m.pointee.record_count)
        out.reserveCapacity(count)
        guard let array = m.pointee.node_array else { return out }
        for i in 0 ..< count {
            let n = array[i]
            guard let name = n.name else { continue }  // holes in the table
            out.append(SlurmNode(
                name: String(cString: name), base: Self.base(n.node_state), flags: Self.flags(n.node_state),
                cpus: Int(n.cpus), weight: Int(n.weight),
                partitions: n.partitions.map { String(cString: $0).split(separator: ",").map(String.init) } ?? [],
                reason: n.reason.map { String(cString: $0) } ?? "", bootTime: Int64(n.boot_time),
                lastBusy: Int64(n.last_busy)))
            out[out.count - 1].features = n.features.map { String(cString: $0) } ?? ""
            out[out.count - 1].gres = n.gres.map { String(cString: $0) } ?? ""
        }
        return out
    }

    public func loadPartitions() throws(SlurmError) -> [SlurmPartition] {
        var message: UnsafeMutablePointer<partition_info_msg_t>?
        guard slurm_load_partitions(0, &message, CS_SHOW_ALL) == SLURM_SUCCESS, let m = message else {
            throw failure("slurm_load_partitions")
        }
        defer { slurm_free_partition_info_msg(m) }
        var out: [SlurmPartition] = []
        guard let array = m.pointee.partition_array else { return out }
        for i in 0 ..< Int(m.pointee.record_count) {
            let p = array[i]
            guard let name = p.name else { continue }
            let suspend: PartitionTimer = switch p.suspend_time {
            case CS_NO_VAL: .inherited
            case CS_INFINITE: .never
            case let s: .seconds(Int(s))
            }
            let resume: PartitionTimer = switch p.resume_timeout {
            case CS_NO_VAL16: .inherited
            case CS_INFINITE16: .never
            case let s: .seconds(Int(s))
            }
            out.append(SlurmPartition(
                name: String(cString: name), nodes: p.nodes.map { String(cString: $0) } ?? "",
                exclusive: p.max_share & ~UInt16(SHARED_FORCE) == 0, suspendTime: suspend, resumeTimeout: resume))
        }
        return out
    }

    public func loadReservations() throws(SlurmError) -> [SlurmReservation] {
        var message: UnsafeMutablePointer<reserve_info_msg_t>?
        guard slurm_load_reservations(0, &message) == SLURM_SUCCESS, let m = message else {
            throw failure("slurm_load_reservations")
        }
        defer { slurm_free_reservation_info_msg(m) }
        var out: [SlurmReservation] = []
        guard let array = m.pointee.reservation_array else { return out }
        for i in 0 ..< Int(m.pointee.record_count) {
            let r = array[i]
            guard let name = r.name else { continue }
            out.append(SlurmReservation(
                name: String(cString: name), start: Int64(r.start_time), end: Int64(r.end_time),
                nodes: r.node_list.map { String(cString: $0) } ?? "", partition: r.partition.map { String(cString: $0) } ?? ""))
        }
        return out
    }

    public func loadJobs() throws(SlurmError) -> [SlurmJob] {
        var message: UnsafeMutablePointer<job_info_msg_t>?
        guard slurm_load_jobs(0, &message, CS_SHOW_ALL) == SLURM_SUCCESS, let m = message else {
            throw failure("slurm_load_jobs")
        }
        defer { slurm_free_job_info_msg(m) }
        var out: [SlurmJob] = []
        let count = Int(m.pointee.record_count)
        out.reserveCapacity(count)
        guard let array = m.pointee.job_array else { return out }
        func text(_ p: UnsafeMutablePointer<CChar>?) -> String { p.map { String(cString: $0) } ?? "" }
        for i in 0 ..< count {
            let j = array[i]
            out.append(SlurmJob(
                id: j.job_id, arrayJobID: j.array_job_id, arrayTaskID: j.array_task_id, userID: j.user_id,
                account: text(j.account), name: text(j.name), partition: text(j.partition),
                state: JobState(raw: j.job_state & CS_JOB_STATE_BASE), reasonCode: UInt32(j.state_reason),
                submitTime: Int64(j.submit_time), eligibleTime: Int64(j.eligible_time), startTime: Int64(j.start_time),
                endTime: Int64(j.end_time),
                timeLimitMinutes: (j.time_limit == CS_INFINITE || j.time_limit == CS_NO_VAL) ? -1 : Int64(j.time_limit),
                cpus: Int(j.num_cpus), nodeCount: Int(j.num_nodes), nodes: text(j.nodes),
                adminComment: text(j.admin_comment), dependency: text(j.dependency)))
            out[out.count - 1].cluster = text(j.cluster)
            out[out.count - 1].userName = text(j.user_name)
            out[out.count - 1].qos = text(j.qos)
            out[out.count - 1].reservation = text(j.resv_name)
            out[out.count - 1].tasks = j.num_tasks == CS_NO_VAL ? 0 : Int(j.num_tasks)
            out[out.count - 1].cpusPerTask = j.cpus_per_task == CS_NO_VAL16 ? 0 : Int(j.cpus_per_task)
            let memory = j.pn_min_memory
            if memory != CS_NO_VAL64 && memory != CS_INFINITE64 {
                out[out.count - 1].memoryPerCPU = memory & CS_MEM_PER_CPU != 0
                out[out.count - 1].memoryMB = Int64(clamping: memory & ~CS_MEM_PER_CPU)
            }
            out[out.count - 1].exitStatus = j.exit_code == CS_NO_VAL ? -1 : Int64(j.exit_code)
            // --exclusive (whole nodes), =user or =mcs: no job of another kind on its nodes.
            out[out.count - 1].exclusive = j.shared == UInt16(JOB_SHARED_NONE) || j.shared == UInt16(JOB_SHARED_USER)
                || j.shared == UInt16(JOB_SHARED_MCS)
            // Where it may run: read for queued jobs only (a running job's nodes are known).
            if out[out.count - 1].state == .pending {
                out[out.count - 1].requiredNodes = text(j.req_nodes)
                out[out.count - 1].excludedNodes = text(j.exc_nodes)
                out[out.count - 1].constraint = text(j.features)
                out[out.count - 1].gresRequest = [j.tres_per_node, j.tres_per_job, j.tres_per_socket, j.tres_per_task]
                    .map(text).filter { !$0.isEmpty }.joined(separator: ",")
                out[out.count - 1].gresPerNode = text(j.tres_per_node)
            }
        }
        return out
    }

    public func updatePower(nodes: String, _ request: PowerRequest) throws(SlurmError) {
        var message = update_node_msg_t()
        slurm_init_update_node_msg(&message)
        guard let names = strdup(nodes) else { throw SlurmError(operation: "strdup", code: ENOMEM, message: "out of memory") }
        defer { free(names) }
        message.node_names = names
        switch request {
        case .up: message.node_state = CS_NODE_STATE_POWER_UP
        case .down: message.node_state = CS_NODE_STATE_POWER_DOWN
        case .downAsap: message.node_state = CS_NODE_STATE_POWER_DOWN | CS_NODE_STATE_POWER_DRAIN
        }
        guard slurm_update_node(&message) == SLURM_SUCCESS else {
            throw failure("slurm_update_node \(nodes) \(request)")
        }
    }

    /// Loads the controller's configuration (`slurm_load_ctl_conf`), hands it to `body` and frees it.
    private func withControllerConfiguration<T>(_ body: (slurm_conf_t) -> T) throws(SlurmError) -> T {
        var conf: UnsafeMutablePointer<slurm_conf_t>?
        guard slurm_load_ctl_conf(0, &conf) == SLURM_SUCCESS, let c = conf else {
            throw failure("slurm_load_ctl_conf")
        }
        defer { cs_free_ctl_conf(c) }
        return body(c.pointee)
    }

    public func loadAllocatesCores() throws(SlurmError) -> Bool {
        try withControllerConfiguration { c in
            let select = c.select_type.map { String(cString: $0) } ?? ""
            return select.contains("cons_tres") || select.contains("cons_res")
        }
    }

    /// The controller's settings that `prewarm check` compares with Prewarm's files, with the nodes and partitions
    /// for the partitions' own power timers (when those cannot be read, the cluster's values are all that is known).
    /// Whether controller `index` (`SlurmctldHost` order, 0 the primary) answers a ping (`slurm_ping`); a backup
    /// waiting in standby answers too.
    public func pingController(_ index: Int) -> Bool {
        guard index >= 0, index < Int(Int32.max) else { return false }
        return slurm_ping(Int32(index)) == 0
    }

    public func loadControllerSettings() throws(SlurmError) -> SlurmControllerSettings {
        var settings = try loadConfiguredSettings()
        if let nodes = try? loadNodes(), let partitions = try? loadPartitions() {
            settings.nodes = nodes
            settings.partitions = partitions
        }
        return settings
    }

    private func loadConfiguredSettings() throws(SlurmError) -> SlurmControllerSettings {
        try withControllerConfiguration { c in
            func text(_ p: UnsafeMutablePointer<CChar>?) -> String { p.map { String(cString: $0) } ?? "" }
            var s = SlurmControllerSettings()
            s.jobSubmitPlugins = text(c.job_submit_plugins).split(separator: ",")
                .map { String($0.filter { $0 != " " && $0 != "\t" }) }.filter { !$0.isEmpty }
            s.pluginDirectories = text(c.plugindir).split(separator: ":").map(String.init)
            s.resumeProgram = text(c.resume_program)
            s.suspendProgram = text(c.suspend_program)
            s.resumeFailProgram = text(c.resume_fail_program)
            s.slurmUser = text(c.slurm_user_name)
            s.slurmUserID = c.slurm_user_id
            let suspend = c.suspend_time
            s.suspendTime = suspend == 0 || suspend >= CS_NO_VAL ? nil : Int(suspend)
            s.resumeTimeout = Int(c.resume_timeout)
            s.hidesPoweredDownCloudNodes = CS_PRIVATE_CLOUD_NODES != 0 && c.private_data & CS_PRIVATE_CLOUD_NODES == 0
            s.suspendExcludedNodes = text(c.suspend_exc_nodes)
            s.suspendExcludedStates = withUnsafePointer(to: c) { cs_suspend_exc_states($0) }.map { String(cString: $0) } ?? ""
            s.suspendExclusionSyntax = LibSlurmClient.suspendExclusionSyntax
            s.pidFile = text(c.slurmctld_pidfile)
            s.stateSaveLocation = text(c.state_save_location)
            if let machines = c.control_machine {
                s.controllers = (0..<Int(min(c.control_cnt, 64))).map { text(machines[$0]) }.filter { !$0.isEmpty }
            }
            s.suspendExcludedPartitions = text(c.suspend_exc_parts).split(separator: ",").map(String.init)
            return s
        }
    }

    public func loadPowerExclusions() throws(SlurmError) -> SlurmPowerExclusions {
        try withControllerConfiguration { c in
            var e = SlurmPowerExclusions()
            e.nodes = c.suspend_exc_nodes.map { String(cString: $0) } ?? ""
            e.partitions = (c.suspend_exc_parts.map { String(cString: $0) } ?? "").split(separator: ",")
                .map(String.init)
            e.states = withUnsafePointer(to: c) { cs_suspend_exc_states($0) }.map { String(cString: $0) } ?? ""
            e.syntax = LibSlurmClient.suspendExclusionSyntax
            return e
        }
    }

    /// How this release of Slurm reads `SuspendExcNodes` (from libslurm's version, which is slurmctld's).
    public static var suspendExclusionSyntax: SuspendExclusionSyntax {
        SuspendExclusionSyntax(versionNumber: Int(slurm_api_version()))
    }

    static func base(_ state: UInt32) -> NodeBaseState {
        switch state & CS_NODE_STATE_BASE {
        case 1: return .down
        case 2: return .idle
        case 3: return .allocated
        case 4: return .error
        case 5: return .mixed
        case 6: return .future
        default: return .unknown
        }
    }

    static func flags(_ s: UInt32) -> NodeFlags {
        var f = NodeFlags()
        let map: [(UInt32, NodeFlags)] = [
            (CS_NODE_STATE_CLOUD, .cloud), (CS_NODE_STATE_DRAIN, .drain), (CS_NODE_STATE_COMPLETING, .completing),
            (CS_NODE_STATE_NO_RESPOND, .notResponding), (CS_NODE_STATE_POWERED_DOWN, .poweredDown),
            (CS_NODE_STATE_FAIL, .fail), (CS_NODE_STATE_POWERING_UP, .poweringUp), (CS_NODE_STATE_MAINT, .maintenance),
            (CS_NODE_STATE_POWERING_DOWN, .poweringDown), (CS_NODE_STATE_PLANNED, .planned),
            (CS_NODE_STATE_POWER_DOWN, .powerDownRequested), (CS_NODE_STATE_POWER_UP, .powerUpRequested),
            (CS_NODE_STATE_RES, .reserved), (CS_NODE_STATE_DYNAMIC_FUTURE, .dynamicFuture),
            (CS_NODE_STATE_DYNAMIC_NORM, .dynamicNorm), (CS_NODE_STATE_INVALID_REG, .invalidRegistration),
            (CS_NODE_STATE_REBOOT_REQUESTED, .rebootRequested),
            (CS_NODE_STATE_REBOOT_ISSUED, .rebootIssued),
        ]
        for (bit, flag) in map where s & bit != 0 { f.insert(flag) }
        return f
    }
}
#else
/// Built without Slurm's headers (`libslurm-dev`): every call fails with ``unavailableMessage``.
public final class LibSlurmClient: SlurmClient {
    /// Whether this build talks to Slurm (it was built with Slurm's headers, `libslurm-dev`).
    public static let isAvailable = false
    public init() {}
    private func unavailable(_ operation: String) -> SlurmError {
        SlurmError(operation: operation, code: -1, message: LibSlurmClient.unavailableMessage)
    }
    public func loadNodes() throws(SlurmError) -> [SlurmNode] { throw unavailable("slurm_load_node") }
    public func loadPartitions() throws(SlurmError) -> [SlurmPartition] { throw unavailable("slurm_load_partitions") }
    public func loadReservations() throws(SlurmError) -> [SlurmReservation] {
        throw unavailable("slurm_load_reservations")
    }
    public func loadJobs() throws(SlurmError) -> [SlurmJob] { throw unavailable("slurm_load_jobs") }
    public func updatePower(nodes: String, _ request: PowerRequest) throws(SlurmError) {
        throw unavailable("slurm_update_node")
    }
    public func loadPowerExclusions() throws(SlurmError) -> SlurmPowerExclusions {
        throw unavailable("slurm_load_ctl_conf")
    }
    public func loadControllerSettings() throws(SlurmError) -> SlurmControllerSettings {
        throw unavailable("slurm_load_ctl_conf")
    }
    public func pingController(_ index: Int) -> Bool { false }
}
#endif

extension LibSlurmClient {
    /// Why a program cannot talk to Slurm on this host.
    public enum Unavailable: Error, Equatable, CustomStringConvertible {
        /// This build has no libslurm (it was built without Slurm's headers).
        case notBuilt
        /// libslurm would find no configuration (the reason, naming where it looked).
        case noConfiguration(String)

        public var description: String {
            switch self {
            case .notBuilt: LibSlurmClient.unavailableMessage
            case .noConfiguration(let problem): problem
            }
        }
    }

    /// The client for a program that asks the running controller, or why there is none. libslurm ends the process
    /// when it finds no configuration (after retrying for a minute for a named file that cannot be read), so that is
    /// checked first; every program makes its client here.
    public static func open(environment: [String: String]) -> Result<LibSlurmClient, Unavailable> {
        guard isAvailable else { return .failure(.notBuilt) }
        if let problem = configurationProblem(environment: environment) { return .failure(.noConfiguration(problem)) }
        return .success(LibSlurmClient())
    }

    /// Why libslurm would find no configuration, or nil when it has a source. libslurm's order, for commands:
    /// `SLURM_CONF` as it is whenever it is set (even empty); else /etc/slurm/slurm.conf if it exists; else the
    /// copy a configless slurmd or sackd caches, /run/slurm/conf/slurm.conf, if it exists; else the controller named
    /// by `SLURM_CONF_SERVER`, else by the DNS SRV record `_slurmctld._tcp` (configless). A file that exists but
    /// cannot be read is a problem: libslurm takes it and fails. The paths and the DNS lookup are parameters for
    /// tests.
    public static func configurationProblem(
        environment: [String: String], defaultFile: String = "/etc/slurm/slurm.conf",
        configlessCache: String = "/run/slurm/conf/slurm.conf",
        hasControllerRecord: () -> Bool = LibSlurmClient.dnsHasControllerRecord
    ) -> String? {
        func unreadable(_ path: String) -> String { "no readable Slurm configuration at \(path) (set SLURM_CONF)" }
        if let path = environment["SLURM_CONF"] {
            if path.isEmpty {
                return "SLURM_CONF is set but empty: libslurm would read no slurm.conf (unset it, or name the file)"
            }
            return access(path, R_OK) == 0 ? nil : unreadable(path)
        }
        for path in [defaultFile, configlessCache] where access(path, F_OK) == 0 {
            return access(path, R_OK) == 0 ? nil : unreadable(path)
        }
        if let server = environment["SLURM_CONF_SERVER"], !server.isEmpty { return nil }
        if hasControllerRecord() { return nil }
        return "no Slurm configuration: no \(defaultFile), no configless copy at \(configlessCache), no "
            + "SLURM_CONF_SERVER and no DNS SRV record _slurmctld._tcp (set SLURM_CONF to the cluster's slurm.conf)"
    }

    /// Whether DNS has the `_slurmctld._tcp` SRV record that configless clients find the controller by (libslurm's
    /// own query; may wait for the resolver's timeouts).
    public static func dnsHasControllerRecord() -> Bool {
        #if canImport(CSlurm)
        return cs_has_slurmctld_srv_record() != 0
        #else
        return false
        #endif
    }

    /// Why a build without Slurm's headers cannot talk to Slurm, and what to do.
    public static let unavailableMessage =
        "this prewarm was built without Slurm's headers (/usr/include/slurm/slurm.h): install libslurm-dev "
        + "(apt install libslurm-dev), then rebuild from clean (rm -rf .build)"
}
