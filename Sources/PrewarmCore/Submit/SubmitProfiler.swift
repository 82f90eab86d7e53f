// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

/// A job submission as the `job_submit` plugin hands it over (the fields Prewarm reads of `job_desc_msg_t`).
/// Numbers the user did not give are `-1`; strings are empty.
public struct SubmitRequest: Sendable, Equatable {
    public var uid: Int64 = -1
    public var gid: Int64 = -1
    public var account = ""
    public var partition = ""
    public var qos = ""
    public var name = ""
    public var minCPUs: Int64 = -1
    public var minNodes: Int64 = -1
    public var tasks: Int64 = -1
    public var cpusPerTask: Int64 = -1
    public var memoryPerNodeMB: Int64 = -1
    public var memoryPerCPUMB: Int64 = -1
    /// Time limit in minutes (Slurm's unit).
    public var timeLimitMinutes: Int64 = -1
    public var timeMinMinutes: Int64 = -1
    /// GRES/TRES requests (`tres_per_node`, `tres_per_job`, …), comma-joined.
    public var tres = ""
    public var arraySpec = ""
    public var dependency = ""
    public var nice: Int64 = -1
    public var priority: Int64 = -1
    /// Earliest start (`--begin`), Unix seconds, or -1.
    public var beginTime: Int64 = -1
    /// Submission time, Unix seconds.
    public var submitTime: Int64 = 0
    /// Local hour of day and day of week (0 = Sunday) of the submission.
    public var hourOfDay = 0
    public var dayOfWeek = 0

    public init() {}

    /// Processors the job asks for: the larger of `--mincpus`/`-n`×`-c`, or -1.
    public var processors: Int64 {
        var p = minCPUs
        if tasks > 0 {
            let (t, o) = tasks.multipliedReportingOverflow(by: Swift.max(cpusPerTask, 1))
            if !o { p = Swift.max(p, t) }
        }
        return p > 0 ? Swift.min(p, Int64(Int32.max)) : -1
    }

    /// Whether the request names GPUs (`gpu` in its TRES/GRES).
    public var requestsGPUs: Bool { tres.lowercased().contains("gpu") }
}

/// Turns a submission into the ``JobRecord`` the runtime model reads, and formats what the plugin writes
/// into the job (the annotation) and sends to the daemon (the notification).
public enum SubmitProfiler {
    /// The annotation marker; everything from it to the end of the field belongs to Prewarm.
    public static let marker = markerLiteral.description
    static let markerLiteral: StaticString = "prewarm:v1"
    /// Longest annotation written (Slurm fields are free text, but keep them short).
    public static let maxAnnotationBytes = 1024

    /// The job as the runtime model sees it. Names become stable numbers (``BatchScriptAnalysis/stableID(_:)``):
    /// account → group, QOS → queue, partition → partition, the script's main executable (else the job name)
    /// → application. The user is the uid.
    public static func record(for r: SubmitRequest, script: BatchScriptAnalysis?) -> JobRecord {
        let procs = r.processors
        var memoryKB: Int64 = -1
        if r.memoryPerCPUMB > 0 {
            memoryKB = r.memoryPerCPUMB.multipliedReportingOverflow(by: 1024).overflow ? -1 : r.memoryPerCPUMB * 1024
        } else if r.memoryPerNodeMB > 0, procs > 0 {
            let nodes = Swift.max(r.minNodes, 1)
            let (total, o) = r.memoryPerNodeMB.multipliedReportingOverflow(by: 1024)
            let (all, o2) = total.multipliedReportingOverflow(by: nodes)
            if !o && !o2 { memoryKB = Swift.max(1, all / procs) }
        }
        var limit: Int64 = -1
        if r.timeLimitMinutes > 0 {
            let (s, o) = r.timeLimitMinutes.multipliedReportingOverflow(by: 60)
            limit = o ? -1 : s
        }
        let executable = script?.mainExecutable ?? (r.name.isEmpty ? nil : r.name)
        return JobRecord(
            id: 0, submit: r.submitTime, wait: -1, runtime: -1,
            allocatedProcs: -1, requestedProcs: Int32(truncatingIfNeeded: procs),
            requestedNodes: r.minNodes > 0 ? Int32(truncatingIfNeeded: Swift.min(r.minNodes, Int64(Int32.max))) : -1,
            requestedTime: limit, requestedMemoryKB: memoryKB, status: -1,
            user: r.uid >= 0 && r.uid <= Int64(Int32.max) ? Int32(r.uid) : -1,
            group: r.account.isEmpty ? -1 : BatchScriptAnalysis.stableID(r.account),
            application: executable.map { BatchScriptAnalysis.stableID($0) } ?? -1,
            queue: r.qos.isEmpty ? -1 : BatchScriptAnalysis.stableID(r.qos),
            partition: r.partition.isEmpty ? -1 : BatchScriptAnalysis.stableID(r.partition),
            hourOfDay: Int8(truncatingIfNeeded: Swift.min(Swift.max(r.hourOfDay, 0), 23)),
            dayOfWeek: Int8(truncatingIfNeeded: Swift.min(Swift.max(r.dayOfWeek, 0), 6)))
    }

