// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import Foundation
import PrewarmCore
import Testing

@testable import PrewarmDaemon

/// A datagram socket bound at `name` (a path, or "@name" in the abstract namespace), as systemd's NOTIFY_SOCKET.
private final class NotifyReceiver {
    let fd: Int32
    init?(name: String) {
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        guard UnixSocketAddress(pathOrAbstractName: name)?.withSockaddr({ bind(fd, $0, $1) }) == 0 else {
            close(fd)
            return nil
        }
    }
    deinit { close(fd) }
    /// The next datagram, or nil after a second without one.
    func receive() -> String? {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, 1000) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = recv(fd, &buffer, buffer.count, 0)
        return n >= 0 ? String(decoding: buffer[..<n], as: UTF8.self) : nil
    }
}

@Test func readyAndStoppingReachTheNotifySocketAtAPathOrAnAbstractName() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("prewarm-sdnotify-\(getpid())").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let path = dir + "/notify"
    let atPath = try #require(NotifyReceiver(name: path))
    #expect(try ServiceManager.notify("READY=1", socket: path))
    #expect(atPath.receive() == "READY=1")
    #expect(try ServiceManager.notify("STOPPING=1", socket: path))
    #expect(atPath.receive() == "STOPPING=1")

    // systemd's own sockets are abstract ("@/org/freedesktop/systemd1/notify/…"): the name is sent without a NUL.
    let abstract = "@prewarm-sdnotify-test-\(getpid())"
    let atName = try #require(NotifyReceiver(name: abstract))
    #expect(try ServiceManager.notify("READY=1", socket: abstract))
    #expect(atName.receive() == "READY=1")
    // The same name with one byte more is another socket: nothing arrives at this one.
    #expect(throws: ServiceManager.Failure.self) { try ServiceManager.notify("READY=1", socket: abstract + "x") }
    #expect(atName.receive() == nil)
}

@Test func withoutANotifySocketNothingIsSentAndABadOneIsAnError() throws {
    #expect(try ServiceManager.notify("READY=1", socket: nil) == false)
    #expect(try ServiceManager.notify("READY=1", socket: "") == false)
    #expect(throws: ServiceManager.Failure.self) { try ServiceManager.notify("READY=1", socket: "vsock:2:1234") }
    #expect(throws: ServiceManager.Failure.self) {
        try ServiceManager.notify("READY=1", socket: "/" + String(repeating: "x", count: 200))
    }
    // A path where no socket listens: the send fails, and says where.
    do {
        try ServiceManager.notify("READY=1", socket: "/nonexistent-prewarm-dir/notify")
        Issue.record("a send to a missing socket succeeded")
    } catch {
        #expect(error.description.contains("/nonexistent-prewarm-dir/notify"))
    }
}
