// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed file operation: which path, which operation, and the C library's reason.
public struct FileError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The path the operation was applied to.
    public let path: String
    /// The operation that failed, e.g. `open`, `write`, `fsync`, `rename`, `read`.
    public let operation: String
    /// The `errno` value.
    public let code: Int32
    /// `strerror(code)`, or a more specific message.
    public let reason: String

    /// Creates an error from an `errno` value; `reason` defaults to `strerror(code)`.
    public init(path: String, operation: String, code: Int32, reason: String? = nil) {
        self.path = path
        self.operation = operation
        self.code = code
        self.reason = reason ?? String(cString: strerror(code))
    }

    /// `path: operation failed: reason`.
    public var description: String { "\(path): \(operation) failed: \(reason)" }
}

/// Whole-file reads and crash-safe whole-file writes.
public enum AtomicFile {
    /// Replaces the file at `path` with `bytes` atomically: readers (and a crash) see either the old content or
    /// the new, never a mix or a truncated file.
    ///
    /// Writes `path.tmp.<pid>.<random>` in the same directory (created exclusively, mode 0644), `fsync`s it,
    /// `rename`s it over `path` and `fsync`s the directory. On failure the temporary file is removed.
    /// A symbolic link at `path` is replaced by a regular file.
    ///
    /// - Throws: ``FileError`` naming the failed operation.
    public static func write(_ bytes: [UInt8], to path: String) throws(FileError) {
        let temp = "\(path).tmp.\(getpid()).\(String(UInt64.random(in: 0...UInt64.max), radix: 36))"
        let fd = retryOnEINTR { open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644) }
        guard fd >= 0 else { throw FileError(path: temp, operation: "create", code: errno) }
        var closed = false
        var renamed = false
        defer {
            if !closed { close(fd) }
            if !renamed { unlink(temp) }
        }
        // The mode passed to open() is subject to the umask; make it exactly 0644.
        if fchmod(fd, 0o644) != 0 { throw FileError(path: temp, operation: "fchmod", code: errno) }
        let writeError: Int32 = bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = systemWrite(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                offset += n
            }
            return 0
        }
        if writeError != 0 { throw FileError(path: temp, operation: "write", code: writeError) }
        if retryOnEINTR({ fsync(fd) }) != 0 { throw FileError(path: temp, operation: "fsync", code: errno) }
        closed = true
        if close(fd) != 0 { throw FileError(path: temp, operation: "close", code: errno) }
        if rename(temp, path) != 0 { throw FileError(path: path, operation: "rename", code: errno) }
        renamed = true
        try syncDirectory(of: path)
    }

    /// Reads the whole file at `path`.
    ///
    /// - Throws: ``FileError`` if it cannot be opened or read, or is larger than `maxBytes` (`EFBIG`).
    public static func read(_ path: String, maxBytes: Int = 1 << 30) throws(FileError) -> [UInt8] {
        let fd = retryOnEINTR { open(path, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else { throw FileError(path: path, operation: "open", code: errno) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw FileError(path: path, operation: "stat", code: errno) }
        if (st.st_mode & S_IFMT) == S_IFDIR { throw FileError(path: path, operation: "read", code: EISDIR) }
        let tooLarge = FileError(path: path, operation: "read", code: EFBIG,
                                 reason: "file is larger than \(maxBytes) bytes")
        if Int(st.st_size) > maxBytes { throw tooLarge }
        // Regular files report their size; others (pipes, /proc) are read until EOF.
        var bytes = [UInt8]()
        bytes.reserveCapacity(max(Int(st.st_size), 0) + 1)
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw FileError(path: path, operation: "read", code: errno)
            }
            if n == 0 { break }
            if bytes.count + n > maxBytes { throw tooLarge }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return bytes
    }

    /// `fsync`s the directory containing `path`, so the rename is durable. Filesystems that cannot sync a
    /// directory (`EINVAL`) are accepted.
    private static func syncDirectory(of path: String) throws(FileError) {
        let directory: String
        if let slash = path.utf8.lastIndex(of: 0x2F) {
            directory = slash == path.utf8.startIndex ? "/" : String(path[..<slash])
        } else {
            directory = "."
        }
        let fd = retryOnEINTR { open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        guard fd >= 0 else { throw FileError(path: directory, operation: "open directory", code: errno) }
        defer { close(fd) }
        if retryOnEINTR({ fsync(fd) }) != 0, errno != EINVAL {
            throw FileError(path: directory, operation: "fsync directory", code: errno)
        }
    }

    private static func retryOnEINTR(_ call: () -> Int32) -> Int32 {
        while true {
            let r = call()
            if r < 0, errno == EINTR { continue }
            return r
        }
    }
}

// The C calls under names that `AtomicFile.write` / `AtomicFile.read` do not shadow.
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int { write(fd, buffer, count) }
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(fd, buffer, count)
}