    /// The annotation for a job: `prewarm:v1 rt=… rt50=… rt90=… cand=… cpuh=… model=… [script fields]`, or
    /// `prewarm:v1 model=none …` when no model is loaded. Runtimes are seconds, capped at the time limit; `cpuh`
    /// is the predicted core-hours (processors × rt).
    public static func annotation(
        request r: SubmitRequest, prediction: RuntimePrediction?, modelID: String?, script: BatchScriptAnalysis?
    ) -> String {
        var w = AnnotationWriter()
        writeAnnotation(into: &w, request: r, prediction: prediction, modelID: modelID, script: script)
        return bounded(w.string)
    }

    /// Appends the annotation's bytes to `w`.
    static func writeAnnotation(
        into w: inout AnnotationWriter, request r: SubmitRequest, prediction: RuntimePrediction?, modelID: String?,
        script: BatchScriptAnalysis?
    ) {
        // Written byte by byte into one buffer: no intermediate strings (this runs for every submission inside
        // slurmctld; the string-interpolating version cost about 19,000 instructions and a dozen allocations).
        w.appendLiteral(markerLiteral)
        if let p = prediction, let modelID {
            var limit = Double.greatestFiniteMagnitude
            if r.timeLimitMinutes > 0 { limit = Double(r.timeLimitMinutes) * 60 }
            func seconds(_ v: Float) -> Int64 { Int64(Swift.max(1, Swift.min(Double(v), limit, 1e9)).rounded()) }
            let rt = seconds(p.point)
            w.appendLiteral(" rt=")
            w.append(rt)
            w.appendLiteral(" rt50=")
            w.append(seconds(p.p50))
            w.appendLiteral(" rt90=")
            w.append(seconds(p.p90))
            w.appendLiteral(" cand=")
            w.append(p.candidate.name)
            let procs = Swift.max(r.processors, 1)
            w.appendLiteral(" cpuh=")
            w.appendHundredths(Double(procs) * Double(rt) / 3600)
            w.appendLiteral(" model=")
            w.append(modelID)
        } else {
            w.appendLiteral(" model=none")
        }
        if let s = script {
            if !s.isText {
                w.appendLiteral(" script=binary")
            } else {
                if let exe = s.mainExecutable {
                    w.appendLiteral(" exe=")
                    w.appendToken(exe.utf8)
                }
                w.appendLiteral(" launch=")
                if s.launchers.isEmpty {
                    w.appendLiteral("none")
                } else {
                    // The names joined by `+`, written in place (a joined array cost ~700 instructions per job),
                    // cut at a token's 48 bytes as before. The names are token characters already.
                    let start = w.count
                    for (launcher, name) in LauncherSet.all where s.launchers.contains(launcher) {
                        if w.count != start { w.append(byte: UInt8(ascii: "+")) }
                        w.append(name)
                    }
                    w.truncate(to: start + 48)
                }
                w.appendLiteral(" mods=")
                w.append(Int64(s.modules.count))
                w.appendLiteral(" gpu=")
                w.append(Int64(s.gpuHints))
                if s.truncated { w.appendLiteral(" script=truncated") }
            }
        }
    }

