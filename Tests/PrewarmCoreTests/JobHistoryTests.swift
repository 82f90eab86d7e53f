// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import PrewarmCore
import Testing
#if canImport(Glibc)
import Glibc
#endif

private func job(
    _ id: Int64, user: Int32 = 1, submit: Int64, wait: Int64 = 0, runtime: Int64, req: Int64 = 1000,
    procs: Int32 = 4, app: Int32 = -1
) -> JobRecord {
    JobRecord(
        id: id, submit: submit, wait: wait, runtime: runtime, allocatedProcs: procs, requestedProcs: procs,
        requestedTime: req, user: user, application: app)
}

/// Snapshots of every job of a replay, by job id.
private func snapshots(_ jobs: [JobRecord], capacity: Int64 = 0) -> [Int64: SubmitSnapshot] {
    var history = JobHistory()
    var out: [Int64: SubmitSnapshot] = [:]
    HistoryReplay(jobs: jobs, capacityProcs: capacity).run(
        history: &history, completing: .lastSubmission, onCompletion: { (_: HistoryReplay.Completion<Void>) in },
        onSubmit: { _, j, s in out[j.id] = s })
    return out
}

private func feature(_ s: SubmitSnapshot, _ name: String) -> Float {
    guard let i = FeatureSchema.submitTime.features.firstIndex(of: name) else { return .nan }
    return s.features[i]
}

@Test func schemaMatchesVectorLength() {
    let s = snapshots([job(1, submit: 0, runtime: 10)])
    #expect(s[1]?.features.count == FeatureSchema.submitTime.count)
    #expect(s[1]?.candidates.count == RuntimeCandidate.count)
    #expect(Set(FeatureSchema.submitTime.features).count == FeatureSchema.submitTime.count)
}

@Test func candidatesFromFinishedHistory() throws {
    let jobs = [
        job(1, submit: 0, runtime: 100, req: 1000, procs: 4, app: 7),
        job(2, submit: 10, runtime: 200, req: 2000, procs: 8, app: 7),
        job(3, submit: 20, runtime: 300, req: 1000, procs: 8, app: 9),
        job(4, submit: 10_000, runtime: 50, req: 1000, procs: 8, app: 7),
    ]
    let s = try #require(snapshots(jobs)[4])
    #expect(s[.last1] == 300)
    #expect(s[.last2] == 250)
    #expect(s[.median5] == 200)
    #expect(s[.sameApplication] == 200)  // most recent finished with app 7 is job 2
    #expect(s[.sameRequest] == 300)  // most recent with req 1000 is job 3
    #expect(s[.sameRequestAndProcs] == 300)
    #expect(s[.sameProcs] == 300)
    #expect(s[.requested] == 1000)
    // median of runtime/request over the last five: 0.1, 0.1, 0.3 -> 0.1
    #expect(abs(s[.scaledRequest] - 100) < 0.01)
    #expect(feature(s, "user_finished_log") > 1.3)  // log1p(3)
}

@Test func last2IsCappedAtTheRequestAndFallsBackToIt() throws {
    let jobs = [
        job(1, submit: 0, runtime: 900, req: 1000), job(2, submit: 1, runtime: 1000, req: 1000),
        job(3, submit: 5000, runtime: 10, req: 600), job(4, user: 2, submit: 5000, runtime: 10, req: 777),
    ]
    let s = snapshots(jobs)
    #expect(try #require(s[3])[.last2] == 600)
    #expect(try #require(s[4])[.last2] == 777)  // no history: the user's estimate
    #expect(try #require(s[4])[.sameRequest] == 777)
}

@Test func runningJobsDoNotLeakIntoHistory() throws {
    // Job 1 is still running when job 2 is submitted: its runtime must not influence job 2.
    func snapshotOfJob2(runtimeOf1: Int64) throws -> SubmitSnapshot {
        try #require(snapshots([job(1, submit: 0, runtime: runtimeOf1), job(2, submit: 500, runtime: 40)])[2])
    }
    let a = try snapshotOfJob2(runtimeOf1: 600)
    let b = try snapshotOfJob2(runtimeOf1: 99_999)
    #expect(a == b)
    #expect(a[.last1] == 1000)  // no finished history: falls back to the request
}

