// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

/// Online calibration of an upper quantile (adaptive conformal inference, Gibbs & Candès 2021).
///
/// A forest's raw 90th percentile covers only 82–87 % of real runtimes (leaves are too pure
/// on the training rows). The calibrator keeps a log-scale offset added to the raw quantile and
/// nudges it after every completed job: up by `rate × (1 − level)` on a miss, down by
/// `rate × level`… so that in the long run the miss rate converges to `1 − level`, whatever the drift.
public struct QuantileCalibrator: Sendable, Equatable {
    /// Target coverage, e.g. 0.9.
    public var level: Float
    /// Step size in log-seconds.
    public var rate: Float
    /// Current offset (natural log) added to raw quantiles.
    public var offset: Float

    public init(level: Float = 0.9, rate: Float = 0.02, offset: Float = 0) {
        self.level = level
        self.rate = rate
        self.offset = offset
    }

    /// Records whether a job's `actual` runtime exceeded the calibrated quantile `predicted` issued for it.
    public mutating func observe(actual: Float, predicted: Float) {
        let miss: Float = actual > predicted ? 1 : 0
        offset += rate * (miss - (1 - level))
        if !offset.isFinite { offset = 0 }
        offset = Swift.min(Swift.max(offset, -5), 5)
    }
}
