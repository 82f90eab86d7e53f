// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import Foundation
import HistoryStore
import PrewarmCore
@testable import PrewarmDaemon
import Testing
import Traces

/// An empty directory of its own (the caller removes it) and the jobs of the bundled KTH-SP2 slice.
private func keeperDirectory(_ name: String) throws -> (String, [JobRecord]) {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("prewarm-\(name)-\(getpid())").path
    try? FileManager.default.removeItem(atPath: dir)
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let slice = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources/PrewarmCLI/Resources/KTH-SP2-slice.swf.gz").path
    return (dir, try TraceFile.readJobs(path: slice).jobs)
}

@Test func retrainingReportsTheModelQualityToStatusAndMetrics() throws {
    let (dir, jobs) = try keeperDirectory("keeper")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let store = try HistoryStore(path: dir + "/history.db")
    _ = try store.insert(jobs.map { HistoryJob($0, cluster: "kth", utcOffset: 0, source: "swf:kth") })

    var c = try DaemonConfiguration.parse(
        "HistoryDatabase=\(dir)/history.db\nModelFile=\(dir)/prewarm.model\nRetrainInterval=300\n"
            + "RetrainHoldout=300\nRetrainMaxJobs=2000\nModelTrees=12", file: "test")
    c.mode = .forecastOnly
    let keeper = HistoryKeeper(configuration: c, log: { _ in })
    #expect(keeper.modelQuality.isEmpty)  // nothing measured yet
    keeper.retrainIfDue(now: Int64(time(nil)))  // no model yet: due at once, on a background thread
    var quality: [String: Double] = [:]
    for _ in 0 ..< 1200 where quality.isEmpty {
        usleep(100_000)
        quality = keeper.modelQuality
    }
    let accuracy = try #require(quality["holdout_accuracy"])
    let coverage = try #require(quality["p90_coverage"])
    #expect(accuracy > 0.3 && accuracy <= 1)
    #expect(coverage > 0.5 && coverage <= 1)
    #expect(FileManager.default.fileExists(atPath: dir + "/prewarm.model"))  // published: there was none
    // ModelTrees: the published forest has that many trees (the default is 100).
    let published = try SubmitModel(deserializing: try AtomicFile.read(dir + "/prewarm.model"))
    #expect(published.runtime.forest.treeCount == 12)

    // The loop puts it in status.json and the metrics.
    let cluster = ClusterState(nodes: [], partitions: [], jobs: [])
    c.stateDirectory = dir + "/state"
    c.metricsTextfile = dir + "/prewarm.prom"
    var loop = AdjustmentLoop(slurm: cluster, configuration: c, log: { _ in })
    loop.history = keeper
    _ = loop.runCycle(now: Int64(time(nil)))
    let text = try String(contentsOfFile: dir + "/prewarm.prom", encoding: .utf8)
    #expect(text.contains("prewarm_model_quality{measure=\"holdout_accuracy\"}"))
    #expect(text.contains("prewarm_model_quality{measure=\"p90_coverage\"}"))
}

