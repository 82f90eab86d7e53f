// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import Foundation
import SlurmKit
import Testing

@testable import PrewarmCLI

/// `prewarm check` with a backup controller: the model has to be where both controllers' plugins read it.
private func controllerFindings(
    controllers: [String], model: String, plugins: [String] = ["prewarm"],
    daemonConf: String? = nil, fileSystem: ((String) -> FileSystemSharing)? = nil, hostName: String = "ctl1"
) throws -> [String] {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("prewarm-check-ha-\(getpid())-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let conf = dir.appendingPathComponent("prewarm.conf").path
    try "ModelFile=\(model)\nNotifySocket=\(dir.path)/d.sock\n".write(toFile: conf, atomically: false, encoding: .utf8)
    let daemonPath = dir.appendingPathComponent(daemonConf == nil ? "none.conf" : "prewarmd.conf").path
    if let daemonConf {
        try "NotifySocket=\(dir.path)/d.sock\nModelFile=\(model)\n\(daemonConf)".write(
            toFile: daemonPath, atomically: false, encoding: .utf8)
    }
    var settings = SlurmControllerSettings()
    settings.slurmUser = "nobody"
    settings.jobSubmitPlugins = plugins
    settings.controllers = controllers
    settings.stateSaveLocation = "/var/spool/slurmctld"
    var check = InstallationCheck(
        submitPath: conf, daemonPath: daemonPath,
        powerPath: dir.appendingPathComponent("none-power.conf").path, libraryPath: "/nonexistent/lib.so")
    check.slurm = .loaded(settings)
    if let fileSystem { check.fileSystem = fileSystem }
    check.hostName = hostName
    return check.run().map(\.line)
}

@Test func oneControllerSaysNothingOfFailover() throws {
    let lines = try controllerFindings(controllers: ["ctl1"], model: "/dev/shm/prewarm-none/m.model")
    #expect(!lines.contains { $0.contains("controllers (SlurmctldHost") || $0.contains("failover") }, "\(lines)")
}

@Test func aBackupControllerWithALocalModelIsAWarning() throws {
    // /dev/shm is tmpfs on Linux: this host's own memory. The model need not exist yet (its directory's
    // filesystem is the one prewarmd will publish on).
    let lines = try controllerFindings(
        controllers: ["ctl1", "ctl2"], model: "/dev/shm/prewarm-none/m.model",
        fileSystem: { $0.hasPrefix("/var/spool/") ? .of(type: 0x0BD0_0BD0) : FileSystemSharing.at($0) })
    #expect(lines.contains {
        $0.hasPrefix("note    2 controllers (SlurmctldHost ctl1, ctl2): whichever runs loads job_submit/prewarm")
    }, "\(lines)")
    let warning = lines.first { $0.hasPrefix("warning ModelFile /dev/shm/prewarm-none/m.model ") }
    #expect(warning?.contains("on this host's own filesystem (tmpfs)") == true, "\(lines)")
    #expect(warning?.hasSuffix("to storage both controllers mount, e.g. beside StateSaveLocation (/var/spool/slurmctld, lustre)") == true, "\(lines)")
    // slurmctld's own state on a local disk is no place to suggest.
    let local = try controllerFindings(
        controllers: ["ctl1", "ctl2"], model: "/dev/shm/prewarm-none/m.model", fileSystem: { _ in .of(type: 0xEF53) })
    #expect(local.contains { $0.hasPrefix("warning ModelFile") && $0.hasSuffix("storage both controllers mount") }, "\(local)")
}

@Test func aBackupControllerWithASharedModelIsFine() throws {
    let lines = try controllerFindings(
        controllers: ["ctl1", "ctl2", "ctl3"], model: "/shared/prewarm/m.model",
        fileSystem: { $0.hasPrefix("/shared") ? .of(type: 0x6969) : .of(type: 0xEF53) })
    #expect(lines.contains { $0.hasPrefix("note    3 controllers (SlurmctldHost ctl1, ctl2, ctl3)") })
    #expect(lines.contains { $0.hasPrefix("ok      ModelFile /shared/prewarm/m.model is on nfs, ") }, "\(lines)")
    #expect(!lines.contains { $0.hasPrefix("warning ModelFile") })
    // A filesystem the list does not know (FUSE: GlusterFS, WekaFS, sshfs...) is said, not judged.
    let fuse = try controllerFindings(
        controllers: ["ctl1", "ctl2"], model: "/gluster/m.model", fileSystem: { _ in .of(type: 0x6573_5546) })
    #expect(fuse.contains { $0.hasPrefix("note    ModelFile /gluster/m.model is on a filesystem of type fuse: ") }, "\(fuse)")
}

