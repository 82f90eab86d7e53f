// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

#if canImport(Glibc)
import Glibc
#endif

extension SubmitProfiler {
    /// Copies `text` into the C buffer `out` of `capacity` bytes, NUL-terminated, cut at a UTF-8 character
    /// boundary when it does not fit (one copy of the bytes: this runs for every submission inside slurmctld).
    /// - Returns: the bytes written before the NUL; 0 (and nothing written) when `capacity` is below 1.
    public static func copyCString(_ text: String, into out: UnsafeMutablePointer<CChar>, capacity: Int) -> Int {
        guard capacity >= 1 else { return 0 }
        var text = text
        return text.withUTF8 { copyCString(bytes: $0, into: out, capacity: capacity) }
    }

    /// ``copyCString(_:into:capacity:)`` of UTF-8 `bytes`.
    public static func copyCString(
        bytes utf8: UnsafeBufferPointer<UInt8>, into out: UnsafeMutablePointer<CChar>, capacity: Int
    ) -> Int {
        guard capacity >= 1 else { return 0 }
        var n = Swift.min(utf8.count, capacity &- 1)
        // The cut falls inside a character when the first byte left out continues one: drop the character's
        // bytes kept (its continuation bytes and its lead byte).
        if n < utf8.count && utf8[n] & 0xC0 == 0x80 {
            while n > 0 && utf8[n &- 1] & 0xC0 == 0x80 { n &-= 1 }
            if n > 0 { n &-= 1 }
        }
        if n > 0, let base = utf8.baseAddress { memcpy(out, base, n) }
        out[n] = 0
        return n
    }

    /// The annotation of ``annotation(request:prediction:modelID:script:)`` (and `suffix`), at most
    /// ``maxAnnotationBytes`` bytes, copied into `out` as ``copyCString(_:into:capacity:)`` does, without building a
    /// string: what the profiler does for a job whose annotation field is empty.
    public static func writeAnnotation(
        request r: SubmitRequest, prediction: RuntimePrediction?, modelID: String?, script: BatchScriptAnalysis?,
        suffix: String = "", into out: UnsafeMutablePointer<CChar>, capacity: Int
    ) -> Int {
        var w = AnnotationWriter()
        writeAnnotation(into: &w, request: r, prediction: prediction, modelID: modelID, script: script)
        w.append(suffix)
        return w.withBytes { copyCString(bytes: $0, into: out, capacity: Swift.min(capacity, maxAnnotationBytes &+ 1)) }
    }
}
