// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

/// What the daemon learns about arrivals, per partition: the ``ArrivalModel`` (hour of week, recent rate, job
/// sizes, runtimes) and the ``SessionModel`` (users' resubmissions and series) that the simulator's
/// ``PrewarmPolicy`` learns online, fed here from the history store at start-up and from each cycle's jobs.
public struct DemandLearner: Sendable {
    public struct Models: Sendable {
        public var arrivals = ArrivalModel()
        public var sessions = SessionModel()
        /// Submissions seen in this partition.
        public var submissions = 0
        public init() {}
    }

    public private(set) var partitions: [String: Models] = [:]
    /// Submissions and ends observed, all partitions.
    public private(set) var submissions = 0
    public private(set) var ends = 0
    /// At most this many partitions are tracked (a misbehaving source cannot grow it without bound).
    public static let maxPartitions = 1024

    public init() {}

    /// The partitions with at least `minimumSubmissions` submissions seen: a model learned from a handful of
    /// jobs would keep nodes up for patterns it has not really seen. Their buffer and session prices are
    /// multiplied by `priceScale` (`PriceScale`).
    public func trusted(minimumSubmissions: Int = 50, priceScale: Double = 1) -> [String: Models] {
        var result = partitions.filter { $0.value.submissions >= minimumSubmissions }
        if priceScale != 1 {
            for key in Array(result.keys) {
                result[key]?.arrivals.scalePrices(by: priceScale)
                result[key]?.sessions.scalePrices(by: priceScale)
            }
        }
        return result
    }

    /// A job of `user` needing `nodes` nodes was submitted to `partition` at `time` (local hour of week
    /// `hourOfWeek`, 0 = Sunday 00:00). Where jobs share nodes, `nodes` of a job that takes some of a node's CPUs is
    /// its share of the node (its CPUs over the node's); not positive or not finite counts as one node.
    public mutating func submitted(partition: String, user: Int32, nodes: Double, at time: Int64, hourOfWeek: Int) {
        guard partitions[partition] != nil || partitions.count < Self.maxPartitions else { return }
        let n = SessionModel.nodes(nodes)
        // Taken out of the dictionary while it changes: a second reference would copy the per-user tables.
        var m = partitions.removeValue(forKey: partition) ?? Models()
        let resubmission = m.sessions.observeSubmission(user: user, nodes: n, at: time)
        if !resubmission { m.arrivals.observeArrival(time: time, hourOfWeek: hourOfWeek, nodes: n) }
        m.submissions += 1
        partitions[partition] = m
        submissions += 1
    }

    /// A job of `user` that held `nodes` nodes (or a share of one, as for ``submitted(partition:user:nodes:at:hourOfWeek:)``)
    /// in `partition` ended at `time` after running `runtime` seconds.
    public mutating func ended(partition: String, user: Int32, nodes: Double, at time: Int64, runtime: Int64) {
        guard var m = partitions.removeValue(forKey: partition) else { return }
        m.sessions.observeEnd(user: user, nodes: nodes, at: time, runtime: runtime)
        m.arrivals.observeRuntime(runtime)
        partitions[partition] = m
        ends += 1
    }

    /// A finished job from the history, replayed as its two events in time order with the others
    /// (``replay(_:)``).
    public struct PastJob: Sendable, Equatable {
        public var partition: String
        public var user: Int32
        /// Nodes, or a share of a node (see ``submitted(partition:user:nodes:at:hourOfWeek:)``).
        public var nodes: Double
        public var submit: Int64
        /// Start and end, when it ran.
        public var start: Int64?
        public var end: Int64?
        /// Seconds east of UTC at submission (for the local hour of week).
        public var utcOffset: Int64

        public init(
            partition: String, user: Int32, nodes: Double, submit: Int64, start: Int64?, end: Int64?, utcOffset: Int64
        ) {
            self.partition = partition
            self.user = user
            self.nodes = nodes
            self.submit = submit
            self.start = start
            self.end = end
            self.utcOffset = utcOffset
        }
    }

    /// Local hour of week (0 = Sunday 00:00) of Unix time `t` at `utcOffset` seconds east of UTC.
    public static func hourOfWeek(_ t: Int64, utcOffset: Int64) -> Int {
        let local = t &+ utcOffset
        let hours = local >= 0 ? local / 3600 : (local - 3599) / 3600
        // 1970-01-01 was a Thursday: hour 0 of the epoch is hour 96 of its week.
        let h = (hours + 96) % 168
        return Int(h < 0 ? h + 168 : h)
    }

    /// Replays past jobs: submissions and ends merged in time order.
    /// - Complexity: O(n log n)
    public mutating func replay(_ jobs: [PastJob]) {
        var events: [(time: Int64, isEnd: Bool, index: Int)] = []
        events.reserveCapacity(jobs.count * 2)
        for (i, j) in jobs.enumerated() {
            events.append((j.submit, false, i))
            if let s = j.start, let e = j.end, e >= s { events.append((e, true, i)) }
        }
        events.sort { ($0.time, $0.isEnd ? 1 : 0, $0.index) < ($1.time, $1.isEnd ? 1 : 0, $1.index) }
        for e in events {
            let j = jobs[e.index]
            if e.isEnd {
                ended(partition: j.partition, user: j.user, nodes: j.nodes, at: e.time,
                      runtime: (j.end ?? e.time) &- (j.start ?? e.time))
            } else {
                submitted(partition: j.partition, user: j.user, nodes: j.nodes, at: j.submit,
                          hourOfWeek: Self.hourOfWeek(j.submit, utcOffset: j.utcOffset))
            }
        }
    }
}
