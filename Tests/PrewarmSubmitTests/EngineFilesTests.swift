// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import CPrewarmSubmit
import PrewarmCore
@testable import PrewarmSubmit
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The files the library reads and writes inside slurmctld, as SlurmUser meets them.

/// A fresh directory `PREFIX-XXXXXX` (mkdtemp), or nil.
private func makeTemporaryDirectory(_ prefix: String) -> String? {
    var template = Array("\(prefix)-XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { b in b.baseAddress.flatMap { mkdtemp($0) } }
    return made.map { String(cString: $0) }
}

/// What the engine logged in one test below.
private let statsLog = CapturedLog()

@Test func aStatsFileThatCannotBeWrittenIsSaidOnceAndAgainWhenItWorks() throws {
    let directory = try #require(makeTemporaryDirectory("/tmp/prewarm-stats"))
    let statsDirectory = directory + "/stats"
    let path = statsDirectory + "/prewarm-submit.stats"
    defer {
        unlink(path)
        rmdir(statsDirectory)
        rmdir(directory)
    }
    var configuration = SubmitConfiguration()
    configuration.statsFile = path
    configuration.notifySocket = ""
    configuration.modelFile = directory + "/no.model"
    let engine = Engine(configuration: configuration, path: directory + "/prewarm.conf") { _, message in
        statsLog.append(0, message)
    }
    // The directory is missing (as a StatsFile slurmctld's SlurmUser may not write): said once, not at every try.
    for _ in 0 ..< 3 { engine.writeStatsIfChanged(force: true) }
    let failures = statsLog.snapshot().filter { $0.contains("StatsFile \(path) not written") }
    #expect(failures.count == 1, "\(statsLog.snapshot())")
    #expect(failures.first?.contains("cannot create \(path).tmp.\(getpid()): No such file or directory") == true)
    #expect(access(path, F_OK) != 0)
    // Writable again: written, and said once.
    #expect(mkdir(statsDirectory, 0o755) == 0)
    for _ in 0 ..< 2 { engine.writeStatsIfChanged(force: true) }
    #expect(statsLog.snapshot().filter { $0 == "StatsFile \(path) written again" }.count == 1, "\(statsLog.snapshot())")
    #expect(access(path, R_OK) == 0)
    #expect(statsLog.snapshot().count == 2, "\(statsLog.snapshot())")
}

/// What the engine logged in one test below.
private let modelLog = CapturedLog()

/// setfsuid(2) for this thread only: root's file-access capabilities are dropped while it is not 0, so root can meet
/// "Permission denied" as slurmctld's SlurmUser does (not in Swift's Glibc module: looked up at run time).
private let setfsuid: (@convention(c) (UInt32) -> Int32)? = dlsym(nil, "setfsuid").map {
    unsafeBitCast($0, to: (@convention(c) (UInt32) -> Int32).self)
}

@Test(.enabled(if: geteuid() == 0 && setfsuid != nil))
func anUnreadableModelIsSaidOnceAndLoadedOnceItsPermissionIsFixed() throws {
    let directory = try #require(makeTemporaryDirectory("/tmp/prewarm-model-perm"))
    let path = directory + "/prewarm.model"
    defer {
        unlink(path)
        rmdir(directory)
    }
    chmod(directory, 0o755)
    var parameters = RuntimeModelParameters()
    parameters.forest.treeCount = 4
    let bytes = try SubmitModel.train(
        jobs: workload(jobs: 600, scale: 600), capacityProcs: 64, parameters: parameters, source: "perm").serialize()
    // A model copied in with root's umask 077: slurmctld's user may not read it.
    let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
    try #require(fd >= 0)
    #expect(bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == bytes.count)
    close(fd)
    var configuration = SubmitConfiguration()
    configuration.modelFile = path
    configuration.notifySocket = ""
    let engine = Engine(configuration: configuration, path: directory + "/prewarm.conf") { _, message in
        modelLog.append(0, message)
    }
    let fsuid = try #require(setfsuid)
    func look(initial: Bool = false) {
        _ = fsuid(65534)
        engine.reloadIfChanged(initial: initial)
        _ = fsuid(0)
    }
    look(initial: true)
    look()
    look()
    let refusals = modelLog.snapshot().filter { $0.contains("model \(path) not loaded (cannot open: Permission denied") }
    #expect(refusals.count == 1, "\(modelLog.snapshot())")
    #expect(modelLog.snapshot().count == 1, "\(modelLog.snapshot())")
    // chmod leaves the file's stamp (inode, size, mtime) as it was: the next look loads it all the same.
    #expect(chmod(path, 0o644) == 0)
    look()
    #expect(modelLog.snapshot().count == 2, "\(modelLog.snapshot())")
    #expect(modelLog.snapshot().last?.hasPrefix("loaded model \(ModelContainer.shortIdentifier(bytes)) from \(path)") == true)
}

/// What the engine logged in one test below.
private let confLog = CapturedLog()

@Test func anEditedPrewarmConfIsSaidOnceItWaitsForARestart() throws {
    let directory = try #require(makeTemporaryDirectory("/tmp/prewarm-conf-edit"))
    let path = directory + "/prewarm.conf"
    defer {
        unlink(path)
        rmdir(directory)
    }
    func write(_ text: String, modified: Int) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        try #require(fd >= 0)
        let bytes = Array(text.utf8)
        #expect(bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) } == bytes.count)
        close(fd)
        var times = [timespec(tv_sec: modified, tv_nsec: 0), timespec(tv_sec: modified, tv_nsec: 0)]
        try #require(utimensat(AT_FDCWD, path, &times, 0) == 0)
    }
    try write("ReloadInterval=30\n", modified: 1_700_000_000)
    let engine = Engine(configuration: SubmitConfiguration(), path: path) { _, message in
        confLog.append(0, message)
    }
    engine.configurationStamp = FileStamp(path: path)
    engine.noticeConfigurationChange()
    #expect(confLog.snapshot().isEmpty)  // as read at init
    try write("ReloadInterval=10\n", modified: 1_700_000_100)
    for _ in 0 ..< 3 { engine.noticeConfigurationChange() }
    let said = "\(path) changed; prewarm.conf is read when the plugin starts: restart slurmctld to apply it (with Slurm 23.11 or later, scontrol reconfigure does)"
    #expect(confLog.snapshot() == [said])
    try write("ReloadInterval=20\n", modified: 1_700_000_200)  // edited again: said again
    engine.noticeConfigurationChange()
    #expect(confLog.snapshot() == [said, said])
}

