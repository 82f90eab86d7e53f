// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import CXattr
import Foundation
import SlurmKit
import Testing

/// A plugin, daemon and power configuration that agree, in a fresh directory, checked as the user `nobody` (never
/// the test's own user, so that the mode bits decide even when the tests run as root). Slurm's side is not asked
/// here: Packaging/deb/test checks it against a real slurmctld.
private struct Installation {
    let dir: URL
    var path: (String) -> String { { dir.appendingPathComponent($0).path } }

    init(_ name: String) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("prewarm-check-\(name)-\(getpid())")
        try? FileManager.default.removeItem(at: dir)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        chmod(dir.path, 0o755)
        let logs = dir.appendingPathComponent("log")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        chmod(logs.path, 0o777)
        let t = try prewarm(["train", "--trace", fixture, "--out", path("m.model"), "--trees", "4", "--window", "1000"])
        #expect(t.status == 0, "stderr: \(t.stderr)")
        try write("prewarm.conf", "ModelFile=\(path("m.model"))\nNotifySocket=\(path("d.sock"))\n")
        try write("prewarmd.conf", "Mode=enforce\nNotifySocket=\(path("d.sock"))\nModelFile=\(path("m.model"))\n"
            + "StateDirectory=\(dir.path)\nHistoryDatabase=\(path("h.db"))\n")
        try write("power.conf", "ResumeCommand=/bin/true {node}\nSuspendCommand=/bin/true {node}\n"
            + "LogFile=\(path("log/power.log"))\n")
        try write("lib.so", "not loaded by the check\n")
    }

    func write(_ name: String, _ text: String) throws {
        try text.write(toFile: path(name), atomically: false, encoding: .utf8)
        chmod(path(name), 0o644)
    }

    func check() throws -> (status: Int32, lines: [String]) {
        let r = try prewarm([
            "check", "--conf", path("prewarm.conf"), "--daemon-conf", path("prewarmd.conf"), "--power-conf",
            path("power.conf"), "--library", path("lib.so"), "--slurm-user", "nobody", "--no-slurm",
        ])
        #expect(r.stderr.isEmpty, "stderr: \(r.stderr)")
        return (r.status, r.stdout.split(separator: "\n").map(String.init))
    }

    func remove() { try? FileManager.default.removeItem(at: dir) }
}

@Test func checkPassesAConsistentInstallation() throws {
    let i = try Installation("ok")
    defer { i.remove() }
    let r = try i.check()
    #expect(r.status == 0, "\(r.lines)")
    #expect(r.lines.last == "prewarm check: 0 errors, 0 warnings")
    #expect(r.lines.first == "note    Slurm's configuration not checked: --no-slurm")
    #expect(r.lines.contains("ok      \(i.path("prewarm.conf")): valid"))
    #expect(r.lines.contains { $0.hasPrefix("ok      \(i.path("m.model")): model ") && $0.contains(", 4 trees, ") })
    #expect(r.lines.contains("ok      \(i.path("prewarmd.conf")): valid (Mode=enforce)"))
    #expect(r.lines.contains("ok      \(i.path("power.conf")): valid"))
    #expect(!r.lines.contains { $0.hasPrefix("error") || $0.hasPrefix("warning") }, "\(r.lines)")
}

