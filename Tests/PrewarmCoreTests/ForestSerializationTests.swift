// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

import PrewarmCore
import Testing

/// Byte positions inside a forest payload, found by parsing it with the public ``BinaryReader``.
private struct PayloadMap {
    var payload: [UInt8]
    var targets = 0
    var feature = 0
    var threshold = 0
    var right = 0
    var leafValues = 0
    var leafOffsets = 0
    var sampleRows = 0
    var sampleCounts = 0
    var end = 0
    var features: [Int32] = []
    var rights: [Int32] = []

    init(forest: RandomForest) throws {
        payload = try ModelContainer.unwrap(forest.serialize(), kind: .forest, supportedVersions: 1 ... 1).payload
        var reader = BinaryReader(payload)
        for _ in 0 ..< 4 { _ = try reader.read(UInt32.self) }
        for _ in 0 ..< 4 { _ = try reader.read(Int64.self) }
        _ = try reader.readDouble()
        _ = try reader.readBool()
        _ = try reader.read(Int64.self)
        _ = try reader.read(UInt64.self)
        targets = reader.position
        _ = try reader.readFloatArray()
        feature = reader.position
        features = try reader.readArray(of: Int32.self)
        threshold = reader.position
        _ = try reader.readFloatArray()
        right = reader.position
        rights = try reader.readArray(of: Int32.self)
        leafValues = reader.position
        _ = try reader.readFloatArray()
        leafOffsets = reader.position
        _ = try reader.readArray(of: Int32.self)
        sampleRows = reader.position
        _ = try reader.readArray(of: Int32.self)
        sampleCounts = reader.position
        _ = try reader.readArray(of: UInt8.self)
        end = reader.position
    }

    /// Byte offset of element `i` of the array whose count prefix starts at `array`.
    static func element(_ array: Int, _ i: Int, size: Int = 4) -> Int { array + 8 + i * size }

    func patched(at offset: Int, _ value: UInt32) -> [UInt8] {
        var bytes = payload
        for b in 0 ..< 4 { bytes[offset + b] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(b))) }
        return ModelContainer.wrap(kind: .forest, version: 1, payload: bytes)
    }

    var firstSplit: Int { features.firstIndex { $0 >= 0 } ?? 0 }
    var firstLeaf: Int { features.firstIndex { $0 < 0 } ?? 0 }
}

private func refusal(_ bytes: [UInt8]) -> ModelFileError? {
    do {
        _ = try RandomForest(deserializing: bytes)
        return nil
    } catch {
        return error
    }
}

@Suite("Forest model files")
struct ForestSerializationTests {
    @Test("round trip keeps predictions, quantiles, neighbours and bytes")
    func roundTrip() throws {
        let data = ForestTestData.twoOutputs(rows: 300, seed: 21)
        var parameters = ForestParameters()
        parameters.treeCount = 8
        parameters.maxDepth = 12
        parameters.threads = 1
        let forest = try RandomForest.train(features: data.features, targets: data.targets, parameters: parameters)
        let bytes = forest.serialize()
        let copy = try RandomForest(deserializing: bytes)
        #expect(copy.serialize() == bytes)
        #expect(copy.featureCount == 3 && copy.outputCount == 2 && copy.trainingRows == 300)
        #expect(copy.nodeCount == forest.nodeCount && copy.treeCount == 8)
        var expected = forest.parameters
        expected.threads = ForestParameters().threads
        #expect(copy.parameters == expected)
        for r in 0 ..< 300 {
            let x = data.features.row(r)
            #expect(copy.predict(x) == forest.predict(x))
            let levels = [0.1, 0.5, 0.9]
            #expect(copy.quantiles(x, levels: levels, output: 1) == forest.quantiles(x, levels: levels, output: 1))
        }
    }

    @Test("every truncated prefix of a model file is refused")
    func truncation() throws {
        let bytes = try ForestTestData.smallForest().serialize()
        #expect(bytes.count > 100)
        for length in 0 ..< bytes.count {
            #expect(refusal(Array(bytes[0 ..< length])) != nil, "prefix of \(length) bytes accepted")
        }
        #expect(refusal(bytes) == nil)
        #expect(refusal(bytes + [0])?.code == .malformed)
    }

    @Test("flipping any single byte is refused")
    func byteFlips() throws {
        let bytes = try ForestTestData.smallForest().serialize()
        for i in bytes.indices {
            var corrupted = bytes
            corrupted[i] ^= 0x24
            #expect(refusal(corrupted) != nil, "flip at byte \(i) accepted")
        }
        var payloadFlip = bytes
        payloadFlip[ModelContainer.headerSize + 40] ^= 1
        #expect(refusal(payloadFlip)?.code == .checksumMismatch)
    }

