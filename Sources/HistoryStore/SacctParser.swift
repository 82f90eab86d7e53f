// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
//
// Parses `sacct --parsable2 --noheader --format=<SacctParser.fields>` output into history rows. Pure: the text
// and the time-zone functions come from the caller (`SacctRunner` runs sacct).

/// A line of sacct output that could not be read: line number, field and reason.
public struct SacctError: Error, CustomStringConvertible, Sendable, Equatable {
    public var source: String
    public var line: Int
    public var field: String?
    public var message: String

    public var description: String {
        "\(source):\(line): " + (field.map { "\($0): " } ?? "") + message
    }
}

public enum SacctParser {
    /// The columns asked of sacct, in order. `AdminComment` comes last: a delimiter inside it stays in it.
    public static let fields = [
        "JobIDRaw", "JobID", "Cluster", "User", "UID", "Account", "Partition", "QOS", "Submit", "Eligible", "Start",
        "End", "Timelimit", "ReqCPUS", "AllocCPUS", "ReqNodes", "ReqMem", "State", "ExitCode", "TotalCPU", "MaxRSS",
        "JobName", "AdminComment",
    ]

    /// States of a job that has left the system: sacct's name and its `--state` code.
    public static let finishedStateCodes: KeyValuePairs<String, String> = [
        "BOOT_FAIL": "BF", "CANCELLED": "CA", "COMPLETED": "CD", "DEADLINE": "DL", "FAILED": "F", "NODE_FAIL": "NF",
        "OUT_OF_MEMORY": "OOM", "PREEMPTED": "PR", "TIMEOUT": "TO",
    ]

    /// States of a job that has left the system (sacct's names).
    public static let finishedStates = Set(finishedStateCodes.map(\.key))

    public struct Result: Sendable {
        /// Finished jobs (job allocations; steps only contribute their peak memory).
        public var jobs: [HistoryJob] = []
        /// Jobs not finished yet (running, pending, …): not stored.
        public var unfinished = 0
        /// Malformed lines skipped (lenient mode only).
        public var errors: [SacctError] = []
    }

