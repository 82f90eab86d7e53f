// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

#if canImport(Glibc)
import Glibc
#endif

/// A runtime prediction for one job.
public struct RuntimePrediction: Sendable, Equatable {
    /// Point prediction in seconds: the value with the highest expected accuracy.
    public var point: Float
    /// Median and calibrated 90th percentile, seconds.
    public var p50: Float
    public var p90: Float
    /// The candidate the point prediction is built on, and the scale applied to it.
    public var candidate: RuntimeCandidate
    public var scale: Float
    /// Expected accuracy of `point` under the model's conditional distribution.
    public var expectedAccuracy: Float

    public init(
        point: Float, p50: Float, p90: Float, candidate: RuntimeCandidate, scale: Float, expectedAccuracy: Float
    ) {
        self.point = point
        self.p50 = p50
        self.p90 = p90
        self.candidate = candidate
        self.scale = scale
        self.expectedAccuracy = expectedAccuracy
    }
}

/// Hyper-parameters of the runtime model.
public struct RuntimeModelParameters: Sendable, Equatable {
    /// The forest. Its targets are the accuracies of every ``RuntimeCandidate`` on each training job.
    public var forest: ForestParameters
    /// Scale the chosen candidate to the value of highest expected accuracy among its neighbours.
    public var refineScale: Bool

    public init(forest: ForestParameters = RuntimeModelParameters.defaultForest, refineScale: Bool = true) {
        self.forest = forest
        self.refineScale = refineScale
    }

    /// Defaults tuned on the Parallel Workloads Archive traces (see README).
    public static let defaultForest: ForestParameters = {
        var p = ForestParameters()
        p.treeCount = 64
        p.minSamplesLeaf = 8
        p.sampleFraction = 0.5
        p.seed = 20_261_122
        return p
    }()
}

/// Finished jobs the model learns from: snapshot at submission plus the actual runtime.
///
/// Keeps at most `capacity` most recent rows (a sliding window: user behaviour drifts).
public struct TrainingWindow: Sendable {
    public let capacity: Int
    private(set) var features: [Float] = []
    private(set) var candidates: [Float] = []
    private(set) var runtimes: [Float] = []
    private var start = 0  // ring start when full
    public private(set) var count = 0

    public init(capacity: Int) {
        self.capacity = Swift.max(1, capacity)
    }

    /// Adds a finished job. Runtime must be > 0 (others are ignored).
    public mutating func append(_ snapshot: SubmitSnapshot, runtime: Float) {
        guard runtime > 0, snapshot.candidates.count == RuntimeCandidate.count,
            snapshot.features.count == FeatureSchema.submitTime.count
        else { return }
        if count < capacity {
            features.append(contentsOf: snapshot.features)
            candidates.append(contentsOf: snapshot.candidates)
            runtimes.append(runtime)
            count += 1
        } else {
            let d = FeatureSchema.submitTime.count
            let k = RuntimeCandidate.count
            for j in 0..<d { features[start * d + j] = snapshot.features[j] }
            for j in 0..<k { candidates[start * k + j] = snapshot.candidates[j] }
            runtimes[start] = runtime
            start = (start + 1) % capacity
        }
    }

    /// Rows in chronological order as (features, candidates, runtimes) flat arrays.
    func ordered() -> (features: [Float], candidates: [Float], runtimes: [Float]) {
        guard count == capacity, start > 0 else { return (features, candidates, runtimes) }
        let d = FeatureSchema.submitTime.count
        let k = RuntimeCandidate.count
        return (
            Array(features[(start * d)...] + features[..<(start * d)]),
            Array(candidates[(start * k)...] + candidates[..<(start * k)]),
            Array(runtimes[start...] + runtimes[..<start])
        )
    }
}

/// The runtime model: a multi-output random forest that predicts, for a job, how accurate each
/// history-based ``RuntimeCandidate`` will be, plus the conditional distribution of the
/// ratio actual/candidate among the job's forest neighbours (quantile regression forest weights).
///
/// The point prediction is the candidate (optionally scaled) with the highest expected accuracy,
/// which targets the accuracy metric directly instead of the mean of log runtime, which lands
/// between the modes of a user's runtimes.
public struct RuntimeModel: Sendable {
    public static let payloadVersion: UInt16 = 1
    /// How many of the forest's top-ranked candidates are scale-refined per prediction.
    static let refinedCandidates = 3