@Test func checkNamesEveryMistakeAndFails() throws {
    let i = try Installation("bad")
    defer { i.remove() }
    // The daemon listens elsewhere and publishes its models elsewhere; the model is cut short; the power log's
    // directory is not writable by SlurmUser; a power command's program does not exist.
    try i.write("prewarmd.conf", "NotifySocket=\(i.path("other.sock"))\nModelFile=\(i.path("other.model"))\n")
    let model = try Data(contentsOf: URL(fileURLWithPath: i.path("m.model")))
    try model.prefix(model.count - 9).write(to: URL(fileURLWithPath: i.path("m.model")))
    chmod(i.path("log"), 0o755)
    try i.write("power.conf", "ResumeCommand=/nonexistent/boot {node}\nLogFile=\(i.path("log/power.log"))\n")
    var r = try i.check()
    #expect(r.status == 1)
    #expect(r.lines.last == "prewarm check: 4 errors, 1 warning", "\(r.lines)")
    let errors = r.lines.filter { $0.hasPrefix("error   ") }
    #expect(errors.contains { $0.hasPrefix("error   \(i.path("m.model")): refused (") })
    #expect(errors.contains { $0.hasPrefix("error   NotifySocket differs: \(i.path("prewarm.conf")) sends to \(i.path("d.sock"))") })
    #expect(errors.contains("error   \(i.path("power.conf")): ResumeCommand: /nonexistent/boot: no such file"))
    #expect(errors.contains { $0.hasPrefix("error   \(i.path("log")): not writable by nobody (mode 755") })
    #expect(r.lines.contains { $0.hasPrefix("warning ModelFile differs: prewarmd publishes \(i.path("other.model"))") })

    // A configuration error names the file, the line and the key; a model SlurmUser cannot read is an error.
    try i.write("power.conf", "Timeout=30\nResumeComand=/bin/true {node}\n")
    try i.write("prewarmd.conf", "NotifySocket=\(i.path("d.sock"))\nModelFile=\(i.path("m.model"))\n")
    let t = try prewarm(["train", "--trace", fixture, "--out", i.path("m.model"), "--trees", "4", "--window", "1000"])
    #expect(t.status == 0, "stderr: \(t.stderr)")
    chmod(i.path("m.model"), 0o600)
    r = try i.check()
    #expect(r.status == 1)
    #expect(r.lines.last == "prewarm check: 2 errors, 0 warnings", "\(r.lines)")
    #expect(r.lines.contains { $0.hasPrefix("error   \(i.path("power.conf")):2: ResumeComand: ") })
    #expect(r.lines.contains { $0.hasPrefix("error   \(i.path("m.model")): not readable by nobody (mode 600") })

    // The plugin's side alone, with its defaults where a file is missing: a missing model is a warning, not an error.
    try FileManager.default.removeItem(atPath: i.path("m.model"))
    try FileManager.default.removeItem(atPath: i.path("power.conf"))
    r = try i.check()
    #expect(r.status == 0, "\(r.lines)")
    #expect(r.lines.contains { $0.hasPrefix("warning \(i.path("m.model")): no model yet") })
    #expect(r.lines.contains { $0.hasPrefix("ok      \(i.path("power.conf")): not present") })
}

/// libslurm ends the process when it finds no slurm.conf (after retrying for a minute, with its own message), so
/// every command that asks the controller checks for one first and says which file it looked for.
@Test func commandsAskingSlurmNameAMissingSlurmConf() throws {
    let missing = FileManager.default.temporaryDirectory.appendingPathComponent("no-such-dir-\(getpid())/slurm.conf").path
    var env = ProcessInfo.processInfo.environment
    env["SLURM_CONF"] = missing
    for command in [["forecast"], ["slurm-probe"]] {
        let started = Date()
        let r = try prewarm(command, environment: env)
        #expect(r.status == 1, "\(command)")
        #expect(Date().timeIntervalSince(started) < 30, "\(command) waited for libslurm's retries")
        if LibSlurmClient.isAvailable {
            #expect(r.stderr.contains("no readable Slurm configuration at \(missing) (set SLURM_CONF)"), "\(command): \(r.stderr)")
        } else {
            #expect(r.stderr.contains("built without Slurm's headers"), "\(command): \(r.stderr)")
        }
    }
    // libslurm reads SLURM_CONF as it is when set, even empty (it then finds no file), not the default path.
    env["SLURM_CONF"] = ""
    let started = Date()
    let empty = try prewarm(["forecast"], environment: env)
    #expect(empty.status == 1)
    #expect(Date().timeIntervalSince(started) < 30, "forecast waited for libslurm's retries")
    if LibSlurmClient.isAvailable {
        #expect(empty.stderr.contains("SLURM_CONF is set but empty"), "\(empty.stderr)")
    }
    env["SLURM_CONF"] = missing
    // prewarmd refuses to start the same way, before it takes its state directory.
    let conf = FileManager.default.temporaryDirectory.appendingPathComponent("prewarmd-\(getpid()).conf").path
    #expect(FileManager.default.createFile(atPath: conf, contents: Data()))
    defer { try? FileManager.default.removeItem(atPath: conf) }
    for value in [missing, ""] {
        env["SLURM_CONF"] = value
        let started = Date()
        let daemon = try run(prewarmdExecutable, ["--config", conf, "--once"], environment: env)
        #expect(daemon.status == 1)
        #expect(Date().timeIntervalSince(started) < 30, "prewarmd waited for libslurm's retries")
        let expected = !LibSlurmClient.isAvailable ? "built without Slurm's headers"
            : value.isEmpty ? "SLURM_CONF is set but empty" : "no readable Slurm configuration at \(missing)"
        #expect(daemon.stdout.contains("error: \(expected)"), "\(daemon.stdout)")  // its log is standard output
    }
    env["SLURM_CONF"] = missing
    // prewarm check still checks Prewarm's own files and says why Slurm was not asked.
    if LibSlurmClient.isAvailable {
        let check = try prewarm(["check", "--conf", missing + ".prewarm"], environment: env)
        #expect(check.stdout.contains("Slurm's configuration not checked: no readable Slurm configuration at \(missing)"), "\(check.stdout)")
        #expect(check.stdout.contains(missing + ".prewarm"), "\(check.stdout)")
    }
}

