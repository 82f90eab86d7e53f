// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

import PrewarmCore
import Traces

#if canImport(Glibc)
import Glibc
#endif

/// Retrains the submit model on the history store and publishes it only if it predicts the most recent finished
/// jobs no worse than the model in use.
///
/// 1. Reads the newest `maxJobs` stored jobs (submit order) and holds out the last `holdout` finished ones.
/// 2. Trains a candidate (``SubmitModel/train(jobs:capacityProcs:window:holdoutFraction:parameters:source:knownAt:)``,
///    as `prewarm train`) on the jobs submitted before the first held-out one that ended before its submission
///    (what a model trained then could have seen: the held-out jobs are scored without peeking).
/// 3. Replays all the jobs once more; each held-out job's submit-time features (cluster load masked, as in the
///    plugin) are predicted by the candidate and by the published model. Score: mean accuracy
///    `min(R,P)/max(R,P)` and the share of jobs that ran no longer than their p90 — the figures `prewarm train`
///    prints for its held-out jobs.
/// 4. Publishes (write to a temporary file, rename) when there is no usable published model, or when the
///    candidate's accuracy is at least the published model's minus `accuracyTolerance` and its p90 coverage at
///    least `min(published coverage, 0.9) - coverageTolerance`. The published file carries the candidate's forest
///    and the job history of the whole replay (the held-out jobs included), so the plugin's features are current.
///
/// The published model may have been trained on some of the held-out jobs (it is older): that favours keeping it.
public enum Retraining {
    public struct Options: Sendable, Equatable {
        /// Newest finished jobs held out for scoring.
        public var holdout = 1000
        /// Newest stored jobs read at most (bounds time and memory on a big store).
        public var maxJobs = 100_000
        /// Newest finished jobs the forest is trained on (`prewarm train --window`).
        public var window = 20_000
        public var trees = 100
        /// Scale the chosen candidate (``RuntimeModelParameters/refineScale``); false: `prewarm train --no-refine`.
        public var refineScale = true
        public var accuracyTolerance = 0.0
        public var coverageTolerance = 0.02
        public init() {}
    }

    public struct Score: Sendable, Equatable, CustomStringConvertible {
        public var accuracy: Double
        public var p90Coverage: Double
        public var description: String {
            "accuracy \(Self.format(accuracy)), p90 coverage \(Self.format(p90Coverage))"
        }
        static func format(_ x: Double) -> String {
            let r = Int((x * 1000).rounded())
            let s = String(r % 1000)
            return "\(r / 1000)." + String(repeating: "0", count: 3 - s.count) + s
        }
    }

