// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import CZlib

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A streaming reader for Standard Workload Format (SWF) workload logs, plain or gzip-compressed.
///
/// The header (the `;` comment lines before the first job) is read by `init`; jobs are then read one at a time
/// with ``next()``, in chunks, so memory stays bounded (a few hundred KB) whatever the size of the log.
/// Comment lines after the first job and blank lines are skipped, but counted in line numbers. A line longer
/// than ``maxLineLength`` bytes (comment or not) is malformed; only its first bytes are ever buffered.
///
/// In strict mode (the default) ``next()`` throws on the first malformed line; the line is consumed, so a caller
/// may choose to keep going. In lenient mode malformed lines are skipped and counted in ``skippedLines``, and the
/// first ``maxSkippedExamples`` errors are kept in ``skippedExamples``. I/O errors (unreadable file, corrupt or
/// truncated gzip stream) are thrown in both modes, and once thrown are thrown again by every later call.
///
/// ```swift
/// let reader = try SWFReader(path: "KTH-SP2-1996-2.1-cln.swf.gz")
/// while let record = try reader.next() { … }
/// ```
///
/// Not thread-safe: use one reader from one thread at a time.
public final class SWFReader {
    /// The path given to `init`.
    public let path: String
    /// Whether malformed lines are skipped (`true`) or thrown (`false`).
    public let lenient: Bool
    /// The header lines that precede the first job.
    public private(set) var header = SWFHeader()
    /// Number of lines skipped as malformed (lenient mode only).
    public private(set) var skippedLines = 0
    /// The first ``maxSkippedExamples`` errors for skipped lines (lenient mode only).
    public private(set) var skippedExamples: [SWFError] = []
    /// Number of lines read so far, including comment and blank lines (the line number of the last line read).
    public private(set) var linesRead = 0

    /// Lines longer than this many bytes are malformed.
    public static let maxLineLength = 64 * 1024
    /// How many skipped-line errors lenient mode keeps.
    public static let maxSkippedExamples = 10
    /// Bytes decompressed per `gzread` call.
    static let chunkSize = 256 * 1024

    private let gz: gzFile
    private let buffer: UnsafeMutablePointer<UInt8>
    private let capacity: Int
    /// Unconsumed bytes are `buffer[start..<end]`.
    private var start = 0
    private var end = 0
    private var atEOF = false
    /// Dropping the rest of an overlong line until its newline.
    private var discarding = false
    /// The first job, parsed while reading the header.
    private var pending: Result<SWFRecord, SWFError>?
    /// A terminal I/O error, thrown by every call once it happened.
    private var ioError: SWFError?

    /// Opens `path` (plain or gzip-compressed SWF) and reads its header.
    ///
    /// - Throws: ``SWFError`` if the file cannot be opened or decompressed, or (strict mode) if a typed header value
    ///   such as `MaxProcs` is malformed. A malformed first job is reported by the first ``next()`` call instead.
    public init(path: String, lenient: Bool = false) throws(SWFError) {
        guard let handle = gzopen(path, "rb") else {
            let code = errno
            let reason = code != 0 ? String(cString: strerror(code)) : "out of memory"
            throw SWFError(kind: .io, file: path, line: nil, reason: "cannot open: \(reason)")
        }
        _ = gzbuffer(handle, 128 * 1024)
        self.gz = handle
        self.path = path
        self.lenient = lenient
        self.capacity = SWFReader.chunkSize + SWFReader.maxLineLength
        self.buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        try readHeader()
    }

    deinit {
        gzclose_r(gz)
        buffer.deallocate()
    }

    /// Returns the next job, or `nil` at the end of the log.
    ///
    /// - Throws: ``SWFError`` for a malformed line (strict mode only) or an I/O error (both modes).
    public func next() throws(SWFError) -> SWFRecord? {
        if let ioError { throw ioError }
        if let first = pending {
            pending = nil
            return try first.get()
        }
        while true {
            guard let (p, n) = try nextLine() else { return nil }
            switch n > SWFReader.maxLineLength ? .data : classify(p, n) {
            case .blank, .comment:
                continue
            case .data:
                switch parse(p, n) {
                case .success(let record):
                    return record
                case .failure(let error):
                    if !lenient { throw error }
                    skip(error)
                }
            }
        }
    }

    /// The remaining jobs as a sequence of results; iteration stops after the first failure.
    ///
    /// ```swift
    /// for result in reader.results { let record = try result.get() … }
    /// ```
    public var results: Results { Results(reader: self) }

    /// A sequence view over a reader's remaining jobs; see ``SWFReader/results``.
    public struct Results: Sequence, IteratorProtocol {
        let reader: SWFReader
        var failed = false

        /// The next job or error; `nil` at the end or after an error.
        public mutating func next() -> Result<SWFRecord, SWFError>? {
            if failed { return nil }
            do throws(SWFError) {
                guard let record = try reader.next() else { return nil }
                return .success(record)
            } catch {
                failed = true
                return .failure(error)
            }
        }
    }

    // MARK: - Header

