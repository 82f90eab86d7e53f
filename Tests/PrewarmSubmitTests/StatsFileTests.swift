// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import PrewarmCore
@testable import PrewarmSubmit
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// What the engine logged (its log callback is a C function: no context, so a global; one test uses it).
private enum StatsLog {
    nonisolated(unsafe) static var lines: [String] = []
}

@Test func aStatsFileThatCannotBeWrittenIsSaidOnceAndAgainWhenItWorks() throws {
    var template = Array("/tmp/prewarm-stats-XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { b in b.baseAddress.flatMap { mkdtemp($0) } }
    let directory = try #require(made.map { String(cString: $0) })
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
    StatsLog.lines = []
    let engine = Engine(configuration: configuration, path: directory + "/prewarm.conf") { _, message in
        StatsLog.lines.append(message.map { String(cString: $0) } ?? "")
    }
    // The directory is missing (as a StatsFile slurmctld's SlurmUser may not write): said once, not at every try.
    for _ in 0 ..< 3 { engine.writeStatsIfChanged(force: true) }
    let failures = StatsLog.lines.filter { $0.contains("StatsFile \(path) not written") }
    #expect(failures.count == 1, "\(StatsLog.lines)")
    #expect(failures.first?.contains("cannot create \(path).tmp.\(getpid()): No such file or directory") == true)
    #expect(access(path, F_OK) != 0)
    // Writable again: written, and said once.
    #expect(mkdir(statsDirectory, 0o755) == 0)
    for _ in 0 ..< 2 { engine.writeStatsIfChanged(force: true) }
    #expect(StatsLog.lines.filter { $0 == "StatsFile \(path) written again" }.count == 1, "\(StatsLog.lines)")
    #expect(access(path, R_OK) == 0)
    #expect(StatsLog.lines.count == 2, "\(StatsLog.lines)")
}
