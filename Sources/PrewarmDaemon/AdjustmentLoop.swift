// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

import Foundation
import PrewarmCore
import PrewarmOps
import SlurmKit
import Traces

/// One adjustment cycle at a time: read Slurm, plan, act (or log), with the daemon's safety state.
///
/// Restart safety: the in-flight commands and the actions of the last hour live in ``state``, which is saved to
/// `StateDirectory/state.json` (atomically) *before* a cycle's commands are sent, so a daemon killed at any
/// point restarts knowing every command it may have sent: it repeats none of them and keeps its hourly budget.
/// Nodes Slurm shows powering up or down are in flight too, whoever asked.
struct AdjustmentLoop {
    let slurm: SlurmClient
    var configuration: DaemonConfiguration
    let log: (String) -> Void
    /// What survives a restart.
    var state = DaemonState()
    var counters = DaemonCounters()
    /// The snapshot of the last cycle (status.json, and the source of the metrics' gauges).
    var status: StatusSnapshot?
    var failures = 0
    var lastError: (text: String, at: Int64)?
    var lastCycle = Date.distantPast
    var submissionsSeen = 0
    /// Datagrams the listener ignored (their senders' users are not heard).
    var noticesIgnored = 0
    /// The outputs whose last write failed (see ``outputFailed(_:_:)``).
    private var failingOutputs: Set<String> = []
    /// The history store (finished jobs) and the retraining schedule; nil when HistoryDatabase is empty.
    var history: HistoryKeeper?
    /// Arrivals and users' resubmissions learned per partition (seeded from the history at start-up).
    var demand = LiveDemandTracker()
    private var demandSeeded = false
    /// The learned boot lead time last logged, and the lead time the last cycle planned with.
    private var learnedBootLead: Int64?
    /// The exclusion problems of the last cycle: each is logged when it first appears, not every cycle.
    private var exclusionProblems: [String] = []
    /// Why every power-down is withheld, from the last cycle that reached Slurm (the status snapshot says it).
    private var powerDownsWithheld: String?
    /// forecast-only: the actions said (logged, recorded, counted) and when. Nothing changes on the cluster, so the
    /// same plan comes back every cycle: an action is said when it first appears, and again after an hour if it is
    /// still planned, not once a cycle (a 1,000-node cluster's idle nodes made hundreds of lines a minute).
    private(set) var saidWould: [String: (request: PowerRequest, at: Int64)] = [:]
    static let wouldRepeatAfter: Int64 = 3600
    private(set) var effectiveBootLead: Int64 = 300
    /// A command not reflected in the node's state after this long is forgotten (and may be issued again). One that
    /// Slurm shows under way (the node powering up, or down) is kept until it ends: a boot may take longer than this
    /// (bare metal, with a `ResumeTimeout` of 30 minutes), and is then measured for `BootLeadTime=auto` whole.
    static let commandTimeout: Int64 = 600
    /// Even a command Slurm shows under way is forgotten after this long (slurmctld marks a node that does not come
    /// up DOWN after `ResumeTimeout`, so this is only a bound).
    static let commandUnderWayTimeout: Int64 = 86_400

    /// Logs the problems not logged at the last cycle (Slurm's exclusions are read every cycle; a SIGHUP or
    /// `scontrol reconfigure` may change them).
    private mutating func sayOnce(_ problems: [String]) {
        for p in problems where !exclusionProblems.contains(p) { log("warning: \(p)") }
        exclusionProblems = problems
    }

    var directory: StateDirectory { StateDirectory(path: configuration.stateDirectory) }

    /// A loop that resumes from the state saved in `configuration.stateDirectory`, if any.
    init(slurm: SlurmClient, configuration: DaemonConfiguration, log: @escaping (String) -> Void) {
        self.slurm = slurm
        self.configuration = configuration
        self.log = log
        effectiveBootLead = configuration.policy.bootLeadTime > 0 ? configuration.policy.bootLeadTime : 300
        do {
            if let saved = try directory.loadState() {
                state = saved
                log("state restored from \(directory.stateFile): \(saved.inFlight.count) command(s) in flight, "
                    + "\(saved.issuedTimes.count) recent action(s), saved at \(saved.savedAt)")
            }
        } catch {
            // Kept aside, not overwritten by the first save: it is the evidence of what went wrong (a damaged disk,
            // a newer prewarmd's format after a downgrade).
            let file = directory.stateFile
            let aside = file + ".unreadable-\(Int64(Date().timeIntervalSince1970))"
            let kept = rename(file, aside) == 0 ? "kept as \(aside)" : "could not be moved aside: \(String(cString: strerror(errno)))"
            log("error: \(error); starting without saved state (nodes Slurm shows powering are still left alone); the "
                + "file \(kept)")
        }
    }

