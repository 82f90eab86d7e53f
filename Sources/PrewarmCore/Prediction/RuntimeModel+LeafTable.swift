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
/// slurmctld between two submissions. Here a leaf is one contiguous record, a 48-byte header directly followed by
/// its entries, and the tree's leaf node holds the record's offset:
///
///     header  (UInt32 words):  [k Float: mean outputs] [Double: weight per unit of multiplicity] [UInt32: entries n]
///     entries (UInt16 halves): n × [k UInt16: quantized log-ratio bin per candidate] [UInt16: multiplicity]
///     (padded to a whole word)
///
/// so a prediction reads about a hundred short runs of memory (k = 9: 20 bytes per entry), each starting with the
/// line the walk's last load pointed to.
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

    /// The entries of the leaf record at word `at` of `records` (``records``, read once by the caller), whose
    /// leaves have `outputs` outputs: how many, the half of ``halves`` the first starts at, and the weight per unit
    /// of multiplicity. The header is `outputs` Floats, a Double and the entry count: `outputs + 3` words.
    @inline(__always)
    static func entryRun(_ records: UnsafePointer<UInt32>, at: Int, outputs k: Int)
        -> (count: Int, first: Int, unitWeight: Double)
    {
        let unit = Double(bitPattern: UInt64(records[at &+ k]) | UInt64(records[at &+ k &+ 1]) &<< 32)
        return (Int(records[at &+ k &+ 2]), (at &+ k &+ 3) &* 2, unit)
    }

    /// An entry's weight exactly as the forest computes it (``RandomForest/forEachNeighbour``): its multiplicity
    /// times the record's unit weight, rounded to Float.
    @inline(__always)
    static func weight(multiplicity: UInt16, unit: Double) -> Double { Double(Float(Double(multiplicity) * unit)) }
    /// Features of the forest (a walk reads them and their negations).
    let features: Int
    /// Trees, leaves, nodes and record words in ``region``.
    let trees: Int
    let leafCount: Int
    let nodeCount: Int
    let recordWords: Int
    /// Per feature, the distinct thresholds the forest splits it at, ascending (NaN thresholds, which send every
    /// value right, left out): feature `f`'s are `splitValues[splitStarts[f] ..< splitStarts[f + 1]]`. Every split's
    /// decision for a value `x` is a function of how many of its feature's thresholds `x` is not at or below
    /// (``splitRanks(_:into:)``), so two jobs with the same ranks on every feature reach the same leaves.
    let splitStarts: [Int32]
    let splitValues: [Float]
    /// One allocation (2 MB pages where the kernel gives them) holding, in this order: the forest's nodes as
    /// 8-byte ``CompactNode``s (same order: a split's left child is the next node), the first node of every tree
    /// (`trees + 1` Int32) and the leaf records (UInt32 words, leaf after leaf, in global leaf order).
    let region: PredictionRegion

    var nodes: UnsafePointer<CompactNode> { UnsafePointer(region.base.assumingMemoryBound(to: CompactNode.self)) }
    var treeNodeStart: UnsafePointer<Int32> {
        UnsafePointer((region.base + nodeCount &* MemoryLayout<CompactNode>.stride).assumingMemoryBound(to: Int32.self))
    }
    /// The leaf records as words (header fields)...
    var records: UnsafePointer<UInt32> {
        UnsafePointer((region.base + recordsByteOffset).assumingMemoryBound(to: UInt32.self))
    }
    /// ...and the same memory as halves (entries): a record at word `at` has its entries from half `2 × (at +
    /// outputs + 3)` (``entryRun(_:at:outputs:)``).
    var halves: UnsafePointer<UInt16> {
        UnsafePointer((region.base + recordsByteOffset).assumingMemoryBound(to: UInt16.self))
    }
    private var recordsByteOffset: Int {
        (nodeCount &* MemoryLayout<CompactNode>.stride &+ (trees &+ 1) &* 4 &+ 63) & ~63
    }

    /// An empty table (predictions fall back).
    init() {
        outputs = 0
        features = 0
        trees = 0
        leafCount = 0
        nodeCount = 0
        recordWords = 0
        region = PredictionRegion(bytes: 64)
        splitStarts = [0]
        splitValues = []
    }

    /// Whether the table has a record for every leaf of a forest with `leaves` leaves and `outputs` outputs.
    func matches(leaves: Int, outputs: Int) -> Bool {
        self.outputs == outputs && outputs > 0 && leafCount == leaves && leaves > 0 && features > 0 && trees > 0
    }

    private init(outputs: Int, forest: RandomForest, records: [UInt32], recordAt: [Int], leafWeight: [Int]) {
        self.outputs = outputs
        features = forest.featureCount
        trees = forest.treeCount
        leafCount = forest.leafCount
        nodeCount = forest.nodeCount
        recordWords = records.count
        (splitStarts, splitValues) = Self.splitLists(forest)
        let nodeBytes = nodeCount &* MemoryLayout<CompactNode>.stride
        let recordsAt = (nodeBytes &+ (trees &+ 1) &* 4 &+ 63) & ~63
        let size = recordsAt &+ records.count &* 4
        let region = PredictionRegion(bytes: size)
        let nodes = region.base.bindMemory(to: CompactNode.self, capacity: nodeCount)
        nodes.initialize(repeating: CompactNode(record: 0), count: nodeCount)
        var weight: [Int] = []
        var stack: [(node: Int, parent: Int)] = []
        for t in 0 ..< trees {
            if !Self.placeHeavierFirst(
                tree: t, forest: forest, recordAt: recordAt, leafWeight: leafWeight, into: nodes, weight: &weight,
                stack: &stack)
            {
                // Not a plain tree (a model file may say anything its checks allow): the forest's own order.
                let leafBase = forest.treeLeafStart[t]
                let nodeBase = forest.treeNodeStart[t]
                for i in forest.treeNodeStart[t] ..< forest.treeNodeStart[t + 1] {
                    let node = forest.nodes[i]
                    nodes[i] = node.isLeaf
                        ? CompactNode(record: recordAt[leafBase + Int(node.leaf)])
                        : CompactNode(
                            feature: Int(node.feature), threshold: node.threshold, right: nodeBase + Int(node.right))
                }
            }
        }
        let starts = (region.base + nodeBytes).bindMemory(to: Int32.self, capacity: trees &+ 1)
        for t in 0 ... trees { starts[t] = Int32(truncatingIfNeeded: forest.treeNodeStart[t]) }
        let r = (region.base + recordsAt).bindMemory(to: UInt32.self, capacity: records.count)
        for i in records.indices { r[i] = records[i] }
        self.region = region
    }

    /// Writes tree `t`'s nodes to their place in `nodes` in depth-first order with the heavier child of every
    /// split first, right after its parent (the child with more in-bag training rows, so more likely the one a
    /// job goes to, and the one a walk finds in the line it already loaded), the other child's index in the node.
    /// A split whose right child comes first tests the negated feature (feature `f + featureCount`, see
    /// ``reachedRecords(_:into:)``) against `−nextUp(threshold)`: `−x ≤ −nextUp(t)` exactly when `x > t`, and a
    /// NaN feature, which goes right, is negated to −∞.
    /// - Returns: false, with nothing useful written, if the nodes do not form a plain tree.
    private static func placeHeavierFirst(
        tree t: Int, forest: RandomForest, recordAt: [Int], leafWeight: [Int], into nodes: UnsafeMutablePointer<CompactNode>,
        weight: inout [Int], stack: inout [(node: Int, parent: Int)]
    ) -> Bool {
        let features = forest.featureCount
        let canSwap = features &* 2 < CompactNode.leafMark
        let base = forest.treeNodeStart[t]
        let count = forest.treeNodeStart[t + 1] &- base
        let leafBase = forest.treeLeafStart[t]
        guard count > 0 else { return false }
        // Rows under every node (children come after their parent).
        weight.removeAll(keepingCapacity: true)
        weight.append(contentsOf: repeatElement(0, count: count))
        for i in (0 ..< count).reversed() {
            let node = forest.nodes[base &+ i]
            if node.isLeaf {
                weight[i] = leafWeight[leafBase &+ Int(node.leaf)]
            } else {
                let r = Int(node.right)
                guard i &+ 1 < count, r > i &+ 1, r < count else { return false }
                weight[i] = Swift.min(weight[i &+ 1], Int(Int32.max)) &+ Swift.min(weight[r], Int(Int32.max))
            }
        }
        stack.removeAll(keepingCapacity: true)
        stack.append((0, -1))
        var placed = 0
        while let (i, parent) = stack.popLast() {
            guard placed < count else { return false }
            let at = base &+ placed
            placed &+= 1
            if parent >= 0 { nodes[parent].right = at }
            let node = forest.nodes[base &+ i]
            if node.isLeaf {
                nodes[at] = CompactNode(record: recordAt[leafBase &+ Int(node.leaf)])
                continue
            }
            let l = i &+ 1
            let r = Int(node.right)
            let swapped = canSwap && weight[r] > weight[l]
            nodes[at] = swapped
                ? CompactNode(feature: features &+ Int(node.feature), threshold: -node.threshold.nextUp, right: 0)
                : CompactNode(feature: Int(node.feature), threshold: node.threshold, right: 0)
            stack.append((swapped ? l : r, at))
            stack.append((swapped ? r : l, -1))
        }
        return placed == count
    }

    /// The distinct split thresholds of every feature of `forest`, ascending (see ``splitValues``).
    private static func splitLists(_ forest: RandomForest) -> (starts: [Int32], values: [Float]) {
        let d = forest.featureCount
        var perFeature = [[Float]](repeating: [], count: d)
        for node in forest.nodes where node.leaf < 0 {
            let f = Int(node.feature)
            guard f >= 0, f < d, !node.threshold.isNaN else { continue }
            perFeature[f].append(node.threshold)
        }
        var starts: [Int32] = [0]
        var values: [Float] = []
        for var list in perFeature {
            list.sort()
            var last: Float?
            for t in list where last.map({ $0 != t }) ?? true {  // -0 == 0: one threshold
                values.append(t)
                last = t
            }
            starts.append(Int32(truncatingIfNeeded: values.count))
        }
        return (starts, values)
    }

    /// For every feature `f` of `x` (at least ``features`` values), how many of its split thresholds `t` do not
    /// have `x[f] ≤ t` (a binary search: the thresholds are ascending; a NaN value is above all of them, as it goes
    /// right at every split). Writes ``features`` values to `out`.
    ///
    /// Every split of the forest sends `x` left exactly when `x[f] ≤ t`, which for two values with the same rank
    /// is the same for every threshold of `f`: jobs with equal ranks reach the same leaves in every tree.
    @inline(__always)
    func splitRanks(_ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Int>) {
        splitStarts.withUnsafeBufferPointer { starts in
            splitValues.withUnsafeBufferPointer { values in
                for f in 0 ..< features {
                    let v = x[f]
                    let lo = Int(starts[f])
                    var a = lo
                    var b = Int(starts[f &+ 1])
                    while a < b {
                        let m = (a &+ b) &>> 1
                        if v <= values[m] { b = m } else { a = m &+ 1 }
                    }
                    out[f] = a &- lo
                }
            }
        }
    }

    /// Whether ``splitRanks(_:into:)`` would give `ranks` for `x`: every `x[f]` lies in the interval its rank
    /// names (above the threshold before it, at or below the one at it). Two loads per feature, independent of
    /// each other (their cache misses overlap), instead of a binary search per feature.
    @inline(__always)
    func hasSplitRanks(_ x: UnsafePointer<Float>, _ ranks: UnsafeBufferPointer<Int>) -> Bool {
        guard ranks.count == features else { return false }
        return splitStarts.withUnsafeBufferPointer { starts in
            splitValues.withUnsafeBufferPointer { values in
                for f in 0 ..< features {
                    guard let (below, at) = Self.interval(f, rank: ranks[f], starts, values),
                        SplitIntervals.holds(x[f], below: below, at: at)
                    else { return false }
                }
                return true
            }
        }
    }

    /// The interval of every feature's rank, for ``SplitIntervals``: `out[2f]` the threshold below rank `ranks[f]`
    /// (the job's value is above it) and `out[2f + 1]` the one at it (the value is at or below it), NaN where there
    /// is none. Writes `2 × features` values. False (nothing usable written) for ranks this table cannot have.
    func splitIntervals(_ ranks: UnsafeBufferPointer<Int>, into out: UnsafeMutablePointer<Float>) -> Bool {
        guard ranks.count == features else { return false }
        return splitStarts.withUnsafeBufferPointer { starts in
            splitValues.withUnsafeBufferPointer { values in
                for f in 0 ..< features {
                    guard let (below, at) = Self.interval(f, rank: ranks[f], starts, values) else { return false }
                    out[2 &* f] = below
                    out[2 &* f &+ 1] = at
                }
                return true
            }
        }
    }

    /// The thresholds of feature `f` around rank `r`: the one below it (a value of that rank is above it) and the
    /// one at it (the value is at or below it), NaN where there is none; nil for a rank `f` cannot have.
    @inline(__always)
    private static func interval(
        _ f: Int, rank r: Int, _ starts: UnsafeBufferPointer<Int32>, _ values: UnsafeBufferPointer<Float>
    ) -> (below: Float, at: Float)? {
        let lo = Int(starts[f])
        let count = Int(starts[f &+ 1]) &- lo
        guard r >= 0 && r <= count else { return nil }
        return (r > 0 ? values[lo &+ r &- 1] : .nan, r < count ? values[lo &+ r] : .nan)
    }

    /// Walks all trees for `x` (at least ``RandomForest/featureCount`` values) together, one level of every tree
    /// still walking per round: their node loads are independent, so their cache misses overlap. A tree leaves
    /// the round as soon as it reaches its leaf (trees differ much in depth: walking every tree down to the
    /// deepest one, as a branch-free lockstep walk does, costs several times the work), and its leaf record's
    /// first line is loaded right away, while the other trees walk on. Writes the word offset of the reached
    /// leaf's record in ``records`` for every tree to `out`; returns what the record loads read (for a sink).
    @inline(__always)
    func reachedRecords(_ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Int>) -> UInt32 {
        let nodes = self.nodes
        let nodeStart = treeNodeStart
        let records = self.records
        let trees = self.trees
        var touched: UInt32 = 0
        withUnsafeTemporaryAllocation(of: Float.self, capacity: features &* 2) { both in
        for f in 0 ..< features {
            let v = x[f]
            both[f] = v
            both[features &+ f] = v.isNaN ? -.infinity : -v
        }
        // (Never nil for a table that ``matches(leaves:outputs:)``, which has features; the input is a safe stand-in.)
        let x = both.baseAddress.map { UnsafePointer($0) } ?? x
        withUnsafeTemporaryAllocation(of: Int.self, capacity: trees) { current in
            withUnsafeTemporaryAllocation(of: Int.self, capacity: trees) { tree in
                for t in 0 ..< trees {
                    current[t] = Int(nodeStart[t])
                    tree[t] = t
                }
                var walking = trees
                while walking > 0 {
                    var j = 0
                    while j < walking {
                        let index = current[j]
                        let node = nodes[index]
                        let low = Int(node.packed & 0xFF)
                        if low == CompactNode.leafMark {
                            let at = Int(node.threshold.bitPattern)
                            touched |= records[at]
                            out[tree[j]] = at
                            walking &-= 1
                            current[j] = current[walking]
                            tree[j] = tree[walking]
                            continue
                        }
                        current[j] = x[low] <= node.threshold ? index &+ 1 : Int(node.packed &>> 8)
                        j &+= 1
                    }
                }
            }
        }
        }
        return touched
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
        let header = k + 3
        let stride = k + 1
        // At most a header and a padding half per leaf, and an entry per sample.
        let headerTotal = leaves.multipliedReportingOverflow(by: header + 1)
        let entryTotal = forest.sampleRows.count.multipliedReportingOverflow(by: stride)
        guard !headerTotal.overflow, !entryTotal.overflow,
            headerTotal.partialValue < Int(UInt32.max) / 2, entryTotal.partialValue / 2 < Int(UInt32.max) / 2
        else {
            self.init()
            return
        }
        guard forest.nodeCount < CompactNode.maxIndex, forest.featureCount < CompactNode.leafMark,
            forest.treeNodeStart.count == trees + 1
        else {
            self.init()
            return
        }
        var records: [UInt32] = []
        records.reserveCapacity(headerTotal.partialValue &+ entryTotal.partialValue / 2)
        var recordAt = [Int](repeating: 0, count: leaves)
        var leafWeight = [Int](repeating: 0, count: leaves)
        var halves: [UInt16] = []
        let treeScale = Double(trees)
        for t in 0 ..< trees {
            let sampleBase = forest.treeSampleStart[t]
            let leafEnd = forest.treeLeafStart[t + 1]
            for leaf in forest.treeLeafStart[t] ..< leafEnd {
                let first = sampleBase + Int(forest.leafSampleOffset[leaf])
                let end = leaf + 1 < leafEnd
                    ? sampleBase + Int(forest.leafSampleOffset[leaf + 1]) : forest.treeSampleStart[t + 1]
                let at = records.count
                recordAt[leaf] = at
                for o in 0 ..< k { records.append(forest.leafValues[leaf * k + o].bitPattern) }
                var multiplicity = 0
                if first < end {
                    for i in first ..< end { multiplicity += Int(forest.sampleCounts[i]) }
                }
                let scale = multiplicity > 0 ? 1 / (Double(multiplicity) * treeScale) : 0
                leafWeight[leaf] = multiplicity
                records.append(UInt32(truncatingIfNeeded: scale.bitPattern))
                records.append(UInt32(truncatingIfNeeded: scale.bitPattern >> 32))
                records.append(0)  // n, below
                halves.removeAll(keepingCapacity: true)
                var n = 0
                if first < end && multiplicity > 0 {
                    for i in first ..< end {
                        let row = Int(forest.sampleRows[i])
                        guard row >= 0, row < rows, forest.sampleCounts[i] > 0 else { continue }
                        for o in 0 ..< k {
                            halves.append(UInt16(Int(Self.quantize(logRatios[row * k + o])) + Self.binOffset))
                        }
                        halves.append(UInt16(forest.sampleCounts[i]))
                        n += 1
                    }
                }
                records[at + k + 2] = UInt32(n)
                let start = records.count
                records.append(contentsOf: repeatElement(0, count: (halves.count + 1) / 2))
                records.withUnsafeMutableBytes { bytes in
                    for (h, value) in halves.enumerated() {
                        bytes.storeBytes(of: value, toByteOffset: start * 4 + h * 2, as: UInt16.self)
                    }
                }
            }
        }
        guard records.count < Int(UInt32.max) else {
            self.init()
            return
        }
        self.init(outputs: k, forest: forest, records: records, recordAt: recordAt, leafWeight: leafWeight)
    }
}