/// Between retrainings the keeper republishes the model with the stored history once `HistoryRefreshInterval` has
/// passed since the model file was written, on a background thread; not before.
@Test func historyRefreshRepublishesTheModelWhenDue() throws {
    let (dir, jobs) = try keeperDirectory("refresh")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let store = try HistoryStore(path: dir + "/history.db")
    _ = try store.insert(jobs.prefix(4000).map { HistoryJob($0, cluster: "kth", utcOffset: 0, source: "swf:kth") })
    var p = RuntimeModelParameters()
    p.forest.treeCount = 4
    let model = dir + "/prewarm.model"
    let bytes = try SubmitModel.train(
        jobs: Array(jobs.prefix(2000)), capacityProcs: 0, window: 20_000, parameters: p, source: "test"
    ).serialize()
    try AtomicFile.write(bytes, to: model)

    let c = try DaemonConfiguration.parse(
        "HistoryDatabase=\(dir)/history.db\nModelFile=\(model)\nRetrainInterval=0\nHistoryRefreshInterval=600",
        file: "test")
    let lines = LockedLines()
    let keeper = HistoryKeeper(configuration: c, log: { lines.append($0) })
    let now = Int64(time(nil))
    keeper.refreshIfDue(now: now)  // written just now: not due
    usleep(300_000)
    #expect(try AtomicFile.read(model) == bytes)
    keeper.refreshIfDue(now: now + 601)
    var refreshed = bytes
    for _ in 0 ..< 300 where refreshed == bytes {
        usleep(100_000)
        refreshed = (try? AtomicFile.read(model)) ?? bytes
    }
    #expect(refreshed != bytes)
    let republished = try SubmitModel(deserializing: refreshed)
    #expect(republished.runtime.serialize() == (try SubmitModel(deserializing: bytes)).runtime.serialize())
    for _ in 0 ..< 50 where !lines.all.contains(where: { $0.hasPrefix("history refresh: republished") }) {
        usleep(100_000)
    }
    #expect(lines.all.contains { $0.hasPrefix("history refresh: republished \(model)") }, "\(lines.all)")
}

private final class LockedLines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ line: String) { lock.withLock { lines.append(line) } }
    var all: [String] { lock.withLock { lines } }
}

/// `HistoryRetention`: each cycle's `record` removes up to a batch of jobs submitted longer ago than that, the next
/// batch at the next cycle while there are more, and then looks again only an hour later.
@Test func historyRetentionRemovesOldJobsABatchPerCycle() throws {
    let (dir, jobs) = try keeperDirectory("retention")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let store = try HistoryStore(path: dir + "/history.db")
    _ = try store.insert(jobs.map { HistoryJob($0, cluster: "kth", utcOffset: 0, source: "swf:kth") })
    let submits = try store.jobs().map(\.submitTime).sorted()
    #expect(submits.count == 10_000)
    // "Now" is 30 days after the 2,500th submission: 2,499 jobs (or so, with ties) are older than 30 days.
    let now = submits[2_499] + 30 * 86_400
    let old = submits.filter { $0 < now - 30 * 86_400 }.count
    #expect(old > 2_000 && old < 2_500)
    let c = try DaemonConfiguration.parse(
        "HistoryDatabase=\(dir)/history.db\nModelFile=\(dir)/prewarm.model\nRetrainInterval=0\nHistoryRetention=30",
        file: "test")
    let lines = LockedLines()
    let keeper = HistoryKeeper(configuration: c, log: { lines.append($0) })
    #expect(HistoryKeeper.pruneBatch == 20_000)
    keeper.record(jobs: [], now: now)
    #expect(try store.count() == 10_000 - old)
    #expect(try store.jobs().allSatisfy { $0.submitTime >= now - 30 * 86_400 })
    #expect(lines.all.contains("history: removed \(old) job(s) submitted over 30 days ago (HistoryRetention)"))
    // A day later the next 1,000 or so are due, but the pass after a partial batch waits an hour.
    let later = now + 1800
    _ = try store.insert(jobs.prefix(5).map { HistoryJob($0, cluster: "kth-again", utcOffset: 0, source: "swf:kth") })
    keeper.record(jobs: [], now: later)
    #expect(try store.count() == 10_000 - old + 5)  // not due yet: the old re-imported five stay
    keeper.record(jobs: [], now: now + 3600)
    // Due again: the five, and the jobs that grew older than 30 days in that hour.
    let kept = submits.filter { $0 >= now + 3600 - 30 * 86_400 }.count
    #expect(try store.count() == kept)
    // HistoryRetention=0 (the default) keeps every job.
    let keepAll = HistoryKeeper(
        configuration: try DaemonConfiguration.parse("HistoryDatabase=\(dir)/history.db\nRetrainInterval=0", file: "t"),
        log: { _ in })
    keepAll.record(jobs: [], now: now + 365 * 86_400)
    #expect(try store.count() == kept)
}
