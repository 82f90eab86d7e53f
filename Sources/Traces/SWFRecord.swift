// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

/// One job line of a Standard Workload Format log: the 18 fields, in order. `-1` means unknown.
public struct SWFRecord: Sendable, Equatable {
    /// Field 1: job number.
    public var jobNumber: Int64
    /// Field 2: submit time, seconds after the header's `UnixStartTime`.
    public var submitTime: Int64
    /// Field 3: seconds from submission to start.
    public var waitTime: Int64
    /// Field 4: seconds from start to end (`-1`: cancelled before it started).
    public var runTime: Int64
    /// Field 5: number of allocated processors.
    public var allocatedProcessors: Int32
    /// Field 6: average CPU time used per processor, seconds (may be fractional).
    public var averageCPUTime: Double
    /// Field 7: used memory per processor, KB (may be fractional).
    public var usedMemoryKB: Double
    /// Field 8: requested number of processors.
    public var requestedProcessors: Int32
    /// Field 9: requested time (wall-clock limit), seconds.
    public var requestedTime: Int64
    /// Field 10: requested memory per processor, KB.
    public var requestedMemoryKB: Int64
    /// Field 11: status (1 completed, 0 failed, 5 cancelled, …).
    public var status: Int32
    /// Field 12: user id.
    public var userID: Int32
    /// Field 13: group id.
    public var groupID: Int32
    /// Field 14: executable (application) number.
    public var executableNumber: Int32
    /// Field 15: queue number.
    public var queueNumber: Int32
    /// Field 16: partition number.
    public var partitionNumber: Int32
    /// Field 17: number of the job this one depends on.
    public var precedingJobNumber: Int64
    /// Field 18: seconds between the end of the preceding job and this submission.
    public var thinkTime: Int64

    /// Creates a record; every field defaults to `-1` (unknown) except the job number and submit time.
    public init(
        jobNumber: Int64, submitTime: Int64, waitTime: Int64 = -1, runTime: Int64 = -1,
        allocatedProcessors: Int32 = -1, averageCPUTime: Double = -1, usedMemoryKB: Double = -1,
        requestedProcessors: Int32 = -1, requestedTime: Int64 = -1, requestedMemoryKB: Int64 = -1,
        status: Int32 = -1, userID: Int32 = -1, groupID: Int32 = -1, executableNumber: Int32 = -1,
        queueNumber: Int32 = -1, partitionNumber: Int32 = -1, precedingJobNumber: Int64 = -1, thinkTime: Int64 = -1
    ) {
        self.jobNumber = jobNumber
        self.submitTime = submitTime
        self.waitTime = waitTime
        self.runTime = runTime
        self.allocatedProcessors = allocatedProcessors
        self.averageCPUTime = averageCPUTime
        self.usedMemoryKB = usedMemoryKB
        self.requestedProcessors = requestedProcessors
        self.requestedTime = requestedTime
        self.requestedMemoryKB = requestedMemoryKB
        self.status = status
        self.userID = userID
        self.groupID = groupID
        self.executableNumber = executableNumber
        self.queueNumber = queueNumber
        self.partitionNumber = partitionNumber
        self.precedingJobNumber = precedingJobNumber
        self.thinkTime = thinkTime
    }
}

/// Byte-level parsing of SWF lines: no String work on the hot path.
enum SWFParse {
    /// Why a line is not a valid record: `field` is 0-based, `nil` for a line-level problem.
    struct Failure {
        var field: Int?
        var textStart: Int
        var textEnd: Int
        var reason: String
    }

    static let fieldCount = 18

