// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

#if canImport(Glibc)
import Glibc
#endif

/// A job holding nodes now, with its predicted end (absolute Unix seconds).
public struct RunningDemand: Sendable, Equatable {
    public var nodes: Int
    /// Predicted end (median) and a late end (e.g. the p90, capped at the time limit).
    public var predictedEnd: Int64
    public var lateEnd: Int64

    public init(nodes: Int, predictedEnd: Int64, lateEnd: Int64) {
        self.nodes = nodes
        self.predictedEnd = predictedEnd
        self.lateEnd = Swift.max(lateEnd, predictedEnd)
    }

    /// A running job's ends given how long it has run so far (a conditional remaining-time estimate).
    ///
    /// While the job is within its point prediction it ends at `start + predictedRuntime` (late: the late
    /// runtime). A job that has outlived its prediction is not about to end: it is expected at the later of
    /// its late end and twice its elapsed time (heavy-tailed runtimes: the longer a job has run, the longer
    /// it is likely to keep running), late at its time limit. Every end is at least a minute from now and at
    /// most the time limit (Slurm kills the job there).
    /// - Parameters:
    ///   - start: when the job started (or will start, once its nodes have booted).
    ///   - limitEnd: `start` plus the job's time limit, or `nil` when unknown.
    public init(
        nodes: Int, start: Int64, now: Int64, predictedRuntime: Int64, lateRuntime: Int64, limitEnd: Int64?
    ) {
        let elapsed = Swift.max(0, now &- start)
        let point = Swift.max(0, predictedRuntime)
        let late = Swift.max(point, lateRuntime)
        let floor = now &+ 60
        let limit = limitEnd ?? .max
        var end: Int64
        var lateEnd: Int64
        if elapsed < point {
            end = start &+ point
            lateEnd = start &+ late
        } else {
            end = start &+ Swift.max(late, 2 &* elapsed)
            lateEnd = limit == .max ? start &+ Swift.max(late, 4 &* elapsed) : limit
        }
        end = Swift.max(Swift.min(end, limit), floor)
        lateEnd = Swift.max(Swift.min(lateEnd, limit), end)
        self.init(nodes: nodes, predictedEnd: end, lateEnd: lateEnd)
    }
}

/// A queued job: nodes, predicted runtime, and the earliest time it may start (`--begin`, a dependency's
/// predicted end, a reservation), if later than now.
public struct PendingDemand: Sendable, Equatable {
    public var nodes: Int
    public var predictedRuntime: Int64
    public var lateRuntime: Int64
    public var earliestStart: Int64?

    public init(nodes: Int, predictedRuntime: Int64, lateRuntime: Int64, earliestStart: Int64? = nil) {
        self.nodes = nodes
        self.predictedRuntime = predictedRuntime
        self.lateRuntime = Swift.max(lateRuntime, predictedRuntime)
        self.earliestStart = earliestStart
    }
}

/// Demand for nodes over the next hour, minute by minute: how many nodes jobs would keep busy if nodes
/// were there (running jobs until their predicted end, queued jobs from when they may start, and the
/// expected arrivals), with an upper band.
public struct DemandForecast: Sendable, Equatable {
    /// Start of minute 0, Unix seconds.
    public var start: Int64
    /// Expected busy nodes per minute.
    public var expected: [Float]
    /// Upper band per minute (late ends of known jobs plus a high quantile of arrivals).
    public var upper: [Float]

    /// The same series without the expected arrivals of jobs not submitted yet (``ArrivalModel``; users'
    /// expected resubmissions stay in): what known jobs and sessions need. Empty: same as `expected`/`upper`.
    public var expectedWithoutArrivals: [Float] = []
    public var upperWithoutArrivals: [Float] = []

    /// A forecast from its series (`upper` is raised to `expected` where lower, and trimmed to the same length).
    public init(start: Int64, expected: [Float], upper: [Float]) {
        self.start = start
        self.expected = expected
        self.upper = (0 ..< expected.count).map { $0 < upper.count ? Swift.max(upper[$0], expected[$0]) : expected[$0] }
    }

