// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

import PrewarmCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The address's bytes as the kernel reads them: family (2 bytes), then the path, `length` bytes in all.
private func bytes(_ a: UnixSocketAddress) -> [UInt8] {
    a.withSockaddr { p, length in
        UnsafeRawPointer(p).withMemoryRebound(to: UInt8.self, capacity: Int(length)) {
            Array(UnsafeBufferPointer(start: $0, count: Int(length)))
        }
    }
}

private let family: [UInt8] = [UInt8(AF_UNIX & 0xFF), UInt8(AF_UNIX >> 8)]

@Test func aUnixSocketAddressIsThePathAndItsNulOrANulAndTheAbstractName() throws {
    #expect(UnixSocketAddress.maxBytes == 107)  // Linux: sun_path is 108 bytes
    // A path: family, the bytes, one terminating NUL (the length counts it, as SUN_LEN + 1 does).
    let path = try #require(UnixSocketAddress(path: "/run/prewarm/prewarmd.sock"))
    #expect(bytes(path) == family + Array("/run/prewarm/prewarmd.sock".utf8) + [0])
    #expect(try #require(UnixSocketAddress(pathOrAbstractName: "/a")).length == 5)
    // systemd's abstract NOTIFY_SOCKET: "@name" is a leading NUL and the name, with no terminator.
    let abstract = try #require(UnixSocketAddress(pathOrAbstractName: "@/org/freedesktop/systemd1/notify/42"))
    #expect(bytes(abstract) == family + [0] + Array("/org/freedesktop/systemd1/notify/42".utf8))
    // The longest that fit, and one byte more.
    let longest = "/" + String(repeating: "x", count: 106)
    #expect(try #require(UnixSocketAddress(path: longest)).length == 2 + 107 + 1)
    #expect(UnixSocketAddress(path: longest + "x") == nil)
    #expect(try #require(UnixSocketAddress(pathOrAbstractName: "@" + longest)).length == 2 + 1 + 107)
    #expect(UnixSocketAddress(pathOrAbstractName: "@" + longest + "x") == nil)
    // Refused: empty, a NUL inside, and for NOTIFY_SOCKET anything but an absolute path or @name.
    #expect(UnixSocketAddress(path: "") == nil)
    #expect(UnixSocketAddress(pathOrAbstractName: "@") == nil)
    #expect(UnixSocketAddress(path: "/tmp/a\u{0}b") == nil)
    #expect(UnixSocketAddress(pathOrAbstractName: "relative/notify") == nil)
    #expect(UnixSocketAddress(pathOrAbstractName: "vsock:2:1234") == nil)
    // A relative path is still an address for bind (the callers that need an absolute one check it).
    #expect(try #require(UnixSocketAddress(path: "rel.sock")).length == 2 + 8 + 1)
}
