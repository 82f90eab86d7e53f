// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

/// Prewarm's forecast-driven policy, hosted by the ``Simulator``: the same ``DemandForecaster`` and
/// ``AdjustmentPolicy`` that `prewarmd` runs, fed from what the simulated cluster has shown so far.
///
/// It learns online and never peeks: at submission it sees the request only (the simulator hides runtime
/// and wait), and it learns runtimes (the ``OnlineRuntimePredictor`` that `prewarm evaluate` scores) and
/// arrival patterns (``ArrivalModel``: submissions that do not follow one of the user's job ends) and users'
/// resubmissions after their jobs end (``SessionModel``) from what the simulated cluster has shown so far. A job's expected
/// runtime is the model's point prediction; its late runtime the calibrated p90, capped at the time limit.
public struct PrewarmPolicy: PowerPolicy {
    /// The adjustment knobs (boot lead time defaults to the cluster's boot time on the first step).
    public var configuration: AdjustmentConfiguration
    /// Seconds between periodic decisions (the daemon's loop is one minute).
    public var tickInterval: Int64
    public var startsPowered: Bool { false }

    private var history = JobHistory()
    private var predictor: OnlineRuntimePredictor
    private var arrivals = ArrivalModel()
    private var sessions = SessionModel()
    private var predicted: [Int64: (runtime: Int64, late: Int64, p90: Float, median: Int64, snapshot: SubmitSnapshot)] =
        [:]
    private var load = ClusterLoad()
    /// When set, every prediction is logged as (job id, submit time, predicted runtime) — for tests and reports.
    public var recordPredictions = false
    public private(set) var predictionLog: [(job: Int64, submitted: Int64, runtime: Int64)] = []
    /// Runtime predictions made, and the sum of their accuracies once the jobs finished.
    public private(set) var scoredPredictions = 0
    public private(set) var accuracySum = 0.0
    private var coresPerNode = 1
    /// The simulated cluster, from the first ``decide(_:)`` on (whether its jobs share nodes).
    private var cluster: SimulatedCluster?
    private var bootLeadSet = false
    /// Anchor for the local hour of week of future minutes: a submit time and its hour of week.
    private var anchor: (time: Int64, hourOfWeek: Int) = (0, 0)
    /// The demand forecast the last ``decide(_:)`` planned with (read-only; `prewarm forecast-error` scores it).
    public private(set) var lastForecast: DemandForecast?
    /// When set, ``lastForecastInputs`` keeps what the last forecast was made from (for `prewarm forecast-error`;
    /// it changes nothing the policy decides).
    public var recordForecastInputs = false
    public private(set) var lastForecastInputs: ForecastInputs?
    /// Whether the forecast adds the learned arrivals of jobs not yet submitted (hour of week, recent rate, users'
    /// resubmissions and series); off, it plans for the running and queued jobs only, as `prewarmd` does with
    /// `LearnedArrivals=no`. The models keep learning either way.
    public var learnedArrivals = true
    /// What the forecast adds for unsubmitted jobs with `learnedArrivals` off: nothing (a model that has seen none).
    private static let noArrivals = ArrivalModel()

    public init(
        configuration: AdjustmentConfiguration = AdjustmentConfiguration(),
        training: OnlineTrainingConfiguration = OnlineTrainingConfiguration(), arrivals: ArrivalModel = ArrivalModel(),
        sessions: SessionModel = SessionModel(), tickInterval: Int64 = 60
    ) {
        self.arrivals = arrivals
        self.sessions = sessions
        self.configuration = configuration
        self.predictor = OnlineRuntimePredictor(configuration: training)
        self.tickInterval = Swift.max(1, tickInterval)
    }

    public mutating func jobSubmitted(_ job: JobRecord, at time: Int64) {
        let snapshot = history.submit(job, load: load)
        let p = predictor.predict(snapshot, now: time)
        var runtime = Int64(Swift.min(p.point, 1e9).rounded())
        var late = Int64(Swift.min(p.p90, 1e9).rounded())
        if job.requestedTime > 0 {
            runtime = Swift.min(runtime, job.requestedTime)
            late = Swift.min(late, job.requestedTime)
        }
        var median = Int64(Swift.min(p.p50, 1e9).rounded())
        if job.requestedTime > 0 { median = Swift.min(median, job.requestedTime) }
        predicted[job.id] = (runtime, Swift.max(late, runtime), p.p90, median, snapshot)
        if recordPredictions { predictionLog.append((job.id, time, runtime)) }
        let how = ArrivalModel.hourOfWeek(hourOfDay: job.hourOfDay, dayOfWeek: job.dayOfWeek)
        anchor = (time, how)
        let nodes = learnedNodes(job)
        let resubmission = sessions.observeSubmission(user: job.user, nodes: nodes, at: time)
        if !resubmission { arrivals.observeArrival(time: time, hourOfWeek: how, nodes: nodes) }
    }

    public mutating func jobFinished(_ job: JobRecord, at time: Int64) {
        let p = predicted.removeValue(forKey: job.id)
        history.finish(job, candidates: p?.snapshot.candidates)
        arrivals.observeRuntime(job.runtime)
        sessions.observeEnd(user: job.user, nodes: learnedNodes(job), at: time, runtime: job.runtime)
        if let p, job.runtime > 0 {
            predictor.observe(p.snapshot, runtime: job.runtime, issuedP90: p.p90)
            scoredPredictions += 1
            accuracySum += predictionAccuracy(actual: Double(job.runtime), predicted: Double(p.runtime))
        }
    }