    /// A forecast from its series and the same series without expected arrivals (each raised to at most the
    /// full series, trimmed to its length).
    public init(
        start: Int64, expected: [Float], upper: [Float], expectedWithoutArrivals: [Float], upperWithoutArrivals: [Float]
    ) {
        self.init(start: start, expected: expected, upper: upper)
        let e = self.expected
        let u = self.upper
        self.expectedWithoutArrivals = (0 ..< e.count).map {
            $0 < expectedWithoutArrivals.count ? Swift.min(expectedWithoutArrivals[$0], e[$0]) : e[$0]
        }
        self.upperWithoutArrivals = (0 ..< u.count).map {
            Swift.max($0 < upperWithoutArrivals.count ? Swift.min(upperWithoutArrivals[$0], u[$0]) : u[$0],
                      self.expectedWithoutArrivals[$0])
        }
    }

    /// Like ``peak(minutes:aggressiveness:)``, counting only `arrivalShare` (0…1) of the expected arrivals of jobs
    /// not submitted yet (the full forecast when the series without arrivals are absent).
    /// - Complexity: O(range.count)
    public func peak(minutes range: Range<Int>, aggressiveness: Float, arrivalShare: Float) -> Float {
        guard arrivalShare < 1, expectedWithoutArrivals.count == expected.count,
              upperWithoutArrivals.count == upper.count
        else { return peak(minutes: range, aggressiveness: aggressiveness) }
        let share = Swift.max(0, arrivalShare)
        let lo = Swift.max(0, range.lowerBound)
        let hi = Swift.min(expected.count, range.upperBound)
        guard lo < hi else { return 0 }
        var best: Float = 0
        for m in lo ..< hi {
            let e = expectedWithoutArrivals[m] + share * (expected[m] - expectedWithoutArrivals[m])
            let u = upperWithoutArrivals[m] + share * (upper[m] - upperWithoutArrivals[m])
            best = Swift.max(best, e + aggressiveness * (Swift.max(u, e) - e))
        }
        return best
    }

    /// The largest value of `expected + aggressiveness × (upper − expected)` over minutes `range`
    /// (clamped to the horizon).
    /// - Complexity: O(range.count)
    public func peak(minutes range: Range<Int>, aggressiveness: Float) -> Float {
        let lo = Swift.max(0, range.lowerBound)
        let hi = Swift.min(expected.count, range.upperBound)
        guard lo < hi else { return 0 }
        var best: Float = 0
        for m in lo ..< hi { best = Swift.max(best, expected[m] + aggressiveness * (upper[m] - expected[m])) }
        return best
    }
}

/// Learned arrival pattern: node demand of newly submitted jobs by hour of week (Sunday 00:00 = 0), blended
/// with the recent rate, and how long new jobs keep their nodes (a runtime survival curve at minute
/// resolution over the forecast horizon).
public struct ArrivalModel: Sendable, Equatable {
    public static let hoursPerWeek = 168
    /// Minutes the survival curve covers (the forecast horizon).
    public static let horizonMinutes = 60

