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

    /// Retraining options small enough for a test: 500 held-out jobs, 8 trees.
    static var quickOptions: Retraining.Options {
        var options = Retraining.Options()
        options.holdout = 500
        options.trees = 8
        return options
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
        let options = Self.quickOptions

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

    @Test func retrainsWithoutScaleRefinementWhenAsked() throws {
        // prewarmd's ScaleRefinement=no (and `prewarm history retrain --no-refine`): the published model keeps it,
        // and its predictions choose a candidate as it is (scale 1); the default model scales some of them.
        let dir = TempDir()
        defer { dir.remove() }
        let (store, jobs) = try Self.kthStore(dir)
        let modelPath = dir.path + "/prewarm.model"
        var options = Self.quickOptions
        #expect(options.refineScale)
        func scales(_ refine: Bool) throws -> [Float] {
            options.refineScale = refine
            try? FileManager.default.removeItem(atPath: modelPath)
            #expect(try Retraining.run(store: store, modelPath: modelPath, options: options).published)
            var model = try SubmitModel(deserializing: try AtomicFile.read(modelPath))
            #expect(model.runtime.parameters.refineScale == refine)
            return jobs.suffix(300).map { model.predict($0, recording: true).scale }
        }
        #expect(try scales(false).allSatisfy { $0 == 1 })
        #expect(try scales(true).contains { $0 != 1 })
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

    /// A history refresh republishes the same runtime model with the history of every stored job (what the
    /// job_submit plugin cannot learn by itself: job ends), leaves a current file alone, and refuses without a
    /// usable model.
    @Test func historyRefreshRepublishesTheSameModelWithTheStoredHistory() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let loaded = try TraceFile.readJobs(path: kthSlice)
        let rows = loaded.jobs.map { HistoryJob($0, cluster: "kth", utcOffset: 0, source: "swf:kth") }
        let store = try HistoryStore(path: dir.path + "/h.db")
        try store.insert(Array(rows.prefix(3000)))
        let modelPath = dir.path + "/prewarm.model"

        let missing = Result { () throws(Retraining.Failure) in
            try Retraining.refreshHistory(store: store, modelPath: modelPath, maxJobs: 100_000)
        }
        guard case .failure(let f) = missing else { Issue.record("refreshed without a model"); return }
        #expect(f.description.contains("no usable published model to refresh at \(modelPath)"))

        // Published from the first 3,000 jobs (with their history), then 2,000 more jobs are stored.
        let original = try SubmitModel(deserializing: try Self.model(Array(loaded.jobs.prefix(3000)), trees: 4))
        var published = original
        published.history = Retraining.publishedHistory(of: try store.jobs(newest: 100_000).map(\.jobRecord)).0
        try AtomicFile.write(published.serialize(), to: modelPath)
        let unchanged = try Retraining.refreshHistory(store: store, modelPath: modelPath, maxJobs: 100_000)
        #expect(!unchanged.written)  // its history already holds every stored job
        try store.insert(Array(rows[3000 ..< 5000]))
        let r = try Retraining.refreshHistory(store: store, modelPath: modelPath, maxJobs: 100_000)
        #expect(r.written && r.jobs == 5000)
        let refreshed = try SubmitModel(deserializing: try AtomicFile.read(modelPath))
        #expect(refreshed.runtime.serialize() == published.runtime.serialize())
        #expect(refreshed.trainedAt == published.trainedAt && refreshed.source == published.source)
        #expect(refreshed.holdoutAccuracy == published.holdoutAccuracy)
        let expected = Retraining.publishedHistory(of: try store.jobs(newest: 100_000).map(\.jobRecord)).0
        #expect(refreshed.history.serialize() == expected.serialize())
        #expect(refreshed.history.serialize() != published.history.serialize())
        #expect(ModelContainer.shortIdentifier(try AtomicFile.read(modelPath)) == r.modelID)
        #expect(!(try Retraining.refreshHistory(store: store, modelPath: modelPath, maxJobs: 100_000)).written)
    }
}
