// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

/// Little-endian binary encoder for model payloads.
///
/// Scalars are written in fixed width; strings and arrays are prefixed with their element count as a
/// `UInt64`. The matching decoder is ``BinaryReader``.
public struct BinaryWriter: Sendable {
    /// The bytes written so far.
    public private(set) var bytes: [UInt8]

    /// An empty writer; `capacity` pre-sizes the buffer.
    public init(capacity: Int = 0) {
        bytes = []
        bytes.reserveCapacity(max(0, capacity))
    }

    @usableFromInline static var hostIsLittleEndian: Bool { UInt16(1).littleEndian == 1 }

    /// Appends an integer in little-endian order (`UInt8`, `UInt16`, `UInt32`, `UInt64`, `Int32`, `Int64`, …).
    /// - Complexity: O(1) amortized.
    public mutating func write<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// Appends a `Float` as its IEEE-754 bit pattern.
    public mutating func write(_ value: Float) {
        write(value.bitPattern)
    }

    /// Appends a `Double` as its IEEE-754 bit pattern.
    public mutating func write(_ value: Double) {
        write(value.bitPattern)
    }

    /// Appends a `Bool` as one byte (0 or 1).
    public mutating func write(_ value: Bool) {
        write(UInt8(value ? 1 : 0))
    }

    /// Appends a UTF-8 string prefixed with its byte count (`UInt64`).
    public mutating func write(_ value: String) {
        let utf8 = Array(value.utf8)
        write(UInt64(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    /// Appends raw bytes with no length prefix.
    public mutating func writeRaw(_ raw: [UInt8]) {
        bytes.append(contentsOf: raw)
    }

    /// Appends an integer array prefixed with its element count (`UInt64`).
    /// - Complexity: O(n).
    public mutating func write<T: FixedWidthInteger>(_ values: [T]) {
        write(UInt64(values.count))
        if Self.hostIsLittleEndian {
            values.withUnsafeBytes { bytes.append(contentsOf: $0) }
        } else {
            for value in values { write(value) }
        }
    }

    /// Appends a `Float` array prefixed with its element count (`UInt64`).
    /// - Complexity: O(n).
    public mutating func write(_ values: [Float]) {
        write(UInt64(values.count))
        if Self.hostIsLittleEndian {
            values.withUnsafeBytes { bytes.append(contentsOf: $0) }
        } else {
            for value in values { write(value) }
        }
    }

    /// Appends a `Double` array prefixed with its element count (`UInt64`).
    /// - Complexity: O(n).
    public mutating func write(_ values: [Double]) {
        write(UInt64(values.count))
        if Self.hostIsLittleEndian {
            values.withUnsafeBytes { bytes.append(contentsOf: $0) }
        } else {
            for value in values { write(value) }
        }
    }
}

/// Bounds-checked little-endian decoder, the counterpart of ``BinaryWriter``.
///
/// Every read checks the remaining length first and throws ``ModelFileError/Code/truncated`` instead of
/// reading past the end. Array and string lengths are validated against the remaining bytes *before*
/// anything is allocated, so a foreign file claiming 2^60 elements costs nothing.
public struct BinaryReader: Sendable {
    /// The bytes being read.
    public let bytes: [UInt8]
    /// The offset of the next byte to read.
    public private(set) var position: Int
    /// What is being read, used in error messages (e.g. `"forest payload"`).
    public var context: String

    /// A reader at the start of `bytes`.
    public init(_ bytes: [UInt8], context: String = "data") {
        self.bytes = bytes
        self.position = 0
        self.context = context
    }

    /// Bytes left to read.
    public var remaining: Int { bytes.count - position }

    /// Whether everything has been read.
    public var isAtEnd: Bool { position >= bytes.count }

    @inline(__always)
    mutating func require(_ count: Int) throws(ModelFileError) {
        guard count >= 0, count <= remaining else {
            throw .truncated(expected: position &+ max(count, 0), actual: bytes.count, what: context)
        }
    }

    /// Reads an integer in little-endian order.
    /// - Throws: ``ModelFileError/Code/truncated`` if fewer than `MemoryLayout<T>.size` bytes remain.
    public mutating func read<T: FixedWidthInteger>(_ type: T.Type = T.self) throws(ModelFileError) -> T {
        let size = MemoryLayout<T>.size
        try require(size)
        let at = position
        let value = bytes.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: T.self)) }
        position += size
        return value
    }

    /// Reads a `Float` bit pattern.
    public mutating func readFloat() throws(ModelFileError) -> Float {
        Float(bitPattern: try read(UInt32.self))
    }

    /// Reads a `Double` bit pattern.
    public mutating func readDouble() throws(ModelFileError) -> Double {
        Double(bitPattern: try read(UInt64.self))
    }

    /// Reads a one-byte `Bool`; any value other than 0 or 1 is malformed.
    public mutating func readBool() throws(ModelFileError) -> Bool {
        let at = position
        switch try read(UInt8.self) {
        case 0: return false
        case 1: return true
        case let other: throw .malformed("\(context): byte \(at): boolean has value \(other)")
        }
    }

    /// Reads `count` raw bytes.
    public mutating func readRaw(count: Int) throws(ModelFileError) -> [UInt8] {
        try require(count)
        let slice = bytes[position ..< position + count]
        position += count
        return Array(slice)
    }

    /// Reads a `UInt64` element count and checks that `count * elementSize` bytes remain.
    /// - Returns: the count as `Int`, guaranteed to fit in the remaining bytes.
    public mutating func readCount(elementSize: Int) throws(ModelFileError) -> Int {
        let raw = try read(UInt64.self)
        let size = UInt64(max(elementSize, 1))
        let available = UInt64(remaining)
        let (needed, overflow) = raw.multipliedReportingOverflow(by: size)
        guard !overflow, needed <= available else {
            let expected = overflow || needed > UInt64(Int.max - position) ? Int.max : position + Int(needed)
            throw .truncated(expected: expected, actual: bytes.count, what: context)
        }
        return Int(raw)
    }

    /// Reads a length-prefixed UTF-8 string (invalid UTF-8 is repaired, never trapped on).
    public mutating func readString() throws(ModelFileError) -> String {
        let count = try readCount(elementSize: 1)
        let raw = try readRaw(count: count)
        return String(decoding: raw, as: UTF8.self)
    }

    /// Reads a length-prefixed integer array.
    /// - Complexity: O(n); the length is validated before allocating.
    public mutating func readArray<T: FixedWidthInteger>(of type: T.Type = T.self) throws(ModelFileError) -> [T] {
        let size = MemoryLayout<T>.size
        let count = try readCount(elementSize: size)
        let start = position
        let result = bytes.withUnsafeBytes { raw in
            [T](unsafeUninitializedCapacity: count) { buffer, initialized in
                for i in 0 ..< count {
                    buffer[i] = T(littleEndian: raw.loadUnaligned(fromByteOffset: start + i * size, as: T.self))
                }
                initialized = count
            }
        }
        position += count * size
        return result
    }

    /// Reads a length-prefixed `Float` array.
    /// - Complexity: O(n); the length is validated before allocating.
    public mutating func readFloatArray() throws(ModelFileError) -> [Float] {
        let bits = try readArray(of: UInt32.self)
        return bits.map { Float(bitPattern: $0) }
    }

    /// Reads a length-prefixed `Double` array.
    /// - Complexity: O(n); the length is validated before allocating.
    public mutating func readDoubleArray() throws(ModelFileError) -> [Double] {
        let bits = try readArray(of: UInt64.self)
        return bits.map { Double(bitPattern: $0) }
    }
}
