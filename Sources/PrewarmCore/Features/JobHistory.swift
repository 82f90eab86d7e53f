// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

#if canImport(Glibc)
import Glibc
#endif

/// Processors busy and waiting on the cluster at a moment, as known at submission
/// (from the trace replay, or from `squeue` in production).
public struct ClusterLoad: Sendable, Equatable {
    public var runningProcs: Int64
    public var queuedProcs: Int64
    /// Total processors of the cluster (e.g. SWF `MaxProcs`), or 0 when unknown.
    public var capacityProcs: Int64

    public init(runningProcs: Int64 = 0, queuedProcs: Int64 = 0, capacityProcs: Int64 = 0) {
        self.runningProcs = runningProcs
        self.queuedProcs = queuedProcs
        self.capacityProcs = capacityProcs
    }
}

/// What is known about a job at its submission: its feature vector (``FeatureSchema/submitTime``)
/// and the value in seconds of every ``RuntimeCandidate`` (all positive).
public struct SubmitSnapshot: Sendable, Equatable {
    public var features: [Float]
    public var candidates: [Float]

    /// The value of one candidate, in seconds.
    public subscript(_ c: RuntimeCandidate) -> Float { candidates[c.rawValue] }
}

/// Online, leakage-free history of finished jobs from which submit-time features are computed.
///
/// Feed it submissions and completions in time order: ``submit(_:load:)`` computes the snapshot of a
/// job from what had *finished* before it (completions must be reported with ``finish(_:candidates:)``
/// before a later submission is taken). Work per call is bounded: O(1) dictionary lookups and
/// fixed-size rings, no scan of the history.
public struct JobHistory: Sendable {
    /// How many recent runtimes are kept per user.
    public static let ring = 8
    /// Smoothing of the per-user candidate accuracy (weight of the newest job).
    public static let accuracySmoothing: Float = 0.3

    struct UserState: Sendable {
        var finished: Int64 = 0
        var runtimes: [Float] = []   // most recent last, at most `ring`
        var requested: [Float] = []  // requested time of the same jobs, -1 unknown
        var lastSubmit: Int64 = -1
        var lastFinish: Int64 = -1
        var inFlight: Int32 = 0
        var lastRequest: Int64 = -2
        var lastProcs: Int32 = -2
        var accuracy: [Float] = Array(repeating: -1, count: RuntimeCandidate.count)
    }

    struct KeyState: Sendable {
        var last: Float = 0
        var count: Int64 = 0
    }

    struct Key: Hashable, Sendable {
        var user: Int32
        var a: Int64
        var b: Int32
    }

    var users: [Int32: UserState] = [:]
    var byApplication: [Key: KeyState] = [:]
    var byRequest: [Key: KeyState] = [:]
    var byRequestProcs: [Key: KeyState] = [:]
    var byProcs: [Key: KeyState] = [:]
    /// Exponentially smoothed log runtime of all finished jobs: the estimate of last resort.
    var globalLogRuntime: Double = 8.19  // log(3600)
    var globalFinished: Int64 = 0
    /// Advanced by every change of what a memoized snapshot holds: every ``finish(_:candidates:)``, and a user's
    /// first submission (it creates the user's record). Snapshots memoized under another epoch are stale.
    var epoch: UInt64 = 0
    /// Recent snapshots, when ``memoizeSnapshots()`` asked for them (not serialized).
    var memo: SnapshotMemo?

    public init() {}

    /// Number of finished jobs recorded.
    public var finishedJobs: Int64 { globalFinished }

    /// Runtime used when nothing better is known (no request, no history), in seconds.
    public var fallbackRuntime: Float { Float(exp(globalLogRuntime)) }

    /// Computes the snapshot of `job` at its submission, then records the submission
    /// (in-flight count, last submit time) for later jobs of the same user.
    /// - Complexity: O(1) amortised.
    public mutating func submit(_ job: JobRecord, load: ClusterLoad) -> SubmitSnapshot {
        var snap = SubmitSnapshot(features: [], candidates: [])
        submit(job, load: load, into: &snap)
        return snap
    }

