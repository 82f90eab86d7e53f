// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

#if canImport(Glibc)
import Glibc
#endif

/// How `evaluate` retrains: the production schedule.
public typealias ReplayConfiguration = OnlineTrainingConfiguration

/// Result of replaying a trace.
public struct ReplayResult: Sendable {
    /// Metrics per predictor name: `user_estimate`, `last2`, `same_request`, `prewarm`.
    public var predictors: [(name: String, metrics: PredictorMetrics)]
    /// Jobs scored (runtime > 0), jobs read.
    public var scoredJobs: Int
    public var totalJobs: Int
    /// How often the model built its prediction on each candidate (share of jobs predicted by a model).
    public var candidateShare: [(candidate: RuntimeCandidate, share: Double)]
    /// Accuracy of each candidate on its own, over the scored jobs.
    public var candidateAccuracy: [(candidate: RuntimeCandidate, accuracy: Double)]
    /// Accuracy of picking the best candidate per job with hindsight (an upper bound for a selector).
    public var hindsightAccuracy: Double
    /// Jobs predicted before the first model existed (scored with the `same_request` fallback).
    public var warmupPredictions: Int
    public var trainings: Int
    public var trainingSeconds: Double
    /// With `controllerView`: the same model's predictions from the history the in-controller profiler has
    /// (``ControllerView``).
    public var controllerView: ControllerView?
}

/// What the in-controller profiler sees, against the replay's live history, on the same jobs with the same model.
///
/// Inside slurmctld the profiler's history is the one in the model file: the history as of the model's training,
/// then only submissions (it never sees a job end), until the next model is published. So its users' last runtimes,
/// in-flight counts and accuracies go stale between publications. Both predictions here use the current model,
/// the p90 calibration of its training and the cluster-load features masked, as the profiler does; they differ only
/// in the history: `live` takes every completion before the submission, `controller` only those before the
/// model's training.
public struct ControllerView: Sendable {
    public var live: PredictorMetrics
    public var controller: PredictorMetrics
}

