// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
//
// The daemon's job history and retraining (issue #5, items 2 and 3): each cycle stores the finished jobs the
// cycle loaded from Slurm (`HistoryDatabase=`); every `RetrainInterval` seconds a background thread retrains the
// plugin's model from the history and publishes it only if it is no worse (`HistoryStore.Retraining`); every
// `HistoryRefreshInterval` seconds between retrainings it republishes the model with the current history
// (`Retraining.refreshHistory`: the plugin sees no job end, so its users' last runtimes go stale otherwise).
//
// Where the daemon calls it:
//   AdjustmentLoop:           var history: HistoryKeeper?
//   AdjustmentLoop.runCycle, after `failures = 0`:   history?.record(jobs: jobs, now: now)
//   Daemon.main, once at start:                      let history = HistoryKeeper(configuration: configuration, log: log)
//   Daemon.main, when it starts to act:              loop.history = history
//   Daemon.main, while it stands by (FollowController): history.record(jobs: slurm.loadJobs(), now: …)
//   Daemon.main, after `loop.runCycle(…)`:           loop.history?.retrainIfDue(now: Int64(time(nil)))
//                                                    loop.history?.refreshIfDue(now: Int64(time(nil)))
//   Daemon.main, on SIGHUP with the new `c`:         history.configuration = c

import Foundation
import HistoryStore
import PrewarmCore
import SlurmKit

final class HistoryKeeper: @unchecked Sendable {
    /// Replaced on SIGHUP; a changed `HistoryDatabase` reopens the store at the next `record`.
    var configuration: DaemonConfiguration
    private let log: @Sendable (String) -> Void
    private var store: HistoryStore?
    private var openFailedAt: Int64?
    /// Unix time of the last retraining attempt (initially the published model's modification time).
    private var lastRetrain: Int64?
    /// Unix time of the last history refresh (initially the published model's modification time).
    private var lastRefresh: Int64?
    private let lock = NSLock()
    /// Under `lock`: a retraining or history refresh thread is running (they both write the model file: one at a
    /// time); when the last retraining failed, the time to try again.
    private var retraining = false
    private var retryAt: Int64?
    /// Under `lock`: the published model's scores at the last retraining (held-out newest finished jobs).
    private var lastScore: Retraining.Score?

    /// The published model's quality as the last retraining measured it (empty before one has run).
    var modelQuality: [String: Double] {
        guard let s = lock.withLock({ lastScore }) else { return [:] }
        return ["holdout_accuracy": s.accuracy, "p90_coverage": s.p90Coverage]
    }

    /// A store that cannot be opened is retried after this long.
    static let reopenDelay: Int64 = 300
    /// A retraining that failed (too few jobs, I/O) is retried after this long (or the interval, if shorter).
    static let retryDelay: Int64 = 3600

    init(configuration: DaemonConfiguration, log: @escaping @Sendable (String) -> Void) {
        self.configuration = configuration
        self.log = log
    }

    private var enabled: Bool { !configuration.historyDatabase.isEmpty }

    /// The newest `newest` stored jobs, as the demand learner replays them (empty when disabled or on error;
    /// ``HistoryStore/pastJobs(newest:sharing:)``, which `prewarm forecast --db` uses too).
    func pastJobs(newest: Int, sharing: NodeSharing) -> [DemandLearner.PastJob] {
        guard enabled, FileManager.default.fileExists(atPath: configuration.historyDatabase) else { return [] }
        do {
            let store = try HistoryStore(path: configuration.historyDatabase, readOnly: true)
            return try store.pastJobs(newest: newest, sharing: sharing)
        } catch {
            log("error: history: \(error); arrivals are learned from live jobs only")
            return []
        }
    }

    /// Stores the finished jobs among `jobs` (one transaction). Never throws: problems are logged.
    /// - Returns: how many rows were new (0 when disabled or on error).
    @discardableResult
    func record(jobs: [SlurmJob], now: Int64) -> Int {
        guard enabled else { return 0 }
        if let s = store, s.path != configuration.historyDatabase { store = nil }
        if store == nil {
            if let failed = openFailedAt, now - failed < Self.reopenDelay { return 0 }
            do {
                store = try HistoryStore(path: configuration.historyDatabase)
                openFailedAt = nil
                log("history: \(configuration.historyDatabase) open")
            } catch {
                openFailedAt = now
                log("error: history: \(error); retrying in \(Self.reopenDelay)s")
                return 0
            }
        }
        guard let store else { return 0 }
        do {
            let added = try HistoryIngest.ingest(jobs: jobs, into: store, cluster: "default", now: now)
            if added > 0 { log("history: stored \(added) finished job(s)") }
            try pruneIfDue(store, now: now)
            return added
        } catch {
            log("error: history: \(error)")
            self.store = nil  // reopen (and re-check) next cycle
            return 0
        }
    }

