// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

#if canImport(Glibc)
import Glibc
#endif

/// A job holding nodes with what its runtime distribution needs: its start, the model's median and calibrated
/// 90th percentile runtime, and its time limit.
public struct RunningJobState: Sendable, Equatable {
    public var nodes: Int
    /// When it started (or will start, once its nodes have booted), Unix seconds.
    public var start: Int64
    /// The runtime model's median and calibrated 90th percentile, seconds.
    public var medianRuntime: Int64
    public var p90Runtime: Int64
    /// `start` plus the time limit (Slurm kills the job there), or `nil` when unknown.
    public var limitEnd: Int64?

    public init(nodes: Int, start: Int64, medianRuntime: Int64, p90Runtime: Int64, limitEnd: Int64?) {
        self.nodes = nodes
        self.start = start
        self.medianRuntime = medianRuntime
        self.p90Runtime = p90Runtime
        self.limitEnd = limitEnd
    }
}

/// Running jobs as a probability of still running rather than a step at a point end: each job's runtime is a
/// log-normal through the model's median and calibrated p90, conditioned on the time it has already run and cut
/// at its time limit.
public enum RunningSurvival {
    /// z of the 90th percentile of a standard normal.
    static let z90 = 1.2815515655446004
    /// Smallest log-runtime spread (a p90 at or below the median would make the log-normal a step).
    static let minSigma = 0.05

    /// log P(T > t) for a log-normal runtime T with the given median and 90th percentile (seconds); 0 for t ≤ 0.
    static func logSurvival(_ t: Double, median: Double, p90: Double) -> Double {
        guard t > 0 else { return 0 }
        let m = Swift.max(median, 1)
        let sigma = Swift.max((log(Swift.max(p90, m)) - log(m)) / z90, minSigma)
        let x = (log(t) - log(m)) / (sigma * 2.0.squareRoot())
        if x < 20 { return log(0.5 * erfc(x)) }
        // erfc(x) ≈ e^(−x²) / (x √π) × (1 − 1/(2x²) + 3/(4x⁴)) (it underflows a Double near x = 27).
        let x2 = x * x
        return -x2 - log(x * Double.pi.squareRoot()) + log(1 - 1 / (2 * x2) + 3 / (4 * x2 * x2)) + log(0.5)
    }

    /// Probability that a job which has run `elapsed` seconds is still running `ahead` seconds later:
    /// S(elapsed + ahead) / S(elapsed) for the log-normal through `median` and `p90`, 0 once `elapsed + ahead`
    /// reaches `limit` (its time limit, seconds from its start), 1 while `elapsed + ahead ≤ 0` (not started yet).
    public static func stillRunning(
        elapsed: Double, ahead: Double, median: Double, p90: Double, limit: Double? = nil
    ) -> Double {
        let t = elapsed + ahead
        if let limit, t >= limit { return 0 }
        guard t > 0 else { return 1 }
        let logRatio = logSurvival(t, median: median, p90: p90)
            - logSurvival(Swift.max(elapsed, 0), median: median, p90: p90)
        return Swift.min(1, Swift.max(0, exp(logRatio)))
    }

    /// Expected busy nodes of `jobs` at the start of each of the next `minutes` minutes from `now` (minute m
    /// starts at `now + 60 m`, as in ``DemandForecaster``): the sum of nodes × ``stillRunning``.
    /// - Complexity: O(jobs × minutes)
    public static func expectedBusy(now: Int64, minutes: Int, jobs: [RunningJobState]) -> [Double] {
        let h = Swift.max(1, Swift.min(minutes, 24 * 60))
        return (0 ..< h).map { expectedBusy(now: now, minute: $0, jobs: jobs) }
    }

    /// Expected busy nodes of `jobs` at the start of minute `minute` from `now` (at `now + 60 × minute`).
    /// - Complexity: O(jobs)
    public static func expectedBusy(now: Int64, minute: Int, jobs: [RunningJobState]) -> Double {
        sumExpectedBusy(now: now, minute: minute, jobs: jobs, stillRunning: stillRunning)
    }

    /// The sum of nodes × `stillRunning(elapsed, ahead, median, p90, limit)` over `jobs` at the start of minute
    /// `minute` from `now` (shared by the log-normal and the empirical survival).
    static func sumExpectedBusy(
        now: Int64, minute: Int, jobs: [RunningJobState],
        stillRunning: (_ elapsed: Double, _ ahead: Double, _ median: Double, _ p90: Double, _ limit: Double?) -> Double
    ) -> Double {
        var busy = 0.0
        let ahead = Double(60 * Swift.max(0, minute))
        for j in jobs where j.nodes > 0 {
            let p = stillRunning(
                Double(now &- j.start), ahead, Double(j.medianRuntime), Double(j.p90Runtime),
                j.limitEnd.map { Double($0 &- j.start) })
            busy += Double(j.nodes) * p
        }
        return busy
    }
}