/// Replays a workload in submission order the way Prewarm lives in production: each job is predicted at
/// its submission from what had *finished* before it, and the model is retrained periodically on the
/// most recent finished jobs. Baselines are scored on exactly the same jobs.
public enum OnlineReplay {
    /// Runs the replay.
    /// - Parameters:
    ///   - jobs: the workload, any order (sorted here by submit time, stable).
    ///   - capacityProcs: processors of the cluster (SWF `MaxProcs`), 0 if unknown.
    ///   - clock: monotonic seconds, used only to report training time.
    ///   - progress: called with the fraction done, at most ~200 times.
    ///   - controllerView: also score the model on the in-controller profiler's history (``ControllerView``).
    ///   - controllerRefreshSeconds: with `controllerView`, the profiler's history also takes the completions so
    ///     far every this many seconds of trace time between publications (a history republished without
    ///     retraining); nil: only at publications.
    public static func run(
        jobs input: [JobRecord], capacityProcs: Int64, configuration: ReplayConfiguration, controllerView: Bool = false,
        controllerRefreshSeconds: Int64? = nil,
        clock: @escaping @Sendable () -> Double = { 0 }, progress: (Double) -> Void = { _ in }
    ) -> ReplayResult {
        let replay = HistoryReplay(jobs: input, capacityProcs: capacityProcs)
        var history = JobHistory()
        var predictor = OnlineRuntimePredictor(configuration: configuration, clock: clock)
        var userEstimate = MetricsAccumulator()
        var last2 = MetricsAccumulator()
        var sameRequest = MetricsAccumulator()
        var prewarm = MetricsAccumulator()
        var candidateCounts = [Int](repeating: 0, count: RuntimeCandidate.count)
        var candidateAccuracySums = [Double](repeating: 0, count: RuntimeCandidate.count)
        var hindsightSum = 0.0
        var modelPredictions = 0
        var warmupPredictions = 0
        var scored = 0
        let progressStep = Swift.max(1, replay.jobs.count / 200)
        // The controller's history: every submission; completions only when a model is published (its training).
        var controller = JobHistory()
        var unpublished: [(job: JobRecord, candidates: [Float])] = []
        var publishedTrainings = 0
        var publishedOffset: Float = 0
        var refreshedAt = Int64.min
        var live = MetricsAccumulator()
        var stale = MetricsAccumulator()

        replay.run(
            history: &history, completing: .lastSubmission,
            onCompletion: { (c: HistoryReplay.Completion<Float>) in
                predictor.observe(c.snapshot, runtime: c.job.runtime, issuedP90: c.tag)
                if controllerView { unpublished.append((c.job, c.snapshot.candidates)) }
            },
            onSubmit: { (index, job, snapshot) -> Float in
                let prediction = predictor.predict(snapshot, now: job.submit)
                if controllerView {
                    // A model trained just now is published with the history it was trained on: every completion
                    // so far (this submission's `predict` trained it on them).
                    let published = predictor.trainings != publishedTrainings
                    let refresh = controllerRefreshSeconds.map { refreshedAt == .min || job.submit &- refreshedAt >= $0 }
                    if published || refresh == true {
                        for u in unpublished { controller.finish(u.job, candidates: u.candidates) }
                        unpublished.removeAll(keepingCapacity: true)
                        refreshedAt = job.submit
                    }
                    if published {
                        publishedTrainings = predictor.trainings
                        publishedOffset = predictor.p90Offset
                    }
                    let seen = SubmitModel.masked(controller.submit(job, load: ClusterLoad()))
                    if job.runtime > 0, let model = predictor.model {
                        let r = Double(job.runtime)
                        let a = model.predict(SubmitModel.masked(snapshot), p90Offset: publishedOffset)
                        let b = model.predict(seen, p90Offset: publishedOffset)
                        live.add(actual: r, predicted: Double(a.point))
                        live.addCoverage(actual: r, p90: Double(a.p90))
                        stale.add(actual: r, predicted: Double(b.point))
                        stale.addCoverage(actual: r, p90: Double(b.p90))
                    }
                }
                if job.runtime > 0 {
                    scored += 1
                    let r = Double(job.runtime)
                    // The request, or the history's fallback when the log has none (the `requested` candidate).
                    userEstimate.add(actual: r, predicted: Double(snapshot[.requested]))
                    last2.add(actual: r, predicted: Double(snapshot[.last2]))
                    sameRequest.add(actual: r, predicted: Double(snapshot[.sameRequest]))
                    var hindsight = 0.0
                    for c in RuntimeCandidate.allCases {
                        let a = predictionAccuracy(actual: r, predicted: Double(snapshot[c]))
                        candidateAccuracySums[c.rawValue] += a
                        hindsight = Swift.max(hindsight, a)
                    }
                    hindsightSum += hindsight
                    prewarm.add(actual: r, predicted: Double(prediction.point))
                    prewarm.addCoverage(actual: r, p90: Double(prediction.p90))
                    if predictor.model != nil {
                        modelPredictions += 1
                        candidateCounts[prediction.candidate.rawValue] += 1
                    } else {
                        warmupPredictions += 1
                    }
                }
                if index % progressStep == 0 { progress(Double(index) / Double(Swift.max(replay.jobs.count, 1))) }
                return prediction.p90
            })
        progress(1)

        let n = Double(Swift.max(scored, 1))
        let m = Double(Swift.max(modelPredictions, 1))
        return ReplayResult(
            predictors: [
                ("user_estimate", userEstimate.metrics()), ("last2", last2.metrics()),
                ("same_request", sameRequest.metrics()), ("prewarm", prewarm.metrics()),
            ],
            scoredJobs: scored, totalJobs: replay.jobs.count,
            candidateShare: RuntimeCandidate.allCases.map { ($0, Double(candidateCounts[$0.rawValue]) / m) },
            candidateAccuracy: RuntimeCandidate.allCases.map { ($0, candidateAccuracySums[$0.rawValue] / n) },
            hindsightAccuracy: hindsightSum / n, warmupPredictions: warmupPredictions,
            trainings: predictor.trainings, trainingSeconds: predictor.trainingSeconds,
            controllerView: controllerView ? ControllerView(live: live.metrics(), controller: stale.metrics()) : nil)
    }
}
