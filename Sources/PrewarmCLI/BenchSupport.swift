// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Measurement helpers for the hidden benchmark subcommands (`cycle-bench`, `forecast-error`).
enum BenchSupport {
    /// A field of `/proc/self/status` in MB (`VmHWM`: peak resident set, `VmRSS`: current), or nil when the
    /// file or field is missing (not Linux).
    static func procStatusMegabytes(_ field: String) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            let digits = line.dropFirst(field.count + 1).filter(\.isNumber)
            if let kB = Double(String(digits)) { return kB / 1024 }
        }
        return nil
    }

    /// Peak resident memory since the last ``resetPeakRSS()`` (or since start), MB: `VmHWM`, else getrusage.
    static func peakRSSMegabytes() -> Double { procStatusMegabytes("VmHWM") ?? CLISupport.peakRSSMegabytes() }

    /// Current resident memory, MB (0 when unknown).
    static func currentRSSMegabytes() -> Double { procStatusMegabytes("VmRSS") ?? 0 }

    /// Resets the kernel's peak-RSS mark to the current RSS (`echo 5 > /proc/self/clear_refs`, Linux ≥ 4.0), so
    /// that the next ``peakRSSMegabytes()`` is the peak of what ran in between. Returns false when unsupported
    /// (the peak is then the process's since start, an over-estimate).
    @discardableResult
    static func resetPeakRSS() -> Bool {
        let fd = open("/proc/self/clear_refs", O_WRONLY)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return write(fd, "5", 1) == 1
    }

    /// The median of `values` (the mean of the middle two for an even count; 0 when empty).
    static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let s = values.sorted()
        let mid = s.count / 2
        return s.count % 2 == 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2
    }

    /// Runs `body` and returns its result and the monotonic seconds it took.
    static func timed<T>(_ body: () throws -> T) rethrows -> (T, Double) {
        let t0 = CLISupport.now()
        let r = try body()
        return (r, CLISupport.now() - t0)
    }
}