    /// The runtime prediction (seconds) an annotation carries, if it has one: `rt`, `rt50`, `rt90` and the model.
    /// Text before the marker (an operator's) is ignored; an annotation without a prediction gives nil.
    public static func parse(_ field: String) -> Prediction? {
        // prewarmd reads every queued and running job's annotation each cycle (100,000 and more on a large
        // cluster): a scan of the bytes, for an annotation that is ASCII from its marker on (as the plugin writes
        // it), with the same result as the general reading below, which takes any other text.
        var copy = field
        switch copy.withUTF8({ parseASCII($0) }) {
        case .read(let value): return value
        case .notASCII: return parseText(field)
        }
    }

    public typealias Prediction = (rt: Int64, rt50: Int64, rt90: Int64, model: String)
    enum BytesReading {
        case read(Prediction?)
        case notASCII
    }

    /// ``parse(_:)`` on the bytes of a field: nil when a byte from the marker on is not ASCII (the caller then reads
    /// it as text, where a space may join the combining mark after it into one character).
    static func parseASCII(_ u: UnsafeBufferPointer<UInt8>) -> BytesReading {
        let m = markerLiteral
        let mc = m.utf8CodeUnitCount
        guard mc > 0, u.count >= mc else { return .read(nil) }
        var start = -1
        var i = 0
        search: while i + mc <= u.count {
            var k = 0
            while k < mc {
                if u[i + k] != m.utf8Start[k] { i += 1; continue search }
                k += 1
            }
            start = i
            break
        }
        guard start >= 0 else { return .read(nil) }
        var j = start
        while j < u.count {
            if u[j] >= 0x80 { return .notASCII }
            j += 1
        }
        // The last value of each key, as ranges of bytes (a token is text between spaces; its key ends at its first `=`).
        var rt: Range<Int>?, rt50: Range<Int>?, rt90: Range<Int>?, model: Range<Int>?
        var t = start
        while t < u.count {
            while t < u.count && u[t] == UInt8(ascii: " ") { t += 1 }
            let tokenStart = t
            var eq = -1
            while t < u.count && u[t] != UInt8(ascii: " ") {
                if eq < 0 && u[t] == UInt8(ascii: "=") { eq = t }
                t += 1
            }
            guard eq >= 0 else { continue }
            let value = (eq + 1) ..< t
            switch eq - tokenStart {
            case 2 where u[tokenStart] == UInt8(ascii: "r") && u[tokenStart + 1] == UInt8(ascii: "t"):
                rt = value
            case 4 where u[tokenStart] == UInt8(ascii: "r") && u[tokenStart + 1] == UInt8(ascii: "t")
                && u[tokenStart + 2] == UInt8(ascii: "5") && u[tokenStart + 3] == UInt8(ascii: "0"):
                rt50 = value
            case 4 where u[tokenStart] == UInt8(ascii: "r") && u[tokenStart + 1] == UInt8(ascii: "t")
                && u[tokenStart + 2] == UInt8(ascii: "9") && u[tokenStart + 3] == UInt8(ascii: "0"):
                rt90 = value
            case 5 where u[tokenStart] == UInt8(ascii: "m") && u[tokenStart + 1] == UInt8(ascii: "o")
                && u[tokenStart + 2] == UInt8(ascii: "d") && u[tokenStart + 3] == UInt8(ascii: "e")
                && u[tokenStart + 4] == UInt8(ascii: "l"):
                model = value
            default: break
            }
        }
        /// `Int64(_:)` of the bytes: an optional sign, then at least one digit, nothing else; nil on overflow.
        func integer(_ r: Range<Int>?) -> Int64? {
            guard var p = r?.lowerBound, let end = r?.upperBound, p < end else { return nil }
            var negative = false
            if u[p] == UInt8(ascii: "-") || u[p] == UInt8(ascii: "+") {
                negative = u[p] == UInt8(ascii: "-")
                p += 1
            }
            guard p < end else { return nil }
            var v: Int64 = 0
            while p < end {
                let d = u[p] &- UInt8(ascii: "0")
                guard d < 10 else { return nil }
                let (m, o1) = v.multipliedReportingOverflow(by: 10)
                let (a, o2) = negative ? m.subtractingReportingOverflow(Int64(d)) : m.addingReportingOverflow(Int64(d))
                guard !o1 && !o2 else { return nil }
                v = a
                p += 1
            }
            return v
        }
        guard let r = integer(rt), let r50 = integer(rt50), let r90 = integer(rt90), let mr = model, r > 0, r90 > 0
        else { return .read(nil) }
        return .read((r, r50, r90, String(decoding: UnsafeBufferPointer(rebasing: u[mr]), as: UTF8.self)))
    }

