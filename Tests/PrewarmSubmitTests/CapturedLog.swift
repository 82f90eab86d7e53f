// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

#if canImport(Glibc)
import Glibc
#endif

/// The lines the library logged through its C log callback. The callback has no context, so each test keeps one
/// of these in a global of its own and hands the library a closure that names it; a mutex guards the lines, since
/// the library logs from its own threads too.
final class CapturedLog: @unchecked Sendable {
    private var lines: [String] = []
    private let mutex: UnsafeMutablePointer<pthread_mutex_t> = {
        let m = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(m, nil)
        return m
    }()

    /// Records `message`, prefixed with `"LEVEL "` when `withLevel` (0 info, 1 error).
    func append(_ level: Int32, _ message: UnsafePointer<CChar>?, withLevel: Bool = false) {
        let text = message.map { String(cString: $0) } ?? ""
        pthread_mutex_lock(mutex)
        lines.append(withLevel ? "\(level) \(text)" : text)
        pthread_mutex_unlock(mutex)
    }

    func snapshot() -> [String] {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return lines
    }
}