    public let schema: FeatureSchema
    public let forest: RandomForest
    public let parameters: RuntimeModelParameters
    /// log(actual / candidate) per training row and candidate, row-major.
    let logRatios: [Float]
    /// Calibration offset for the 90th percentile at the time the model was saved.
    public var p90Offset: Float
    /// Per-leaf records of the forest with the quantized log-ratios (built from it, not stored in model files).
    let leaves: LeafTable
    /// Scratch memory for predictions.
    let workspaces: PredictionWorkspacePool

    /// Predictions that took a recent outcome instead of computing their own: by the features' split ranks (no
    /// walk of the trees) and by the leaves reached (a walk, no neighbours' histograms). Counted by the scratch
    /// memory not in use at the moment.
    public var recalledOutcomes: (byRanks: UInt64, byLeaves: UInt64) {
        let h = workspaces.hitsByKind()
        return (h.ranks, h.leaves)
    }

    /// Trains on the window's rows.
    /// - Throws: ``ForestError`` when the window is empty or malformed.
    public static func train(window: TrainingWindow, parameters: RuntimeModelParameters, p90Offset: Float = 0)
        throws(ForestError) -> RuntimeModel
    {
        let rows = window.ordered()
        let n = rows.runtimes.count
        let k = RuntimeCandidate.count
        let d = FeatureSchema.submitTime.count
        var targets = [Float](repeating: 0, count: n * k)
        var ratios = [Float](repeating: 0, count: n * k)
        for i in 0..<n {
            let lr = log(Double(rows.runtimes[i]))
            for j in 0..<k {
                let diff = lr - log(Double(Swift.max(rows.candidates[i * k + j], 1)))
                ratios[i * k + j] = Float(diff)
                targets[i * k + j] = Float(exp(-abs(diff)))  // = min(R,C)/max(R,C)
            }
        }
        let x = try Matrix(rows: n, columns: d, values: rows.features)
        let y = try Matrix(rows: n, columns: k, values: targets)
        let forest = try RandomForest.train(features: x, targets: y, parameters: parameters.forest)
        return RuntimeModel(
            schema: .submitTime, forest: forest, parameters: parameters, logRatios: ratios, p90Offset: p90Offset)
    }

    init(schema: FeatureSchema, forest: RandomForest, parameters: RuntimeModelParameters, logRatios: [Float],
         p90Offset: Float) {
        self.schema = schema
        self.forest = forest
        self.parameters = parameters
        self.logRatios = logRatios
        self.p90Offset = p90Offset
        leaves = LeafTable(forest: forest, logRatios: logRatios)
        workspaces = PredictionWorkspacePool(slots: Self.refinedCandidates)
    }

    /// Predicts the runtime of the job described by `snapshot`.
    ///
    /// The job's forest neighbours (quantile regression forest weights) give, per candidate, the distribution of
    /// `log(actual / candidate)` on the grid of ``LeafTable`` (steps of 1/128). The candidates are ranked by the
    /// forest's mean expected accuracy; the best ``refinedCandidates`` are scaled to the shift of highest expected
    /// accuracy under their distribution; the best of those gives the point prediction, and its distribution the
    /// p50 and the p90 (plus the calibration offset).
    ///
    /// - Parameter p90Offset: calibration offset (log scale) for the 90th percentile; defaults to the model's.
    /// - Complexity: O(trees × (depth + leaf size) + bins / 8): one traversal, one pass over the reached leaves'
    ///   records, no sort, no allocation (after the first prediction of each concurrent thread).
    public func predict(_ snapshot: SubmitSnapshot, p90Offset: Float? = nil) -> RuntimePrediction {
        predict(snapshot, p90Offset: p90Offset, reuse: true)
    }

