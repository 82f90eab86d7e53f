// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

#if canImport(Glibc)
import Glibc
#endif

extension BatchScriptAnalysis {
    /// Names of ``features``, in vector order. Append only: a model records the names it was trained with.
    public static let featureNames: [String] = [
        "script_is_text", "script_truncated", "script_bytes_log", "script_lines_log", "script_interpreter",
        "script_directives", "script_time_limit_log", "script_nodes", "script_ntasks", "script_cpus_per_task",
        "script_launcher_count", "script_uses_srun", "script_uses_mpi", "script_uses_dl_launcher",
        "script_modules", "script_executable", "script_gpu_hints", "script_loops", "script_array",
    ]

    /// The analysis as a fixed vector named by ``featureNames``; -1 marks an unknown value (all but the
    /// first four when the script is not text). Names are coded as ``stableID(_:)`` modulo 2^24, exact in a
    /// `Float`.
    /// - Complexity: O(``directives``.count).
    public var features: [Float] {
        var f: [Float] = []
        f.reserveCapacity(Self.featureNames.count)
        f.append(isText ? 1 : 0)
        f.append(truncated ? 1 : 0)
        f.append(Float(log1p(Double(bytesExamined))))
        f.append(Float(log1p(Double(lineCount))))
        guard isText else {
            while f.count < Self.featureNames.count { f.append(-1) }
            return f
        }
        func code(_ name: String?) -> Float {
            guard let name else { return -1 }
            return Float(Self.stableID(name) & 0xFF_FFFF)
        }
        func count(_ name: String) -> Float {
            guard let v = directive(name), let n = ScriptNumbers.leadingInt(v) else { return -1 }
            return Float(n)
        }
        f.append(code(interpreter))
        f.append(Float(directives.count))
        if let t = directive("time"), let s = ScriptNumbers.slurmTimeSeconds(t) {
            f.append(Float(log1p(Double(s))))
        } else {
            f.append(-1)
        }
        f.append(count("nodes"))
        f.append(count("ntasks"))
        f.append(count("cpus-per-task"))
        f.append(Float(launcherCount))
        f.append(launchers.contains(.srun) ? 1 : 0)
        f.append(launchers.isDisjoint(with: .mpi) ? 0 : 1)
        f.append(launchers.isDisjoint(with: .distributedTraining) ? 0 : 1)
        f.append(Float(modules.count))
        f.append(code(mainExecutable))
        f.append(Float(gpuHints))
        f.append(Float(loopCount))
        f.append(arrayHint ? 1 : 0)
        return f
    }
}

/// Saturating number parsing of directive values.
enum ScriptNumbers {
    /// Values saturate here (about 31 years in seconds).
    static let cap = 1 << 30

    /// The decimal number at the start of `s` (`"4"`, `"2-4"` → 2, `"8k"` → 8), nil without digits.
    static func leadingInt(_ s: String) -> Int? {
        var v = 0
        var any = false
        for c in s.utf8 {
            guard c >= 48 && c <= 57 else { break }
            any = true
            v = v < cap ? v &* 10 &+ Int(c &- 48) : cap
        }
        return any ? Swift.min(v, cap) : nil
    }

    /// Seconds of a Slurm time (`minutes`, `minutes:seconds`, `hours:minutes:seconds`, `days-hours`,
    /// `days-hours:minutes`, `days-hours:minutes:seconds`); nil for `UNLIMITED`, `INFINITE` or junk.
    static func slurmTimeSeconds(_ s: String) -> Int? {
        var fields: [Int] = []
        var days = -1
        var current = 0
        var digits = 0
        for c in s.utf8 {
            switch c {
            case 48 ... 57:
                current = current < cap ? current &* 10 &+ Int(c &- 48) : cap
                digits &+= 1
            case UInt8(ascii: ":"):
                guard digits > 0, fields.count < 3 else { return nil }
                fields.append(current)
                current = 0
                digits = 0
            case UInt8(ascii: "-"):
                guard digits > 0, days < 0, fields.isEmpty else { return nil }
                days = current
                current = 0
                digits = 0
            default:
                return nil
            }
        }
        guard digits > 0, fields.count < 3 else { return nil }
        fields.append(current)
        let h: Int, m: Int, sec: Int
        if days >= 0 {
            // days-hours[:minutes[:seconds]]
            h = fields[0]
            m = fields.count > 1 ? fields[1] : 0
            sec = fields.count > 2 ? fields[2] : 0
        } else {
            switch fields.count {
            case 1: (h, m, sec) = (0, fields[0], 0)
            case 2: (h, m, sec) = (0, fields[0], fields[1])
            default: (h, m, sec) = (fields[0], fields[1], fields[2])
            }
        }
        // Every term is at most 2^30 * 86400 < 2^47: no overflow.
        let total = Swift.max(days, 0) &* 86_400 &+ h &* 3600 &+ m &* 60 &+ sec
        return Swift.min(total, cap)
    }
}
