// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import Foundation

/// Runs the built `prewarm` executable (SwiftPM builds it for this test target).
func prewarm(_ args: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    let bin = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".build/debug/prewarm")
    let exe = ProcessInfo.processInfo.environment["PREWARM_BIN"].map(URL.init(fileURLWithPath:)) ?? bin
    let p = Process()
    p.executableURL = exe
    p.arguments = args
    let out = Pipe()
    let err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}

/// The real trace slice used by the CLI tests (first 2,500 jobs of KTH-SP2).
let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Fixtures/kth-2500.swf").path
