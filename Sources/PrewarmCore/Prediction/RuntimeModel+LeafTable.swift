// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

#if canImport(Glibc)
import Glibc
#endif

/// Everything a prediction reads about the leaves of the forest, one short record per leaf, built once per
/// model (when it is trained or deserialized; nothing of it is stored in model files).
///
/// A prediction reaches one leaf per tree and needs, from each, the leaf's mean outputs (the expected accuracy
/// of every candidate) and its in-bag training rows with their weights and log-ratios `log(actual/candidate)`.
/// Before, those came from four tables indexed by row (sample list → row → rank → per-candidate order), a cache
/// miss per neighbour and candidate, several thousand per prediction when the caches are cold, as they are in
/// slurmctld between two submissions. Here a leaf is a 52-byte header and one contiguous run of entries:
///
///     header  (records, UInt32 words): [k Float: mean outputs] [Double: weight per unit of multiplicity]
///                                      [UInt32: entries n] [UInt32: first entry]
///     entries (UInt16 halves):         n × [k UInt16: quantized log-ratio bin per candidate] [UInt16: multiplicity]
///
/// so a prediction reads about a hundred headers and a hundred short runs (k = 9: 20 bytes per entry).
///
/// Log-ratios are quantized to steps of 1/128 (a factor of 1.0078: a runtime off by at most 0.39 %), clamped to
/// ±16 (a factor of 8.9 million); a log-ratio of exactly 0 (the candidate was right) stays exactly 0. The
/// neighbour distribution of a candidate is then a weighted histogram over ``bins`` values, merged without any
/// sort: see ``RuntimeModel/predict(_:p90Offset:)``.
struct LeafTable: Sendable {
    /// Quantization steps per unit of log-ratio.
    static let stepsPerUnit: Float = 128
    /// Bins of quantized log-ratios; bin `b` stands for the log-ratio `(b - binOffset) / stepsPerUnit`.
    static let bins = 4096
    static let binOffset = 2048

    /// The quantized log-ratio of `r` (NaN gives 0), in `-binOffset ..< bins - binOffset`.
    @inline(__always)
    static func quantize(_ r: Float) -> Int16 {
        guard r == r else { return 0 }
        let q = (r * stepsPerUnit).rounded()
        return Int16(Swift.max(Swift.min(q, Float(bins - binOffset - 1)), Float(-binOffset)))
    }

    /// The log-ratio a quantized value stands for.
    @inline(__always)
    static func value(_ q: Int) -> Float { Float(q) / stepsPerUnit }

    /// Outputs (candidates) per leaf.
    let outputs: Int
    /// Words per leaf header: `outputs` Floats, a Double, the entry count and the first entry.
    var headerWords: Int { outputs &+ 4 }
    /// Per global leaf index, the offset of its header in ``records``.
    let leafOffset: [UInt32]
    /// The leaf headers.
    let records: [UInt32]
    /// The entries, `outputs + 1` halves each.
    let entries: [UInt16]

    /// An empty table (predictions fall back).
    init() {
        self.init(outputs: 0, leafOffset: [], records: [], entries: [])
    }

    private init(outputs: Int, leafOffset: [UInt32], records: [UInt32], entries: [UInt16]) {
        self.outputs = outputs
        self.leafOffset = leafOffset
        self.records = records
        self.entries = entries
    }

    /// Whether the table has a record for every leaf of a forest with `leaves` leaves and `outputs` outputs.
    func matches(leaves: Int, outputs: Int) -> Bool {
        self.outputs == outputs && outputs > 0 && leafOffset.count == leaves && leaves > 0
    }

    /// Builds the records of `forest`'s leaves; `logRatios` is `trainingRows × outputCount`, row-major. Gives an
    /// empty table when the shapes do not match or the table would not fit 32-bit offsets. The entry weights are
    /// computed exactly as ``RandomForest/forEachNeighbour(_:_:)`` computes them.
    init(forest: RandomForest, logRatios: [Float]) {
        let k = forest.outputCount
        let rows = forest.trainingRows
        let trees = forest.treeCount
        let leaves = forest.leafCount
        let product = rows.multipliedReportingOverflow(by: k)
        guard k > 0, k < 1 << 12, rows > 0, trees > 0, !product.overflow, product.partialValue == logRatios.count,
            forest.leafValues.count == leaves &* k, forest.treeLeafStart.count == trees + 1,
            forest.treeSampleStart.count == trees + 1, forest.sampleRows.count == forest.sampleCounts.count
        else {
            self.init()
            return
        }
        let header = k + 4
        let stride = k + 1
        let headerTotal = leaves.multipliedReportingOverflow(by: header)
        let entryTotal = forest.sampleRows.count.multipliedReportingOverflow(by: stride)
        guard !headerTotal.overflow, !entryTotal.overflow, headerTotal.partialValue < Int(UInt32.max),
            entryTotal.partialValue < Int(UInt32.max)
        else {
            self.init()
            return
        }
        var records = [UInt32](repeating: 0, count: headerTotal.partialValue)
        var entries: [UInt16] = []
        entries.reserveCapacity(entryTotal.partialValue)
        var offsets = [UInt32](repeating: 0, count: leaves)
        let treeScale = Double(trees)
        for t in 0 ..< trees {
            let sampleBase = forest.treeSampleStart[t]
            let leafEnd = forest.treeLeafStart[t + 1]
            for leaf in forest.treeLeafStart[t] ..< leafEnd {
                let first = sampleBase + Int(forest.leafSampleOffset[leaf])
                let end = leaf + 1 < leafEnd
                    ? sampleBase + Int(forest.leafSampleOffset[leaf + 1]) : forest.treeSampleStart[t + 1]
                let at = leaf * header
                offsets[leaf] = UInt32(at)
                for o in 0 ..< k { records[at + o] = forest.leafValues[leaf * k + o].bitPattern }
                var multiplicity = 0
                if first < end {
                    for i in first ..< end { multiplicity += Int(forest.sampleCounts[i]) }
                }
                let scale = multiplicity > 0 ? 1 / (Double(multiplicity) * treeScale) : 0
                records[at + k] = UInt32(truncatingIfNeeded: scale.bitPattern)
                records[at + k + 1] = UInt32(truncatingIfNeeded: scale.bitPattern >> 32)
                records[at + k + 3] = UInt32(entries.count / stride)
                var n = 0
                if first < end && multiplicity > 0 {
                    for i in first ..< end {
                        let row = Int(forest.sampleRows[i])
                        guard row >= 0, row < rows, forest.sampleCounts[i] > 0 else { continue }
                        for o in 0 ..< k {
                            entries.append(UInt16(Int(Self.quantize(logRatios[row * k + o])) + Self.binOffset))
                        }
                        entries.append(UInt16(forest.sampleCounts[i]))
                        n += 1
                    }
                }
                records[at + k + 2] = UInt32(n)
            }
        }
        self.init(outputs: k, leafOffset: offsets, records: records, entries: entries)
    }
}