/// A tree node in 8 bytes: the split threshold, and a word holding the feature (low 8 bits; ``leafMark`` for a
/// leaf) and above it the global index of the right child (a split's left child is the next node). A leaf holds
/// the word offset of its record in place of the threshold. Half the size of ``ForestNode``: a walk touches fewer cache lines.
struct CompactNode {
    static let leafMark = 0xFF
    /// Node and leaf indices must be below this (24 bits).
    static let maxIndex = 1 << 24
    var threshold: Float
    var packed: UInt32

    init(feature: Int, threshold: Float, right: Int) {
        self.threshold = threshold
        packed = UInt32(truncatingIfNeeded: right) << 8 | UInt32(truncatingIfNeeded: feature & 0xFF)
    }

    /// The index of the child that is not the next node.
    var right: Int {
        get { Int(packed &>> 8) }
        set { packed = UInt32(truncatingIfNeeded: newValue) << 8 | packed & 0xFF }
    }

    /// A leaf: its record's word offset in ``LeafTable/records`` in place of the threshold.
    init(record: Int) {
        threshold = Float(bitPattern: UInt32(truncatingIfNeeded: record))
        packed = UInt32(Self.leafMark)
    }
}

/// One read-mostly allocation for a model's prediction tables, in 2 MB pages where the kernel gives them
/// (`madvise(MADV_HUGEPAGE)`; transparent huge pages are commonly in `madvise` mode): a prediction touches a few
/// hundred scattered cache lines of a table of several MB, and with 4 KB pages nearly every one of them also
/// needs a page walk when the TLB is cold, as it is in slurmctld between two submissions.
final class PredictionRegion: @unchecked Sendable {
    static let hugePage = 2 << 20
    let base: UnsafeMutableRawPointer
    private let mapping: UnsafeMutableRawPointer?
    private let mappedBytes: Int

