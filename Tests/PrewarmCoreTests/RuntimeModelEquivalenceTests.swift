// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
@testable import PrewarmCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The straightforward prediction (gather neighbours, sort them by row to merge duplicates, build and sort
/// (log-ratio, weight) pairs per candidate), with the log-ratios on the grid of ``LeafTable`` (steps of 1/128),
/// as the fast path sees them. Kept here as the oracle: the fast ``RuntimeModel/predict(_:p90Offset:)`` (per-leaf
/// records, histograms instead of sorts) must predict the same, up to floating-point summation order.
private func referencePredict(_ model: RuntimeModel, _ snapshot: SubmitSnapshot) -> RuntimePrediction {
    let k = RuntimeCandidate.count
    var fallback = RuntimePrediction(
        point: snapshot.candidates.count == k ? snapshot[.sameRequest] : 3600, p50: 0, p90: 0,
        candidate: .sameRequest, scale: 1, expectedAccuracy: 0)
    fallback.p50 = fallback.point
    fallback.p90 = fallback.point * 4
    guard snapshot.candidates.count == k, snapshot.features.count == model.schema.count else { return fallback }
    var gathered: [(row: Int32, weight: Float)] = []
    var means = [Float](repeating: 0, count: k)
    snapshot.features.withUnsafeBufferPointer { x in
        model.forest.forEachNeighbour(x) { row, w in gathered.append((row, w)) }
        means.withUnsafeMutableBufferPointer { model.forest.predict(x, into: $0) }
    }
    guard !gathered.isEmpty else { return fallback }
    // Every (row, weight) pair on its own (equal log-ratios are grouped by the sorts below).
    let rows = gathered.map(\.row)
    let weights = gathered.map(\.weight)
    let ranked = (0 ..< k).sorted { means[$0] > means[$1] }
    var best = -1.0
    var bestK = ranked.first ?? RuntimeCandidate.sameRequest.rawValue
    var bestShift = 0.0
    var pairs: [(Float, Float)] = []
    let refine = model.parameters.refineScale
    for j in ranked.prefix(refine ? RuntimeModel.refinedCandidates : 1) {
        pairs.removeAll(keepingCapacity: true)
        for (i, r) in rows.enumerated() { pairs.append((quantized(model.logRatios[Int(r) * k + j]), weights[i])) }
        let (shift, score) = refine ? RuntimeModel.bestShiftForTesting(&pairs) : (0, Double(means[j]))
        if score > best {
            best = score
            bestK = j
            bestShift = shift
        }
    }
    pairs.removeAll(keepingCapacity: true)
    for (i, r) in rows.enumerated() { pairs.append((quantized(model.logRatios[Int(r) * k + bestK]), weights[i])) }
    pairs.sort { $0.0 < $1.0 }
    var total = 0.0
    for (_, w) in pairs { total += Double(w) }
    let q = [0.5, 0.9].map { level -> Float in
        var acc = 0.0
        for (v, w) in pairs {
            acc += Double(w)
            if acc >= level * total - 1e-9 * total { return v }
        }
        return pairs[pairs.count - 1].0
    }
    let c = Double(snapshot.candidates[bestK])
    let offset = Double(model.p90Offset)
    return RuntimePrediction(
        point: max(Float(min(c * exp(bestShift), 1e9)), 1),
        p50: max(1, Float(min(c * exp(Double(q[0])), 1e9))),
        p90: max(1, Float(min(c * exp(Double(q[1]) + offset), 1e9))),
        candidate: RuntimeCandidate(rawValue: bestK) ?? .sameRequest,
        scale: Float(exp(bestShift)),
        expectedAccuracy: Float(best))
}

/// A log-ratio on the prediction grid.
private func quantized(_ r: Float) -> Float { LeafTable.value(Int(LeafTable.quantize(r))) }

/// A varied workload: 40 users, each with a few job kinds (request, processors, application) whose runtimes
/// are multi-modal (crashes, tests, full runs) with noise, so that neighbour sets, ties and candidates vary.
private func variedWorkload(jobs n: Int, seed: UInt64) -> [JobRecord] {
    var s = seed
    func next() -> UInt64 {
        s = s &* 6364136223846793005 &+ 1442695040888963407
        return s >> 33
    }
    var out: [JobRecord] = []
    var t: Int64 = 0
    for i in 0 ..< n {
        t += Int64(next() % 900)
        let user = Int32(next() % 40)
        let kind = Int64(next() % 3)
        let request: Int64 = [900, 3600, 14_400, 86_400][Int((Int64(user) + kind) % 4)]
        let mode = next() % 10
        let full = Double(request) * (0.2 + 0.7 * Double((Int64(user) * 7 + kind * 3) % 10) / 10)
        let runtime: Int64 = mode == 0 ? Int64(next() % 60) + 1 : mode < 3
            ? Int64(full * 0.1) + Int64(next() % 50) : min(request, Int64(full) + Int64(next() % 300))
        let procs = Int32(1 << ((Int64(user) + kind) % 6))
        out.append(JobRecord(
            id: Int64(i), submit: t, wait: Int64(next() % 600), runtime: runtime, allocatedProcs: procs,
            requestedProcs: procs, requestedTime: request, user: user, application: Int32(kind)))
    }
    return out
}

/// Trains on the first `trainJobs` of the workload and returns the model with the (masked) snapshots of all jobs.
private func trainedOnVaried(
    trees: Int, refine: Bool, bootstrap: Bool, jobs: Int = 4000, trainJobs: Int = 2500
) throws -> (RuntimeModel, [SubmitSnapshot]) {
    var history = JobHistory()
    var window = TrainingWindow(capacity: 1 << 20)
    var snapshots: [SubmitSnapshot] = []
    HistoryReplay(jobs: variedWorkload(jobs: jobs, seed: 11), capacityProcs: 256).run(
        history: &history, completing: .lastSubmission,
        onCompletion: { (c: HistoryReplay.Completion<Void>) in
            guard c.job.id < trainJobs, c.job.runtime > 0 else { return }
            window.append(SubmitModel.masked(c.snapshot), runtime: Float(c.job.runtime))
        },
        onSubmit: { _, _, s in snapshots.append(SubmitModel.masked(s)) })
    var p = RuntimeModelParameters()
    p.forest.treeCount = trees
    p.forest.bootstrap = bootstrap
    p.refineScale = refine
    return (try RuntimeModel.train(window: window, parameters: p, p90Offset: 0.3), snapshots)
}

private func relativeDifference(_ a: Float, _ b: Float) -> Float {
    a == b ? 0 : abs(a - b) / max(abs(a), abs(b))
}

@Test(arguments: [(24, true, false), (16, true, true), (12, false, false)])
func fastPredictionMatchesTheReference(trees: Int, refine: Bool, bootstrap: Bool) throws {
    let (model, snapshots) = try trainedOnVaried(trees: trees, refine: refine, bootstrap: bootstrap)
    #expect(snapshots.count == 4000)
    var worst: Float = 0
    var identical = 0
    var mismatched = 0
    for s in snapshots {
        let fast = model.predict(s)
        let slow = referencePredict(model, s)
        if fast == slow { identical += 1 }
        let d = [
            relativeDifference(fast.point, slow.point), relativeDifference(fast.p50, slow.p50),
            relativeDifference(fast.p90, slow.p90), relativeDifference(fast.scale, slow.scale),
            relativeDifference(fast.expectedAccuracy, slow.expectedAccuracy),
        ].max() ?? 0
        worst = max(worst, d)
        if fast.candidate != slow.candidate || d > 1e-5 { mismatched += 1 }
    }
    print("fast vs reference (\(trees) trees, refine \(refine), bootstrap \(bootstrap)): \(snapshots.count) "
        + "predictions, \(identical) bit-identical, max relative difference \(worst), \(mismatched) mismatched")
    #expect(mismatched == 0)
    #expect(worst <= 1e-5)
}

/// The fast walk places the heavier child of a split next to it and tests the negated feature for a split whose
/// right child comes first: features exactly at a threshold, just above or below it, NaN and ±∞ must still go
/// where the forest sends them.
@Test func fastPredictionMatchesTheReferenceAtThresholdsAndNaN() throws {
    let (model, snapshots) = try trainedOnVaried(trees: 16, refine: true, bootstrap: false, jobs: 1600, trainJobs: 1000)
    let splits = model.forest.nodes.filter { !$0.isLeaf }
    #expect(!splits.isEmpty)
    var state: UInt64 = 7
    func next() -> Int {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Int(state >> 33)
    }
    var identical = 0
    var cases = 0
    for s in snapshots {
        var edited = s
        for _ in 0 ..< 4 {
            let node = splits[next() % splits.count]
            let f = Int(node.feature)
            guard f < edited.features.count else { continue }
            let t = node.threshold
            edited.features[f] = [t, t, t.nextUp, t.nextDown, .nan, .infinity, -.infinity][next() % 7]
        }
        let fast = model.predict(edited)
        let slow = referencePredict(model, edited)
        cases += 1
        if fast == slow { identical += 1 }
    }
    print("fast vs reference at thresholds, NaN and infinities: \(cases) predictions, \(identical) bit-identical")
    #expect(cases > 1000)
    #expect(identical == cases)
}

@Test func fastPredictionIsSafeFromSeveralThreadsAndAfterDecoding() throws {
    let (model, snapshots) = try trainedOnVaried(trees: 8, refine: true, bootstrap: false, jobs: 1200, trainJobs: 800)
    let decoded = try RuntimeModel(deserializing: model.serialize())
    let expected = snapshots.map { referencePredict(model, $0) }
    let results = UnsafeMutableBufferPointer<RuntimePrediction?>.allocate(capacity: 4 * snapshots.count)
    results.initialize(repeating: nil)
    defer { results.deallocate() }
    let box = UncheckedBox(results)
    var threads: [pthread_t] = []
    for t in 0 ..< 4 {
        var thread = pthread_t()
        let context = ThreadContext(body: {
            let m = t % 2 == 0 ? model : decoded
            for (i, s) in snapshots.enumerated() { box.value[t * snapshots.count + i] = m.predict(s) }
        })
        let raw = Unmanaged.passRetained(context).toOpaque()
        #expect(pthread_create(&thread, nil, { raw in
            guard let raw else { return nil }
            Unmanaged<ThreadContext>.fromOpaque(raw).takeRetainedValue().body()
            return nil
        }, raw) == 0)
        threads.append(thread)
    }
    for thread in threads { pthread_join(thread, nil) }
    for t in 0 ..< 4 {
        for (i, e) in expected.enumerated() {
            let p = try #require(results[t * snapshots.count + i])
            #expect(p.candidate == e.candidate)
            #expect(relativeDifference(p.point, e.point) <= 1e-5 && relativeDifference(p.p90, e.p90) <= 1e-5)
        }
    }
}

