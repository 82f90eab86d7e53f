// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import Foundation
import PrewarmCore
import Traces

/// `prewarm forecast-error` (hidden): replays a workload log and scores Prewarm's forecast of busy nodes some
/// minutes ahead against a naive "same as now" and a seasonal "same time last week" forecast, in the same run
/// (issue #5's second target, `bench/forecast-error`).
struct ForecastError: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forecast-error",
        abstract: "Score the busy-node forecast some minutes ahead against naive and seasonal forecasts (issue #5).",
        discussion: """
            The log is simulated with every node always on (so busy nodes are exactly the demand, with no boot \
            delay) while the prewarm policy runs alongside and learns online exactly as in `prewarm simulate` \
            (runtimes, arrivals, resubmissions, from what the simulated cluster has shown so far); its power \
            decisions are discarded (--under prewarm applies them instead). Every --every minutes the policy's \
            forecast (the `expected` series of the DemandForecast it plans with) at +--horizon minutes is \
            recorded. Scored against the busy nodes --horizon minutes later in the same simulation: naive = busy \
            now; seasonal = busy at the same time one week earlier. Only forecasts made at least a week after the \
            first submission, whose target time is before the last job ends, are scored (the same ones for all \
            three).
            """,
        shouldDisplay: false)

    @Option(help: "Workload log (SWF, .swf or .swf.gz); default: the bundled KTH-SP2 slice.")
    var trace: String?
    @Flag(help: "Skip malformed lines instead of stopping at the first.")
    var lenient = false
    @Option(help: "Nodes in the cluster (default: the log's MaxNodes, else MaxProcs).")
    var nodes: Int?
    @Option(help: "Seconds for a node to boot (the policy's boot lead time).")
    var bootTime: Int64 = 300
    @Option(help: "Minutes ahead to score (1–60).")
    var horizon = 30
    @Option(help: "Minutes between scored forecasts.")
    var every = 5
    @Option(help: "Simulate under always_on (busy = demand) or prewarm (the policy's own decisions).")
    var under = "always_on"
    @Option(help: """
        Arrival terms of the forecast: planning (the policy's own: idle buffers and users' freed nodes kept only \
        when worth their price) or expectation (no prices: expected arriving nodes, resubmissions weighted by \
        their probability, no follow-on term).
        """)
    var arrivals = "planning"
    @Flag(help: "Print one JSON object.")
    var json = false

    func validate() throws {
        guard (1 ... 60).contains(horizon) else { throw ValidationError("--horizon must be 1–60 minutes") }
        guard every >= 1 else { throw ValidationError("--every must be ≥ 1") }
        guard ["always_on", "prewarm"].contains(under) else {
            throw ValidationError("--under must be always_on or prewarm")
        }
        if let n = nodes, n < 1 { throw ValidationError("--nodes must be ≥ 1") }
        guard ["planning", "expectation"].contains(arrivals) else {
            throw ValidationError("--arrivals must be planning or expectation")
        }
    }

    func run() throws {
        let started = CLISupport.now()
        let path = try trace ?? CLISupport.bundledTrace()
        let loaded = try CLISupport.loadTrace(path, lenient: lenient)
        let header = loaded.header
        let cores = SimulatedCluster.coresPerNode(maxProcs: header.maxProcs, maxNodes: header.maxNodes)
        let cluster = SimulatedCluster(
            nodes: nodes ?? header.maxNodes ?? header.maxProcs ?? 128, coresPerNode: cores, bootTime: bootTime)
        var c = AdjustmentConfiguration()
        c.bootLeadTime = bootTime
        var arrivalModel = ArrivalModel()
        var sessions = SessionModel()
        if arrivals == "expectation" {
            arrivalModel.bufferPrice = 0
            arrivalModel.upperBufferPrice = 0
            sessions.price = 0
            sessions.followPrice = 0
        }
        var recorder = ForecastRecorder(
            inner: PrewarmPolicy(
                configuration: c, training: Simulate.training, arrivals: arrivalModel, sessions: sessions),
            applyDecisions: under == "prewarm",
            horizonMinutes: horizon, every: Int64(every) * 60)
        let result = Simulator.run(
            jobs: loaded.jobs, cluster: cluster, policy: &recorder, options: SimulationOptions(sampleInterval: 0))
        let profile = NodeDemandProfile(outcomes: result.outcomes)
        let first = loaded.jobs.map(\.submit).min() ?? 0
        let s = ForecastScoring.score(
            samples: recorder.samples, busy: StepSeries(times: profile.times, values: profile.values),
            horizon: Int64(horizon) * 60, season: ForecastScoring.week, from: first, until: profile.times.last ?? 0)
        let n = Double(cluster.nodes)
        let seconds = CLISupport.now() - started
        let name = (path as NSString).lastPathComponent
        if json {
            print(JSON.object([
                ("trace", .string(name)), ("jobs", .int(loaded.jobs.count)), ("nodes", .int(cluster.nodes)),
                ("under", .string(under)), ("arrivals", .string(arrivals)), ("horizon_min", .int(horizon)),
                ("every_min", .int(every)),
                ("forecasts_made", .int(recorder.samples.count)), ("forecasts_scored", .int(s.count)),
                ("mae_prewarm", .number(s.prewarm)), ("mae_naive", .number(s.naive)),
                ("mae_seasonal", .number(s.seasonal)), ("bias_prewarm", .number(s.prewarmBias)),
                ("mean_busy", .number(s.meanActual)),
                ("nmae_prewarm", .number(s.prewarm / n)), ("nmae_naive", .number(s.naive / n)),
                ("nmae_seasonal", .number(s.seasonal / n)),
                ("prewarm_over_naive", .number(s.naive > 0 ? s.prewarm / s.naive : 0)),
                ("prewarm_over_seasonal", .number(s.seasonal > 0 ? s.prewarm / s.seasonal : 0)),
                ("runtime_accuracy", .number(Evaluate.round4(recorder.inner.meanPredictionAccuracy))),
                ("seconds", .number(seconds)), ("peak_rss_mb", .number(CLISupport.peakRSSMegabytes())),
            ]).text)
            return
        }
        print("trace \(name): \(loaded.jobs.count) jobs, \(cluster.nodes) nodes, under \(under); forecasts of busy "
            + "nodes +\(horizon) min every \(every) min (\(arrivals) arrivals): \(recorder.samples.count) made, "
            + "\(s.count) scored "
            + String(format: "(mean busy %.1f)", s.meanActual))
        print("forecast      MAE nodes   MAE / nodes   prewarm ratio")
        print(String(format: "prewarm     %11.2f %13.4f   (bias %+.2f)", s.prewarm, s.prewarm / n, s.prewarmBias))
        print(String(format: "naive       %11.2f %13.4f   %.3f", s.naive, s.naive / n,
                     s.naive > 0 ? s.prewarm / s.naive : 0))
        print(String(format: "seasonal    %11.2f %13.4f   %.3f", s.seasonal, s.seasonal / n,
                     s.seasonal > 0 ? s.prewarm / s.seasonal : 0))
        print(String(format: "%.1f s, peak memory %.0f MB", seconds, CLISupport.peakRSSMegabytes()))
    }
}

