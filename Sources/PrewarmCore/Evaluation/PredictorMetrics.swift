// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

/// Scores of one runtime predictor over a set of jobs with runtime > 0.
public struct PredictorMetrics: Sendable, Equatable {
    /// Jobs scored.
    public var jobs: Int
    /// Mean of `min(R,P)/max(R,P)`.
    public var accuracy: Double
    /// Mean absolute error, seconds.
    public var maeSeconds: Double
    /// Median absolute error, seconds.
    public var medianAESeconds: Double
    /// Percentage of jobs whose runtime exceeded the prediction.
    public var underPercent: Double
    /// Share of jobs with runtime ≤ the predicted 90th percentile (quantile predictors only).
    public var p90Coverage: Double?
}

/// Accumulates ``PredictorMetrics`` one job at a time.
public struct MetricsAccumulator: Sendable {
    private var count = 0
    private var accuracySum = 0.0
    private var absErrorSum = 0.0
    private var absErrors: [Float] = []
    private var under = 0
    private var covered = 0
    private var quantileJobs = 0

    public init() {}

    /// Adds one job's actual runtime `actual` and point prediction `predicted` (seconds).
    public mutating func add(actual: Double, predicted: Double) {
        count += 1
        accuracySum += predictionAccuracy(actual: actual, predicted: predicted)
        let e = abs(actual - predicted)
        absErrorSum += e
        absErrors.append(Float(e))
        if actual > predicted { under += 1 }
    }

    /// Adds whether the job's runtime was within its predicted 90th percentile.
    public mutating func addCoverage(actual: Double, p90: Double) {
        quantileJobs += 1
        if actual <= p90 { covered += 1 }
    }

    /// The metrics so far.
    public func metrics() -> PredictorMetrics {
        let n = Double(Swift.max(count, 1))
        var median = 0.0
        if !absErrors.isEmpty {
            let s = absErrors.sorted()
            let m = s.count / 2
            median = s.count % 2 == 1 ? Double(s[m]) : (Double(s[m - 1]) + Double(s[m])) / 2
        }
        return PredictorMetrics(
            jobs: count, accuracy: accuracySum / n, maeSeconds: absErrorSum / n, medianAESeconds: median,
            underPercent: 100 * Double(under) / n,
            p90Coverage: quantileJobs > 0 ? Double(covered) / Double(quantileJobs) : nil)
    }
}