    /// Per hour-of-week bucket, smoothed over weeks: nodes requested per minute.
    public private(set) var weeklyRate: [Double]
    /// Whether a bucket has been observed at least once.
    private var observedBuckets: [Bool]
    /// Nodes requested in the current (unfinished) bucket and its index.
    private var currentBucket = -1
    private var currentBucketNodes = 0.0
    private var currentBucketStart: Int64 = 0
    /// Recent rate (nodes per minute), smoothed over roughly an hour.
    public private(set) var recentRate = 0.0
    private var lastArrival: Int64 = .min
    /// survival[d] = share of jobs still running d minutes after start (d = 0 … horizon).
    public private(set) var survival: [Double]
    private var runtimeCounts: [Double]
    private var runtimeTotal = 0.0
    /// Mean nodes per arriving job (for the band; below 1 where jobs share nodes).
    private var nodesPerJob = 1.0
    private var jobsSeen = 0.0
    /// Arriving jobs by node count in powers of two: jobs of more than 2^(k-1) and at most 2^k nodes (k = 0: one
    /// node or a share of one), and their nodes.
    private var sizeCounts: [Double] = []
    private var sizeNodes: [Double] = []
    /// Price of a buffer node in expected arriving jobs it must serve (see ``buffer(jobs:price:)``), for the
    /// expected series and for the upper band; 0 = fluid demand (expected nodes, a Poisson band).
    public var bufferPrice = 0.05
    public var upperBufferPrice = 0.0125
    /// Weight of a new week in an hour-of-week bucket.
    public var weeklySmoothing = 0.3
    /// Weight of the hour-of-week pattern against the recent rate (1 = pattern only).
    public var patternWeight = 0.6
    /// Memory of the recent rate, minutes (bursts of submissions decay on this scale).
    public var recentMinutes = 60.0
    /// How the hour-of-week pattern holds after a quiet spell: per quiet bucket (minutes since the last arrival in
    /// powers of two, see ``quietBucket(_:)``), the nodes that arrived while the quiet spell was that long and the
    /// nodes the pattern expected over the same time (its exposure). Their ratio scales the pattern up where
    /// arrivals cluster (a minute after a submission another is far likelier than the hour's average says; see
    /// ``quietFactor(minutes:)``). Measured on the logs: ranking minutes by whether a job arrives within five
    /// minutes, the hour of week alone scores an AUC of 0.72 (CTC) and 0.68 (SDSC-SP2); with the time since the
    /// last arrival, 0.77 and 0.76.
    private var quietNodes: [Double] = Array(repeating: 0, count: ArrivalModel.quietBuckets)
    private var quietExposure: [Double] = Array(repeating: 0, count: ArrivalModel.quietBuckets)
    /// Quiet buckets: 0 (under a minute), 1 (1-2 min), 2 (3-6 min), … up to about 45 days.
    public static let quietBuckets = 17
    /// Weight of the prior (factor 1) in the quiet factors, in expected nodes.
    public var quietPrior = 20.0
    /// Whether the pattern is scaled by the quiet factors (off: the pattern as learned per hour of week).
    public var quietScaling = true
    /// Whether hours without any arrival count as observations of rate 0.
    public var zeroHours = true

    public init() {
        weeklyRate = Array(repeating: 0, count: Self.hoursPerWeek)
        observedBuckets = Array(repeating: false, count: Self.hoursPerWeek)
        survival = Array(repeating: 1, count: Self.horizonMinutes + 1)
        runtimeCounts = Array(repeating: 0, count: Self.horizonMinutes + 1)
    }

    /// Multiplies the buffer prices by `factor` (above 1: leaner buffers; `PriceScale`, `simulate --price-scale`).
    public mutating func scalePrices(by factor: Double) {
        guard factor > 0, factor.isFinite else { return }
        bufferPrice *= factor
        upperBufferPrice *= factor
    }

    /// The same model without buffer prices: expected arriving nodes and a Poisson band (see
    /// ``arrivalDemand(minutes:now:hourOfWeekAt:)``).
    public var unpriced: ArrivalModel {
        var m = self
        m.bufferPrice = 0
        m.upperBufferPrice = 0
        return m
    }

    /// Hour of week (0…167) of a time given its local hour and weekday.
    @inlinable public static func hourOfWeek(hourOfDay: Int8, dayOfWeek: Int8) -> Int {
        let h = Int(hourOfDay) & 0x1F
        let d = Int(dayOfWeek) & 0x07
        return Swift.min(d, 6) * 24 + Swift.min(h, 23)
    }

