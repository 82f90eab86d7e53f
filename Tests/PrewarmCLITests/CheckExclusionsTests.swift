// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import Foundation
import PrewarmCore
import SlurmKit
import Testing

@testable import PrewarmCLI

/// `prewarm check` with Slurm's power-saving exclusions: what prewarmd never touches, what it never powers down
/// now, and what it cannot resolve.
private func exclusionFindings(nodes value: String, states: String = "", syntax: SuspendExclusionSyntax) -> [String] {
    var settings = SlurmControllerSettings()
    settings.slurmUser = "nobody"
    settings.controllers = ["ctl1"]
    settings.resumeProgram = "/bin/true"
    settings.suspendProgram = "/bin/true"
    settings.suspendExcludedNodes = value
    settings.suspendExcludedStates = states
    settings.suspendExclusionSyntax = syntax
    settings.nodes = (1 ... 4).map { SlurmNode(name: "c\($0)", base: .idle, flags: [.cloud], partitions: ["p"]) }
        + [SlurmNode(name: "login1", base: .idle, flags: [], partitions: ["p"])]
    var check = InstallationCheck(
        submitPath: "/nonexistent/prewarm.conf", daemonPath: "/nonexistent/prewarmd.conf",
        powerPath: "/nonexistent/power.conf", libraryPath: "/nonexistent/lib.so")
    check.slurm = .loaded(settings)
    check.hostName = "ctl1"
    return check.run().map(\.line)
}

@Test func checkSaysHowSlurmsExclusionsAreRead() {
    let counted = exclusionFindings(nodes: "c[1-4]:2,login1", syntax: .upTo2311)
    #expect(counted.contains {
        $0.hasPrefix("ok") && $0.contains("SuspendExcNodes=c[1-4]:2,login1 (read as Slurm 22.05 to 23.11 reads it)")
            && $0.hasSuffix("prewarmd never touches login1 and never powers down c[1-2] (the nodes Slurm keeps up now)")
    }, "\(counted)")
    let states = exclusionFindings(nodes: "", states: "CLOUD", syntax: .since2405)
    #expect(states.contains { $0.hasPrefix("ok") && $0.hasSuffix("prewarmd never powers down c[1-4] (the nodes Slurm keeps up now)") }, "\(states)")
    let nodeSet = exclusionFindings(nodes: "cloudset", syntax: .since2405)
    #expect(nodeSet.contains { $0.hasPrefix("warning") && $0.contains("'cloudset'") && $0.contains("powers no node down") }, "\(nodeSet)")
    #expect(!exclusionFindings(nodes: "", syntax: .since2405).contains { $0.contains("SuspendExc") })
}
