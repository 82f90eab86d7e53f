// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

/// Hyper-parameters of ``RandomForest/train(features:targets:parameters:)``.
///
/// The names follow scikit-learn's `RandomForestRegressor` where they overlap.
public struct ForestParameters: Sendable, Equatable {
    /// Number of trees (≥ 1).
    public var treeCount = 100
    /// The tree counts a model for the job_submit plugin may be trained with (`prewarm train --trees`, `prewarm
    /// retrain --trees`, prewarmd's `ModelTrees`).
    public static let modelTreeCounts = 1 ... 2000
    /// Maximum depth of a tree (the root has depth 0); 0 means unlimited.
    public var maxDepth = 0
    /// Minimum number of distinct in-bag training rows in a leaf (≥ 1), as scikit-learn's
    /// `min_samples_leaf` with bootstrap weights.
    public var minSamplesLeaf = 5
    /// Features examined per split (scikit-learn's `max_features`); 0 means `max(1, columns / 3)`, larger
    /// than the column count means all columns. Features that are constant within a node do not count.
    public var featuresPerSplit = 0
    /// Rows drawn per tree as a fraction of the training rows (> 0).
    public var sampleFraction = 1.0
    /// Draw rows with replacement (bootstrap); if `false`, `sampleFraction` of the rows are drawn without
    /// replacement (all rows when it is ≥ 1).
    public var bootstrap = true
    /// Histogram bins per feature, 2…255 (plus one for NaN when a feature has missing values).
    public var maxBins = 255
    /// Seed of all randomness: tree *i* depends only on `seed` and *i*.
    public var seed: UInt64 = 42
    /// Training threads; values below 1 mean 1. Does not change the result, and is not stored in the model.
    public var threads = 2

    /// The defaults above.
    public init() {}

    /// Checks the ranges.
    /// - Throws: ``ForestError`` with code ``ForestError/Code/invalidParameter`` naming the field.
    public func validate() throws(ForestError) {
        guard treeCount >= 1, treeCount <= 1_000_000 else {
            throw ForestError(.invalidParameter, "treeCount must be in 1...1000000, got \(treeCount)")
        }
        guard maxDepth >= 0 else { throw ForestError(.invalidParameter, "maxDepth must be ≥ 0, got \(maxDepth)") }
        guard minSamplesLeaf >= 1 else {
            throw ForestError(.invalidParameter, "minSamplesLeaf must be ≥ 1, got \(minSamplesLeaf)")
        }
        guard featuresPerSplit >= 0 else {
            throw ForestError(.invalidParameter, "featuresPerSplit must be ≥ 0, got \(featuresPerSplit)")
        }
        guard sampleFraction.isFinite, sampleFraction > 0, sampleFraction <= 1000 else {
            throw ForestError(.invalidParameter, "sampleFraction must be in (0, 1000], got \(sampleFraction)")
        }
        guard (2 ... 255).contains(maxBins) else {
            throw ForestError(.invalidParameter, "maxBins must be in 2...255, got \(maxBins)")
        }
    }
}

/// Why training was refused.
public struct ForestError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The kind of failure.
    public enum Code: String, Sendable, Equatable {
        /// Matrix shapes are inconsistent (values count, rows of features vs targets).
        case invalidShape
        /// No rows, no features or no outputs.
        case emptyData
        /// A target is NaN or infinite.
        case nonFiniteTarget
        /// A ``ForestParameters`` field is out of range.
        case invalidParameter
    }

    /// What went wrong.
    public let code: Code
    /// Human-readable detail.
    public let message: String

    /// An error with a code and message.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// `"<code>: <message>"`.
    public var description: String { "\(code.rawValue): \(message)" }
}
