// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import PrewarmCore
import Testing

/// Which prewarmd acts with a backup controller: the one on the first controller that answers.
private func role(_ controllers: [String], host: String, up: Set<Int>) -> (ControllerRole, [Int]) {
    var pinged: [Int] = []
    let r = ControllerRole.decide(controllers: controllers, hostName: host) { i in
        pinged.append(i)
        return up.contains(i)
    }
    return (r, pinged)
}

@Test func oneControllerOrAnotherHostAlwaysActsWithoutAPing() {
    #expect(role(["ctl1"], host: "ctl1", up: []) == (.always, []))
    #expect(role(["ctl1", "ctl2"], host: "login1", up: [0, 1]) == (.always, []))
    #expect(role([], host: "ctl1", up: []) == (.always, []))
    #expect(role(["ctl1", "ctl2"], host: "", up: [0]) == (.always, []))
}

@Test func thePrimaryActsWhileItAnswers() {
    let (r, pinged) = role(["ctl1", "ctl2"], host: "ctl1", up: [0, 1])
    #expect(r == .inControl(index: 0, host: "ctl1"))
    #expect(r.acts)
    #expect(pinged == [0])  // the backup is not asked
}

@Test func theBackupStandsByWhileThePrimaryAnswers() {
    let (r, pinged) = role(["ctl1", "ctl2"], host: "ctl2", up: [0, 1])
    #expect(r == .standby(inControl: "ctl1", thisHost: "ctl2"))
    #expect(!r.acts)
    #expect(pinged == [0])
    #expect(r.description == "standby: slurmctld on ctl1 is in control, not this host's (ctl2); the prewarmd there acts")
}

@Test func theBackupActsWhenThePrimaryIsSilent() {
    let (r, pinged) = role(["ctl1", "ctl2", "ctl3"], host: "ctl2", up: [1, 2])
    #expect(r == .inControl(index: 1, host: "ctl2"))
    #expect(pinged == [0, 1])
    // The third controller takes over only when both before it are silent.
    #expect(role(["ctl1", "ctl2", "ctl3"], host: "ctl3", up: [1, 2]).0 == .standby(inControl: "ctl2", thisHost: "ctl3"))
    #expect(role(["ctl1", "ctl2", "ctl3"], host: "ctl3", up: [2]).0 == .inControl(index: 2, host: "ctl3"))
}

@Test func aSilentLocalControllerStandsBy() {
    // This host's slurmctld is down: a later controller may be in control, or none.
    #expect(role(["ctl1", "ctl2"], host: "ctl1", up: [1]) == (.standby(inControl: "ctl2", thisHost: "ctl1"), [0, 1]))
    let (r, _) = role(["ctl1", "ctl2"], host: "ctl1", up: [])
    #expect(r == .standby(inControl: nil, thisHost: "ctl1"))
    #expect(r.description == "standby: no slurmctld answers, this host's (ctl1) neither")
}

@Test func hostNamesMatchByTheirFirstLabelWhateverTheCase() {
    #expect(role(["ctl1", "CTL2"], host: "ctl2.cluster.example.org", up: [1]).0 == .inControl(index: 1, host: "CTL2"))
    #expect(role(["ctl1.example.org", "ctl2.example.org"], host: "Ctl1", up: [0]).0
        == .inControl(index: 0, host: "ctl1.example.org"))
    #expect(role(["ctl1", "ctl2"], host: "ctl10", up: [0]).0 == .always)
}
