// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

#if canImport(Glibc)
import Glibc
#endif

/// How the runtime model learns online.
public struct OnlineTrainingConfiguration: Sendable, Equatable {
    /// Retrain after this many newly finished jobs…
    public var retrainEveryJobs: Int = 2000
    /// …or when this much time has passed since the last training (and ≥ `minNewJobs` finished).
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

/// The runtime model as it lives in production: it learns from completed jobs, retrains on a schedule,
/// calibrates its p90 online, and predicts each submission from its snapshot.
///
/// Used unchanged by `prewarm evaluate` (trace replay), the simulator's Prewarm policy and the daemon.
/// It never throws: a failed training keeps the previous model (or the `same_request` fallback) and is
/// counted in ``failedTrainings``.
public struct OnlineRuntimePredictor: Sendable {
    public let configuration: OnlineTrainingConfiguration
    private var window: TrainingWindow
    private var calibrator: QuantileCalibrator
    /// The current model, if one has been trained.
    public private(set) var model: RuntimeModel?
    private var finishedSinceTraining = 0
    private var lastTrainingTime: Int64 = .min
    public private(set) var trainings = 0
    public private(set) var failedTrainings = 0
    public private(set) var trainingSeconds = 0.0
    private let clock: @Sendable () -> Double

    /// - Parameter clock: monotonic seconds, used only to account training time.
    public init(configuration: OnlineTrainingConfiguration, clock: @escaping @Sendable () -> Double = { 0 }) {
        self.configuration = configuration
        self.window = TrainingWindow(capacity: configuration.window)
        self.calibrator = QuantileCalibrator(level: configuration.p90Level, rate: configuration.p90Rate)
        self.clock = clock
    }

    /// The current p90 calibration offset (natural log).
    public var p90Offset: Float { calibrator.offset }

    /// Learns from a completed job: its submit-time snapshot, its runtime and the p90 issued for it.
    public mutating func observe(_ snapshot: SubmitSnapshot, runtime: Int64, issuedP90: Float) {
        guard runtime > 0 else { return }
        window.append(snapshot, runtime: Float(runtime))
        calibrator.observe(actual: Float(runtime), predicted: issuedP90)
        finishedSinceTraining += 1
    }

    /// Predicts a job submitted at `now`, retraining first if the schedule says so.
    public mutating func predict(_ snapshot: SubmitSnapshot, now: Int64) -> RuntimePrediction {
        retrainIfDue(now: now)
        if let model { return model.predict(snapshot, p90Offset: calibrator.offset) }
        // Before the first model: same_request, with a wide calibrated band.
        let v = snapshot.candidates.count == RuntimeCandidate.count ? snapshot[.sameRequest] : 3600
        let p90 = Float(Swift.min(Double(v) * exp(Double(calibrator.offset) + 1.5), 1e9))
        return RuntimePrediction(point: v, p50: v, p90: p90, candidate: .sameRequest, scale: 1, expectedAccuracy: 0)
    }

    private mutating func retrainIfDue(now: Int64) {
        let c = configuration
        guard window.count >= c.warmupJobs else { return }
        let due = model == nil || finishedSinceTraining >= c.retrainEveryJobs
            || (finishedSinceTraining >= c.minNewJobs && now &- lastTrainingTime >= c.retrainEverySeconds)
        guard due else { return }
        let t0 = clock()
        do {
            model = try RuntimeModel.train(window: window, parameters: c.model, p90Offset: calibrator.offset)
            trainings += 1
        } catch {
            failedTrainings += 1
        }
        trainingSeconds += clock() - t0
        finishedSinceTraining = 0
        lastTrainingTime = now
    }
}