    /// Records a submission of `nodes` nodes at `time`, whose local hour of week is `hourOfWeek`. `nodes` may be a
    /// share of a node (a job that takes some of a node's CPUs where jobs share nodes: its CPUs over the node's);
    /// not positive or not finite counts as one node.
    public mutating func observeArrival(time: Int64, hourOfWeek: Int, nodes: Double) {
        let bucket = ((hourOfWeek % Self.hoursPerWeek) + Self.hoursPerWeek) % Self.hoursPerWeek
        let n = SessionModel.nodes(nodes)
        if bucket != currentBucket || time &- currentBucketStart >= 3600 {
            let previousStart = currentBucket >= 0 ? currentBucketStart : Int64.min
            closeBucket()
            if zeroHours && previousStart != .min {
                // The hours between the closed bucket and this one had no arrival: they are observed at rate 0
                // (else a quiet night keeps the rate of the last night that had a submission).
                let newStart = time - time % 3600
                let gap = Swift.max(0, (newStart &- previousStart) / 3600 &- 1)
                let skipped = Int(Swift.min(gap, Int64(Self.hoursPerWeek)))
                for i in 0 ..< skipped {
                    // Hour `i + 1` after the closed one, counted back from this one's hour of week.
                    let h = ((bucket - (skipped - i)) % Self.hoursPerWeek + Self.hoursPerWeek) % Self.hoursPerWeek
                    observeHour(h, rate: 0)
                }
            }
            currentBucket = bucket
            currentBucketStart = time - time % 3600
            currentBucketNodes = 0
        }
        currentBucketNodes += n
        if lastArrival != .min && time >= lastArrival {
            observeQuietSpell(from: lastArrival, to: time, hourOfWeekAtEnd: bucket, nodes: n)
        }
        // Recent rate: exponential decay with a one-hour time constant.
        if lastArrival != .min {
            let dt = Double(Swift.max(0, time &- lastArrival)) / 60
            recentRate *= exp(-dt / recentMinutes)
        }
        recentRate += n / recentMinutes
        lastArrival = Swift.max(lastArrival, time)
        jobsSeen += 1
        nodesPerJob += (n - nodesPerJob) / Swift.min(jobsSeen, 1000)
        // Sizes in powers of two (a buffer of 2^k nodes serves every job of at most 2^k nodes).
        var k = 0
        while k < 62 && Double(1 << k) < n { k += 1 }
        while sizeCounts.count <= k {
            sizeCounts.append(0)
            sizeNodes.append(0)
        }
        sizeCounts[k] += 1
        sizeNodes[k] += n
    }

    /// The quiet bucket of a spell of `minutes` minutes since the last arrival: ⌊log2(1 + minutes)⌋, capped.
    @inline(__always)
    public static func quietBucket(_ minutes: Int) -> Int {
        let m = Swift.max(0, minutes)
        return Swift.min(quietBuckets - 1, Int.bitWidth - 1 - (m + 1).leadingZeroBitCount)
    }

    /// The quiet factor at `minutes` since the last arrival: arrived over expected nodes in its bucket, shrunk
    /// toward 1 by ``quietPrior``, and never below 1. A factor below 1 (fewer arrivals after a long quiet spell than
    /// the hour of week says) is left to the pattern itself, whose hours without arrivals count as rate 0
    /// (``zeroHours``): scaled down by it, a burst that comes every week at the same hour after a quiet week was
    /// forecast at a third of its rate, and its first jobs waited for their nodes to boot. Measured at boot 300 s
    /// with both (2026-12-02), the saving at equal wait rose on KTH and SDSC-SP2 (45.2 → 51.5 %, 32.4 → 38.5 %)
    /// and fell on CTC (38.7 → 37.0 %); with the floor: 47.5, 37.4 and 40.0 %.
    public func quietFactor(minutes: Int) -> Double {
        guard quietScaling else { return 1 }
        let k = Self.quietBucket(minutes)
        return Swift.max(1, (quietNodes[k] + quietPrior) / (quietExposure[k] + quietPrior))
    }

