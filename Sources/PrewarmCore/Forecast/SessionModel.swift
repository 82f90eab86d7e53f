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

    /// Think-time counts: bins 0 ..< window for a resubmission in that minute after the end, bin `window`
    /// for none within the window.
    private var global: [Double]
    private var globalTotal = 0.0
    private var users: [Int32: [Double]] = [:]
    /// Per user with an unresolved end: the last end and the nodes their jobs freed since their last submission.
    private var open: [Int32: OpenEnd] = [:]

    private struct OpenEnd: Sendable, Equatable {
        var end: Int64
        var nodes: Int
    }

    public init() {
        global = Array(repeating: 0, count: Self.windowMinutes + 1)
    }

    private mutating func record(user: Int32, bin: Int) {
        let b = Swift.max(0, Swift.min(bin, Self.windowMinutes))
        global[b] += 1
        globalTotal += 1
        users[user, default: Array(repeating: 0, count: Self.windowMinutes + 1)][b] += 1
    }

    /// Resolves ends older than the window as "no resubmission".
    private mutating func expire(now: Int64) {
        let horizon = Int64(Self.windowMinutes) * 60
        for (user, entry) in open where now &- entry.end >= horizon {
            record(user: user, bin: Self.windowMinutes)
            open[user] = nil
        }
    }

    /// Records that a job of `user` holding `nodes` nodes ended at `time`.
    public mutating func observeEnd(user: Int32, nodes: Int, at time: Int64) {
        expire(now: time)
        let freed = Swift.max(nodes, 1)
        if let entry = open[user] {
            open[user] = OpenEnd(end: Swift.max(entry.end, time), nodes: entry.nodes + freed)
        } else {
            open[user] = OpenEnd(end: time, nodes: freed)
        }
    }

    /// Records a submission by `user` at `time`. Returns whether it followed one of the user's job ends within
    /// the window (a resubmission).
    @discardableResult
    public mutating func observeSubmission(user: Int32, at time: Int64) -> Bool {
        expire(now: time)
        guard let entry = open.removeValue(forKey: user) else { return false }
        record(user: user, bin: Int(Swift.max(0, time &- entry.end) / 60))
        return true
    }

    /// Nodes expected to be needed by resubmissions, minute by minute over the next `minutes` minutes from
    /// `now`, for each user with an unresolved recent end: with a ``price``, all the nodes their jobs freed
    /// if worth it; without, those nodes times the probability that they submit by that minute, given they
    /// have not yet.
    /// - Complexity: O(users with recent ends × (minutes + window))
    /// - Parameter allocationUnit: nodes per unit the price is per (``ArrivalModel/allocationUnit``).
    public func expectedDemand(now: Int64, minutes: Int, allocationUnit: Int = 1) -> [Float] {
        let h = Swift.max(0, minutes)
        var demand = [Float](repeating: 0, count: h)
        guard globalTotal > 0 else { return demand }
        let w = Self.windowMinutes
        var p = [Double](repeating: 0, count: w + 1)
        for (user, entry) in open {
            let age = Int(Swift.max(0, now &- entry.end) / 60)
            guard age < w else { continue }
            let counts = users[user]
            var total = 0.0
            for b in 0 ... w {
                p[b] = (counts?[b] ?? 0) + priorWeight * global[b] / globalTotal
                total += p[b]
            }
            var survivors = 0.0  // weight of outcomes not yet excluded (no submission by `age`)
            for b in age ... w { survivors += p[b] }
            guard survivors > 0, total > 0 else { continue }
            var cumulative = 0.0
            if price > 0 {
                var pw = 0.0
                for b in age ..< Swift.min(w, age + priceWindowMinutes) { pw += p[b] }
                pw /= survivors
                if pw * Double(Swift.max(allocationUnit, 1)) / Double(entry.nodes) >= price {
                    for m in 0 ..< h { demand[m] += Float(entry.nodes) }
                }
                continue
            }
            for m in 0 ..< h {
                let b = age + m
                if b < w { cumulative += p[b] }
                demand[m] += Float(Double(entry.nodes) * cumulative / survivors)
            }
        }
        return demand
    }
}
