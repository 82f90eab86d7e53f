// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

/// Users resubmit after their jobs end: a learned think-time model.
///
/// Many jobs are submitted minutes after the same user's previous job ended (a quarter to a third of job
/// ends on the SDSC-SP2, KTH-SP2 and CTC-SP2 logs are followed by the user's next submission within ten
/// minutes, nearly always fitting in the nodes the ended job freed). Slurm's SuspendTime profits from this
/// blindly by keeping every freed node; this model learns, per user (with a cluster-wide prior), how likely
/// and how soon the next submission follows a job end, and turns each user's recent ends into expected
/// node demand: the nodes the user's jobs freed, times the probability that the user submits again in the
/// coming minutes given that they have not yet.
///
/// Users also submit in series: a job is often followed, minutes later, by the same user's next job of the
/// same size (parameter sweeps, chains submitted by hand). On the HPC2N log a third of Slurm's boot-induced
/// wait falls on jobs whose user had submitted 5–30 minutes before, mostly a job of the same size. The model
/// learns the same kind of think time from a submission to the user's next one, and keeps (or powers up) the
/// nodes of the user's last job while another submission is likely enough (``followPrice``).
///
/// How soon a user resubmits depends on how long the job that ended ran: on the CTC-SP2 log 44 % of the ends of
/// jobs that ran under a minute are followed by the user's next submission within 15 minutes, 7 % of those that
/// ran an hour or more. Resubmission think times are therefore learned per user *and* per runtime class of the
/// ended job (``runtimeClassBounds``), with the cluster-wide think times of that class as the prior. Ranking job
/// ends by the chance of a resubmission within 15 minutes, estimated online this way, the area under the ROC curve
/// rose from 0.73 to 0.78 (CTC), 0.77 to 0.80 (LANL-CM5), 0.75 to 0.81 (SDSC-SP2) and 0.82 to 0.88 (HPC2N) over
/// the user alone.
///
/// Only ends and submissions the cluster has shown are used (no peeking).
public struct SessionModel: Sendable, Equatable {
    /// Minutes after an end within which a submission counts as a resubmission.
    public static let windowMinutes = 30
    /// Weight of the cluster-wide think-time distribution in a user's, in pseudo-observations.
    public var priorWeight = 5.0
    /// Keep a user's freed nodes only if the chance that they resubmit within ``priceWindowMinutes``, per
    /// node (per allocation unit of nodes), is at least this; then all of them (a job needs all its nodes up to skip the boot, and the
    /// boot-induced wait counts per job). 0 = fluid: nodes × probability.
    public var price = 0.05
    public var priceWindowMinutes = 15
    /// Like ``price``, for a user's next submission after a submission (the nodes of their last job); 0 turns
    /// the follow-on part off.
    public var followPrice = 0.05

    /// Upper bounds (seconds, exclusive) of the runtime classes of an ended job: under a minute, under ten
    /// minutes, under an hour, longer. A job of unknown runtime has a class of its own.
    public static let runtimeClassBounds: [Int64] = [60, 600, 3600]
    public static let unknownRuntimeClass = runtimeClassBounds.count + 1

    /// The runtime class of a job that ran `runtime` seconds (negative: unknown).
    public static func runtimeClass(_ runtime: Int64) -> Int {
        guard runtime >= 0 else { return unknownRuntimeClass }
        return runtimeClassBounds.firstIndex { runtime < $0 } ?? runtimeClassBounds.count
    }

