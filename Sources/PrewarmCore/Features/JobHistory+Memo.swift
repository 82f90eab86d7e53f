// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

/// Recent snapshots of a ``JobHistory`` by what their history-derived part depends on: the user, the requested time,
/// the processors and the application, and the state of the history (``JobHistory/epoch``, which every
/// ``JobHistory/finish(_:candidates:)`` and a user's first submission advance). Opt-in
/// (``JobHistory/memoizeSnapshots()``): for the in-controller profiler, whose history changes only by submissions
/// between two model reloads, a user's `sbatch` loop then costs a copy of the last snapshot and the few features of
/// the job itself and of the moment (``JobHistory/setVarying``) instead of five dictionary lookups and about thirty
/// logarithms. Exact: a recalled snapshot has the same bits as a
/// computed one (test `memoizedSnapshotsEqualComputedOnes`).
///
/// Direct-mapped: a key has one slot, and a newer key with the same slot replaces it. Bounded: ``slots`` entries.
struct SnapshotMemo: Sendable {
    static let slots = 64
    /// Values per slot: the candidates, then the features.
    static let width = RuntimeCandidate.count + FeatureSchema.submitTime.count

    struct Key: Equatable, Sendable {
        var user: Int32
        var requestedTime: Int64
        var procs: Int32
        var application: Int32
        /// ``JobHistory/epoch`` + 1 (0 marks an empty slot).
        var epoch: UInt64
    }

    private var keys = [Key](
        repeating: Key(user: 0, requestedTime: 0, procs: 0, application: 0, epoch: 0), count: SnapshotMemo.slots)
    private var values = [Float](repeating: 0, count: SnapshotMemo.slots * SnapshotMemo.width)

    static func slot(_ k: Key) -> Int {
        var h = UInt64(UInt32(bitPattern: k.user)) &* 0x9E37_79B9_7F4A_7C15
        h ^= UInt64(bitPattern: k.requestedTime) &* 0xC2B2_AE3D_27D4_EB4F
        h ^= UInt64(UInt32(bitPattern: k.procs)) &* 0x1656_67B1_9E37_79F9
        h ^= UInt64(UInt32(bitPattern: k.application)) &* 0x27D4_EB2F_1656_67C5
        return Int(truncatingIfNeeded: (h ^ (h &>> 29)) &>> 58)  // 6 bits: 0 ..< 64
    }

    /// Copies the snapshot stored for `key` into `candidates` and `features` (replacing their contents); false when
    /// there is none (the arrays are then left as they were, or resized to the schema's sizes).
    func recall(_ key: Key, candidates: inout [Float], features: inout [Float]) -> Bool {
        let s = Self.slot(key)
        guard keys[s] == key else { return false }
        let base = s &* Self.width
        let k = RuntimeCandidate.count
        let n = Self.width &- k
        // Same sizes as stored (the usual case: the caller's arrays from the last snapshot): copied in place.
        if candidates.count != k { candidates = [Float](repeating: 0, count: k) }
        if features.count != n { features = [Float](repeating: 0, count: n) }
        return values.withUnsafeBufferPointer { v in
            guard let from = v.baseAddress, base &+ Self.width <= v.count else { return false }
            let copied = candidates.withUnsafeMutableBufferPointer { c in
                c.baseAddress.map { $0.update(from: from + base, count: k) } != nil
            }
            return copied && features.withUnsafeMutableBufferPointer { f in
                f.baseAddress.map { $0.update(from: from + (base &+ k), count: n) } != nil
            }
        }
    }

    /// Stores a computed snapshot for `key` (nothing when its sizes are not the schema's).
    mutating func store(_ key: Key, candidates: [Float], features: [Float]) {
        let k = RuntimeCandidate.count
        guard candidates.count == k, features.count == Self.width &- k else { return }
        let s = Self.slot(key)
        let base = s &* Self.width
        let stored = values.withUnsafeMutableBufferPointer { v in
            candidates.withUnsafeBufferPointer { c in
                features.withUnsafeBufferPointer { f in
                    guard let to = v.baseAddress, let from = c.baseAddress, let rest = f.baseAddress,
                        base &+ Self.width <= v.count
                    else { return false }
                    (to + base).update(from: from, count: k)
                    (to + (base &+ k)).update(from: rest, count: Self.width &- k)
                    return true
                }
            }
        }
        if stored { keys[s] = key }
    }
}

extension JobHistory {
    /// Keeps recent snapshots for resubmissions of the same kind of job (``SnapshotMemo``): for a history that is
    /// mostly read, such as the in-controller profiler's.
    public mutating func memoizeSnapshots() {
        if memo == nil { memo = SnapshotMemo() }
    }

    /// The memo's key for `job` now.
    func memoKey(_ job: JobRecord) -> SnapshotMemo.Key {
        SnapshotMemo.Key(
            user: job.user, requestedTime: job.requestedTime, procs: Self.procs(of: job),
            application: job.application, epoch: epoch &+ 1)
    }

    /// The features of `job` that a snapshot of the same memo key may not share: the job's own fields outside the
    /// key, the moment of submission, the user's submissions since the history last changed, and the cluster load.
    /// Written in place in `f` (a full feature vector), by the full computation too, so the two cannot differ.
    static func setVarying(_ f: inout [Float], _ job: JobRecord, _ u: UserState?, _ load: ClusterLoad) {
        guard f.count == FeatureSchema.submitTime.count else { return }
        f[Varying.requestedNodes] = Float(job.requestedNodes)
        f[Varying.requestedMemory] = logOrMissing(Float(job.requestedMemoryKB))
        f[Varying.queue] = Float(job.queue)
        f[Varying.partition] = Float(job.partition)
        f[Varying.hourOfDay] = Float(job.hourOfDay)
        f[Varying.dayOfWeek] = Float(job.dayOfWeek)
        f[Varying.inFlight] = Float(u?.inFlight ?? 0)
        f[Varying.sinceSubmit] = sinceLog(job.submit, u?.lastSubmit ?? -1)
        f[Varying.sinceFinish] = sinceLog(job.submit, u?.lastFinish ?? -1)
        let cap = Float(Swift.max(load.capacityProcs, 1))
        f[Varying.running] = load.capacityProcs > 0
            ? Float(load.runningProcs) / cap : logOrMissing(Float(load.runningProcs))
        f[Varying.queued] = load.capacityProcs > 0
            ? Float(load.queuedProcs) / cap : logOrMissing(Float(load.queuedProcs))
    }

    /// Positions in ``FeatureSchema/submitTime`` of the features ``setVarying(_:_:_:_:)`` writes (test
    /// `memoizedSnapshotsEqualComputedOnes` checks them against the schema's names).
    enum Varying {
        static let requestedNodes = 2
        static let requestedMemory = 3
        static let queue = 4
        static let partition = 5
        static let hourOfDay = 7
        static let dayOfWeek = 8
        static let inFlight = 11
        static let sinceSubmit = 12
        static let sinceFinish = 13
        static let running = 23
        static let queued = 24
    }
}