/// What ``DemandForecaster/forecast(now:minutes:running:pending:arrivals:sessions:hourOfWeekAt:totalNodes:)``
/// was called with by ``PrewarmPolicy`` at its last decision (when it records them), so that `prewarm
/// forecast-error` can score the forecast's parts and variants on the same instants.
public struct ForecastInputs: Sendable {
    public var now: Int64
    public var running: [RunningDemand]
    /// The same running jobs with their runtime distribution.
    public var runningJobs: [RunningJobState]
    public var pending: [PendingDemand]
    /// The policy's arrival and session models at that instant.
    public var arrivals: ArrivalModel
    public var sessions: SessionModel
    /// A submit time and its local hour of week (the anchor of `hourOfWeek(minute:)`).
    public var anchorTime: Int64
    public var anchorHourOfWeek: Int
    public var totalNodes: Int

    /// The local hour of week of minute `m` from `now` (as the policy computes it).
    public func hourOfWeek(minute m: Int) -> Int {
        (anchorHourOfWeek + Int((now &- anchorTime &+ Int64(m) * 60) / 3600)) % 168
    }
}

/// The empirical distribution of `log(actual runtime / median prediction)` over finished jobs, learned online:
/// a calibration-free alternative to the log-normal of ``RunningSurvival`` (which trusts the model's p50 and the
/// shape between it and the p90).
public struct RuntimeResidualDistribution: Sendable, Equatable {
    /// Bin width (natural log) and the range covered; residuals outside fall in the end bins.
    public static let binWidth = 0.125
    public static let lowest = -12.0
    public static let binCount = 192
    public private(set) var counts: [Double]
    public private(set) var total = 0.0
    /// Finished jobs needed before ``stillRunning(elapsed:ahead:median:p90:limit:)`` trusts the distribution
    /// (fewer: the log-normal).
    public var minimumJobs = 100.0

    public init() { counts = Array(repeating: 0, count: Self.binCount) }

    /// Records a finished job's runtime and the median predicted for it (seconds; ignored unless both > 0).
    public mutating func observe(runtime: Int64, median: Int64) {
        guard runtime > 0, median > 0 else { return }
        let r = log(Double(runtime)) - log(Double(median))
        let b = Int(((r - Self.lowest) / Self.binWidth).rounded(.down))
        counts[Swift.min(Swift.max(b, 0), Self.binCount - 1)] += 1
        total += 1
    }

    /// Share of the recorded residuals above `x` (mass spread uniformly within each bin).
    /// - Complexity: O(binCount)
    public func survival(logRatio x: Double) -> Double {
        guard total > 0 else { return 1 }
        let position = (x - Self.lowest) / Self.binWidth
        guard position > 0 else { return 1 }
        guard position < Double(Self.binCount) else { return 0 }
        let b = Int(position.rounded(.down))
        var above = counts[b] * (Double(b + 1) - position)
        for i in (b + 1) ..< Self.binCount { above += counts[i] }
        return above / total
    }

    /// Probability that a job which has run `elapsed` seconds, with predicted median `median`, is still running
    /// `ahead` seconds later: S(elapsed + ahead) / S(elapsed) of the empirical residuals, 0 once it reaches
    /// `limit`, 1 while it has not started; a job beyond every recorded residual keeps running (1). With fewer
    /// than ``minimumJobs`` recorded: ``RunningSurvival/stillRunning(elapsed:ahead:median:p90:limit:)``.
    public func stillRunning(elapsed: Double, ahead: Double, median: Double, p90: Double, limit: Double?) -> Double {
        guard total >= minimumJobs else {
            return RunningSurvival.stillRunning(elapsed: elapsed, ahead: ahead, median: median, p90: p90, limit: limit)
        }
        let t = elapsed + ahead
        if let limit, t >= limit { return 0 }
        guard t > 0 else { return 1 }
        let m = log(Swift.max(median, 1))
        let before = elapsed > 0 ? survival(logRatio: log(elapsed) - m) : 1
        guard before > 0 else { return 1 }
        return Swift.min(1, survival(logRatio: log(t) - m) / before)
    }

    /// Expected busy nodes of `jobs` at the start of minute `minute` from `now` under this distribution.
    /// - Complexity: O(jobs × binCount)
    public func expectedBusy(now: Int64, minute: Int, jobs: [RunningJobState]) -> Double {
        RunningSurvival.sumExpectedBusy(now: now, minute: minute, jobs: jobs, stillRunning: stillRunning)
    }
}
