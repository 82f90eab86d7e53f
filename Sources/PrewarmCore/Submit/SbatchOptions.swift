// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

/// Applies sbatch options (long names, as `#SBATCH` directives or command-line flags give them) to a
/// ``SubmitRequest`` — what `prewarm predict` needs to show what the plugin would write for a script.
public enum SbatchOptions {
    /// A value sbatch would refuse.
    public struct InvalidValue: Error, Equatable, CustomStringConvertible {
        public var option: String
        public var value: String
        public var expected: String
        public var description: String { "--\(option)=\(value): expected \(expected)" }
    }

    /// Sets the field of `request` that `option` controls. Options Prewarm does not read are ignored.
    public static func apply(_ option: String, _ value: String, to r: inout SubmitRequest) throws(InvalidValue) {
        func bad(_ expected: String) -> InvalidValue { InvalidValue(option: option, value: value, expected: expected) }
        func count() throws(InvalidValue) -> Int64 {
            // "4" or a range "2-4" (the minimum counts).
            let first = value.split(separator: "-", maxSplits: 1).first.map(String.init) ?? value
            guard let v = Int64(first), v > 0 else { throw bad("a positive count") }
            return v
        }
        switch option {
        case "time": r.timeLimitMinutes = try minutes(value, option: option)
        case "time-min": r.timeMinMinutes = try minutes(value, option: option)
        case "nodes": r.minNodes = try count()
        case "ntasks": r.tasks = try count()
        case "cpus-per-task": r.cpusPerTask = try count()
        case "mincpus": r.minCPUs = try count()
        case "mem": r.memoryPerNodeMB = try megabytes(value, option: option)
        case "mem-per-cpu": r.memoryPerCPUMB = try megabytes(value, option: option)
        case "partition": r.partition = value
        case "account": r.account = value
        case "qos": r.qos = value
        case "job-name": r.name = value
        case "gres", "gpus", "gpus-per-node", "gpus-per-task":
            let item = option == "gres" ? value : "gres:gpu:\(value)"
            r.tres = r.tres.isEmpty ? item : r.tres + "," + item
        case "array": r.arraySpec = value
        case "dependency": r.dependency = value
        case "nice":
            guard let v = Int64(value) else { throw bad("an integer") }
            r.nice = v
        default: break
        }
    }

    /// A Slurm time (`M`, `M:S`, `H:M:S`, `D-H`, `D-H:M`, `D-H:M:S`) in minutes, rounded up as Slurm does.
    public static func minutes(_ text: String, option: String = "time") throws(InvalidValue) -> Int64 {
        let bad = InvalidValue(option: option, value: text, expected: "a time like 90, 1:30:00 or 2-12:00:00")
        if text == "UNLIMITED" || text == "INFINITE" || text == "infinite" || text == "unlimited" { return -1 }
        var days: Int64 = 0
        var rest = Substring(text)
        if let dash = text.firstIndex(of: "-") {
            guard let d = Int64(text[..<dash]), d >= 0 else { throw bad }
            days = d
            rest = text[text.index(after: dash)...]
        }
        let fields = rest.split(separator: ":", omittingEmptySubsequences: false)
        let v = fields.compactMap { Int64($0) }
        guard !v.isEmpty, v.count == fields.count, v.count <= 3, v.allSatisfy({ $0 >= 0 && $0 < 1_000_000 }) else {
            throw bad
        }
        var seconds: Int64
        if text.contains("-") {
            // D-H, D-H:M, D-H:M:S
            seconds = v[0] * 3600 + (v.count > 1 ? v[1] * 60 : 0) + (v.count > 2 ? v[2] : 0)
        } else {
            switch v.count {
            case 1: seconds = v[0] * 60
            case 2: seconds = v[0] * 60 + v[1]
            default: seconds = v[0] * 3600 + v[1] * 60 + v[2]
            }
        }
        let (total, o) = days.multipliedReportingOverflow(by: 86_400)
        guard !o, seconds < Int64(Int32.max), total < Int64(Int32.max) else { throw bad }
        seconds += total
        return (seconds + 59) / 60
    }

    /// A Slurm memory size (`4000`, `500M`, `4G`, `1T`; megabytes without a suffix) in megabytes.
    public static func megabytes(_ text: String, option: String = "mem") throws(InvalidValue) -> Int64 {
        let bad = InvalidValue(option: option, value: text, expected: "a size like 4000, 500M, 4G or 1T")
        guard let last = text.last else { throw bad }
        var number = Substring(text)
        var scale: Double = 1
        switch last {
        case "K", "k": scale = 1.0 / 1024
        case "M", "m": scale = 1
        case "G", "g": scale = 1024
        case "T", "t": scale = 1024 * 1024
        default: break
        }
        if !last.isNumber { number = number.dropLast() }
        guard let v = Double(number), v >= 0, v * scale < 1e15 else { throw bad }
        return Int64((v * scale).rounded(.up))
    }
}
