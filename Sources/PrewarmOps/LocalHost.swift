// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

#if canImport(Glibc)
import Glibc
#endif

/// This host's name as `gethostname` gives it (short or qualified; empty if it fails): which controller a prewarmd
/// here follows (`FollowController`), what `prewarm check` says of it, and the host a status snapshot names.
public enum LocalHost {
    public static let name: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }()
}
