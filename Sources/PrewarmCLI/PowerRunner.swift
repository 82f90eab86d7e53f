// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import Foundation
import PrewarmCore
import Traces

/// Runs a power program for Slurm: the process set-up Slurm's environment needs, then the per-node commands.
///
/// slurmctld starts ResumeProgram/SuspendProgram with fds 0–2 closed, only SLURM_CONF (and SLURM_RESUME_FILE)
/// in the environment and its own blocked signal mask (HUP INT QUIT ABRT USR1 USR2 PIPE ALRM TERM TSTP XCPU);
/// see ../shared/notes/slurm-on-this-machine.md §5. A daemon started from there with that mask ignores SIGTERM,
/// and one started with fds 0–2 closed writes its log over whatever file lands there.
enum PowerRunner {
    /// Seconds between SIGTERM and SIGKILL for a command past its timeout.
    static let killGrace = 5.0
    static let defaultPath = "/usr/sbin:/usr/bin:/sbin:/bin"

    static func run(_ program: PowerProgram, _ options: PowerOptions) throws {
        // First, before anything opens a file: a file opened onto fd 0–2 would receive our children's output.
        ProcessSetup.openDevNullOntoClosedStandardDescriptors()
        ProcessSetup.resetSignals()
        if getenv("PATH") == nil { setenv("PATH", defaultPath, 1) }

        let env = ProcessInfo.processInfo.environment
        let configPath = options.config ?? env["PREWARM_POWER_CONF"] ?? PowerConfiguration.defaultPath
        let configuration: PowerConfiguration
        do {
            let text = try String(contentsOfFile: configPath, encoding: .utf8)
            configuration = try PowerConfiguration.parse(text, file: configPath)
        } catch let error as PowerConfiguration.ParseError {
            fail(program, "configuration error: \(error)", logFile: options.dryRun ? nil : PowerConfiguration().logFile)
        } catch {
            fail(
                program, "cannot read configuration \(configPath): \(error.localizedDescription)",
                logFile: options.dryRun ? nil : PowerConfiguration().logFile)
        }
        let log = options.dryRun ? nil : PowerLog(path: configuration.logFile)

        let nodes: [String]
        do {
            nodes = try Hostlist.expand(options.hostlist)
        } catch {
            fail(program, "bad hostlist '\(String(options.hostlist.prefix(200)))': \(error)", log: log)
        }
        guard let command = configuration.command(for: program) else {
            fail(program, "no \(program.configKey) in \(configPath)", log: log)
        }

        if options.dryRun {
            for node in nodes {
                print("\(node): " + command.argv(node: node).map(PowerCommand.shellQuoted).joined(separator: " "))
            }
            return
        }
        guard let log else { throw ExitCode(1) }

        log.write(
            "\(program.rawValue) start hostlist=\(options.hostlist) nodes=\(nodes.count) "
                + "parallel=\(configuration.parallel) timeout=\(configuration.timeout)s config=\(configPath)")
        if program == .resume, let resumeFile = env["SLURM_RESUME_FILE"] {
            log.write("\(program.rawValue) SLURM_RESUME_FILE=\(resumeFile) \(readSmallFile(resumeFile))")
        }
        let started = CLISupport.now()
        let failed = runAll(program, nodes: nodes, command: command, configuration: configuration, log: log)
        log.write(
            "\(program.rawValue) done nodes=\(nodes.count) ok=\(nodes.count - failed) failed=\(failed) "
                + "duration=\(seconds(CLISupport.now() - started))")
        if failed > 0 { throw ExitCode(1) }
    }

    /// Logs `message` (and writes it to stderr) and exits 1.
    private static func fail(_ program: PowerProgram, _ message: String, logFile: String?) -> Never {
        fail(program, message, log: logFile.map { PowerLog(path: $0) })
    }

    private static func fail(_ program: PowerProgram, _ message: String, log: PowerLog?) -> Never {
        log?.write("\(program.rawValue) error: \(message)", mirror: false)
        CLISupport.note("prewarm \(program.rawValue): \(message)")
        Prewarm.exit(withError: ExitCode(1))
    }

    /// A child running one node's command.
    private struct Child {
        var pid: pid_t
        var node: String
        var start: Double
        /// Where the child's stderr goes (an unlinked temporary file: unlike a pipe it never blocks the child
        /// nor raises SIGPIPE in a daemon it leaves behind).
        var stderrFD: Int32
        var termSent: Double?
        var killSent = false
    }

