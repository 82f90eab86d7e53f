// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

#if canImport(Glibc)
import Glibc
#endif

/// Everything the in-controller profiler needs to predict a submission: the runtime model and the job history
/// its features are computed from, as of the moment the model was trained.
///
/// Inside slurmctld the plugin sees submissions but not completions, so the history it starts from is the one
/// stored here; `prewarm train` (and the daemon's retraining) publish a fresh file that the plugin reloads.
///
/// The cluster-load features are masked (set to "unknown") both when this model is trained and when it predicts:
/// the plugin cannot query the controller from inside the submit path, so training must not rely on them.
public struct SubmitModel: Sendable {
    public static let payloadVersion: UInt16 = 1
    public static let supportedPayloadVersions: ClosedRange<UInt16> = 1 ... 1

    public var runtime: RuntimeModel
    public var history: JobHistory
    /// Unix time of the newest job the history has seen.
    public var trainedAt: Int64
    /// Finished jobs in the training window.
    public var trainingJobs: Int
    /// Where the jobs came from (a trace file name, "slurm", …), for people.
    public var source: String
    /// Mean prediction accuracy of the calibration model on the held-out newest jobs (0 when none were held out).
    public var holdoutAccuracy: Double
    /// Share of held-out jobs that ran no longer than their calibrated p90.
    public var holdoutP90Coverage: Double
    /// The snapshot ``predict(_:recording:)`` computes into: its arrays are allocated once.
    private var scratch = SubmitSnapshot(features: [], candidates: [])

    public init(
        runtime: RuntimeModel, history: JobHistory, trainedAt: Int64, trainingJobs: Int, source: String,
        holdoutAccuracy: Double = 0, holdoutP90Coverage: Double = 0
    ) {
        self.runtime = runtime
        self.history = history
        // Between two models the profiler's history changes only by submissions: resubmissions reuse snapshots.
        self.history.memoizeSnapshots()
        self.trainedAt = trainedAt
        self.trainingJobs = trainingJobs
        self.source = source
        self.holdoutAccuracy = holdoutAccuracy
        self.holdoutP90Coverage = holdoutP90Coverage
    }

    /// Indices of the features the in-controller profiler cannot know (cluster load).
    public static let maskedFeatures: [Int] = ["running_procs_frac", "queued_procs_frac"].compactMap {
        FeatureSchema.submitTime.features.firstIndex(of: $0)
    }

    /// `snapshot` with the load features set to "unknown", as the profiler computes them.
    public static func masked(_ snapshot: SubmitSnapshot) -> SubmitSnapshot {
        var s = snapshot
        for i in maskedFeatures where i < s.features.count { s.features[i] = -1 }
        return s
    }

    /// Predicts a submission the way the in-controller profiler does: features from this model's history (the
    /// cluster load masked), recording the submission in the history when `recording` (a new job, not an update).
    public mutating func predict(_ job: JobRecord, recording: Bool) -> RuntimePrediction {
        // Into the model's own snapshot, whose arrays are reused from one prediction to the next (two arrays
        // allocated, looked up in the runtime's metadata cache and freed per submission, before).
        if recording {
            history.submit(job, load: ClusterLoad(), into: &scratch)
        } else {
            history.snapshot(job, load: ClusterLoad(), into: &scratch)
        }
        // Masked in place (the snapshot's arrays are not shared, so no copy), as `masked(_:)` does.
        for i in Self.maskedFeatures where i < scratch.features.count { scratch.features[i] = -1 }
        return runtime.predict(scratch)
    }

    /// The model as a container of kind ``ModelKind/submitModel``: metadata, the embedded runtime model
    /// container, then the history payload.
    public func serialize() -> [UInt8] {
        var w = BinaryWriter(capacity: 1 << 16)
        w.write(trainedAt)
        w.write(UInt64(Swift.max(0, trainingJobs)))
        w.write(source)
        w.write(holdoutAccuracy)
        w.write(holdoutP90Coverage)
        let model = runtime.serialize()
        w.write(UInt64(model.count))
        w.writeRaw(model)
        let h = history.serialize()
        w.write(UInt64(h.count))
        w.writeRaw(h)
        return ModelContainer.wrap(kind: .submitModel, version: Self.payloadVersion, payload: w.bytes)
    }

    /// Reads and validates a submit model (container, runtime model and history are all checked).
    /// - Throws: ``ModelFileError``; never traps on any input.
    public init(deserializing bytes: [UInt8]) throws(ModelFileError) {
        let (_, payload) = try ModelContainer.unwrap(
            bytes, kind: .submitModel, supportedVersions: Self.supportedPayloadVersions)
        var r = BinaryReader(payload, context: "submit model")
        trainedAt = try r.read(Int64.self)
        let jobs = try r.read(UInt64.self)
        guard jobs <= UInt64(Int32.max) else { throw .malformed("submit model: training job count \(jobs)") }
        trainingJobs = Int(jobs)
        source = try r.readString()
        holdoutAccuracy = try r.readDouble()
        holdoutP90Coverage = try r.readDouble()
        guard holdoutAccuracy.isFinite, holdoutP90Coverage.isFinite else {
            throw .malformed("submit model: holdout figures are not finite")
        }
        let modelLength = try r.readCount(elementSize: 1)
        runtime = try RuntimeModel(deserializing: try r.readRaw(count: modelLength))
        // Every prediction walks every tree inside slurmctld: no more than `prewarm train` makes.
        guard ForestParameters.modelTreeCounts.contains(runtime.forest.treeCount) else {
            throw .malformed(
                "submit model: \(runtime.forest.treeCount) trees, the job_submit plugin takes "
                    + "\(ForestParameters.modelTreeCounts.lowerBound) to \(ForestParameters.modelTreeCounts.upperBound)")
        }
        let historyLength = try r.readCount(elementSize: 1)
        history = try JobHistory(deserializing: try r.readRaw(count: historyLength))
        history.memoizeSnapshots()
        guard r.remaining == 0 else { throw .malformed("submit model: \(r.remaining) unexpected trailing bytes") }
    }
}