    @inline(__always)
    static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (b >= 0x09 && b <= 0x0D) }

    @inline(__always)
    static func isDigit(_ b: UInt8) -> Bool { b &- 0x30 < 10 }

    /// Parses `p[start..<end]` as an integer, accepting a sign and an all-zero fraction (`3600.0`, `5.`).
    /// Returns `nil` if the token is not such an integer or does not fit in `Int64`.
    @inline(__always)
    static func integer(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> Int64? {
        var i = start
        var negative = false
        if i < end, p[i] == 0x2D {  // '-'
            negative = true
            i += 1
        } else if i < end, p[i] == 0x2B {  // '+'
            i += 1
        }
        var magnitude: UInt64 = 0
        var digits = 0
        while i < end {
            let d = p[i] &- 0x30
            guard d < 10 else { break }
            let (m, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(d))
            if o1 || o2 { return nil }
            magnitude = a
            digits += 1
            i += 1
        }
        if i < end, p[i] == 0x2E {  // '.'
            i += 1
            while i < end, p[i] == 0x30 {
                i += 1
                digits += 1
            }
        }
        guard i == end, digits > 0 else { return nil }
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
            return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { return nil }
        return Int64(magnitude)
    }

    private static let powersOfTen: [Double] = (0...22).map { e in
        var v = 1.0
        for _ in 0..<e { v *= 10 }
        return v
    }

    /// Parses `p[start..<end]` as a decimal number (`12`, `-1`, `12.5`, `.5`, `1e3`); `nil` if it is not one or
    /// is not finite.
    @inline(__always)
    static func decimal(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> Double? {
        // Fast path: [sign] digits [. digits] with at most 15 significant digits is exact in one division.
        var i = start
        var negative = false
        if i < end, p[i] == 0x2D {
            negative = true
            i += 1
        } else if i < end, p[i] == 0x2B {
            i += 1
        }
        var mantissa: UInt64 = 0
        var digits = 0
        var fractionDigits = 0
        while i < end, isDigit(p[i]) {
            mantissa = mantissa &* 10 &+ UInt64(p[i] &- 0x30)
            digits += 1
            i += 1
        }
        if i < end, p[i] == 0x2E {
            i += 1
            while i < end, isDigit(p[i]) {
                mantissa = mantissa &* 10 &+ UInt64(p[i] &- 0x30)
                digits += 1
                fractionDigits += 1
                i += 1
            }
        }
        if i == end, digits > 0, digits <= 15 {
            let v = Double(mantissa) / powersOfTen[fractionDigits]
            return negative ? -v : v
        }
        return slowDecimal(p, start, end)
    }

    /// Validates the full decimal grammar, then converts with the standard library (correctly rounded).
    private static func slowDecimal(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> Double? {
        guard isDecimalSyntax(p, start, end) else { return nil }
        let text = String(decoding: UnsafeBufferPointer(start: p + start, count: end - start), as: UTF8.self)
        guard let v = Double(text), v.isFinite else { return nil }
        return v
    }

    /// `[+-]? (digits [. digits*] | . digits) ([eE] [+-]? digits)?`
    static func isDecimalSyntax(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> Bool {
        var i = start
        if i < end, p[i] == 0x2D || p[i] == 0x2B { i += 1 }
        var digits = 0
        while i < end, isDigit(p[i]) {
            digits += 1
            i += 1
        }
        if i < end, p[i] == 0x2E {
            i += 1
            while i < end, isDigit(p[i]) {
                digits += 1
                i += 1
            }
        }
        guard digits > 0 else { return false }
        if i < end, p[i] == 0x65 || p[i] == 0x45 {  // 'e', 'E'
            i += 1
            if i < end, p[i] == 0x2D || p[i] == 0x2B { i += 1 }
            var exponentDigits = 0
            while i < end, isDigit(p[i]) {
                exponentDigits += 1
                i += 1
            }
            guard exponentDigits > 0 else { return false }
        }
        return i == end
    }

    /// Why an integer field's token was rejected.
    static func integerFailureReason(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> String {
        guard isDecimalSyntax(p, start, end) else { return "is not a number" }
        if let v = decimal(p, start, end), v == v.rounded() { return "is out of range" }
        return "is not an integer"
    }

    /// Parses one job line of `count` bytes (no newline). Returns the record or why it is malformed.
    static func record(_ p: UnsafePointer<UInt8>, _ count: Int) -> Result<SWFRecord, FailureBox> {
        var r = SWFRecord(jobNumber: -1, submitTime: -1)
        var i = 0
        var field = 0
        while field < fieldCount {
            while i < count, isSpace(p[i]) { i += 1 }
            if i == count { return .failure(fieldCountFailure(p, count)) }
            let start = i
            while i < count, !isSpace(p[i]) { i += 1 }
            if field == 5 || field == 6 {
                guard let v = decimal(p, start, i) else {
                    return .failure(fieldFailure(p, count, field, start, i, "is not a number"))
                }
                if field == 5 { r.averageCPUTime = v } else { r.usedMemoryKB = v }
            } else {
                guard let v = integer(p, start, i) else {
                    return .failure(fieldFailure(p, count, field, start, i, integerFailureReason(p, start, i)))
                }
                switch field {
                case 0: r.jobNumber = v
                case 1: r.submitTime = v
                case 2: r.waitTime = v
                case 3: r.runTime = v
                case 8: r.requestedTime = v
                case 9: r.requestedMemoryKB = v
                case 16: r.precedingJobNumber = v
                case 17: r.thinkTime = v
                default:
                    guard let v32 = Int32(exactly: v) else {
                        return .failure(fieldFailure(p, count, field, start, i, "is out of range"))
                    }
                    switch field {
                    case 4: r.allocatedProcessors = v32
                    case 7: r.requestedProcessors = v32
                    case 10: r.status = v32
                    case 11: r.userID = v32
                    case 12: r.groupID = v32
                    case 13: r.executableNumber = v32
                    case 14: r.queueNumber = v32
                    default: r.partitionNumber = v32
                    }
                }
            }
            field += 1
        }
        while i < count, isSpace(p[i]) { i += 1 }
        if i < count { return .failure(fieldCountFailure(p, count)) }
        return .success(r)
    }

    /// A field-level failure, unless the line also has the wrong number of fields: that is reported instead,
    /// as it usually explains the bad field (a shifted or truncated line).
    private static func fieldFailure(
        _ p: UnsafePointer<UInt8>, _ count: Int, _ field: Int, _ start: Int, _ end: Int, _ reason: String
    ) -> FailureBox {
        let counted = fieldCountFailure(p, count)
        guard counted.tokens == fieldCount else { return counted }
        return FailureBox(Failure(field: field, textStart: start, textEnd: end, reason: reason))
    }

    /// Counts the whitespace-separated tokens of the line for a "wrong field count" failure.
    private static func fieldCountFailure(_ p: UnsafePointer<UInt8>, _ count: Int) -> FailureBox {
        var tokens = 0
        var i = 0
        var first = -1
        while i < count {
            while i < count, isSpace(p[i]) { i += 1 }
            if i == count { break }
            if first < 0 { first = i }
            tokens += 1
            while i < count, !isSpace(p[i]) { i += 1 }
        }
        var box = FailureBox(Failure(field: nil, textStart: max(first, 0), textEnd: count,
                                     reason: "expected \(fieldCount) fields, found \(tokens)"))
        box.tokens = tokens
        return box
    }

    /// `Failure` as an `Error`, so it can travel in a `Result`.
    struct FailureBox: Error {
        var failure: Failure
        /// The line's token count, when it was counted.
        var tokens = -1
        init(_ failure: Failure) { self.failure = failure }
    }
}
