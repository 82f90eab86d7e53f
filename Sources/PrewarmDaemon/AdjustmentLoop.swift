// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

import Foundation
import PrewarmCore
import SlurmKit

/// One adjustment cycle at a time: read Slurm, plan, act (or log), with the daemon's safety state.
struct AdjustmentLoop {
    let slurm: SlurmClient
    var configuration: DaemonConfiguration
    let log: (String) -> Void
    /// Nodes with a command whose effect Slurm has not shown yet, and when it was issued.
    var inFlight: [String: (request: PowerRequest, at: Int64)] = [:]
    /// Times of the actions taken in the last hour (the hourly cap).
    var recentActions: [Int64] = []
    var failures = 0
    var lastCycle = Date.distantPast
    var submissionsSeen = 0
    /// The history store (finished jobs) and the retraining schedule; nil when HistoryDatabase is empty.
    var history: HistoryKeeper?
    /// A command not reflected in the node's state after this long is forgotten (and may be issued again).
    static let commandTimeout: Int64 = 600

    /// Runs one cycle; returns the seconds to wait before the next one (longer after Slurm errors).
    mutating func runCycle(now: Int64) -> Int {
        lastCycle = Date()
        guard configuration.mode != .off else { return configuration.interval }
        let nodes: [SlurmNode]
        let partitions: [SlurmPartition]
        let jobs: [SlurmJob]
        let exclusions: (nodes: String, partitions: [String])
        do {
            nodes = try slurm.loadNodes()
            partitions = try slurm.loadPartitions()
            jobs = try slurm.loadJobs()
            exclusions = try slurm.loadPowerExclusions()
        } catch {
            failures += 1
            let backoff = min(300, configuration.interval * (1 << min(failures, 5)))
            log("slurm unreachable (\(error)); retrying in \(backoff)s")
            return backoff
        }
        if failures > 0 { log("slurm reachable again after \(failures) failed cycle(s)") }
        failures = 0
        history?.record(jobs: jobs, now: now)

        // Exclusions: Slurm's SuspendExcNodes/SuspendExcParts plus the daemon's own.
        var excluded = Set(configuration.excludeNodes)
        if !exclusions.nodes.isEmpty, let names = try? Hostlist.expand(exclusions.nodes) { excluded.formUnion(names) }
        let excludedPartitions = Set(exclusions.partitions + configuration.excludePartitions)
        for n in nodes where !excludedPartitions.isDisjoint(with: n.partitions) { excluded.insert(n.name) }

        // Forget commands whose effect is visible (or that timed out).
        for n in nodes {
            guard let c = inFlight[n.name] else { continue }
            let p = LiveAdjustment.power(of: n, now: now)
            let done: Bool
            switch (c.request, p) {
            case (.up, .idle), (.up, .busy), (.up, .unavailable): done = true
            case (.down, .off), (.downAsap, .off), (.down, .unavailable), (.downAsap, .unavailable): done = true
            default: done = false
            }
            if done || now - c.at > Self.commandTimeout { inFlight[n.name] = nil }
        }
        recentActions.removeAll { now - $0 >= 3600 }
        var policy = configuration.policy
        if policy.bootLeadTime <= 0 { policy.bootLeadTime = 300 }
        let plan = LiveAdjustment.plan(
            nodes: nodes, partitions: partitions, jobs: jobs, now: now, configuration: policy, excluded: excluded,
            inFlight: Set(inFlight.keys), budget: configuration.maxActionsPerHour - recentActions.count)
        for a in plan {
            let verb = a.request == .up ? "power up" : "power down"
            if configuration.mode == .forecastOnly {
                log("would \(verb) \(a.node): \(a.reason)")
                continue
            }
            do {
                try slurm.updatePower(nodes: a.node, a.request)
                inFlight[a.node] = (a.request, now)
                recentActions.append(now)
                log("\(verb) \(a.node): \(a.reason)")
            } catch {
                log("error: \(verb) \(a.node) refused: \(error)")
            }
        }
        if plan.isEmpty {
            let pending = jobs.filter { $0.state == .pending && !$0.held }.count
            log("cycle: \(nodes.count) nodes, \(pending) pending jobs, no action (\(inFlight.count) command(s) in flight)")
        }
        return configuration.interval
    }
}

/// The daemon's end of the plugin's notifications: a Unix datagram socket.
final class SubmissionListener {
    private let fd: Int32

    init?(path: String) {
        let bytes = Array(path.utf8)
        var address = sockaddr_un()
        guard !bytes.isEmpty, bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return nil }
        let s = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard s >= 0 else { return nil }
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in bytes.enumerated() where i < raw.count - 1 { raw[i] = b }
        }
        unlink(path)  // a stale socket from a previous run
        let rc = withUnsafePointer(to: &address) { a in
            a.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else {
            close(s)
            return nil
        }
        chmod(path, 0o666)  // slurmctld may run as another user than the daemon
        fd = s
    }

    deinit { close(fd) }

    /// Waits up to `milliseconds` for datagrams; returns how many were read (0 on timeout).
    func wait(milliseconds: Int32) -> Int {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, milliseconds) > 0 else { return 0 }
        var count = 0
        var buffer = [UInt8](repeating: 0, count: 1024)
        while recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT)) > 0 { count += 1 }
        return count
    }
}
