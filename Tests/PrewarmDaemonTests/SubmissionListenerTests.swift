// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import Foundation
import PrewarmCore
import Testing

@testable import PrewarmDaemon

/// Sends `text` as one datagram to the Unix socket at `path`; true if it was sent whole.
private func send(_ text: String, to path: String) -> Bool {
    let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    let bytes = Array(text.utf8)
    let n = UnixSocketAddress(path: path)?.withSockaddr { sendto(fd, bytes, bytes.count, 0, $0, $1) }
    return n == bytes.count
}

@Test func listenerCountsTheNoticesEveryDatagramCarries() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("prewarm-listener-\(getpid())").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let path = dir + "/prewarmd.sock"
    let listener = try SubmissionListener(path: path)
    #expect(listener.wait(milliseconds: 10) == 0)  // nothing yet: the timeout
    let line = "prewarm-submit v1 t=1 uid=1000 account=a partition=p cpus=4 nodes=1 tl=60 dep=0 array=0 begin=-1"
    // The plugin's batches (notices queued together: lines of one datagram), a single notice, and a datagram
    // without any notice (still a submission, as an older plugin's would be).
    #expect(send(Array(repeating: line, count: 40).joined(separator: "\n"), to: path))
    #expect(send(line, to: path))
    #expect(send("wake", to: path))
    #expect(listener.wait(milliseconds: 1000) == 42)
    // A batch as large as the plugin sends (8 KB) is read whole.
    var batch: [String] = []
    while (batch + [line]).joined(separator: "\n").utf8.count <= SubmitNotice.maxDatagramBytes { batch.append(line) }
    #expect(send(batch.joined(separator: "\n"), to: path))
    #expect(listener.wait(milliseconds: 1000) == batch.count)
}

@Test func listenerReplacesOnlyASocketAndCreatesAMissingRunDirectory() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("prewarm-listener-setup-\(getpid())").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    func mode(_ path: String) -> mode_t {
        var st = stat()
        return lstat(path, &st) == 0 ? st.st_mode : 0
    }
    // /run/prewarm outside systemd: the last directory is created (0755), the socket is writable by slurmctld's user.
    let path = dir + "/run/prewarmd.sock"
    var first: SubmissionListener? = try SubmissionListener(path: path)
    #expect(mode(dir + "/run") & 0o7777 == 0o755)
    #expect(mode(path) & S_IFMT == S_IFSOCK)
    #expect(mode(path) & 0o777 == 0o666)
    // A socket another process listens on (a second prewarmd on this host) is refused and left to it.
    #expect {
        _ = try SubmissionListener(path: path)
    } throws: { error in
        "\(error)" == "NotifySocket \(path): another process listens on it (another prewarmd?); not replacing it"
    }
    #expect(send("wake", to: path))
    #expect(first?.wait(milliseconds: 1000) == 1)
    // A socket an earlier run left (its process gone, nothing listens) is replaced, and the new one hears the notices.
    let stale = dir + "/stale.sock"
    let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
    #expect(UnixSocketAddress(path: stale)?.withSockaddr { bind(fd, $0, $1) } == 0)
    close(fd)
    #expect(mode(stale) & S_IFMT == S_IFSOCK)
    let replacing = try SubmissionListener(path: stale)
    #expect(send("wake", to: stale))
    #expect(replacing.wait(milliseconds: 1000) == 1)
    // A listener stopping removes its socket file, unless a newer one has bound its own there.
    do {
        let other = dir + "/other.sock"
        _ = try SubmissionListener(path: other)
        #expect(mode(other) == 0)
    }
    #expect(unlink(path) == 0)  // the first one's file removed by hand; a newer listener binds its own there
    let second = try SubmissionListener(path: path)
    first = nil
    #expect(mode(path) & S_IFMT == S_IFSOCK)  // the first listener's end left the second's socket
    #expect(send("wake", to: path))
    #expect(second.wait(milliseconds: 1000) == 1)
    // Anything else at the path is refused and left as it was (a mistyped NotifySocket must not delete a file).
    let file = dir + "/slurm.conf"
    try "ClusterName=c\n".write(toFile: file, atomically: false, encoding: .utf8)
    #expect {
        _ = try SubmissionListener(path: file)
    } throws: { error in
        "\(error)" == "NotifySocket \(file): exists and is not a socket; not replacing it"
    }
    #expect(try String(contentsOfFile: file, encoding: .utf8) == "ClusterName=c\n")
    // Only the last directory is created; the error names the path and the reason.
    let deep = dir + "/missing/run/prewarmd.sock"
    #expect {
        _ = try SubmissionListener(path: deep)
    } throws: { error in
        "\(error)" == "NotifySocket \(deep): cannot create \(dir)/missing/run: No such file or directory"
    }
    #expect(throws: SubmissionListener.SetupError.self) { _ = try SubmissionListener(path: "relative.sock") }
}