@Test func prewarmdsStateOnOneHostIsNotedWithABackupController() throws {
    let conf = "StateDirectory=/var/lib/prewarm\nHistoryDatabase=/var/lib/prewarm/history.db\n"
    let local = try controllerFindings(
        controllers: ["ctl1", "ctl2"], model: "/shared/m.model", daemonConf: conf,
        fileSystem: { $0.hasPrefix("/shared") ? .of(type: 0x6969) : .of(type: 0x5846_5342) })
    #expect(local.contains {
        $0.hasPrefix("note    StateDirectory /var/lib/prewarm is on this host's own filesystem (xfs): after a takeover the "
            + "prewarmd on the other controller begins its hourly budget again")
    }, "\(local)")
    #expect(!local.contains { $0.contains("HistoryDatabase") }, "\(local)")
    let shared = try controllerFindings(
        controllers: ["ctl1", "ctl2"], model: "/shared/m.model", daemonConf: "StateDirectory=/shared/prewarm\n",
        fileSystem: { $0.hasPrefix("/shared") ? .of(type: 0x6969) : .of(type: 0x5846_5342) })
    #expect(!shared.contains { $0.contains("StateDirectory") }, "\(shared)")
    let alone = try controllerFindings(
        controllers: ["ctl1", "ctl2"], model: "/shared/m.model", daemonConf: conf + "FollowController=no\n",
        fileSystem: { $0.hasPrefix("/shared") ? .of(type: 0x6969) : .of(type: 0x5846_5342) })
    #expect(!alone.contains { $0.contains("StateDirectory") }, "\(alone)")
    #expect(alone.contains { $0 == "note    FollowController=no: this prewarmd acts whichever controller is in control; run it on one host only" }, "\(alone)")
    let one = try controllerFindings(
        controllers: ["ctl1"], model: "/shared/m.model", daemonConf: conf, fileSystem: { _ in .of(type: 0x5846_5342) })
    #expect(!one.contains { $0.contains("StateDirectory") }, "\(one)")
}

@Test func checkSaysWhetherThisHostsPrewarmdFollowsAController() throws {
    let conf = "StateDirectory=/shared/prewarm\n"
    let shared: (String) -> FileSystemSharing = { _ in .of(type: 0x6969) }
    let second = try controllerFindings(
        controllers: ["ctl1", "ctl2"], model: "/shared/m.model", daemonConf: conf, fileSystem: shared,
        hostName: "ctl2.example.org")
    #expect(second.contains {
        $0 == "ok      this host (ctl2.example.org) is SlurmctldHost number 2: its prewarmd acts while its slurmctld is in "
            + "control and stands by otherwise"
    }, "\(second)")
    let login = try controllerFindings(
        controllers: ["ctl1", "ctl2"], model: "/shared/m.model", daemonConf: conf, fileSystem: shared, hostName: "login1")
    #expect(login.contains { $0.hasPrefix("note    this host (login1) is none of the controllers: a prewarmd here acts") },
        "\(login)")
    // Without prewarmd.conf (prewarmd may not run here) or with one controller: nothing said.
    let none = try controllerFindings(controllers: ["ctl1", "ctl2"], model: "/shared/m.model", fileSystem: shared)
    #expect(!none.contains { $0.contains("this host (") }, "\(none)")
    let one = try controllerFindings(controllers: ["ctl1"], model: "/shared/m.model", daemonConf: conf, fileSystem: shared)
    #expect(!one.contains { $0.contains("this host (") }, "\(one)")
}

@Test func aHistoryDatabaseOnANetworkFilesystemIsAWarning() throws {
    // One controller or two: SQLite's WAL mode needs every user of the file on one host.
    for controllers in [["ctl1"], ["ctl1", "ctl2"]] {
        let lines = try controllerFindings(
            controllers: controllers, model: "/var/lib/prewarm/m.model",
            daemonConf: "HistoryDatabase=/shared/prewarm/history.db\n",
            fileSystem: { $0.hasPrefix("/shared") ? .of(type: 0x0BD0_0BD0) : .of(type: 0xEF53) })
        #expect(lines.contains {
            $0.hasPrefix("warning HistoryDatabase /shared/prewarm/history.db is on lustre, a network filesystem: the "
                + "history is SQLite in WAL mode")
        }, "\(lines)")
    }
    let local = try controllerFindings(
        controllers: ["ctl1"], model: "/var/lib/prewarm/m.model",
        daemonConf: "HistoryDatabase=/var/lib/prewarm/history.db\n", fileSystem: { _ in .of(type: 0xEF53) })
    #expect(!local.contains { $0.contains("HistoryDatabase") }, "\(local)")
}

@Test func withoutThePluginOnlyTheControllersAreNoted() throws {
    let lines = try controllerFindings(controllers: ["ctl1", "ctl2"], model: "/dev/shm/m.model", plugins: ["lua"])
    #expect(lines.contains { $0.hasPrefix("note    2 controllers") })
    #expect(!lines.contains { $0.contains("ModelFile /dev/shm/m.model") }, "\(lines)")
}

@Test func fileSystemsAreNamedByTheirMagicNumbers() {
    #expect(FileSystemSharing.of(type: 0x6969) == .shared("nfs"))
    #expect(FileSystemSharing.of(type: 0x0BD0_0BD0) == .shared("lustre"))
    #expect(FileSystemSharing.of(type: 0x4750_4653) == .shared("gpfs"))
    #expect(FileSystemSharing.of(type: 0xEF53) == .local("ext2/3/4"))
    #expect(FileSystemSharing.of(type: 0x1234) == .unknown("0x1234"))
    // A missing file is judged by its nearest existing directory; this host's own are told apart.
    #expect(FileSystemSharing.at("/dev/shm/prewarm-missing/a/b/m.model") == .local("tmpfs"))
    #expect(FileSystemSharing.at("/proc/self/status") == .unknown("0x9fa0"))
}