/// Scratch memory for one prediction at a time: per refined candidate a weighted histogram over the quantized
/// log-ratios with a bitmap of its non-empty bins, and one list of neighbours. Between uses the histograms and
/// bitmaps are zero again (a prediction clears exactly what it touched).
final class PredictionWorkspace {
    let slots: Int
    static let bitmapWords = LeafTable.bins / 64
    /// `slots × bins` weights.
    let histogram: UnsafeMutablePointer<Double>
    /// `slots × bitmapWords` bitmaps of the non-empty bins.
    let occupied: UnsafeMutablePointer<UInt64>
    /// The non-empty bins of one candidate in ascending order (at most `bins`).
    let neighbours: UnsafeMutablePointer<Neighbour>

    /// One bin of a candidate's neighbour distribution: its log-ratio with `exp(±r)`, and its merged weight.
    struct Neighbour {
        var up: Double
        var down: Double
        var ratio: Float
        var weight: Double
    }

    init(slots: Int) {
        self.slots = max(slots, 1)
        histogram = .allocate(capacity: self.slots &* LeafTable.bins)
        histogram.initialize(repeating: 0, count: self.slots &* LeafTable.bins)
        occupied = .allocate(capacity: self.slots &* Self.bitmapWords)
        occupied.initialize(repeating: 0, count: self.slots &* Self.bitmapWords)
        neighbours = .allocate(capacity: LeafTable.bins)
        neighbours.initialize(repeating: Neighbour(up: 1, down: 1, ratio: 0, weight: 0), count: LeafTable.bins)
    }

    deinit {
        histogram.deallocate()
        occupied.deallocate()
        neighbours.deallocate()
    }
}

/// `exp(q / 128)` for a quantized log-ratio `q` as the product of two entries of small tables (64 + 64 values
/// each way, always in cache), instead of an `exp` call per bin.
enum BinExponent {
    static let high: [Double] = (0 ..< 64).map { exp(Double($0 * 64 - LeafTable.binOffset) / 128) }
    static let low: [Double] = (0 ..< 64).map { exp(Double($0) / 128) }
    static let highDown: [Double] = (0 ..< 64).map { exp(-Double($0 * 64 - LeafTable.binOffset) / 128) }
    static let lowDown: [Double] = (0 ..< 64).map { exp(-Double($0) / 128) }
}

/// Workspaces of one model, reused across predictions. ``RuntimeModel`` is a `Sendable` value used from
/// several threads at once (evaluation, simulation): each prediction takes a workspace for itself and gives it
/// back. The mutex is only ever *tried*, never waited for — when another thread holds it for its pop or push,
/// the prediction uses a fresh workspace (and drops it) — so it adds no blocking to slurmctld's submit path.
final class PredictionWorkspacePool: @unchecked Sendable {
    /// Workspaces kept for reuse (about the number of threads that predict concurrently).
    static let capacity = 8

    let slots: Int
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    // Guarded by mutex.
    private var free: [PredictionWorkspace] = []

    init(slots: Int) {
        self.slots = slots
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        free.reserveCapacity(Self.capacity)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` with a workspace no other thread uses meanwhile.
    func withWorkspace<R>(_ body: (PredictionWorkspace) -> R) -> R {
        var reused: PredictionWorkspace?
        if pthread_mutex_trylock(mutex) == 0 {
            reused = free.popLast()
            pthread_mutex_unlock(mutex)
        }
        let workspace = reused ?? PredictionWorkspace(slots: slots)
        let result = body(workspace)
        if pthread_mutex_trylock(mutex) == 0 {
            if free.count < Self.capacity { free.append(workspace) }
            pthread_mutex_unlock(mutex)
        }
        return result
    }
}