    /// Think-time counts: bins 0 ..< window for a resubmission in that minute after the end, bin `window`
    /// for none within the window; cluster-wide (all classes, and per runtime class) and per user and class.
    private var global: [Double]
    private var globalTotal = 0.0
    private var classGlobal: [[Double]]
    private var classTotal: [Double]
    private var users: [Int64: [Double]] = [:]
    /// Per user with an unresolved end: the last end and the nodes their jobs freed since their last submission.
    private var open: [Int32: OpenEnd] = [:]
    /// The same for the time from a submission to the user's next submission.
    private var followGlobal: [Double]
    private var followGlobalTotal = 0.0
    private var followUsers: [Int32: [Double]] = [:]
    /// Per user whose last submission is within the window: its time and nodes.
    private var lastSubmission: [Int32: OpenEnd] = [:]
    /// The entries of `open` and `lastSubmission` by their `end`, earliest first, so that an event finds the expired
    /// ones without scanning every user's (on a large cluster's first cycle, 100,000 submissions each scanned them
    /// all; a history replay, more). An item whose entry has since moved or gone is skipped when it comes up.
    private var expiry = ExpiryQueue()

    /// A binary min-heap of (end, user, which map). Not part of the model's value: two models that hold the same
    /// entries are equal whatever their queues hold.
    private struct ExpiryQueue: Sendable, Equatable {
        struct Item: Sendable {
            var end: Int64
            var user: Int32
            var follow: Bool  // in `lastSubmission`, else in `open`
        }
        var items: [Item] = []
        /// Off once a time before 1970 was seen (which no cluster gives; the scan's wrapping arithmetic is then
        /// not followed), or for the test that compares with scanning: then every event scans.
        var usable = true
        static func == (_: ExpiryQueue, _: ExpiryQueue) -> Bool { true }

        mutating func push(_ item: Item) {
            guard usable else { return }
            guard item.end >= 0 else {
                usable = false
                items = []
                return
            }
            items.append(item)
            var i = items.count - 1
            while i > 0 {
                let parent = (i - 1) / 2
                guard items[i].end < items[parent].end else { break }
                items.swapAt(i, parent)
                i = parent
            }
        }

        mutating func popMin() -> Item? {
            guard let first = items.first else { return nil }
            let last = items.removeLast()
            if !items.isEmpty {
                items[0] = last
                var i = 0
                while true {
                    let l = 2 * i + 1, r = l + 1
                    var m = i
                    if l < items.count && items[l].end < items[m].end { m = l }
                    if r < items.count && items[r].end < items[m].end { m = r }
                    if m == i { break }
                    items.swapAt(i, m)
                    i = m
                }
            }
            return first
        }
    }

    /// Scans for expired entries at every event (the reference the queue is tested against).
    mutating func scanAtEveryEvent() {
        expiry.usable = false
        expiry.items = []
    }

    private struct OpenEnd: Sendable, Equatable {
        var end: Int64
        /// Nodes, or a share of one for a job that shares a node (``observeEnd(user:nodes:at:runtime:)``).
        var nodes: Double
        /// Runtime class of the last ended job (resubmissions); unused for submissions.
        var runtimeClass = SessionModel.unknownRuntimeClass
    }

    public init() {
        global = Array(repeating: 0, count: Self.windowMinutes + 1)
        followGlobal = global
        classGlobal = Array(repeating: global, count: Self.unknownRuntimeClass + 1)
        classTotal = Array(repeating: 0, count: Self.unknownRuntimeClass + 1)
    }

    /// A job's nodes as the model counts them: `nodes` when positive and finite, else one node.
    @inline(__always)
    static func nodes(_ nodes: Double) -> Double { nodes > 0 && nodes.isFinite ? nodes : 1 }

    private static func userKey(_ user: Int32, _ runtimeClass: Int) -> Int64 { Int64(user) << 8 | Int64(runtimeClass) }

    /// Multiplies both prices by `factor` (above 1: fewer nodes kept for users' next jobs).
    public mutating func scalePrices(by factor: Double) {
        guard factor > 0, factor.isFinite else { return }
        price *= factor
        followPrice *= factor
    }

    /// The same model without prices: freed nodes weighted by the probability of a resubmission, and no
    /// follow-on term.
    public var unpriced: SessionModel {
        var m = self
        m.price = 0
        m.followPrice = 0
        return m
    }

