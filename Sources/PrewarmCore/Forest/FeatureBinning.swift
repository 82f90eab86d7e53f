// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

/// The training features quantised to at most 256 bins per feature, computed once per training run.
///
/// Bin `b` of feature `f` holds the values `v` with `cuts[f][b-1] < v <= cuts[f][b]`; NaN lands in the
/// last bin (after a cut at the largest value, when that is finite), so "bin ≤ b" is exactly
/// "`v <= cuts[f][b]`" — the comparison prediction makes on raw values, where NaN goes right.
struct BinnedFeatures: Sendable {
    /// Training rows.
    let rows: Int
    /// Features.
    let columns: Int
    /// Column-major bins: `bins[f * rows + r]`.
    let bins: [UInt8]
    /// Split thresholds per feature; bin count of feature `f` is `cuts[f].count + 1`.
    let cuts: [[Float]]

    /// Quantises `features` (row-major, `rows × columns`).
    /// - Complexity: O(columns · rows · log rows), spread over `threads`.
    init(features: Matrix, maxBins: Int, threads: Int) {
        let rows = features.rows
        let columns = features.columns
        let values = features.values
        let perFeature: [([Float], [UInt8])] = parallelMap(count: columns, threads: threads) { f in
            var column = [Float](repeating: 0, count: rows)
            values.withUnsafeBufferPointer { v in
                for r in 0 ..< rows { column[r] = v[r &* columns &+ f] }
            }
            let cuts = BinnedFeatures.cutPoints(column, maxBins: maxBins)
            var bins = [UInt8](repeating: 0, count: rows)
            cuts.withUnsafeBufferPointer { c in
                for r in 0 ..< rows {
                    bins[r] = UInt8(truncatingIfNeeded: BinnedFeatures.bin(of: column[r], cuts: c))
                }
            }
            return (cuts, bins)
        }
        var bins = [UInt8]()
        bins.reserveCapacity(rows * columns)
        var cuts = [[Float]]()
        cuts.reserveCapacity(columns)
        for (featureCuts, featureBins) in perFeature {
            cuts.append(featureCuts)
            bins.append(contentsOf: featureBins)
        }
        self.rows = rows
        self.columns = columns
        self.bins = bins
        self.cuts = cuts
    }

    /// Index of the first cut `>= value` (NaN: past all cuts).
    @inline(__always)
    static func bin(of value: Float, cuts: UnsafeBufferPointer<Float>) -> Int {
        var low = 0
        var high = cuts.count
        while low < high {
            let mid = (low + high) >> 1
            if value <= cuts[mid] {
                high = mid
            } else {
                low = mid + 1
            }
        }
        return low
    }

    /// A finite threshold `t` with `low <= t < high` (midpoint when both are finite), or nil if none exists.
    static func threshold(between low: Float, and high: Float) -> Float? {
        if low.isFinite {
            guard high.isFinite else { return low }
            let mid = Float(Double(low) * 0.5 + Double(high) * 0.5)
            return (mid >= low && mid < high) ? mid : low
        }
        let lowest = -Float.greatestFiniteMagnitude
        return high > lowest ? lowest : nil
    }

    /// Quantile cut points of one feature: one bin per distinct value when there are at most `maxBins`,
    /// otherwise bins of roughly equal row counts; plus a cut at the maximum when NaNs are present.
    static func cutPoints(_ column: [Float], maxBins: Int) -> [Float] {
        var sorted = column.filter { !$0.isNaN }
        let hasNaN = sorted.count < column.count
        guard !sorted.isEmpty else { return [] }
        sorted.sort()
        var distinct: [Float] = []
        var counts: [Int] = []
        for value in sorted {
            if let last = distinct.last, last == value {
                counts[counts.count - 1] += 1
            } else {
                distinct.append(value)
                counts.append(1)
            }
        }
        var cuts: [Float] = []
        if distinct.count <= maxBins {
            for i in 0 ..< distinct.count - 1 {
                if let t = threshold(between: distinct[i], and: distinct[i + 1]) { cuts.append(t) }
            }
        } else {
            // Greedy equal-frequency bins, re-aiming after each cut so heavy values do not use up the bins.
            let total = Double(sorted.count)
            var cumulative = 0
            var atLastCut = 0
            for i in 0 ..< distinct.count - 1 {
                cumulative += counts[i]
                let binsLeft = maxBins - cuts.count
                guard binsLeft > 1 else { break }
                let target = Double(atLastCut) + (total - Double(atLastCut)) / Double(binsLeft)
                if Double(cumulative) >= target, let t = threshold(between: distinct[i], and: distinct[i + 1]) {
                    cuts.append(t)
                    atLastCut = cumulative
                }
            }
        }
        if hasNaN, let maximum = distinct.last, maximum.isFinite {
            cuts.append(maximum)
        }
        return cuts
    }
}