    /// Zero-filled memory of at least `bytes` bytes (on the heap for a few bytes, or when `mmap` fails).
    init(bytes: Int) {
        let size = Swift.max(bytes, 16)
        let rounded = (size &+ Self.hugePage &- 1) & ~(Self.hugePage &- 1)
        let mapped = rounded &+ Self.hugePage
        if size > 4096,
            let m = mmap(nil, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), m != MAP_FAILED,
            let aligned = UnsafeMutableRawPointer(
                bitPattern: (Int(bitPattern: m) &+ Self.hugePage &- 1) & ~(Self.hugePage &- 1))
        {
            base = aligned
            _ = madvise(base, rounded, Int32(MADV_HUGEPAGE))  // a hint: 4 KB pages still work
            mapping = m
            mappedBytes = mapped
        } else {
            base = .allocate(byteCount: size, alignment: 64)
            base.initializeMemory(as: UInt8.self, repeating: 0, count: size)
            mapping = nil
            mappedBytes = 0
        }
    }

    deinit {
        if let mapping { munmap(mapping, mappedBytes) } else { base.deallocate() }
    }
}

/// Scratch memory for one prediction at a time: a weighted histogram over the quantized log-ratios, a byte map of
/// its non-empty bins, the list of those bins in ascending order and their terms. Between uses the histogram and
/// byte map are zero again (a prediction clears exactly what it touched). The list is 2 bytes per bin: a
/// prediction writes a few hundred of them, a few cache lines (with caches cold, every line written is a miss).
final class PredictionWorkspace {
    let slots: Int
    /// Words of 8 bytes per byte map.
    static let markWords = LeafTable.bins / 8
    /// `bins` weights per slot (one histogram per candidate considered), slot after slot.
    let histogram: UnsafeMutablePointer<Double>
    /// Per slot, a byte per bin, 1 where the histogram's bin is non-empty (`bins` bytes each, slot after slot,
    /// read a word at a time).
    let marks: UnsafeMutableRawPointer
    /// The non-empty bins in ascending order (at most `bins`).
    let nonEmpty: UnsafeMutablePointer<UInt16>
    /// Per listed bin, its weight, `e^r` and `e^(−r)` (3 × `bins` values).
    let terms: UnsafeMutablePointer<Double>
    /// Where the prediction stores what its cache-warming loads read, so that they are not optimised away.
    /// (`@exclusivity(unchecked)` here and below: a workspace is used by one prediction at a time, handed out by
    /// ``PredictionWorkspacePool``, so the runtime's dynamic exclusivity checks, three per prediction, are skipped.)
    @exclusivity(unchecked) var sink: UInt32 = 0