    @Test("checksum-valid but structurally corrupted payloads are refused with a precise message")
    func structuralCorruption() throws {
        let forest = try ForestTestData.smallForest()
        let map = try PayloadMap(forest: forest)
        #expect(map.end < map.payload.count)  // more trees follow
        let split = map.firstSplit
        let leaf = map.firstLeaf
        #expect(map.features[split] >= 0 && map.features[leaf] < 0)

        let outOfRange = refusal(map.patched(at: PayloadMap.element(map.right, split), 9999))
        #expect(outOfRange?.code == .malformed)
        #expect(outOfRange?.message == "tree 0 node \(split): child index 9999 out of range")

        let cycle = refusal(map.patched(at: PayloadMap.element(map.right, split), UInt32(split)))
        #expect(cycle?.message.contains("child index") == true)

        let feature = refusal(map.patched(at: PayloadMap.element(map.feature, split), 3))
        #expect(feature?.message.contains("feature index 3 out of range") == true)

        let negative = refusal(map.patched(at: PayloadMap.element(map.feature, split), UInt32(bitPattern: -5)))
        #expect(negative?.code == .malformed)

        let threshold = refusal(map.patched(at: PayloadMap.element(map.threshold, split), Float.nan.bitPattern))
        #expect(threshold?.message.contains("threshold") == true)

        let leafIndex = refusal(map.patched(at: PayloadMap.element(map.right, leaf), 100_000))
        #expect(leafIndex?.message.contains("leaf index") == true)

        let row = refusal(map.patched(at: PayloadMap.element(map.sampleRows, 0), 60))
        #expect(row?.message.contains("row 60 out of range") == true)

        let offset = refusal(map.patched(at: PayloadMap.element(map.leafOffsets, 1), 0))
        #expect(offset?.message.contains("sample offset") == true)

        var zeroCount = map.payload
        zeroCount[PayloadMap.element(map.sampleCounts, 0, size: 1)] = 0
        #expect(refusal(ModelContainer.wrap(kind: .forest, version: 1, payload: zeroCount))?.code == .malformed)

        let target = refusal(map.patched(at: PayloadMap.element(map.targets, 2), Float.infinity.bitPattern))
        #expect(target?.message.contains("targets") == true)

        let leafValue = refusal(map.patched(at: PayloadMap.element(map.leafValues, 0), Float.nan.bitPattern))
        #expect(leafValue?.code == .malformed)

        // A count prefix claiming 2^60 elements must be refused without allocating.
        var huge = map.payload
        for b in 0 ..< 8 { huge[map.feature + b] = b == 7 ? 0x10 : 0 }
        #expect(refusal(ModelContainer.wrap(kind: .forest, version: 1, payload: huge))?.code == .truncated)

        // Header fields.
        #expect(refusal(map.patched(at: 0, 0))?.code == .malformed)  // featureCount 0
        #expect(refusal(map.patched(at: 12, 4))?.code == .malformed)  // treeCount ≠ parameters.treeCount
        #expect(refusal(map.patched(at: 12, 0xFFFF_FFFF)) != nil)
        let trailing = ModelContainer.wrap(kind: .forest, version: 1, payload: map.payload + [1, 2])
        #expect(refusal(trailing)?.code == .malformed)
        #expect(refusal(ModelContainer.wrap(kind: .forest, version: 1, payload: []))?.code == .truncated)
    }

    @Test("random checksum-valid payload mutations are refused or load into a forest that predicts safely")
    func payloadFuzz() throws {
        let forest = try ForestTestData.smallForest()
        let payload = try ModelContainer.unwrap(forest.serialize(), kind: .forest, supportedVersions: 1 ... 1).payload
        var rng = Xoshiro256StarStar(seed: 99)
        var refused = 0
        for _ in 0 ..< 1500 {
            var mutated = payload
            for _ in 0 ..< 1 + rng.next(below: 4) {
                let at = rng.next(below: mutated.count)
                switch rng.next(below: 3) {
                case 0: mutated[at] ^= UInt8(truncatingIfNeeded: 1 << rng.next(below: 8))
                case 1: mutated[at] = UInt8(truncatingIfNeeded: rng.next())
                default: mutated[at] = [0x00, 0xFF, 0x7F, 0x80][rng.next(below: 4)]
                }
            }
            if rng.next(below: 10) == 0 {
                mutated.removeLast(1 + rng.next(below: 16))
            }
            let bytes = ModelContainer.wrap(kind: .forest, version: 1, payload: mutated)
            do {
                let loaded = try RandomForest(deserializing: bytes)
                for x: [Float] in [[0, 0, 0], [-3, 2, 1], [.nan, 1, .infinity], []] {
                    _ = loaded.predict(x)
                    _ = loaded.quantiles(x, levels: [0.1, 0.9])
                }
            } catch {
                refused += 1
            }
        }
        #expect(refused > 500)
    }

    @Test("bad magic, wrong kind and future versions are refused")
    func containerRefusals() throws {
        let bytes = try ForestTestData.smallForest().serialize()
        let payload = try ModelContainer.unwrap(bytes, kind: .forest, supportedVersions: 1 ... 1).payload
        var magic = bytes
        magic[0] = UInt8(ascii: "X")
        #expect(refusal(magic)?.code == .notAPrewarmModel)
        #expect(refusal(Array("hello, world".utf8))?.code == .notAPrewarmModel)
        #expect(refusal(ModelContainer.wrap(kind: .runtimeModel, version: 1, payload: payload))?.code == .wrongKind)
        let future = refusal(ModelContainer.wrap(kind: .forest, version: 2, payload: payload))
        #expect(future?.code == .unsupportedPayloadVersion)
        #expect(future?.description.contains("version 2") == true)
        var container = bytes
        container[8] = 9
        #expect(refusal(container)?.code == .unsupportedContainerVersion)
    }
}
