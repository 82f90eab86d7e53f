// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

extension JobHistory {
    /// Payload versions ``init(deserializing:)`` reads.
    public static let supportedPayloadVersions: ClosedRange<UInt16> = 1 ... 1
    static let payloadVersion: UInt16 = 1

    /// The history as raw payload bytes (no container: it travels inside a ``SubmitModel``).
    ///
    /// Deterministic: maps are written in key order, so the same history always gives the same bytes.
    /// Layout (version 1): global finished count and smoothed log runtime; the users (id, counters, the ring of
    /// runtimes and requests, per-candidate accuracy); then the four per-key maps.
    public func serialize() -> [UInt8] {
        var w = BinaryWriter(capacity: 64 + users.count * 128)
        w.write(Self.payloadVersion)
        w.write(UInt32(truncatingIfNeeded: RuntimeCandidate.count))
        w.write(globalFinished)
        w.write(globalLogRuntime)
        w.write(UInt64(users.count))
        for id in users.keys.sorted() {
            guard let u = users[id] else { continue }
            w.write(id)
            w.write(u.finished)
            w.write(u.runtimes)
            w.write(u.requested)
            w.write(u.lastSubmit)
            w.write(u.lastFinish)
            w.write(u.inFlight)
            w.write(u.lastRequest)
            w.write(u.lastProcs)
            w.write(u.accuracy)
        }
        for map in [byApplication, byRequest, byRequestProcs, byProcs] {
            w.write(UInt64(map.count))
            let keys = map.keys.sorted { ($0.user, $0.a, $0.b) < ($1.user, $1.a, $1.b) }
            for k in keys {
                guard let v = map[k] else { continue }
                w.write(k.user)
                w.write(k.a)
                w.write(k.b)
                w.write(v.last)
                w.write(v.count)
            }
        }
        return w.bytes
    }

    /// Reads a history written by ``serialize()``.
    /// - Throws: ``ModelFileError`` naming the field; never traps on any input.
    public init(deserializing bytes: [UInt8]) throws(ModelFileError) {
        var r = BinaryReader(bytes, context: "job history")
        let version = try r.read(UInt16.self)
        guard Self.supportedPayloadVersions.contains(version) else {
            throw .unsupportedPayloadVersion(version, kind: "job history", supported: Self.supportedPayloadVersions)
        }
        let candidates = try r.read(UInt32.self)
        guard candidates == UInt32(RuntimeCandidate.count) else {
            throw .malformed("job history: \(candidates) candidates, this build has \(RuntimeCandidate.count)")
        }
        var h = JobHistory()
        h.globalFinished = try r.read(Int64.self)
        h.globalLogRuntime = try r.readDouble()
        guard h.globalLogRuntime.isFinite, h.globalFinished >= 0 else {
            throw .malformed("job history: global runtime statistics are not finite")
        }
        // Smallest user record: 4+8+8+8+8+8+4+8+4+8 bytes.
        let userCount = try r.readCount(elementSize: 68)
        h.users.reserveCapacity(userCount)
        for _ in 0 ..< userCount {
            let id = try r.read(Int32.self)
            var u = UserState()
            u.finished = try r.read(Int64.self)
            u.runtimes = try r.readFloatArray()
            u.requested = try r.readFloatArray()
            guard u.runtimes.count == u.requested.count, u.runtimes.count <= Self.ring else {
                throw .malformed("job history: user \(id) has \(u.runtimes.count) runtimes and "
                    + "\(u.requested.count) requests (at most \(Self.ring), equal)")
            }
            guard u.runtimes.allSatisfy({ $0.isFinite && $0 > 0 }), u.requested.allSatisfy({ $0.isFinite }) else {
                throw .malformed("job history: user \(id) has a non-finite or non-positive runtime")
            }
            u.lastSubmit = try r.read(Int64.self)
            u.lastFinish = try r.read(Int64.self)
            u.inFlight = try r.read(Int32.self)
            u.lastRequest = try r.read(Int64.self)
            u.lastProcs = try r.read(Int32.self)
            u.accuracy = try r.readFloatArray()
            guard u.accuracy.count == RuntimeCandidate.count, u.accuracy.allSatisfy({ $0.isFinite }) else {
                throw .malformed("job history: user \(id) accuracy table has \(u.accuracy.count) entries")
            }
            h.users[id] = u
        }
        var maps: [[Key: KeyState]] = []
        for name in ["application", "request", "request+procs", "procs"] {
            let count = try r.readCount(elementSize: 28)
            var map: [Key: KeyState] = [:]
            map.reserveCapacity(count)
            for _ in 0 ..< count {
                let k = Key(user: try r.read(Int32.self), a: try r.read(Int64.self), b: try r.read(Int32.self))
                let v = KeyState(last: try r.readFloat(), count: try r.read(Int64.self))
                guard v.last.isFinite, v.last > 0, v.count >= 0 else {
                    throw .malformed("job history: \(name) entry of user \(k.user) has runtime \(v.last)")
                }
                map[k] = v
            }
            maps.append(map)
        }
        h.byApplication = maps[0]
        h.byRequest = maps[1]
        h.byRequestProcs = maps[2]
        h.byProcs = maps[3]
        guard r.remaining == 0 else { throw .malformed("job history: \(r.remaining) unexpected trailing bytes") }
        self = h
    }
}
