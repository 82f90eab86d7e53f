// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import Foundation
import HistoryStore
import PrewarmCore
import Testing
import Traces

@Suite struct RetrainingTests {
    /// A store holding the bundled KTH-SP2 slice.
    static func kthStore(_ dir: TempDir) throws -> (HistoryStore, [JobRecord]) {
        let loaded = try TraceFile.readJobs(path: kthSlice)
        let store = try HistoryStore(path: dir.path + "/h.db")
        try store.insert(loaded.jobs.map { HistoryJob($0, cluster: "kth", utcOffset: 0, source: "swf:kth") })
        return (store, loaded.jobs)
    }

    static func model(_ jobs: [JobRecord], trees: Int, window: Int = 20_000) throws -> [UInt8] {
        var p = RuntimeModelParameters()
        p.forest.treeCount = trees
        return try SubmitModel.train(jobs: jobs, capacityProcs: 0, window: window, parameters: p, source: "test")
            .serialize()
    }

    @Test func replacesABadModelAndKeepsABetterOne() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let (store, jobs) = try Self.kthStore(dir)
        let modelPath = dir.path + "/prewarm.model"
        var options = Retraining.Options()
        options.holdout = 500
        options.trees = 8

        // No model yet: published.
        let first = try Retraining.run(store: store, modelPath: modelPath, options: options)
        #expect(first.published)
        #expect(first.current == nil)
        #expect(first.heldOut == 500)
        #expect(first.reason.hasPrefix("no published model"))
        let published = try SubmitModel(deserializing: try AtomicFile.read(modelPath))
        #expect(published.holdoutAccuracy == first.candidate.accuracy)
        #expect(first.candidate.accuracy > 0.6)

        // A deliberately bad published model (one tree, trained on the 100 oldest jobs): replaced.
        let bad = try Self.model(Array(jobs.prefix(100)), trees: 1)
        try AtomicFile.write(bad, to: modelPath)
        let replaced = try Retraining.run(store: store, modelPath: modelPath, options: options)
        #expect(replaced.published)
        let badScore = try #require(replaced.current)
        #expect(badScore.accuracy < replaced.candidate.accuracy)
        #expect(replaced.reason.hasPrefix("new model no worse"))
        #expect(try AtomicFile.read(modelPath) != bad)

        // A better published model (more trees, trained on everything, the held-out jobs included) is kept, and
        // the file is left untouched; the candidate here is deliberately weak (one tree, 50 jobs).
        let good = try Self.model(jobs, trees: 16)
        try AtomicFile.write(good, to: modelPath)
        var weak = options
        weak.trees = 1
        weak.window = 50
        let kept = try Retraining.run(store: store, modelPath: modelPath, options: weak)
        #expect(!kept.published)
        #expect(kept.modelID == nil)
        let goodScore = try #require(kept.current)
        #expect(goodScore.accuracy > kept.candidate.accuracy)
        #expect(kept.reason.hasPrefix("new model less accurate than the published one; keeping it"))
        #expect(try AtomicFile.read(modelPath) == good)

        // A corrupt published file is replaced.
        try AtomicFile.write(Array(good.prefix(100)), to: modelPath)
        let repaired = try Retraining.run(store: store, modelPath: modelPath, options: options)
        #expect(repaired.published)
        #expect(repaired.reason.hasPrefix("published model unusable"))
    }

    @Test func refusesTooSmallAHistory() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let store = try HistoryStore(path: dir.path + "/h.db")
        try store.insert((1 ... 40).map { sampleJob($0, submit: 1_700_000_000 + $0 * 100) })
        do {
            _ = try Retraining.run(store: store, modelPath: dir.path + "/m.model")
            Issue.record("retrained on 40 jobs")
        } catch {
            #expect(error.description.contains("40 finished jobs"))
        }
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/m.model"))
    }
}
