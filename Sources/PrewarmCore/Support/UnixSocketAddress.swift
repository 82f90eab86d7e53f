// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
//
// One place that fills a `sockaddr_un`: the plugin's notifier, prewarmd's submission socket and its systemd
// notification, and the tests that stand in for either side. No system call here: the callers bind, send or connect.

#if canImport(Glibc)
import Glibc
#endif

/// The address of a Unix socket: a file system path, or a name in Linux's abstract namespace (written `@name`, as
/// systemd writes NOTIFY_SOCKET).
public struct UnixSocketAddress: Sendable {
    /// The longest path or abstract name that fits (107 bytes on Linux: `sun_path` less a terminating NUL).
    public static let maxBytes = MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1

    private var storage = sockaddr_un()
    /// The address's length for bind, connect and sendto: up to the path's terminating NUL, or to the abstract
    /// name's last byte (an abstract name has no terminator: its length says where it ends).
    public let length: socklen_t

    /// The socket at `path`; nil when the path is empty, longer than ``maxBytes`` or contains a NUL byte.
    public init?(path: String) {
        self.init(bytes: Array(path.utf8), abstract: false)
    }

    /// `name` as NOTIFY_SOCKET gives it: an absolute path, or `@name` for the abstract namespace. Nil for anything
    /// else, or when it does not fit.
    public init?(pathOrAbstractName name: String) {
        var bytes = Array(name.utf8)
        switch bytes.first {
        case UInt8(ascii: "/"): self.init(bytes: bytes, abstract: false)
        case UInt8(ascii: "@"):
            bytes.removeFirst()
            self.init(bytes: bytes, abstract: true)
        default: return nil
        }
    }

    private init?(bytes: [UInt8], abstract: Bool) {
        guard !bytes.isEmpty, bytes.count <= Self.maxBytes, !bytes.contains(0) else { return nil }
        storage.sun_family = sa_family_t(AF_UNIX)
        let start = abstract ? 1 : 0  // the abstract namespace: a leading NUL, then the name
        withUnsafeMutableBytes(of: &storage.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[start + i] = b }
        }
        let pathOffset = MemoryLayout<sockaddr_un>.offset(of: \.sun_path) ?? MemoryLayout<sa_family_t>.size
        length = socklen_t(pathOffset + bytes.count + 1)  // a path's NUL, or an abstract name's leading one
    }

    /// Calls `body` with the address as a `sockaddr` and its length.
    public func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws -> R) rethrows -> R {
        try withUnsafePointer(to: storage) { a in
            try a.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, length) }
        }
    }
}
