// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

/// A multi-output regression random forest (CART trees on histogram-binned features) that is also a
/// quantile regression forest (Meinshausen 2006).
///
/// Storage is flat arrays over all trees, no object per node. Tree `t` owns nodes `treeNodeStart[t] ..<
/// treeNodeStart[t+1]`, leaves `treeLeafStart[t] ..< treeLeafStart[t+1]` and leaf samples
/// `treeSampleStart[t] ..< treeSampleStart[t+1]`. Nodes are in pre-order, so the left child of node `i` is
/// `i + 1`; a row goes left when `x[feature] <= threshold` and NaN goes right. Leaf values, leaf sample
/// offsets, sample rows and multiplicities are separate flat arrays. The node fields are interleaved in
/// one array of 16-byte ``ForestNode`` records so that one cache line serves a node visit; model files
/// store them as separate arrays (see ``serialize()``).
///
/// Prediction never traps, whatever the input: NaN and ±inf are ordinary values (NaN always goes right),
/// and a feature vector shorter than ``featureCount`` reads its missing trailing features as NaN (extra
/// trailing values are ignored).
public struct RandomForest: Sendable {
    /// The parameters the forest was trained with (``ForestParameters/threads`` is not stored in model
    /// files: a deserialized forest reports the default).
    public let parameters: ForestParameters
    /// Number of input features.
    public let featureCount: Int
    /// Number of regression outputs.
    public let outputCount: Int
    /// Number of training rows (whose targets are kept for quantiles).
    public let trainingRows: Int

    let treeNodeStart: [Int]
    let treeLeafStart: [Int]
    let treeSampleStart: [Int]
    /// All nodes of all trees, tree after tree.
    let nodes: [ForestNode]
    /// `leafValues[leaf * outputCount + k]`: mean of output `k` over the leaf's in-bag rows.
    let leafValues: [Float]
    /// Per leaf, offset of its first sample, local to the tree's sample range.
    let leafSampleOffset: [Int32]
    /// In-bag training rows grouped by leaf.
    let sampleRows: [Int32]
    /// In-bag multiplicity of each entry of `sampleRows` (a row drawn more than 255 times takes several entries).
    let sampleCounts: [UInt8]
    /// Training targets, row-major `trainingRows × outputCount`.
    let targets: [Float]
    /// Per entry of `sampleRows`, the row with its neighbour weight `multiplicity / (leaf in-bag size × treeCount)`,
    /// exactly as ``forEachNeighbour(_:_:)`` computes it, side by side so that a leaf's neighbours are one run of
    /// memory. Derived when the forest is built or decoded, not stored in model files.
    let neighbourSamples: [NeighbourSample]

    /// Number of trees.
    public var treeCount: Int { treeNodeStart.count - 1 }

    /// Total number of nodes over all trees.
    public var nodeCount: Int { nodes.count }

    /// Total number of leaves over all trees.
    public var leafCount: Int { leafSampleOffset.count }

    /// The stored training target of `row` for `output` (the values ``forEachNeighbour(_:_:)`` weighs), or NaN
    /// if either index is out of range.
    /// - Complexity: O(1).
    public func trainingTarget(row: Int, output: Int = 0) -> Float {
        guard row >= 0, row < trainingRows, output >= 0, output < outputCount else { return .nan }
        return targets[row &* outputCount &+ output]
    }