    /// ``predict(_:p90Offset:)``; `reuse` false bypasses the workspace's cache of recent outcomes by reached leaves
    /// (tests compare both).
    func predict(_ snapshot: SubmitSnapshot, p90Offset: Float?, reuse: Bool) -> RuntimePrediction {
        let k = RuntimeCandidate.count
        var fallback = RuntimePrediction(
            point: snapshot.candidates.count == k ? snapshot[.sameRequest] : 3600, p50: 0, p90: 0,
            candidate: .sameRequest, scale: 1, expectedAccuracy: 0)
        fallback.p50 = fallback.point
        fallback.p90 = fallback.point * 4
        guard snapshot.candidates.count == k, snapshot.features.count == schema.count, forest.outputCount == k,
            forest.treeCount > 0, snapshot.features.count >= forest.featureCount,
            leaves.features == forest.featureCount, leaves.matches(leaves: forest.leafCount, outputs: k)
        else { return fallback }
        let offset = Double(p90Offset ?? self.p90Offset)
        return workspaces.withWorkspace { workspace in
            guard workspace.slots >= Self.refinedCandidates else { return fallback }
            return withUnsafeTemporaryAllocation(of: Int.self, capacity: forest.treeCount) { reached in
                withUnsafeTemporaryAllocation(of: Float.self, capacity: k) { means in
                    withUnsafeTemporaryAllocation(of: Int.self, capacity: k) { ranked in
                        snapshot.features.withUnsafeBufferPointer { features in
                            // Never nil here (the guard above: features and trees), but not unwrapped by force.
                            guard let x = features.baseAddress, let reached = reached.baseAddress else { return nil }
                            return predict(
                                snapshot, features: x, offset: offset, workspace: workspace, reached: reached,
                                means: means, ranked: ranked, reuse: reuse)
                        }
                    }
                }
            } ?? fallback
        }
    }

