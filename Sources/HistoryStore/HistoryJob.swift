// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

import PrewarmCore

/// One finished job as the history store keeps it: what was requested, what happened, and where it came from.
///
/// Unknown values are `nil` (SQL `NULL`). A job is identified by `(cluster, jobID, submitTime)`: Slurm job ids
/// wrap and restart, the submit time tells two jobs with the same id apart.
public struct HistoryJob: Sendable, Equatable {
    public var cluster: String
    public var jobID: Int64
    /// Unix seconds.
    public var submitTime: Int64
    /// Array master job id and task id, for array tasks.
    public var arrayJobID: Int64?
    public var arrayTaskID: Int64?
    public var eligibleTime: Int64?
    /// `nil` when the job never started (cancelled while pending) or the start is unknown.
    public var startTime: Int64?
    public var endTime: Int64?
    /// Seconds east of UTC on the cluster's clock at submission (local hour and weekday are model features).
    public var utcOffset: Int64
    /// Numeric user: the uid on Slurm, the user number in a workload log.
    public var userID: Int64?
    public var userName: String?
    public var account: String?
    /// Numeric group (a workload log's group number; Slurm accounts are names).
    public var groupID: Int64?
    public var partition: String?
    /// A workload log's partition number.
    public var partitionID: Int64?
    public var qos: String?
    /// A workload log's queue number.
    public var queueID: Int64?
    /// Job name.
    public var name: String?
    /// A workload log's executable number.
    public var applicationID: Int64?
    public var requestedCPUs: Int64?
    public var allocatedCPUs: Int64?
    public var requestedNodes: Int64?
    /// Requested memory per CPU in KB.
    public var requestedMemoryKBPerCPU: Int64?
    /// Seconds; `nil` when unlimited or unknown.
    public var timeLimit: Int64?
    /// Slurm's state name: COMPLETED, FAILED, CANCELLED, TIMEOUT, NODE_FAIL, OUT_OF_MEMORY, …
    public var state: String?
    /// As sacct shows it: sacct prints an exit code of 128 or more less 128 (a script's `exit 143` is 15 here).
    public var exitCode: Int64?
    public var exitSignal: Int64?
    /// The job's `AdminComment`, where the job_submit plugin writes its `prewarm:v1 …` annotation.
    public var annotation: String?
    /// Actual usage, where known: CPU seconds (user + system) and peak resident memory in KB.
    public var cpuTime: Int64?
    public var maxRSSKB: Int64?
    /// Where the row came from: `slurm` (the daemon's poll), `sacct`, `swf:<file name>`.
    public var source: String

    public init(cluster: String, jobID: Int64, submitTime: Int64, source: String) {
        self.cluster = cluster
        self.jobID = jobID
        self.submitTime = submitTime
        self.utcOffset = 0
        self.source = source
    }
}

extension HistoryJob {
    /// The SWF completion status for a Slurm state name (1 completed, 0 failed, 5 cancelled), -1 when unknown.
    public static func swfStatus(state: String?) -> Int32 {
        guard let s = state else { return -1 }
        switch s {
        case "COMPLETED": return 1
        case "CANCELLED": return 5
        case "FAILED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE", "PREEMPTED": return 0
        default:
            if s.hasPrefix("SWF"), let n = Int32(s.dropFirst(3)) { return n }
            return -1
        }
    }

    /// The state name stored for an SWF completion status (the inverse of ``swfStatus(state:)``).
    public static func state(swfStatus: Int32) -> String? {
        switch swfStatus {
        case 1: return "COMPLETED"
        case 0: return "FAILED"
        case 5: return "CANCELLED"
        case ..<0: return nil
        default: return "SWF\(swfStatus)"
        }
    }

    /// A row from a workload-log job (``JobRecord``), keeping its numbers so that ``jobRecord`` gives it back.
    /// A job whose wait is unknown is stored without start and end.
    public init(_ r: JobRecord, cluster: String, utcOffset: Int64, source: String) {
        self.init(cluster: cluster, jobID: r.id, submitTime: r.submit, source: source)
        self.utcOffset = utcOffset
        func known<T: BinaryInteger>(_ v: T) -> Int64? { v >= 0 ? Int64(v) : nil }
        if r.wait >= 0 {
            startTime = r.submit &+ r.wait
            if r.runtime >= 0 { endTime = r.submit &+ r.wait &+ r.runtime }
        }
        userID = known(r.user)
        groupID = known(r.group)
        applicationID = known(r.application)
        queueID = known(r.queue)
        partitionID = known(r.partition)
        requestedCPUs = known(r.requestedProcs)
        allocatedCPUs = known(r.allocatedProcs)
        requestedNodes = known(r.requestedNodes)
        requestedMemoryKBPerCPU = known(r.requestedMemoryKB)
        timeLimit = known(r.requestedTime)
        state = Self.state(swfStatus: r.status)
    }

    /// The executable the job_submit plugin recorded in the annotation (`exe=…`), if any.
    public var annotatedExecutable: String? {
        guard let a = annotation else { return nil }
        var inside = false
        for token in a.split(separator: " ") {
            if token == SubmitProfiler.marker || token.hasSuffix(SubmitProfiler.marker) {
                inside = true
            } else if inside, token.hasPrefix("exe=") {
                let v = token.dropFirst(4)
                return v.isEmpty ? nil : String(v)
            }
        }
        return nil
    }

    /// The job as the runtime model reads it, mapped the way the job_submit plugin maps a submission
    /// (``SubmitProfiler/record(for:script:)``): the user is the uid; account, QOS, partition and the executable
    /// (from the annotation, else the job name) become stable numbers, unless the row carries a workload log's
    /// numbers. Local hour and weekday come from the stored UTC offset.
    public var jobRecord: JobRecord {
        func int32(_ v: Int64?) -> Int32 { v.map { Int32(clamping: $0) } ?? -1 }
        func id(_ number: Int64?, _ name: String?) -> Int32 {
            if let number { return Int32(clamping: number) }
            if let name, !name.isEmpty { return BatchScriptAnalysis.stableID(name) }
            return -1
        }
        var wait: Int64 = -1
        var runtime: Int64 = -1
        if let s = startTime, s >= submitTime {
            wait = s - submitTime
            if let e = endTime, e >= s { runtime = e - s }
        }
        let local = submitTime &+ utcOffset
        let day = local >= 0 ? local / 86_400 : (local - 86_399) / 86_400
        let second = local - day * 86_400
        let weekday = ((day + 4) % 7 + 7) % 7  // 1970-01-01 was a Thursday
        return JobRecord(
            id: jobID, submit: submitTime, wait: wait, runtime: runtime,
            allocatedProcs: int32(allocatedCPUs), requestedProcs: int32(requestedCPUs),
            requestedNodes: int32(requestedNodes), requestedTime: timeLimit ?? -1,
            requestedMemoryKB: requestedMemoryKBPerCPU ?? -1, status: Self.swfStatus(state: state),
            user: int32(userID), group: id(groupID, account),
            application: id(applicationID, annotatedExecutable ?? name), queue: id(queueID, qos),
            partition: id(partitionID, partition), hourOfDay: Int8(second / 3600), dayOfWeek: Int8(weekday))
    }
}