    init(
        parameters: ForestParameters, featureCount: Int, outputCount: Int, trainingRows: Int, targets: [Float],
        trees: [GrownTree]
    ) {
        self.parameters = parameters
        self.featureCount = featureCount
        self.outputCount = outputCount
        self.trainingRows = trainingRows
        self.targets = targets
        var nodeStart = [0]
        var leafStart = [0]
        var sampleStart = [0]
        var packed: [ForestNode] = []
        var values: [Float] = []
        var offsets: [Int32] = []
        var rows: [Int32] = []
        var counts: [UInt8] = []
        let nodeTotal = trees.reduce(0) { $0 + $1.feature.count }
        let samples = trees.reduce(0) { $0 + $1.sampleRows.count }
        let leaves = trees.reduce(0) { $0 + $1.leafSampleOffset.count }
        packed.reserveCapacity(nodeTotal)
        values.reserveCapacity(leaves * outputCount)
        offsets.reserveCapacity(leaves)
        rows.reserveCapacity(samples)
        counts.reserveCapacity(samples)
        for tree in trees {
            for i in tree.feature.indices {
                packed.append(
                    tree.feature[i] < 0
                        ? ForestNode(leafAt: Int32(truncatingIfNeeded: i), leaf: tree.right[i])
                        : ForestNode(feature: tree.feature[i], threshold: tree.threshold[i], right: tree.right[i]))
            }
            values.append(contentsOf: tree.leafValues)
            offsets.append(contentsOf: tree.leafSampleOffset)
            rows.append(contentsOf: tree.sampleRows)
            counts.append(contentsOf: tree.sampleCounts)
            nodeStart.append(packed.count)
            leafStart.append(offsets.count)
            sampleStart.append(rows.count)
        }
        treeNodeStart = nodeStart
        treeLeafStart = leafStart
        treeSampleStart = sampleStart
        // Same expressions as forEachNeighbour's, so the weights are bit-identical.
        let treeScale = Double(max(trees.count, 1))
        var weighted = [NeighbourSample](repeating: NeighbourSample(row: 0, weight: 0), count: counts.count)
        for i in 0 ..< rows.count { weighted[i].row = rows[i] }
        for t in 0 ..< trees.count {
            for leaf in leafStart[t] ..< leafStart[t + 1] {
                let first = sampleStart[t] + Int(offsets[leaf])
                let end = leaf + 1 < leafStart[t + 1] ? sampleStart[t] + Int(offsets[leaf + 1]) : sampleStart[t + 1]
                guard first < end else { continue }
                var total = 0
                for i in first ..< end { total &+= Int(counts[i]) }
                guard total > 0 else { continue }
                let scale = 1 / (Double(total) * treeScale)
                for i in first ..< end { weighted[i].weight = Float(Double(counts[i]) * scale) }
            }
        }
        neighbourSamples = weighted
        nodes = packed
        leafValues = values
        leafSampleOffset = offsets
        sampleRows = rows
        sampleCounts = counts
    }

    /// Trains a forest.
    ///
    /// Multi-output regression: the split criterion is the total squared error summed over outputs (like
    /// scikit-learn's multi-output MSE). Features may contain NaN and ±inf (NaN is binned last and goes
    /// right); targets must be finite. The result is bit-identical for any ``ForestParameters/threads``.
    ///
    /// - Parameters:
    ///   - features: `rows × featureCount`.
    ///   - targets: `rows × outputCount`.
    /// - Throws: ``ForestError`` for inconsistent shapes, empty data, non-finite targets or bad parameters.
    /// - Complexity: about O(treeCount · depth · rows · featuresPerSplit / threads).
    public static func train(
        features: Matrix, targets: Matrix, parameters: ForestParameters
    ) throws(ForestError) -> RandomForest {
        try parameters.validate()
        guard features.isConsistent else {
            throw ForestError(
                .invalidShape, "features: \(features.values.count) values for \(features.rows)×\(features.columns)")
        }
        guard targets.isConsistent else {
            throw ForestError(
                .invalidShape, "targets: \(targets.values.count) values for \(targets.rows)×\(targets.columns)")
        }
        guard features.rows == targets.rows else {
            throw ForestError(.invalidShape, "features have \(features.rows) rows but targets have \(targets.rows)")
        }
        guard features.rows > 0 else { throw ForestError(.emptyData, "no training rows") }
        guard features.columns > 0 else { throw ForestError(.emptyData, "no feature columns") }
        guard targets.columns > 0 else { throw ForestError(.emptyData, "no target columns") }
        guard features.rows <= 1 << 30, features.columns <= 1 << 24, targets.columns <= 1 << 16 else {
            throw ForestError(.invalidShape, "matrix too large: \(features.rows) rows, \(features.columns) features")
        }
        guard parameters.sampleFraction * Double(features.rows) <= Double(Int32.max) else {
            throw ForestError(.invalidParameter, "sampleFraction × rows exceeds \(Int32.max) draws per tree")
        }
        if let bad = targets.values.firstIndex(where: { !$0.isFinite }) {
            throw ForestError(
                .nonFiniteTarget,
                "target row \(bad / targets.columns) output \(bad % targets.columns) is \(targets.values[bad])")
        }
        let threads = max(1, parameters.threads)
        let binned = BinnedFeatures(features: features, maxBins: parameters.maxBins, threads: threads)
        let mtry = parameters.featuresPerSplit == 0
            ? max(1, features.columns / 3) : min(parameters.featuresPerSplit, features.columns)
        let grower = TreeGrower(
            data: binned, targets: targets.values, outputs: targets.columns, minLeaf: parameters.minSamplesLeaf,
            maxDepth: parameters.maxDepth, featuresPerSplit: mtry, sampleFraction: parameters.sampleFraction,
            bootstrap: parameters.bootstrap, seed: parameters.seed)
        let trees = parallelMap(count: parameters.treeCount, threads: threads) { grower.grow(treeIndex: $0) }
        return RandomForest(
            parameters: parameters, featureCount: features.columns, outputCount: targets.columns,
            trainingRows: features.rows, targets: targets.values, trees: trees)
    }