    /// Accounts the quiet spell from the previous arrival to this one (`nodes` arriving at its end): the pattern's
    /// expected nodes over each minute of it go to the exposure of that minute's quiet bucket, the arrival's nodes
    /// to the bucket of the whole spell. Hours of week run back from the arrival's. Spells beyond the last bucket
    /// count up to its start.
    private mutating func observeQuietSpell(from start: Int64, to end: Int64, hourOfWeekAtEnd: Int, nodes: Double) {
        let spell = Int(Swift.min((end &- start) / 60, 1 << 20))
        quietNodes[Self.quietBucket(spell)] += nodes
        let cap = Swift.min(spell, (1 << (Self.quietBuckets - 1)) - 1)
        var minute = 0
        while minute < cap {
            // The segment [minute, next) lies in one quiet bucket and one hour of week.
            let k = Self.quietBucket(minute)
            let bucketEnd = Swift.min(cap, (1 << (k + 1)) - 1)
            let at = start &+ Int64(minute) &* 60
            let hoursBack = Int((end / 3600) &- (at / 3600))
            let nextHour = ((at / 3600) &+ 1) &* 3600
            let hourEnd = Int(Swift.min(Int64(bucketEnd), (nextHour &- start &+ 59) / 60))
            let next = Swift.max(minute + 1, Swift.min(bucketEnd, hourEnd))
            let h = ((hourOfWeekAtEnd - hoursBack) % Self.hoursPerWeek + Self.hoursPerWeek) % Self.hoursPerWeek
            if observedBuckets[h] { quietExposure[k] += weeklyRate[h] * Double(next - minute) }
            minute = next
        }
    }

    private mutating func closeBucket() {
        guard currentBucket >= 0 else { return }
        observeHour(currentBucket, rate: currentBucketNodes / 60)
        currentBucket = -1
    }

    private mutating func observeHour(_ h: Int, rate: Double) {
        if observedBuckets[h] {
            weeklyRate[h] += weeklySmoothing * (rate - weeklyRate[h])
        } else {
            weeklyRate[h] = rate
            observedBuckets[h] = true
        }
    }

    /// Records a finished job's runtime (seconds), for the survival curve.
    public mutating func observeRuntime(_ seconds: Int64) {
        guard seconds > 0 else { return }
        let minutes = Swift.min(Int(seconds / 60), Self.horizonMinutes)
        runtimeCounts[minutes] += 1
        runtimeTotal += 1
        rebuildSurvival()
    }

    private mutating func rebuildSurvival() {
        guard runtimeTotal > 0 else { return }
        var remaining = runtimeTotal
        for d in 0 ... Self.horizonMinutes {
            survival[d] = remaining / runtimeTotal
            remaining -= runtimeCounts[d]
        }
    }

    /// Expected arriving node demand per minute at a future time whose hour of week is `hourOfWeek`,
    /// `minutesAhead` minutes from the last observation.
    public func rate(hourOfWeek: Int, minutesAhead: Int) -> Double {
        let bucket = ((hourOfWeek % Self.hoursPerWeek) + Self.hoursPerWeek) % Self.hoursPerWeek
        let recent = recentRate * exp(-Double(Swift.max(minutesAhead, 0)) / (2 * recentMinutes))
        guard observedBuckets[bucket] else { return recent }
        return patternWeight * weeklyRate[bucket] * quietFactor(minutes: minutesAhead)
            + (1 - patternWeight) * recent
    }

