// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
//
// Fuzz targets over the other two inputs slurmctld's process reads through the library: the model file (read by
// the library's background thread, then predicted with on every submission) and prewarm.conf (read at init).
// PREWARM_FUZZ_TARGET=model|conf selects them (default: the submit path, Fuzz.swift).

import PrewarmCore

#if canImport(Glibc)
import Glibc
#endif

/// The model file, mutated where its checks are: a real model (`PREWARM_FUZZ_MODEL`) is taken apart into its four
/// payload layers (the submit model's metadata, the runtime model's schema/candidates/log-ratio table, the forest,
/// the job history); the fuzz input patches one of them, and the file is put together again with every container's
/// checksum and length recomputed, so that the mutation reaches the structural validation behind the checksums
/// (a random byte flip of the whole file only ever meets the checksum). A model that loads is then predicted
/// with, and its annotation written, as the library does on every submission.
///
/// Input: byte 0 picks the layer (0 metadata, 1 runtime model, 2 forest, 3 history, 4 the bytes are the file
/// itself); then patches of 5 bytes and more: a 3-byte offset (modulo the layer's size), an operation, its value.
enum ModelFuzz {
    struct Layers {
        var meta: [UInt8]
        var runtimeVersion: UInt16
        var runtimePrefix: [UInt8]
        var forestVersion: UInt16
        var forest: [UInt8]
        var history: [UInt8]
        var submitVersion: UInt16
        /// The layers an input patches, by its first byte (0 to 3).
        nonisolated(unsafe) static let patchable: [WritableKeyPath<Layers, [UInt8]>] = [\.meta, \.runtimePrefix, \.forest, \.history]
    }

    nonisolated(unsafe) static var layers: Layers?
    /// Inputs whose model loaded (and was predicted with), and those refused: the replay prints both.
    nonisolated(unsafe) static var loaded = 0
    nonisolated(unsafe) static var refused = 0

    static func setUp() {
        guard layers == nil else { return }
        guard let path = getenv("PREWARM_FUZZ_MODEL") else { fail("PREWARM_FUZZ_TARGET=model needs PREWARM_FUZZ_MODEL") }
        guard let bytes = readFile(String(cString: path)) else { fail("cannot read \(String(cString: path))") }
        do {
            layers = try split(bytes)
        } catch {
            fail("the model \(String(cString: path)) does not load: \(error)")
        }
    }

    /// The four layers of a model file (checked by loading it first).
    static func split(_ bytes: [UInt8]) throws(ModelFileError) -> Layers {
        _ = try SubmitModel(deserializing: bytes)
        let (submitVersion, payload) = try ModelContainer.unwrap(
            bytes, kind: .submitModel, supportedVersions: SubmitModel.supportedPayloadVersions)
        var r = BinaryReader(payload)
        _ = try r.read(Int64.self)
        _ = try r.read(UInt64.self)
        _ = try r.readString()
        _ = try r.readDouble()
        _ = try r.readDouble()
        let meta = Array(payload[0 ..< r.position])
        let runtime = try r.readRaw(count: try r.readCount(elementSize: 1))
        let history = try r.readRaw(count: try r.readCount(elementSize: 1))
        let (runtimeVersion, runtimePayload) = try ModelContainer.unwrap(
            runtime, kind: .runtimeModel, supportedVersions: RuntimeModel.supportedPayloadVersions)
        var q = BinaryReader(runtimePayload)
        _ = try q.readString()
        _ = try q.read(UInt16.self)
        for _ in 0 ..< Int(try q.read(UInt32.self)) { _ = try q.readString() }
        for _ in 0 ..< Int(try q.read(UInt32.self)) { _ = try q.readString() }
        _ = try q.readBool()
        _ = try q.readFloat()
        _ = try q.readFloatArray()
        let runtimePrefix = Array(runtimePayload[0 ..< q.position])
        _ = try q.read(UInt64.self)
        let (forestVersion, forest) = try ModelContainer.unwrap(
            try q.readRaw(count: q.remaining), kind: .forest, supportedVersions: 1 ... UInt16.max)
        return Layers(
            meta: meta, runtimeVersion: runtimeVersion, runtimePrefix: runtimePrefix, forestVersion: forestVersion,
            forest: forest, history: history, submitVersion: submitVersion)
    }