    /// Trees walked together: their node loads are independent, so the CPU overlaps their cache misses.
    static let lockstepTrees = 32

    /// Calls `body(treeIndex, globalLeafIndex)` for the leaf `x` reaches in every tree, in tree order.
    /// A short `x` is padded with NaN in a temporary (stack) buffer first.
    @inline(__always)
    private func forEachLeaf(_ x: UnsafeBufferPointer<Float>, _ body: (Int, Int) -> Void) {
        forEachLeafGroup(x) { first, leaves in
            for j in 0 ..< leaves.count { body(first &+ j, leaves[j]) }
        }
    }

    /// Calls `body(firstTree, globalLeafIndices)` for each group of up to ``lockstepTrees`` consecutive trees,
    /// in tree order, with the leaves `x` reaches in them. A short `x` is padded with NaN in a temporary
    /// (stack) buffer first.
    @inline(__always)
    private func forEachLeafGroup(_ x: UnsafeBufferPointer<Float>, _ body: (Int, UnsafeBufferPointer<Int>) -> Void) {
        if x.count >= featureCount {
            walk(x, body)
        } else {
            withUnsafeTemporaryAllocation(of: Float.self, capacity: featureCount) { padded in
                for i in 0 ..< featureCount { padded[i] = i < x.count ? x[i] : .nan }
                walk(UnsafeBufferPointer(padded), body)
            }
        }
    }

    /// Walks all trees, `lockstepTrees` at a time, without data-dependent branches: a leaf loops onto itself
    /// (its threshold is NaN and its right child is itself), and a group is done when no node moved.
    /// Requires `x.count >= featureCount`; node, feature and leaf indices are valid by construction
    /// (training) or by validation (deserialization).
    @inline(__always)
    private func walk(_ x: UnsafeBufferPointer<Float>, _ body: (Int, UnsafeBufferPointer<Int>) -> Void) {
        treeNodeStart.withUnsafeBufferPointer { nodeStart in
            treeLeafStart.withUnsafeBufferPointer { leafStart in
                nodes.withUnsafeBufferPointer { nodes in
                    withUnsafeTemporaryAllocation(of: Int.self, capacity: Self.lockstepTrees) { current in
                        let trees = nodeStart.count - 1
                        var first = 0
                        while first < trees {
                            let group = min(Self.lockstepTrees, trees - first)
                            for j in 0 ..< group { current[j] = nodeStart[first &+ j] }
                            var moving = true
                            while moving {
                                moving = false
                                for j in 0 ..< group {
                                    let index = current[j]
                                    let node = nodes[index]
                                    let left = index &+ 1
                                    let jump = nodeStart[first &+ j] &+ Int(node.right) &- left
                                    let goesLeft = x[Int(node.feature)] <= node.threshold
                                    let next = left &+ (jump & (Int(unsafeBitCast(goesLeft, to: UInt8.self)) &- 1))
                                    moving = moving || next != index
                                    current[j] = next
                                }
                            }
                            for j in 0 ..< group {
                                current[j] = leafStart[first &+ j] &+ Int(nodes[current[j]].leaf)
                            }
                            body(first, UnsafeBufferPointer(rebasing: current[0 ..< group]))
                            first &+= group
                        }
                    }
                }
            }
        }
    }

    /// Writes the global leaf index `x` reaches in every tree to `out` (``treeCount`` values, in tree order);
    /// missing trailing features of `x` count as NaN. Allocation-free.
    /// - Complexity: O(treeCount · depth).
    func leafIndices(_ x: UnsafeBufferPointer<Float>, into out: UnsafeMutablePointer<Int>) {
        forEachLeafGroup(x) { first, leaves in
            for j in 0 ..< leaves.count { out[first &+ j] = leaves[j] }
        }
    }