private final class ThreadContext {
    let body: () -> Void
    init(body: @escaping () -> Void) { self.body = body }
}

private struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// Jobs that reach the same leaves as a recent prediction take its outcome from the workspace's cache: the same
/// predictions as computed afresh, for jobs alike and different, in bursts and interleaved.
@Test func recalledOutcomesEqualFreshPredictions() throws {
    let (model, snapshots) = try trainedOnVaried(trees: 16, refine: true, bootstrap: true)
    // Bursts of the same job, then the whole workload interleaved with earlier jobs (hits and misses).
    var order: [Int] = []
    for i in stride(from: 0, to: 400, by: 40) { order += Array(repeating: i, count: 5) }
    for i in 0 ..< 1000 { order += [i, (i * 7) % 50] }
    var differing = 0
    for i in order where model.predict(snapshots[i]) != model.predict(snapshots[i], p90Offset: nil, reuse: false) {
        differing += 1
    }
    #expect(differing == 0)
    // The bursts alone repeat 40 leaf lists; jobs 0..<50 come back every few predictions.
    #expect(model.workspaces.outcomeHits() >= 40)
    print("recalled outcomes: \(model.workspaces.outcomeHits()) hits over \(order.count) predictions")
}

/// A value with the same split rank as `v` on feature `f`: a random point of the interval between the two
/// thresholds around `v` (or NaN's own place: above all of them).
private func sameRank(_ v: Float, feature f: Int, in table: LeafTable, using g: inout SplitMix64) -> Float {
    let values = table.splitValues[Int(table.splitStarts[f]) ..< Int(table.splitStarts[f + 1])]
    if v.isNaN { return Double.random(in: 0 ..< 1, using: &g) < 0.5 ? .nan : (values.last.map { $0.nextUp } ?? v) }
    guard let above = values.firstIndex(where: { v <= $0 }) else {
        return (values.last ?? v) + Float(Double.random(in: 0 ..< 1, using: &g)) * 10 + 1  // above every threshold
    }
    let hi = values[above]  // v ≤ hi; the point must stay ≤ hi and above the threshold below
    let lo = above > values.startIndex ? values[above - 1] : hi - 10
    let u = Float(Double.random(in: 0 ..< 1, using: &g))
    let p = lo + (hi - lo) * u
    return p > lo && p <= hi ? p : hi
}