/// Hosts a ``PrewarmPolicy`` in the simulator and records its forecast at a fixed horizon every `every` seconds.
/// With `applyDecisions` false every node stays powered (always on) and the policy's decisions are dropped.
struct ForecastRecorder: PowerPolicy {
    var inner: PrewarmPolicy
    let applyDecisions: Bool
    let horizonMinutes: Int
    let every: Int64
    private var nextSample: Int64 = .min
    /// (time the forecast was made, its `expected` busy nodes at +horizon).
    private(set) var samples: [(time: Int64, forecast: Double)] = []

    init(inner: PrewarmPolicy, applyDecisions: Bool, horizonMinutes: Int, every: Int64) {
        self.inner = inner
        self.applyDecisions = applyDecisions
        self.horizonMinutes = horizonMinutes
        self.every = Swift.max(1, every)
    }

    var startsPowered: Bool { applyDecisions ? inner.startsPowered : true }
    var tickInterval: Int64 { inner.tickInterval }

    mutating func jobSubmitted(_ job: JobRecord, at time: Int64) { inner.jobSubmitted(job, at: time) }
    mutating func jobFinished(_ job: JobRecord, at time: Int64) { inner.jobFinished(job, at: time) }

    mutating func decide(_ view: ClusterView) -> PowerDecision {
        let decision = inner.decide(view)
        if view.now >= nextSample, let f = inner.lastForecast, horizonMinutes < f.expected.count {
            samples.append((view.now, Double(f.expected[horizonMinutes])))
            nextSample = nextSample == .min ? view.now + every : Swift.max(nextSample + every, view.now + 1)
        }
        if applyDecisions { return decision }
        let off = view.count(.off)
        return off > 0 ? PowerDecision(actions: [.powerUp(count: off, reason: .alwaysOn)]) : .none
    }
}

/// A step function: `values[i]` from `times[i]` (increasing) until the next change; 0 before the first.
struct StepSeries {
    var times: [Int64]
    var values: [Int]

    /// The value at `t`.
    /// - Complexity: O(log(count))
    func value(at t: Int64) -> Int {
        var lo = 0
        var hi = times.count
        while lo < hi {  // first index with times[i] > t
            let mid = (lo + hi) / 2
            if times[mid] <= t { lo = mid + 1 } else { hi = mid }
        }
        return lo == 0 ? 0 : values[lo - 1]
    }
}

/// The forecast-error arithmetic of `prewarm forecast-error`.
enum ForecastScoring {
    static let week: Int64 = 7 * 86_400

    struct Scores: Equatable {
        /// Forecasts scored.
        var count = 0
        /// Mean absolute errors (nodes) of the model, the naive and the seasonal forecast.
        var prewarm = 0.0
        var naive = 0.0
        var seasonal = 0.0
        /// Mean of (model − actual): positive when the model forecasts more busy nodes than there are.
        var prewarmBias = 0.0
        /// Mean busy nodes at the scored target times.
        var meanActual = 0.0
    }

    /// Scores forecasts of `busy` made at `samples[i].time` for `time + horizon`: the model's (`forecast`), the
    /// naive one (`busy(time)`) and the seasonal one (`busy(time + horizon − season)`).
    ///
    /// A forecast is scored only if its seasonal reference is observed (`time + horizon − season ≥ from`) and its
    /// target is (`time + horizon ≤ until`), so all three are scored on the same forecasts.
    static func score(
        samples: [(time: Int64, forecast: Double)], busy: StepSeries, horizon: Int64, season: Int64, from: Int64,
        until: Int64
    ) -> Scores {
        var s = Scores()
        for (t, f) in samples {
            let target = t + horizon
            guard target - season >= from, target <= until else { continue }
            let actual = Double(busy.value(at: target))
            s.count += 1
            s.prewarm += abs(f - actual)
            s.prewarmBias += f - actual
            s.naive += abs(Double(busy.value(at: t)) - actual)
            s.seasonal += abs(Double(busy.value(at: target - season)) - actual)
            s.meanActual += actual
        }
        guard s.count > 0 else { return s }
        let n = Double(s.count)
        s.prewarm /= n
        s.naive /= n
        s.seasonal /= n
        s.prewarmBias /= n
        s.meanActual /= n
        return s
    }
}