    /// Runs `command` for every node, at most `configuration.parallel` at once; returns how many failed.
    private static func runAll(
        _ program: PowerProgram, nodes: [String], command: PowerCommand, configuration: PowerConfiguration,
        log: PowerLog
    ) -> Int {
        var queue = nodes[...]
        var running: [Child] = []
        var failed = 0
        let timeout = Double(configuration.timeout)
        while !queue.isEmpty || !running.isEmpty {
            while running.count < configuration.parallel, let node = queue.popFirst() {
                // Its own process group, so that a timeout signals whatever the command started too.
                switch ChildProcess.start(command.argv(node: node), newProcessGroup: true) {
                case .success(let child):
                    running.append(Child(pid: child.pid, node: node, start: CLISupport.now(), stderrFD: child.stderr))
                case .failure(let error):
                    failed += 1
                    log.write("\(program.rawValue) node=\(node) result=failed error=\"\(error)\" duration=0.000s")
                }
            }
            var reaped = false
            var k = running.count - 1
            while k >= 0 {
                defer { k -= 1 }
                var status: Int32 = 0
                let r = waitpid(running[k].pid, &status, WNOHANG)
                let waitError = r < 0 ? errno : 0
                let now = CLISupport.now()
                if r == running[k].pid || (r < 0 && waitError != EINTR) {
                    let child = running.remove(at: k)
                    reaped = true
                    let outcome = r < 0
                        ? "result=failed error=\"waitpid: \(String(cString: strerror(waitError)))\"" : describe(status)
                    let ok = r >= 0 && status == 0
                    if !ok { failed += 1 }
                    var line = "\(program.rawValue) node=\(child.node) \(outcome)"
                    if child.termSent != nil {
                        line += " timeout=\(configuration.timeout)s" + (child.killSent ? " (SIGTERM ignored for \(Int(killGrace)) s)" : "")
                    }
                    line += " duration=\(seconds(now - child.start))"
                    if let last = lastLine(child.stderrFD) { line += " stderr=\(quoted(last))" }
                    close(child.stderrFD)
                    log.write(line)
                } else if let term = running[k].termSent {
                    if !running[k].killSent && now - term >= killGrace {
                        kill(-running[k].pid, SIGKILL)
                        kill(running[k].pid, SIGKILL)
                        running[k].killSent = true
                    }
                } else if now - running[k].start >= timeout {
                    // The child leads its own process group: this reaches what it started too.
                    kill(-running[k].pid, SIGTERM)
                    kill(running[k].pid, SIGTERM)
                    running[k].termSent = now
                }
            }
            if !reaped && !running.isEmpty { usleep(10_000) }
        }
        return failed
    }

    /// `exit=N` or `signal=NAME`, from a `waitpid` status.
    static func describe(_ status: Int32) -> String {
        let low = status & 0x7F
        if low == 0 {
            let code = (status >> 8) & 0xFF
            return code == 0 ? "result=ok exit=0" : "result=failed exit=\(code)"
        }
        return "result=failed signal=\(signalName(low))"
    }

    static func signalName(_ sig: Int32) -> String {
        let names: [Int32: String] = [
            SIGHUP: "HUP", SIGINT: "INT", SIGQUIT: "QUIT", SIGILL: "ILL", SIGABRT: "ABRT", SIGBUS: "BUS",
            SIGFPE: "FPE", SIGKILL: "KILL", SIGSEGV: "SEGV", SIGPIPE: "PIPE", SIGALRM: "ALRM", SIGTERM: "TERM",
            SIGUSR1: "USR1", SIGUSR2: "USR2", SIGXCPU: "XCPU", SIGXFSZ: "XFSZ", SIGSYS: "SYS", SIGTRAP: "TRAP",
        ]
        return names[sig] ?? "\(sig)"
    }

    /// The last non-empty line of what the child wrote to stderr (its last 4 KiB), control characters removed,
    /// at most 300 characters.
    private static func lastLine(_ fd: Int32) -> String? {
        var st = stat()
        guard fd >= 0, fstat(fd, &st) == 0, st.st_size > 0 else { return nil }
        let size = Int(st.st_size)
        let count = min(size, 4096)
        var buffer = [UInt8](repeating: 0, count: count)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, off_t(size - count)) }
        guard n > 0 else { return nil }
        let lines = buffer[..<n].split(separator: UInt8(ascii: "\n")).map { line in
            String(decoding: line.filter { $0 >= 0x20 && $0 != 0x7F || $0 == 0x09 }, as: UTF8.self)
                .trimmingCharacters(in: .whitespaces)
        }
        guard let last = lines.last(where: { !$0.isEmpty }) else { return nil }
        return last.count > 300 ? String(last.prefix(300)) + "…" : last
    }

    private static func quoted(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    private static func seconds(_ s: Double) -> String { String(format: "%.3fs", s) }

    /// SLURM_RESUME_FILE is a small JSON document (jobs and their nodes); its first 64 KiB on one line.
    private static func readSmallFile(_ path: String) -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            return "(unreadable: \(String(cString: strerror(errno))))"
        }
        defer { try? handle.close() }
        let data = (try? handle.read(upToCount: 65_536)) ?? Data()
        return String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}