    /// Node demand from jobs that arrive after `now`, per minute over the horizon, and an upper band.
    ///
    /// With a ``bufferPrice``: the idle buffer worth keeping for the jobs expected to have arrived and still
    /// run by each minute (``buffer(jobs:price:)``; the band at ``upperBufferPrice``). A fluid buffer of the
    /// expected nodes keeps nodes for big jobs it can never cover alone (measured on SDSC-SP2: hours-long idle
    /// spans, the largest share of prewarm's idle node-hours). Without a price: the expected busy nodes and a
    /// Poisson 90 % bound on the number of arriving jobs times the mean nodes per job.
    /// - Parameter hourOfWeekAt: the local hour of week of minute `m` from now.
    /// - Parameter now: the time of minute 0; the recent rate decays from the last arrival to it (a quiet
    ///   spell since then lowers it). `nil`: minute 0 is the last arrival.
    public func arrivalDemand(
        minutes: Int, now: Int64? = nil, hourOfWeekAt: (Int) -> Int
    ) -> (expected: [Float], upper: [Float]) {
        let h = Swift.max(0, Swift.min(minutes, Self.horizonMinutes))
        var quiet = 0
        if let now, lastArrival != .min, now > lastArrival {
            quiet = Int(Swift.min((now &- lastArrival) / 60, 1_000_000))
        }
        var rates = [Double](repeating: 0, count: h)
        for m in 0 ..< h { rates[m] = rate(hourOfWeek: hourOfWeekAt(m), minutesAhead: quiet + m) }
        var expected = [Float](repeating: 0, count: h)
        var upper = [Float](repeating: 0, count: h)
        for m in 0 ..< h {
            var e = 0.0
            for j in 0 ... m { e += rates[j] * survival[Swift.min(m - j, Self.horizonMinutes)] }
            let jobs = e / Swift.max(nodesPerJob, 1e-6)
            let band = 1.2816 * sqrt(Swift.max(jobs, 0)) * nodesPerJob
            expected[m] = Float(bufferPrice > 0 ? buffer(jobs: jobs, price: bufferPrice) : e)
            upper[m] = Float(upperBufferPrice > 0 ? buffer(jobs: jobs, price: upperBufferPrice) : e + band)
        }
        return (expected, upper)
    }

    /// The cluster's allocation unit: the smallest power of two that at least 5 % of arriving jobs fit in
    /// (1 on most clusters; 32 on LANL's CM-5, whose jobs take partitions of 32 nodes and more). Buffer and
    /// resubmission prices are per unit, not per node.
    public var allocationUnit: Int {
        var covered = 0.0
        for k in sizeCounts.indices {
            covered += sizeCounts[k]
            if covered >= 0.05 * jobsSeen { return 1 << k }
        }
        return 1
    }

    /// Idle nodes worth keeping for `jobs` expected arriving jobs, given a `price` in expected jobs per
    /// ``allocationUnit`` of nodes.
    ///
    /// A job runs without a boot wait only if idle nodes cover all of it, so a buffer serves the arrivals up to
    /// some size `b`, and needs the nodes of all of them: `max(b, jobs × E[size; size ≤ b])`. Returns the
    /// buffer of the `b` maximising `jobs × P(size ≤ b) − price × buffer / allocationUnit` (0 when none is
    /// worth its nodes).
    /// - Complexity: O(log(largest job))
    public func buffer(jobs: Double, price: Double) -> Double {
        guard jobs > 0, price > 0, jobsSeen > 0 else { return 0 }
        let unit = Double(allocationUnit)
        var best = 0.0
        var bestValue = 0.0
        var covered = 0.0
        var coveredNodes = 0.0
        for k in sizeCounts.indices {
            covered += sizeCounts[k]
            coveredNodes += sizeNodes[k]
            let nodes = Swift.max(Double(1 << k), jobs * coveredNodes / jobsSeen)
            let value = jobs * covered / jobsSeen - price * nodes / unit
            if value > bestValue {
                bestValue = value
                best = nodes
            }
        }
        return best
    }
}

/// The demand forecast shared by the simulator and the daemon.
public enum DemandForecaster {
    /// The first minute of a forecast made at `now` in which something from `time` on counts (minute m covers
    /// [now + 60m, now + 60m + 60) and counts what holds nodes at its start); 0 for a time not after `now`.
    public static func minute(of time: Int64, now: Int64) -> Int64 {
        time <= now ? 0 : (time &- now &+ 59) / 60
    }