    /// The outcomes of the last ``OutcomeCache/capacity`` predictions made with this workspace, by the leaves they
    /// reached (`byLeaves`: one record offset per tree) and by their features' split ranks (`byRanks`: one rank per
    /// feature, ``LeafTable/splitRanks(_:into:)``, which skips the walk too). Keys are compared in full.
    @exclusivity(unchecked) var byLeaves = OutcomeCache()
    @exclusivity(unchecked) var byRanks = OutcomeCache()
    /// The last outcome found or stored by split ranks, with its ranks' intervals: checked first.
    @exclusivity(unchecked) var lastByRanks = SplitIntervals()
    /// Room for one prediction's split ranks.
    @exclusivity(unchecked) private(set) var ranks: UnsafeMutablePointer<Int>
    @exclusivity(unchecked) private var rankCapacity = 0

    /// ``ranks`` with room for `count` values.
    func rankBuffer(count: Int) -> UnsafeMutablePointer<Int> {
        if count > rankCapacity {
            ranks.deallocate()
            ranks = .allocate(capacity: count)
            rankCapacity = count
        }
        return ranks
    }

    init(slots: Int) {
        self.slots = max(slots, 1)
        histogram = .allocate(capacity: LeafTable.bins * self.slots)
        histogram.initialize(repeating: 0, count: LeafTable.bins * self.slots)
        marks = .allocate(byteCount: LeafTable.bins * self.slots, alignment: 64)
        marks.initializeMemory(as: UInt64.self, repeating: 0, count: Self.markWords * self.slots)
        nonEmpty = .allocate(capacity: LeafTable.bins)
        nonEmpty.initialize(repeating: 0, count: LeafTable.bins)
        terms = .allocate(capacity: 3 * LeafTable.bins)
        terms.initialize(repeating: 0, count: 3 * LeafTable.bins)
        ranks = .allocate(capacity: 1)
    }

