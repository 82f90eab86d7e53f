// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
//
// POSIX file helpers of the in-controller library (Glibc only; never used on the submit path).

#if canImport(Glibc)
import Glibc
#endif

/// Identity of a file version: a publisher that writes a temp file and renames it changes the inode.
struct FileStamp: Equatable {
    var device: UInt64
    var inode: UInt64
    var size: Int64
    var modifiedSeconds: Int64
    var modifiedNanoseconds: Int64

    init?(path: String) {
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
        size = Int64(st.st_size)
        modifiedSeconds = Int64(st.st_mtim.tv_sec)
        modifiedNanoseconds = Int64(st.st_mtim.tv_nsec)
    }
}

enum ModelFile {
    enum ReadResult {
        case success([UInt8])
        case failure(String)
    }

    /// Reads a whole regular file of at most `limit` bytes.
    static func read(_ path: String, limit: Int) -> ReadResult {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure("cannot open: \(errnoText())") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return .failure("cannot stat: \(errnoText())") }
        guard (st.st_mode & S_IFMT) == S_IFREG else { return .failure("not a regular file") }
        let size = Int(st.st_size)
        guard size >= 0, size <= limit else { return .failure("\(size) bytes is larger than the \(limit)-byte limit") }
        var bytes = [UInt8](repeating: 0, count: size)
        var done = 0
        while done < size {
            let n = bytes.withUnsafeMutableBytes { buffer -> Int in
                guard let base = buffer.baseAddress else { return 0 }
                return Glibc.read(fd, base + done, size - done)
            }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return .failure(n == 0 ? "file shrank while being read" : "read: \(errnoText())") }
            done += n
        }
        return .success(bytes)
    }

    /// Writes `text` to `path` through a temp file in the same directory and a rename.
    /// - Returns: nil when written, else why not (the failing step and errno's text).
    static func writeAtomically(_ path: String, _ text: String) -> String? {
        let temp = path + ".tmp.\(getpid())"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return "cannot create \(temp): \(errnoText())" }
        var failure: String? = nil
        var utf8 = Array(text.utf8)
        var done = 0
        while done < utf8.count {
            let n = utf8.withUnsafeMutableBytes { b -> Int in
                guard let base = b.baseAddress else { return 0 }
                return write(fd, base + done, b.count - done)
            }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                failure = "write \(temp): \(n < 0 ? errnoText() : "nothing written")"
                break
            }
            done += n
        }
        utf8.removeAll()
        if close(fd) != 0 && failure == nil { failure = "close \(temp): \(errnoText())" }
        if failure == nil {
            if rename(temp, path) == 0 { return nil }
            failure = "rename to \(path): \(errnoText())"
        }
        unlink(temp)
        return failure
    }
}

func errnoText() -> String {
    guard let s = strerror(errno) else { return "errno \(errno)" }
    return String(cString: s)
}

/// Names the calling thread (at most 15 bytes), as `top -H`, `ps -L` and gdb show slurmctld's threads: written to
/// /proc/thread-self/comm (`pthread_setname_np` is not visible to Swift without _GNU_SOURCE). Once, at the start of
/// one of the library's own threads; a failure only leaves the thread unnamed.
func nameThisThread(_ name: String) {
    let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
    guard fd >= 0 else { return }
    let bytes = Array(name.utf8.prefix(15))
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    close(fd)
}
