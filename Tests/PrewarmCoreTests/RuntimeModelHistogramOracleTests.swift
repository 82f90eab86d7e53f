// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
@testable import PrewarmCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The histogram prediction as it was before its bins were marked in byte maps and its shift scan read
/// precomputed terms (2026-12, issue #4): one bitmap of non-empty bins per candidate, the non-empty bins
/// collected, then the scan with `exp(±r)` from the tables. Kept here as the oracle of that change, which must
/// not change a single bit of any prediction: ``RuntimeModel/predict(_:p90Offset:reuse:)`` without the outcome
/// caches must equal it exactly (`==` on every Float of the prediction).
private func bitmapPredict(_ model: RuntimeModel, _ snapshot: SubmitSnapshot) -> RuntimePrediction {
    let k = RuntimeCandidate.count
    var fallback = RuntimePrediction(
        point: snapshot.candidates.count == k ? snapshot[.sameRequest] : 3600, p50: 0, p90: 0,
        candidate: .sameRequest, scale: 1, expectedAccuracy: 0)
    fallback.p50 = fallback.point
    fallback.p90 = fallback.point * 4
    let forest = model.forest
    guard snapshot.candidates.count == k, snapshot.features.count == model.schema.count, forest.outputCount == k,
        forest.treeCount > 0, snapshot.features.count >= forest.featureCount,
        model.leaves.matches(leaves: forest.leafCount, outputs: k)
    else { return fallback }
    let trees = forest.treeCount
    let bins = LeafTable.bins
    let words = bins / 64
    // The neighbours straight from the forest (not from the prediction's leaf records): per tree in order, the
    // leaf `x` reaches, its mean outputs and its in-bag rows with their weights, as the forest weighs them.
    var leafOf = [Int](repeating: 0, count: trees)
    for t in 0 ..< trees {
        var i = forest.treeNodeStart[t]
        while !forest.nodes[i].isLeaf {
            let node = forest.nodes[i]
            i = snapshot.features[Int(node.feature)] <= node.threshold
                ? i + 1 : forest.treeNodeStart[t] + Int(node.right)
        }
        leafOf[t] = forest.treeLeafStart[t] + Int(forest.nodes[i].leaf)
    }
    var neighbours: [[(row: Int, weight: Double)]] = []
    var total = 0
    for t in 0 ..< trees {
        let leaf = leafOf[t]
        let base = forest.treeSampleStart[t]
        let first = base + Int(forest.leafSampleOffset[leaf])
        let end = leaf + 1 < forest.treeLeafStart[t + 1]
            ? base + Int(forest.leafSampleOffset[leaf + 1]) : forest.treeSampleStart[t + 1]
        var multiplicity = 0
        for i in first ..< max(first, end) { multiplicity += Int(forest.sampleCounts[i]) }
        var list: [(row: Int, weight: Double)] = []
        if multiplicity > 0 {
            let unit = 1 / (Double(multiplicity) * Double(trees))
            for i in first ..< end {
                let row = Int(forest.sampleRows[i])
                guard row >= 0, row < forest.trainingRows, forest.sampleCounts[i] > 0 else { continue }
                list.append((row, Double(Float(Double(forest.sampleCounts[i]) * unit))))
            }
        }
        total += list.count
        neighbours.append(list)
    }
    guard total > 0 else { return fallback }
    func bin(_ row: Int, _ j: Int) -> Int {
        Int(LeafTable.quantize(model.logRatios[row * k + j])) + LeafTable.binOffset
    }
    var means = [Float](repeating: 0, count: k)
    for t in 0 ..< trees {
        for o in 0 ..< k { means[o] += forest.leafValues[leafOf[t] * k + o] }
    }
    let meanScale = 1 / Float(trees)
    for o in 0 ..< k { means[o] *= meanScale }
    var ranked = [Int](repeating: 0, count: k)
    for j in 0 ..< k {
        var i = j
        while i > 0 && means[j] > means[ranked[i - 1]] {
            ranked[i] = ranked[i - 1]
            i -= 1
        }
        ranked[i] = j
    }
    let refine = model.parameters.refineScale
    let considered = refine ? min(RuntimeModel.refinedCandidates, k) : 1
    var best = -1.0
    var bestK = ranked[0]
    var bestShift = 0.0
    var q50: Float = 0
    var q90: Float = 0
    for slot in 0 ..< considered {
        let j = ranked[slot]
        var histogram = [Double](repeating: 0, count: bins)
        var map = [UInt64](repeating: 0, count: words)
        for list in neighbours {
            for (row, weight) in list {
                let b = bin(row, j) & (bins - 1)
                histogram[b] += weight
                map[b >> 6] |= 1 << UInt64(b & 63)
            }
        }
        var nonEmpty: [Int] = []
        var sum = 0.0
        var above = 0.0
        for word in 0 ..< words {
            var b = map[word]
            while b != 0 {
                let low6 = b.trailingZeroBitCount
                b &= b - 1
                let p = word << 6 | low6
                let w = histogram[p]
                nonEmpty.append(p)
                sum += w
                above += w * (BinExponent.highDown[word] * BinExponent.lowDown[low6])
            }
        }
        var shift = 0.0
        var score = Double(means[j])
        if refine {
            var below = 0.0
            var bestS = 0.0
            var bestV = -1.0
            for p in nonEmpty {
                let w = histogram[p]
                let up = BinExponent.high[p >> 6] * BinExponent.low[p & 63]
                let down = BinExponent.highDown[p >> 6] * BinExponent.lowDown[p & 63]
                below += w * up
                above -= w * down
                let v = down * below + up * max(above, 0)
                if v > bestV {
                    bestV = v
                    bestS = Double(LeafTable.value(p - LeafTable.binOffset))
                }
            }
            if !bestV.isFinite {
                var s = 0.0
                for p in nonEmpty { s += histogram[p] * exp(-abs(Double(LeafTable.value(p - LeafTable.binOffset)))) }
                (shift, score) = (0, s)
            } else {
                (shift, score) = (bestS, bestV)
            }
        }
        if score > best {
            best = score
            bestK = j
            bestShift = shift
            func quantile(_ level: Double) -> Float {
                let target = level * sum - 1e-9 * sum
                var acc = 0.0
                for p in nonEmpty {
                    acc += histogram[p]
                    if acc >= target { return LeafTable.value(p - LeafTable.binOffset) }
                }
                return LeafTable.value(nonEmpty[nonEmpty.count - 1] - LeafTable.binOffset)
            }
            q50 = nonEmpty.isEmpty ? 0 : quantile(0.5)
            q90 = nonEmpty.isEmpty ? 0 : quantile(0.9)
        }
    }
    let c = Double(snapshot.candidates[bestK])
    let offset = Double(model.p90Offset)
    let point = Float(min(c * exp(bestShift), 1e9))
    return RuntimePrediction(
        point: max(point, 1),
        p50: max(1, Float(min(c * exp(Double(q50)), 1e9))),
        p90: max(1, Float(min(c * exp(Double(q90) + offset), 1e9))),
        candidate: RuntimeCandidate(rawValue: bestK) ?? .sameRequest,
        scale: Float(exp(bestShift)),
        expectedAccuracy: Float(best))
}