    /// Forecasts how many nodes will be busy in each of the next `minutes` minutes from `now`.
    ///
    /// Running jobs hold their nodes until their predicted end (upper band: their late end). Queued jobs are
    /// projected onto the nodes running jobs free in queue order from their earliest start, for their predicted
    /// runtime (the upper band uses late runtimes), up to the first one that cannot start now (the head), which
    /// starts where it first fits. Jobs behind the head are not projected to start now: the scheduler has
    /// already declined them (see ``knownDemand(now:minutes:running:pending:totalNodes:late:backfillNow:)``).
    /// A projection that lets any job start wherever it fits powered nodes for jobs the scheduler would hold
    /// back (measured: half the gain lost).
    /// Expected arrivals (``ArrivalModel``, plus `sessions`: expected resubmissions per minute, see
    /// ``SessionModel``) fill what is left, never beyond `totalNodes`:
    /// on a saturated cluster new jobs queue rather than need more powered nodes.
    /// - Complexity: O(running × minutes + pending × minutes), at most 4096 queued jobs considered.
    public static func forecast(
        now: Int64, minutes: Int = ArrivalModel.horizonMinutes, running: [RunningDemand], pending: [PendingDemand],
        arrivals: ArrivalModel, sessions: [Float] = [], hourOfWeekAt: (Int) -> Int, totalNodes: Int
    ) -> DemandForecast {
        let h = Swift.max(1, Swift.min(minutes, 24 * 60))
        let total = Swift.max(totalNodes, 0)
        let expectedBusy = knownDemand(
            now: now, minutes: h, running: running, pending: pending, totalNodes: total, late: false)
        let lateBusy = knownDemand(
            now: now, minutes: h, running: running, pending: pending, totalNodes: total, late: true)
        let a = arrivals.arrivalDemand(minutes: h, now: now, hourOfWeekAt: hourOfWeekAt)
        var expected = [Float](repeating: 0, count: h)
        var upper = [Float](repeating: 0, count: h)
        var expectedKnown = [Float](repeating: 0, count: h)
        var upperKnown = [Float](repeating: 0, count: h)
        let cap = Float(total)
        for m in 0 ..< h {
            let sa = m < sessions.count ? sessions[m] : 0
            let ea = (m < a.expected.count ? a.expected[m] : 0) + sa
            let ua = (m < a.upper.count ? a.upper[m] : 0) + sa
            let base = Float(Swift.min(expectedBusy[m], total))
            let lateBase = Float(Swift.max(expectedBusy[m], Swift.min(lateBusy[m], total)))
            expected[m] = Swift.min(base + ea, cap)
            upper[m] = Swift.min(lateBase + ua, cap)
            expectedKnown[m] = Swift.min(base + sa, cap)
            upperKnown[m] = Swift.min(lateBase + sa, cap)
        }
        return DemandForecast(
            start: now, expected: expected, upper: upper, expectedWithoutArrivals: expectedKnown,
            upperWithoutArrivals: upperKnown)
    }

