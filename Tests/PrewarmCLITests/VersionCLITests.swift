// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing

/// `prewarm --version` and `prewarmd --version` print Packaging/VERSION, the Debian package's upstream version.
@Test func bothExecutablesPrintThePackagesVersion() throws {
    let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    let version = try String(contentsOf: repository.appendingPathComponent("Packaging/VERSION"), encoding: .utf8)
        .trimmingCharacters(in: .whitespacesAndNewlines)
    #expect(!version.isEmpty)
    let cli = try prewarm(["--version"])
    #expect(cli.status == 0)
    #expect(cli.stdout == "prewarm \(version)\n")
    // prewarmd is built beside prewarm.
    let daemon = try run(prewarmdExecutable, ["--version"])
    #expect(daemon.status == 0)
    #expect(daemon.stdout == "prewarmd \(version)\n")
    let help = try run(prewarmdExecutable, ["--help"])
    #expect(help.stdout.contains("[--version]"))
}