    /// ``parse(_:)`` on any text.
    static func parseText(_ field: String) -> Prediction? {
        guard let start = markerStart(in: field) else { return nil }
        var values: [Substring: Substring] = [:]
        for token in field[start...].split(separator: " ") {
            guard let eq = token.firstIndex(of: "=") else { continue }
            values[token[..<eq]] = token[token.index(after: eq)...]
        }
        guard let rt = values["rt"].flatMap({ Int64($0) }), let rt50 = values["rt50"].flatMap({ Int64($0) }),
            let rt90 = values["rt90"].flatMap({ Int64($0) }), let model = values["model"], rt > 0, rt90 > 0
        else { return nil }
        return (rt, rt50, rt90, String(model))
    }

    /// The annotation of a job the profiler could not handle, with a short reason.
    public static func unprofiled(_ reason: String) -> String { "\(marker) unprofiled=\(token(reason))" }

    /// Puts `annotation` into an existing field value: text before an earlier Prewarm annotation is kept, whole.
    /// - Returns: nil when the kept text and the annotation together would be longer than ``maxAnnotationBytes``: the
    ///   field is then left as it is (the kept text is somebody's, and is never cut).
    public static func merge(existing: String?, annotation: String) -> String? {
        let existing = existing ?? ""
        var keep = Substring(existing)
        if let start = markerStart(in: existing) { keep = existing[..<start] }
        while keep.last == " " { keep = keep.dropLast() }
        let merged = keep.isEmpty ? annotation : keep + " " + annotation
        return merged.utf8.count <= maxAnnotationBytes ? merged : nil
    }

    /// Where ``marker`` starts in `text`, if it occurs (a plain scan: no Foundation).
    static func markerStart(in text: String) -> String.Index? {
        let m = Array(marker.utf8)
        let u = text.utf8
        var i = u.startIndex
        while i != u.endIndex {
            if u[i...].starts(with: m) { return i }
            i = u.index(after: i)
        }
        return nil
    }

    /// The datagram sent to the daemon for each profiled submission: one line of `key=value` tokens.
    public static func notification(request r: SubmitRequest, prediction: RuntimePrediction?) -> String {
        SubmitNotice(request: r, prediction: prediction).message
    }

    /// `s` reduced to characters safe in a space-separated `key=value` field, at most 48 bytes; `-` if empty.
    public static func token(_ s: String) -> String {
        var w = AnnotationWriter()
        w.appendToken(s.utf8)
        return w.string
    }

    private static func bounded<S: StringProtocol>(_ s: S) -> String {
        let u = s.utf8
        guard u.count > maxAnnotationBytes else { return String(s) }
        // Cut on a character boundary at or before the byte limit.
        var end = s.startIndex
        var bytes = 0
        for i in s.indices {
            let n = s[i].utf8.count
            if bytes + n > maxAnnotationBytes { break }
            bytes += n
            end = s.index(after: i)
        }
        return String(s[..<end])
    }
}

/// The bytes of an annotation under construction, in one buffer it owns (grown when full, which an annotation of
/// bounded fields never needs): each piece is one copy, without the bounds and capacity checks of an array append
/// per piece.
struct AnnotationWriter: ~Copyable {
    private var base: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private(set) var count = 0

    init(capacity: Int = 512) {
        self.capacity = Swift.max(capacity, 16)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    /// The bytes written, as a string (invalid UTF-8 repaired; the writer only ever writes valid UTF-8).
    var string: String { String(decoding: UnsafeBufferPointer(start: base, count: count), as: UTF8.self) }

    /// The bytes written.
    var bytes: [UInt8] { Array(UnsafeBufferPointer(start: base, count: count)) }

    /// Calls `body` with the bytes written.
    func withBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        body(UnsafeBufferPointer(start: base, count: count))
    }