    /// The median runtime predicted for a job not finished yet (seconds, capped at its time limit), if any.
    public func predictedMedian(ofJob id: Int64) -> Int64? { predicted[id]?.median }

    /// Mean accuracy of the runtime predictions the policy planned with (jobs finished so far); nil before any.
    public var runtimeAccuracy: Double? { scoredPredictions > 0 ? accuracySum / Double(scoredPredictions) : nil }

    /// A job's nodes as the arrival and session models learn them: its share of a node where it shares one (as the
    /// daemon learns it, ``DemandLearner``), else the whole nodes its processors fill.
    private func learnedNodes(_ job: JobRecord) -> Double {
        let shared = cluster?.sharedCores(for: job) ?? 0
        if shared > 0 { return Double(shared) / Double(coresPerNode) }
        return Double(cluster?.nodesNeeded(procs: job.procs) ?? Int(job.procs))
    }

    public mutating func decide(_ view: ClusterView) -> PowerDecision {
        coresPerNode = view.cluster.coresPerNode
        if cluster == nil { cluster = view.cluster }
        if !bootLeadSet {
            configuration.bootLeadTime = Swift.max(configuration.bootLeadTime, view.cluster.bootTime)
            bootLeadSet = true
        }
        let now = view.now
        // Cores of the jobs holding and waiting for nodes (a whole-node job: its nodes' cores).
        load = ClusterLoad(
            runningProcs: Int64(view.usedCores), queuedProcs: Int64(view.queuedCoreDemand),
            capacityProcs: Int64(view.cluster.nodes) * Int64(coresPerNode))
        var running: [RunningDemand] = []
        running.reserveCapacity(view.runningCount)
        var runningJobs: [RunningJobState] = []
        // Jobs that share nodes: a node each, until the last of its jobs ends (as the daemon's live forecast counts).
        var shared = SharedNodeDemand<Int>()
        for i in 0 ..< view.runningCount {
            let r = view.runningJob(i)
            let start = r.startedAt ?? (now &+ view.cluster.bootTime)
            let p = predicted[r.job.id]
            let demand = RunningDemand(
                nodes: r.nodes, start: start, now: now, predictedRuntime: p?.runtime ?? 3600,
                lateRuntime: p?.late ?? 3600, limitEnd: r.requestedEnd)
            if let node = r.sharedNode {
                shared.add(on: node, demand)
                continue
            }
            running.append(demand)
            if recordForecastInputs {
                runningJobs.append(RunningJobState(
                    nodes: r.nodes, start: start, medianRuntime: p?.median ?? 3600, p90Runtime: p?.late ?? 3600,
                    limitEnd: r.requestedEnd))
            }
        }
        running += shared.demands
        var pending: [PendingDemand] = []
        pending.reserveCapacity(view.queuedCount)
        var packer = SharedNodePacker(coresPerNode: coresPerNode)
        for i in 0 ..< view.queuedCount {
            let q = view.queuedJob(i)
            let p = predicted[q.job.id]
            if q.cores > 0 {
                packer.add(
                    cpus: q.cores, predictedRuntime: p?.runtime ?? q.timeLimit, lateRuntime: p?.late ?? q.timeLimit,
                    earliestStart: nil, to: &pending)
                continue
            }
            pending.append(PendingDemand(
                nodes: q.nodes, predictedRuntime: p?.runtime ?? q.timeLimit, lateRuntime: p?.late ?? q.timeLimit))
        }
        let a = anchor
        let forecast = DemandForecaster.forecast(
            now: now, running: running, pending: pending, arrivals: learnedArrivals ? arrivals : Self.noArrivals,
            sessions: learnedArrivals
                ? sessions.expectedDemand(
                    now: now, minutes: ArrivalModel.horizonMinutes, allocationUnit: arrivals.allocationUnit)
                : [],
            hourOfWeekAt: { m in (a.hourOfWeek + Int((now &- a.time &+ Int64(m) * 60) / 3600)) % 168 },
            totalNodes: view.nodeCount)
        var nodes: [PolicyNode] = []
        nodes.reserveCapacity(view.nodeCount)
        for n in 0 ..< view.nodeCount {
            let power: NodePower
            if view.isAllocated(n) {
                power = .busy
            } else {
                switch view.state(ofNode: n) {
                case .off: power = .off
                case .booting: power = .booting
                case .idle: power = .idle(since: view.stateSince(n))
                case .busy: power = .busy
                case .poweringDown: power = .poweringDown
                }
            }
            nodes.append(PolicyNode(index: n, power: power))
        }
        lastForecast = forecast
        if recordForecastInputs {
            lastForecastInputs = ForecastInputs(
                now: now, running: running, runningJobs: runningJobs, pending: pending, arrivals: arrivals,
                sessions: sessions, anchorTime: a.time, anchorHourOfWeek: a.hourOfWeek, totalNodes: view.nodeCount)
        }
        let actions = AdjustmentPolicy.decide(now: now, nodes: nodes, forecast: forecast, configuration: configuration)
        let up = actions.filter { $0.kind == .powerUp }.map(\.node)
        let down = actions.filter { $0.kind == .powerDown }.map(\.node)
        var decision: [PowerAction] = []
        if !up.isEmpty { decision.append(.powerUpNodes(up, reason: .anticipatedDemand)) }
        if !down.isEmpty { decision.append(.powerDown(down, reason: .notNeededSoon)) }
        return PowerDecision(actions: decision)
    }
}