    /// The model file of `l`, every container wrapped (lengths and checksums) anew.
    static func assemble(_ l: Layers) -> [UInt8] {
        let forest = ModelContainer.wrap(kind: .forest, version: l.forestVersion, payload: l.forest)
        var runtime = BinaryWriter()
        runtime.writeRaw(l.runtimePrefix)
        runtime.write(UInt64(forest.count))
        runtime.writeRaw(forest)
        let runtimeFile = ModelContainer.wrap(kind: .runtimeModel, version: l.runtimeVersion, payload: runtime.bytes)
        var submit = BinaryWriter()
        submit.writeRaw(l.meta)
        submit.write(UInt64(runtimeFile.count))
        submit.writeRaw(runtimeFile)
        submit.write(UInt64(l.history.count))
        submit.writeRaw(l.history)
        return ModelContainer.wrap(kind: .submitModel, version: l.submitVersion, payload: submit.bytes)
    }

    /// Values that sit on the edges of what the readers check: counts, indices, NaN and infinities.
    static let specials32: [UInt32] = [
        0, 1, 2, 0x7F, 0x80, 0xFF, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0xFFFF_FFFE,
        Float.nan.bitPattern, Float.infinity.bitPattern, (-Float.infinity).bitPattern,
        Float.greatestFiniteMagnitude.bitPattern, Float.leastNonzeroMagnitude.bitPattern, (-0.0 as Float).bitPattern,
        Float(1e30).bitPattern, Float(-1e30).bitPattern, Float(88.8).bitPattern, Float(-88.8).bitPattern,
    ]
    static let specials64: [UInt64] = [
        0, 1, UInt64(Int64.max), UInt64(bitPattern: Int64.min), UInt64.max, 1 << 31, 1 << 32, 1 << 60,
        Double.nan.bitPattern, Double.infinity.bitPattern, (-Double.infinity).bitPattern,
        Double.greatestFiniteMagnitude.bitPattern, Double(1e300).bitPattern,
    ]

    static func run(_ data: UnsafeRawBufferPointer) {
        setUp()
        guard var l = layers, data.count > 0 else { return }
        let file: [UInt8]
        let layer = Int(data[0]) % 5
        if layer == 4 {
            file = Array(data[1...])
        } else {
            let path = Layers.patchable[layer]
            var bytes = l[keyPath: path]
            var at = 1
            var patches = 0
            while at + 5 <= data.count, patches < 32 {
                let offset = Int(data[at]) | Int(data[at + 1]) << 8 | Int(data[at + 2]) << 16
                let op = data[at + 3]
                let value = data[at + 4]
                at += 5
                patches += 1
                guard !bytes.isEmpty else { break }
                let o = offset % bytes.count
                switch op % 6 {
                case 0:  // one byte
                    bytes[o] = value
                case 1:  // a 32-bit edge value
                    put(specials32[Int(value) % specials32.count], as: UInt32.self, at: o, in: &bytes)
                case 2:  // a 64-bit edge value
                    put(specials64[Int(value) % specials64.count], as: UInt64.self, at: o, in: &bytes)
                case 3:  // a small signed 32-bit delta on a count or an index
                    let v = load(UInt32.self, at: o, in: bytes) &+ UInt32(bitPattern: Int32(Int8(bitPattern: value)))
                    put(v, as: UInt32.self, at: o, in: &bytes)
                case 4:  // cut the layer short
                    bytes.removeSubrange(o...)
                default:  // insert bytes
                    bytes.insert(contentsOf: repeatElement(value, count: 1 + Int(value % 9)), at: o)
                }
            }
            l[keyPath: path] = bytes
            file = assemble(l)
        }
        guard var model = try? SubmitModel(deserializing: file) else {
            refused += 1
            return
        }
        loaded += 1
        predict(with: &model, data)
    }

