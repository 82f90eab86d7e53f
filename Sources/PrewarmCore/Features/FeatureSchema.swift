// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

/// The names and version of the submit-time features, in the order of a feature vector.
///
/// A model file records the schema it was trained with; a model whose schema differs from
/// the running code's is refused rather than silently fed misaligned columns.
public struct FeatureSchema: Sendable, Equatable {
    /// Schema family name.
    public let name: String
    /// Incremented whenever a feature is added, removed, reordered or changes meaning.
    public let version: UInt16
    /// Feature names in vector order.
    public let features: [String]

    public init(name: String, version: UInt16, features: [String]) {
        self.name = name
        self.version = version
        self.features = features
    }

    /// Number of features.
    public var count: Int { features.count }

    /// The schema produced by ``JobHistory``.
    public static let submitTime: FeatureSchema = {
        var names = [
            "req_time_log", "req_procs_log", "req_nodes", "req_mem_log", "queue", "partition", "application",
            "hour_of_day", "day_of_week", "user", "user_finished_log", "user_in_flight", "since_user_submit_log",
            "since_user_finish_log", "user_ratio_median", "user_limit_hits", "user_logrt_spread",
            "same_app_count_log", "same_request_count_log", "same_request_procs_count_log", "same_procs_count_log",
            "prev_request_same", "prev_procs_same", "running_procs_frac", "queued_procs_frac",
        ]
        for c in RuntimeCandidate.allCases { names.append("cand_\(c.name)_log") }
        for c in RuntimeCandidate.allCases { names.append("cand_\(c.name)_over_req") }
        for c in RuntimeCandidate.allCases { names.append("user_acc_\(c.name)") }
        return FeatureSchema(name: "prewarm-submit-features", version: 1, features: names)
    }()
}