    private mutating func recordFollow(user: Int32, bin: Int) {
        let b = Swift.max(0, Swift.min(bin, Self.windowMinutes))
        followGlobal[b] += 1
        followGlobalTotal += 1
        followUsers[user, default: Array(repeating: 0, count: Self.windowMinutes + 1)][b] += 1
    }

    private mutating func record(user: Int32, runtimeClass c: Int, bin: Int) {
        let b = Swift.max(0, Swift.min(bin, Self.windowMinutes))
        global[b] += 1
        globalTotal += 1
        classGlobal[c][b] += 1
        classTotal[c] += 1
        users[Self.userKey(user, c), default: Array(repeating: 0, count: Self.windowMinutes + 1)][b] += 1
    }

    /// Resolves ends older than the window as "no resubmission".
    private mutating func expire(now: Int64) {
        let horizon = Int64(Self.windowMinutes) * 60
        if expiry.usable && now >= 0 {
            // Every entry has an item with its current end: those at or before `now - horizon` are the expired ones.
            let limit = now - horizon
            while let top = expiry.items.first, top.end <= limit {
                _ = expiry.popMin()
                if top.follow {
                    guard let e = lastSubmission[top.user], e.end == top.end else { continue }
                    recordFollow(user: top.user, bin: Self.windowMinutes)
                    lastSubmission[top.user] = nil
                } else {
                    guard let e = open[top.user], e.end == top.end else { continue }
                    record(user: top.user, runtimeClass: e.runtimeClass, bin: Self.windowMinutes)
                    open[top.user] = nil
                }
            }
            return
        }
        for (user, entry) in open where now &- entry.end >= horizon {
            record(user: user, runtimeClass: entry.runtimeClass, bin: Self.windowMinutes)
            open[user] = nil
        }
        for (user, entry) in lastSubmission where now &- entry.end >= horizon {
            recordFollow(user: user, bin: Self.windowMinutes)
            lastSubmission[user] = nil
        }
    }

    /// Records that a job of `user` holding `nodes` nodes ended at `time` after running `runtime` seconds
    /// (negative: unknown). `nodes` may be a share of a node (a job that took some of a node's CPUs on a cluster
    /// whose jobs share nodes: its CPUs over the node's); not positive or not finite counts as one node.
    public mutating func observeEnd(user: Int32, nodes: Double, at time: Int64, runtime: Int64 = -1) {
        expire(now: time)
        let freed = SessionModel.nodes(nodes)
        let c = Self.runtimeClass(runtime)
        if let entry = open[user] {
            let end = Swift.max(entry.end, time)
            open[user] = OpenEnd(end: end, nodes: entry.nodes + freed, runtimeClass: time >= entry.end ? c : entry.runtimeClass)
            if end != entry.end { expiry.push(.init(end: end, user: user, follow: false)) }
        } else {
            open[user] = OpenEnd(end: time, nodes: freed, runtimeClass: c)
            expiry.push(.init(end: time, user: user, follow: false))
        }
    }

    /// Records a submission by `user` at `time` of a job needing `nodes` nodes, or a share of a node (0: unknown,
    /// the follow-on part ignores it). Returns whether it followed one of the user's job ends within the window (a
    /// resubmission).
    @discardableResult
    public mutating func observeSubmission(user: Int32, nodes: Double = 0, at time: Int64) -> Bool {
        expire(now: time)
        if nodes > 0 && nodes.isFinite {
            if let last = lastSubmission[user] {
                recordFollow(user: user, bin: Int(Swift.max(0, time &- last.end) / 60))
            }
            if lastSubmission[user]?.end != time { expiry.push(.init(end: time, user: user, follow: true)) }
            lastSubmission[user] = OpenEnd(end: time, nodes: nodes)
        }
        guard let entry = open.removeValue(forKey: user) else { return false }
        record(user: user, runtimeClass: entry.runtimeClass, bin: Int(Swift.max(0, time &- entry.end) / 60))
        return true
    }

