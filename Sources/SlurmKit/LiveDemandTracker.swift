// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
//
// The daemon's learned arrivals: each cycle's job list, diffed against the previous one, feeds the
// per-partition DemandLearner (submissions and ends, each once), after a replay of the history store.

import PrewarmCore

#if canImport(Glibc)
import Glibc
#endif

public struct LiveDemandTracker: Sendable {
    public private(set) var learner = DemandLearner()
    private struct Key: Hashable, Sendable {
        var id: UInt32
        var submit: Int64
    }
    private var submitted = Set<Key>()
    private var ended = Set<Key>()
    /// Jobs the history replay already covered: finished jobs submitted up to here, ends up to here.
    private var seededUntil: Int64 = .min
    /// How many jobs it remembers as submitted and as ended (only those Slurm still shows).
    var remembered: (submitted: Int, ended: Int) { (submitted.count, ended.count) }

    public init() {}

    /// Seconds east of UTC at `t` on this host (the local time Slurm's users live in).
    public static func localUTCOffset(at t: Int64) -> Int64 {
        var time = time_t(t)
        var parts = tm()
        guard localtime_r(&time, &parts) != nil else { return 0 }
        return Int64(parts.tm_gmtoff)
    }

    /// The local hour of week of minute `m` from `now`.
    public static func hourOfWeekAt(now: Int64) -> (Int) -> Int {
        let offset = localUTCOffset(at: now)
        return { m in DemandLearner.hourOfWeek(now &+ Int64(m) &* 60, utcOffset: offset) }
    }

    /// How many of the newest stored jobs are replayed at start-up (`prewarmd`, `prewarm forecast --db`).
    public static let seedJobs = 200_000

    /// Per partition, the CPUs of its largest node: a stored job that gives only CPUs takes whole nodes of it.
    public static func coresPerNode(_ nodes: [SlurmNode]) -> [String: Int] {
        var cores: [String: Int] = [:]
        for n in nodes { for p in n.partitions { cores[p] = Swift.max(cores[p] ?? 1, n.cpus) } }
        return cores
    }

    /// Replays finished jobs from the history store (oldest first or not: they are sorted).
    public mutating func seed(_ jobs: [DemandLearner.PastJob]) {
        learner.replay(jobs)
        for j in jobs { seededUntil = Swift.max(seededUntil, j.end ?? j.submit) }
    }

    static func partition(of j: SlurmJob) -> String { LiveForecast.firstPartition(j.partition) }

    /// Learns from one cycle's job list: new submissions (in submission order), then new ends. Each job counts the
    /// nodes `sharing` says it takes (a share of a node for a small job where jobs share nodes; by default, whole
    /// nodes: its node count). A submission's hour of the week is local time: `utcOffset` (default: this host's
    /// zone; a test passes a fixed one, as the process's `TZ` is shared with every other test).
    public mutating func observe(
        jobs: [SlurmJob], sharing: NodeSharing = NodeSharing(), utcOffset: (Int64) -> Int64 = localUTCOffset
    ) {
        // Positions in `jobs` (a job is a large value: copying 100,000 of them cost more than the learning).
        var fresh: [Int] = []
        var finished: [Int] = []
        var visible = Set<Key>()
        visible.reserveCapacity(jobs.count)
        for (i, j) in jobs.enumerated() {
            let key = Key(id: j.id, submit: j.submitTime)
            // New: seen neither in an earlier cycle nor earlier in this list.
            let new = visible.insert(key).inserted && !submitted.contains(key)
            let done = j.state.isFinished
            if new && !(done && j.submitTime <= seededUntil) { fresh.append(i) }
            if done && !ended.contains(key) {
                ended.insert(key)
                if j.startTime > 0 && j.endTime >= j.startTime && j.endTime > seededUntil { finished.append(i) }
            }
        }
        // Forget jobs Slurm no longer shows: they cannot come back. (Every job shown is now known as submitted.)
        submitted = visible
        ended.formIntersection(visible)
        fresh.sort { (jobs[$0].submitTime, jobs[$0].id) < (jobs[$1].submitTime, jobs[$1].id) }
        for i in fresh {
            let j = jobs[i]
            learner.submitted(
                partition: Self.partition(of: j), user: Int32(truncatingIfNeeded: j.userID),
                nodes: sharing.nodes(of: j), at: j.submitTime,
                hourOfWeek: DemandLearner.hourOfWeek(j.submitTime, utcOffset: utcOffset(j.submitTime)))
        }
        finished.sort { (jobs[$0].endTime, jobs[$0].id) < (jobs[$1].endTime, jobs[$1].id) }
        for i in finished {
            let j = jobs[i]
            learner.ended(
                partition: Self.partition(of: j), user: Int32(truncatingIfNeeded: j.userID),
                nodes: sharing.nodes(of: j), at: j.endTime, runtime: j.endTime &- j.startTime)
        }
    }
}
