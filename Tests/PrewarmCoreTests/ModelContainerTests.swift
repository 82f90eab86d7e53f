// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

import PrewarmCore
import Testing

@Suite("Model container, binary coding and checksum")
struct ModelContainerTests {
    @Test("xxHash64 matches the reference implementation")
    func xxhashVectors() {
        #expect(XXHash64.hash([]) == 0xEF46_DB37_51D8_E999)
        #expect(XXHash64.hash(Array("a".utf8)) == 0xD24E_C4F1_A98C_6E5B)
        #expect(XXHash64.hash(Array("abc".utf8)) == 0x44BC_2CF5_AD77_0999)
        #expect(XXHash64.hash(Array("Nobody inspects the spammish repetition".utf8)) == 0xFBCE_A83C_8A37_8BF1)
        #expect(XXHash64.hash((0 ..< 100).map { UInt8($0) }) == 0x6AC1_E580_3216_6597)
        #expect(XXHash64.hash(Array("abc".utf8), seed: 123) == 0x2DF1_0692_FE30_04B9)
        #expect(XXHash64.hash((0 ..< 100).map { UInt8($0) }, prefix: 3) == XXHash64.hash([0, 1, 2]))
    }

    @Test("writer and reader round-trip every type in little-endian order")
    func binaryRoundTrip() throws {
        var writer = BinaryWriter()
        writer.write(UInt8(0xAB))
        writer.write(UInt16(0x1234))
        writer.write(UInt32(0xDEAD_BEEF))
        writer.write(UInt64(0x0102_0304_0506_0708))
        writer.write(Int32(-2))
        writer.write(Int64.min)
        writer.write(Float(1.5))
        writer.write(-Double.pi)
        writer.write(true)
        writer.write("Grüße, slurmctld")
        writer.write([Int32(1), -1, .max])
        writer.write([Float(0.25), .infinity])
        writer.write([Double(3), -0.0])
        writer.write([UInt8]())
        #expect(Array(writer.bytes[1 ..< 3]) == [0x34, 0x12])
        var reader = BinaryReader(writer.bytes)
        #expect(try reader.read(UInt8.self) == 0xAB)
        #expect(try reader.read(UInt16.self) == 0x1234)
        #expect(try reader.read(UInt32.self) == 0xDEAD_BEEF)
        #expect(try reader.read(UInt64.self) == 0x0102_0304_0506_0708)
        #expect(try reader.read(Int32.self) == -2)
        #expect(try reader.read(Int64.self) == .min)
        #expect(try reader.readFloat() == 1.5)
        #expect(try reader.readDouble() == -Double.pi)
        #expect(try reader.readBool() == true)
        #expect(try reader.readString() == "Grüße, slurmctld")
        #expect(try reader.readArray(of: Int32.self) == [1, -1, .max])
        #expect(try reader.readFloatArray() == [0.25, .infinity])
        #expect(try reader.readDoubleArray() == [3, -0.0])
        #expect(try reader.readArray(of: UInt8.self) == [])
        #expect(reader.isAtEnd)
        #expect(throws: ModelFileError.self) { try reader.read(UInt8.self) }
    }

    @Test("reads past the end and absurd lengths throw truncated without allocating")
    func readerBounds() {
        var short = BinaryReader([1, 2, 3])
        #expect(throws: ModelFileError.truncated(expected: 4, actual: 3)) { try short.read(UInt32.self) }
        #expect(short.position == 0)
        var writer = BinaryWriter()
        writer.write(UInt64(1) << 60)
        writer.writeRaw([1, 2, 3])
        var a = BinaryReader(writer.bytes)
        #expect((try? a.readArray(of: Int64.self)) == nil)
        var b = BinaryReader(writer.bytes)
        #expect((try? b.readFloatArray()) == nil)
        var c = BinaryReader(writer.bytes)
        #expect((try? c.readString()) == nil)
        var d = BinaryReader(writer.bytes)
        do {
            _ = try d.readArray(of: UInt8.self)
            Issue.record("2^60 elements accepted")
        } catch {
            #expect(error.code == .truncated)
        }
        var overflow = BinaryWriter()
        overflow.write(UInt64.max)
        var reader = BinaryReader(overflow.bytes)
        #expect(throws: ModelFileError.self) { try reader.readArray(of: UInt32.self) }
        var badBool = BinaryReader([7])
        #expect((try? badBool.readBool()) == nil)
    }

    @Test("wrap and unwrap round-trip; every check refuses what it should")
    func container() throws {
        let payload: [UInt8] = Array("some payload bytes".utf8)
        let bytes = ModelContainer.wrap(kind: .runtimeModel, version: 3, payload: payload)
        #expect(bytes.count == ModelContainer.headerSize + payload.count + ModelContainer.trailerSize)
        #expect(Array(bytes[0 ..< 8]) == Array("PREWARM\0".utf8))
        let unwrapped = try ModelContainer.unwrap(bytes, kind: .runtimeModel, supportedVersions: 1 ... 3)
        #expect(unwrapped.version == 3 && unwrapped.payload == payload)

        func code(_ data: [UInt8], _ kind: ModelKind = .runtimeModel, _ versions: ClosedRange<UInt16> = 1 ... 3)
            -> ModelFileError.Code?
        {
            do {
                _ = try ModelContainer.unwrap(data, kind: kind, supportedVersions: versions)
                return nil
            } catch {
                return error.code
            }
        }
        #expect(code(bytes) == nil)
        #expect(code(bytes, .forest) == .wrongKind)
        #expect(code(bytes, .runtimeModel, 1 ... 2) == .unsupportedPayloadVersion)
        #expect(code([]) == .truncated)
        #expect(code(Array("PREWA".utf8)) == .truncated)
        #expect(code(Array("PREWORM\0".utf8) + [UInt8](repeating: 0, count: 40)) == .notAPrewarmModel)
        var flipped = bytes
        flipped[ModelContainer.headerSize + 2] ^= 0x80
        #expect(code(flipped) == .checksumMismatch)
        var checksum = bytes
        checksum[checksum.count - 1] ^= 1
        #expect(code(checksum) == .checksumMismatch)
        var version = bytes
        version[8] = 2
        #expect(code(version) == .unsupportedContainerVersion)
        var length = bytes
        length[21] = 0xFF  // payload length ≥ 2^56
        #expect(code(length) == .truncated)
        #expect(code(bytes + [0]) == .malformed)
        for prefix in 0 ..< bytes.count {
            #expect(code(Array(bytes[0 ..< prefix])) != nil)
        }
        let descriptions = [
            ModelFileError.notAPrewarmModel, .truncated(expected: 10, actual: 5),
            .checksumMismatch(stored: 1, computed: 2),
            .wrongKind(expected: "forest", found: 77), .malformed("tree 3 node 17: child index 9999 out of range"),
        ].map(\.description)
        #expect(descriptions[1] == "truncated: data truncated: needed 10 bytes, only 5 available")
        #expect(descriptions[2].contains("0x0000000000000001"))
        #expect(descriptions[3].contains("unknown kind 77"))
        #expect(descriptions[4] == "malformed: tree 3 node 17: child index 9999 out of range")
    }
}
