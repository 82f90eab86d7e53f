// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
//
// prewarmd: every Interval seconds (and at once when the job_submit plugin signals a submission) it reads the
// cluster through libslurm, forecasts demand per partition and runs the adjustment policy; in `enforce` mode it
// asks Slurm to power nodes up or down, in `forecast-only` it logs what it would do. Runs in the foreground
// (systemd), logs one line per decision to stdout, SIGTERM/SIGINT stop it, SIGHUP re-reads the configuration.
//
// Each cycle it saves its state (in-flight commands, recent actions) and a status snapshot under StateDirectory
// (`prewarm status` prints it) and exports Prometheus metrics (MetricsTextfile, MetricsListen). Finished jobs go
// to the history store (HistoryDatabase), which also seeds the learned arrivals at start-up; the runtime model
// is retrained on a schedule (RetrainInterval) and published only when no worse.

import Foundation
import PrewarmCore
import PrewarmOps
import SlurmKit
import Traces

nonisolated(unsafe) var stopRequested: sig_atomic_t = 0
nonisolated(unsafe) var reloadRequested: sig_atomic_t = 0

@main
struct PrewarmDaemon {
    static func log(_ message: String) {
        var t = time(nil)
        var parts = tm()
        gmtime_r(&t, &parts)
        let stamp = String(
            format: "%04d-%02d-%02dT%02d:%02d:%02dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
            parts.tm_hour, parts.tm_min, parts.tm_sec)
        let line = Array("\(stamp) \(message)\n".utf8)
        _ = line.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }  // unbuffered: journald sees it at once
    }

    static func loadConfiguration(_ path: String) -> DaemonConfiguration? {
        guard FileManager.default.fileExists(atPath: path) else {
            log("no configuration at \(path): defaults (mode forecast-only)")
            return DaemonConfiguration()
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            log("error: cannot read \(path)")
            return nil
        }
        do {
            return try DaemonConfiguration.parse(String(decoding: data, as: UTF8.self), file: path)
        } catch {
            log("error: \(error)")
            return nil
        }
    }

    /// In enforce mode, a warning when Slurm's own SuspendTime would suspend the nodes the daemon keeps up, and when
    /// MaxActionsPerHour is under one action an hour per node the daemon may power. Asked
    /// at start and at each reload (an RPC; when slurmctld does not answer, its cycles will say so).
    static func warnAboutSlurmSuspendTime(_ configuration: DaemonConfiguration, slurm: LibSlurmClient) {
        guard configuration.mode == .enforce else { return }
        // A partition line's own SuspendTime overrides the cluster's for its nodes (the highest of a node's wins).
        guard let settings = try? slurm.loadControllerSettings() else { return }
        for group in settings.suspendTimes(under: DaemonConfiguration.backstopSuspendTime) {
            if let warning = configuration.slurmSuspendTimeWarning(group.seconds, source: group.source) {
                log("warning: \(warning)")
            }
        }
        if let warning = configuration.hourlyCapWarning(nodes: settings.nodesPrewarmdMayPower(configuration)) {
            log("warning: \(warning)")
        }
    }

    /// Who may notify the daemon: root, the daemon's own user and slurmctld's (`SlurmUser`, asked of slurmctld; an
    /// RPC). Left as it was when slurmctld does not answer; asked again after each cycle until it is known.
    static func refreshNoticeSenders(_ listener: SubmissionListener?, slurm: LibSlurmClient) {
        guard let listener, let settings = try? slurm.loadControllerSettings(), let uid = settings.slurmUserID else {
            return
        }
        let allowed: Set<UInt32> = [0, UInt32(geteuid()), uid]
        if listener.allowedSenders != allowed {
            listener.allowedSenders = allowed
            log("NotifySocket: hearing uids \(allowed.sorted().map(String.init).joined(separator: ", ")) "
                + "(root, this daemon's, SlurmUser \(settings.slurmUser))")
        }
    }

    /// While standing by: the metrics say so (the textfile and the endpoint), with the notices counted meanwhile.
    static func publishStandby(_ counters: DaemonCounters, configuration: DaemonConfiguration, server: MetricsServer?) {
        let text = DaemonMetrics.standby(counters: counters)
        server?.publish(text)
        guard !configuration.metricsTextfile.isEmpty else { return }
        do {
            try AtomicFile.write(Array(text.utf8), to: configuration.metricsTextfile)
        } catch {
            log("warning: MetricsTextfile \(configuration.metricsTextfile) not written: \(error)")
        }
    }

    static func main() {
        // First, before anything that takes time (loading libslurm): a SIGHUP or SIGTERM that arrives while the
        // daemon starts is handled (a reload, a stop) instead of killing it.
        signal(SIGTERM) { _ in stopRequested = 1 }
        signal(SIGINT) { _ in stopRequested = 1 }
        signal(SIGHUP) { _ in reloadRequested = 1 }
        signal(SIGPIPE, SIG_IGN)
        var args = Array(CommandLine.arguments.dropFirst())
        var configPath = ProcessInfo.processInfo.environment["PREWARMD_CONF"] ?? "/etc/slurm/prewarmd.conf"
        var once = false
        while let a = args.first {
            args.removeFirst()
            switch a {
            case "--config":
                guard let p = args.first else { log("error: --config needs a file"); exit(2) }
                configPath = p
                args.removeFirst()
            case "--once": once = true
            case "--help", "-h":
                print("usage: prewarmd [--config FILE] [--once] [--version]   (default config /etc/slurm/prewarmd.conf)")
                exit(0)
            case "--version":
                print("prewarmd \(PrewarmVersion.string)")
                exit(0)
            default:
                log("error: unknown argument \(a)")
                exit(2)
            }
        }
        guard var configuration = loadConfiguration(configPath) else { exit(1) }
        let slurm: LibSlurmClient
        switch LibSlurmClient.open(environment: ProcessInfo.processInfo.environment) {
        case .success(let client): slurm = client
        case .failure(let why):
            log("error: \(why)")
            exit(1)
        }
        // The state directory holds what a restart needs; one acting daemon per directory (its lock).
        let directory = StateDirectory(path: configuration.stateDirectory)
        do {
            try directory.create()
        } catch {
            log("error: \(error)")
            exit(1)
        }
        var lockFD: Int32 = -1
        defer { if lockFD >= 0 { close(lockFD) } }
        var server: MetricsServer?
        if let a = configuration.metricsListen {
            do {
                server = try MetricsServer(host: a.host, port: a.port, ipv6: a.isIPv6)
                log("metrics on http://\(a)/metrics")
            } catch {
                log("warning: \(error); metrics endpoint disabled")
            }
        }

        // Acting whatever the controllers do (one controller, another host, FollowController=no): the state
        // directory's lock first, before the socket, so that a second daemon started by mistake exits without
        // touching the first one's socket. A daemon that follows a controller takes the lock when it starts to act.
        var follower = ControllerFollower()
        var role = follower.role(configuration, slurm: slurm, log: log)
        if !follower.follows {
            do {
                lockFD = try directory.lock()
            } catch {
                log("error: \(error)")
                exit(1)
            }
        }
        var listener: SubmissionListener? = nil
        if !once && !configuration.notifySocket.isEmpty {  // one cycle hears nothing: --once leaves the socket alone
            do {
                listener = try SubmissionListener(path: configuration.notifySocket)
            } catch {
                log("warning: \(error); submissions are not heard, cycles run on the timer only")
            }
        }
        listener?.onIgnoredSender = { uid in
            log("warning: NotifySocket: ignoring datagrams from uid \(uid): only root, slurmctld's user and this "
                + "daemon's are heard (said once per uid)")
        }
        refreshNoticeSenders(listener, slurm: slurm)
        log("prewarmd started: mode \(configuration.mode.rawValue), every \(configuration.interval)s, boot lead "
            + "\(configuration.policy.bootLeadTime)s, config \(configPath), version \(PrewarmVersion.string)")
        warnAboutSlurmSuspendTime(configuration, slurm: slurm)
        // systemd (Type=notify): started. NOTIFY_SOCKET is unset otherwise, and then nothing is sent.
        let notifySocket = once ? nil : ProcessInfo.processInfo.environment["NOTIFY_SOCKET"]
        do { try ServiceManager.notify("READY=1", socket: notifySocket) } catch { log("warning: \(error)") }

        // The loop exists while the daemon acts (it holds the state directory's lock then); nil while it stands by.
        var loop: AdjustmentLoop? = nil
        var counters = DaemonCounters()  // the notices the listener counted, acting or standing by
        // One history, acting or standing by: a prewarmd that stands by still stores the jobs that finish (a read of
        // the queue per Interval), so that the one taking over later learns from them too.
        let history = HistoryKeeper(configuration: configuration, log: log)
        var lockRefusal: String? = nil
        var first = true
        while stopRequested == 0 {
            if !first { role = follower.role(configuration, slurm: slurm, log: log) }
            first = false
            if role.acts && loop == nil {
                do {
                    if lockFD < 0 { lockFD = try directory.lock() }
                    lockRefusal = nil
                    var l = AdjustmentLoop(slurm: slurm, configuration: configuration, log: log)
                    l.history = history
                    l.submissionsSeen = counters.submissions
                    l.noticesIgnored = counters.noticesIgnored
                    loop = l
                } catch {
                    // The prewarmd that acted before (on the other controller host, the state directory shared)
                    // stops within a cycle of its slurmctld losing control; until then this one waits.
                    if lockRefusal != "\(error)" { log("waiting to act: \(error)") }
                    lockRefusal = "\(error)"
                }
            } else if !role.acts, loop != nil {
                loop = nil
                close(lockFD)
                lockFD = -1
            }
            var wait = configuration.interval
            if let w = loop?.runCycle(now: Int64(time(nil))) {
                wait = w
                if listener?.allowedSenders == nil { refreshNoticeSenders(listener, slurm: slurm) }
                loop?.history?.retrainIfDue(now: Int64(time(nil)))
                loop?.history?.refreshIfDue(now: Int64(time(nil)))
                server?.publish(loop?.metricsText ?? "")
            } else {
                if listener?.allowedSenders == nil { refreshNoticeSenders(listener, slurm: slurm) }
                // Waiting for the lock, the metrics stay the acting daemon's (a second daemon on this host shares
                // the textfile); standing by, they say so.
                if !role.acts {
                    publishStandby(counters, configuration: configuration, server: server)
                    if !configuration.historyDatabase.isEmpty, let jobs = try? slurm.loadJobs() {
                        _ = history.record(jobs: jobs, now: Int64(time(nil)))
                    }
                }
            }
            if once { break }
            // Sleep until the next cycle, a submission notification (at most one early cycle per 5 s), or a signal.
            let deadline = Date().addingTimeInterval(Double(wait))
            let lastCycle = loop?.lastCycle ?? Date()
            var woke = false
            while stopRequested == 0 && reloadRequested == 0 && Date() < deadline && !woke {
                let ms = Int32(max(0, min(1000, deadline.timeIntervalSinceNow * 1000)))
                if let listener {
                    let n = listener.wait(milliseconds: ms)
                    counters.submissions += n
                    counters.noticesIgnored = listener.ignoredDatagrams
                    loop?.submissionsSeen = counters.submissions
                    loop?.noticesIgnored = counters.noticesIgnored
                    // A notice while standing by: this host's slurmctld may have taken control; ask again soon too.
                    if n > 0 && Date().timeIntervalSince(lastCycle) >= 5 { woke = true }
                } else {
                    usleep(useconds_t(ms) * 1000)
                }
            }
            if reloadRequested != 0 {
                reloadRequested = 0
                if let c = loadConfiguration(configPath) {
                    if c.stateDirectory != configuration.stateDirectory
                        || c.metricsListen != configuration.metricsListen
                    {
                        log("note: StateDirectory and MetricsListen take effect at the next start")
                    }
                    var c = c
                    c.stateDirectory = configuration.stateDirectory
                    configuration = c
                    loop?.configuration = c
                    history.configuration = c
                    follower.forgetControllers()
                    log("configuration reloaded: mode \(c.mode.rawValue)")
                    warnAboutSlurmSuspendTime(c, slurm: slurm)
                    refreshNoticeSenders(listener, slurm: slurm)
                } else {
                    log("configuration not reloaded; keeping the previous one")
                }
            }
        }
        log("prewarmd stopping")
        _ = try? ServiceManager.notify("STOPPING=1", socket: notifySocket)
    }
}