    /// The prediction proper, with the scratch memory given. Allocation-free (after the workspace's first
    /// predictions); leaves the workspace zeroed.
    ///
    /// Everything but the last step (candidate × shift, the p90 offset) is a function of the leaves reached: a job
    /// that reaches the same leaf in every tree as one of the workspace's last ``OutcomeCache/capacity``
    /// predictions (jobs submitted in a burst by one user, alike but for counters the trees did not split on)
    /// takes that outcome (exact: the leaf lists are compared in full), without the neighbours' histograms. Before
    /// the walk, the same by the features' split ranks (``LeafTable/splitRanks(_:into:)``: equal ranks, equal
    /// leaves), which skips the walk too: a user's loop of `sbatch job.sh` costs a few binary searches.
    /// - Returns: nil when the reached leaves hold no neighbour (the caller's fallback applies).
    private func predict(
        _ snapshot: SubmitSnapshot, features x: UnsafePointer<Float>, offset: Double, workspace ws: PredictionWorkspace,
        reached: UnsafeMutablePointer<Int>, means: UnsafeMutableBufferPointer<Float>,
        ranked: UnsafeMutableBufferPointer<Int>, reuse: Bool
    ) -> RuntimePrediction? {
        let k = RuntimeCandidate.count
        let trees = forest.treeCount
        // A job whose every feature falls between the same split thresholds as a recent one's reaches the same
        // leaves: its outcome, without the walk.
        var rankKey: (hash: UInt64, outcome: PredictionOutcome?)?
        let rankStart = ws.rankBuffer(count: leaves.features)
        let ranks = UnsafeBufferPointer(start: rankStart, count: leaves.features)
        if reuse {
            // First the last outcome found or stored by ranks, by checking the job's features against its ranks'
            // intervals, kept beside it (``SplitIntervals``).
            if let last = ws.lastByRanks.recall(x, count: leaves.features) {
                return Self.prediction(last, snapshot: snapshot, offset: offset)
            }
            leaves.splitRanks(x, into: rankStart)
            rankKey = ws.byRanks.recall(ranks)
            if let o = rankKey?.outcome {
                ws.lastByRanks.store(o, ranks: ranks, table: leaves)
                return Self.prediction(o, snapshot: snapshot, offset: offset)
            }
        }
        let walked = leaves.reachedRecords(x, into: reached)
        let reachedLeaves = UnsafeBufferPointer(start: reached, count: trees)
        let key = reuse ? ws.byLeaves.recall(reachedLeaves) : nil
        if let key, let o = key.outcome {
            if let rankKey {
                ws.byRanks.remember(o, hash: rankKey.hash, key: ranks)
                ws.lastByRanks.store(o, ranks: ranks, table: leaves)
            }
            return Self.prediction(o, snapshot: snapshot, offset: offset)
        }
        let stride = k &+ 1
        let bins = LeafTable.bins
        let records = leaves.records
        let entries = leaves.halves

        // Touch every cache line of the reached leaves' records first (the walk loaded their first lines): a
        // hundred short runs scattered over the table, loaded independently of each other so that the CPU
        // overlaps their misses, instead of one miss at a time in the accumulation loops below.
        var total = 0
        var touched = walked
        for t in 0 ..< trees {
            let at = reached[t]
            let (n, first, _) = LeafTable.entryRun(records, at: at, outputs: k)
            let end = first &+ n &* stride
            total &+= n
            var e = at &* 2 &+ 32  // halves per 64-byte line: from the record's second line on
            while e < end {
                touched |= UInt32(entries[e])
                e &+= 32
            }
            if n > 0 { touched |= UInt32(entries[end &- 1]) }
        }
        ws.sink = touched
        guard total > 0 else { return nil }

        // Mean outputs: the average over trees of the leaf means (tree order, as the forest sums them).
        for o in 0 ..< k { means[o] = 0 }
        for t in 0 ..< trees {
            let at = reached[t]
            for o in 0 ..< k { means[o] += Float(bitPattern: records[at &+ o]) }
        }
        let meanScale = 1 / Float(trees)
        for o in 0 ..< k { means[o] *= meanScale }

        // Candidates by expected accuracy, best first; ties keep the lower index (a stable insertion sort).
        for j in 0 ..< k {
            var i = j
            while i > 0 && means[j] > means[ranked[i &- 1]] {
                ranked[i] = ranked[i &- 1]
                i &-= 1
            }
            ranked[i] = j
        }
        let refine = parameters.refineScale
        let considered = refine ? Swift.min(Self.refinedCandidates, k) : 1

        // Every entry's weight into the bin of its quantized log-ratio, one histogram per considered candidate,
        // all filled in one pass over the entries (each histogram in the same order as alone: same sums), the bin
        // marked in the candidate's byte map (one store; a bitmap's bit costs a shift, a mask and a
        // read-modify-write per entry); then per candidate the non-empty bins in order.
        let histograms = ws.histogram
        let marks = ws.marks
        let mask = bins &- 1
        if considered == 3 {
            let j0 = ranked[0], j1 = ranked[1], j2 = ranked[2]
            let h0 = histograms, h1 = histograms + bins, h2 = histograms + 2 &* bins
            let m0 = marks, m1 = marks + bins, m2 = marks + 2 &* bins
            for t in 0 ..< trees {
                let (n, first, unit) = LeafTable.entryRun(records, at: reached[t], outputs: k)
                var e = first
                for _ in 0 ..< n {
                    let w = LeafTable.weight(multiplicity: entries[e &+ k], unit: unit)
                    let b0 = Int(entries[e &+ j0]) & mask
                    let b1 = Int(entries[e &+ j1]) & mask
                    let b2 = Int(entries[e &+ j2]) & mask
                    h0[b0] += w
                    h1[b1] += w
                    h2[b2] += w
                    m0.storeBytes(of: 1, toByteOffset: b0, as: UInt8.self)
                    m1.storeBytes(of: 1, toByteOffset: b1, as: UInt8.self)
                    m2.storeBytes(of: 1, toByteOffset: b2, as: UInt8.self)
                    e &+= stride
                }
            }
        } else {
            for slot in 0 ..< considered {
                let j = ranked[slot]
                let histogram = histograms + slot &* bins
                let map = marks + slot &* bins
                for t in 0 ..< trees {
                    let (n, first, unit) = LeafTable.entryRun(records, at: reached[t], outputs: k)
                    var e = first
                    for _ in 0 ..< n {
                        let b = Int(entries[e &+ j]) & mask
                        histogram[b] += LeafTable.weight(multiplicity: entries[e &+ k], unit: unit)
                        map.storeBytes(of: 1, toByteOffset: b, as: UInt8.self)
                        e &+= stride
                    }
                }
            }
        }
        var best = -1.0
        var bestK = ranked[0]
        var bestShift = 0.0
        var q50: Float = 0
        var q90: Float = 0
        let nonEmpty = ws.nonEmpty
        let terms = ws.terms
        for slot in 0 ..< considered {
            let j = ranked[slot]
            let (count, total, above) = Self.collectBins(
                histograms + slot &* bins, marks: marks + slot &* bins, into: nonEmpty, terms: terms)
            var shift = 0.0
            var score = Double(means[j])
            if refine { (shift, score) = Self.bestShift(terms, nonEmpty, count: count, above: above) }
            if score > best {
                best = score
                bestK = j
                bestShift = shift
                // Weighted quantiles of log(actual/candidate) for this candidate.
                q50 = Self.quantile(0.5, terms, nonEmpty, count: count, total: total)
                q90 = Self.quantile(0.9, terms, nonEmpty, count: count, total: total)
            }
        }
        let outcome = PredictionOutcome(candidate: bestK, shift: bestShift, q50: q50, q90: q90, score: best)
        if let key { ws.byLeaves.remember(outcome, hash: key.hash, key: reachedLeaves) }
        if let rankKey {
            ws.byRanks.remember(outcome, hash: rankKey.hash, key: ranks)
            ws.lastByRanks.store(outcome, ranks: ranks, table: leaves)
        }
        return Self.prediction(outcome, snapshot: snapshot, offset: offset)
    }

