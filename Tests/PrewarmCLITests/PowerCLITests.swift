// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import Foundation
import PrewarmCore
import Testing

/// `prewarm resume|suspend|resume-fail` run as Slurm runs them. Each test works in its own directory.
@Suite("Power programs (CLI)")
final class PowerCLITests {
    /// Directories this test made (a fresh instance runs each test), removed when it ends.
    private var directories: [String] = []

    deinit { for d in directories { try? FileManager.default.removeItem(atPath: d) } }

    /// A fresh directory with `out/` and a config file holding `lines` (`DIR` replaced by the directory).
    private func setUp(_ lines: [String]) throws -> (dir: String, config: String, log: String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("prewarm-power-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir + "/out", withIntermediateDirectories: true)
        directories.append(dir)
        let log = dir + "/log/power.log"
        let text = (lines + ["LogFile=\(log)"]).map { $0.replacingOccurrences(of: "DIR", with: dir) }
            .joined(separator: "\n") + "\n"
        try text.write(toFile: dir + "/power.conf", atomically: true, encoding: .utf8)
        return (dir, dir + "/power.conf", log)
    }

    private func read(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    private func nodeLines(_ log: String) -> [String] {
        read(log).split(separator: "\n").map(String.init).filter { $0.contains(" node=") }
    }

    @Test("resume runs the command once per node, spawned directly, and logs each node")
    func resumeEachNode() throws {
        let (dir, config, log) = try setUp(["ResumeCommand=/usr/bin/touch DIR/out/{node}"])
        let r = try prewarm(["resume", "n[1-3]", "--config", config])
        #expect(r.status == 0, "\(r.stderr)")
        for n in ["n1", "n2", "n3"] { #expect(FileManager.default.fileExists(atPath: "\(dir)/out/\(n)")) }
        let lines = nodeLines(log)
        #expect(lines.count == 3)
        #expect(lines.allSatisfy { $0.contains("resume node=n") && $0.contains("result=ok exit=0 duration=") })
        #expect(read(log).contains("resume start hostlist=n[1-3] nodes=3"))
        #expect(read(log).contains("resume done nodes=3 ok=3 failed=0"))
    }

    @Test("a command failing for one node → exit 1; the log names the node, its status and its last stderr line")
    func oneNodeFails() throws {
        let (dir, config, log) = try setUp(["SuspendCommand=/bin/ls DIR/out/{node}"])
        for n in ["n1", "n3"] { _ = FileManager.default.createFile(atPath: "\(dir)/out/\(n)", contents: nil) }
        let r = try prewarm(["suspend", "n[1-3]", "--config", config])
        #expect(r.status == 1)
        let failed = nodeLines(log).filter { $0.contains("result=failed") }
        #expect(failed.count == 1)
        #expect(failed.first?.contains("suspend node=n2 result=failed exit=2") == true, "\(failed)")
        #expect(failed.first?.contains("stderr=\"") == true && failed.first?.contains("out/n2") == true, "\(failed)")
        #expect(read(log).contains("suspend done nodes=3 ok=2 failed=1"))
    }

    @Test("a command past Timeout is killed (TERM), logged, exit 1, in bounded time")
    func timeoutTerm() throws {
        let (_, config, log) = try setUp(["ResumeFailCommand=/bin/sh -c \"sleep 30\" {node}", "Timeout=1"])
        let start = Date()
        let r = try prewarm(["resume-fail", "n[1-3]", "--config", config])
        let elapsed = Date().timeIntervalSince(start)
        #expect(r.status == 1)
        #expect(elapsed >= 1 && elapsed < 5, "took \(elapsed) s")
        let lines = nodeLines(log)
        #expect(lines.count == 3)
        #expect(lines.allSatisfy { $0.contains("result=failed signal=TERM timeout=1s") }, "\(lines)")
    }

    @Test("a command ignoring SIGTERM gets SIGKILL 5 s later")
    func timeoutKill() throws {
        let (_, config, log) = try setUp([
            "ResumeCommand=/bin/sh -c \"trap '' TERM; exec /bin/sleep 30\" {node}", "Timeout=1",
        ])
        let start = Date()
        let r = try prewarm(["resume", "n1", "--config", config])
        let elapsed = Date().timeIntervalSince(start)
        #expect(r.status == 1)
        #expect(elapsed >= 6 && elapsed < 10, "took \(elapsed) s")
        #expect(nodeLines(log).first?.contains("result=failed signal=KILL timeout=1s") == true, "\(read(log))")
    }

    @Test("at most Parallel nodes at once")
    func parallelLimit() throws {
        let (_, config, log) = try setUp(["ResumeCommand=/bin/sh -c \"sleep 0.4\" {node}", "Parallel=2"])
        let start = Date()
        let r = try prewarm(["resume", "n[1-4]", "--config", config])
        #expect(r.status == 0)
        #expect(Date().timeIntervalSince(start) >= 0.8)
        #expect(nodeLines(log).count == 4)
    }

    @Test("with fds 0-2 closed (as slurmctld runs it) it still works and logs to LogFile")
    func closedStandardDescriptors() throws {
        let (dir, config, log) = try setUp(["ResumeCommand=/usr/bin/touch DIR/out/{node}"])
        // The hostlist and paths are positional parameters of a constant script, not shell code.
        let r = try run(
            URL(fileURLWithPath: "/bin/sh"),
            ["-c", "exec \"$0\" resume \"$1\" --config \"$2\" <&- >&- 2>&-", prewarmExecutable.path, "c[1-2]", config])
        #expect(r.status == 0)
        #expect(FileManager.default.fileExists(atPath: dir + "/out/c1"))
        #expect(FileManager.default.fileExists(atPath: dir + "/out/c2"))
        #expect(nodeLines(log).count == 2)
        #expect(read(log).contains("resume done nodes=2 ok=2 failed=0"))
    }

    /// Whether this test may stand in for syslog: root, and no syslog daemon's /dev/log (CI's containers have none).
    static let canListenOnDevLog = geteuid() == 0 && access("/dev/log", F_OK) != 0

    @Test(
        "a LogFile that cannot be opened (as SlurmUser may not) sends every line to syslog, with the reason",
        .enabled(if: PowerCLITests.canListenOnDevLog))
    func unopenableLogGoesToSyslog() throws {
        let (dir, _, _) = try setUp([])
        let config = dir + "/syslog.conf"
        // /proc refuses the directory and the file, even to root.
        try "ResumeCommand=/usr/bin/touch \(dir)/out/{node}\nLogFile=/proc/prewarm-no-such-dir/power.log\n"
            .write(toFile: config, atomically: true, encoding: .utf8)
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        let address = try #require(UnixSocketAddress(path: "/dev/log"))
        let bound = address.withSockaddr { bind(fd, $0, $1) }
        try #require(bound == 0, "bind /dev/log: \(String(cString: strerror(errno)))")
        defer { unlink("/dev/log") }
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        // As slurmctld runs it: fds 0-2 closed, so stderr is /dev/null and syslog is the only trace.
        let r = try run(
            URL(fileURLWithPath: "/bin/sh"),
            ["-c", "exec \"$0\" resume \"$1\" --config \"$2\" <&- >&- 2>&-", prewarmExecutable.path, "sl[1-2]", config])
        #expect(r.status == 0)
        #expect(FileManager.default.fileExists(atPath: dir + "/out/sl2"))
        var messages: [String] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        for _ in 0 ..< 50 {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n > 0 { messages.append(String(decoding: buffer[..<n], as: UTF8.self)) } else if n < 0 { break }
        }
        // <28> is facility daemon (3 × 8) + warning (4); <29> daemon + notice (5).
        #expect(messages.contains { $0.hasPrefix("<28>") && $0.contains("prewarm[")
            && $0.contains("cannot open log file /proc/prewarm-no-such-dir/power.log as root: No such file or directory") },
            "\(messages)")
        #expect(messages.contains { $0.hasPrefix("<29>") && $0.contains("resume node=sl1 result=ok exit=0") }, "\(messages)")
        #expect(messages.contains { $0.hasPrefix("<29>") && $0.contains("resume done nodes=2 ok=2 failed=0") }, "\(messages)")
    }

    @Test(
        "children get an empty signal mask and default dispositions even when the parent blocks and ignores signals",
        .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/python3")))
    func cleanSignalState() throws {
        let (dir, config, _) = try setUp(["ResumeCommand=/bin/cp /proc/self/status DIR/out/{node}"])
        // Like slurmctld: HUP INT QUIT USR1 USR2 PIPE ALRM TERM blocked, and (worse) TERM and CHLD ignored.
        let script = """
            import os, signal, sys
            signal.pthread_sigmask(signal.SIG_BLOCK, [1, 2, 3, 10, 12, 13, 14, 15])
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            signal.signal(signal.SIGCHLD, signal.SIG_IGN)
            os.execv(sys.argv[1], sys.argv[1:])
            """
        let r = try run(
            URL(fileURLWithPath: "/usr/bin/python3"),
            ["-c", script, prewarmExecutable.path, "resume", "s1", "--config", config], environment: [:])
        #expect(r.status == 0, "\(r.stderr)")
        let status = read(dir + "/out/s1")
        #expect(status.contains("SigBlk:\t0000000000000000"), "\(status)")
        // Standard signals 1–31 only: glibc reserves 32 and 33 (posix_spawn cannot reset them, sigfillset omits
        // them) and some parents leave them ignored.
        let ignored = status.split(separator: "\n").first { $0.hasPrefix("SigIgn:") }
            .flatMap { UInt64($0.dropFirst("SigIgn:".count).trimmingCharacters(in: .whitespaces), radix: 16) }
        #expect(ignored.map { $0 & 0x7FFF_FFFF } == 0, "\(status)")
    }

    @Test("SLURM_RESUME_FILE is logged on resume; PREWARM_POWER_CONF names the config; PATH may be missing")
    func resumeFileAndEnvironment() throws {
        let (dir, config, log) = try setUp(["ResumeCommand=/usr/bin/touch DIR/out/{node}"])
        let json = #"{"jobs":[{"job_id":17,"nodes":"sn[1-2]"}],"all_nodes":"sn[1-2]"}"#
        try (json + "\n").write(toFile: dir + "/resume.json", atomically: true, encoding: .utf8)
        let r = try prewarm(
            ["resume", "sn[1-2]"],
            environment: ["SLURM_RESUME_FILE": dir + "/resume.json", "PREWARM_POWER_CONF": config])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(read(log).contains("SLURM_RESUME_FILE=\(dir)/resume.json \(json)"))
        #expect(nodeLines(log).count == 2)
    }

    @Test("--dry-run prints each node's argv, quoted, and runs nothing")
    func dryRun() throws {
        let (dir, config, log) = try setUp([
            "ResumeCommand=/usr/bin/touch DIR/out/{node}",
            "SuspendCommand=/usr/bin/ipmitool -H {node}-bmc -P \"a b\" chassis power soft",
        ])
        let r = try prewarm(["suspend", "gpu[1-2]", "--config", config, "--dry-run"])
        #expect(r.status == 0)
        #expect(r.stdout == """
            gpu1: /usr/bin/ipmitool -H gpu1-bmc -P 'a b' chassis power soft
            gpu2: /usr/bin/ipmitool -H gpu2-bmc -P 'a b' chassis power soft

            """)
        let resume = try prewarm(["resume", "n1", "--config", config, "--dry-run"])
        #expect(resume.stdout == "n1: /usr/bin/touch \(dir)/out/n1\n")
        #expect(!FileManager.default.fileExists(atPath: dir + "/out/n1"))
        #expect(!FileManager.default.fileExists(atPath: log))
    }

    @Test("a bad hostlist, a bad config and a missing command give clear errors and exit 1")
    func errors() throws {
        let (dir, config, log) = try setUp(["ResumeCommand=/usr/bin/touch DIR/out/{node}"])
        let badList = try prewarm(["resume", "n[5-3]", "--config", config])
        #expect(badList.status == 1)
        #expect(badList.stderr.contains("bad hostlist 'n[5-3]': hostlist: column 3: reversed range 5-3"), "\(badList.stderr)")
        #expect(read(log).contains("resume error: bad hostlist 'n[5-3]'"))

        let unbalanced = try prewarm(["resume", "n[1-3", "--config", config])
        #expect(unbalanced.status == 1)
        #expect(unbalanced.stderr.contains("column 2: unbalanced bracket"), "\(unbalanced.stderr)")

        let huge = try prewarm(["resume", "n[0-999999999]", "--config", config])
        #expect(huge.status == 1)
        #expect(huge.stderr.contains("more than 100000 names"), "\(huge.stderr)")

        let missing = try prewarm(["suspend", "n1", "--config", config])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("no SuspendCommand in \(config)"), "\(missing.stderr)")

        let badConfig = dir + "/bad.conf"
        try "Timeout=5\nParallel=lots\n".write(toFile: badConfig, atomically: true, encoding: .utf8)
        let bad = try prewarm(["resume", "n1", "--config", badConfig, "--dry-run"])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("\(badConfig):2: Parallel: must be a whole number"), "\(bad.stderr)")

        let absent = try prewarm(["resume", "n1", "--config", dir + "/absent.conf", "--dry-run"])
        #expect(absent.status == 1)
        #expect(absent.stderr.contains("cannot read configuration \(dir)/absent.conf"), "\(absent.stderr)")

        let notFound = try setUp(["ResumeCommand=/nonexistent/power-on {node}"])
        let spawnFail = try prewarm(["resume", "n1", "--config", notFound.config])
        #expect(spawnFail.status == 1)
        #expect(nodeLines(notFound.log).first?.contains("cannot run /nonexistent/power-on") == true, "\(read(notFound.log))")
    }
}