    /// What the library does with a loaded model on every submission: a prediction (recorded, as a submission,
    /// and not, as a modification) and the annotation written from it, into full and tiny buffers.
    static func predict(with model: inout SubmitModel, _ data: UnsafeRawBufferPointer) {
        let seed = data.count > 1 ? Int64(data[data.count - 1]) : 0
        var out = [CChar](repeating: 0, count: 1100)
        for i in 0 ..< 4 {
            var r = SubmitRequest()
            r.uid = [seed, 1, 7, Int64(Int32.max)][i]
            r.minCPUs = [1, 64, seed &* 8, -1][i]
            r.minNodes = [1, 2, -1, 1][i]
            r.timeLimitMinutes = [60, 1, seed &* 100, 525_600][i]
            r.submitTime = [0, 1_700_000_000, seed &* 3600, Int64(Int32.max)][i]
            r.hourOfDay = Int(seed % 24)
            r.dayOfWeek = i
            let record = SubmitProfiler.record(for: r, script: nil)
            let prediction = model.predict(record, recording: i != 3)
            for size in [out.count, 2, 33] {
                let n = out.withUnsafeMutableBufferPointer { o -> Int in
                    guard let base = o.baseAddress else { return -1 }
                    return SubmitProfiler.writeAnnotation(
                        request: r, prediction: prediction, modelID: "fuzz", script: nil, into: base, capacity: size)
                }
                if n < 0 || n >= size || out[n] != 0 { abort() }
            }
        }
    }

    static func put<T: FixedWidthInteger>(_ v: T, as: T.Type, at o: Int, in bytes: inout [UInt8]) {
        for b in 0 ..< MemoryLayout<T>.size where o + b < bytes.count {
            bytes[o + b] = UInt8(truncatingIfNeeded: v >> (8 * b))
        }
    }

    static func load<T: FixedWidthInteger>(_: T.Type, at o: Int, in bytes: [UInt8]) -> T {
        var v: T = 0
        for b in 0 ..< MemoryLayout<T>.size where o + b < bytes.count { v |= T(bytes[o + b]) << (8 * b) }
        return v
    }

    static func fail(_ message: String) -> Never {
        writeError("prewarm-fuzz: \(message)")
        exit(2)
    }
}

/// A whole file's bytes, or nil when it cannot be opened.
func readFile(_ path: String) -> [UInt8]? {
    guard let f = fopen(path, "rb") else { return nil }
    defer { fclose(f) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&buffer, 1, buffer.count, f)
        if n <= 0 { break }
        bytes += buffer[0 ..< n]
    }
    return bytes
}

/// A line on standard error (unbuffered: it is there even if the process aborts next).
func writeError(_ s: String) {
    let line = Array((s + "\n").utf8)
    _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

/// prewarm.conf as the library reads it at init: any bytes, decoded as UTF-8 with repair, then parsed. A parsed
/// configuration's values must be within the documented ranges; a refusal must name the file and a line of it.
/// The daemon's two files (prewarmd.conf, prewarm-power.conf) go through their parsers too, with the same rule
/// for refusals.
enum ConfigurationFuzz {
    static func run(_ data: UnsafeRawBufferPointer) {
        let text = String(decoding: data, as: UTF8.self)
        let lines = text.utf8.reduce(1) { $1 == 10 ? $0 + 1 : $0 }
        do {
            let c = try SubmitConfiguration.parse(text, file: "fuzz.conf")
            guard (1 ... 86_400).contains(c.reloadInterval), (0 ... 16 << 20).contains(c.maxScriptBytes),
                (1 ... 65_536).contains(c.cpuSampleInterval), c.modelFile.hasPrefix("/"),
                c.notifySocket.isEmpty || (c.notifySocket.hasPrefix("/") && c.notifySocket.utf8.count < 108),
                c.statsFile.isEmpty || c.statsFile.hasPrefix("/")
            else { abort() }
        } catch {
            check(error, lines: lines)
        }
        do {
            _ = try DaemonConfiguration.parse(text, file: "fuzz.conf")
        } catch {
            check(error, lines: lines)
        }
        do {
            _ = try PowerConfiguration.parse(text, file: "fuzz.conf")
        } catch {
            check(error, lines: lines)
        }
    }

    static func check(_ error: ConfigurationError, lines: Int) {
        // Compared as bytes: a key may begin with a combining mark, which joins the space before it into one
        // Character, so that String.hasPrefix would not see the separator.
        guard error.file == "fuzz.conf", (1 ... lines).contains(error.line),
            error.description.utf8.starts(with: "fuzz.conf:\(error.line): ".utf8)
        else { abort() }
    }
}
