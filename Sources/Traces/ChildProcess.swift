// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
//
// Starting a program from an argv, never through a shell: `prewarm history import --sacct` (sacct) and Slurm's power
// programs (`prewarm resume|suspend|resume-fail`: the site's ResumeCommand for each node) both do it this way.

#if canImport(Glibc)
import Glibc
#endif

/// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34 and later), which Swift's Glibc module does not declare
/// (it is a GNU extension); nil on an older C library, where only close-on-exec descriptors are closed.
private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32
private let addCloseFrom: AddCloseFrom? = {
    guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else { return nil }
    return unsafeBitCast(symbol, to: AddCloseFrom.self)
}()

/// A child process started with `posix_spawn`: stdin on /dev/null, stdout on /dev/null or a pipe, stderr in an
/// unlinked temporary file (read it after the child ends for its last line), no other descriptor, an empty signal
/// mask and every signal at its default disposition (whatever the parent blocks or ignores: slurmctld runs the power
/// programs with signals blocked, and an ignored SIGPIPE or SIGCHLD would change how the child behaves).
public struct ChildProcess {
    public struct SpawnError: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    public enum Output: Sendable {
        case null
        /// A pipe; its read end is ``stdout``.
        case pipe
    }

    public let pid: pid_t
    /// The pipe's read end with `.pipe`, else -1. The caller closes it.
    public let stdout: Int32
    /// The unlinked temporary file the child's stderr goes to (close-on-exec here), or -1 when none could be made
    /// (stderr is then /dev/null). The caller closes it.
    public let stderr: Int32

    /// Starts `argv`. `argv[0]` is looked up on `PATH` when `searchPath`, else it is the program's path.
    /// `environment` (`KEY=value` entries) replaces the inherited one when given. With `newProcessGroup` the child
    /// leads a process group of its own, so that a timeout can signal it and whatever it started.
    public static func start(
        _ argv: [String], searchPath: Bool = false, stdout output: Output = .null, environment: [String]? = nil,
        newProcessGroup: Bool = false
    ) -> Result<ChildProcess, SpawnError> {
        guard let program = argv.first else { return .failure(SpawnError(description: "empty command")) }
        func failure(_ what: String, _ code: Int32) -> Result<ChildProcess, SpawnError> {
            .failure(SpawnError(description: "\(what): \(String(cString: strerror(code)))"))
        }
        var out: [Int32] = [-1, -1]
        if case .pipe = output {
            guard pipe(&out) == 0 else { return failure("pipe", errno) }
            _ = fcntl(out[0], F_SETFD, FD_CLOEXEC)
            _ = fcntl(out[1], F_SETFD, FD_CLOEXEC)
        }
        var template = Array("/tmp/prewarm-stderr.XXXXXX".utf8CString)
        let errFD = template.withUnsafeMutableBufferPointer { buffer -> Int32 in
            guard let base = buffer.baseAddress else { return -1 }
            // mkostemp needs _GNU_SOURCE, which Swift's Glibc module lacks: close-on-exec set just after.
            let fd = mkstemp(base)
            if fd >= 0 {
                unlink(base)
                _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            }
            return fd
        }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if case .pipe = output {
            posix_spawn_file_actions_adddup2(&actions, out[1], 1)  // dup2 clears close-on-exec on fd 1
        } else {
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        }
        if errFD >= 0 {
            posix_spawn_file_actions_adddup2(&actions, errFD, 2)
        } else {
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        }
        // Nothing else: every descriptor above 2 closed in the child, including any a caller (or slurmctld, whose
        // power programs we are) left open without close-on-exec.
        _ = addCloseFrom?(&actions, 3)

        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attr, &empty)
        var defaults = sigset_t()
        sigfillset(&defaults)
        sigdelset(&defaults, SIGKILL)
        sigdelset(&defaults, SIGSTOP)
        posix_spawnattr_setsigdefault(&attr, &defaults)
        var flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF
        if newProcessGroup {
            posix_spawnattr_setpgroup(&attr, 0)
            flags |= POSIX_SPAWN_SETPGROUP
        }
        posix_spawnattr_setflags(&attr, Int16(flags))

        let cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        let cEnv: [UnsafeMutablePointer<CChar>?]? = environment.map { $0.map { strdup($0) } + [nil] }
        defer {
            for p in cArgs { free(p) }
            for p in cEnv ?? [] { free(p) }
        }
        var pid: pid_t = 0
        let rc: Int32
        switch (searchPath, cEnv) {
        case (true, let env?): rc = posix_spawnp(&pid, program, &actions, &attr, cArgs, env)
        case (true, nil): rc = posix_spawnp(&pid, program, &actions, &attr, cArgs, environ)
        case (false, let env?): rc = posix_spawn(&pid, program, &actions, &attr, cArgs, env)
        case (false, nil): rc = posix_spawn(&pid, program, &actions, &attr, cArgs, environ)
        }
        if out[1] >= 0 { close(out[1]) }
        guard rc == 0 else {
            if out[0] >= 0 { close(out[0]) }
            if errFD >= 0 { close(errFD) }
            return failure("cannot run \(program)", rc)
        }
        return .success(ChildProcess(pid: pid, stdout: out[0], stderr: errFD))
    }

    /// Everything left to read from `fd` (to its end), retrying on EINTR.
    public static func readAll(_ fd: Int32) -> [UInt8] {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n > 0 {
                bytes.append(contentsOf: buffer[0..<n])
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                return bytes
            }
        }
    }
}
