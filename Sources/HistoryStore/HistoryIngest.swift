// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

import PrewarmCore
import SlurmKit

#if canImport(Glibc)
import Glibc
#endif

/// Stores the finished jobs of a libslurm poll. `slurm_load_jobs` keeps finished jobs for `MinJobAge` seconds
/// (300 by default), so a daemon polling every minute sees each finished job several times: the store keeps
/// the first and ignores the rest.
public enum HistoryIngest {
    /// Seconds east of UTC on this machine's clock at `t` (what `localtime_r` says; the plugin uses the same).
    public static func localUTCOffset(at t: Int64) -> Int64 {
        var tt = time_t(t)
        var parts = tm()
        guard localtime_r(&tt, &parts) != nil else { return 0 }
        return Int64(parts.tm_gmtoff)
    }

    /// Slurm's name for a job state (as `sacct` prints it).
    public static func stateName(_ s: JobState) -> String {
        switch s {
        case .pending: return "PENDING"
        case .running: return "RUNNING"
        case .suspended: return "SUSPENDED"
        case .completed: return "COMPLETED"
        case .cancelled: return "CANCELLED"
        case .failed: return "FAILED"
        case .timeout: return "TIMEOUT"
        case .nodeFail: return "NODE_FAIL"
        case .preempted: return "PREEMPTED"
        case .bootFail: return "BOOT_FAIL"
        case .deadline: return "DEADLINE"
        case .outOfMemory: return "OUT_OF_MEMORY"
        case .other(let raw): return "STATE\(raw)"
        }
    }

    /// The row for a finished job, or `nil` for a job still pending, running or suspended (or without a
    /// submit time). `cluster` is used when the job does not name its own.
    public static func row(_ j: SlurmJob, cluster: String, utcOffset: (Int64) -> Int64 = localUTCOffset)
        -> HistoryJob?
    {
        guard j.state.isFinished, j.submitTime > 0 else { return nil }
        var h = HistoryJob(
            cluster: j.cluster.isEmpty ? cluster : j.cluster, jobID: Int64(j.id), submitTime: j.submitTime,
            source: "slurm")
        h.utcOffset = utcOffset(j.submitTime)
        if j.arrayJobID != 0 {
            h.arrayJobID = Int64(j.arrayJobID)
            h.arrayTaskID = Int64(j.arrayTaskID)
        }
        h.eligibleTime = j.eligibleTime > 0 ? j.eligibleTime : nil
        // A job cancelled while pending has no start (Slurm reports 0, or the end time with nothing run).
        if j.startTime > 0 {
            h.startTime = j.startTime
            if j.endTime >= j.startTime { h.endTime = j.endTime }
        } else if j.endTime > 0 {
            h.endTime = j.endTime
        }
        h.userID = Int64(j.userID)
        h.userName = j.userName.isEmpty ? nil : j.userName
        h.account = j.account.isEmpty ? nil : j.account
        h.partition = j.partition.isEmpty ? nil : j.partition
        h.qos = j.qos.isEmpty ? nil : j.qos
        h.name = j.name.isEmpty ? nil : j.name
        let requested = j.tasks > 0 ? j.tasks * Swift.max(j.cpusPerTask, 1) : j.cpus
        h.requestedCPUs = requested > 0 ? Int64(requested) : nil
        h.allocatedCPUs = h.startTime != nil && j.cpus > 0 ? Int64(j.cpus) : nil
        h.requestedNodes = j.nodeCount > 0 ? Int64(j.nodeCount) : nil
        if j.memoryMB > 0 {
            if j.memoryPerCPU {
                h.requestedMemoryKBPerCPU = j.memoryMB * 1024
            } else if requested > 0 {
                h.requestedMemoryKBPerCPU = Swift.max(1, j.memoryMB * 1024 * Int64(Swift.max(j.nodeCount, 1)) / Int64(requested))
            }
        }
        h.timeLimit = j.timeLimitMinutes > 0 ? j.timeLimitMinutes * 60 : nil
        h.state = stateName(j.state)
        if j.exitStatus >= 0 {
            h.exitCode = (j.exitStatus >> 8) & 0xFF
            h.exitSignal = j.exitStatus & 0x7F
        }
        h.annotation = j.adminComment.isEmpty ? nil : j.adminComment
        return h
    }

    /// Stores the finished jobs among `jobs` (one transaction).
    /// - Returns: how many were new (0 when the same poll is ingested again).
    @discardableResult
    public static func ingest(
        jobs: [SlurmJob], into store: HistoryStore, cluster: String, now: Int64 = Int64(time(nil))
    ) throws(HistoryStoreError) -> Int {
        try store.insert(jobs.compactMap { row($0, cluster: cluster) }, now: now)
    }
}