    /// Jobs removed per cycle at most under `HistoryRetention`.
    static let pruneBatch = HistoryStore.removalBatch
    /// When the next `HistoryRetention` pass is due: an hour after one that found less than a batch to remove, the
    /// next cycle after a full batch.
    private var nextPrune: Int64 = 0

    /// Removes up to ``pruneBatch`` jobs submitted over `HistoryRetention` days ago, when due.
    private func pruneIfDue(_ store: HistoryStore, now: Int64) throws(HistoryStoreError) {
        let days = configuration.historyRetentionDays
        guard days > 0, now >= nextPrune else { return }
        let removed = try store.removeJobs(submittedBefore: now - Int64(days) * 86_400, limit: Self.pruneBatch)
        nextPrune = removed == Self.pruneBatch ? now : now + 3600
        if removed > 0 { log("history: removed \(removed) job(s) submitted over \(days) days ago (HistoryRetention)") }
    }

    /// Starts a retraining on a background thread when `RetrainInterval` has passed since the last one (or since
    /// the published model was written) and none is running. Cheap when not due.
    func retrainIfDue(now: Int64) {
        let c = configuration
        guard enabled, c.retrainInterval > 0 else { return }
        if lastRetrain == nil {
            var st = stat()
            lastRetrain = stat(c.modelFile, &st) == 0 ? Int64(st.st_mtim.tv_sec) : 0
        }
        let interval = Int64(c.retrainInterval)
        if let retry = lock.withLock({ () -> Int64? in
            defer { retryAt = nil }
            return retryAt
        }) {
            lastRetrain = retry - interval
        }
        guard let last = lastRetrain, now - last >= interval else { return }
        let busy = lock.withLock { () -> Bool in
            if retraining { return true }
            retraining = true
            return false
        }
        guard !busy else { return }
        lastRetrain = now
        var options = Retraining.Options()
        options.holdout = c.retrainHoldout
        options.maxJobs = c.retrainMaxJobs
        options.refineScale = c.scaleRefinement
        options.trees = c.modelTrees
        let database = c.historyDatabase
        let model = c.modelFile
        let log = self.log
        let thread = Thread { [self, options] in
            log("retrain: started from \(database) (newest \(options.maxJobs) jobs, \(options.holdout) held out, \(options.trees) trees)")
            do {
                let store = try HistoryStore(path: database, readOnly: true)
                let d = try Retraining.run(store: store, modelPath: model, options: options)
                self.lock.withLock { self.lastScore = d.published ? d.candidate : (d.current ?? d.candidate) }
                let verdict = d.published ? "published \(model) (model \(d.modelID ?? "?"))" : "kept \(model)"
                log("retrain: \(verdict): \(d.reason); \(d.trainingJobs) training jobs, "
                    + String(format: "%.1fs", d.seconds))
            } catch {
                let delay = min(Self.retryDelay, interval)
                log("retrain: failed: \(error); retrying in \(delay)s")
                self.lock.withLock { self.retryAt = now + delay }
            }
            self.lock.withLock { self.retraining = false }
        }
        thread.name = "prewarmd-retrain"
        thread.start()
    }

    /// Starts a history refresh on a background thread when `HistoryRefreshInterval` has passed since the last
    /// one or since the model file was last written (a retraining's publication is a refresh too), and no
    /// retraining or refresh is running. Cheap when not due.
    func refreshIfDue(now: Int64) {
        let c = configuration
        guard enabled, c.historyRefreshInterval > 0 else { return }
        var st = stat()
        let written = stat(c.modelFile, &st) == 0 ? Int64(st.st_mtim.tv_sec) : nil
        guard let written else { return }  // nothing published to refresh yet
        let last = Swift.max(lastRefresh ?? written, written)
        guard now - last >= Int64(c.historyRefreshInterval) else { return }
        let busy = lock.withLock { () -> Bool in
            if retraining { return true }
            retraining = true
            return false
        }
        guard !busy else { return }
        lastRefresh = now
        let database = c.historyDatabase
        let model = c.modelFile
        let maxJobs = c.retrainMaxJobs
        let log = self.log
        let thread = Thread { [self] in
            do {
                let store = try HistoryStore(path: database, readOnly: true)
                let r = try Retraining.refreshHistory(store: store, modelPath: model, maxJobs: maxJobs)
                if r.written {
                    log("history refresh: republished \(model) (model \(r.modelID)) with the history of \(r.jobs) "
                        + "stored jobs, " + String(format: "%.1fs", r.seconds))
                }
            } catch {
                log("history refresh: failed: \(error)")
            }
            self.lock.withLock { self.retraining = false }
        }
        thread.name = "prewarmd-history-refresh"
        thread.start()
    }
}
