// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

#if canImport(Glibc)
import Glibc
#endif

/// A fixed-size latency histogram: 250 ns buckets up to 256 µs, then 48 buckets growing by 2^(1/4) up to about
/// 1 s, then one overflow bucket (the maximum is kept exactly). Recording is O(1) with no allocation, so it can
/// run on the submit path.
public struct LatencyHistogram: Sendable, Equatable {
    public static let bucketNanoseconds: UInt64 = 250
    /// Linear buckets.
    public static let bucketCount = 1024
    /// Geometric buckets after the linear ones.
    public static let geometricCount = 48
    public private(set) var buckets = [UInt64](
        repeating: 0, count: LatencyHistogram.bucketCount + LatencyHistogram.geometricCount + 1)
    public private(set) var count: UInt64 = 0
    public private(set) var totalNanoseconds: UInt64 = 0
    public private(set) var maxNanoseconds: UInt64 = 0

    public init() {}

    /// Makes this histogram equal to `other` by copying its buckets into this one's buffer: no allocation when this
    /// buffer is not shared (a plain copy would share `other`'s buffer until one side writes, and then the writer
    /// would copy it; the submit path's next ``record(nanoseconds:)`` would allocate).
    /// Every histogram has the same number of buckets (the type's constants).
    public mutating func copyContents(of other: LatencyHistogram) {
        buckets.withUnsafeMutableBufferPointer { dst in
            other.buckets.withUnsafeBufferPointer { src in
                if let d = dst.baseAddress, let s = src.baseAddress { d.update(from: s, count: Swift.min(dst.count, src.count)) }
            }
        }
        count = other.count
        totalNanoseconds = other.totalNanoseconds
        maxNanoseconds = other.maxNanoseconds
    }

    /// Upper bound in nanoseconds of bucket `i` (the overflow bucket has none: `UInt64.max`).
    public static func upperBound(_ i: Int) -> UInt64 {
        if i < bucketCount { return UInt64(i + 1) * bucketNanoseconds }
        let k = i - bucketCount
        guard k < geometricCount else { return UInt64.max }
        return UInt64((Double(UInt64(bucketCount) * bucketNanoseconds) * pow(2, Double(k + 1) / 4)).rounded())
    }

    static func index(_ ns: UInt64) -> Int {
        let linear = ns / bucketNanoseconds
        if linear < UInt64(bucketCount) { return Int(linear) }
        var k = 0
        while k < geometricCount, ns >= upperBound(bucketCount + k) { k += 1 }
        return bucketCount + k
    }

    public mutating func record(nanoseconds ns: UInt64) {
        let i = Self.index(ns)
        buckets[i] &+= 1
        count &+= 1
        totalNanoseconds &+= ns
        maxNanoseconds = Swift.max(maxNanoseconds, ns)
    }

    /// The upper bound of the bucket holding the `q` quantile (the maximum for the overflow bucket), 0 when empty.
    public func quantileNanoseconds(_ q: Double) -> UInt64 {
        guard count > 0 else { return 0 }
        let target = UInt64(Swift.max(1, (Double(count) * Swift.min(Swift.max(q, 0), 1)).rounded(.up)))
        var seen: UInt64 = 0
        for (i, n) in buckets.enumerated() {
            seen &+= n
            if seen >= target {
                return Swift.min(Self.upperBound(i), maxNanoseconds)
            }
        }
        return maxNanoseconds
    }

    /// Mean in nanoseconds (0 when empty).
    public var meanNanoseconds: Double { count > 0 ? Double(totalNanoseconds) / Double(count) : 0 }

    /// `count=… mean_us=… p50_us=… p90_us=… p99_us=… max_us=…`.
    public var summary: String {
        func us(_ ns: UInt64) -> String { micro(Double(ns)) }
        return "count=\(count) mean_us=\(micro(meanNanoseconds)) p50_us=\(us(quantileNanoseconds(0.5))) "
            + "p90_us=\(us(quantileNanoseconds(0.9))) p99_us=\(us(quantileNanoseconds(0.99))) max_us=\(us(maxNanoseconds))"
    }

    private func micro(_ ns: Double) -> String {
        let tenths = Int64((ns / 100).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }
}

/// Where the profiler's time per job goes, sampled on some jobs: the batch script's analysis (the cache lookup, and
/// the scan on a miss), the model (the job's features from the history and the runtime prediction) and the output
/// (the annotation written into Slurm's buffer and the daemon's notice queued). What is left of the job's total is
/// copying its fields out of Slurm's request and the bookkeeping around them.
public struct SubmitPhaseTimes: Sendable, Equatable {
    public private(set) var script = LatencyHistogram()
    public private(set) var model = LatencyHistogram()
    public private(set) var output = LatencyHistogram()

    public init() {}

    /// Makes these times equal to `other` without allocating (see ``LatencyHistogram/copyContents(of:)``).
    public mutating func copyContents(of other: SubmitPhaseTimes) {
        script.copyContents(of: other.script)
        model.copyContents(of: other.model)
        output.copyContents(of: other.output)
    }

    /// Adds one job's phases from its four timestamps (monotonic nanoseconds): before the script's analysis, after
    /// it, after the prediction and after the output. A clock that went backwards counts as 0.
    public mutating func record(start: UInt64, scriptDone: UInt64, modelDone: UInt64, outputDone: UInt64) {
        script.record(nanoseconds: scriptDone >= start ? scriptDone &- start : 0)
        model.record(nanoseconds: modelDone >= scriptDone ? modelDone &- scriptDone : 0)
        output.record(nanoseconds: outputDone >= modelDone ? outputDone &- modelDone : 0)
    }

    /// `phase_script: count=… mean_us=… p50_us=… … phase_model: … phase_output: …` (``LatencyHistogram/summary``).
    public var summary: String {
        "phase_script: \(script.summary) phase_model: \(model.summary) phase_output: \(output.summary)"
    }
}