    deinit {
        histogram.deallocate()
        marks.deallocate()
        nonEmpty.deallocate()
        terms.deallocate()
        ranks.deallocate()
        lastByRanks.deallocate()
    }
}

/// One outcome with the intervals of its split ranks, side by side in one small buffer (two floats per feature), so
/// that a job whose every feature falls in them, as a job submitted again does, is recognised by reading its
/// features and that buffer: a few cache lines. Checking the ranks against the thresholds themselves
/// (``LeafTable/hasSplitRanks(_:_:)``) reads two thresholds per feature scattered over the model, a hundred cache
/// lines that a busy controller has evicted between submissions. Exact: in the intervals, equal ranks.
struct SplitIntervals {
    private var bounds: UnsafeMutablePointer<Float>?
    private var capacity = 0
    private var features = 0
    private(set) var outcome: PredictionOutcome?
    private(set) var hits: UInt64 = 0

    /// Keeps `outcome` with the intervals of `ranks` (nothing kept when the table refuses them).
    mutating func store(_ outcome: PredictionOutcome, ranks: UnsafeBufferPointer<Int>, table: LeafTable) {
        let n = ranks.count &* 2
        if n > capacity {
            bounds?.deallocate()
            bounds = .allocate(capacity: n)
            capacity = n
        }
        guard let bounds, table.splitIntervals(ranks, into: bounds) else {
            self.outcome = nil
            return
        }
        features = ranks.count
        self.outcome = outcome
    }