    /// Forgets the bytes written after the first `n`.
    mutating func truncate(to n: Int) {
        count = Swift.max(0, Swift.min(n, count))
    }

    /// Room for `n` more bytes.
    @inline(__always)
    private mutating func reserve(_ n: Int) {
        guard n > capacity &- count else { return }
        let grown = Swift.max(capacity &* 2, count &+ n)
        let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: grown)
        bigger.update(from: base, count: count)
        base.deallocate()
        base = bigger
        capacity = grown
    }

    @inline(__always)
    mutating func append(byte: UInt8) {
        reserve(1)
        base[count] = byte
        count &+= 1
    }

    mutating func append(bytes: UnsafeBufferPointer<UInt8>) {
        guard let from = bytes.baseAddress, bytes.count > 0 else { return }
        let n = bytes.count
        reserve(n)
        let to = UnsafeMutableRawPointer(base + count)
        let src = UnsafeRawPointer(from)
        // Most pieces are a few bytes: two overlapping word copies instead of a call to memmove per piece.
        if n >= 8 && n <= 16 {
            to.storeBytes(of: src.loadUnaligned(as: UInt64.self), as: UInt64.self)
            (to + (n &- 8)).storeBytes(of: (src + (n &- 8)).loadUnaligned(as: UInt64.self), as: UInt64.self)
        } else if n >= 4 && n < 8 {
            to.storeBytes(of: src.loadUnaligned(as: UInt32.self), as: UInt32.self)
            (to + (n &- 4)).storeBytes(of: (src + (n &- 4)).loadUnaligned(as: UInt32.self), as: UInt32.self)
        } else if n < 4 {
            to.storeBytes(of: from[0], as: UInt8.self)
            if n > 1 { (to + 1).storeBytes(of: from[1], as: UInt8.self) }
            if n > 2 { (to + 2).storeBytes(of: from[2], as: UInt8.self) }
        } else {
            (base + count).update(from: from, count: n)
        }
        count &+= n
    }

    /// A literal's bytes (no string machinery: about 10 instructions instead of 67 per piece).
    @inline(__always)
    mutating func appendLiteral(_ s: StaticString) {
        s.withUTF8Buffer { append(bytes: $0) }
    }

    mutating func append(_ s: String) {
        // One copy of the string's bytes (small and literal strings too).
        if s.utf8.withContiguousStorageIfAvailable({ append(bytes: $0) }) == nil {
            for b in s.utf8 { append(byte: b) }
        }
    }

    /// A decimal integer.
    mutating func append(_ v: Int64) {
        if v < 0 { append(byte: UInt8(ascii: "-")) }
        var m = v.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // room for 20 digits, written back to front
        var n = 0
        withUnsafeMutableBytes(of: &digits) { raw in
            let d = raw.bindMemory(to: UInt8.self)
            repeat {
                d[23 &- n] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: m % 10)
                m /= 10
                n &+= 1
            } while m != 0
            append(bytes: UnsafeBufferPointer(rebasing: d[(24 &- n)...]))
        }
    }

    /// `v` with two decimals (`-1` when not finite).
    mutating func appendHundredths(_ v: Double) {
        guard v.isFinite else {
            append("-1")
            return
        }
        let hundredths = Int64((Swift.min(v, 1e12) * 100).rounded())
        let frac = hundredths % 100
        append(hundredths / 100)
        append(byte: UInt8(ascii: "."))
        if frac < 10 { append(byte: UInt8(ascii: "0")) }
        append(frac)
    }

    /// `s` reduced to characters safe in a space-separated `key=value` field, at most 48 bytes; `-` if empty.
    mutating func appendToken<S: Sequence>(_ s: S) where S.Element == UInt8 {
        var written = 0
        for b in s {
            if written >= 48 { break }
            switch b {
            case UInt8(ascii: "a") ... UInt8(ascii: "z"), UInt8(ascii: "A") ... UInt8(ascii: "Z"),
                UInt8(ascii: "0") ... UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"),
                UInt8(ascii: "+"), UInt8(ascii: "/"), UInt8(ascii: ":"):
                append(byte: b)
            default:
                append(byte: UInt8(ascii: "_"))
            }
            written += 1
        }
        if written == 0 { append(byte: UInt8(ascii: "-")) }
    }
}