@Test func equalSplitRanksReachEqualLeaves() throws {
    let (model, snapshots) = try trainedOnVaried(trees: 16, refine: true, bootstrap: true, jobs: 1500, trainJobs: 1000)
    let table = model.leaves
    let d = table.features
    #expect(table.splitStarts.count == d + 1)
    #expect(!table.splitValues.isEmpty)
    var g = SplitMix64(seed: 7)
    var ranksA = [Int](repeating: 0, count: d), ranksB = ranksA
    var leavesA = [Int](repeating: 0, count: table.trees), leavesB = leavesA
    var moved = 0
    for s in snapshots.prefix(600) {
        var y = s.features
        for f in 0 ..< d where Double.random(in: 0 ..< 1, using: &g) < 0.5 {
            y[f] = sameRank(y[f], feature: f, in: table, using: &g)
            if y[f] != s.features[f] { moved += 1 }
        }
        s.features.withUnsafeBufferPointer { x in
            ranksA.withUnsafeMutableBufferPointer { table.splitRanks(x.baseAddress!, into: $0.baseAddress!) }
            leavesA.withUnsafeMutableBufferPointer { _ = table.reachedRecords(x.baseAddress!, into: $0.baseAddress!) }
        }
        y.withUnsafeBufferPointer { x in
            ranksB.withUnsafeMutableBufferPointer { table.splitRanks(x.baseAddress!, into: $0.baseAddress!) }
            leavesB.withUnsafeMutableBufferPointer { _ = table.reachedRecords(x.baseAddress!, into: $0.baseAddress!) }
        }
        #expect(ranksA == ranksB)
        #expect(leavesA == leavesB)
    }
    #expect(moved > 1000)
    // And the converse direction of the key: a value moved across a threshold changes the rank.
    let f = (0 ..< d).first { table.splitStarts[$0 + 1] > table.splitStarts[$0] }!
    let t = table.splitValues[Int(table.splitStarts[f])]
    var below = snapshots[0].features, above = below
    below[f] = t
    above[f] = t.nextUp
    below.withUnsafeBufferPointer { x in
        ranksA.withUnsafeMutableBufferPointer { table.splitRanks(x.baseAddress!, into: $0.baseAddress!) }
    }
    above.withUnsafeBufferPointer { x in
        ranksB.withUnsafeMutableBufferPointer { table.splitRanks(x.baseAddress!, into: $0.baseAddress!) }
    }
    #expect(ranksA[f] == 0 && ranksB[f] == 1)
    #expect(below.withUnsafeBufferPointer { x in ranksA.withUnsafeBufferPointer { table.hasSplitRanks(x.baseAddress!, $0) } })
    #expect(!above.withUnsafeBufferPointer { x in ranksA.withUnsafeBufferPointer { table.hasSplitRanks(x.baseAddress!, $0) } })
}