    /// The kept outcome if every one of the `count` features of `x` lies in its interval.
    @inline(__always)
    mutating func recall(_ x: UnsafePointer<Float>, count: Int) -> PredictionOutcome? {
        guard let outcome, let bounds, count == features else { return nil }
        for f in 0 ..< count where !Self.holds(x[f], below: bounds[2 &* f], at: bounds[2 &* f &+ 1]) { return nil }
        hits &+= 1
        return outcome
    }

    /// Whether `v` lies above `below` and at or below `at` (a NaN bound is no bound; a NaN value is above all).
    @inline(__always)
    static func holds(_ v: Float, below: Float, at: Float) -> Bool {
        !(below == below && v <= below) && !(at == at && !(v <= at))
    }

    func deallocate() { bounds?.deallocate() }
}

/// The outcomes of a workspace's last ``capacity`` predictions by a key of Ints (all keys of one cache the same
/// length), compared in full on a hash match, oldest replaced first; and how often a lookup found its key.
struct OutcomeCache {
    static let capacity = 32
    private var hashes: [UInt64] = []
    private var keys: [Int] = []
    private(set) var outcomes: [PredictionOutcome] = []
    private var next = 0
    private(set) var hits: UInt64 = 0

    /// Looks up the outcome stored under `key`.
    /// - Returns: the key's hash (to ``remember(_:hash:key:)`` the outcome on a miss) and the outcome, if any.
    mutating func recall(_ key: UnsafeBufferPointer<Int>) -> (hash: UInt64, outcome: PredictionOutcome?) {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for r in key { h = (h ^ UInt64(truncatingIfNeeded: r)) &* 0x0000_0100_0000_01B3 }
        let n = key.count
        guard keys.count == hashes.count &* n else { return (h, nil) }
        for i in 0 ..< hashes.count where hashes[i] == h {
            var same = true
            let base = i &* n
            for t in 0 ..< n where keys[base &+ t] != key[t] {
                same = false
                break
            }
            if same {
                hits &+= 1
                return (h, outcomes[i])
            }
        }
        return (h, nil)
    }