/// Sends one notice to `path` as the user `nobody` (needs root: setpriv changes the uid).
private func sendAsNobody(to path: String) throws -> Int32 {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
    p.arguments = [
        "--reuid=nobody", "--regid=nogroup", "--clear-groups", "/usr/bin/python3", "-c",
        "import socket, sys; socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b'prewarm-submit v1 t=1', sys.argv[1])",
        path,
    ]
    try p.run()
    p.waitUntilExit()
    return p.terminationStatus
}

/// Only root, the daemon's user and slurmctld's are heard once the daemon knows them: another local user's
/// datagrams (the socket is mode 0666) count for nothing, and each such user is reported once.
@Test func listenerHearsOnlyTheAllowedSenders() throws {
    try #require(getuid() == 0, "sending as another user needs root (scripts/test runs as root)")
    let nobody = try #require(getpwnam("nobody")).pointee.pw_uid
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("prewarm-listener-uid-\(getpid())").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    chmod(dir, 0o755)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let path = dir + "/prewarmd.sock"
    let listener = try SubmissionListener(path: path)
    var reported: [UInt32] = []
    listener.onIgnoredSender = { reported.append($0) }
    // Before the daemon knows SlurmUser, every sender counts (as before the check).
    #expect(try sendAsNobody(to: path) == 0)
    #expect(listener.wait(milliseconds: 1000) == 1)
    listener.allowedSenders = [0, 64030]
    #expect(send("prewarm-submit v1 t=1", to: path))  // root: heard
    #expect(try sendAsNobody(to: path) == 0)
    #expect(try sendAsNobody(to: path) == 0)
    #expect(listener.wait(milliseconds: 1000) == 1)
    #expect(listener.ignoredDatagrams == 2)
    #expect(reported == [nobody])  // once per uid
    listener.allowedSenders = [0, nobody]
    #expect(try sendAsNobody(to: path) == 0)
    #expect(listener.wait(milliseconds: 1000) == 1)
}

@Test func credentialsAreReadFromTheirControlMessageOnly() {
    // cmsghdr { size_t len; int level; int type; } then ucred { pid, uid, gid } (64-bit Linux: 16 + 12 bytes).
    func control(level: Int32, type: Int32, uid: UInt32, length: Int = 28) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: 32)
        b.withUnsafeMutableBytes {
            $0.storeBytes(of: length, toByteOffset: 0, as: Int.self)
            $0.storeBytes(of: level, toByteOffset: 8, as: Int32.self)
            $0.storeBytes(of: type, toByteOffset: 12, as: Int32.self)
            $0.storeBytes(of: 4242, toByteOffset: 16, as: Int32.self)
            $0.storeBytes(of: uid, toByteOffset: 20, as: UInt32.self)
        }
        return b
    }
    func uid(_ bytes: [UInt8]) -> UInt32? { bytes.withUnsafeBytes { SubmissionListener.credentialsUID($0) } }
    #expect(uid(control(level: SOL_SOCKET, type: 2, uid: 64030)) == 64030)
    #expect(uid(control(level: SOL_SOCKET, type: 1, uid: 64030)) == nil)  // SCM_RIGHTS, not credentials
    #expect(uid(control(level: 6, type: 2, uid: 64030)) == nil)
    #expect(uid(control(level: SOL_SOCKET, type: 2, uid: 64030, length: 20)) == nil)  // too short for a ucred
    #expect(uid(Array(control(level: SOL_SOCKET, type: 2, uid: 1).prefix(20))) == nil)
    #expect(uid([]) == nil)
}
