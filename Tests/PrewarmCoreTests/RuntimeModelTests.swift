// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import PrewarmCore
import Testing

/// A workload where each user alternates two kinds of job: short tests (request 1000 s, ~100 s) and
/// production runs (request 8000 s, ~6000 s), in a pseudo-random order. `last2` mixes the modes;
/// the right answer is the user's last job with the same request.
private func bimodalWorkload(jobs n: Int, seed: UInt64 = 7) -> [JobRecord] {
    var s = seed
    func next() -> UInt64 {
        s = s &* 6364136223846793005 &+ 1442695040888963407
        return s >> 33
    }
    var out: [JobRecord] = []
    var t: Int64 = 0
    for i in 0 ..< n {
        t += Int64(next() % 600)
        let user = Int32(next() % 12)
        let production = next() % 2 == 0
        let jitter = Int64(next() % 21) - 10
        let runtime: Int64 = production ? 6000 + jitter * 20 : 100 + jitter
        out.append(JobRecord(
            id: Int64(i), submit: t, wait: 0, runtime: runtime, allocatedProcs: 4, requestedProcs: 4,
            requestedTime: production ? 8000 : 1000, user: user))
    }
    return out
}

private func smallConfiguration() -> ReplayConfiguration {
    var c = ReplayConfiguration()
    c.warmupJobs = 300
    c.retrainEveryJobs = 500
    c.model.forest.treeCount = 16
    return c
}

@Test func selectorLearnsWhichCandidateFitsAndBeatsTheBaselines() throws {
    let result = OnlineReplay.run(
        jobs: bimodalWorkload(jobs: 4000), capacityProcs: 64, configuration: smallConfiguration())
    let acc = Dictionary(uniqueKeysWithValues: result.predictors.map { ($0.name, $0.metrics) })
    let prewarm = try #require(acc["prewarm"])
    let last2 = try #require(acc["last2"])
    #expect(prewarm.accuracy > 0.85, "prewarm \(prewarm.accuracy)")
    #expect(prewarm.accuracy > last2.accuracy + 0.2, "last2 \(last2.accuracy)")
    #expect(result.trainings >= 5)
    let coverage = try #require(prewarm.p90Coverage)
    #expect(coverage > 0.8 && coverage < 0.98)
    // same_request is near-perfect on this workload; the model must find an equally good rule (picking
    // same_request, or scaling the request by the ratio its neighbours show).
    let sameRequest = try #require(acc["same_request"])
    #expect(prewarm.accuracy >= sameRequest.accuracy - 0.01, "same_request \(sameRequest.accuracy)")
    let shares = result.candidateShare.map(\.share).reduce(0, +)
    #expect(abs(shares - 1) < 1e-9)
}

private func trainedModel() throws -> (RuntimeModel, [SubmitSnapshot]) {
    var history = JobHistory()
    var window = TrainingWindow(capacity: 5000)
    var snapshots: [SubmitSnapshot] = []
    HistoryReplay(jobs: bimodalWorkload(jobs: 1500), capacityProcs: 64).run(
        history: &history, completing: .lastSubmission,
        onCompletion: { (c: HistoryReplay.Completion<Void>) in
            window.append(c.snapshot, runtime: Float(c.job.runtime))
        },
        onSubmit: { _, _, s in snapshots.append(s) })
    var p = RuntimeModelParameters()
    p.forest.treeCount = 8
    return (try RuntimeModel.train(window: window, parameters: p, p90Offset: 0.25), snapshots)
}

@Test func predictionsAreOrderedAndPositive() throws {
    let (model, snapshots) = try trainedModel()
    for s in snapshots.suffix(200) {
        let p = model.predict(s)
        #expect(p.point >= 1 && p.p50 >= 1 && p.p90 >= p.p50)
        #expect(p.expectedAccuracy > 0 && p.expectedAccuracy <= 1.0001)
    }
}