    /// The metrics text for the last cycle.
    var metricsText: String {
        guard let status else { return "" }
        var c = counters
        c.submissions = submissionsSeen
        c.noticesIgnored = noticesIgnored
        return DaemonMetrics.exposition(status: status, counters: c)
    }

    /// Runs one cycle; returns the seconds to wait before the next one (longer after Slurm errors).
    mutating func runCycle(now: Int64) -> Int {
        lastCycle = Date()
        let started = DispatchTime.now().uptimeNanoseconds
        counters.cycles += 1
        guard configuration.mode != .off else {
            publish(now: now, started: started, partitions: [], wait: configuration.interval)
            return configuration.interval
        }
        let nodes: [SlurmNode]
        let partitions: [SlurmPartition]
        let jobs: [SlurmJob]
        let exclusions: SlurmPowerExclusions
        do {
            nodes = try slurm.loadNodes()
            partitions = try slurm.loadPartitions()
            jobs = try slurm.loadJobs()
            exclusions = try slurm.loadPowerExclusions()
        } catch {
            failures += 1
            counters.slurmErrors += 1
            lastError = ("\(error)", now)
            let backoff = min(300, configuration.interval * (1 << min(failures, 5)))
            log("slurm unreachable (\(error)); retrying in \(backoff)s")
            // The partitions of the last good cycle stay in the snapshot; slurm.reachable says they are old.
            publish(now: now, started: started, partitions: status?.partitions ?? [], wait: backoff)
            return backoff
        }
        if failures > 0 { log("slurm reachable again after \(failures) failed cycle(s)") }
        failures = 0
        // Whether jobs may share nodes (select/cons_tres): whole nodes when it cannot be read (a failed load is not
        // worth a failed cycle). Queued jobs and learned arrivals count the nodes this says they take.
        let allocatesCores = (try? slurm.loadAllocatesCores()) ?? false
        let sharing = NodeSharing(nodes: nodes, partitions: partitions, allocatesCores: allocatesCores)
        if !demandSeeded, let history {
            // Once, at the first cycle that reaches Slurm: replay the history (each job's nodes from its CPUs and
            // the partition's largest node, see NodeSharing).
            demandSeeded = true
            let past = history.pastJobs(newest: LiveDemandTracker.seedJobs, sharing: sharing)
            if !past.isEmpty {
                demand.seed(past)
                log("arrivals: learned from \(past.count) stored jobs in \(demand.learner.partitions.count) partition(s)")
            }
        }
        history?.record(jobs: jobs, now: now)
        demand.observe(jobs: jobs, sharing: sharing)

        // Exclusions: Slurm's SuspendExcNodes/SuspendExcParts/SuspendExcStates plus the daemon's own. The nodes of a
        // counted SuspendExcNodes set that slurmctld keeps now, and those in a SuspendExcStates state, are never
        // powered down (they may be powered up); an item prewarmd cannot resolve withholds every power-down.
        let protection = exclusions.protection(of: nodes)
        var excluded = Set(configuration.excludeNodes).union(protection.untouched)
        let excludedPartitions = Set(configuration.excludePartitions)
        for n in nodes where !excludedPartitions.isDisjoint(with: n.partitions) { excluded.insert(n.name) }
        let keptUp = protection.powerDownsWithheld ? Set(nodes.map(\.name)) : protection.keptUp
        sayOnce(protection.problems)

        updateInFlight(nodes: nodes, now: now)
        state.issuedTimes.removeAll { now - $0 >= 3600 }
        var policy = configuration.policy
        if policy.bootLeadTime <= 0 { policy.bootLeadTime = 300 }
        if configuration.bootLeadLearned,
            let learned = BootLeadEstimator.lead(samples: state.bootDurations ?? [], interval: configuration.interval)
        {
            if learned != learnedBootLead {
                log("boot lead time learned: \(learned)s (90th percentile of \(state.bootDurations?.count ?? 0) "
                    + "measured power-ups plus one cycle)")
                learnedBootLead = learned
            }
            policy.bootLeadTime = learned
        }
        effectiveBootLead = policy.bootLeadTime
        // 61 minutes so the status shows +60; the policy sees the same hour as before.
        // Advance reservations only move jobs later: a failed load is not worth a failed cycle.
        let reservations = (try? slurm.loadReservations()) ?? []
        let forecasts = LiveForecast.forecast(
            nodes: nodes, partitions: partitions, jobs: jobs, now: now, minutes: 61,
            hourOfWeekAt: LiveDemandTracker.hourOfWeekAt(now: now),
            learned: configuration.learnedArrivals ? demand.learner.trusted(priceScale: configuration.priceScale) : [:],
            reservations: reservations, sharing: sharing)
        let planned = forecasts.map { f -> PartitionForecast in
            func hour(_ d: DemandForecast) -> DemandForecast {
                DemandForecast(start: d.start, expected: Array(d.expected.prefix(60)), upper: Array(d.upper.prefix(60)))
            }
            var t = f
            t.forecast = hour(f.forecast)
            for i in t.restricted.indices { t.restricted[i].forecast = hour(t.restricted[i].forecast) }
            return t
        }
        var inFlight: [String: PowerRequest] = [:]
        for c in state.inFlight { inFlight[c.node] = c.action.request }
        let wanted = LiveAdjustment.plan(
            forecasts: planned, nodes: nodes, now: now, configuration: policy, excluded: excluded, keptUp: keptUp,
            inFlight: inFlight, budget: .max)
        // The hourly cap keeps the head of the plan (power-ups first); what it holds back is counted and said.
        let plan = Array(wanted.prefix(Swift.max(0, configuration.maxActionsPerHour - state.issuedTimes.count)))
        if wanted.count > plan.count {
            for a in wanted.dropFirst(plan.count) { counters.heldBack[a.request.action, default: 0] += 1 }
            log("hourly cap: \(wanted.count - plan.count) action(s) held back (\(state.issuedTimes.count) of "
                + "MaxActionsPerHour=\(configuration.maxActionsPerHour) used in the last hour)")
        }
        let unsaid = act(on: plan, now: now)
        if plan.isEmpty {
            let pending = jobs.filter { $0.state == .pending && !$0.held }.count
            log("cycle: \(nodes.count) nodes, \(pending) pending jobs, no action "
                + "(\(state.inFlight.count) command(s) in flight)")
        } else if unsaid == plan.count {
            let pending = jobs.filter { $0.state == .pending && !$0.held }.count
            let ups = plan.filter { $0.request == .up }.count
            log("cycle: \(nodes.count) nodes, \(pending) pending jobs, no new action; would still power up \(ups) and "
                + "power down \(plan.count - ups) node(s), said before")
        }
        // Node states as the policy now sees them: a node just asked to power up counts as booting.
        var requested: [String: PowerRequest] = [:]
        for c in state.inFlight { requested[c.node] = c.action.request }
        let summaries = forecasts.map {
            summary(
                of: $0, nodes: nodes, excluded: excluded, keptUp: keptUp, inFlight: requested, policy: policy, now: now)
        }
        powerDownsWithheld = protection.withheldBecause
        publish(now: now, started: started, partitions: summaries, wait: configuration.interval)
        return configuration.interval
    }