    /// The prediction for `snapshot` from the outcome of its leaves.
    @inline(__always)
    private static func prediction(_ o: PredictionOutcome, snapshot: SubmitSnapshot, offset: Double)
        -> RuntimePrediction
    {
        let c = Double(snapshot.candidates[o.candidate])
        let point = Float(Swift.min(c * exp(o.shift), 1e9))
        return RuntimePrediction(
            point: Swift.max(point, 1),
            p50: Swift.max(1, Float(Swift.min(c * exp(Double(o.q50)), 1e9))),
            p90: Swift.max(1, Float(Swift.min(c * exp(Double(o.q90) + offset), 1e9))),
            candidate: RuntimeCandidate(rawValue: o.candidate) ?? .sameRequest,
            scale: Float(exp(o.shift)),
            expectedAccuracy: Float(o.score))
    }

    /// The smallest value whose cumulative weight reaches `level × total` (the last one if rounding leaves it short),
    /// over the `count` non-empty bins listed by ``collectBins(_:marks:into:terms:)``. A cumulative weight within
    /// 10⁻⁹ of the target counts as reaching it, so that summation order cannot decide a quantile that lands
    /// exactly on a boundary between two values (frequent with few trees).
    @inline(__always)
    private static func quantile(
        _ level: Double, _ terms: UnsafeMutablePointer<Double>, _ bins: UnsafeMutablePointer<UInt16>, count: Int,
        total: Double
    ) -> Float {
        guard count > 0 else { return 0 }
        let target = level * total - 1e-9 * total
        var acc = 0.0
        for i in 0 ..< count {
            acc += terms[3 &* i]
            if acc >= target { return LeafTable.value(Int(bins[i]) &- LeafTable.binOffset) }
        }
        return LeafTable.value(Int(bins[count &- 1]) &- LeafTable.binOffset)
    }

    /// Lists the non-empty bins of a histogram in ascending order, from its byte map (a byte 1 per non-empty bin,
    /// 0 elsewhere: any other value would mix up the bins), and leaves both zero again. Writes, per bin `i` of the
    /// list, its weight `w`, `e^r` and `e^(−r)` to `terms[3i ..< 3i + 3]` (``bestShift(_:_:count:above:)`` reads
    /// them in the same order).
    /// - Returns: the number of bins, the sum of their weights and Σ w·e^(−r), both summed in that order.
    @inline(__always)
    private static func collectBins(
        _ histogram: UnsafeMutablePointer<Double>, marks: UnsafeMutableRawPointer,
        into out: UnsafeMutablePointer<UInt16>, terms: UnsafeMutablePointer<Double>
    ) -> (count: Int, total: Double, above: Double) {
        var count = 0
        var total = 0.0
        var above = 0.0
        BinExponent.high.withUnsafeBufferPointer { high in
            BinExponent.low.withUnsafeBufferPointer { low in
                BinExponent.highDown.withUnsafeBufferPointer { highDown in
                    BinExponent.lowDown.withUnsafeBufferPointer { lowDown in
                        // 64 bins (a line of the map, eight words) at a time: most are empty (the words OR-ed);
                        // the others' bytes packed into a word of 64 bits (a multiplication gathers the low bit
                        // of every byte of a word into its top byte), then its bins in order, as from a bitmap.
                        for group in 0 ..< LeafTable.bins / 64 {
                            let line = marks + group &<< 6
                            var any: UInt64 = 0
                            for w in 0 ..< 8 { any |= line.load(fromByteOffset: w &<< 3, as: UInt64.self) }
                            if any == 0 { continue }
                            var b: UInt64 = 0
                            for w in 0 ..< 8 {
                                let x = UInt64(littleEndian: line.load(fromByteOffset: w &<< 3, as: UInt64.self))
                                b |= ((x &* 0x0102_0408_1020_4080) &>> 56) &<< UInt64(w &<< 3)
                                line.storeBytes(of: 0, toByteOffset: w &<< 3, as: UInt64.self)
                            }
                            while b != 0 {
                                let low6 = b.trailingZeroBitCount
                                b &= b &- 1
                                let p = group &<< 6 | low6
                                let w = histogram[p]
                                histogram[p] = 0
                                let up = high[group] * low[low6]
                                let down = highDown[group] * lowDown[low6]
                                out[count] = UInt16(truncatingIfNeeded: p)
                                let term = terms + 3 &* count
                                term[0] = w
                                term[1] = up
                                term[2] = down
                                count &+= 1
                                total += w
                                above += w * down
                            }
                        }
                    }
                }
            }
        }
        return (count, total, above)
    }