/// The power log: lines appended with a timestamp and pid (`O_APPEND`, so concurrent programs interleave whole
/// lines), mirrored to stderr when that is a terminal.
final class PowerLog {
    private let fd: Int32
    private let owned: Bool

    /// Opens (creating its directory) the log at `path`. When it cannot (slurmctld runs the power programs as
    /// SlurmUser, who may not write there), every line goes to stderr and to syslog (facility daemon, `prewarm`):
    /// under slurmctld stderr is /dev/null, and a power log nobody can read would hide every failed power-up.
    init(path: String) {
        let directory = (path as NSString).deletingLastPathComponent
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        if fd >= 0 {
            self.fd = fd
            owned = true
        } else {
            let error = String(cString: strerror(errno))
            let reason = "cannot open log file \(path) as \(Self.userName()): \(error)"
            CLISupport.note("prewarm: \(reason); logging to stderr and syslog")
            self.fd = 2
            owned = false
            Self.syslog(LOG_WARNING, reason + "; logging here instead")
        }
    }

    deinit { if owned { close(fd) } }

    func write(_ message: String, mirror: Bool = true) {
        let line = "\(Self.timestamp()) prewarm[\(getpid())] \(message)\n"
        Self.writeAll(fd, Array(line.utf8))
        if mirror && owned && isatty(2) == 1 { Self.writeAll(2, Array(line.utf8)) }
        if !owned { Self.syslog(LOG_NOTICE, message) }
    }

    /// The syslog identity; openlog keeps the pointer, so it is never freed.
    nonisolated(unsafe) private static let identity: UnsafeMutablePointer<CChar>? = strdup("prewarm")

    private static func syslog(_ priority: Int32, _ message: String) {
        _ = Self.opened
        message.withCString { text in withVaList([text]) { vsyslog(priority, "%s", $0) } }
    }

    private static let opened: Bool = {
        openlog(identity, LOG_PID, LOG_DAEMON)
        return true
    }()

    private static func userName() -> String {
        guard let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name else { return "uid \(geteuid())" }
        return String(cString: name)
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { raw -> Int in
                guard let base = raw.baseAddress else { return 0 }
                return Glibc.write(fd, base + offset, raw.count - offset)
            }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            offset += n
        }
    }

    /// Local time as Slurm logs it: `2026-11-22T08:15:48.955`.
    static func timestamp() -> String {
        var tv = timeval()
        gettimeofday(&tv, nil)
        var t = tv.tv_sec
        var parts = tm()
        localtime_r(&t, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03d", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
            parts.tm_hour, parts.tm_min, parts.tm_sec, Int32(tv.tv_usec / 1000))
    }
}

/// What a process started by slurmctld must fix before doing anything.
enum ProcessSetup {
    /// Opens /dev/null onto each of fds 0–2 that is closed.
    static func openDevNullOntoClosedStandardDescriptors() {
        for fd: Int32 in 0 ... 2 where fcntl(fd, F_GETFD) < 0 && errno == EBADF {
            let opened = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY)
            if opened >= 0 && opened != fd {
                // Lower fds are open now, so this landed above `fd`: move it.
                dup2(opened, fd)
                close(opened)
            }
        }
    }

    /// Signals slurmctld blocks or a parent may ignore, which must reach us and our children as default.
    static let resetToDefault: [Int32] = [
        SIGHUP, SIGINT, SIGQUIT, SIGPIPE, SIGALRM, SIGTERM, SIGUSR1, SIGUSR2, SIGCHLD, SIGTSTP, SIGTTIN, SIGTTOU,
        SIGXCPU, SIGXFSZ,
    ]

    /// Unblocks every signal and restores default dispositions (an ignored SIGCHLD would break `waitpid`).
    static func resetSignals() {
        for sig in resetToDefault { signal(sig, SIG_DFL) }
        var empty = sigset_t()
        sigemptyset(&empty)
        pthread_sigmask(SIG_SETMASK, &empty, nil)
    }
}