/// Sets `path`'s POSIX access ACL as setfacl does (the system.posix_acl_access attribute: version 2, then entries of
/// tag, permissions, id, in the kernel's order). Tags: 1 owner, 2 named user, 4 owning group, 8 named group,
/// 16 mask, 32 others.
private func setACL(_ path: String, _ entries: [(tag: UInt16, permissions: UInt16, id: UInt32)]) -> Bool {
    var bytes: [UInt8] = [2, 0, 0, 0]
    for e in entries {
        bytes += [UInt8(e.tag & 0xff), UInt8(e.tag >> 8), UInt8(e.permissions), 0]
        bytes += [UInt8(e.id & 0xff), UInt8(e.id >> 8 & 0xff), UInt8(e.id >> 16 & 0xff), UInt8(e.id >> 24)]
    }
    return setxattr(path, "system.posix_acl_access", bytes, bytes.count, 0) == 0
}

/// SlurmUser's access follows a file's ACL where it has one, as the kernel's check does: a named-user entry
/// within the mask, a group entry, the mask limiting both.
@Test func checkReadsPOSIXACLs() throws {
    let i = try Installation("acl")
    defer { i.remove() }
    let nobody = UInt32(getpwnam("nobody")?.pointee.pw_uid ?? 65534)
    let nogroup = UInt32(getpwnam("nobody")?.pointee.pw_gid ?? 65534)
    let none = UInt32.max
    let denied = { (r: (status: Int32, lines: [String]), what: String) in
        r.lines.contains { $0.hasPrefix("error   \(i.path(what)): not ") }
    }
    // By the mode bits alone, nobody cannot read the model (0600, root's) nor write to the log directory (0755).
    chmod(i.path("m.model"), 0o600)
    chmod(i.path("log"), 0o755)
    var r = try i.check()
    #expect(denied(r, "m.model") && denied(r, "log"), "\(r.lines)")
    // An ACL entry for nobody grants the read; its directory's, within the mask r-x, still no write.
    #expect(setACL(i.path("m.model"), [(1, 6, none), (2, 4, nobody), (4, 0, none), (16, 4, none), (32, 0, none)]))
    #expect(setACL(i.path("log"), [(1, 7, none), (2, 7, nobody), (4, 5, none), (16, 5, none), (32, 5, none)]))
    r = try i.check()
    #expect(!denied(r, "m.model"), "\(r.lines)")
    #expect(r.lines.contains { $0.hasPrefix("error   \(i.path("log")): not writable by nobody (mode 755 and its ACL,") },
            "\(r.lines)")
    // A group entry of nobody's group grants the write once the mask allows it; a mask of r-- takes the read away.
    #expect(setACL(i.path("log"), [(1, 7, none), (4, 5, none), (8, 7, nogroup), (16, 7, none), (32, 5, none)]))
    #expect(setACL(i.path("m.model"), [(1, 6, none), (2, 4, nobody), (4, 0, none), (16, 0, none), (32, 0, none)]))
    r = try i.check()
    #expect(!denied(r, "log"), "\(r.lines)")
    #expect(denied(r, "m.model"), "\(r.lines)")
}

