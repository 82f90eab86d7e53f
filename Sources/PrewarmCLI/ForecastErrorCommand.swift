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
        c.maxPowerUpsPerStep = cluster.nodes  // as `simulate` (its --max-actions-per-step)
        c.maxPowerDownsPerStep = cluster.nodes
        var arrivalModel = ArrivalModel()
        var sessions = SessionModel()
        if arrivals == "expectation" {
            arrivalModel = arrivalModel.unpriced
            sessions = sessions.unpriced
        }
        var recorder = ForecastRecorder(
            inner: PrewarmPolicy(
                configuration: c, training: Simulate.training, arrivals: arrivalModel, sessions: sessions),
            applyDecisions: under == "prewarm",
            horizonMinutes: horizon, every: Int64(every) * 60,
            jobIndex: Dictionary(
                loaded.jobs.indices.map { (loaded.jobs[$0].id, Int32($0)) }, uniquingKeysWith: { a, _ in a }))
        let result = Simulator.run(
            jobs: loaded.jobs, cluster: cluster, policy: &recorder, options: SimulationOptions(sampleInterval: 0))
        let profile = NodeDemandProfile(outcomes: result.outcomes)
        let first = loaded.jobs.map(\.submit).min() ?? 0
        let s = ForecastScoring.score(
            samples: recorder.samples, busy: StepSeries(times: profile.times, values: profile.values),
            horizon: Int64(horizon) * 60, season: ForecastScoring.week, from: first, until: profile.times.last ?? 0)
        let h = Int64(horizon) * 60
        var carried: [Double] = []
        var queued: [Double] = []
        carried.reserveCapacity(recorder.samples.count)
        queued.reserveCapacity(recorder.samples.count)
        for i in recorder.samples.indices {
            let target = recorder.samples[i].time + h
            carried.append(ForecastScoring.held(
                at: target, jobs: recorder.running[recorder.runningStart[i] ..< recorder.runningStart[i + 1]],
                outcomes: result.outcomes))
            queued.append(ForecastScoring.held(
                at: target, jobs: recorder.queued[recorder.queuedStart[i] ..< recorder.queuedStart[i + 1]],
                outcomes: result.outcomes))
        }
        let d = ForecastScoring.decompose(
            samples: recorder.samples, parts: recorder.parts, carried: carried, queued: queued,
            busy: StepSeries(times: profile.times, values: profile.values), horizon: h, season: ForecastScoring.week,
            from: first, until: profile.times.last ?? 0, totalNodes: cluster.nodes)
        let n = Double(cluster.nodes)
        let seconds = CLISupport.now() - started
        func score(_ e: ForecastScoring.ErrorScore) -> JSON {
            .object([
                ("mae", .number(e.mae)), ("bias", .number(e.bias)),
                ("over_naive", .number(d.naive.mae > 0 ? e.mae / d.naive.mae : 0)),
            ])
        }
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
                ("runtime_accuracy", .number(Evaluate.round4(recorder.inner.runtimeAccuracy ?? 0))),
                ("decomposition", .object([
                    ("scored", .int(d.count)), ("naive", score(d.naive)),
                    ("a_running", score(d.running)), ("b_running_queue", score(d.known)),
                    ("c_planning", score(d.planning)), ("d_running_queue_expectation", score(d.expectation)),
                    ("e_survival_running", score(d.survival)),
                    ("f_survival_queue_expectation", score(d.survivalExpectation)),
                    ("g_empirical_running", score(d.empirical)),
                    ("h_empirical_queue_expectation", score(d.empiricalExpectation)),
                    ("i_running_backfill", score(d.backfill)),
                    ("j_running_backfill_expectation", score(d.backfillExpectation)),
                    ("terms", .object([
                        ("carried_mean", .number(d.carriedMean)),
                        ("carried_persistence", score(d.carriedPersistence)),
                        ("carried_point_ends", score(d.carriedPoint)),
                        ("carried_survival", score(d.carriedSurvival)),
                        ("carried_empirical", score(d.carriedEmpirical)),
                        ("queued_mean", .number(d.queuedMean)),
                        ("queued_projection", score(d.queuedProjection)),
                        ("queued_backfill", score(d.queuedBackfill)),
                        ("arrived_mean", .number(d.arrivedMean)),
                        ("arrived_planning", score(d.arrivedPlanning)),
                        ("arrived_expectation", score(d.arrivedExpectation)),
                    ])),
                ])),
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
        print("decomposition (same forecasts)          MAE nodes    bias   / naive")
        let rows: [(String, ForecastScoring.ErrorScore)] = [
            ("(a) running, point ends", d.running), ("(b) (a) + queue projection", d.known),
            ("(c) planning forecast", d.planning), ("(d) (b) + expectation arrivals", d.expectation),
            ("(e) running, survival sum", d.survival), ("(f) (d) with survival running", d.survivalExpectation),
            ("(g) running, empirical survival", d.empirical), ("(h) (d) with empirical running", d.empiricalExpectation),
            ("(i) (b), jobs behind the head backfilled now", d.backfill),
            ("(j) (d) with that backfill", d.backfillExpectation),
            ("naive", d.naive),
        ]
        for (label, e) in rows {
            print(String(format: "%@ %11.2f %+7.2f   %.3f", label.padding(toLength: 36, withPad: " ", startingAt: 0),
                         e.mae, e.bias, d.naive.mae > 0 ? e.mae / d.naive.mae : 0))
        }
        print(String(format: "terms against their own truth: carried (running now, still at target) mean %.1f: "
            + "persistence MAE %.2f, point ends %.2f (bias %+.2f), survival %.2f (bias %+.2f), empirical %.2f "
            + "(bias %+.2f)", d.carriedMean, d.carriedPersistence.mae, d.carriedPoint.mae, d.carriedPoint.bias,
            d.carriedSurvival.mae, d.carriedSurvival.bias, d.carriedEmpirical.mae, d.carriedEmpirical.bias))
        print(String(format: "  queued now, running at target: projection with jobs behind the head backfilled now "
            + "MAE %.2f (bias %+.2f)", d.queuedBackfill.mae, d.queuedBackfill.bias))
        print(String(format: "  queued now, running at target mean %.1f: projection MAE %.2f (bias %+.2f); "
            + "arrived mean %.1f: planning MAE %.2f (bias %+.2f), expectation MAE %.2f (bias %+.2f)",
            d.queuedMean, d.queuedProjection.mae, d.queuedProjection.bias, d.arrivedMean, d.arrivedPlanning.mae,
            d.arrivedPlanning.bias, d.arrivedExpectation.mae, d.arrivedExpectation.bias))
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
    /// The forecast's parts and variants at +horizon, one per sample.
    private(set) var parts: [ForecastParts] = []
    /// Job index (in `outcomes` order, via `jobIndex`) of the jobs holding nodes and of the queued jobs at each
    /// sample: `running[runningStart[i] ..< runningStart[i + 1]]` (same for queued). Jobs not in `jobIndex` are
    /// left out.
    private(set) var running: [Int32] = []
    private(set) var runningStart: [Int] = [0]
    private(set) var queued: [Int32] = []
    private(set) var queuedStart: [Int] = [0]
    let jobIndex: [Int64: Int32]
    /// log(runtime / predicted median) of the jobs finished so far (for the empirical survival variant).
    private(set) var residuals = RuntimeResidualDistribution()

    init(
        inner: PrewarmPolicy, applyDecisions: Bool, horizonMinutes: Int, every: Int64, jobIndex: [Int64: Int32] = [:]
    ) {
        self.inner = inner
        self.inner.recordForecastInputs = true
        self.applyDecisions = applyDecisions
        self.horizonMinutes = horizonMinutes
        self.every = Swift.max(1, every)
        self.jobIndex = jobIndex
    }

    var startsPowered: Bool { applyDecisions ? inner.startsPowered : true }
    var tickInterval: Int64 { inner.tickInterval }

    mutating func jobSubmitted(_ job: JobRecord, at time: Int64) { inner.jobSubmitted(job, at: time) }
    mutating func jobFinished(_ job: JobRecord, at time: Int64) {
        if let m = inner.predictedMedian(ofJob: job.id) { residuals.observe(runtime: job.runtime, median: m) }
        inner.jobFinished(job, at: time)
    }

    mutating func decide(_ view: ClusterView) -> PowerDecision {
        let decision = inner.decide(view)
        if view.now >= nextSample, let f = inner.lastForecast, let inputs = inner.lastForecastInputs,
            horizonMinutes < f.expected.count
        {
            samples.append((view.now, Double(f.expected[horizonMinutes])))
            parts.append(ForecastParts(inputs: inputs, minute: horizonMinutes, residuals: residuals))
            for i in 0 ..< view.runningCount {
                if let j = jobIndex[view.runningJob(i).job.id] { running.append(j) }
            }
            runningStart.append(running.count)
            for i in 0 ..< view.queuedCount {
                if let j = jobIndex[view.queuedJob(i).job.id] { queued.append(j) }
            }
            queuedStart.append(queued.count)
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

/// Prewarm's forecast of busy nodes at one minute split into its parts, and variants, from the inputs of the
/// forecast the policy planned with.
struct ForecastParts: Equatable {
    /// Nodes of the jobs holding nodes now.
    var runningNow = 0.0
    /// (a) running jobs only, each until its point predicted end (``RunningDemand``'s conditional rule).
    var running = 0.0
    /// (b) running jobs and the queue's EASY-style projection, capped at the cluster's nodes.
    var known = 0.0
    /// (d) (b) plus plain expected arrivals and resubmissions (no prices, no follow-on term), capped.
    var expectation = 0.0
    /// (e) running jobs as a survival sum (``RunningSurvival``: log-normal through p50 and p90, conditional on
    /// the time run, cut at the time limit).
    var survival = 0.0
    /// (g) running jobs as a survival sum under the empirical distribution of log(runtime / predicted median)
    /// of the jobs finished so far (``RuntimeResidualDistribution``), conditional and cut at the limit likewise.
    var empirical = 0.0
    /// (i) (b) with jobs behind the head projected to backfill now (also past a head blocked beyond the horizon),
    /// capped.
    var backfill = 0.0

    init(
        runningNow: Double, running: Double, known: Double, expectation: Double, survival: Double, empirical: Double,
        backfill: Double
    ) {
        self.runningNow = runningNow
        self.running = running
        self.known = known
        self.expectation = expectation
        self.survival = survival
        self.empirical = empirical
        self.backfill = backfill
    }

    /// The parts at minute `minute` of a forecast made from `inputs`.
    init(inputs x: ForecastInputs, minute: Int, residuals: RuntimeResidualDistribution) {
        // The policy's horizon: the queue projection depends on it (a head that starts past it blocks the rest).
        let h = Swift.max(minute + 1, ArrivalModel.horizonMinutes)
        let total = Double(Swift.max(x.totalNodes, 0))
        runningNow = Double(x.running.reduce(0) { $0 + $1.nodes })
        running = Double(
            DemandForecaster.knownDemand(
                now: x.now, minutes: h, running: x.running, pending: [], totalNodes: x.totalNodes, late: false)[minute])
        known = Swift.min(
            Double(
                DemandForecaster.knownDemand(
                    now: x.now, minutes: h, running: x.running, pending: x.pending, totalNodes: x.totalNodes,
                    late: false)[minute]), total)
        backfill = Swift.min(
            Double(
                DemandForecaster.knownDemand(
                    now: x.now, minutes: h, running: x.running, pending: x.pending, totalNodes: x.totalNodes,
                    late: false, backfillNow: true)[minute]), total)
        let arrivals = x.arrivals.unpriced
        let sessions = x.sessions.unpriced
        let f = DemandForecaster.forecast(
            now: x.now, minutes: ArrivalModel.horizonMinutes, running: x.running, pending: x.pending,
            arrivals: arrivals,
            sessions: sessions.expectedDemand(
                now: x.now, minutes: ArrivalModel.horizonMinutes, allocationUnit: arrivals.allocationUnit),
            hourOfWeekAt: { x.hourOfWeek(minute: $0) }, totalNodes: x.totalNodes)
        expectation = minute < f.expected.count ? Double(f.expected[minute]) : known
        survival = RunningSurvival.expectedBusy(now: x.now, minute: minute, jobs: x.runningJobs)
        empirical = residuals.expectedBusy(now: x.now, minute: minute, jobs: x.runningJobs)
    }

    /// (f) (d) with the running jobs' step replaced by their survival sum: survival + (d − a), within
    /// [0, `totalNodes`].
    func survivalExpectation(totalNodes: Int) -> Double {
        Self.clamp(survival + expectation - running, totalNodes)
    }

    /// (j) (d) with the backfill projection (i): backfill + (d − b), within [0, `totalNodes`].
    func backfillExpectation(totalNodes: Int) -> Double {
        Self.clamp(backfill + expectation - known, totalNodes)
    }

    /// (h) (d) with the empirical survival sum: empirical + (d − a), within [0, `totalNodes`].
    func empiricalExpectation(totalNodes: Int) -> Double {
        Self.clamp(empirical + expectation - running, totalNodes)
    }

    private static func clamp(_ nodes: Double, _ totalNodes: Int) -> Double {
        Swift.min(Swift.max(nodes, 0), Double(totalNodes))
    }
}

extension ForecastScoring {
    /// Mean absolute error and mean error (forecast − actual).
    struct ErrorScore: Equatable {
        var mae = 0.0
        var bias = 0.0
    }

    /// The forecast's parts scored on the same forecasts as ``score(samples:busy:horizon:season:from:until:)``.
    struct Decomposition: Equatable {
        var count = 0
        /// Against the busy nodes at the target: (a) running only, (b) running + queue, (c) the planning forecast,
        /// (d) (b) + expectation arrivals, (e) survival running only, (f) (d) with survival running.
        var running = ErrorScore()
        var known = ErrorScore()
        var planning = ErrorScore()
        var expectation = ErrorScore()
        var survival = ErrorScore()
        var survivalExpectation = ErrorScore()
        /// (g) empirical survival running only, (h) (d) with empirical survival running.
        var empirical = ErrorScore()
        var empiricalExpectation = ErrorScore()
        /// (i) (b) with jobs behind the head backfilled now, (j) (d) with it.
        var backfill = ErrorScore()
        var backfillExpectation = ErrorScore()
        var naive = ErrorScore()
        /// Each term against its own truth. Running term: nodes of the jobs holding nodes now that still hold
        /// them at the target (mean `carriedMean`), forecast by persistence (all of them), the point ends (a)
        /// and the survival sum (e).
        var carriedMean = 0.0
        var carriedPersistence = ErrorScore()
        var carriedPoint = ErrorScore()
        var carriedSurvival = ErrorScore()
        var carriedEmpirical = ErrorScore()
        /// Queue term: nodes of the jobs queued now that hold nodes at the target, forecast by (b) − (a).
        var queuedMean = 0.0
        var queuedProjection = ErrorScore()
        var queuedBackfill = ErrorScore()
        /// Arrival term: the rest of the busy nodes at the target (jobs submitted after the forecast), forecast
        /// by (c) − (b) (planning) and (d) − (b) (expectation).
        var arrivedMean = 0.0
        var arrivedPlanning = ErrorScore()
        var arrivedExpectation = ErrorScore()
    }

    /// Nodes of `jobs` (indices into `outcomes`) that hold nodes at `t` (started at or before it, ending after it).
    static func held(at t: Int64, jobs: ArraySlice<Int32>, outcomes: [JobOutcome]) -> Double {
        var n = 0
        for j in jobs {
            let o = outcomes[Int(j)]
            if o.skipped == nil, o.start >= 0, o.start <= t, o.end > t { n += o.nodes }
        }
        return Double(n)
    }

    /// Scores the parts of the forecasts (`parts[i]` and `samples[i].forecast` made at `samples[i].time`) against
    /// the busy nodes at `time + horizon`, and each term against its own truth: `carried[i]` (nodes of the jobs
    /// holding nodes at the sample still holding them at the target) and `queued[i]` (of the jobs queued then);
    /// the arrivals' truth is the rest. The same forecasts as ``score(samples:busy:horizon:season:from:until:)``.
    static func decompose(
        samples: [(time: Int64, forecast: Double)], parts: [ForecastParts], carried: [Double], queued: [Double],
        busy: StepSeries, horizon: Int64, season: Int64, from: Int64, until: Int64, totalNodes: Int
    ) -> Decomposition {
        var d = Decomposition()
        func add(_ s: inout ErrorScore, _ forecast: Double, _ actual: Double) {
            s.mae += abs(forecast - actual)
            s.bias += forecast - actual
        }
        for (i, (t, f)) in samples.enumerated() where i < parts.count && i < carried.count && i < queued.count {
            let target = t + horizon
            guard target - season >= from, target <= until else { continue }
            let actual = Double(busy.value(at: target))
            let p = parts[i]
            d.count += 1
            add(&d.running, p.running, actual)
            add(&d.known, p.known, actual)
            add(&d.planning, f, actual)
            add(&d.expectation, p.expectation, actual)
            add(&d.survival, p.survival, actual)
            add(&d.survivalExpectation, p.survivalExpectation(totalNodes: totalNodes), actual)
            add(&d.empirical, p.empirical, actual)
            add(&d.empiricalExpectation, p.empiricalExpectation(totalNodes: totalNodes), actual)
            add(&d.backfill, p.backfill, actual)
            add(&d.backfillExpectation, p.backfillExpectation(totalNodes: totalNodes), actual)
            add(&d.naive, Double(busy.value(at: t)), actual)
            let arrived = actual - carried[i] - queued[i]
            d.carriedMean += carried[i]
            d.queuedMean += queued[i]
            d.arrivedMean += arrived
            add(&d.carriedPersistence, p.runningNow, carried[i])
            add(&d.carriedPoint, p.running, carried[i])
            add(&d.carriedSurvival, p.survival, carried[i])
            add(&d.carriedEmpirical, p.empirical, carried[i])
            add(&d.queuedProjection, p.known - p.running, queued[i])
            add(&d.queuedBackfill, p.backfill - p.running, queued[i])
            add(&d.arrivedPlanning, f - p.known, arrived)
            add(&d.arrivedExpectation, p.expectation - p.known, arrived)
        }
        guard d.count > 0 else { return d }
        let n = Double(d.count)
        for k in [
            \Decomposition.running, \.known, \.planning, \.expectation, \.survival, \.survivalExpectation, \.empirical,
            \.empiricalExpectation, \.backfill, \.backfillExpectation, \.queuedBackfill, \.naive, \.carriedPersistence, \.carriedPoint, \.carriedSurvival,
            \.carriedEmpirical, \.queuedProjection, \.arrivedPlanning, \.arrivedExpectation,
        ] {
            d[keyPath: k].mae /= n
            d[keyPath: k].bias /= n
        }
        d.carriedMean /= n
        d.queuedMean /= n
        d.arrivedMean /= n
        return d
    }
}
