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
    }

    /// Predicts the runtime of the job described by `snapshot`.
    ///
    /// - Parameter p90Offset: calibration offset (log scale) for the 90th percentile; defaults to the model's.
    /// - Complexity: O(trees × depth + m log m) with m the number of neighbour rows (≈ trees × leaf size).
    public func predict(_ snapshot: SubmitSnapshot, p90Offset: Float? = nil) -> RuntimePrediction {
        let k = RuntimeCandidate.count
        var fallback = RuntimePrediction(
            point: snapshot.candidates.count == k ? snapshot[.sameRequest] : 3600, p50: 0, p90: 0,
            candidate: .sameRequest, scale: 1, expectedAccuracy: 0)
        fallback.p50 = fallback.point
        fallback.p90 = fallback.point * 4
        guard snapshot.candidates.count == k, snapshot.features.count == schema.count else { return fallback }

        // Gather neighbour rows (QRF weights) once; a row shared by several trees is merged into one entry.
        var gathered: [(row: Int32, weight: Float)] = []
        gathered.reserveCapacity(forest.parameters.treeCount * 16)
        var means = [Float](repeating: 0, count: k)
        snapshot.features.withUnsafeBufferPointer { x in
            forest.forEachNeighbour(x) { row, w in gathered.append((row, w)) }
            means.withUnsafeMutableBufferPointer { forest.predict(x, into: $0) }
        }
        guard !gathered.isEmpty else { return fallback }
        gathered.sort { $0.row < $1.row }
        var rows: [Int32] = []
        var weights: [Float] = []
        rows.reserveCapacity(gathered.count)
        weights.reserveCapacity(gathered.count)
        for g in gathered {
            if let last = rows.last, last == g.row {
                weights[weights.count - 1] += g.weight
            } else {
                rows.append(g.row)
                weights.append(g.weight)
            }
        }

        // The forest's mean outputs are the expected accuracies of the unscaled candidates; refine the
        // best few by scaling them to the value of highest expected accuracy among the neighbours.
        let ranked = (0 ..< k).sorted { means[$0] > means[$1] }
        var best = -1.0
        var bestK = ranked.first ?? RuntimeCandidate.sameRequest.rawValue
        var bestShift = 0.0
        var pairs: [(Float, Float)] = []
        pairs.reserveCapacity(rows.count)
        for j in ranked.prefix(parameters.refineScale ? Self.refinedCandidates : 1) {
            pairs.removeAll(keepingCapacity: true)
            for (i, r) in rows.enumerated() {
                let idx = Int(r) * k + j
                if idx >= 0 && idx < logRatios.count { pairs.append((logRatios[idx], weights[i])) }
            }
            let (shift, score) = parameters.refineScale ? Self.bestShift(&pairs) : (0, Double(means[j]))
            if score > best {
                best = score
                bestK = j
                bestShift = shift
            }
        }
        // Quantiles of log(actual/candidate) for the chosen candidate.
        pairs.removeAll(keepingCapacity: true)
        for (i, r) in rows.enumerated() {
            let idx = Int(r) * k + bestK
            if idx >= 0 && idx < logRatios.count { pairs.append((logRatios[idx], weights[i])) }
        }
        pairs.sort { $0.0 < $1.0 }
        let q = Self.weightedQuantiles(pairs, levels: [0.5, 0.9])
        let c = Double(snapshot.candidates[bestK])
        let offset = Double(p90Offset ?? self.p90Offset)
        let point = Float(Swift.min(c * exp(bestShift), 1e9))
        return RuntimePrediction(
            point: Swift.max(point, 1),
            p50: Swift.max(1, Float(Swift.min(c * exp(Double(q[0])), 1e9))),
            p90: Swift.max(1, Float(Swift.min(c * exp(Double(q[1]) + offset), 1e9))),
            candidate: RuntimeCandidate(rawValue: bestK) ?? .sameRequest,
            scale: Float(exp(bestShift)),
            expectedAccuracy: Float(best))
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

    /// Weighted quantiles of sorted (value, weight) pairs.
    static func weightedQuantiles(_ sorted: [(Float, Float)], levels: [Double]) -> [Float] {
        guard !sorted.isEmpty else { return levels.map { _ in 0 } }
        var total = 0.0
        for (_, w) in sorted { total += Double(w) }
        return levels.map { level in
            let target = level * total
            var acc = 0.0
            for (v, w) in sorted {
                acc += Double(w)
                if acc >= target { return v }
            }
            return sorted[sorted.count - 1].0
        }
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
