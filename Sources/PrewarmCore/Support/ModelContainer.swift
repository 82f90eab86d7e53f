// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

/// What a model container holds. The raw value is stored in the container header.
public enum ModelKind: UInt16, Sendable, CaseIterable {
    /// A ``RandomForest``.
    case forest = 1
    /// The runtime model (forest plus feature pipeline).
    case runtimeModel = 2
    /// What the in-controller profiler loads: a runtime model plus the job history its features need.
    case submitModel = 3
}

/// The versioned, checksummed envelope around every model Prewarm writes.
///
/// Layout (all integers little-endian):
///
/// | offset | size | field |
/// | --- | --- | --- |
/// | 0 | 8 | magic `"PREWARM\0"` |
/// | 8 | 2 | container format version (``formatVersion``) |
/// | 10 | 2 | kind (``ModelKind``) |
/// | 12 | 2 | payload version (owned by the kind) |
/// | 14 | 8 | payload length *n* |
/// | 22 | *n* | payload |
/// | 22 + *n* | 8 | xxHash64 (seed 0) of bytes `0 ..< 22 + n` |
public enum ModelContainer {
    /// `"PREWARM\0"`.
    public static let magic: [UInt8] = [0x50, 0x52, 0x45, 0x57, 0x41, 0x52, 0x4D, 0x00]
    /// The container layout this build writes and reads.
    public static let formatVersion: UInt16 = 1
    /// Bytes before the payload.
    public static let headerSize = 22
    /// Bytes after the payload (the checksum).
    public static let trailerSize = 8

    /// Eight hex digits of the container's checksum (low 32 bits of its last 8 bytes): the short identifier
    /// annotations and logs use for a model file.
    public static func shortIdentifier(_ bytes: [UInt8]) -> String {
        guard bytes.count >= trailerSize else { return "00000000" }
        var v: UInt32 = 0
        for i in 0 ..< 4 { v |= UInt32(bytes[bytes.count - trailerSize + i]) << (8 * UInt32(i)) }
        let digits = String(v, radix: 16)
        return String(repeating: "0", count: Swift.max(0, 8 - digits.count)) + digits
    }

    /// Wraps `payload` in a container.
    /// - Complexity: O(n).
    public static func wrap(kind: ModelKind, version: UInt16, payload: [UInt8]) -> [UInt8] {
        var writer = BinaryWriter(capacity: headerSize + payload.count + trailerSize)
        writer.writeRaw(magic)
        writer.write(formatVersion)
        writer.write(kind.rawValue)
        writer.write(version)
        writer.write(UInt64(payload.count))
        writer.writeRaw(payload)
        let checksum = XXHash64.hash(writer.bytes)
        writer.write(checksum)
        return writer.bytes
    }

    /// Checks a container and returns its payload.
    ///
    /// Checks, in order: magic, container version, length, checksum, kind, payload version.
    /// - Throws: ``ModelFileError`` naming the first failed check. Never traps.
    /// - Complexity: O(n).
    public static func unwrap(
        _ bytes: [UInt8], kind: ModelKind, supportedVersions: ClosedRange<UInt16>
    ) throws(ModelFileError) -> (version: UInt16, payload: [UInt8]) {
        let magicLength = min(bytes.count, magic.count)
        guard bytes[0 ..< magicLength].elementsEqual(magic[0 ..< magicLength]) else {
            throw .notAPrewarmModel
        }
        var reader = BinaryReader(bytes, context: "model container header")
        _ = try reader.readRaw(count: magic.count)
        let container = try reader.read(UInt16.self)
        guard container == formatVersion else {
            throw .unsupportedContainerVersion(container, supported: formatVersion)
        }
        let rawKind = try reader.read(UInt16.self)
        let version = try reader.read(UInt16.self)
        let length = try reader.read(UInt64.self)
        let fixed = UInt64(headerSize + trailerSize)
        guard length <= UInt64(Int.max) - fixed else {
            throw .truncated(expected: Int.max, actual: bytes.count, what: "model container")
        }
        let total = Int(length + fixed)
        guard bytes.count >= total else {
            throw .truncated(expected: total, actual: bytes.count, what: "model container")
        }
        guard bytes.count == total else {
            throw .malformed("model container: \(bytes.count - total) unexpected bytes after the checksum")
        }
        let payloadEnd = headerSize + Int(length)
        var trailer = BinaryReader(bytes, context: "model container checksum")
        _ = try trailer.readRaw(count: payloadEnd)
        let stored = try trailer.read(UInt64.self)
        let computed = XXHash64.hash(bytes, prefix: payloadEnd)
        guard stored == computed else {
            throw .checksumMismatch(stored: stored, computed: computed)
        }
        guard rawKind == kind.rawValue else {
            throw .wrongKind(expected: "\(kind)", found: rawKind)
        }
        guard supportedVersions.contains(version) else {
            throw .unsupportedPayloadVersion(version, kind: "\(kind)", supported: supportedVersions)
        }
        return (version, Array(bytes[headerSize ..< payloadEnd]))
    }
}