    /// Forgets commands whose effect is visible (or that timed out), and adopts nodes Slurm shows powering up or
    /// down (after a restart, or a command from someone else) as in flight.
    mutating func updateInFlight(nodes: [SlurmNode], now: Int64) {
        let byName = Dictionary(nodes.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var measured = state.bootDurations ?? []
        state.inFlight.removeAll { c in
            guard let n = byName[c.node] else { return true }  // removed from Slurm
            let done: Bool
            switch (c.action, LiveAdjustment.power(of: n, now: now)) {
            case (.powerUp, .idle), (.powerUp, .busy):
                done = true
                // A power-up this daemon asked for, now accepting jobs: how long this cluster's boots take.
                if c.origin == .issued { BootLeadEstimator.record(now - c.since, into: &measured) }
            case (.powerUp, .unavailable): done = true
            case (.powerDown, .off), (.powerDownAsap, .off), (.powerDown, .unavailable), (.powerDownAsap, .unavailable):
                done = true
            default: done = false
            }
            let underWay: Bool
            switch c.action {
            case .powerUp: underWay = !n.flags.isDisjoint(with: [.poweringUp, .powerUpRequested])
            case .powerDown, .powerDownAsap: underWay = !n.flags.isDisjoint(with: [.poweringDown, .powerDownRequested])
            }
            return done || now - c.since > (underWay ? Self.commandUnderWayTimeout : Self.commandTimeout)
        }
        if !measured.isEmpty { state.bootDurations = measured }
        for n in nodes where state.inFlight(n.name) == nil {
            let f = n.flags
            if f.contains(.poweringUp) || f.contains(.powerUpRequested) {
                state.inFlight.append(InFlightCommand(node: n.name, action: .powerUp, since: now, origin: .observed))
            } else if f.contains(.poweringDown) || f.contains(.powerDownRequested) {
                state.inFlight.append(InFlightCommand(node: n.name, action: .powerDown, since: now, origin: .observed))
            }
        }
    }

    /// Issues (enforce) or logs (forecast-only) the planned actions. In enforce mode they are recorded as in
    /// flight and saved first: if the state cannot be saved, nothing is sent. In forecast-only mode an action said
    /// less than an hour ago and planned in every cycle since is not said again (``saidWould``).
    /// - Returns: how many planned actions were not said for that reason.
    @discardableResult
    mutating func act(on plan: [PlannedAction], now: Int64) -> Int {
        if configuration.mode == .forecastOnly {
            var unsaid = 0
            var planned = Set<String>()
            for a in plan {
                planned.insert(a.node)
                if let said = saidWould[a.node], said.request == a.request, now - said.at < Self.wouldRepeatAfter {
                    unsaid += 1
                    continue
                }
                log("would \(a.request.verb) \(a.node): \(a.reason)")
                state.record(ActionRecord(
                    time: now, node: a.node, action: a.request.action, outcome: .would, reason: a.reason))
                counters.would[a.request.action, default: 0] += 1
                saidWould[a.node] = (a.request, now)
            }
            // An action no longer planned is forgotten: planned again, it is said again.
            saidWould = saidWould.filter { planned.contains($0.key) }
            return unsaid
        }
        saidWould = [:]  // back in forecast-only mode (SIGHUP), everything is said afresh
        guard !plan.isEmpty else { return 0 }
        let before = state
        for a in plan {
            state.inFlight.append(InFlightCommand(node: a.node, action: a.request.action, since: now, origin: .issued))
            state.issuedTimes.append(now)
        }
        do {
            state.savedAt = now
            try directory.save(state)
        } catch {
            state = before
            log("error: cannot save the daemon state (\(error)); \(plan.count) power command(s) not sent, "
                + "since a restart could not know about them")
            return 0
        }
        for a in plan {
            do {
                try slurm.updatePower(nodes: a.node, a.request)
                state.record(ActionRecord(
                    time: now, node: a.node, action: a.request.action, outcome: .issued, reason: a.reason))
                counters.issued[a.request.action, default: 0] += 1
                log("\(a.request.verb) \(a.node): \(a.reason)")
            } catch {
                state.inFlight.removeAll { $0.node == a.node && $0.origin == .issued && $0.since == now }
                if let i = state.issuedTimes.lastIndex(of: now) { state.issuedTimes.remove(at: i) }
                state.record(ActionRecord(
                    time: now, node: a.node, action: a.request.action, outcome: .refused, reason: a.reason,
                    error: "\(error)"))
                counters.refused += 1
                counters.slurmErrors += 1
                lastError = ("\(error)", now)
                log("error: \(a.request.verb) \(a.node) refused: \(error)")
            }
        }
        return 0
    }

    /// A partition's line of the status snapshot.
    func summary(
        of f: PartitionForecast, nodes: [SlurmNode], excluded: Set<String>, keptUp: Set<String> = [],
        inFlight: [String: PowerRequest], policy: AdjustmentConfiguration, now: Int64
    ) -> PartitionStatus {
        var busy = 0, idle = 0, booting = 0, poweringDown = 0, off = 0, unavailable = 0, excludedCount = 0, kept = 0
        for n in nodes where n.partitions.contains(f.partition) {
            if excluded.contains(n.name) { excludedCount += 1 } else if keptUp.contains(n.name) { kept += 1 }
            switch LiveAdjustment.expectedPower(of: n, now: now, inFlight: inFlight[n.name]) {
            case .busy: busy += 1
            case .idle: idle += 1
            case .booting: booting += 1
            case .poweringDown: poweringDown += 1
            case .off: off += 1
            case .unavailable: unavailable += 1
            }
        }
        let lead = Int(max(1, (policy.bootLeadTime + 59) / 60))
        func needed(_ d: DemandForecast) -> Int {
            Int(d.peak(minutes: 0 ..< lead + 1, aggressiveness: policy.aggressiveness).rounded(.up))
        }
        func rounded(_ a: [Float]) -> [Double] { a.map { (Double($0) * 100).rounded() / 100 } }
        var out = PartitionStatus(
            name: f.partition, nodes: f.nodes, busy: busy, idle: idle, booting: booting, poweringDown: poweringDown,
            off: off, unavailable: unavailable, excluded: excludedCount, runningJobs: f.runningJobs,
            pendingJobs: f.pendingJobs, neededNodes: needed(f.forecast),
            forecast: ForecastCurve(
                start: f.forecast.start, expected: rounded(f.forecast.expected), upper: rounded(f.forecast.upper)),
            keptUp: kept)
        if !f.restricted.isEmpty {
            let byName = Dictionary(nodes.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            let all = f.restricted.map { r -> (set: RestrictedForecast, needed: Int) in (r, needed(r.forecast)) }
            out.restrictedNeededNodes = all.reduce(0) { $0 + $1.needed }
            let sets = all.sorted { ($0.needed, $0.set.pendingJobs) > ($1.needed, $1.set.pendingJobs) }
                .prefix(PartitionStatus.restrictedShown)
            out.restricted = sets.map { s in
                let up = s.set.nodes.filter { name in
                    guard let n = byName[name] else { return false }
                    switch LiveAdjustment.expectedPower(of: n, now: now, inFlight: inFlight[name]) {
                    case .busy, .idle, .booting: return true
                    case .poweringDown, .off, .unavailable: return false
                    }
                }.count
                return RestrictedStatus(
                    nodes: Hostlist.compress(s.set.nodes), nodeCount: s.set.nodes.count, pendingJobs: s.set.pendingJobs,
                    neededNodes: s.needed, upOrBooting: up)
            }
            out.restrictedSets = f.restricted.count
        }
        return out
    }

    /// Saves the state and writes status.json and the metrics textfile (each atomically). Failures are logged
    /// and the daemon goes on (the next cycle tries again).
    mutating func publish(now: Int64, started: UInt64, partitions: [PartitionStatus], wait: Int) {
        state.issuedTimes.removeAll { now - $0 >= 3600 }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        var model: ModelStatus?
        if !configuration.modelFile.isEmpty {
            var st = stat()
            let present = stat(configuration.modelFile, &st) == 0
            model = ModelStatus(
                file: configuration.modelFile, present: present, modified: present ? Int64(st.st_mtim.tv_sec) : nil,
                quality: history?.modelQuality ?? [:])
        }
        status = StatusSnapshot(
            time: now, pid: getpid(), mode: configuration.mode.rawValue, interval: configuration.interval,
            nextCycle: now + Int64(seconds) + Int64(wait),
            bootLeadTime: effectiveBootLead,
            cycleSeconds: (seconds * 1e6).rounded() / 1e6,
            slurm: SlurmHealth(
                reachable: failures == 0, consecutiveFailures: failures, lastError: lastError?.text,
                lastErrorTime: lastError?.at),
            partitions: partitions, inFlight: state.inFlight, recentActions: state.recentActions,
            actionsLastHour: state.issuedTimes.count, maxActionsPerHour: configuration.maxActionsPerHour, model: model,
            host: LocalHost.name)
        status?.powerDownsWithheld = powerDownsWithheld
        do {
            state.savedAt = now
            try directory.save(state)
        } catch {
            log("error: cannot save the daemon state: \(error)")
        }
        if let status {
            do {
                try directory.saveStatus(status)
                outputWritten("the status snapshot")
            } catch {
                outputFailed("the status snapshot", "\(error)")
            }
        }
        if !configuration.metricsTextfile.isEmpty {
            do {
                try AtomicFile.write(Array(metricsText.utf8), to: configuration.metricsTextfile)
                outputWritten("the metrics textfile")
            } catch {
                outputFailed("the metrics textfile", "\(error)")
            }
        }
    }

    /// The status snapshot and the metrics textfile are written every cycle: a failure that persists (a directory
    /// the daemon's user may not write) is said when it starts and once when the file is written again, not every
    /// cycle (the errors name a fresh temporary file each time, so they are not compared).
    private mutating func outputFailed(_ what: String, _ error: String) {
        guard failingOutputs.insert(what).inserted else { return }
        log("error: cannot write \(what): \(error) (said once, until it is written again)")
    }

    private mutating func outputWritten(_ what: String) {
        guard failingOutputs.remove(what) != nil else { return }
        log("\(what) written again")
    }
}

extension PowerRequest {
    var action: NodePowerAction {
        switch self {
        case .up: return .powerUp
        case .down: return .powerDown
        case .downAsap: return .powerDownAsap
        }
    }
    var verb: String { self == .up ? "power up" : "power down" }
}

extension NodePowerAction {
    var request: PowerRequest {
        switch self {
        case .powerUp: return .up
        case .powerDown: return .down
        case .powerDownAsap: return .downAsap
        }
    }
}

/// The daemon's end of the plugin's notifications: a Unix datagram socket.
final class SubmissionListener {
    private let fd: Int32

    /// Why the socket could not be set up, naming its path.
    struct SetupError: Error, CustomStringConvertible {
        let description: String
    }

    /// Binds a datagram socket at `path` that slurmctld's user may send to (mode 0666). A socket left at `path` by an
    /// earlier run is replaced; anything else there is left alone and refused (a NotifySocket mistyped as another
    /// file's path must not delete that file). A missing last directory (`/run/prewarm` outside systemd, which creates
    /// it as the unit's RuntimeDirectory) is created, mode 0755; its parent must exist.
    init(path: String) throws(SetupError) {
        guard path.utf8.first == UInt8(ascii: "/"), let address = UnixSocketAddress(path: path) else {
            throw SetupError(
                description: "NotifySocket \(path): must be an absolute path of at most \(UnixSocketAddress.maxBytes) bytes")
        }
        func failure(_ what: String, _ code: Int32) -> SetupError {
            SetupError(description: "NotifySocket \(path): \(what): \(String(cString: strerror(code)))")
        }
        var st = stat()
        if lstat(path, &st) == 0 {
            guard st.st_mode & S_IFMT == S_IFSOCK else {
                throw SetupError(description: "NotifySocket \(path): exists and is not a socket; not replacing it")
            }
            // An earlier run's socket answers nothing (ECONNREFUSED); one that accepts a connection is another
            // process's, e.g. a second prewarmd on this host, whose notices it would take.
            let probe = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            if probe >= 0 {
                let live = address.withSockaddr { connect(probe, $0, $1) } == 0
                close(probe)
                if live {
                    throw SetupError(
                        description: "NotifySocket \(path): another process listens on it (another prewarmd?); not "
                            + "replacing it")
                }
            }
            guard unlink(path) == 0 else { throw failure("cannot remove the socket of an earlier run", errno) }
        } else if errno == ENOENT, let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")),
            slash > path.utf8.startIndex
        {
            let directory = String(path[..<slash])
            if mkdir(directory, 0o755) != 0 && errno != EEXIST { throw failure("cannot create \(directory)", errno) }
        }
        let s = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard s >= 0 else { throw failure("socket", errno) }
        let rc = address.withSockaddr { bind(s, $0, $1) }
        guard rc == 0 else {
            let code = errno
            close(s)
            throw failure("cannot bind", code)
        }
        var one: Int32 = 1
        guard setsockopt(s, SOL_SOCKET, Self.soPassCred, &one, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
            let code = errno
            close(s)
            unlink(path)
            throw failure("cannot ask for senders' credentials (SO_PASSCRED)", code)
        }
        // slurmctld usually runs as SlurmUser (slurm), not as the daemon's user: it needs write permission.
        guard chmod(path, 0o666) == 0 else {
            let code = errno
            close(s)
            unlink(path)
            throw failure("cannot make it writable for slurmctld (chmod 0666)", code)
        }
        var bound = stat()
        _ = lstat(path, &bound)
        fd = s
        self.path = path
        identity = (bound.st_dev, bound.st_ino)
    }

    /// Closes the socket and removes its file, unless another daemon has bound a socket of its own there since:
    /// the plugin then finds no socket and counts its notices as dropped, as with no daemon.
    deinit {
        close(fd)
        var st = stat()
        if lstat(path, &st) == 0, st.st_mode & S_IFMT == S_IFSOCK, (st.st_dev, st.st_ino) == identity { unlink(path) }
    }

    private let path: String
    /// Device and inode of the socket file this listener bound.
    private let identity: (dev_t, ino_t)

    /// The users whose datagrams count: root, the daemon's own and slurmctld's (`SlurmUser`). nil until the daemon
    /// has asked slurmctld for its user: every sender counts meanwhile. The socket is mode 0666 (slurmctld need not
    /// run as the daemon's user), so without this any local user could make the daemon cycle every 5 s.
    var allowedSenders: Set<UInt32>?
    /// Datagrams from other users, ignored.
    private(set) var ignoredDatagrams = 0
    /// Called once per user whose datagrams are ignored.
    var onIgnoredSender: (UInt32) -> Void = { _ in }
    private var reportedSenders = Set<UInt32>()

    // Linux's values (asm-generic/socket.h, bits/socket.h; glibc declares them only under _GNU_SOURCE): the kernel
    // attaches the sender's pid, uid and gid to every datagram once SO_PASSCRED is set.
    private static let soPassCred: Int32 = 16
    private static let scmCredentials: Int32 = 2

    /// Waits up to `milliseconds` for datagrams; returns how many submissions they reported (0 on timeout): the
    /// plugin sends the notices queued together as lines of one datagram. Datagrams of users not in
    /// ``allowedSenders`` count for nothing.
    func wait(milliseconds: Int32) -> Int {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, milliseconds) > 0 else { return 0 }
        var count = 0
        while true {
            let (n, sender) = receive()
            guard n > 0 else { break }
            if let allowed = allowedSenders, let uid = sender, !allowed.contains(uid) {
                ignoredDatagrams += 1
                if reportedSenders.insert(uid).inserted { onIgnoredSender(uid) }
                continue
            }
            count += buffer.withUnsafeBytes { SubmitNotice.count(inDatagram: UnsafeRawBufferPointer(rebasing: $0[..<n])) }
        }
        return count
    }

    /// One datagram into `buffer` (without waiting): its length (0 or less: none) and its sender's uid, from the
    /// credentials the kernel attaches (SO_PASSCRED).
    private func receive() -> (Int, UInt32?) {
        var sender: UInt32?
        let n = buffer.withUnsafeMutableBytes { data in
            control.withUnsafeMutableBytes { ctl -> Int in
                var io = iovec(iov_base: data.baseAddress, iov_len: data.count)
                return withUnsafeMutablePointer(to: &io) { iov -> Int in
                    var message = msghdr()
                    message.msg_iov = iov
                    message.msg_iovlen = 1
                    message.msg_control = ctl.baseAddress
                    message.msg_controllen = ctl.count
                    let n = recvmsg(fd, &message, Int32(MSG_DONTWAIT))
                    let received = min(ctl.count, Int(message.msg_controllen))
                    if n > 0 { sender = Self.credentialsUID(UnsafeRawBufferPointer(rebasing: ctl[..<received])) }
                    return n
                }
            }
        }
        return (n, sender)
    }

    /// The sender's uid from a datagram's ancillary data: the first control message at SOL_SOCKET of type
    /// SCM_CREDENTIALS (a `cmsghdr` of length, level and type, then a `ucred` of pid, uid and gid).
    static func credentialsUID(_ control: UnsafeRawBufferPointer) -> UInt32? {
        let header = MemoryLayout<Int>.size + 8  // cmsg_len (size_t), cmsg_level, cmsg_type
        guard control.count >= header + 12 else { return nil }
        let length = control.loadUnaligned(fromByteOffset: 0, as: Int.self)
        let level = control.loadUnaligned(fromByteOffset: MemoryLayout<Int>.size, as: Int32.self)
        let type = control.loadUnaligned(fromByteOffset: MemoryLayout<Int>.size + 4, as: Int32.self)
        guard length >= header + 12, level == SOL_SOCKET, type == scmCredentials else { return nil }
        return control.loadUnaligned(fromByteOffset: header + 4, as: UInt32.self)
    }

    /// Room for one SCM_CREDENTIALS control message (32 bytes on 64-bit Linux) and more.
    private var control = [UInt8](repeating: 0, count: 64)

    /// Room for the largest datagram the plugin sends (a longer one is cut, and its cut line still counts).
    private var buffer = [UInt8](repeating: 0, count: SubmitNotice.maxDatagramBytes + 1024)
}