    /// Mean prediction per output: the average over trees of the leaf means. Allocation-free.
    ///
    /// Writes `min(out.count, outputCount)` values; missing trailing features of `x` count as NaN.
    /// - Complexity: O(treeCount · depth).
    public func predict(_ x: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>) {
        let n = min(out.count, outputCount)
        guard n > 0 else { return }
        let k = outputCount
        let scale = 1 / Float(max(treeCount, 1))
        leafValues.withUnsafeBufferPointer { values in
            if n == 1 {
                var sum: Float = 0
                forEachLeaf(x) { _, leaf in sum += values[leaf &* k] }
                out[0] = sum * scale
            } else {
                for o in 0 ..< n { out[o] = 0 }
                forEachLeaf(x) { _, leaf in
                    let base = leaf &* k
                    for o in 0 ..< n { out[o] += values[base &+ o] }
                }
                for o in 0 ..< n { out[o] *= scale }
            }
        }
    }

    /// Mean prediction per output (``outputCount`` values); see ``predict(_:into:)``.
    public func predict(_ x: [Float]) -> [Float] {
        var out = [Float](repeating: 0, count: outputCount)
        x.withUnsafeBufferPointer { input in
            out.withUnsafeMutableBufferPointer { predict(input, into: $0) }
        }
        return out
    }