    /// Nodes the known jobs keep busy in each of the next `minutes` minutes from `now`, without arrivals: running
    /// jobs until their predicted end (`late`: their late end), queued jobs projected as described in
    /// ``forecast(now:minutes:running:pending:arrivals:sessions:hourOfWeekAt:totalNodes:)`` (`late`: for their
    /// late runtimes). Not capped at `totalNodes` (running jobs are counted as they are).
    ///
    /// A job queued behind the head is one the scheduler has declined: it places every job that may start
    /// (the simulator on every event, Slurm's backfill every `bf_interval`) on free nodes whatever their power
    /// state, so a job still queued that fits the free nodes would delay the head's reservation, which the
    /// scheduler computes from time limits, not from predicted runtimes. Projecting it to start now, as the
    /// projection did until 2026-12-02, booted nodes for jobs that did not start: at boot 300 s, with the
    /// setting `1:60:1:0`, CTC spent 87,092 idle node-hours for 30.2 s of mean boot wait; without it, 76,149 h
    /// for 32.3 s (SDSC-SP2: 76,571 h, 46.3 s → 68,252 h, 47.5 s). Jobs behind the head with a later earliest
    /// start (`--begin`, a dependency) are still planned from it.
    /// - Parameter backfillNow: the former projection, a variant `prewarm forecast-error` scores: jobs behind the
    ///   head start now where they fit without delaying it by their predicted runtimes, past a head that cannot
    ///   start within the horizon too.
    /// - Complexity: O(running × minutes + pending × minutes), at most 4096 queued jobs considered.
    public static func knownDemand(
        now: Int64, minutes: Int, running: [RunningDemand], pending: [PendingDemand], totalNodes: Int, late: Bool,
        backfillNow: Bool = false
    ) -> [Int] {
        let h = Swift.max(1, Swift.min(minutes, 24 * 60))
        let total = Swift.max(totalNodes, 0)
        // Minute m covers [now + 60m, now + 60m + 60): a job counts if it holds nodes at the minute's start.
        func firstMinute(_ from: Int64) -> Int { Int(Swift.min(minute(of: from, now: now), Int64(h))) }
        func endMinute(_ to: Int64) -> Int { Int(Swift.min(minute(of: to, now: now), Int64(h))) }

        var busy = [Int](repeating: 0, count: h)
        for r in running {
            let e = endMinute(late ? r.lateEnd : r.predictedEnd)
            for m in 0 ..< e { busy[m] += r.nodes }
        }
        // Queued jobs start in queue order; once a job cannot start now (the head), it gets the earliest start
        // where it fits, and later jobs only from a later earliest start (`backfillNow`: or now, if they do not
        // delay it).
        var previousStart = 0
        var headStart: Int?  // start of the first job that cannot start now
        var considered = 0
        for p in pending {
            considered += 1
            if considered > 4096 { break }
            let n = Swift.min(p.nodes, total)
            guard n > 0 else { continue }
            let duration = Swift.max(1, Int((Swift.max(late ? p.lateRuntime : p.predictedRuntime, 60) + 59) / 60))
            let lateDuration = Swift.max(1, Int((Swift.max(p.lateRuntime, 60) + 59) / 60))
            let earliest = firstMinute(p.earliestStart ?? now)
            func fits(_ start: Int) -> Bool {
                for m in start ..< Swift.min(h, start + duration) where busy[m] + n > total { return false }
                return true
            }
            func fitsUntil(_ end: Int) -> Bool {
                for m in 0 ..< Swift.min(h, end) where busy[m] + n > total { return false }
                return true
            }
            if let headStart {
                // The variant: backfill now, if it does not delay the head (whose nodes are already in `busy`): it
                // fits alongside the head for its whole predicted run, or ends (late) before the head starts.
                if backfillNow && earliest == 0
                    && (fits(0) || (lateDuration <= headStart && fitsUntil(headStart)))
                {
                    for m in 0 ..< Swift.min(h, duration) { busy[m] += n }
                } else if earliest > 0 {
                    // Not startable before `earliest` (a --begin time, a parent's or a limit's predicted end):
                    // it joins the queue then, so it is planned from there, where it fits.
                    var start = earliest
                    while start < h && !fits(start) { start += 1 }
                    if start < h { for m in start ..< Swift.min(h, start + duration) { busy[m] += n } }
                }
                continue
            }
            var start = Swift.max(earliest, previousStart)
            while start < h && !fits(start) { start += 1 }
            guard start < h else {
                // The head cannot start within the horizon: nothing else can, or (the variant) only backfill.
                if backfillNow {
                    headStart = h
                    continue
                }
                break
            }
            for m in start ..< Swift.min(h, start + duration) { busy[m] += n }
            previousStart = start
            if start > 0 { headStart = start }
        }
        return busy
    }
}
