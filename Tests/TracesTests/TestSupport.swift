// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import CZlib

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A fresh temporary directory. Call `remove()` (in a `defer`, which also keeps the value alive) when done.
final class TempDir {
    let path: String

    init() {
        var template = Array("/tmp/prewarm-traces-test.XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        path = String(cString: template.withUnsafeBufferPointer { $0.baseAddress! })
    }

    /// Removes the directory and everything in it (files and one level of subdirectories deep enough for tests).
    func remove() { TempDir.removeTree(path) }

    private static func removeTree(_ path: String) {
        for name in list(path) {
            let child = path + "/" + name
            if unlink(child) != 0 { removeTree(child) }
        }
        _ = rmdir(path)
    }

    func file(_ name: String) -> String { path + "/" + name }

    /// Writes `text` to `name` in this directory, plain, and returns the path.
    @discardableResult
    func write(_ name: String, _ text: String) -> String {
        writeBytes(name, Array(text.utf8))
    }

    @discardableResult
    func writeBytes(_ name: String, _ bytes: [UInt8]) -> String {
        let p = file(name)
        guard let f = fopen(p, "wb") else { fatalError("cannot create \(p)") }
        if !bytes.isEmpty { precondition(fwrite(bytes, 1, bytes.count, f) == bytes.count) }
        precondition(fclose(f) == 0)
        return p
    }

    /// Writes `text` gzip-compressed (with zlib) to `name` and returns the path.
    @discardableResult
    func writeGzip(_ name: String, _ text: String) -> String {
        let p = file(name)
        guard let gz = gzopen(p, "wb") else { fatalError("gzopen failed for \(p)") }
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = min(1 << 20, bytes.count - offset)
            let written = bytes.withUnsafeBytes { gzwrite(gz, $0.baseAddress! + offset, UInt32(n)) }
            precondition(written == Int32(n), "gzwrite failed")
            offset += n
        }
        precondition(gzclose(gz) == Z_OK)
        return p
    }

    /// The names in `directory`, without `.` and `..`.
    static func list(_ directory: String) -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }
}

/// Reads a whole file (test helper independent of the code under test).
func readAll(_ path: String) -> [UInt8] {
    guard let f = fopen(path, "rb") else { return [] }
    defer { fclose(f) }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&chunk, 1, chunk.count, f)
        if n == 0 { break }
        out += chunk[0..<n]
    }
    return out
}

/// The last path component.
func baseName(_ path: String) -> String {
    String(path.split(separator: "/").last ?? Substring(path))
}

/// The bundled 10,000-job KTH-SP2 slice, located from this source file.
func bundledSlicePath(_ filePath: String = #filePath) -> String {
    var parts = filePath.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)  // TestSupport.swift, TracesTests, Tests
    return parts.joined(separator: "/") + "/Sources/PrewarmCLI/Resources/KTH-SP2-slice.swf.gz"
}
