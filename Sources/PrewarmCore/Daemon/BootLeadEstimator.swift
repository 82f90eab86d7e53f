// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

/// The boot lead time learned from this cluster: how long its power-ups really take, from the power-up request
/// to the node accepting jobs (boot, slurmd start, registration), as the daemon sees them.
public enum BootLeadEstimator {
    /// Measurements kept (the most recent).
    public static let capacity = 50
    /// Fewer measurements than this: not learned yet.
    public static let minimumSamples = 3

    /// Adds a measured power-up duration, keeping the last ``capacity`` (durations ≤ 0 or over a day are
    /// ignored: a clock step or a command that was never carried out).
    public static func record(_ seconds: Int64, into samples: inout [Int64]) {
        guard seconds > 0, seconds <= 86_400 else { return }
        samples.append(seconds)
        if samples.count > capacity { samples.removeFirst(samples.count - capacity) }
    }

    /// The lead time to plan with: the 90th percentile of the measured durations plus one cycle `interval`
    /// (a node is seen up only at the next cycle, and a power-up is decided only once a cycle), or `nil` with
    /// fewer than ``minimumSamples`` measurements.
    /// - Complexity: O(n log n), n ≤ ``capacity``
    public static func lead(samples: [Int64], interval: Int) -> Int64? {
        guard samples.count >= minimumSamples else { return nil }
        let sorted = samples.sorted()
        let index = Swift.min(sorted.count - 1, (sorted.count * 9 + 9) / 10 - 1)
        return sorted[Swift.max(0, index)] &+ Int64(Swift.max(0, interval))
    }
}
