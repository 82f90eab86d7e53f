// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

#if canImport(Glibc)
import Glibc
#endif

/// How the online replay retrains the model.
public struct ReplayConfiguration: Sendable, Equatable {
    /// Retrain after this many newly finished jobs…
    public var retrainEveryJobs: Int = 2000
    /// …or when this much trace time has passed since the last training (and ≥ `minNewJobs` finished).
    public var retrainEverySeconds: Int64 = 14 * 86_400
    public var minNewJobs: Int = 200
    /// Finished jobs needed before the first model; until then the prediction is `same_request`.
    public var warmupJobs: Int = 1000
    /// The model learns from the most recent finished jobs only.
    public var window: Int = 20_000
    /// Model hyper-parameters.
    public var model = RuntimeModelParameters()
    /// Target coverage and step of the online p90 calibration.
    public var p90Level: Float = 0.9
    public var p90Rate: Float = 0.02

    public init() {}
}

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
        clock: () -> Double = { 0 }, progress: (Double) -> Void = { _ in }
    ) throws(ForestError) -> ReplayResult {
        let replay = HistoryReplay(jobs: input, capacityProcs: capacityProcs)
        var history = JobHistory()
        var window = TrainingWindow(capacity: configuration.window)
        var calibrator = QuantileCalibrator(level: configuration.p90Level, rate: configuration.p90Rate)
        var model: RuntimeModel?
        var finishedSinceTraining = 0
        var lastTrainingTime: Int64 = .min
        var trainings = 0
        var trainingSeconds = 0.0

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

        try replay.run(
            history: &history,
            onCompletion: { (c: HistoryReplay.Completion<Float>) throws(ForestError) in
                guard c.job.runtime > 0 else { return }
                window.append(c.snapshot, runtime: Float(c.job.runtime))
                calibrator.observe(actual: Float(c.job.runtime), predicted: c.tag)
                finishedSinceTraining += 1
            },
            onSubmit: { (index, job, snapshot) throws(ForestError) -> Float in
                let now = job.submit
                if window.count >= configuration.warmupJobs
                    && (model == nil || finishedSinceTraining >= configuration.retrainEveryJobs
                        || (finishedSinceTraining >= configuration.minNewJobs
                            && now - lastTrainingTime >= configuration.retrainEverySeconds))
                {
                    let t0 = clock()
                    model = try RuntimeModel.train(
                        window: window, parameters: configuration.model, p90Offset: calibrator.offset)
                    trainingSeconds += clock() - t0
                    trainings += 1
                    finishedSinceTraining = 0
                    lastTrainingTime = now
                }
                let prediction: RuntimePrediction
                if let model {
                    prediction = model.predict(snapshot, p90Offset: calibrator.offset)
                } else {
                    // Before the first model: same_request, with a wide calibrated band.
                    let v = snapshot[.sameRequest]
                    let p90 = Float(Swift.min(Double(v) * exp(Double(calibrator.offset) + 1.5), 1e9))
                    prediction = RuntimePrediction(
                        point: v, p50: v, p90: p90, candidate: .sameRequest, scale: 1, expectedAccuracy: 0)
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
                    if model != nil {
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
            trainings: trainings, trainingSeconds: trainingSeconds)
    }
}