/// The interval check of a recent job's ranks accepts exactly the jobs with those ranks: jobs moved within their
/// intervals, one feature moved anywhere (NaN too), other jobs.
@Test func splitRankCheckAgreesWithTheRanks() throws {
    let (model, snapshots) = try trainedOnVaried(trees: 16, refine: true, bootstrap: true, jobs: 1500, trainJobs: 1000)
    let table = model.leaves
    let d = table.features
    var g = SplitMix64(seed: 11)
    func ranks(_ x: [Float]) -> [Int] {
        var r = [Int](repeating: -1, count: d)
        x.withUnsafeBufferPointer { x in r.withUnsafeMutableBufferPointer { table.splitRanks(x.baseAddress!, into: $0.baseAddress!) } }
        return r
    }
    var accepted = 0, refused = 0
    for (i, s) in snapshots.prefix(400).enumerated() {
        let key = ranks(s.features)
        var within = s.features, moved = s.features
        for f in 0 ..< d where Double.random(in: 0 ..< 1, using: &g) < 0.5 {
            within[f] = sameRank(within[f], feature: f, in: table, using: &g)
        }
        let f = Int(g.next() % UInt64(d))
        let special: [Float] = [.nan, .infinity, -.infinity]
        moved[f] = i % 7 < 3 ? special[i % 7] : Float(Double.random(in: 0 ..< 1, using: &g) * 40 - 10)
        // The profiler's form of the check: the ranks' intervals kept beside the outcome.
        var intervals = SplitIntervals()
        let outcome = PredictionOutcome(candidate: 1, shift: 0.5, q50: 0, q90: 1, score: 0.7)
        key.withUnsafeBufferPointer { intervals.store(outcome, ranks: $0, table: table) }
        defer { intervals.deallocate() }
        for y in [s.features, within, moved, snapshots[(i * 13 + 5) % snapshots.count].features] {
            let check = y.withUnsafeBufferPointer { x in key.withUnsafeBufferPointer { table.hasSplitRanks(x.baseAddress!, $0) } }
            #expect(check == (ranks(y) == key))
            let recalled = y.withUnsafeBufferPointer { intervals.recall($0.baseAddress!, count: d) }
            #expect(recalled == (check ? outcome : nil))
            if check { accepted += 1 } else { refused += 1 }
        }
        // Keys of another length or out of range never match.
        #expect(!s.features.withUnsafeBufferPointer { x in Array(key.dropLast()).withUnsafeBufferPointer { table.hasSplitRanks(x.baseAddress!, $0) } })
        var wild = key
        wild[f] = Int.max
        #expect(!s.features.withUnsafeBufferPointer { x in wild.withUnsafeBufferPointer { table.hasSplitRanks(x.baseAddress!, $0) } })
        var refusedStore = SplitIntervals()
        wild.withUnsafeBufferPointer { refusedStore.store(outcome, ranks: $0, table: table) }
        #expect(refusedStore.outcome == nil)
        #expect(s.features.withUnsafeBufferPointer { refusedStore.recall($0.baseAddress!, count: d) } == nil)
        refusedStore.deallocate()
    }
    #expect(accepted >= 800 && refused >= 300)
    print("split-rank check: \(accepted) accepted, \(refused) refused")
}