    /// ``submit(_:load:)`` into `snapshot`'s arrays, reused (no allocation when they are not shared and have the
    /// room, as for a profiler that keeps one snapshot for every submission).
    public mutating func submit(_ job: JobRecord, load: ClusterLoad, into snapshot: inout SubmitSnapshot) {
        if let missed = fill(job, load: load, into: &snapshot) {
            memo?.store(missed, candidates: snapshot.candidates, features: snapshot.features)
        }
        if job.user >= 0 {
            // In place: one lookup, and the user's arrays are neither retained nor released.
            if Self.recordSubmission(of: job, in: &users[job.user, default: UserState()]) { epoch &+= 1 }
        }
    }

    /// Returns whether it was the first submission the record saw (so perhaps a new record).
    private static func recordSubmission(of job: JobRecord, in u: inout UserState) -> Bool {
        let first = u.lastSubmit < 0
        u.lastSubmit = job.submit
        u.inFlight &+= 1
        return first
    }

    /// The snapshot of `job` from the current history, without recording anything.
    public func snapshot(_ job: JobRecord, load: ClusterLoad) -> SubmitSnapshot {
        var snap = SubmitSnapshot(features: [], candidates: [])
        snapshot(job, load: load, into: &snap)
        return snap
    }

    /// ``snapshot(_:load:)`` into `out`'s arrays, reused (see ``submit(_:load:into:)``).
    public func snapshot(_ job: JobRecord, load: ClusterLoad, into out: inout SubmitSnapshot) {
        _ = fill(job, load: load, into: &out)
    }

    /// The processors a job counts with: requested, else allocated.
    @inline(__always) static func procs(of job: JobRecord) -> Int32 {
        job.requestedProcs > 0 ? job.requestedProcs : job.allocatedProcs
    }

    /// The snapshot of `job` into `out`: from the memo when it has one for the job's key (then only the features
    /// ``setVarying(_:_:_:_:)`` writes are computed), else computed in full. Returns the key to store the result
    /// under when a memo exists and did not have it.
    private func fill(_ job: JobRecord, load: ClusterLoad, into out: inout SubmitSnapshot) -> SnapshotMemo.Key? {
        guard let memo else {
            compute(job, load: load, into: &out)
            return nil
        }
        let key = memoKey(job)
        if memo.recall(key, candidates: &out.candidates, features: &out.features) {
            Self.setVarying(&out.features, job, job.user >= 0 ? users[job.user] : nil, load)
            return nil
        }
        compute(job, load: load, into: &out)
        return key
    }

