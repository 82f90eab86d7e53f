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
    public static func run(
        jobs input: [JobRecord], capacityProcs: Int64, configuration: ReplayConfiguration,
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

        replay.run(
            history: &history, completing: .lastSubmission,
            onCompletion: { (c: HistoryReplay.Completion<Float>) in
                predictor.observe(c.snapshot, runtime: c.job.runtime, issuedP90: c.tag)
            },
            onSubmit: { (index, job, snapshot) -> Float in
                let prediction = predictor.predict(snapshot, now: job.submit)
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
            trainings: predictor.trainings, trainingSeconds: predictor.trainingSeconds)
    }
}
