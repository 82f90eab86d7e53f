// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import Foundation

/// The built `prewarm` executable (SwiftPM builds it for this test target), or `$PREWARM_BIN`.
let prewarmExecutable: URL = ProcessInfo.processInfo.environment["PREWARM_BIN"].map(URL.init(fileURLWithPath:))
    ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".build/debug/prewarm")

/// The `prewarmd` built beside it.
let prewarmdExecutable = prewarmExecutable.deletingLastPathComponent().appendingPathComponent("prewarmd")

/// Runs the built `prewarm` executable; `environment` replaces the inherited one when given.
func prewarm(_ args: [String], environment: [String: String]? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
    try run(prewarmExecutable, args, environment: environment)
}

/// Runs `executable` with `args`, capturing stdout and stderr.
func run(_ executable: URL, _ args: [String], environment: [String: String]? = nil) throws
    -> (status: Int32, stdout: String, stderr: String)
{
    let p = Process()
    p.executableURL = executable
    p.arguments = args
    if let environment { p.environment = environment }
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
