// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

#if canImport(Glibc)
import Glibc
#endif

/// The last annotation written, with everything it was made from: a job whose annotation would be the same
/// (a user's loop of `sbatch job.sh`: same prediction, limit, size, script and model) gets a copy of its bytes
/// instead of formatting them again (about 2,400 instructions per job, callgrind, 2026-12-02; a hit costs about
/// 230).
///
/// Exact: the key holds every input that
/// ``SubmitProfiler/writeAnnotation(request:prediction:modelID:script:suffix:into:capacity:)`` reads, so a copy is
/// byte for byte what formatting would write (a test compares them over varied inputs).
/// Not thread-safe: the caller serialises (the profiler tries a mutex and formats without the memo when busy).
public struct AnnotationMemo: ~Copyable {
    /// What the annotation is made of.
    struct Key {
        var point: UInt32
        var p50: UInt32
        var p90: UInt32
        /// The prediction's candidate, -1 without a prediction.
        var candidate: Int
        var timeLimitMinutes: Int64
        var processors: Int64
        var modelID: String?
        var hasScript: Bool
        var isText: Bool
        var truncated: Bool
        var launchers: UInt16
        var modules: Int
        var gpuHints: Int
        var executable: String?
        var suffix: String
        var capacity: Int

        init(
            request r: SubmitRequest, prediction: RuntimePrediction?, modelID: String?, script: BatchScriptAnalysis?,
            suffix: String, capacity: Int
        ) {
            point = prediction?.point.bitPattern ?? 0
            p50 = prediction?.p50.bitPattern ?? 0
            p90 = prediction?.p90.bitPattern ?? 0
            candidate = prediction?.candidate.rawValue ?? -1
            timeLimitMinutes = r.timeLimitMinutes
            processors = r.processors
            self.modelID = modelID
            hasScript = script != nil
            isText = script?.isText ?? false
            truncated = script?.truncated ?? false
            launchers = script?.launchers.rawValue ?? 0
            modules = script?.modules.count ?? 0
            gpuHints = script?.gpuHints ?? 0
            executable = script?.mainExecutable
            self.suffix = suffix
            self.capacity = capacity
        }

        /// Whether these inputs make this key (`==` on a key made of them, without making one: the numbers
        /// first, the strings last, no copy of the script's analysis).
        @inline(__always)
        func matches(
            request r: SubmitRequest, prediction: RuntimePrediction?, modelID: String?, script: BatchScriptAnalysis?,
            suffix: String, capacity: Int
        ) -> Bool {
            guard capacity == self.capacity, r.timeLimitMinutes == timeLimitMinutes, r.processors == processors
            else { return false }
            if let p = prediction {
                guard p.candidate.rawValue == candidate, p.point.bitPattern == point, p.p50.bitPattern == p50,
                    p.p90.bitPattern == p90
                else { return false }
            } else if candidate >= 0 {
                return false
            }
            if let s = script {
                guard hasScript, s.isText == isText, s.truncated == truncated, s.launchers.rawValue == launchers,
                    s.modules.count == modules, s.gpuHints == gpuHints, s.mainExecutable == executable
                else { return false }
            } else if hasScript {
                return false
            }
            return modelID == self.modelID && suffix == self.suffix
        }
    }

    private var key: Key?
    private let bytes: UnsafeMutablePointer<CChar>
    private var count = 0
    /// Annotations copied from the memo, and formatted.
    public private(set) var hits: UInt64 = 0
    public private(set) var misses: UInt64 = 0

    public init() {
        bytes = .allocate(capacity: SubmitProfiler.maxAnnotationBytes &+ 1)
    }

    deinit { bytes.deallocate() }

    /// Writes the annotation of
    /// ``SubmitProfiler/writeAnnotation(request:prediction:modelID:script:suffix:into:capacity:)`` into `out` (the
    /// same bytes, NUL-terminated), copied from the last one when its inputs are the same.
    /// - Returns: the bytes written before the NUL.
    public mutating func writeAnnotation(
        request r: SubmitRequest, prediction: RuntimePrediction?, modelID: String?, script: BatchScriptAnalysis?,
        suffix: String = "", into out: UnsafeMutablePointer<CChar>, capacity: Int
    ) -> Int {
        if let key, key.matches(
            request: r, prediction: prediction, modelID: modelID, script: script, suffix: suffix, capacity: capacity)
        {
            hits &+= 1
            if capacity >= 1 {
                memcpy(out, bytes, count)
                out[count] = 0
            }
            return count
        }
        misses &+= 1
        let n = SubmitProfiler.writeAnnotation(
            request: r, prediction: prediction, modelID: modelID, script: script, suffix: suffix, into: out,
            capacity: capacity)
        if n <= SubmitProfiler.maxAnnotationBytes {
            memcpy(bytes, out, n)
            count = n
            key = Key(
                request: r, prediction: prediction, modelID: modelID, script: script, suffix: suffix,
                capacity: capacity)
        } else {
            key = nil
        }
        return n
    }
}