    /// Stores `outcome` under `key` (whose hash ``recall(_:)`` gave).
    mutating func remember(_ outcome: PredictionOutcome, hash: UInt64, key: UnsafeBufferPointer<Int>) {
        let n = key.count
        if outcomes.count < Self.capacity {
            guard keys.count == hashes.count &* n else { return }  // keys of another length: keep as is
            hashes.append(hash)
            keys.append(contentsOf: key)
            outcomes.append(outcome)
            return
        }
        guard keys.count == Self.capacity &* n else { return }
        let i = next
        hashes[i] = hash
        // One copy of the key into its place (an element-wise loop checked every index).
        if let from = key.baseAddress, n > 0 {
            keys.withUnsafeMutableBufferPointer { keys in
                keys.baseAddress.map { ($0 + i &* n).update(from: from, count: n) }
            }
        }
        outcomes[i] = outcome
        next = (i &+ 1) % Self.capacity
    }
}

/// What a prediction derives from the leaves it reached: the chosen candidate, its best shift (log scale), the
/// p50 and p90 log-ratios (before the calibration offset) and the expected accuracy.
struct PredictionOutcome: Sendable, Equatable {
    var candidate: Int
    var shift: Double
    var q50: Float
    var q90: Float
    var score: Double
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
    // Guarded by mutex (so not checked dynamically for exclusivity).
    @exclusivity(unchecked) private var free: [PredictionWorkspace] = []

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

    /// Outcome-cache hits (by leaves or by split ranks) of the workspaces now in the pool (tests).
    func outcomeHits() -> UInt64 {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return free.reduce(0) { $0 &+ $1.byLeaves.hits &+ $1.byRanks.hits &+ $1.lastByRanks.hits }
    }

    /// Split-rank hits and leaf hits of the workspaces now in the pool.
    func hitsByKind() -> (ranks: UInt64, leaves: UInt64) {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return free.reduce((0, 0)) { ($0.0 &+ $1.byRanks.hits &+ $1.lastByRanks.hits, $0.1 &+ $1.byLeaves.hits) }
    }

    /// Split-rank hits alone (tests).
    func rankHits() -> UInt64 {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return free.reduce(0) { $0 &+ $1.byRanks.hits &+ $1.lastByRanks.hits }
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