/// A job whose AdminComment already holds text: the annotation goes after it, and text that is too long to add it to,
/// or not UTF-8, is left exactly as it was (before 2026-12-07 it was cut to 1,024 bytes and the annotation lost, or
/// its invalid bytes rewritten as U+FFFD), counted in the stats line's `field_kept`.
@Test func textAlreadyInTheFieldIsNeverCutOrRewritten() throws {
    var configuration = SubmitConfiguration()
    configuration.notifySocket = ""
    configuration.modelFile = "/nonexistent/prewarm.model"
    let engine = Engine(configuration: configuration, path: "/nonexistent/prewarm.conf") { _, _ in }
    func profile(adminComment: [UInt8]) -> (count: Int, text: String) {
        var job = prewarm_job_t()
        job.abi = UInt32(PREWARM_SUBMIT_ABI)
        job.uid = 1000
        job.time_limit_min = 30
        job.submit_time = 1_700_000_000
        var out = [CChar](repeating: 0, count: 2048)
        let comment = adminComment.map { CChar(bitPattern: $0) } + [0]
        let count = comment.withUnsafeBufferPointer { c -> Int in
            job.admin_comment = c.baseAddress
            return withUnsafePointer(to: &job) { engine.profile($0, into: &out, capacity: out.count)?.count ?? -1 }
        }
        return (count, count > 0 ? String(cString: out) : "")
    }
    let short = profile(adminComment: Array("reserved by ops".utf8))
    #expect(short.text == "reserved by ops prewarm:v1 model=none", "\(short)")
    let earlier = profile(adminComment: Array("ops prewarm:v1 rt=5 model=0a".utf8))
    #expect(earlier.text == "ops prewarm:v1 model=none")
    let long = profile(adminComment: Array(repeating: UInt8(ascii: "x"), count: 2000))
    #expect(long.count == 0)
    let almost = profile(adminComment: Array(repeating: UInt8(ascii: "x"), count: 1010))
    #expect(almost.count == 0)  // 1,010 bytes, a space and the annotation: over 1,024
    let notUTF8 = profile(adminComment: [0x6f, 0x70, 0x73, 0xff, 0xfe])
    #expect(notUTF8.count == 0)
    let line = engine.statsLine()
    #expect(line.contains(" field_kept=3 "), Comment(rawValue: line))
    #expect(line.contains(" profiled=5 "), Comment(rawValue: line))
}
