// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import Foundation
import HistoryStore
import PrewarmCore
@testable import PrewarmDaemon
import Testing
import Traces

@Test func retrainingReportsTheModelQualityToStatusAndMetrics() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("prewarm-keeper-\(getpid())").path
    try? FileManager.default.removeItem(atPath: dir)
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let slice = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources/PrewarmCLI/Resources/KTH-SP2-slice.swf.gz").path
    let jobs = try TraceFile.readJobs(path: slice).jobs
    let store = try HistoryStore(path: dir + "/history.db")
    _ = try store.insert(jobs.map { HistoryJob($0, cluster: "kth", utcOffset: 0, source: "swf:kth") })

    var c = try DaemonConfiguration.parse(
        "HistoryDatabase=\(dir)/history.db\nModelFile=\(dir)/prewarm.model\nRetrainInterval=300\n"
            + "RetrainHoldout=300\nRetrainMaxJobs=2000", file: "test")
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