    public struct Decision: Sendable {
        public var published: Bool
        /// One line for the log: why it was (not) published, with both scores.
        public var reason: String
        public var candidate: Score
        /// The published model's score (`nil` when there was none or it could not be read).
        public var current: Score?
        public var heldOut: Int
        /// Finished jobs the candidate's forest was trained on.
        public var trainingJobs: Int
        /// Identifier of the file written (`nil` when not published).
        public var modelID: String?
        public var seconds: Double
    }

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
        public init(_ d: String) { description = d }
    }

    /// Runs one retraining (blocking; seconds to minutes on a large store).
    public static func run(store: HistoryStore, modelPath: String, options: Options = Options()) throws(Failure)
        -> Decision
    {
        let t0 = monotonic()
        let rows: [HistoryJob]
        do {
            rows = try store.jobs(newest: options.maxJobs)
        } catch {
            throw Failure("\(error)")
        }
        let records = rows.map(\.jobRecord)
        let finished = records.indices.filter { records[$0].runtime > 0 && records[$0].wait >= 0 }
        let heldCount = Swift.min(options.holdout, finished.count - SubmitModel.minimumJobs)
        guard options.holdout >= 20, heldCount >= 20 else {
            throw Failure(
                "\(store.path): \(finished.count) finished jobs with a runtime; retraining needs at least "
                    + "\(SubmitModel.minimumJobs + Swift.max(20, options.holdout)) (training + \(Swift.max(20, options.holdout)) held out)")
        }
        let held = Array(finished.suffix(heldCount))
        let firstHeld = held[0]
        var parameters = RuntimeModelParameters()
        parameters.forest.treeCount = options.trees
        parameters.refineScale = options.refineScale
        let candidateModel: SubmitModel
        do {
            candidateModel = try SubmitModel.train(
                jobs: Array(records[..<firstHeld]), capacityProcs: 0, window: options.window, parameters: parameters,
                source: "history", knownAt: records[firstHeld].submit)
        } catch {
            throw Failure("\(store.path): \(error)")
        }

        // Held-out features from one replay of all the jobs (the history every model's features come from).
        let heldSet = Set(held)
        var snapshots: [(SubmitSnapshot, Double)] = []
        snapshots.reserveCapacity(held.count)
        let (history, newest) = publishedHistory(of: records) { index, job, snapshot in
            if heldSet.contains(index) { snapshots.append((SubmitModel.masked(snapshot), Double(job.runtime))) }
        }
        func score(_ m: RuntimeModel) -> Score {
            var acc = 0.0
            var covered = 0
            for (s, runtime) in snapshots {
                let p = m.predict(s)
                acc += predictionAccuracy(actual: runtime, predicted: Double(p.point))
                if runtime <= Double(p.p90) { covered += 1 }
            }
            return Score(accuracy: acc / Double(snapshots.count), p90Coverage: Double(covered) / Double(snapshots.count))
        }
        let candidate = score(candidateModel.runtime)

        var current: Score?
        var reason: String
        var publish: Bool
        if access(modelPath, F_OK) != 0 {
            publish = true
            reason = "no published model at \(modelPath)"
        } else {
            do {
                let published = try SubmitModel(deserializing: try AtomicFile.read(modelPath))
                let c = score(published.runtime)
                current = c
                let accuracyOK = candidate.accuracy >= c.accuracy - options.accuracyTolerance
                let coverageOK = candidate.p90Coverage >= Swift.min(c.p90Coverage, 0.9) - options.coverageTolerance
                publish = accuracyOK && coverageOK
                if publish {
                    reason = "new model no worse than the published one"
                } else if !accuracyOK {
                    reason = "new model less accurate than the published one; keeping it"
                } else {
                    reason = "new model's p90 covers fewer jobs than the published one's; keeping it"
                }
            } catch {
                publish = true
                reason = "published model unusable (\(error))"
            }
        }
        let vs = current.map { " vs published \($0)" } ?? ""
        reason += ": on the \(snapshots.count) newest finished jobs, new \(candidate)\(vs)"

        var modelID: String?
        if publish {
            let model = SubmitModel(
                runtime: candidateModel.runtime, history: history, trainedAt: newest,
                trainingJobs: candidateModel.trainingJobs, source: "history \(store.path)",
                holdoutAccuracy: candidate.accuracy, holdoutP90Coverage: candidate.p90Coverage)
            let bytes = model.serialize()
            do {
                try AtomicFile.write(bytes, to: modelPath)
            } catch {
                throw Failure("cannot publish the new model: \(error)")
            }
            modelID = ModelContainer.shortIdentifier(bytes)
        }
        return Decision(
            published: publish, reason: reason, candidate: candidate, current: current, heldOut: snapshots.count,
            trainingJobs: candidateModel.trainingJobs, modelID: modelID, seconds: monotonic() - t0)
    }

    /// The history a published model carries: every stored job replayed in submission order, all completions
    /// included (the plugin adds submissions to it until the next publication). `onSubmit` sees every job's
    /// snapshot. - Returns: the history and the newest submission time.
    public static func publishedHistory(
        of records: [JobRecord], onSubmit: (Int, JobRecord, SubmitSnapshot) -> Void = { _, _, _ in }
    ) -> (JobHistory, newest: Int64) {
        var history = JobHistory()
        var newest: Int64 = 0
        HistoryReplay(jobs: records, capacityProcs: 0).run(
            history: &history, completing: .allJobs, onCompletion: { (_: HistoryReplay.Completion<Void>) in },
            onSubmit: { index, job, snapshot in
                newest = Swift.max(newest, job.submit)
                onSubmit(index, job, snapshot)
            })
        return (history, newest)
    }

    /// What a history refresh did.
    public struct Refresh: Sendable {
        /// Whether the model file was rewritten (false: its history already held every stored job).
        public var written: Bool
        public var modelID: String
        public var jobs: Int
        public var seconds: Double
    }

    /// Republishes the published model with the history of the newest `maxJobs` stored jobs, without retraining:
    /// the same runtime model, scores and metadata. Between two retrainings the job_submit plugin's history only
    /// gains submissions (slurmctld tells it of no job end), so users' last runtimes go stale; `prewarm evaluate
    /// --controller-view` measured 0.06–0.10 of accuracy lost with a daily model, most of it recovered with a
    /// refresh every 10 minutes. The file is replaced atomically (the plugin reloads it off the submit path) and
    /// left alone when its history is already current.
    /// - Throws: ``Failure`` when there is no usable published model or the store cannot be read.
    public static func refreshHistory(store: HistoryStore, modelPath: String, maxJobs: Int) throws(Failure) -> Refresh {
        let t0 = monotonic()
        let published: SubmitModel
        do {
            published = try SubmitModel(deserializing: try AtomicFile.read(modelPath))
        } catch {
            throw Failure("no usable published model to refresh at \(modelPath): \(error)")
        }
        let rows: [HistoryJob]
        do {
            rows = try store.jobs(newest: maxJobs)
        } catch {
            throw Failure("\(error)")
        }
        let (history, _) = publishedHistory(of: rows.map(\.jobRecord))
        let current = history.serialize()
        if current == published.history.serialize() {
            let bytes = try? AtomicFile.read(modelPath)
            return Refresh(
                written: false, modelID: bytes.map(ModelContainer.shortIdentifier) ?? "?", jobs: rows.count,
                seconds: monotonic() - t0)
        }
        let model = SubmitModel(
            runtime: published.runtime, history: history, trainedAt: published.trainedAt,
            trainingJobs: published.trainingJobs, source: published.source,
            holdoutAccuracy: published.holdoutAccuracy, holdoutP90Coverage: published.holdoutP90Coverage)
        let bytes = model.serialize()
        do {
            try AtomicFile.write(bytes, to: modelPath)
        } catch {
            throw Failure("cannot publish the refreshed history: \(error)")
        }
        return Refresh(
            written: true, modelID: ModelContainer.shortIdentifier(bytes), jobs: rows.count, seconds: monotonic() - t0)
    }

    static func monotonic() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