    private func readHeader() throws(SWFError) {
        while true {
            guard let (p, n) = try nextLine() else { return }
            switch n > SWFReader.maxLineLength ? .data : classify(p, n) {
            case .blank:
                continue
            case .comment(let bodyStart):
                let body = String(decoding: UnsafeBufferPointer(start: p + bodyStart, count: n - bodyStart),
                                  as: UTF8.self)
                guard let (key, value) = SWFHeader.splitEntry(body) else { continue }
                if let reason = header.apply(key: key, value: value) {
                    let error = SWFError(kind: .header, file: path, line: linesRead, key: key, text: value,
                                         reason: reason)
                    if !lenient { throw error }
                    skip(error)
                }
            case .data:
                switch parse(p, n) {
                case .success(let record):
                    pending = .success(record)
                case .failure(let error):
                    if lenient { skip(error) } else { pending = .failure(error) }
                }
                return
            }
        }
    }

    // MARK: - Lines

    private enum LineKind {
        case blank
        /// A `;` line; the body starts at the given offset (after the `;`).
        case comment(Int)
        case data
    }

    @inline(__always)
    private func classify(_ p: UnsafePointer<UInt8>, _ n: Int) -> LineKind {
        var i = 0
        while i < n, SWFParse.isSpace(p[i]) { i += 1 }
        if i == n { return .blank }
        if p[i] == 0x3B { return .comment(i + 1) }  // ';'
        return .data
    }

    /// Parses a data line, turning failures (including overlong lines) into located errors.
    private func parse(_ p: UnsafePointer<UInt8>, _ n: Int) -> Result<SWFRecord, SWFError> {
        if n > SWFReader.maxLineLength { return .failure(overlongError(p)) }
        switch SWFParse.record(p, n) {
        case .success(let record):
            return .success(record)
        case .failure(let box):
            let f = box.failure
            let length = min(f.textEnd - f.textStart, 4 * SWFError.maxTextLength)
            let text = String(decoding: UnsafeBufferPointer(start: p + f.textStart, count: length), as: UTF8.self)
            return .failure(SWFError(kind: .record, file: path, line: linesRead, field: f.field.map { $0 + 1 },
                                     text: text, reason: f.reason))
        }
    }

    private func overlongError(_ p: UnsafePointer<UInt8>) -> SWFError {
        let prefix = UnsafeBufferPointer(start: p, count: SWFError.maxTextLength + 1)
        let text = String(decoding: prefix, as: UTF8.self)
        return SWFError(kind: .record, file: path, line: linesRead, text: text,
                        reason: "line is longer than \(SWFReader.maxLineLength) bytes")
    }

    private func skip(_ error: SWFError) {
        skippedLines += 1
        if skippedExamples.count < SWFReader.maxSkippedExamples { skippedExamples.append(error) }
    }

    /// The next line without its newline, valid until the next call; `nil` at the end of the file.
    /// An overlong line is returned truncated to more than ``maxLineLength`` bytes (its tail is dropped).
    private func nextLine() throws(SWFError) -> (UnsafePointer<UInt8>, Int)? {
        while true {
            if start < end, let nl = memchr(buffer + start, 0x0A, end - start) {
                let index = nl.assumingMemoryBound(to: UInt8.self) - buffer
                if discarding {  // the tail of an overlong line, already reported
                    discarding = false
                    start = index + 1
                    continue
                }
                let line = (UnsafePointer(buffer + start), index - start)
                start = index + 1
                linesRead += 1
                return line
            }
            // No newline in the buffered bytes.
            if discarding {
                start = end
            } else if end - start > SWFReader.maxLineLength {
                let line = (UnsafePointer(buffer + start), end - start)
                start = end
                discarding = true
                linesRead += 1
                return line
            }
            if atEOF {
                discarding = false
                guard start < end else { return nil }
                let line = (UnsafePointer(buffer + start), end - start)
                start = end
                linesRead += 1
                return line
            }
            try fill()
        }
    }

    /// Moves the unconsumed bytes to the front of the buffer and decompresses more after them.
    private func fill() throws(SWFError) {
        if start > 0 {
            if end > start { memmove(buffer, buffer + start, end - start) }
            end -= start
            start = 0
        }
        let room = capacity - end
        let got = gzread(gz, buffer + end, UInt32(room))
        if got > 0 {
            end += Int(got)
            return
        }
        var code: Int32 = 0
        let message = gzerror(gz, &code)
        if got < 0 || code != Z_OK {
            var reason = message.map { String(cString: $0) } ?? "read error"
            // zlib prefixes its messages with the path.
            if reason.hasPrefix(path + ": ") { reason.removeFirst(path.utf8.count + 2) }
            if code == Z_BUF_ERROR { reason = "gzip stream truncated: \(reason)" }
            else if code == Z_DATA_ERROR { reason = "gzip stream corrupt: \(reason)" }
            else { reason = "read error: \(reason)" }
            let error = SWFError(kind: .io, file: path, line: linesRead + 1, reason: reason)
            ioError = error
            throw error
        }
        atEOF = true
    }
}