    /// Parses sacct's output.
    ///
    /// - Parameters:
    ///   - text: the output, one job or step per line.
    ///   - source: the name used in errors (e.g. `sacct output`).
    ///   - delimiter: the field separator (`--delimiter`, default `|`).
    ///   - localToUTC: converts a wall-clock time on the cluster's clock, given as seconds since 1970-01-01T00:00
    ///     of that clock, to Unix time (for `YYYY-MM-DDTHH:MM:SS` stamps; plain integers are Unix times already).
    ///   - utcOffset: seconds east of UTC on the cluster's clock at a Unix time.
    ///   - lenient: skip malformed lines (collected in ``Result/errors``) instead of throwing the first.
    /// - Throws: ``SacctError`` naming the line and field.
    public static func parse(
        _ text: String, source: String = "sacct output", delimiter: Character = "|", cluster defaultCluster: String,
        localToUTC: (Int64) -> Int64, utcOffset: (Int64) -> Int64, lenient: Bool = false
    ) throws(SacctError) -> Result {
        var result = Result()
        // Steps belong to the job line before them with their id: with --duplicates a requeued job has one job
        // line per run (the first REQUEUED, not stored), each followed by that run's steps.
        var owner: [Int64: Int?] = [:]  // job id -> index in result.jobs of its latest job line, nil: not stored
        var orphans: [(jobID: Int64, Step)] = []  // steps before any job line of theirs (applied by id at the end)
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            if line.isEmpty { continue }
            do {
                let parsed = try parseLine(
                    line, number: lineNumber, source: source, delimiter: delimiter, cluster: defaultCluster,
                    localToUTC: localToUTC, utcOffset: utcOffset)
                switch parsed {
                case .job(let j):
                    owner[j.jobID] = result.jobs.count
                    result.jobs.append(j)
                case .step(let id, let step):
                    switch owner[id] {
                    case .some(.some(let index)): step.apply(to: &result.jobs[index])
                    case .some(.none): break  // a step of a record not stored
                    case .none: orphans.append((id, step))
                    }
                case .unfinished(let id):
                    owner[id] = .some(nil)
                    result.unfinished += 1
                }
            } catch {
                if !lenient { throw error }
                result.errors.append(error)
            }
        }
        for (id, step) in orphans {
            for i in result.jobs.indices where result.jobs[i].jobID == id { step.apply(to: &result.jobs[i]) }
        }
        return result
    }

    /// What a step line adds to its job.
    struct Step {
        var maxRSSKB: Int64?
        /// The ExitCode of a `.batch` step.
        var batchExit: (code: Int64, signal: Int64)?

        /// The job's peak RSS is the largest over its steps. A job killed at its time limit is recorded in
        /// slurmdbd (0:0) before its batch script dies; the script's exit status (0:15) is on the `.batch` step,
        /// and is what slurmctld reports: take it when the job line says 0:0.
        func apply(to job: inout HistoryJob) {
            if let rss = maxRSSKB { job.maxRSSKB = Swift.max(job.maxRSSKB ?? 0, rss) }
            if let exit = batchExit, exit != (0, 0), job.exitCode == 0, job.exitSignal == 0 {
                job.exitCode = exit.code
                job.exitSignal = exit.signal
            }
        }
    }

    enum Line {
        case job(HistoryJob)
        case step(jobID: Int64, Step)
        case unfinished(jobID: Int64)
    }

    static func parseLine(
        _ line: Substring, number: Int, source: String, delimiter: Character, cluster defaultCluster: String,
        localToUTC: (Int64) -> Int64, utcOffset: (Int64) -> Int64
    ) throws(SacctError) -> Line {
        var values = line.split(separator: delimiter, omittingEmptySubsequences: false).map(String.init)
        guard values.count >= fields.count else {
            throw SacctError(
                source: source, line: number, field: nil,
                message: "expected \(fields.count) fields separated by '\(delimiter)', found \(values.count)")
        }
        if values.count > fields.count {  // the delimiter inside the last field (AdminComment)
            let tail = values[(fields.count - 1)...].joined(separator: String(delimiter))
            values = Array(values.prefix(fields.count - 1)) + [tail]
        }
        func fail(_ field: String, _ message: String) -> SacctError {
            SacctError(source: source, line: number, field: field, message: message)
        }
        func value(_ name: String) -> String { values[fields.firstIndex(of: name)!] }
        func optionalText(_ name: String) -> String? {
            let v = value(name)
            return v.isEmpty ? nil : v
        }
        func integer(_ name: String) throws(SacctError) -> Int64? {
            let v = value(name)
            if v.isEmpty { return nil }
            guard let x = Int64(v), x >= 0 else { throw fail(name, "not a whole number: '\(v)'") }
            return x
        }
        func time(_ name: String) throws(SacctError) -> Int64? {
            let v = value(name)
            switch v {
            case "", "Unknown", "None", "N/A": return nil
            default:
                guard let t = parseTimestamp(v, localToUTC: localToUTC) else {
                    throw fail(name, "not a time (YYYY-MM-DDTHH:MM:SS or Unix seconds): '\(v)'")
                }
                return t
            }
        }

        let rawID = value("JobIDRaw")
        if let dot = rawID.firstIndex(of: ".") {  // a step: 123.batch, 123.extern, 123.0
            guard let id = Int64(rawID[..<dot]) else { throw fail("JobIDRaw", "not a job id: '\(rawID)'") }
            let rss: Int64?
            do {
                rss = try parseMemoryKB(value("MaxRSS"))
            } catch {
                throw fail("MaxRSS", error.message)
            }
            var step = Step(maxRSSKB: rss)
            if rawID[rawID.index(after: dot)...] == "batch" {
                step.batchExit = try exitStatus(value("ExitCode"), fail)
            }
            return .step(jobID: id, step)
        }
        guard let id = Int64(rawID), id >= 0 else { throw fail("JobIDRaw", "not a job id: '\(rawID)'") }
        let stateText = value("State")
        let state = stateText.split(separator: " ").first.map(String.init) ?? ""  // "CANCELLED by 1000"
        guard !state.isEmpty else { throw fail("State", "empty") }
        guard finishedStates.contains(state) else { return .unfinished(jobID: id) }
        guard let submit = try time("Submit") else { throw fail("Submit", "missing") }

        var j = HistoryJob(cluster: optionalText("Cluster") ?? defaultCluster, jobID: id, submitTime: submit, source: "sacct")
        j.utcOffset = utcOffset(submit)
        let shown = value("JobID")  // 1234_7 for an array task
        if let u = shown.firstIndex(of: "_"), let master = Int64(shown[..<u]),
            let task = Int64(shown[shown.index(after: u)...])
        {
            j.arrayJobID = master
            j.arrayTaskID = task
        }
        j.eligibleTime = try time("Eligible")
        j.startTime = try time("Start")
        j.endTime = try time("End")
        if let s = j.startTime, let e = j.endTime, e < s { throw fail("End", "before Start") }
        // A job that was never eligible (held, then cancelled: Eligible `Unknown`) never started. sacct 22.05 shows
        // its Start as `None`, or (seen when it was cancelled in the second it was submitted) as its End, which is
        // also what `scontrol show job` says; AllocCPUS is 1 either way. It had neither.
        if ["Unknown", "None"].contains(value("Eligible")) { j.startTime = nil }
        j.userName = optionalText("User")
        j.userID = try integer("UID")
        j.account = optionalText("Account")
        j.partition = optionalText("Partition")
        j.qos = optionalText("QOS")
        j.name = optionalText("JobName")
        j.annotation = optionalText("AdminComment")
        let limit = value("Timelimit")
        do {
            switch limit {
            case "", "UNLIMITED", "Partition_Limit", "INVALID", "Unknown": j.timeLimit = nil
            default: j.timeLimit = try parseDuration(limit)
            }
        } catch {
            throw fail("Timelimit", error.message)
        }
        j.requestedCPUs = try integer("ReqCPUS")
        j.allocatedCPUs = try integer("AllocCPUS")
        if j.allocatedCPUs == 0 || j.startTime == nil { j.allocatedCPUs = nil }  // never ran
        j.requestedNodes = try integer("ReqNodes")
        do {
            if let (kb, per) = try parseRequestedMemory(value("ReqMem")), kb > 0 {
                let cpus = j.requestedCPUs ?? 0
                switch per {
                case .cpu: j.requestedMemoryKBPerCPU = kb
                case .node where cpus > 0:
                    j.requestedMemoryKBPerCPU = Swift.max(1, kb * Swift.max(j.requestedNodes ?? 1, 1) / cpus)
                case .job where cpus > 0: j.requestedMemoryKBPerCPU = Swift.max(1, kb / cpus)
                default: break
                }
            }
        } catch {
            throw fail("ReqMem", error.message)
        }
        j.state = state
        if let exit = try exitStatus(value("ExitCode"), fail) {
            j.exitCode = exit.code
            j.exitSignal = exit.signal
        }
        do {
            let cpu = value("TotalCPU")
            j.cpuTime = cpu.isEmpty ? nil : try parseDuration(cpu)
            j.maxRSSKB = try parseMemoryKB(value("MaxRSS"))
        } catch {
            throw fail(error.field, error.message)
        }
        return .job(j)
    }

    /// `CODE:SIGNAL` (sacct's ExitCode); empty → `nil`.
    static func exitStatus(
        _ text: String, _ fail: (String, String) -> SacctError
    ) throws(SacctError) -> (code: Int64, signal: Int64)? {
        if text.isEmpty { return nil }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let code = Int64(parts[0]), let signal = Int64(parts[1]) else {
            throw fail("ExitCode", "expected CODE:SIGNAL, found '\(text)'")
        }
        return (code, signal)
    }

    /// A field value that could not be read (the caller adds the line).
    public struct FieldProblem: Error, Sendable {
        public var field = ""
        public var message: String
    }

    /// `[D-][HH:]MM:SS[.fff]` → whole seconds (fractions dropped).
    public static func parseDuration(_ s: String) throws(FieldProblem) -> Int64 {
        var rest = Substring(s)
        var days: Int64 = 0
        if let dash = rest.firstIndex(of: "-") {
            guard let d = Int64(rest[..<dash]), d >= 0 else { throw FieldProblem(field: "TotalCPU", message: "not a duration: '\(s)'") }
            days = d
            rest = rest[rest.index(after: dash)...]
        }
        if let dot = rest.firstIndex(of: ".") {
            guard rest[rest.index(after: dot)...].allSatisfy(\.isNumber) else {
                throw FieldProblem(field: "TotalCPU", message: "not a duration: '\(s)'")
            }
            rest = rest[..<dot]
        }
        let parts = rest.split(separator: ":", omittingEmptySubsequences: false)
        guard (1 ... 3).contains(parts.count) else {
            throw FieldProblem(field: "TotalCPU", message: "not a duration: '\(s)'")
        }
        var numbers: [Int64] = []
        for p in parts {
            guard !p.isEmpty, p.allSatisfy(\.isASCII), let v = Int64(p), v >= 0 else {
                throw FieldProblem(field: "TotalCPU", message: "not a duration: '\(s)'")
            }
            numbers.append(v)
        }
        // D-HH, D-HH:MM, D-HH:MM:SS (days given) or MM, MM:SS, HH:MM:SS
        var seconds: Int64
        if days > 0 || s.contains("-") {
            let h = numbers[0]
            let m = numbers.count > 1 ? numbers[1] : 0
            let sec = numbers.count > 2 ? numbers[2] : 0
            seconds = h * 3600 + m * 60 + sec
        } else {
            switch numbers.count {
            case 1: seconds = numbers[0] * 60
            case 2: seconds = numbers[0] * 60 + numbers[1]
            default: seconds = numbers[0] * 3600 + numbers[1] * 60 + numbers[2]
            }
        }
        return days * 86_400 + seconds
    }

    /// `123`, `123K`, `12.5M`, `2G`, `1T` (sacct's MaxRSS) → KB; empty → `nil`.
    public static func parseMemoryKB(_ s: String) throws(FieldProblem) -> Int64? {
        guard !s.isEmpty else { return nil }
        var number = Substring(s)
        var scale = 1.0 / 1024  // no suffix: bytes
        if let last = number.last, last.isLetter {
            switch last.uppercased() {
            case "K": scale = 1
            case "M": scale = 1024
            case "G": scale = 1024 * 1024
            case "T": scale = 1024 * 1024 * 1024
            default: throw FieldProblem(field: "MaxRSS", message: "unknown unit in '\(s)'")
            }
            number = number.dropLast()
        }
        guard let v = Double(number), v >= 0, v.isFinite else {
            throw FieldProblem(field: "MaxRSS", message: "not a memory size: '\(s)'")
        }
        return Int64((v * scale).rounded())
    }

    /// What a `ReqMem` value is counted per.
    enum MemoryPer: Equatable {
        /// The whole job: Slurm 21.08 and later print the job's memory request (its `mem` TRES), no suffix. Seen
        /// from sacct 22.05.8: `2000M` for `-N 2` with 1000 MB per node, `400M` for `--mem-per-cpu=200 -n 2`.
        case job
        /// `…n`: per node (Slurm before 21.08).
        case node
        /// `…c`: per CPU (Slurm before 21.08).
        case cpu
    }

    /// `4000M`, `4G` (the job's total), `4000Mc` (per CPU), `4000Mn` (per node) → (KB, per what); empty or `0` →
    /// `nil`. A bare number is MB.
    static func parseRequestedMemory(_ s: String) throws(FieldProblem) -> (Int64, MemoryPer)? {
        guard !s.isEmpty, s != "0" else { return nil }
        var t = s
        var per = MemoryPer.job
        if t.hasSuffix("c") || t.hasSuffix("n") {
            per = t.hasSuffix("c") ? .cpu : .node
            t.removeLast()
        }
        if let last = t.last, last.isNumber { t += "M" }  // convert_num_unit with UNIT_MEGA: MB when no unit
        do {
            guard let kb = try parseMemoryKB(t) else { return nil }
            return (kb, per)
        } catch {
            throw FieldProblem(field: "ReqMem", message: "not a memory size: '\(s)'")
        }
    }

    /// Unix seconds (`%s`) or `YYYY-MM-DDTHH:MM:SS` on the cluster's clock.
    static func parseTimestamp(_ s: String, localToUTC: (Int64) -> Int64) -> Int64? {
        if let v = Int64(s) { return v }
        let u = Array(s.utf8)
        guard u.count == 19, u[4] == UInt8(ascii: "-"), u[7] == UInt8(ascii: "-"), u[10] == UInt8(ascii: "T"),
            u[13] == UInt8(ascii: ":"), u[16] == UInt8(ascii: ":")
        else { return nil }
        func number(_ from: Int, _ to: Int) -> Int64? {
            var v: Int64 = 0
            for i in from ..< to {
                guard u[i] >= 48, u[i] <= 57 else { return nil }
                v = v * 10 + Int64(u[i] - 48)
            }
            return v
        }
        guard let y = number(0, 4), let mo = number(5, 7), let d = number(8, 10), let h = number(11, 13),
            let mi = number(14, 16), let se = number(17, 19), (1 ... 12).contains(mo), (1 ... 31).contains(d), h < 24,
            mi < 60, se < 61
        else { return nil }
        return localToUTC(daysFromCivil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
    static func daysFromCivil(_ y0: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
