// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
//
// `GET /metrics` on a loopback address, served by one small thread so a slow scraper never delays a cycle.
// One connection at a time, 2-second read/write timeouts, requests capped at 8 KiB, `Connection: close`.

import Foundation

/// A minimal HTTP/1.x endpoint serving the latest exposition text.
public final class MetricsServer: @unchecked Sendable {
    private let fd: Int32
    private let lock = NSLock()
    private var body = ""
    /// The bound port (useful when port 0 asked the kernel for one).
    public let port: Int

    /// Binds and listens on `host:port` (a literal IPv4 or IPv6 address) and starts the serving thread.
    /// - Throws: ``StateError`` naming the address and the failing call.
    public init(host: String, port: Int, ipv6: Bool) throws(StateError) {
        let name = ipv6 ? "[\(host)]:\(port)" : "\(host):\(port)"
        func fail(_ call: String, _ code: Int32) -> StateError {
            StateError(path: "MetricsListen=\(name)", message: "\(call) failed: \(String(cString: strerror(code)))")
        }
        let s = socket(ipv6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard s >= 0 else { throw fail("socket", errno) }
        var one: Int32 = 1
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        /// Binds `s` to `address` (a `sockaddr_in` or `sockaddr_in6`); returns bind's result and the bound port.
        func bindTo<A>(_ address: A, port: KeyPath<A, in_port_t>) -> (rc: Int32, port: Int?) {
            var a = address
            let size = socklen_t(MemoryLayout<A>.size)
            let rc = withUnsafePointer(to: &a) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, size) }
            }
            var len = size
            guard rc == 0,
                withUnsafeMutablePointer(
                    to: &a, { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &len) } }) == 0
            else { return (rc, nil) }
            return (rc, Int(UInt16(bigEndian: a[keyPath: port])))
        }
        let bound: (rc: Int32, port: Int?)
        if ipv6 {
            var a = sockaddr_in6()
            a.sin6_family = sa_family_t(AF_INET6)
            a.sin6_port = in_port_t(UInt16(port).bigEndian)
            guard inet_pton(AF_INET6, host, &a.sin6_addr) == 1 else {
                close(s)
                throw StateError(path: "MetricsListen=\(name)", message: "not an IPv6 address")
            }
            bound = bindTo(a, port: \.sin6_port)
        } else {
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_port = in_port_t(UInt16(port).bigEndian)
            guard inet_pton(AF_INET, host, &a.sin_addr) == 1 else {
                close(s)
                throw StateError(path: "MetricsListen=\(name)", message: "not an IPv4 address")
            }
            bound = bindTo(a, port: \.sin_port)
        }
        let rc = bound.rc
        let boundPort = bound.port ?? port
        guard rc == 0 else {
            let e = errno
            close(s)
            throw fail("bind", e)
        }
        guard listen(s, 16) == 0 else {
            let e = errno
            close(s)
            throw fail("listen", e)
        }
        fd = s
        self.port = boundPort
        let thread = Thread { [self] in self.serve() }
        thread.name = "prewarmd-metrics"
        thread.start()
    }

    /// Replaces the text served from now on.
    public func publish(_ text: String) {
        lock.lock()
        body = text
        lock.unlock()
    }

    /// Stops accepting (the serving thread returns).
    public func stop() { shutdown(fd, Int32(SHUT_RDWR)) }

    private func serve() {
        while true {
            let c = accept(fd, nil, nil)
            if c < 0 {
                if errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE {
                    if errno != EINTR { usleep(100_000) }
                    continue
                }
                return  // stopped
            }
            _ = fcntl(c, F_SETFD, FD_CLOEXEC)
            handle(c)
            close(c)
        }
    }

    private func handle(_ c: Int32) {
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var request: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 2048)
        let end: [UInt8] = Array("\r\n\r\n".utf8)
        while request.count < 8192 {
            let n = recv(c, &buffer, buffer.count, 0)
            if n < 0, errno == EINTR { continue }
            if n <= 0 { break }
            request += buffer[0..<n]
            if request.count >= 4, request.suffix(from: Swift.max(0, request.count - n - 3)).firstRange(of: end) != nil
            {
                break
            }
        }
        let line = String(decoding: request.prefix { $0 != 0x0D && $0 != 0x0A }, as: UTF8.self)
        let parts = line.split(separator: " ")
        let status: String
        var text: String
        var headers = ""
        if parts.count < 2 || !(parts.count == 3 && parts[2].hasPrefix("HTTP/1.")) {
            (status, text) = ("400 Bad Request", "bad request\n")
        } else if parts[0] != "GET" && parts[0] != "HEAD" {
            (status, text) = ("405 Method Not Allowed", "only GET\n")
            headers = "Allow: GET, HEAD\r\n"
        } else if parts[1] != "/metrics" && !parts[1].hasPrefix("/metrics?") {
            (status, text) = ("404 Not Found", "prewarmd serves /metrics\n")
        } else {
            lock.lock()
            text = body
            lock.unlock()
            status = "200 OK"
        }
        let payload = Array(text.utf8)
        let type = status.hasPrefix("200") ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain; charset=utf-8"
        var response = Array(
            "HTTP/1.1 \(status)\r\nContent-Type: \(type)\r\nContent-Length: \(payload.count)\r\n\(headers)Connection: close\r\n\r\n"
                .utf8)
        if parts.first != "HEAD" { response += payload }
        var offset = 0
        while offset < response.count {
            let n = response[offset...].withUnsafeBytes { send(c, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0, errno == EINTR { continue }
            if n <= 0 { return }
            offset += n
        }
    }
}