/// A workload of `n` jobs of `users` users whose runtimes spread over several orders of magnitude around their
/// requests (wide log-ratio histograms, far bins, ties), in submission order.
private func spreadWorkload(jobs n: Int, users: Int, seed: UInt64) -> [JobRecord] {
    var g = SplitMix64(seed: seed)
    var out: [JobRecord] = []
    var t: Int64 = 0
    for i in 0 ..< n {
        t += Int64(g.next() % 600)
        let user = Int32(g.next() % UInt64(users))
        let request: Int64 = [60, 900, 3600, 14_400, 86_400, 604_800][Int(g.next() % 6)]
        let mode = g.next() % 8
        let runtime: Int64 = mode == 0
            ? 1 + Int64(g.next() % 5)
            : mode < 3 ? request : max(1, Int64(Double(request) * Double(g.next() % 1000) / 700))
        let procs = Int32(1 << (g.next() % 8))
        out.append(JobRecord(
            id: Int64(i), submit: t, wait: Int64(g.next() % 300), runtime: runtime, allocatedProcs: procs,
            requestedProcs: procs, requestedTime: request, user: user, application: Int32(g.next() % 5)))
    }
    return out
}

@Test(arguments: [(100, true, true, 7 as UInt64), (40, true, false, 8), (9, true, true, 9), (30, false, true, 10)])
func histogramPredictionEqualsTheBitmapOracleBitForBit(trees: Int, refine: Bool, bootstrap: Bool, seed: UInt64)
    throws
{
    var history = JobHistory()
    var window = TrainingWindow(capacity: 1 << 20)
    var snapshots: [SubmitSnapshot] = []
    HistoryReplay(jobs: spreadWorkload(jobs: 3000, users: 30, seed: seed), capacityProcs: 512).run(
        history: &history, completing: .lastSubmission,
        onCompletion: { (c: HistoryReplay.Completion<Void>) in
            guard c.job.id < 2000, c.job.runtime > 0 else { return }
            window.append(SubmitModel.masked(c.snapshot), runtime: Float(c.job.runtime))
        },
        onSubmit: { _, _, s in snapshots.append(SubmitModel.masked(s)) })
    var p = RuntimeModelParameters()
    p.forest.treeCount = trees
    p.forest.bootstrap = bootstrap
    p.refineScale = refine
    let model = try RuntimeModel.train(window: window, parameters: p, p90Offset: 0.25)
    var g = SplitMix64(seed: seed &+ 100)
    var differing = 0
    var cases = 0
    for s in snapshots {
        // The job, and a copy with a few features moved anywhere (other leaves, NaN, infinities).
        var moved = s
        for _ in 0 ..< 3 {
            let f = Int(g.next() % UInt64(moved.features.count))
            let special: [Float] = [.nan, .infinity, -.infinity, 0, -1]
            moved.features[f] = g.next() % 4 == 0
                ? special[Int(g.next() % 5)] : Float(Double.random(in: 0 ..< 1, using: &g) * 50 - 5)
        }
        for x in [s, moved] {
            cases += 1
            let fresh = model.predict(x, p90Offset: nil, reuse: false)
            let oracle = bitmapPredict(model, x)
            if fresh != oracle || fresh.point.bitPattern != oracle.point.bitPattern
                || fresh.expectedAccuracy.bitPattern != oracle.expectedAccuracy.bitPattern
            {
                differing += 1
            }
            if model.predict(x) != oracle { differing += 1 }  // through the outcome caches too
        }
    }
    print("histogram prediction vs bitmap oracle (\(trees) trees, refine \(refine), bootstrap \(bootstrap)): "
        + "\(cases) predictions, \(differing) differing")
    #expect(cases == 6000)
    #expect(differing == 0)
}
