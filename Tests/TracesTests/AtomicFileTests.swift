// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import Testing
import Traces

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite struct AtomicFileTests {
    @Test func roundTrip() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let path = dir.file("state.bin")
        var rng = SplitMix(seed: 7)
        let big = (0..<1_500_000).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        for bytes in [[UInt8](), Array("hello\n".utf8), big] {
            try AtomicFile.write(bytes, to: path)
            #expect(try AtomicFile.read(path) == bytes)
            #expect(readAll(path) == bytes)
        }
        var st = stat()
        #expect(stat(path, &st) == 0)
        #expect(st.st_mode & 0o777 == 0o644)
        #expect(TempDir.list(dir.path) == ["state.bin"])  // no temporary files left
    }

    @Test func missingDirectoryThrowsAndLeavesNothing() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let path = dir.file("no/such/dir/state.bin")
        let error = try #require(#expect(throws: FileError.self) { try AtomicFile.write([1, 2, 3], to: path) })
        #expect(error.code == ENOENT)
        #expect(error.description.contains(path))
        #expect(error.description.contains("No such file or directory"))
        #expect(TempDir.list(dir.path).isEmpty)
    }

    @Test func failedRenameRemovesTemporaryFile() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let target = dir.file("target")
        try #require(mkdir(target, 0o755) == 0)
        try #require(mkdir(target + "/child", 0o755) == 0)
        let error = try #require(#expect(throws: FileError.self) { try AtomicFile.write([1], to: target) })
        #expect(error.operation == "rename")
        #expect(TempDir.list(dir.path) == ["target"])
        #expect(TempDir.list(target) == ["child"])
    }

    @Test func readErrors() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let missing = dir.file("missing")
        let error = try #require(#expect(throws: FileError.self) { try AtomicFile.read(missing) })
        #expect(error.description == missing + ": open failed: No such file or directory")

        let path = dir.write("ten", "0123456789")
        #expect(try AtomicFile.read(path, maxBytes: 10).count == 10)
        let big = try #require(#expect(throws: FileError.self) { try AtomicFile.read(path, maxBytes: 9) })
        #expect(big.code == EFBIG)
        #expect(throws: FileError.self) { try AtomicFile.read(dir.path) }
    }

    /// Readers racing a writer always see a complete old or new file.
    @Test func readersSeeOldOrNewContent() async throws {
        let dir = TempDir()
        defer { dir.remove() }
        let path = dir.file("state")
        let a = [UInt8](repeating: 0x61, count: 300_000)
        let b = [UInt8](repeating: 0x62, count: 200_000)
        try AtomicFile.write(a, to: path)
        let writer = Task.detached { () throws -> Void in
            for i in 0..<150 { try AtomicFile.write(i % 2 == 0 ? b : a, to: path) }
        }
        var reads = 0
        var mixed = 0
        for _ in 0..<400 {
            let got = readAll(path)
            reads += 1
            if got != a && got != b { mixed += 1 }
        }
        try await writer.value
        #expect(reads == 400)
        #expect(mixed == 0)
        #expect(try AtomicFile.read(path) == a)
        #expect(TempDir.list(dir.path) == ["state"])
    }
}
