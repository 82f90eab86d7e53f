// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

/// Replays a workload's submissions and completions in time order through a ``JobHistory``,
/// tracking the cluster load, and hands every job's submit-time snapshot to the caller.
///
/// This is the one place that decides what is "known at submission": completions strictly
/// before a submission enter the history first; the load counts jobs started at or before it.
/// What happens to the jobs still running after the last submission is the caller's choice (``Horizon``).
public struct HistoryReplay {
    /// Which completions the replay reports (each job at most once, in end-time order). Completions before a
    /// submission are always reported before it; this decides the ones after the last submission.
    public enum Horizon: Sendable, Equatable {
        /// None after the last submission: what an online evaluation needs, where nothing is left to predict.
        case lastSubmission
        /// Every job: the ones still in flight at the last submission complete after it. For training from a
        /// log or store of finished jobs, where all of them are known now (until 2026-12-01 `train` stopped at
        /// the last submission and so never learned from the newest finished jobs).
        case allJobs
    }

    /// Per-job value the caller attaches at submission and gets back at completion.
    public struct Completion<Tag> {
        public var job: JobRecord
        public var snapshot: SubmitSnapshot
        public var tag: Tag
    }

    /// Jobs sorted by submission (stable).
    public let jobs: [JobRecord]
    /// Cluster processors (0 when unknown).
    public let capacityProcs: Int64

    public init(jobs: [JobRecord], capacityProcs: Int64) {
        self.jobs = jobs.enumerated()
            .sorted { ($0.element.submit, $0.offset) < ($1.element.submit, $1.offset) }
            .map(\.element)
        self.capacityProcs = capacityProcs
    }

    /// Runs the replay.
    /// - Parameters:
    ///   - completing: which completions are reported after the last submission (``Horizon``).
    ///   - onCompletion: a job has left the system (before any later submission is handled); the
    ///     history has already recorded it.
    ///   - onSubmit: a job is submitted; returns the tag to keep until its completion.
    public func run<Tag, E: Error>(
        history: inout JobHistory, completing horizon: Horizon,
        onCompletion: (Completion<Tag>) throws(E) -> Void,
        onSubmit: (_ index: Int, _ job: JobRecord, _ snapshot: SubmitSnapshot) throws(E) -> Tag
    ) throws(E) {
        var inFlight: [Int: Completion<Tag>] = [:]
        var completions = MinHeap<Int>()   // departure time -> job index
        var starts = MinHeap<Int64>()      // time -> procs leaving the queue (+ start running, − cancelled)
        var ends = MinHeap<Int64>()        // end time -> procs leaving the running set
        var running: Int64 = 0
        var queued: Int64 = 0
        for (index, job) in jobs.enumerated() {
            let now = job.submit
            while let t = completions.minKey, t < now, let e = completions.pop() {
                guard let c = inFlight.removeValue(forKey: e.payload) else { continue }
                history.finish(c.job, candidates: c.snapshot.candidates)
                try onCompletion(c)
            }
            while let t = starts.minKey, t <= now, let e = starts.pop() {
                queued -= abs(e.payload)
                if e.payload > 0 { running += e.payload }
            }
            while let t = ends.minKey, t <= now, let e = ends.pop() { running -= e.payload }

            let load = ClusterLoad(runningProcs: running, queuedProcs: queued, capacityProcs: capacityProcs)
            let snapshot = history.submit(job, load: load)
            let tag = try onSubmit(index, job, snapshot)

            let wait = Swift.max(job.wait, 0)
            let runtime = Swift.max(job.runtime, 0)
            let procs = Int64(job.procs)
            queued += procs
            if runtime > 0 {
                starts.push(now &+ wait, procs)
                ends.push(now &+ wait &+ runtime, procs)
            } else {
                starts.push(now &+ wait, -procs)  // cancelled (or zero-length): leaves the queue, never runs
            }
            inFlight[index] = Completion(job: job, snapshot: snapshot, tag: tag)
            completions.push(now &+ wait &+ runtime, index)
        }
        // The jobs still in flight after the last submission: their snapshots were taken at their submission;
        // only the history and the caller learn of their ends, in end-time order.
        guard horizon == .allJobs else { return }
        while let e = completions.pop() {
            guard let c = inFlight.removeValue(forKey: e.payload) else { continue }
            history.finish(c.job, candidates: c.snapshot.candidates)
            try onCompletion(c)
        }
    }
}
