// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

extension RuntimeModel {
    /// Payload versions ``init(deserializing:)`` reads.
    public static let supportedPayloadVersions: ClosedRange<UInt16> = 1 ... 1

    /// The model as a container of kind ``ModelKind/runtimeModel``.
    ///
    /// Payload version 1: the feature schema (name, version, feature names — a model says which features it
    /// expects), the candidate names in order, `refineScale`, `p90Offset`, the log-ratio table
    /// (`trainingRows × candidates` Floats) and the embedded forest container.
    public func serialize() -> [UInt8] {
        var w = BinaryWriter(capacity: 1024 + logRatios.count * 4)
        w.write(schema.name)
        w.write(schema.version)
        w.write(UInt32(truncatingIfNeeded: schema.features.count))
        for f in schema.features { w.write(f) }
        w.write(UInt32(truncatingIfNeeded: RuntimeCandidate.count))
        for c in RuntimeCandidate.allCases { w.write(c.name) }
        w.write(parameters.refineScale)
        w.write(p90Offset)
        w.write(logRatios)
        let forestBytes = forest.serialize()
        w.write(UInt64(forestBytes.count))
        w.writeRaw(forestBytes)
        return ModelContainer.wrap(kind: .runtimeModel, version: Self.payloadVersion, payload: w.bytes)
    }

    /// Reads and validates a runtime model. A model trained with another feature schema or candidate set
    /// than this build's is refused (its columns would be misread), as is any truncated, foreign or corrupt file.
    /// - Throws: ``ModelFileError``; never traps.
    public init(deserializing bytes: [UInt8]) throws(ModelFileError) {
        let (_, payload) = try ModelContainer.unwrap(
            bytes, kind: .runtimeModel, supportedVersions: Self.supportedPayloadVersions)
        var r = BinaryReader(payload, context: "runtime model")
        let schemaName = try r.readString()
        let schemaVersion = try r.read(UInt16.self)
        let featureCount = Int(try r.read(UInt32.self))
        guard featureCount <= r.remaining else { throw .truncated(expected: featureCount, actual: r.remaining) }
        var names: [String] = []
        for _ in 0 ..< featureCount { names.append(try r.readString()) }
        let expected = FeatureSchema.submitTime
        guard schemaName == expected.name, schemaVersion == expected.version, names == expected.features else {
            throw .malformed(
                "feature schema \(schemaName.prefix(64)) v\(schemaVersion) (\(names.count) features) does not match "
                    + "this build's \(expected.name) v\(expected.version) (\(expected.count) features); retrain the model")
        }
        let candidateCount = Int(try r.read(UInt32.self))
        guard candidateCount <= r.remaining else { throw .truncated(expected: candidateCount, actual: r.remaining) }
        var candidates: [String] = []
        for _ in 0 ..< candidateCount { candidates.append(try r.readString()) }
        guard candidates == RuntimeCandidate.allCases.map(\.name) else {
            throw .malformed(
                "\(candidates.count) candidates (\(candidates.prefix(12).joined(separator: ",").prefix(256))) do not "
                    + "match this build's \(RuntimeCandidate.count); retrain the model")
        }
        let refine = try r.readBool()
        let offset = try r.readFloat()
        guard offset.isFinite else { throw .malformed("p90 offset is not finite") }
        let ratios = try r.readFloatArray()
        let forestLength = try r.read(UInt64.self)
        guard forestLength == UInt64(r.remaining) else {
            throw .malformed("embedded forest length \(forestLength) does not match the \(r.remaining) bytes left")
        }
        let forest = try RandomForest(deserializing: try r.readRaw(count: Int(forestLength)))
        guard forest.featureCount == expected.count, forest.outputCount == RuntimeCandidate.count else {
            throw .malformed("forest shape \(forest.featureCount)×\(forest.outputCount) does not match the schema")
        }
        let rows = forest.trainingRows.multipliedReportingOverflow(by: RuntimeCandidate.count)
        guard !rows.overflow, ratios.count == rows.partialValue, ratios.allSatisfy(\.isFinite) else {
            throw .malformed("log-ratio table has \(ratios.count) values, expected \(forest.trainingRows) rows")
        }
        self.init(
            schema: expected, forest: forest,
            parameters: RuntimeModelParameters(forest: forest.parameters, refineScale: refine), logRatios: ratios,
            p90Offset: offset)
    }
}