    private func compute(_ job: JobRecord, load: ClusterLoad, into out: inout SubmitSnapshot) {
        // Take the arrays (unique if the caller's were), refill them, give them back.
        var c: [Float] = []
        var f: [Float] = []
        swap(&c, &out.candidates)
        swap(&f, &out.features)
        defer {
            swap(&c, &out.candidates)
            swap(&f, &out.features)
        }
        let req: Float = job.requestedTime > 0 ? Float(job.requestedTime) : -1
        let procs = Self.procs(of: job)
        let u = job.user >= 0 ? users[job.user] : nil
        let history = u?.runtimes ?? []
        let base: Float = req > 0 ? req : fallbackRuntime

        // Candidates, each with a documented fallback so every value is a usable positive number.
        c.removeAll(keepingCapacity: true)
        c.append(contentsOf: repeatElement(base, count: RuntimeCandidate.count))
        let n = history.count
        let last1 = n >= 1 ? history[n - 1] : base
        var last2 = n >= 2 ? (history[n - 1] + history[n - 2]) / 2 : last1
        if req > 0 && n >= 1 { last2 = Swift.min(last2, req) }
        c[RuntimeCandidate.last1.rawValue] = last1
        c[RuntimeCandidate.last2.rawValue] = last2
        c[RuntimeCandidate.median5.rawValue] = n >= 1 ? Self.median(history.suffix(5)) : base
        let app = lookup(byApplication, job.user, Int64(job.application), 0, valid: job.application >= 0)
        let sameReq = lookup(byRequest, job.user, job.requestedTime, 0, valid: job.requestedTime > 0)
        let sameReqProcs = lookup(byRequestProcs, job.user, job.requestedTime, procs, valid: job.requestedTime > 0)
        let sameProcs = lookup(byProcs, job.user, 0, procs, valid: procs > 0)
        c[RuntimeCandidate.sameApplication.rawValue] = app.count > 0 ? app.last : last2
        let sameRequestValue = sameReq.count > 0 ? sameReq.last : last2
        c[RuntimeCandidate.sameRequest.rawValue] = sameRequestValue
        c[RuntimeCandidate.sameRequestAndProcs.rawValue] = sameReqProcs.count > 0 ? sameReqProcs.last : sameRequestValue
        c[RuntimeCandidate.sameProcs.rawValue] = sameProcs.count > 0 ? sameProcs.last : last2
        var ratioMedian: Float = -1
        if let u {
            // At most five ratios: a fixed buffer, no allocation.
            var ratios: (Float, Float, Float, Float, Float) = (0, 0, 0, 0, 0)
            var count = 0
            for i in Swift.max(0, n - 5)..<n where u.requested[i] > 0 && count < 5 {
                let r = history[i] / u.requested[i]
                switch count {
                case 0: ratios.0 = r
                case 1: ratios.1 = r
                case 2: ratios.2 = r
                case 3: ratios.3 = r
                default: ratios.4 = r
                }
                count += 1
            }
            if count > 0 {
                ratioMedian = withUnsafeMutableBytes(of: &ratios) { raw in
                    Self.median(UnsafeMutableBufferPointer(rebasing: raw.bindMemory(to: Float.self)[0 ..< count]))
                }
            }
        }
        c[RuntimeCandidate.scaledRequest.rawValue] = (req > 0 && ratioMedian > 0) ? Swift.max(1, req * ratioMedian) : last2
        c[RuntimeCandidate.requested.rawValue] = base
        for i in c.indices where !(c[i] >= 1) { c[i] = 1 }  // also catches NaN

        // Features, in FeatureSchema.submitTime order.
        f.removeAll(keepingCapacity: true)
        f.reserveCapacity(FeatureSchema.submitTime.count)
        f.append(Self.logOrMissing(Float(job.requestedTime)))
        f.append(Self.logOrMissing(Float(procs)))
        for _ in 0 ..< 4 { f.append(0) }  // nodes, memory, queue, partition: setVarying
        f.append(Float(job.application))
        for _ in 0 ..< 2 { f.append(0) }  // hour of day, day of week: setVarying
        f.append(Float(job.user))
        f.append(Float(log1p(Double(u?.finished ?? 0))))
        for _ in 0 ..< 3 { f.append(0) }  // in flight, since submit, since finish: setVarying
        f.append(ratioMedian)
        var hits: Float = -1
        var spread: Float = -1
        if let u, n > 0 {
            var h = 0
            var lo = Float.greatestFiniteMagnitude
            var hi: Float = 0
            for i in Swift.max(0, n - 5)..<n {
                if u.requested[i] > 0 && history[i] >= 0.99 * u.requested[i] { h += 1 }
                lo = Swift.min(lo, history[i])
                hi = Swift.max(hi, history[i])
            }
            hits = Float(h) / Float(Swift.min(n, 5))
            spread = Float(log(Double(Swift.max(hi, 1)) / Double(Swift.max(lo, 1))))
        }
        f.append(hits)
        f.append(spread)
        f.append(Float(log1p(Double(app.count))))
        f.append(Float(log1p(Double(sameReq.count))))
        f.append(Float(log1p(Double(sameReqProcs.count))))
        f.append(Float(log1p(Double(sameProcs.count))))
        f.append(u.map { $0.lastRequest == job.requestedTime ? 1 : 0 } ?? -1)
        f.append(u.map { $0.lastProcs == procs ? 1 : 0 } ?? -1)
        for _ in 0 ..< 2 { f.append(0) }  // running and queued processors: setVarying
        for v in c { f.append(Float(log(Double(v)))) }
        for v in c { f.append(req > 0 ? Float(log(Double(v) / Double(req))) : -20) }
        if let u {
            f.append(contentsOf: u.accuracy)
        } else {
            f.append(contentsOf: repeatElement(-1, count: RuntimeCandidate.count))
        }
        Self.setVarying(&f, job, u, load)
    }