    /// Quantile regression forest neighbours (Meinshausen 2006): visits the training rows that share a leaf
    /// with `x` in each tree, with weight `(in-bag multiplicity / leaf in-bag size) / treeCount`. The
    /// weights sum to 1 (up to rounding). A row that shares leaves with `x` in several trees is visited once
    /// per tree. Allocation-free.
    /// - Complexity: O(treeCount · (depth + leaf size)).
    public func forEachNeighbour(_ x: UnsafeBufferPointer<Float>, _ body: (_ row: Int32, _ weight: Float) -> Void) {
        let trees = Double(max(treeCount, 1))
        treeSampleStart.withUnsafeBufferPointer { sampleStart in
            treeLeafStart.withUnsafeBufferPointer { leafStart in
                leafSampleOffset.withUnsafeBufferPointer { offsets in
                    sampleRows.withUnsafeBufferPointer { rows in
                        sampleCounts.withUnsafeBufferPointer { counts in
                            forEachLeaf(x) { tree, leaf in
                                let base = sampleStart[tree]
                                let first = base &+ Int(offsets[leaf])
                                let end = leaf &+ 1 < leafStart[tree &+ 1]
                                    ? base &+ Int(offsets[leaf &+ 1]) : sampleStart[tree &+ 1]
                                var total = 0
                                for i in first ..< end { total &+= Int(counts[i]) }
                                guard total > 0 else { return }
                                let scale = 1 / (Double(total) * trees)
                                for i in first ..< end {
                                    body(rows[i], Float(Double(counts[i]) * scale))
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// ``predict(_:into:)`` and ``forEachNeighbour(_:_:)`` from one traversal: writes the same mean outputs
    /// (same summation order, so bit-identical) and visits the same neighbours with the same weights, in the
    /// same order. Allocation-free.
    /// - Complexity: O(treeCount · (depth + leaf size)).
    @inline(__always)
    func predict(
        _ x: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>,
        neighbours body: (_ row: Int32, _ weight: Float) -> Void
    ) {
        let n = min(out.count, outputCount)
        let k = outputCount
        for o in 0 ..< n { out[o] = 0 }
        leafValues.withUnsafeBufferPointer { values in
            neighbourSamples.withUnsafeBufferPointer { samples in
                treeSampleStart.withUnsafeBufferPointer { sampleStart in
                    treeLeafStart.withUnsafeBufferPointer { leafStart in
                        leafSampleOffset.withUnsafeBufferPointer { offsets in
                            forEachLeafGroup(x) { firstTree, leaves in
                                // Two passes over the group's leaves: the first, short and without
                                // dependencies between trees, lets the CPU overlap their cache misses.
                                for leaf in leaves {
                                    let valueBase = leaf &* k
                                    for o in 0 ..< n { out[o] += values[valueBase &+ o] }
                                }
                                for j in 0 ..< leaves.count {
                                    let leaf = leaves[j]
                                    let tree = firstTree &+ j
                                    let base = sampleStart[tree]
                                    let first = base &+ Int(offsets[leaf])
                                    let end = leaf &+ 1 < leafStart[tree &+ 1]
                                        ? base &+ Int(offsets[leaf &+ 1]) : sampleStart[tree &+ 1]
                                    for i in first ..< end { body(samples[i].row, samples[i].weight) }
                                }
                            }
                        }
                    }
                }
            }
        }
        let meanScale = 1 / Float(max(treeCount, 1))
        for o in 0 ..< n { out[o] *= meanScale }
    }

    /// Weighted quantiles (Meinshausen's quantile regression forest) of the stored training targets of
    /// `output` among the neighbours of `x`.
    ///
    /// The quantile at level α is the smallest neighbour target whose cumulative weight reaches α.
    /// Levels are clamped to [0, 1]; a NaN level gives NaN; an `output` out of range gives all NaN.
    /// - Returns: one value per level, in the order of `levels`.
    /// - Complexity: O(m log m) for m neighbour entries (about treeCount · leaf size).
    public func quantiles(_ x: [Float], levels: [Double], output: Int = 0) -> [Float] {
        guard output >= 0, output < outputCount, !levels.isEmpty else {
            return [Float](repeating: .nan, count: levels.count)
        }
        // Sort keys: the target's bits mapped to an order-preserving unsigned integer in the high half, the
        // entry number in the low half (targets are finite, so no NaN ordering issues).
        var keys: [UInt64] = []
        var weights: [Float] = []
        keys.reserveCapacity(treeCount &* 16)
        weights.reserveCapacity(treeCount &* 16)
        let k = outputCount
        targets.withUnsafeBufferPointer { y in
            x.withUnsafeBufferPointer { input in
                forEachNeighbour(input) { row, weight in
                    let bits = y[Int(row) &* k &+ output].bitPattern
                    let ordered = bits & 0x8000_0000 != 0 ? ~bits : bits | 0x8000_0000
                    keys.append(UInt64(ordered) << 32 | UInt64(truncatingIfNeeded: weights.count))
                    weights.append(weight)
                }
            }
        }
        guard !keys.isEmpty else { return [Float](repeating: .nan, count: levels.count) }
        keys.sort()
        var cumulative = [Double](repeating: 0, count: keys.count)
        var running = 0.0
        for i in keys.indices {
            running += Double(weights[Int(truncatingIfNeeded: keys[i] & 0xFFFF_FFFF)])
            cumulative[i] = running
        }
        return levels.map { level -> Float in
            guard !level.isNaN else { return .nan }
            let target = min(max(level, 0), 1) * running
            var low = 0
            var high = keys.count - 1
            while low < high {
                let mid = (low + high) >> 1
                if cumulative[mid] >= target { high = mid } else { low = mid + 1 }
            }
            let ordered = UInt32(truncatingIfNeeded: keys[low] >> 32)
            return Float(bitPattern: ordered & 0x8000_0000 != 0 ? ordered & 0x7FFF_FFFF : ~ordered)
        }
    }
}

/// A training row that shares a leaf, with its quantile-regression-forest weight in that tree.
struct NeighbourSample: Sendable {
    var row: Int32
    var weight: Float
}

/// One tree node, 16 bytes. A split sends `x` to the left child (the next node) when
/// `x[feature] <= threshold` and otherwise to `right`; a leaf has `threshold` NaN, `feature` 0 and `right`
/// pointing at itself, so walking it is a no-op, and `leaf` is its tree-local leaf index (-1 for splits).
struct ForestNode: Sendable, Equatable {
    /// Split threshold (NaN for a leaf).
    var threshold: Float
    /// Split feature (0 for a leaf).
    var feature: Int32
    /// Tree-local index of the right child (the node itself for a leaf).
    var right: Int32
    /// Tree-local leaf index, or -1 for a split.
    var leaf: Int32

    /// A split node.
    init(feature: Int32, threshold: Float, right: Int32) {
        self.threshold = threshold
        self.feature = feature
        self.right = right
        self.leaf = -1
    }

    /// A leaf at tree-local node index `index`.
    init(leafAt index: Int32, leaf: Int32) {
        threshold = .nan
        feature = 0
        right = index
        self.leaf = leaf
    }

    /// Whether this is a leaf.
    var isLeaf: Bool { leaf >= 0 }
}
