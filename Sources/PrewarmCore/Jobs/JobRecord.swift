// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

/// One job as Prewarm sees it: what was requested at submission, plus what happened
/// (wait, runtime) once it is known. Trace readers and the live Slurm client both
/// produce this type; the core never reads files.
///
/// Unknown values are `-1`, as in the Standard Workload Format.
public struct JobRecord: Sendable, Equatable {
    /// Job identifier (SWF field 1, Slurm job id).
    public var id: Int64
    /// Submission time, Unix seconds.
    public var submit: Int64
    /// Seconds from submission to start, or -1.
    public var wait: Int64
    /// Seconds from start to end, or -1 (cancelled before start).
    public var runtime: Int64
    /// Processors allocated, or -1.
    public var allocatedProcs: Int32
    /// Processors requested, or -1.
    public var requestedProcs: Int32
    /// Nodes requested, or -1 (SWF has no such field; Slurm does).
    public var requestedNodes: Int32
    /// Requested time limit in seconds, or -1.
    public var requestedTime: Int64
    /// Requested memory per processor in KB, or -1.
    public var requestedMemoryKB: Int64
    /// Completion status (SWF field 11), or -1.
    public var status: Int32
    /// User, group, application (executable), queue and partition numbers, or -1.
    public var user: Int32
    public var group: Int32
    public var application: Int32
    public var queue: Int32
    public var partition: Int32
    /// Local hour of day (0–23) of the submission, in the cluster's time zone.
    public var hourOfDay: Int8
    /// Local day of week (0 = Sunday … 6 = Saturday) of the submission.
    public var dayOfWeek: Int8

    public init(
        id: Int64, submit: Int64, wait: Int64 = -1, runtime: Int64 = -1, allocatedProcs: Int32 = -1,
        requestedProcs: Int32 = -1, requestedNodes: Int32 = -1, requestedTime: Int64 = -1,
        requestedMemoryKB: Int64 = -1, status: Int32 = -1, user: Int32 = -1, group: Int32 = -1,
        application: Int32 = -1, queue: Int32 = -1, partition: Int32 = -1, hourOfDay: Int8 = 0,
        dayOfWeek: Int8 = 0
    ) {
        self.id = id
        self.submit = submit
        self.wait = wait
        self.runtime = runtime
        self.allocatedProcs = allocatedProcs
        self.requestedProcs = requestedProcs
        self.requestedNodes = requestedNodes
        self.requestedTime = requestedTime
        self.requestedMemoryKB = requestedMemoryKB
        self.status = status
        self.user = user
        self.group = group
        self.application = application
        self.queue = queue
        self.partition = partition
        self.hourOfDay = hourOfDay
        self.dayOfWeek = dayOfWeek
    }

    /// Processors the job occupies: allocated if known, else requested, else 1.
    public var procs: Int32 {
        if allocatedProcs > 0 { return allocatedProcs }
        if requestedProcs > 0 { return requestedProcs }
        return 1
    }

    /// Start time if the wait is known.
    public var start: Int64? { wait >= 0 ? submit &+ wait : nil }

    /// End time if both wait and runtime are known.
    public var end: Int64? { (wait >= 0 && runtime >= 0) ? submit &+ wait &+ runtime : nil }
}
