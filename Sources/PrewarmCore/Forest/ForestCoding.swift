// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

extension RandomForest {
    /// The payload version ``serialize()`` writes.
    public static let payloadVersion: UInt16 = 1
    /// Payload versions ``init(deserializing:)`` reads.
    public static let supportedPayloadVersions: ClosedRange<UInt16> = 1 ... 1

    /// The forest as a model container of kind ``ModelKind/forest``.
    ///
    /// Payload version 1 (little-endian): `featureCount`, `outputCount`, `trainingRows`, `treeCount` as
    /// `UInt32`; the parameters (`treeCount`, `maxDepth`, `minSamplesLeaf`, `featuresPerSplit` as `Int64`,
    /// `sampleFraction` as `Double`, `bootstrap` as one byte, `maxBins` as `Int64`, `seed` as `UInt64`);
    /// the training targets (`[Float]`); then per tree the arrays `feature [Int32]`, `threshold [Float]`,
    /// `right [Int32]`, `leafValues [Float]`, `leafSampleOffset [Int32]`, `sampleRows [Int32]`,
    /// `sampleCounts [UInt8]`, each prefixed with a `UInt64` count. Deterministic: the same forest always
    /// gives the same bytes (the thread count is not stored).
    /// - Complexity: O(model size).
    public func serialize() -> [UInt8] {
        var writer = BinaryWriter(
            capacity: 256 + targets.count * 4 + nodeCount * 12 + leafValues.count * 4 + leafCount * 4
                + sampleRows.count * 5 + treeCount * 56)
        writer.write(UInt32(truncatingIfNeeded: featureCount))
        writer.write(UInt32(truncatingIfNeeded: outputCount))
        writer.write(UInt32(truncatingIfNeeded: trainingRows))
        writer.write(UInt32(truncatingIfNeeded: treeCount))
        writer.write(Int64(parameters.treeCount))
        writer.write(Int64(parameters.maxDepth))
        writer.write(Int64(parameters.minSamplesLeaf))
        writer.write(Int64(parameters.featuresPerSplit))
        writer.write(parameters.sampleFraction)
        writer.write(parameters.bootstrap)
        writer.write(Int64(parameters.maxBins))
        writer.write(parameters.seed)
        writer.write(targets)
        for tree in 0 ..< treeCount {
            let nodes = treeNodeStart[tree] ..< treeNodeStart[tree + 1]
            let leaves = treeLeafStart[tree] ..< treeLeafStart[tree + 1]
            let samples = treeSampleStart[tree] ..< treeSampleStart[tree + 1]
            let treeNodes = self.nodes[nodes]
            writer.write(treeNodes.map { $0.isLeaf ? Int32(-1) : $0.feature })
            writer.write(treeNodes.map { $0.isLeaf ? Float(0) : $0.threshold })
            writer.write(treeNodes.map { $0.isLeaf ? $0.leaf : $0.right })
            writer.write(Array(leafValues[leaves.lowerBound * outputCount ..< leaves.upperBound * outputCount]))
            writer.write(Array(leafSampleOffset[leaves]))
            writer.write(Array(sampleRows[samples]))
            writer.write(Array(sampleCounts[samples]))
        }
        return ModelContainer.wrap(kind: .forest, version: Self.payloadVersion, payload: writer.bytes)
    }

