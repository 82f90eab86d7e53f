// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

/// A history-based runtime estimate that the model can choose for a job.
///
/// A user's runtimes are multi-modal (short test runs, full production runs, crashes), so
/// the mean of any model lands between modes. Prewarm instead learns, per job, which of
/// these concrete estimates will be most accurate, and how far to scale it.
public enum RuntimeCandidate: Int, CaseIterable, Sendable {
    /// The user's most recently finished job.
    case last1
    /// Mean of the user's two most recently finished jobs, capped at the requested time
    /// (the "last two" predictor of Tsafrir, Etsion and Feitelson, TPDS 2007).
    case last2
    /// Median of the user's five most recently finished jobs.
    case median5
    /// The user's most recent finished job with the same application number.
    case sameApplication
    /// The user's most recent finished job with the same requested time.
    case sameRequest
    /// The user's most recent finished job with the same requested time and processors.
    case sameRequestAndProcs
    /// The user's most recent finished job with the same processor count.
    case sameProcs
    /// Requested time × the median runtime/requested ratio of the user's last five jobs.
    case scaledRequest
    /// The requested time limit itself.
    case requested

    /// Stable name used in model files, JSON and logs.
    public var name: String {
        switch self {
        case .last1: "last1"
        case .last2: "last2"
        case .median5: "median5"
        case .sameApplication: "same_app"
        case .sameRequest: "same_request"
        case .sameRequestAndProcs: "same_request_procs"
        case .sameProcs: "same_procs"
        case .scaledRequest: "scaled_request"
        case .requested: "requested"
        }
    }

    /// Number of candidates.
    public static let count = allCases.count
}

/// Accuracy of a prediction `p` for an actual runtime `r`: `min(r,p)/max(r,p)`, 1 when equal,
/// 0 when either is not positive. This is the metric of the runtime-prediction literature.
@inlinable
public func predictionAccuracy(actual r: Double, predicted p: Double) -> Double {
    guard r > 0, p > 0, r.isFinite, p.isFinite else { return 0 }
    return r < p ? r / p : p / r
}