@Test func modelFileRoundTripsAndRefusesDamage() throws {
    let (model, snapshots) = try trainedModel()
    let bytes = model.serialize()
    let back = try RuntimeModel(deserializing: bytes)
    #expect(back.p90Offset == 0.25)
    for s in snapshots.suffix(50) { #expect(back.predict(s) == model.predict(s)) }
    #expect(back.serialize() == bytes)

    // Truncation at a spread of lengths, and single-byte flips, are refused.
    for cut in stride(from: 0, to: bytes.count, by: Swift.max(1, bytes.count / 97)) {
        #expect(throws: ModelFileError.self) { try RuntimeModel(deserializing: Array(bytes[..<cut])) }
    }
    for i in stride(from: 0, to: bytes.count, by: Swift.max(1, bytes.count / 61)) {
        var damaged = bytes
        damaged[i] ^= 0x40
        #expect(throws: ModelFileError.self) { try RuntimeModel(deserializing: damaged) }
    }
    // A forest file is not a runtime model.
    #expect(throws: ModelFileError.self) { try RuntimeModel(deserializing: model.forest.serialize()) }
}

@Test func modelTrainedOnAnotherSchemaIsRefused() throws {
    let (model, _) = try trainedModel()
    let (_, payload) = try ModelContainer.unwrap(
        model.serialize(), kind: .runtimeModel, supportedVersions: RuntimeModel.supportedPayloadVersions)
    // Rewrite the schema version field (right after the length-prefixed schema name) and re-wrap with a
    // valid checksum: only the schema check can catch it.
    var r = BinaryReader(payload)
    _ = try r.readString()
    var tampered = payload
    tampered[r.position] &+= 1
    let file = ModelContainer.wrap(kind: .runtimeModel, version: RuntimeModel.payloadVersion, payload: tampered)
    let error = #expect(throws: ModelFileError.self) { try RuntimeModel(deserializing: file) }
    #expect(error?.description.contains("schema") == true)
}

@Test func bestShiftFindsTheMaximumOfExpectedAccuracy() {
    // Σ w·exp(−|r − s|) over three points: the heavier cluster wins.
    var pairs: [(Float, Float)] = [(0, 0.2), (2, 0.4), (2.1, 0.4)]
    let (s, v) = RuntimeModel.bestShiftForTesting(&pairs)
    #expect(s == 2 || s == 2.1)
    var brute = -1.0
    for step in 0 ... 300 {
        let x = Double(step) / 100 - 0.5
        brute = Swift.max(brute, RuntimeModel.scoreForTesting(pairs, at: x))
    }
    #expect(v >= brute - 1e-9)
}

/// Users whose runtimes change regime every few dozen jobs at the same request (×1 and ×8 of their base): a
/// user's last runtimes are what tells the regime, so a history that misses recent completions predicts worse.
private func driftingWorkload(jobs n: Int, seed: UInt64 = 11) -> [JobRecord] {
    var s = seed
    func next() -> UInt64 {
        s = s &* 6364136223846793005 &+ 1442695040888963407
        return s >> 33
    }
    var counts = [Int](repeating: 0, count: 10)
    var out: [JobRecord] = []
    var t: Int64 = 0
    for i in 0 ..< n {
        t += Int64(next() % 300)
        let user = Int(next() % 10)
        counts[user] += 1
        let base = Int64(200 + 100 * user)
        let regime: Int64 = (counts[user] / 40) % 2 == 0 ? 1 : 8
        let runtime = base * regime + Int64(next() % 21) - 10
        out.append(JobRecord(
            id: Int64(i), submit: t, wait: 0, runtime: runtime, allocatedProcs: 4, requestedProcs: 4,
            requestedTime: 20_000, user: Int32(user)))
    }
    return out
}

/// `--controller-view`: the profiler's history (published with each model, then submissions only) equals the
/// live one when it takes the completions before every submission (the two predictions are then identical), and
/// predicts worse than it when models (and so histories) are published rarely on a workload where recent runtimes
/// matter; a refresh of the history between publications recovers most of that.
@Test func controllerViewScoresTheProfilersStaleHistory() throws {
    var c = smallConfiguration()
    c.retrainEveryJobs = 1500
    c.retrainEverySeconds = 1 << 40
    let jobs = driftingWorkload(jobs: 5000)
    let everySubmission = OnlineReplay.run(
        jobs: jobs, capacityProcs: 64, configuration: c, controllerView: true, controllerRefreshSeconds: 1)
    let same = try #require(everySubmission.controllerView)
    #expect(same.live == same.controller)
    #expect(same.live.jobs > 3000)

    let published = try #require(
        OnlineReplay.run(jobs: jobs, capacityProcs: 64, configuration: c, controllerView: true).controllerView)
    let refreshed = try #require(
        OnlineReplay.run(jobs: jobs, capacityProcs: 64, configuration: c, controllerView: true,
                         controllerRefreshSeconds: 3600).controllerView)
    // The live figures do not depend on the controller's history.
    #expect(published.live == same.live && refreshed.live == same.live)
    #expect(published.controller.accuracy < published.live.accuracy - 0.05,
            "live \(published.live.accuracy), controller \(published.controller.accuracy)")
    #expect(refreshed.controller.accuracy > published.controller.accuracy,
            "hourly \(refreshed.controller.accuracy), published only \(published.controller.accuracy)")
    print("controller view: live \(published.live.accuracy), published only \(published.controller.accuracy), "
        + "hourly refresh \(refreshed.controller.accuracy)")
    // Without the option, nothing is computed.
    #expect(OnlineReplay.run(jobs: Array(jobs.prefix(500)), capacityProcs: 64, configuration: c).controllerView == nil)
}