    /// Records that `job` has left the system. Jobs with a positive runtime enter the runtime
    /// history; `candidates` (its snapshot's candidates, if known) update the user's record of which
    /// candidate has been accurate lately.
    /// - Complexity: O(1) amortised.
    public mutating func finish(_ job: JobRecord, candidates: [Float]?) {
        epoch &+= 1
        guard job.user >= 0 else {
            recordGlobal(job)
            return
        }
        var u = users[job.user] ?? UserState()
        if u.inFlight > 0 { u.inFlight -= 1 }
        guard job.runtime > 0 else {
            users[job.user] = u
            return
        }
        let r = Float(job.runtime)
        let procs = Self.procs(of: job)
        u.finished &+= 1
        u.runtimes.append(r)
        u.requested.append(job.requestedTime > 0 ? Float(job.requestedTime) : -1)
        if u.runtimes.count > Self.ring {
            u.runtimes.removeFirst()
            u.requested.removeFirst()
        }
        if let e = job.end { u.lastFinish = Swift.max(u.lastFinish, e) }
        u.lastRequest = job.requestedTime
        u.lastProcs = procs
        if let candidates, candidates.count == RuntimeCandidate.count {
            let w = Self.accuracySmoothing
            for k in 0..<RuntimeCandidate.count {
                let a = Float(predictionAccuracy(actual: Double(r), predicted: Double(candidates[k])))
                u.accuracy[k] = u.accuracy[k] < 0 ? a : (1 - w) * u.accuracy[k] + w * a
            }
        }
        users[job.user] = u
        if job.application >= 0 { Self.bump(&byApplication, Key(user: job.user, a: Int64(job.application), b: 0), r) }
        if job.requestedTime > 0 {
            Self.bump(&byRequest, Key(user: job.user, a: job.requestedTime, b: 0), r)
            Self.bump(&byRequestProcs, Key(user: job.user, a: job.requestedTime, b: procs), r)
        }
        if procs > 0 { Self.bump(&byProcs, Key(user: job.user, a: 0, b: procs), r) }
        recordGlobal(job)
    }

    private mutating func recordGlobal(_ job: JobRecord) {
        guard job.runtime > 0 else { return }
        globalFinished &+= 1
        let w = globalFinished < 100 ? 1.0 / Double(globalFinished) : 0.01
        globalLogRuntime = (1 - w) * globalLogRuntime + w * log(Double(job.runtime))
    }

    private static func bump(_ map: inout [Key: KeyState], _ key: Key, _ r: Float) {
        var s = map[key] ?? KeyState()
        s.last = r
        s.count &+= 1
        map[key] = s
    }

    private func lookup(_ map: [Key: KeyState], _ user: Int32, _ a: Int64, _ b: Int32, valid: Bool) -> KeyState {
        guard valid, user >= 0 else { return KeyState() }
        return map[Key(user: user, a: a, b: b)] ?? KeyState()
    }

    /// Median of at most ``ring`` values (-1 when empty), without allocating.
    static func median(_ xs: ArraySlice<Float>) -> Float {
        guard !xs.isEmpty else { return -1 }
        guard xs.count <= 8 else {
            let s = xs.sorted()
            let m = s.count / 2
            return s.count % 2 == 1 ? s[m] : (s[m - 1] + s[m]) / 2
        }
        var copy: (Float, Float, Float, Float, Float, Float, Float, Float) = (0, 0, 0, 0, 0, 0, 0, 0)
        return withUnsafeMutableBytes(of: &copy) { raw in
            let buffer = UnsafeMutableBufferPointer(rebasing: raw.bindMemory(to: Float.self)[0 ..< xs.count])
            for (i, x) in xs.enumerated() { buffer[i] = x }
            return median(buffer)
        }
    }

    /// Median of `xs` (-1 when empty), sorting `xs` in place: the same value as sorting a copy with `sorted()`
    /// (an insertion sort; for so few values the standard library's sort is one too).
    static func median(_ xs: UnsafeMutableBufferPointer<Float>) -> Float {
        guard !xs.isEmpty else { return -1 }
        for j in 1 ..< xs.count {
            let x = xs[j]
            var i = j
            while i > 0 && x < xs[i - 1] {
                xs[i] = xs[i - 1]
                i -= 1
            }
            xs[i] = x
        }
        let m = xs.count / 2
        return xs.count % 2 == 1 ? xs[m] : (xs[m - 1] + xs[m]) / 2
    }

    @inline(__always) static func logOrMissing(_ v: Float) -> Float {
        v > 0 ? Float(log(Double(v))) : -1
    }

    @inline(__always) static func sinceLog(_ now: Int64, _ then: Int64) -> Float {
        guard then >= 0 else { return -1 }
        return Float(log1p(Double(Swift.max(0, now &- then))))
    }
}