extension SubmitModel {
    /// What ``train(jobs:capacityProcs:window:holdoutFraction:parameters:source:knownAt:)`` can refuse.
    public enum TrainingError: Error, CustomStringConvertible, Equatable {
        case tooFewJobs(found: Int, needed: Int)
        case forest(String)

        public var description: String {
            switch self {
            case .tooFewJobs(let found, let needed):
                return "only \(found) finished jobs with a positive runtime; at least \(needed) are needed to train"
            case .forest(let m): return "training failed: \(m)"
            }
        }
    }

    /// Smallest number of finished jobs ``train`` accepts.
    public static let minimumJobs = 50

    /// Trains a submit model on a workload history.
    ///
    /// The jobs are replayed in time order (the same ``HistoryReplay`` as `prewarm evaluate`, so features are
    /// leakage-free: each job's features are what was known at its submission). Every job of `jobs` counts as
    /// finished (a workload log, the history store), each once, in end-time order, including those that ended after
    /// the last submission; with `knownAt`, only those that ended strictly before it (what a model trained then
    /// could have seen). The newest `window` of them with a positive runtime form the training set. The p90 calibration is conformal:
    /// a model trained without the newest `holdoutFraction` of them predicts those, and the offset that makes 90 %
    /// of them run no longer than their p90 is stored with the final model, trained on the whole window.
    public static func train(
        jobs: [JobRecord], capacityProcs: Int64, window: Int = 20_000, holdoutFraction: Double = 0.1,
        parameters: RuntimeModelParameters = RuntimeModelParameters(), source: String, knownAt: Int64? = nil
    ) throws(TrainingError) -> SubmitModel {
        let replay = HistoryReplay(jobs: jobs, capacityProcs: capacityProcs)
        var history = JobHistory()
        let keep = Swift.max(window, minimumJobs)
        var rows: [(snapshot: SubmitSnapshot, runtime: Float)] = []
        var newest: Int64 = 0
        replay.run(
            history: &history, completing: .allJobs,
            onCompletion: { (c: HistoryReplay.Completion<Void>) in
                guard c.job.runtime > 0 else { return }
                if let knownAt, c.job.submit &+ Swift.max(c.job.wait, 0) &+ c.job.runtime >= knownAt { return }
                rows.append((masked(c.snapshot), Float(c.job.runtime)))
                if rows.count > 2 * keep { rows.removeFirst(rows.count - keep) }
            },
            onSubmit: { _, job, _ in newest = Swift.max(newest, job.submit) })
        if rows.count > keep { rows.removeFirst(rows.count - keep) }
        guard rows.count >= minimumJobs else { throw .tooFewJobs(found: rows.count, needed: minimumJobs) }

        // Conformal p90 offset from a held-out tail.
        let held = Swift.min(rows.count / 2, Swift.max(Int(Double(rows.count) * holdoutFraction), 20))
        var offset: Float = 0
        var accuracy = 0.0
        var coverage = 0.0
        if held >= 20 {
            var head = TrainingWindow(capacity: rows.count - held)
            for r in rows.prefix(rows.count - held) { head.append(r.snapshot, runtime: r.runtime) }
            let calibration: RuntimeModel
            do {
                calibration = try RuntimeModel.train(window: head, parameters: parameters, p90Offset: 0)
            } catch {
                throw .forest("\(error)")
            }
            var residuals: [Float] = []
            residuals.reserveCapacity(held)
            var accSum = 0.0
            for r in rows.suffix(held) {
                let p = calibration.predict(r.snapshot, p90Offset: 0)
                accSum += predictionAccuracy(actual: Double(r.runtime), predicted: Double(p.point))
                residuals.append(Float(log(Double(r.runtime)) - log(Double(Swift.max(p.p90, 1)))))
            }
            residuals.sort()
            let i = Swift.min(residuals.count - 1, Int((0.9 * Double(residuals.count)).rounded(.up)) - 1)
            offset = Swift.max(Swift.min(residuals[Swift.max(0, i)], 5), -5)
            accuracy = accSum / Double(held)
            coverage = Double(residuals.filter { $0 <= offset }.count) / Double(residuals.count)
        }
        var all = TrainingWindow(capacity: rows.count)
        for r in rows { all.append(r.snapshot, runtime: r.runtime) }
        let model: RuntimeModel
        do {
            model = try RuntimeModel.train(window: all, parameters: parameters, p90Offset: offset)
        } catch {
            throw .forest("\(error)")
        }
        return SubmitModel(
            runtime: model, history: history, trainedAt: newest, trainingJobs: rows.count, source: source,
            holdoutAccuracy: accuracy, holdoutP90Coverage: coverage)
    }
}
