// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
//
// The systemd notification protocol (sd_notify(3)), without libsystemd: one datagram of `KEY=value` lines to the
// Unix socket named in NOTIFY_SOCKET. With `Type=notify` in the unit, systemd counts prewarmd as started only after
// READY=1, which the daemon sends once its signal handlers, state directory and submission socket are set up: so
// `systemctl start` reports a daemon that exits during its start-up as failed, and a `systemctl reload` or `stop`
// issued meanwhile waits until the daemon handles it (before, a SIGHUP in its first ~20 ms killed it, and systemd
// counts death by SIGHUP as a clean exit, so Restart=on-failure did not bring it back).

import Glibc
import PrewarmCore

enum ServiceManager {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Sends `state` (e.g. "READY=1") to `socket`, NOTIFY_SOCKET's value: an absolute path, or `@name` for a socket
    /// in the abstract namespace. Without a socket (not run by systemd, or Type=simple) it does nothing and returns
    /// false; true when the datagram was sent.
    @discardableResult
    static func notify(_ state: String, socket: String?) throws(Failure) -> Bool {
        guard let socket, !socket.isEmpty else { return false }
        guard let address = UnixSocketAddress(pathOrAbstractName: socket) else {
            throw Failure(
                description:
                    "NOTIFY_SOCKET '\(socket)': not a Unix socket path or @name of at most \(UnixSocketAddress.maxBytes) bytes")
        }
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "NOTIFY_SOCKET: socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let bytes = Array(state.utf8)
        let sent = address.withSockaddr { sendto(fd, bytes, bytes.count, Int32(MSG_NOSIGNAL), $0, $1) }
        guard sent == bytes.count else {
            throw Failure(description: "NOTIFY_SOCKET '\(socket)': \(String(cString: strerror(errno)))")
        }
        return true
    }
}