    /// Reads and fully validates a forest written by ``serialize()``.
    ///
    /// Beyond the container checks (magic, versions, length, checksum, kind), the structure is validated so
    /// that a checksum-valid but inconsistent payload is refused rather than trusted: feature indices below
    /// `featureCount`, finite thresholds, right children strictly after their parent (no cycles) and inside
    /// the tree, leaf indices in range, leaf sample ranges non-empty and inside the arrays, sample rows below
    /// `trainingRows`, finite targets and leaf values, and no trailing bytes.
    /// - Throws: ``ModelFileError``; never traps.
    /// - Complexity: O(file size).
    public init(deserializing bytes: [UInt8]) throws(ModelFileError) {
        let (_, payload) = try ModelContainer.unwrap(
            bytes, kind: .forest, supportedVersions: Self.supportedPayloadVersions)
        var reader = BinaryReader(payload, context: "forest payload")
        let featureCount = Int(try reader.read(UInt32.self))
        let outputCount = Int(try reader.read(UInt32.self))
        let trainingRows = Int(try reader.read(UInt32.self))
        let treeCount = Int(try reader.read(UInt32.self))
        guard featureCount >= 1, featureCount <= 1 << 24 else {
            throw .malformed("forest header: featureCount \(featureCount) out of range")
        }
        guard outputCount >= 1, outputCount <= 1 << 16 else {
            throw .malformed("forest header: outputCount \(outputCount) out of range")
        }
        guard trainingRows >= 1, trainingRows <= 1 << 30 else {
            throw .malformed("forest header: trainingRows \(trainingRows) out of range")
        }
        guard treeCount >= 1 else { throw .malformed("forest header: treeCount is 0") }

        var parameters = ForestParameters()
        parameters.treeCount = Int(truncatingIfNeeded: try reader.read(Int64.self))
        parameters.maxDepth = Int(truncatingIfNeeded: try reader.read(Int64.self))
        parameters.minSamplesLeaf = Int(truncatingIfNeeded: try reader.read(Int64.self))
        parameters.featuresPerSplit = Int(truncatingIfNeeded: try reader.read(Int64.self))
        parameters.sampleFraction = try reader.readDouble()
        parameters.bootstrap = try reader.readBool()
        parameters.maxBins = Int(truncatingIfNeeded: try reader.read(Int64.self))
        parameters.seed = try reader.read(UInt64.self)
        do {
            try parameters.validate()
        } catch {
            throw .malformed("forest parameters: \(error.message)")
        }
        guard parameters.treeCount == treeCount else {
            throw .malformed("forest parameters: treeCount \(parameters.treeCount) but \(treeCount) trees stored")
        }

        let targets = try reader.readFloatArray()
        let (expectedTargets, overflow) = trainingRows.multipliedReportingOverflow(by: outputCount)
        guard !overflow, targets.count == expectedTargets else {
            throw .malformed("targets: \(targets.count) values, expected \(trainingRows) rows × \(outputCount) outputs")
        }
        if let bad = targets.firstIndex(where: { !$0.isFinite }) {
            throw .malformed("targets: value \(bad) is not finite")
        }
        // Each tree takes at least 7 count prefixes: refuse absurd tree counts before looping.
        guard treeCount <= reader.remaining / 56 else {
            throw .truncated(expected: Int.max, actual: payload.count, what: "forest payload (\(treeCount) trees)")
        }

        var trees: [GrownTree] = []
        trees.reserveCapacity(treeCount)
        for t in 0 ..< treeCount {
            var tree = GrownTree()
            tree.feature = try reader.readArray(of: Int32.self)
            tree.threshold = try reader.readFloatArray()
            tree.right = try reader.readArray(of: Int32.self)
            tree.leafValues = try reader.readFloatArray()
            tree.leafSampleOffset = try reader.readArray(of: Int32.self)
            tree.sampleRows = try reader.readArray(of: Int32.self)
            tree.sampleCounts = try reader.readArray(of: UInt8.self)
            try Self.validate(
                tree, index: t, featureCount: featureCount, outputCount: outputCount, trainingRows: trainingRows)
            trees.append(tree)
        }
        guard reader.isAtEnd else {
            throw .malformed("forest payload: \(reader.remaining) unexpected bytes after the last tree")
        }
        self.init(
            parameters: parameters, featureCount: featureCount, outputCount: outputCount,
            trainingRows: trainingRows, targets: targets, trees: trees)
    }

    /// Structural checks that make traversal of `tree` safe and terminating.
    static func validate(
        _ tree: GrownTree, index t: Int, featureCount: Int, outputCount: Int, trainingRows: Int
    ) throws(ModelFileError) {
        let nodes = tree.feature.count
        guard nodes >= 1 else { throw .malformed("tree \(t): no nodes") }
        guard nodes <= Int(Int32.max) else { throw .malformed("tree \(t): too many nodes (\(nodes))") }
        guard tree.threshold.count == nodes, tree.right.count == nodes else {
            throw .malformed(
                "tree \(t): \(nodes) features but \(tree.threshold.count) thresholds and \(tree.right.count) children")
        }
        guard tree.leafValues.count % outputCount == 0 else {
            throw .malformed(
                "tree \(t): \(tree.leafValues.count) leaf values is not a multiple of \(outputCount) outputs")
        }
        let leaves = tree.leafValues.count / outputCount
        guard leaves >= 1, tree.leafSampleOffset.count == leaves else {
            throw .malformed("tree \(t): \(leaves) leaves but \(tree.leafSampleOffset.count) leaf sample offsets")
        }
        let samples = tree.sampleRows.count
        guard tree.sampleCounts.count == samples else {
            throw .malformed("tree \(t): \(samples) sample rows but \(tree.sampleCounts.count) sample counts")
        }
        for node in 0 ..< nodes {
            let feature = Int(tree.feature[node])
            let child = Int(tree.right[node])
            if feature == -1 {
                guard child >= 0, child < leaves else {
                    throw .malformed("tree \(t) node \(node): leaf index \(child) out of range (\(leaves) leaves)")
                }
            } else {
                guard feature >= 0, feature < featureCount else {
                    throw .malformed(
                        "tree \(t) node \(node): feature index \(feature) out of range (\(featureCount) features)")
                }
                guard tree.threshold[node].isFinite else {
                    throw .malformed("tree \(t) node \(node): threshold \(tree.threshold[node]) is not finite")
                }
                guard node + 1 < nodes, child > node + 1, child < nodes else {
                    throw .malformed("tree \(t) node \(node): child index \(child) out of range")
                }
            }
        }
        if let bad = tree.leafValues.firstIndex(where: { !$0.isFinite }) {
            throw .malformed("tree \(t) leaf \(bad / outputCount): value is not finite")
        }
        var previous = -1
        for leaf in 0 ..< leaves {
            let offset = Int(tree.leafSampleOffset[leaf])
            let valid = leaf == 0 ? offset == 0 : offset > previous
            guard valid, offset < samples else {
                throw .malformed("tree \(t) leaf \(leaf): sample offset \(offset) out of range or out of order")
            }
            previous = offset
        }
        for i in 0 ..< samples {
            let row = Int(tree.sampleRows[i])
            guard row >= 0, row < trainingRows else {
                throw .malformed("tree \(t) sample \(i): row \(row) out of range (\(trainingRows) rows)")
            }
            guard tree.sampleCounts[i] > 0 else {
                throw .malformed("tree \(t) sample \(i): multiplicity 0")
            }
        }
    }
}
