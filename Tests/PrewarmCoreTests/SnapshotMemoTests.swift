// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
@testable import PrewarmCore
import Testing

/// The memo's varying positions are the schema's features of those names.
@Test func snapshotMemoVaryingPositionsAreTheSchemas() {
    let names = FeatureSchema.submitTime.features
    let expected: [(Int, String)] = [
        (JobHistory.Varying.requestedNodes, "req_nodes"), (JobHistory.Varying.requestedMemory, "req_mem_log"),
        (JobHistory.Varying.queue, "queue"), (JobHistory.Varying.partition, "partition"),
        (JobHistory.Varying.hourOfDay, "hour_of_day"), (JobHistory.Varying.dayOfWeek, "day_of_week"),
        (JobHistory.Varying.inFlight, "user_in_flight"), (JobHistory.Varying.sinceSubmit, "since_user_submit_log"),
        (JobHistory.Varying.sinceFinish, "since_user_finish_log"), (JobHistory.Varying.running, "running_procs_frac"),
        (JobHistory.Varying.queued, "queued_procs_frac"),
    ]
    for (i, name) in expected { #expect(names[i] == name) }
}

/// A memoized history gives every snapshot the same bits as a plain one fed the same submissions, completions and
/// reads, while most submissions are served from the memo: users resubmit the same few kinds of jobs with other
/// sizes in nodes and memory, queues, partitions, times of day and cluster loads, and jobs finish in between.
@Test func memoizedSnapshotsEqualComputedOnes() {
    var memoized = JobHistory()
    memoized.memoizeSnapshots()
    var plain = JobHistory()
    var rng = SplitMix64(seed: 42)
    func pick<T>(_ xs: [T]) -> T { xs[Int(rng.next() % UInt64(xs.count))] }
    var running: [(job: JobRecord, candidates: [Float])] = []
    var a = SubmitSnapshot(features: [], candidates: [])
    var b = SubmitSnapshot(features: [], candidates: [])
    var t: Int64 = 1_700_000_000
    var recalled = 0
    var submitted = 0
    for i in 0 ..< 6_000 {
        t += Int64(rng.next() % 600)
        let job = JobRecord(
            id: Int64(i), submit: t, wait: pick([-1, 0, 300]), runtime: pick([-1, 30, 600, 3_599, 7_200, 40_000]),
            allocatedProcs: pick([-1, 4, 64]), requestedProcs: pick([-1, 1, 4, 4, 16]),
            requestedNodes: pick([-1, 1, 2, 8]), requestedTime: pick([-1, 600, 3_600, 3_600, 86_400]),
            requestedMemoryKB: pick([-1, 0, 1 << 20, 64 << 20]),
            user: rng.next() % 8 == 0 ? -1 : Int32(i / 300) - Int32(rng.next() % 3),  // new users keep coming
            application: pick([-1, 7, 7, 9]), queue: pick([-1, 0, 1]), partition: pick([-1, 0, 2]),
            hourOfDay: Int8(rng.next() % 24), dayOfWeek: Int8(rng.next() % 7))
        let load = pick([
            ClusterLoad(), ClusterLoad(runningProcs: 100, queuedProcs: 20, capacityProcs: 128),
            ClusterLoad(runningProcs: 5, queuedProcs: 0, capacityProcs: 0),
        ])
        switch rng.next() % 20 {
        case 0 ..< 15:
            var scratch: [Float] = []
            var features: [Float] = []
            if memoized.memo?.recall(memoized.memoKey(job), candidates: &scratch, features: &features) == true {
                recalled += 1
            }
            submitted += 1
            memoized.submit(job, load: load, into: &a)
            plain.submit(job, load: load, into: &b)
            running.append((job, b.candidates))
        case 15 ..< 19:  // a read without recording (an update of a queued job)
            memoized.snapshot(job, load: load, into: &a)
            plain.snapshot(job, load: load, into: &b)
        default:
            guard !running.isEmpty else { continue }
            let done = running.remove(at: Int(rng.next() % UInt64(running.count)))
            let candidates: [Float]? = rng.next() % 4 == 0 ? nil : done.candidates
            memoized.finish(done.job, candidates: candidates)
            plain.finish(done.job, candidates: candidates)
            continue
        }
        #expect(a.candidates.map(\.bitPattern) == b.candidates.map(\.bitPattern), "job \(i)")
        #expect(a.features.map(\.bitPattern) == b.features.map(\.bitPattern), "job \(i)")
    }
    // The memo served submissions (about one in twenty here: every finish makes every entry stale).
    #expect(recalled >= 100, "\(recalled) of \(submitted) submissions recalled")
    #expect(plain.memo == nil)
}