    /// The shift `s` (log scale) maximising Σ w·exp(−|r − s|) over the `count` non-empty bins that
    /// ``collectBins(_:marks:into:terms:)`` listed (in ascending `r` order, every `r` distinct, with their terms
    /// `w`, `e^r`, `e^(−r)`), with `above` = Σ w·e^(−r). Same scan as ``bestShift(_:)``.
    @inline(__always)
    private static func bestShift(
        _ terms: UnsafeMutablePointer<Double>, _ bins: UnsafeMutablePointer<UInt16>, count: Int,
        above total: Double
    ) -> (shift: Double, score: Double) {
        guard count > 0 else { return (0, 0) }
        var above = total
        var below = 0.0
        var bestI = -1
        var bestV = -1.0
        for i in 0 ..< count {
            let term = terms + 3 &* i
            let w = term[0]
            let up = term[1]
            let down = term[2]
            below += w * up
            above -= w * down
            // The objective at r (every bin is its own r: all rows equal to r are now "below").
            // Without a data-dependent branch (improvements are unpredictable).
            let v = down * below + up * Swift.max(above, 0)
            let better = v > bestV
            bestV = better ? v : bestV
            bestI = better ? i : bestI
        }
        // Numeric guard: the shift-free score if the scan degenerated.
        if !bestV.isFinite {
            var score = 0.0
            for i in 0 ..< count {
                score += terms[3 &* i] * exp(-abs(Double(LeafTable.value(Int(bins[i]) &- LeafTable.binOffset))))
            }
            return (0, score)
        }
        return (bestI >= 0 ? Double(LeafTable.value(Int(bins[bestI]) &- LeafTable.binOffset)) : 0, bestV)
    }

    /// Expected accuracy of predicting `candidate × e^s` when the truth is `candidate × e^r`:
    /// Σ w · exp(−|r − s|).
    static func score(_ pairs: [(Float, Float)], at s: Double) -> Double {
        var total = 0.0
        for (r, w) in pairs { total += Double(w) * exp(-abs(Double(r) - s)) }
        return total
    }

    /// The shift `s` (log scale) maximising Σ w·exp(−|r − s|). The objective is convex between
    /// consecutive `r`, so its maximum is at one of them; prefix sums make the scan O(m) after sorting.
    /// ``predict(_:p90Offset:)`` runs the same scan from precomputed tables; this sorting version is the
    /// reference the tests compare it with.
    static func bestShift(_ pairs: inout [(Float, Float)]) -> (shift: Double, score: Double) {
        guard !pairs.isEmpty else { return (0, 0) }
        pairs.sort { $0.0 < $1.0 }
        let m = pairs.count
        let center = Double(pairs[m / 2].0)
        // below[j] = Σ_{i≤j} w e^{r_i − c}; above[j] = Σ_{i>j} w e^{−(r_i − c)}
        var above = 0.0
        for (r, w) in pairs { above += Double(w) * exp(-(Double(r) - center)) }
        var below = 0.0
        var bestS = 0.0
        var bestV = -1.0
        var j = 0
        while j < m {
            let r = Double(pairs[j].0)
            // include every row equal to r on the "below" side
            var e = j
            while e < m && pairs[e].0 == pairs[j].0 {
                let w = Double(pairs[e].1)
                below += w * exp(Double(pairs[e].0) - center)
                above -= w * exp(-(Double(pairs[e].0) - center))
                e += 1
            }
            let v = exp(-(r - center)) * below + exp(r - center) * Swift.max(above, 0)
            if v > bestV {
                bestV = v
                bestS = r
            }
            j = e
        }
        // Numeric guard: the shift-free score if the scan degenerated.
        if !bestV.isFinite { return (0, score(pairs, at: 0)) }
        return (bestS, bestV)
    }
}

extension RuntimeModel {
    /// Exposed for unit tests only.
    public static func bestShiftForTesting(_ pairs: inout [(Float, Float)]) -> (shift: Double, score: Double) {
        bestShift(&pairs)
    }

    /// Exposed for unit tests only.
    public static func scoreForTesting(_ pairs: [(Float, Float)], at s: Double) -> Double { score(pairs, at: s) }
}