@Test func outcomesRecalledBySplitRanksEqualFreshPredictions() throws {
    let (model, snapshots) = try trainedOnVaried(trees: 16, refine: true, bootstrap: true, jobs: 1500, trainJobs: 1000)
    var g = SplitMix64(seed: 3)
    var differing = 0
    var predictions = 0
    // Bursts: each job, then copies with features moved within their split intervals (same ranks: recalled
    // before the walk) and with one feature moved anywhere (a rank miss, maybe a leaf hit).
    for s in snapshots.prefix(300) {
        var burst = [s]
        for _ in 0 ..< 3 {
            var c = s
            for f in 0 ..< model.leaves.features where Double.random(in: 0 ..< 1, using: &g) < 0.3 {
                c.features[f] = sameRank(c.features[f], feature: f, in: model.leaves, using: &g)
            }
            burst.append(c)
        }
        var c = s
        c.features[Int(g.next() % UInt64(model.leaves.features))] = Float(Double.random(in: 0 ..< 1, using: &g) * 20 - 5)
        burst.append(c)
        for b in burst {
            predictions += 1
            if model.predict(b) != model.predict(b, p90Offset: nil, reuse: false) { differing += 1 }
        }
    }
    #expect(differing == 0)
    #expect(model.workspaces.rankHits() >= 600)
    print("split-rank recalls: \(model.workspaces.rankHits()) of \(predictions) predictions")
}