/// The model prewarmd publishes or `prewarm train` writes next is a new file, which inherits its directory's default
/// ACL: check reads that ACL and says when it would keep SlurmUser from the next model (or the socket prewarmd
/// creates), and the kernel agrees once a model is written there.
@Test func checkReadsTheDefaultACLThatTheNextModelInherits() throws {
    let i = try Installation("default-acl")
    defer { i.remove() }
    let nobody = UInt32(getpwnam("nobody")?.pointee.pw_uid ?? 65534)
    let none = UInt32.max
    func setDefaultACL(_ entries: [(tag: UInt16, permissions: UInt16, id: UInt32)]) -> Bool {
        var bytes: [UInt8] = [2, 0, 0, 0]
        for e in entries {
            bytes += [UInt8(e.tag & 0xff), UInt8(e.tag >> 8), UInt8(e.permissions), 0]
            bytes += [UInt8(e.id & 0xff), UInt8(e.id >> 8 & 0xff), UInt8(e.id >> 16 & 0xff), UInt8(e.id >> 24)]
        }
        return setxattr(i.dir.path, "system.posix_acl_default", bytes, bytes.count, 0) == 0
    }
    func retrain() throws {
        let t = try prewarm(["train", "--trace", fixture, "--out", i.path("m.model"), "--trees", "4", "--window", "1000"])
        #expect(t.status == 0, "stderr: \(t.stderr)")
    }
    /// Whether the kernel lets nobody read the model (asked through runuser, which needs root, as `scripts/test`
    /// runs; as another user, the answer is taken to be the expected one and only check's verdicts are tested).
    func nobodyReads(expected: Bool) throws -> Bool {
        guard getuid() == 0 else { return expected }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/runuser")
        p.arguments = ["-u", "nobody", "--", "/usr/bin/test", "-r", i.path("m.model")]
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus == 0
    }
    let inherited = "error   \(i.dir.path): its default ACL would make a file written there with mode 644 not readable by nobody"
    let socket = "error   \(i.dir.path): its default ACL would make a file written there with mode 666 not writable by nobody"
    var r = try i.check()
    #expect(r.status == 0 && !r.lines.contains { $0.contains("default ACL") }, "\(r.lines)")
    #expect(try nobodyReads(expected: true))
    // A default ACL naming nobody without read: the model there now is readable (written before), the next is not.
    #expect(setDefaultACL([(1, 7, none), (2, 0, nobody), (4, 5, none), (16, 7, none), (32, 5, none)]))
    r = try i.check()
    #expect(r.status == 1)
    #expect(r.lines.contains { $0.hasPrefix(inherited) && $0.hasSuffix("would not load (jobs annotated model=none)") },
            "\(r.lines)")
    #expect(r.lines.contains { $0.hasPrefix(socket) }, "\(r.lines)")
    #expect(!r.lines.contains { $0.hasPrefix("error   \(i.path("m.model")): not readable") }, "\(r.lines)")
    #expect(try nobodyReads(expected: true))
    try retrain()
    r = try i.check()
    #expect(r.lines.contains { $0.hasPrefix("error   \(i.path("m.model")): not readable by nobody (mode 644 and its ACL") },
            "\(r.lines)")
    #expect(try !nobodyReads(expected: false))
    // Granting nobody read in the default ACL: no finding, and the next model written is readable indeed.
    #expect(setDefaultACL([(1, 7, none), (2, 6, nobody), (4, 5, none), (16, 7, none), (32, 5, none)]))
    try retrain()
    r = try i.check()
    #expect(r.status == 0 && !r.lines.contains { $0.contains("default ACL") || $0.contains("not readable") }, "\(r.lines)")
    #expect(try nobodyReads(expected: true))
    // Without a mask the owning group's entry takes the mode's group bits; others still read the mode's 644.
    #expect(setDefaultACL([(1, 7, none), (4, 0, none), (32, 0, none)]))
    try retrain()
    r = try i.check()
    #expect(r.status == 0 && !r.lines.contains { $0.contains("default ACL") || $0.contains("not readable") }, "\(r.lines)")
    #expect(try nobodyReads(expected: true))
}