@Test func futureJobsDoNotLeak() throws {
    let base = [
        job(1, submit: 0, runtime: 100), job(2, submit: 200, runtime: 300), job(3, submit: 1000, runtime: 50),
    ]
    // A later job of the same user (and of another user) with extreme values.
    let withFuture = base + [job(9, submit: 1001, runtime: 77_777, req: 1000), job(10, user: 5, submit: 999, runtime: 1)]
    let a = snapshots(base)
    let b = snapshots(withFuture)
    for id in [Int64(1), 2, 3] {
        // job 10 is submitted before job 3 (submit 999 < 1000) but is still queued/running: only the
        // load features may change for job 3, nothing of the history.
        let sa = try #require(a[id])
        let sb = try #require(b[id])
        #expect(sa.candidates == sb.candidates)
        if id != 3 { #expect(sa == sb) }
    }
}

@Test func completionAtTheSubmitInstantIsNotYetKnown() throws {
    // Job 1 ends exactly at 100 (= job 2's submit): "finished before" is strict.
    let s = snapshots([job(1, submit: 0, wait: 40, runtime: 60), job(2, submit: 100, runtime: 5)])
    #expect(try #require(s[2])[.last1] == 1000)
    let t = snapshots([job(1, submit: 0, wait: 40, runtime: 59), job(2, submit: 100, runtime: 5)])
    #expect(try #require(t[2])[.last1] == 59)
}

@Test func clusterLoadCountsRunningAndQueued() throws {
    let jobs = [
        job(1, user: 1, submit: 0, wait: 0, runtime: 1000, procs: 10),  // running at 500
        job(2, user: 2, submit: 100, wait: 900, runtime: 10, procs: 20),  // queued at 500
        job(3, user: 3, submit: 200, wait: 100, runtime: -1, procs: 30),  // cancelled at 300
        job(4, user: 4, submit: 500, runtime: 1, procs: 1),
    ]
    let s = try #require(snapshots(jobs, capacity: 100)[4])
    #expect(feature(s, "running_procs_frac") == 0.1)
    #expect(feature(s, "queued_procs_frac") == 0.2)
}

@Test func perUserCandidateAccuracyUpdatesOnlyOnCompletion() throws {
    let jobs = [
        job(1, submit: 0, runtime: 1000, req: 1000),  // every candidate = request = 1000 → accuracy 1
        job(2, submit: 2000, runtime: 500, req: 1000),
        job(3, user: 2, submit: 2001, runtime: 10, req: 1000),  // another user: no effect on user 1
        job(4, submit: 9000, runtime: 10, req: 1000),
    ]
    let s = snapshots(jobs)
    // job 1 has finished when job 2 is submitted: the requested time was exact for it
    #expect(feature(try #require(s[2]), "user_acc_requested") == 1)
    #expect(feature(try #require(s[3]), "user_acc_requested") == -1)  // user 2 has no history yet
    // after job 2 (runtime 500 vs request 1000: accuracy 0.5): 0.7 * 1 + 0.3 * 0.5
    #expect(abs(feature(try #require(s[4]), "user_acc_requested") - 0.85) < 1e-5)
}

@Test func accuracyMetric() {
    #expect(predictionAccuracy(actual: 100, predicted: 100) == 1)
    #expect(predictionAccuracy(actual: 100, predicted: 50) == 0.5)
    #expect(predictionAccuracy(actual: 50, predicted: 100) == 0.5)
    #expect(predictionAccuracy(actual: 0, predicted: 100) == 0)
    #expect(predictionAccuracy(actual: 10, predicted: .nan) == 0)
}

@Test func metricsAccumulator() {
    var m = MetricsAccumulator()
    m.add(actual: 100, predicted: 50)  // under, ae 50, acc .5
    m.add(actual: 100, predicted: 200)  // over, ae 100, acc .5
    m.add(actual: 100, predicted: 100)  // ae 0, acc 1
    m.addCoverage(actual: 100, p90: 150)
    m.addCoverage(actual: 100, p90: 90)
    let r = m.metrics()
    #expect(r.jobs == 3)
    #expect(abs(r.accuracy - 2.0 / 3.0) < 1e-12)
    #expect(r.maeSeconds == 50)
    #expect(r.medianAESeconds == 50)
    #expect(abs(r.underPercent - 100.0 / 3.0) < 1e-9)
    #expect(r.p90Coverage == 0.5)
}

@Test func minHeapOrdersByKeyThenInsertion() {
    var h = MinHeap<Int>()
    for (k, v) in [(5, 0), (1, 1), (5, 2), (3, 3), (1, 4)] { h.push(Int64(k), v) }
    var out: [Int] = []
    while let e = h.pop() { out.append(e.payload) }
    #expect(out == [1, 4, 3, 0, 2])
}

@Test func calibratorConvergesToTheTargetMissRate() {
    // Runtimes are log-uniform over 8 units; the raw quantile is deliberately too low.
    var c = QuantileCalibrator(level: 0.9, rate: 0.05)
    var rng = UInt64(12345)
    var misses = 0
    let n = 20_000
    for i in 0..<n {
        rng = rng &* 6364136223846793005 &+ 1442695040888963407
        let u = Float(rng >> 40) / Float(1 << 24)
        let actual = exp(u * 8)
        let predicted = exp(Float(4) + c.offset)  // raw: the median
        if i >= n / 2 && actual > predicted { misses += 1 }
        c.observe(actual: actual, predicted: predicted)
    }
    let missRate = Double(misses) / Double(n / 2)
    #expect(abs(missRate - 0.1) < 0.02)
}

/// Bit patterns, so that a NaN feature compares equal to itself.
private func bits(_ s: SubmitSnapshot?) -> [UInt32]? {
    guard let s else { return nil }
    return (s.features + s.candidates).map { (x: Float) -> UInt32 in x.bitPattern }
}

/// Training from a log or store replays to `.allJobs`: every job completes exactly once, in end-time order, also
/// the ones that end after the last submission (the newest finished jobs), each with the features of its own
/// submission. Until 2026-12-01 the replay stopped at the last submission, so a burst submitted before any job
/// ended gave no completion at all.
@Test func replayToAllJobsCompletesEveryJobOnceWithItsSubmitTimeFeatures() throws {
    // 30 jobs of three users, all submitted before the first one ends; the later ones end first.
    var jobs: [JobRecord] = []
    for i in 0 ..< 30 {
        let n = Int64(i)
        jobs.append(job(n, user: Int32(i % 3), submit: n * 10, runtime: 10_000 - n * 100))
    }
    var atSubmit: [Int64: SubmitSnapshot] = [:]
    var completed: [Int64] = []
    var ends: [Int64] = []
    var history = JobHistory()
    HistoryReplay(jobs: jobs, capacityProcs: 0).run(
        history: &history, completing: .allJobs,
        onCompletion: { (c: HistoryReplay.Completion<Void>) in
            completed.append(c.job.id)
            ends.append(c.job.submit + c.job.wait + c.job.runtime)
            #expect(bits(c.snapshot) == bits(atSubmit[c.job.id]), "job \(c.job.id): snapshot changed after submission")
        },
        onSubmit: { _, j, s in atSubmit[j.id] = s })
    #expect(completed.count == jobs.count)
    #expect(Set(completed) == Set(jobs.map(\.id)))
    #expect(ends == ends.sorted())
    #expect(completed.first == 29 && completed.last == 0)
    // No peeking: the features are those of the online replay, where nothing had finished at any submission.
    let online = snapshots(jobs)
    for j in jobs { #expect(bits(online[j.id]) == bits(atSubmit[j.id]), "job \(j.id)") }
    let last = try #require(atSubmit[29])
    #expect(feature(last, "user_finished_log") == 0)
    // The history learned every end: a later submission of user 2 sees its ten finished jobs, job 2 (the one that
    // ended last, at 9,820 s) as its last.
    let after = history.submit(job(99, user: 2, submit: 20_000, runtime: 1), load: ClusterLoad())
    #expect(after[.last1] == 9_800)
    #expect(abs(feature(after, "user_finished_log") - Float(log1p(10.0))) < 1e-4)

    // `.lastSubmission` (what `evaluate` scores with) reports none of them.
    var reported = 0
    var online2 = JobHistory()
    HistoryReplay(jobs: jobs, capacityProcs: 0).run(
        history: &online2, completing: .lastSubmission,
        onCompletion: { (_: HistoryReplay.Completion<Void>) in reported += 1 }, onSubmit: { _, _, _ in })
    #expect(reported == 0)
}

/// The candidates' log features are bit for bit the logs of every candidate and of its ratio to the request (-20
/// without one), over a replay where candidates repeat (fallbacks) and differ (users with histories).
@Test func candidateLogFeaturesAreTheLogsOfEveryCandidate() throws {
    var jobs: [JobRecord] = []
    for i in 0 ..< 600 {
        jobs.append(job(
            Int64(i), user: Int32(i % 5), submit: Int64(i) * 97, runtime: Int64(30 + (i * 37) % 900),
            req: i % 11 == 0 ? -1 : Int64(600 + (i % 4) * 300), procs: Int32(1 << (i % 3)), app: Int32(i % 3)))
    }
    let all = snapshots(jobs)
    let names = FeatureSchema.submitTime.features
    let k = RuntimeCandidate.count
    let logStart = try #require(names.firstIndex(of: "cand_last1_log"))
    let ratioStart = try #require(names.firstIndex(of: "cand_last1_over_req"))
    var repeated = 0
    for j in jobs {
        let s = try #require(all[j.id])
        let req = j.requestedTime > 0 ? Double(j.requestedTime) : -1
        for (i, v) in s.candidates.enumerated() {
            #expect(s.features[logStart + i].bitPattern == Float(log(Double(v))).bitPattern)
            let ratio: Float = req > 0 ? Float(log(Double(v) / req)) : -20
            #expect(s.features[ratioStart + i].bitPattern == ratio.bitPattern)
        }
        repeated += k - Set(s.candidates).count
    }
    #expect(repeated > 600)  // candidates that repeat another's value are covered
}