    /// Nodes expected to be needed by resubmissions, minute by minute over the next `minutes` minutes from
    /// `now`, for each user with an unresolved recent end: with a ``price``, all the nodes their jobs freed
    /// if worth it; without, those nodes times the probability that they submit by that minute, given they
    /// have not yet. Likewise for users whose last submission is recent (``followPrice``, the nodes of that
    /// job); a user with both counts once, the larger.
    /// - Complexity: O(users with recent ends or submissions × (minutes + window))
    /// - Parameter allocationUnit: nodes per unit the price is per (``ArrivalModel/allocationUnit``).
    public func expectedDemand(now: Int64, minutes: Int, allocationUnit: Int = 1) -> [Float] {
        let h = Swift.max(0, minutes)
        var demand = [Float](repeating: 0, count: h)
        // Per user: the larger of the resubmission (after an end) and the follow-on (after a submission) demand.
        var perUser: [Int32: [Float]] = [:]
        if globalTotal > 0 {
            for (user, entry) in open {
                // The prior: the think times after ends of this runtime class, all classes until one is seen.
                let c = entry.runtimeClass
                let seen = classTotal[c] > 0
                if let d = Self.demand(
                    entry: entry, now: now, minutes: h, counts: users[Self.userKey(user, c)],
                    global: seen ? classGlobal[c] : global, globalTotal: seen ? classTotal[c] : globalTotal,
                    priorWeight: priorWeight, price: price, priceWindow: priceWindowMinutes, unit: allocationUnit)
                {
                    perUser[user] = d
                }
            }
        }
        if followGlobalTotal > 0 && followPrice > 0 {
            for (user, entry) in lastSubmission {
                guard let d = Self.demand(
                    entry: entry, now: now, minutes: h, counts: followUsers[user], global: followGlobal,
                    globalTotal: followGlobalTotal, priorWeight: priorWeight, price: followPrice,
                    priceWindow: priceWindowMinutes, unit: allocationUnit)
                else { continue }
                if let e = perUser[user] {
                    perUser[user] = zip(e, d).map { Swift.max($0, $1) }
                } else {
                    perUser[user] = d
                }
            }
        }
        for d in perUser.values {
            for m in 0 ..< h { demand[m] += d[m] }
        }
        return demand
    }

    /// One user's demand from one open event (an end, or a submission) `entry.end`, with think-time `counts`.
    private static func demand(
        entry: OpenEnd, now: Int64, minutes h: Int, counts: [Double]?, global: [Double], globalTotal: Double,
        priorWeight: Double, price: Double, priceWindow: Int, unit: Int
    ) -> [Float]? {
        let w = windowMinutes
        let age = Int(Swift.max(0, now &- entry.end) / 60)
        guard age < w else { return nil }
        var p = [Double](repeating: 0, count: w + 1)
        var total = 0.0
        for b in 0 ... w {
            p[b] = (counts?[b] ?? 0) + priorWeight * global[b] / globalTotal
            total += p[b]
        }
        var survivors = 0.0  // weight of outcomes not yet excluded (no submission by `age`)
        for b in age ... w { survivors += p[b] }
        guard survivors > 0, total > 0 else { return nil }
        if price > 0 {
            var pw = 0.0
            for b in age ..< Swift.min(w, age + priceWindow) { pw += p[b] }
            pw /= survivors
            guard pw * Double(Swift.max(unit, 1)) / entry.nodes >= price else { return nil }
            return Array(repeating: Float(entry.nodes), count: h)
        }
        var d = [Float](repeating: 0, count: h)
        var cumulative = 0.0
        for m in 0 ..< h {
            let b = age + m
            if b < w { cumulative += p[b] }
            d[m] = Float(entry.nodes * cumulative / survivors)
        }
        return d
    }
}
