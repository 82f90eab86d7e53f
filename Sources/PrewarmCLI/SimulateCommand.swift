// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import Foundation
import PrewarmCore
import Traces

/// `prewarm simulate`: replays a workload log on a simulated cluster under the baseline power policies.
struct Simulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Simulate a workload log under power policies: always on, Slurm's reactive power saving, Prewarm, oracle.",
        discussion: """
            Event-driven simulation: FCFS priority with EASY backfilling on requested time limits, nodes with \
            boot and power-down times. Policies: always_on, reactive (Slurm's power saving with SuspendTime), \
            prewarm (the demand forecast and adjustment policy that prewarmd runs, learning runtimes and \
            arrival patterns online from what the simulated cluster has shown so far; it never sees a job's \
            runtime before the job ends), oracle (knows the future; the physical limit). Without --trace or --db \
            (the history store: your cluster's own jobs), the bundled slice of the KTH-SP2 log is used. The table \
            also runs reactive at the --frontier-suspend-times \
            and compares the default prewarm setting with that curve (not in --json, which keeps the four policies \
            unless --frontier is given).
            --frontier also runs reactive at SuspendTime 60, 300, 600, 1800 and 3600 s (--frontier-suspend-times) \
            and prewarm at the --frontier-settings, and reports the boot-wait cut at equal idle node-hours, the \
            idle saving at equal boot wait (both interpolated on reactive's curve), and the share of the gap to the \
            oracle closed; then the same figures with the boots left out of the idle node-hours (JSON: \
            frontier_without_boot; idle node-hours count booting nodes, which draw power and run nothing).
            """)

    @Option(help: "Workload log in Standard Workload Format (.swf or .swf.gz).")
    var trace: String?
    @OptionGroup var history: HistorySelection
    @Option(help: ArgumentHelp(
        "Cores per node: sets the node count of jobs stored without one and, with --share-nodes, the cores of a "
            + "shared node (default: the log's MaxProcs / MaxNodes; with --db, 1)."))
    var coresPerNode: Int?
    @Flag(help: ArgumentHelp(
        "Jobs share nodes, as where Slurm gives jobs cores (SelectType=select/cons_tres): a job of one node and fewer "
            + "processors than a node has takes that many cores of a node, beside other such jobs (default: every "
            + "job takes whole nodes). Needs nodes of more than one core (--cores-per-node)."))
    var shareNodes = false
    @Flag(help: "Skip malformed lines (counted and reported) instead of stopping at the first.")
    var lenient = false
    @Option(help: "Nodes in the cluster (default: the log's MaxNodes, else MaxProcs; with --db, required: the nodes of the chosen partitions, unless --pool).")
    var nodes: Int?
    @Option(name: .customLong("pool"), help: ArgumentHelp(
        "With --db: a separate set of N nodes that serves the jobs of these partitions, PARTITION[,PARTITION]=N; "
            + "repeat it for every set (a cluster's partitions that share nodes go in one pool). Each pool is "
            + "simulated on its own, every policy with its own state, and the results are summed over the pools. "
            + "Optional, after the nodes: :boot=S (its nodes' boot time, else --boot-time), :suspend=S (the pool's own "
            + "Slurm SuspendTime, as a partition's in slurm.conf: it replaces --suspend-time in the reactive run and "
            + "--slurm-suspend-time in prewarm's, when given), :price=P (per node-hour, else --price-per-node-hour) and "
            + ":watts=OFF/IDLE/BUSY (its nodes' power draw, else --off-watts, --idle-watts and --busy-watts), e.g. "
            + "cloud=32:boot=180:price=0.9 or gpu=8:watts=20/350/2500.",
        valueName: "partitions=nodes[:boot=S][:suspend=S][:price=P][:watts=O/I/B]"))
    var poolTexts: [String] = []
    @Option(help: "Seconds for a node to boot.")
    var bootTime: Int64 = 300
    @Option(help: "Seconds for a node to power down.")
    var powerDownTime: Int64 = 60
    @Option(help: "Jobs behind the queue's head a scheduling pass considers for backfilling (Slurm's bf_max_job_test).")
    var backfillDepth = SimulatedCluster(nodes: 1).backfillDepth
    @Option(help: "Watts a node draws when off (energy_kwh).")
    var offWatts: Double = 5
    @Option(help: "Watts a powered node draws running no job: idle, booting or powering down (energy_kwh).")
    var idleWatts: Double = 100
    @Option(help: "Watts a node draws running a job (energy_kwh).")
    var busyWatts: Double = 300
    @Option(help: "Price of a powered node-hour (e.g. a cloud instance); adds cloud_cost to the results.")
    var pricePerNodeHour: Double?
    @Option(help: "Slurm's SuspendTime for the reactive policy, seconds.")
    var suspendTime: Int64 = 600
    /// The policy's settings when neither an option nor --daemon-conf gives them.
    static let policyDefaults = AdjustmentConfiguration()
    @Option(help: ArgumentHelp(
        "prewarmd's configuration file: run prewarm with its settings (Aggressiveness, MinIdleBeforePowerDown, "
            + "PowerDownMargin, ArrivalBootShare, Threshold, PriceScale, MaxPowerUpsPerCycle, MaxPowerDownsPerCycle, "
            + "MaxActionsPerHour, Interval, LearnedArrivals, ScaleRefinement, and BootLeadTime when not auto); the "
            + "options below override it.",
        valueName: "file"))
    var daemonConf: String?
    @Option(help: "Prewarm: 0 plans for the expected demand, 1 for its upper band (default: \(Self.number(Self.policyDefaults.aggressiveness)); Aggressiveness).")
    var aggressiveness: Float?
    @Option(help: ArgumentHelp(
        "Prewarm: share (0-1) of expected arrivals of unsubmitted jobs that justifies booting nodes (they always keep "
            + "nodes up; default: \(Self.number(Self.policyDefaults.arrivalBootShare)); ArrivalBootShare).",
        valueName: "share"))
    var arrivalBootShare: Float?
    @Option(help: "Prewarm: seconds a node must be idle before it may be powered down (default: \(Self.policyDefaults.minIdleBeforePowerDown); MinIdleBeforePowerDown).")
    var minIdle: Int64?
    @Option(help: "Prewarm: keep an idle node if the forecast needs it within boot time + this many seconds (default: \(Self.policyDefaults.powerDownMargin); PowerDownMargin).")
    var powerDownMargin: Int64?
    @Option(help: """
        Prewarm: multiply the prices of idle buffers and of nodes kept for users' next jobs (above 1: leaner, \
        fewer idle node-hours and more boot waits; below 1: more eager; default: 1; PriceScale).
        """)
    var priceScale: Double?
    @Option(help: "Prewarm: act only when needed and powered nodes differ by more than this (default: \(Self.policyDefaults.threshold); Threshold).")
    var threshold: Int?
    @Option(help: ArgumentHelp(
        "Prewarm: at most this many power-ups, and as many power-downs, per one-minute step (prewarmd: "
            + "MaxPowerUpsPerCycle, MaxPowerDownsPerCycle; default: those of --daemon-conf, else the cluster's node "
            + "count, no cap, like the simulated Slurm's own resumes and suspends).",
        valueName: "nodes"))
    var maxActionsPerStep: Int?
    @Option(help: ArgumentHelp(
        "Prewarm: at most this many power actions (a node up or down) in any rolling hour, as prewarmd's "
            + "MaxActionsPerHour counts them (default: that of --daemon-conf, else no cap). With --pool, each pool "
            + "gets a share in proportion to its nodes (prewarmd's cap is the cluster's).",
        valueName: "actions"))
    var maxActionsPerHour: Int?
    @Option(help: ArgumentHelp(
        "Prewarm under Slurm's own SuspendTime, as prewarmd runs on a live cluster (Slurm's power saving needs one): "
            + "Slurm also suspends every node idle this many seconds, whatever prewarm keeps it for (default: prewarm "
            + "alone powers nodes down).",
        valueName: "seconds"))
    var slurmSuspendTime: Int64?
    @Flag(help: "Prewarm: a runtime model that does not scale the chosen candidate (the plugin's model from `prewarm train --no-refine`, prewarmd's ScaleRefinement=no).")
    var noRefine = false
    @Flag(help: "Also run reactive at several SuspendTimes and prewarm at several settings; compare the curves.")
    var frontier = false
    @Option(help: ArgumentHelp(
        "Prewarm settings for --frontier, as aggressiveness:min-idle[:price-scale[:arrival-boot-share]] (price scale and "
            + "arrival boot share 1 if omitted).",
        valueName: "settings"))
    var frontierSettings = "0:60:4,0:60:2,0:60,0:60:1:0,0:300,0.5:120,1:300,1:300:1:0,1:60:1:0,1:300:0.5"
    @Option(help: ArgumentHelp(
        "Reactive SuspendTimes for --frontier, seconds, comma-separated (issue #3's five by default; more points "
            + "make the interpolation on reactive's curve finer).",
        valueName: "seconds"))
    var frontierSuspendTimes = "60,300,600,1800,3600"
    @Option(help: "Policies to run (comma-separated; reactive is the reference and always runs).")
    var policies = "always_on,reactive,prewarm,oracle"
    @Option(help: ArgumentHelp(
        "Simulations to run at once (default: the machine's cores; results do not depend on it, the time_s and "
            + "jobs/s columns do: use 1 to time runs alone).",
        valueName: "n"))
    var threads: Int?
    @Option(help: "Write a self-contained HTML report with SVG plots to this file.")
    var report: String?
    @Flag(help: "Print one JSON object instead of a table.")
    var json = false
    @Option(help: ArgumentHelp(
        "Scale check: simulate this many synthetic jobs (1–64 nodes, up to 2 h, ~70 % load) instead of a log.",
        visibility: .hidden))
    var syntheticJobs: Int?
    @Option(help: ArgumentHelp("Write each run's job outcomes as CSV files into this directory (analysis).",
                               visibility: .hidden))
    var outcomes: String?
    @Option(help: ArgumentHelp("Prewarm: price of keeping a user's nodes for their next submission (0: off).",
                               visibility: .hidden))
    var followPrice: Double = SessionModel().followPrice
    @Option(help: ArgumentHelp("Prewarm: multiply the arrival buffer's prices by this (experiments).",
                               visibility: .hidden))
    var bufferPriceScale: Double = 1
    @Option(help: ArgumentHelp("Prewarm: multiply the resubmission price by this (experiments).",
                               visibility: .hidden))
    var sessionPriceScale: Double = 1

    func validate() throws {
        if let n = nodes, n < 1 { throw ValidationError("--nodes must be ≥ 1") }
        if let c = coresPerNode, c < 1 { throw ValidationError("--cores-per-node must be ≥ 1") }
        if let s = slurmSuspendTime, s < 1 { throw ValidationError("--slurm-suspend-time must be ≥ 1") }
        guard trace == nil || history.db == nil else { throw ValidationError("give --trace or --db, not both") }
        guard history.db == nil || syntheticJobs == nil else {
            throw ValidationError("give --db or --synthetic-jobs, not both")
        }
        if !poolTexts.isEmpty {
            guard history.db != nil else { throw ValidationError("--pool divides the jobs of the history store: give --db") }
            guard nodes == nil, history.partition == nil else {
                throw ValidationError("--pool names the partitions and their nodes: give it instead of --nodes and --partition")
            }
            _ = try Self.parsePools(poolTexts)
        }
        guard history.db == nil || nodes != nil || !poolTexts.isEmpty else {
            throw ValidationError(
                "--db needs --nodes (or --pool): the history does not say how many nodes the cluster (or the partitions) has")
        }
        if backfillDepth < 0 { throw ValidationError("--backfill-depth must be ≥ 0") }
        if let n = maxActionsPerStep, n < 1 { throw ValidationError("--max-actions-per-step must be ≥ 1") }
        if let n = maxActionsPerHour, n < 0 { throw ValidationError("--max-actions-per-hour must be ≥ 0") }
        if let m = minIdle, m < 0 { throw ValidationError("--min-idle must be ≥ 0") }
        if let m = powerDownMargin, m < 0 { throw ValidationError("--power-down-margin must be ≥ 0") }
        if let t = threshold, t < 0 { throw ValidationError("--threshold must be ≥ 0") }
        if let a = aggressiveness, !(a >= 0 && a <= 1) { throw ValidationError("--aggressiveness must be from 0 to 1") }
        if let n = threads, n < 1 { throw ValidationError("--threads must be ≥ 1") }
        if let p = pricePerNodeHour, !(p >= 0 && p.isFinite) { throw ValidationError("--price-per-node-hour must be ≥ 0") }
        if let p = priceScale, !(p > 0 && p.isFinite) { throw ValidationError("--price-scale must be > 0") }
        if let b = arrivalBootShare, !(b >= 0 && b <= 1) {
            throw ValidationError("--arrival-boot-share must be from 0 to 1")
        }
        for (name, w) in [("--off-watts", offWatts), ("--idle-watts", idleWatts), ("--busy-watts", busyWatts)] {
            guard w >= 0, w.isFinite else { throw ValidationError("\(name) must be a number of watts ≥ 0") }
        }
        guard bootTime >= 0, powerDownTime >= 0, suspendTime >= 0 else {
            throw ValidationError("times must be ≥ 0")
        }
    }

    func run() throws {
        let daemon = try daemonConf.map(Self.loadDaemonConfiguration)  // before the log: a bad file fails at once
        let loaded: (header: SWFHeader, jobs: [JobRecord])
        let path: String
        // With --pool: each pool's partitions, nodes and jobs (`loaded.jobs` is theirs, pool after pool).
        var pools: [(pool: PoolSpec, jobs: [JobRecord])] = []
        if let count = syntheticJobs {
            let n = nodes ?? 10_000
            path = "synthetic-\(count)"
            loaded = (SWFHeader(maxNodes: n, maxProcs: n), Self.synthetic(count: count, nodes: n))
        } else if !poolTexts.isEmpty, let stored = try history.selected(), let db = history.db {
            (path, pools) = try Self.divide(stored, into: Self.parsePools(poolTexts), db: db)
            let n = pools.reduce(0) { $0 + $1.pool.nodes }
            loaded = (SWFHeader(maxNodes: n, maxProcs: n * (coresPerNode ?? 1)), Array(pools.map(\.jobs).joined()))
        } else if let jobs = try history.jobs(), let label = history.label {
            let n = nodes ?? 1  // validate() requires --nodes with --db
            path = label
            loaded = (SWFHeader(maxNodes: n, maxProcs: n * (coresPerNode ?? 1)), jobs)
        } else {
            path = try trace ?? CLISupport.bundledTrace()
            loaded = try CLISupport.loadTrace(path, lenient: lenient)
        }
        let settings = try Self.parseSettings(frontierSettings)
        let suspendTimes = try Self.parseSuspendTimes(frontierSuspendTimes)
        let chosen = Set(policies.split(separator: ",").map(String.init))
        let known: Set<String> = ["always_on", "reactive", "prewarm", "oracle"]
        guard chosen.isSubset(of: known), chosen.contains("reactive") else {
            throw ValidationError("--policies: a comma-separated subset of \(known.sorted()) including reactive")
        }
        guard !frontier || chosen == known else { throw ValidationError("--frontier runs every policy") }
        let header = loaded.header
        let cores = coresPerNode ?? SimulatedCluster.coresPerNode(maxProcs: header.maxProcs, maxNodes: header.maxNodes)
        let nodeCount = nodes ?? header.maxNodes ?? header.maxProcs ?? 128
        /// A cluster of `nodes` nodes as the options describe it (a pool's own boot time, price and power draw, when
        /// given).
        func simulated(nodes: Int, bootTime boot: Int64? = nil, price: Double? = nil,
                       watts: (off: Double, idle: Double, busy: Double)? = nil) -> SimulatedCluster {
            var c = SimulatedCluster(
                nodes: nodes, coresPerNode: cores, bootTime: boot ?? bootTime, powerDownTime: powerDownTime,
                offWatts: watts?.off ?? offWatts, idleWatts: watts?.idle ?? idleWatts, busyWatts: watts?.busy ?? busyWatts,
                pricePerNodeHour: price ?? pricePerNodeHour, backfillDepth: backfillDepth)
            c.sharesNodes = shareNodes
            return c
        }
        if shareNodes && cores < 2 {
            throw ValidationError(
                "--share-nodes: nodes of \(cores) core cannot be shared; give --cores-per-node (more than 1)")
        }
        if shareNodes && cores > Self.maxSharedCores {
            throw ValidationError(
                "--share-nodes: --cores-per-node \(cores) is more than \(Self.maxSharedCores) (the simulator keeps "
                    + "shared nodes by free cores)")
        }
        if history.db != nil && !shareNodes, let hint = Self.sharingHint(loaded.jobs) { CLISupport.note(hint) }
        let cluster = simulated(nodes: nodeCount)
        // The simulated Slurm resumes and suspends any number of nodes at once (reactive's power saving has no
        // ResumeRate/SuspendRate here), so prewarm gets no tighter cap unless asked: prewarmd's default of 50 per
        // cycle is for a live cluster, where an admin sizes it; at 50, LANL-CM5's 512-node jobs (1,024 nodes) took
        // ten cycles to power up or down.
        let stepCaps = (
            up: maxActionsPerStep ?? daemon?.policy.maxPowerUpsPerStep, down: maxActionsPerStep ?? daemon?.policy.maxPowerDownsPerStep)
        let hourlyCap = maxActionsPerHour ?? daemon?.maxActionsPerHour
        // The sets of nodes simulated apart (--pool), or the whole cluster as one. prewarmd's caps hold for the whole
        // cluster; here each pool gets the per-cycle caps whole, and a share of the hourly cap by its nodes.
        let units = pools.isEmpty
            ? [Unit(partitions: [], jobs: loaded.jobs, cluster: cluster, upCap: stepCaps.up ?? nodeCount,
                    downCap: stepCaps.down ?? nodeCount, hourlyCap: hourlyCap)]
            : pools.map { pool, jobs in
                Unit(partitions: pool.partitions, jobs: jobs,
                     cluster: simulated(
                        nodes: pool.nodes, bootTime: pool.bootTime, price: pool.pricePerNodeHour, watts: pool.watts),
                     upCap: stepCaps.up ?? pool.nodes, downCap: stepCaps.down ?? pool.nodes,
                     hourlyCap: hourlyCap.map { Self.share(of: $0, nodes: pool.nodes, among: nodeCount) },
                     suspendTime: pool.suspendTime)
            }
        if let daemonConf, let daemon {
            for note in Self.unsimulated(daemon, file: daemonConf) { CLISupport.note(note) }
        }
        let name = (path as NSString).lastPathComponent
        // The human table compares the default setting with Slurm's own knob too: reactive at the frontier's
        // SuspendTimes (cheap runs); the JSON keeps the issue's four policies unless --frontier is given.
        let knobCurve = frontier || (!json && chosen.contains("prewarm"))
        let policy = daemon?.policy ?? Self.policyDefaults  // the file's settings, else the defaults
        let refine = !noRefine && (daemon?.scaleRefinement ?? true)
        let prewarmOptions = PrewarmOptions(
            bootLeadTime: daemon.flatMap { $0.bootLeadLearned ? nil : $0.policy.bootLeadTime },
            threshold: threshold ?? policy.threshold,
            powerDownMargin: powerDownMargin ?? policy.powerDownMargin,
            followPrice: followPrice, sessionPriceScale: sessionPriceScale, bufferPriceScale: bufferPriceScale,
            refine: refine, slurmSuspendTime: slurmSuspendTime, interval: Int64(daemon?.interval ?? 60),
            learnedArrivals: daemon?.learnedArrivals ?? true)
        let defaultSetting = (
            aggressiveness ?? policy.aggressiveness, minIdle ?? policy.minIdleBeforePowerDown,
            priceScale ?? daemon?.priceScale ?? 1, arrivalBootShare ?? policy.arrivalBootShare)

        // Every run, in the order of the table. A run the same as an earlier one (reactive at the reference
        // SuspendTime, a frontier setting equal to the default) is that run again: the simulator is deterministic.
        var plan: [PlannedRun] = []
        let jobs = loaded.jobs
        if chosen.contains("always_on") {
            plan.append(PlannedRun(label: "always_on", cost: 1) { Self.simulate(units) { _ in AlwaysOnPolicy() } })
        }
        let suspend = suspendTime
        plan.append(PlannedRun(label: "reactive", cost: 1) {
            Self.simulate(units) { ReactivePolicy(suspendTime: $0.suspendTime ?? suspend) }  // a pool's own, else the cluster's
        })
        if chosen.contains("prewarm") {
            plan.append(PlannedRun(label: "prewarm", cost: 3) {
                Self.simulatePrewarm(units, prewarmOptions, defaultSetting)
            })
        }
        if chosen.contains("oracle") || frontier {
            plan.append(PlannedRun(label: "oracle", cost: 2) {
                let started = CLISupport.now()
                var out = Self.simulate(units) { OraclePolicy(jobs: $0.jobs, cluster: $0.cluster) }
                out.seconds = CLISupport.now() - started  // the oracle's pre-run counts too
                return out
            })
        }
        var curveLabels: [String] = []
        if knobCurve {
            for s in suspendTimes {
                let label = "reactive_s\(s)"
                curveLabels.append(label)
                // The knob swept: every pool at `s`, its own SuspendTime too (so the same as the reference run only
                // where no pool has one).
                plan.append(s == suspendTime && units.allSatisfy({ $0.suspendTime == nil })
                    ? PlannedRun(label: label, sameAs: "reactive")
                    : PlannedRun(label: label, cost: 1) { Self.simulate(units) { _ in ReactivePolicy(suspendTime: s) } })
            }
        }
        var settingLabels: [String] = []
        if frontier {
            for (a, i, p, b) in settings {
                // A setting's omitted fields are 1, whatever the defaults of --price-scale and --arrival-boot-share;
                // the label names the fields that are not 1.
                let label = "prewarm_a\(a)_idle\(i)" + (p == 1 ? "" : "_p\(p)") + (b == 1 ? "" : "_b\(b)")
                settingLabels.append(label)
                let setting = (a, i, p, b)
                plan.append(setting == defaultSetting && chosen.contains("prewarm")
                    ? PlannedRun(label: label, sameAs: "prewarm", row: false)
                    : PlannedRun(label: label, cost: 3) { Self.simulatePrewarm(units, prewarmOptions, setting) })
            }
        }

        let progress = Progress("simulate \(name)")
        let reportLabels: Set<String> = report == nil ? [] : ["always_on", "reactive", "prewarm", "oracle"]
        let outcomesFolder = outcomes
        let done = Self.execute(plan, threads: threads ?? ProcessInfo.processInfo.activeProcessorCount) { run, r in
            // Called once per run as it ends, one at a time.
            if let outcomesFolder {
                var csv = "submit,nodes,placed,start,end,user\n"
                for (i, o) in r.result.outcomes.enumerated() where o.skipped == nil {
                    csv += "\(o.submit),\(o.nodes),\(o.placed),\(o.start),\(o.end),\(jobs[i].user)\n"
                }
                try? AtomicFile.write(Array(csv.utf8), to: "\(outcomesFolder)/\(run.label).csv")
            }
            return reportLabels.contains(run.label)
        } progress: { finished, total in
            progress.update(Double(finished) / Double(total + 1))
        }
        var rows: [(String, SimulationMetrics, Double)] = []
        var byLabel: [String: SimulationMetrics] = [:]
        var poolRows: [(String, [SimulationMetrics])] = []  // with --pool: per row, every pool's metrics
        for (run, outcome) in zip(plan, done) {
            guard let outcome else { continue }
            byLabel[run.label] = outcome.result.metrics
            if run.row {
                rows.append((run.label, outcome.result.metrics, outcome.seconds))
                if units.count > 1 { poolRows.append((run.label, outcome.parts)) }
            }
        }
        let reportRuns = zip(plan, done).compactMap { run, outcome in
            outcome.flatMap { $0.kept ? SimulationReport.Run(label: run.label, result: $0.result) : nil }
        }
        let prewarmAccuracy = zip(plan, done).first { $0.0.label == "prewarm" }?.1?.accuracy ?? 0
        guard let reference = byLabel["reactive"] else { throw CLIError("the reactive run is missing") }
        let oracleMetrics = byLabel["oracle"]

        var comparison: FrontierComparison?
        var issueComparison: FrontierComparison?  // on issue #3's five SuspendTimes, when more were run
        var defaultComparison: FrontierComparison?  // the default setting alone, without --frontier
        // The frontier again with the boots left out of the idle node-hours (`idleNodeHoursWithoutBoot`, the
        // reading under which issue #3's oracle estimate is reproduced), on the issue's five SuspendTimes when run.
        var withoutBoot: (comparison: FrontierComparison, times: [Int64])?
        var curves: (reactive: [FrontierPoint], prewarm: [FrontierPoint]) = ([], [])
        /// A run's point on the frontier, its idle node-hours read as `idle` says.
        func point(_ label: String, _ m: SimulationMetrics,
                   idle: KeyPath<SimulationMetrics, Double> = \.idleNodeHours) -> FrontierPoint {
            FrontierPoint(label: label, idleNodeHours: m[keyPath: idle], bootWait: m.meanBootWait)
        }
        let referencePoint = point("reactive", reference)
        for (s, label) in zip(suspendTimes, curveLabels) {
            guard let m = byLabel[label] else { continue }
            curves.reactive.append(point("SuspendTime=\(s)", m))
        }
        let oraclePoint = oracleMetrics.map { point("oracle", $0) }
        if !frontier, knobCurve, let p = byLabel["prewarm"] {
            curves.prewarm = [point("prewarm", p)]
            defaultComparison = Frontier.compare(
                reactive: curves.reactive, prewarm: curves.prewarm, oracle: oraclePoint ?? referencePoint,
                reference: referencePoint)
        }
        if frontier, let oraclePoint {
            for label in settingLabels {
                guard let m = byLabel[label] else { continue }
                curves.prewarm.append(point(label, m))
            }
            comparison = Frontier.compare(
                reactive: curves.reactive, prewarm: curves.prewarm, oracle: oraclePoint, reference: referencePoint)
            let withoutBootIdle = \SimulationMetrics.idleNodeHoursWithoutBoot
            let allFive = Set(Self.issueSuspendTimes).isSubset(of: Set(suspendTimes))
            let times = suspendTimes.filter { !allFive || Self.issueSuspendTimes.contains($0) }
            let reactiveWithoutBoot = zip(suspendTimes, curveLabels).compactMap { s, label in
                times.contains(s) ? byLabel[label].map { point("SuspendTime=\(s)", $0, idle: withoutBootIdle) } : nil
            }
            if let o = oracleMetrics {
                withoutBoot = (Frontier.compare(
                    reactive: reactiveWithoutBoot,
                    prewarm: settingLabels.compactMap { label in byLabel[label].map { point(label, $0, idle: withoutBootIdle) } },
                    oracle: point("oracle", o, idle: withoutBootIdle),
                    reference: point("reactive", reference, idle: withoutBootIdle)),
                    times.sorted())
            }
            let issuePoints = zip(suspendTimes, curves.reactive).filter { Self.issueSuspendTimes.contains($0.0) }
            if issuePoints.count == Self.issueSuspendTimes.count && suspendTimes.count > issuePoints.count {
                issueComparison = Frontier.compare(
                    reactive: issuePoints.map(\.1), prewarm: curves.prewarm, oracle: oraclePoint,
                    reference: referencePoint)
            }
        }
        progress.finish()
        if let report {
            let page = SimulationReport.html(
                trace: name, cluster: cluster, suspendTime: suspendTime, runs: reportRuns,
                frontier: curves.prewarm.isEmpty ? nil : (curves.reactive, curves.prewarm, comparison ?? defaultComparison))
            try CLISupport.writeOutput(Array(page.utf8), to: report)
            CLISupport.note("wrote \(report)")
        }
        if json {
            func metricsObject(_ m: SimulationMetrics, seconds: Double?) -> JSON {
                .object([
                    ("jobs", .int(m.jobsSimulated)), ("skipped", .int(m.jobsSkipped)),
                    ("mean_wait_s", .number(m.meanWait)), ("p95_wait_s", .number(m.p95Wait)),
                    ("boot_wait_s", .number(m.meanBootWait)), ("boot_delayed_share", .number(m.bootDelayedShare)),
                    ("boot_wait_at_submit_share", .number(m.bootWaitAtSubmitShare)),
                    ("bounded_slowdown", .number(m.boundedSlowdown)), ("idle_node_hours", .number(m.idleNodeHours)),
                    ("busy_node_hours", .number(m.busyNodeHours)), ("off_node_hours", .number(m.offNodeHours)),
                    ("booting_node_hours", .number(m.bootingNodeHours)),
                    ("powering_down_node_hours", .number(m.poweringDownNodeHours)),
                    ("held_idle_node_hours", .number(m.heldIdleNodeHours)), ("energy_kwh", .number(m.energyKWh)),
                    ("power_cycles", .int(m.powerCycles)), ("cloud_cost", .number(m.cloudCost)),
                ] + (seconds.map { [("seconds", JSON.number($0))] } ?? []))
            }
            let policies: [(String, JSON)] = rows.map { label, m, seconds in (label, metricsObject(m, seconds: seconds)) }
            var top: [(String, JSON)] = [
                ("trace", .string(name)), ("nodes", .int(cluster.nodes)), ("cores_per_node", .int(cores)),
                ("shares_nodes", .bool(shareNodes)),
                ("boot_time_s", .int(Int(bootTime))), ("suspend_time_s", .int(Int(suspendTime))),
                ("backfill_depth", .int(backfillDepth)),
                ("watts", .object([
                    ("off", .number(offWatts)), ("idle", .number(idleWatts)), ("busy", .number(busyWatts)),
                ])),
                ("max_actions_per_step", .int(stepCaps.up ?? nodeCount)),
                ("max_power_downs_per_step", .int(stepCaps.down ?? nodeCount)),
                ("max_actions_per_hour", hourlyCap.map { .int($0) } ?? .null),
                ("daemon_conf", daemonConf.map { .string($0) } ?? .null),
                ("prewarm_slurm_suspend_time_s", slurmSuspendTime.map { .int(Int($0)) } ?? .null),
                ("runtime_scale_refinement", .bool(refine)),
                ("policies", .object(policies)),
                ("prewarm_runtime_accuracy", .number(Evaluate.round4(prewarmAccuracy))),
            ]
            func object(_ f: FrontierComparison, _ times: [Int64]) -> JSON {
                .object([
                    ("wait_cut_at_equal_idle", .number(Evaluate.round4(f.waitCutAtEqualIdle))),
                    ("idle_saving_at_equal_wait", .number(Evaluate.round4(f.idleSavingAtEqualWait))),
                    ("oracle_gap_closed", .number(Evaluate.round4(f.oracleGapClosed))),
                    ("wait_cut_setting", .string(f.waitCutSetting)),
                    ("idle_saving_setting", .string(f.idleSavingSetting)),
                    ("oracle_gap_setting", .string(f.oracleGapSetting)),
                    ("suspend_times_s", .array(times.map { .int(Int($0)) })),
                    ("settings", .object(f.settings.map { c in
                        func value(_ x: Double?) -> JSON { x.map { .number(Evaluate.round4($0)) } ?? .null }
                        return (c.label, .object([
                            ("wait_cut_at_equal_idle", value(c.waitCutAtEqualIdle)),
                            ("idle_saving_at_equal_wait", value(c.idleSavingAtEqualWait)),
                            ("oracle_gap_closed", value(c.oracleGapClosed)),
                        ]))
                    })),
                ])
            }
            if let f = comparison { top.append(("frontier", object(f, suspendTimes))) }
            if let f = issueComparison {
                top.append(("frontier_issue_suspend_times", object(f, Self.issueSuspendTimes)))
            }
            if let w = withoutBoot { top.append(("frontier_without_boot", object(w.comparison, w.times))) }
            if !poolRows.isEmpty {
                // Every pool's own figures (the policies above are their sums over the pools).
                top.append(("pools", .array(units.enumerated().map { i, unit in
                    .object([
                        ("partitions", .array(unit.partitions.map { .string($0) })), ("nodes", .int(unit.cluster.nodes)),
                        ("boot_time_s", .int(Int(unit.cluster.bootTime))),
                        ("suspend_time_s", .int(Int(unit.suspendTime ?? suspendTime))),
                        ("prewarm_slurm_suspend_time_s", slurmSuspendTime.map { .int(Int(unit.suspendTime ?? $0)) } ?? .null),
                        ("price_per_node_hour", unit.cluster.pricePerNodeHour.map { .number($0) } ?? .null),
                        ("watts", .object([
                            ("off", .number(unit.cluster.offWatts)), ("idle", .number(unit.cluster.idleWatts)),
                            ("busy", .number(unit.cluster.busyWatts)),
                        ])),
                        ("max_actions_per_hour", unit.hourlyCap.map { .int($0) } ?? .null),
                        ("input_jobs", .int(unit.jobs.count)),
                        ("policies", .object(poolRows.compactMap { label, parts in
                            i < parts.count ? (label, metricsObject(parts[i], seconds: nil)) : nil
                        })),
                    ])
                })))
            }
            print(JSON.object(top).text)
            return
        }
        print("trace \(name): \(loaded.jobs.count) jobs, \(cluster.nodes) nodes × \(cores) cores"
            + (shareNodes ? " (jobs share nodes)" : "") + (units.count > 1 ? " in \(units.count) pools simulated apart" : "")
            + (pools.contains { $0.pool.hasOwnSettings } ? " (with the settings the pools give of their own)" : "") + ", "
            + "boot \(bootTime) s, power-down \(powerDownTime) s, SuspendTime \(suspendTime) s, "
            + (slurmSuspendTime.map { "prewarm under Slurm's SuspendTime \($0) s, " } ?? "")
            + (daemonConf.map { "prewarm with the settings of \($0), " } ?? "")
            + (hourlyCap.map { "prewarm at most \($0) actions an hour" + (units.count > 1 ? " (shared among the pools), " : ", ") } ?? "")
            + "\(Self.number(offWatts))/\(Self.number(idleWatts))/\(Self.number(busyWatts)) W per node off/idle/busy")
        var table = TextTable(header: [
            "policy", "jobs", "skipped", "mean_wait_s", "p95_wait_s", "boot_wait_s", "delayed_%", "bsld",
            "idle_node_h", "energy_kWh", "cycles", "time_s", "jobs/s",
        ])
        for (label, m, seconds) in rows {
            table.add([
                label, "\(m.jobsSimulated)", "\(m.jobsSkipped)", String(format: "%.0f", m.meanWait),
                String(format: "%.0f", m.p95Wait), String(format: "%.1f", m.meanBootWait),
                String(format: "%.1f", m.bootDelayedShare * 100), String(format: "%.2f", m.boundedSlowdown),
                String(format: "%.0f", m.idleNodeHours), String(format: "%.0f", m.energyKWh), "\(m.powerCycles)",
                String(format: "%.2f", seconds), String(format: "%.0f", Double(loaded.jobs.count) / seconds),
            ])
        }
        print(table.text, terminator: "")
        if !poolRows.isEmpty {
            print("\nEach pool on its own (simulated apart, each policy with its own state; the table above sums them):")
            var each = TextTable(header: [
                "pool", "nodes", "policy", "jobs", "mean_wait_s", "boot_wait_s", "idle_node_h", "energy_kWh", "cycles",
            ])
            for (i, unit) in units.enumerated() {
                for (label, parts) in poolRows where i < parts.count {
                    let m = parts[i]
                    each.add([
                        unit.partitions.joined(separator: ","), "\(unit.cluster.nodes)", label, "\(m.jobsSimulated)",
                        String(format: "%.0f", m.meanWait), String(format: "%.1f", m.meanBootWait),
                        String(format: "%.0f", m.idleNodeHours), String(format: "%.0f", m.energyKWh), "\(m.powerCycles)",
                    ])
                }
            }
            print(each.text, terminator: "")
        }
        let byName = Dictionary(rows.map { ($0.0, $0.1) }, uniquingKeysWith: { a, _ in a })
        if let r = byName["reactive"], let p = byName["prewarm"] {
            let waitCut = r.meanBootWait > 0 ? 100 * (1 - p.meanBootWait / r.meanBootWait) : 0
            let idle = r.idleNodeHours > 0 ? 100 * (p.idleNodeHours / r.idleNodeHours - 1) : 0
            print(String(
                format: "\nPrewarm vs Slurm's power saving (SuspendTime %d s): boot-induced wait %.0f s → %.0f s (%+.0f %%), "
                    + "powered-idle node-hours %.0f → %.0f (%+.0f %%); runtime predictions used: accuracy %.3f",
                Int(suspendTime), r.meanBootWait, p.meanBootWait, -waitCut, r.idleNodeHours, p.idleNodeHours, idle,
                prewarmAccuracy))
            if p.meanBootWait > 0 {
                print(String(
                    format: "Of prewarm's boot-induced wait, %.0f %% fell on jobs placed the moment they were submitted "
                        + "(only foreseeing their arrival could spare them), %.0f %% on jobs that had queued first "
                        + "(reactive: %.0f %% and %.0f %%).",
                    100 * p.bootWaitAtSubmitShare, 100 * (1 - p.bootWaitAtSubmitShare), 100 * r.bootWaitAtSubmitShare,
                    100 * (1 - r.bootWaitAtSubmitShare)))
            }
        }
        if let f = defaultComparison {
            let times = suspendTimes.map(String.init).joined(separator: ", ")
            let cut = f.waitCutSetting.isEmpty
                ? "prewarm spends more idle energy than Slurm at SuspendTime \(suspendTimes.last ?? 0) s"
                : String(format: "at the same idle energy, jobs waited %.0f %% less for nodes to boot", 100 * f.waitCutAtEqualIdle)
            let saving = f.idleSavingSetting.isEmpty
                ? "prewarm's boot wait is beyond Slurm's at SuspendTime \(suspendTimes.first ?? 0) s"
                : String(format: "for the same waiting, %.0f %% less idle energy", 100 * f.idleSavingAtEqualWait)
            print("Against Slurm's own knob (reactive at SuspendTime \(times) s, interpolated): \(cut); \(saving) "
                + "(prewarm at \(Self.settingText(defaultSetting)); --frontier tries \(settings.count) settings).")
        }
        if let f = comparison {
            let cut = f.waitCutSetting.isEmpty
                ? "every setting spends more idle energy than Slurm at SuspendTime \(suspendTimes.max() ?? 0) s"
                : String(format: "at the same idle energy as Slurm's power saving, jobs waited %.0f %% less for nodes to "
                    + "boot (%@)", 100 * f.waitCutAtEqualIdle, f.waitCutSetting)
            let saving = f.idleSavingSetting.isEmpty
                ? "every setting's boot wait is beyond Slurm's at SuspendTime \(suspendTimes.min() ?? 0) s"
                : String(format: "for the same waiting, %.0f %% less idle energy (%@)", 100 * f.idleSavingAtEqualWait,
                    f.idleSavingSetting)
            let gap = f.oracleGapSetting.isEmpty
                ? "no setting stays within SuspendTime=\(Int(suspendTime))'s idle budget, so none of the gap to the oracle "
                    + "is closed there"
                : String(format: "%.0f %% of the gap to the oracle closed within SuspendTime=%d's idle budget (%@)",
                    100 * f.oracleGapClosed, Int(suspendTime), f.oracleGapSetting)
            print("Frontier: \(cut); \(saving); \(gap).")
            // The figures above are the best setting for each; an admin runs one setting and gets its row.
            var each = TextTable(header: ["setting", "cut_at_equal_idle", "saving_at_equal_wait", "oracle_gap_closed"])
            func percent(_ x: Double?) -> String { x.map { String(format: "%.1f %%", 100 * $0) } ?? "-" }
            for c in f.settings {
                each.add([c.label, percent(c.waitCutAtEqualIdle), percent(c.idleSavingAtEqualWait),
                          percent(c.oracleGapClosed)])
            }
            print("Each setting on its own (- where it lies outside reactive's curve or above its idle budget):")
            print(each.text, terminator: "")
        }
        if let f = issueComparison {
            print(String(
                format: "On issue #3's SuspendTimes only (60, 300, 600, 1800, 3600 s): %.0f %% less boot wait at equal "
                    + "idle (%@), %.0f %% less idle at equal wait (%@).",
                100 * f.waitCutAtEqualIdle, f.waitCutSetting, 100 * f.idleSavingAtEqualWait, f.idleSavingSetting))
        }
        if let w = withoutBoot, let o = oracleMetrics, reference.idleNodeHoursWithoutBoot > 0 {  // idle >= it
            let f = w.comparison
            print(String(
                format: "Without the boots in the idle node-hours (the oracle's idle is then %.2f× reactive's, "
                    + "%.2f× with them; issue #3 estimated 0.15×), on SuspendTimes %@ s: %.0f %% less boot wait at "
                    + "equal idle (%@), %.0f %% less idle at equal wait (%@).",
                o.idleNodeHoursWithoutBoot / reference.idleNodeHoursWithoutBoot, o.idleNodeHours / reference.idleNodeHours,
                w.times.map(String.init).joined(separator: ", "), 100 * f.waitCutAtEqualIdle,
                f.waitCutSetting.isEmpty ? "none" : f.waitCutSetting, 100 * f.idleSavingAtEqualWait,
                f.idleSavingSetting.isEmpty ? "none" : f.idleSavingSetting))
        }
        print(String(format: "peak memory %.0f MB", CLISupport.peakRSSMegabytes()))
    }

    /// What every prewarm run of one command shares; the settings of the frontier vary the rest.
    struct PrewarmOptions: Sendable {
        /// The forecast's boot lead (at least the boot time: PrewarmPolicy takes the larger); nil: the simulated
        /// nodes' boot time (prewarmd's `BootLeadTime=auto`), each pool's own.
        var bootLeadTime: Int64?
        var threshold: Int
        var powerDownMargin: Int64
        var followPrice: Double
        var sessionPriceScale: Double
        var bufferPriceScale: Double
        var refine: Bool
        /// `--slurm-suspend-time`: Slurm's SuspendTime the prewarm runs are under, or nil.
        var slurmSuspendTime: Int64?
        /// Seconds between the policy's periodic steps (prewarmd's `Interval`).
        var interval: Int64 = 60
        /// prewarmd's `LearnedArrivals`.
        var learnedArrivals = true
    }

    /// One `--pool`: its partitions, nodes, and the settings it has of its own.
    struct PoolSpec: Sendable {
        var partitions: [String]
        var nodes: Int
        /// `:boot=S`: its nodes' boot time (else `--boot-time`).
        var bootTime: Int64? = nil
        /// `:suspend=S`: its own Slurm SuspendTime (else the cluster's).
        var suspendTime: Int64? = nil
        /// `:price=P`: per node-hour (else `--price-per-node-hour`).
        var pricePerNodeHour: Double? = nil
        /// `:watts=OFF/IDLE/BUSY`: its nodes' power draw (else `--off-watts`, `--idle-watts`, `--busy-watts`).
        var watts: (off: Double, idle: Double, busy: Double)? = nil

        /// Whether it gives any setting of its own.
        var hasOwnSettings: Bool { bootTime != nil || suspendTime != nil || pricePerNodeHour != nil || watts != nil }
        /// As `--pool` takes it.
        var text: String {
            "\(partitions.joined(separator: ","))=\(nodes)" + (bootTime.map { ":boot=\($0)" } ?? "")
                + (suspendTime.map { ":suspend=\($0)" } ?? "") + (pricePerNodeHour.map { ":price=\(number($0))" } ?? "")
                + (watts.map { ":watts=\(number($0.off))/\(number($0.idle))/\(number($0.busy))" } ?? "")
        }
    }

    /// `--pool PARTITION[,PARTITION]=N[:boot=S][:suspend=S][:price=P][:watts=O/I/B]` values: every pool's partitions (each in one
    /// pool only), nodes (≥ 1) and own settings (each at most once).
    static func parsePools(_ texts: [String]) throws -> [PoolSpec] {
        var pools: [PoolSpec] = []
        var seen: [String: String] = [:]
        for text in texts {
            var fields = text.split(separator: ":", omittingEmptySubsequences: false)
            let head = fields.removeFirst()
            let parts = head.split(separator: "=", omittingEmptySubsequences: false)
            let names = parts.first.map {
                $0.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            } ?? []
            guard parts.count == 2, !names.isEmpty, !names.contains(where: \.isEmpty),
                let n = Int(parts[1].trimmingCharacters(in: .whitespaces)), n >= 1
            else {
                throw ValidationError(
                    "--pool: '\(text)' is not PARTITION[,PARTITION]=NODES with NODES ≥ 1 (e.g. batch=200 or short,long=64)")
            }
            for name in names {
                if let earlier = seen[name] {
                    throw ValidationError(
                        "--pool: partition \(name) is in '\(earlier)' and in '\(text)'; partitions that share nodes go in one pool")
                }
                seen[name] = text
            }
            var pool = PoolSpec(partitions: names, nodes: n)
            var given: Set<String> = []
            for field in fields {
                let kv = field.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let key = kv[0].trimmingCharacters(in: .whitespaces)
                let value = kv.count == 2 ? kv[1].trimmingCharacters(in: .whitespaces) : ""
                func bad(_ what: String) -> ValidationError {
                    ValidationError("--pool '\(text)': \(key)=\(value): \(what)")
                }
                guard kv.count == 2, ["boot", "suspend", "price", "watts"].contains(key) else {
                    throw ValidationError(
                        "--pool '\(text)': '\(field)' is not boot=SECONDS, suspend=SECONDS, price=PER_NODE_HOUR or "
                            + "watts=OFF/IDLE/BUSY")
                }
                guard given.insert(key).inserted else { throw bad("\(key) given twice") }
                switch key {
                case "boot":
                    guard let v = Int64(value), v >= 0, v <= Self.maxPoolSeconds else {
                        throw bad("the boot time must be a whole number of seconds from 0 to \(Self.maxPoolSeconds)")
                    }
                    pool.bootTime = v
                case "suspend":
                    guard let v = Int64(value), v >= 1, v <= Self.maxPoolSeconds else {
                        throw bad("SuspendTime must be a whole number of seconds from 1 to \(Self.maxPoolSeconds)")
                    }
                    pool.suspendTime = v
                case "watts":
                    let w = value.split(separator: "/", omittingEmptySubsequences: false).map { Double($0) ?? -1 }
                    guard w.count == 3, w.allSatisfy({ $0 >= 0 && $0.isFinite })
                    else { throw bad("the power draw must be three numbers of watts ≥ 0, OFF/IDLE/BUSY") }
                    pool.watts = (w[0], w[1], w[2])
                default:
                    guard let v = Double(value), v >= 0, v.isFinite else { throw bad("the price must be a number ≥ 0") }
                    pool.pricePerNodeHour = v
                }
            }
            pools.append(pool)
        }
        return pools
    }

    /// The longest boot time or SuspendTime a `--pool` may give (a year).
    static let maxPoolSeconds: Int64 = 365 * 86_400

    /// Divides the history's jobs among `pools`: a job goes to the pool of the first partition it names that is in
    /// one (a job submitted to several partitions is stored with the list), in submit order, numbered 1… over all
    /// pools, pool after pool. Jobs of partitions in no pool are left out, and said so on stderr.
    /// - Returns: the name the results carry, and each pool's partitions, nodes and jobs.
    static func divide(_ stored: SelectedJobs, into pools: [PoolSpec], db: String) throws
        -> (name: String, pools: [(pool: PoolSpec, jobs: [JobRecord])])
    {
        var poolOf: [String: Int] = [:]
        for (i, pool) in pools.enumerated() { for name in pool.partitions { poolOf[name] = i } }
        var byPool = [[JobRecord]](repeating: [], count: pools.count)
        var leftOut: [String: Int] = [:]
        for (j, record) in stored.records.enumerated() {
            let names = stored.partitions(j)
            if let i = names.lazy.compactMap({ poolOf[$0] }).first {
                byPool[i].append(record)
            } else {
                leftOut[names.isEmpty ? "(none)" : names.joined(separator: ","), default: 0] += 1
            }
        }
        for (pool, jobs) in zip(pools, byPool) where jobs.isEmpty {
            throw ValidationError(
                "--pool \(pool.partitions.joined(separator: ","))=\(pool.nodes): \(db) holds no job of "
                    + (pool.partitions.count == 1 ? "partition " : "partitions ") + pool.partitions.joined(separator: ", "))
        }
        if !leftOut.isEmpty {
            let list = leftOut.sorted { $0.key < $1.key }.map { "\($0.key) (\($0.value))" }.joined(separator: ", ")
            CLISupport.note("prewarm: \(leftOut.values.reduce(0, +)) jobs of partitions in no --pool left out: \(list)")
        }
        var id: Int64 = 0
        for i in byPool.indices {
            for j in byPool[i].indices {
                id += 1
                byPool[i][j].id = id
            }
        }
        let name = "\(db) (pools " + pools.map(\.text).joined(separator: "; ") + ")"
        return (name, Array(zip(pools, byPool)))
    }

    /// A number as the output writes it: a whole number without a decimal point.
    static func number<T: BinaryFloatingPoint & LosslessStringConvertible>(_ x: T) -> String {
        x == x.rounded() && abs(x) < 1e15 ? String(Int64(x)) : String(x)
    }

    /// A setting as `--frontier-settings` writes it: aggressiveness:min-idle[:price-scale[:arrival-boot-share]].
    static func settingText(_ s: (Float, Int64, Double, Float)) -> String {
        "\(number(s.0)):\(s.1):\(number(s.2)):\(number(s.3))"
    }

    /// Simulates the prewarm policy at `setting`, under Slurm's SuspendTime when `--slurm-suspend-time` gives one.
    static func simulatePrewarm(_ units: [Unit], _ o: PrewarmOptions, _ setting: (Float, Int64, Double, Float))
        -> RunOutcome
    {
        switch (o.slurmSuspendTime, units.first?.hourlyCap) {
        case (nil, nil):
            return simulate(units) { prewarmPolicy(o, setting, $0) }
        case (nil, _?):
            return simulate(units) { UnderHourlyCap(prewarmPolicy(o, setting, $0), cap: $0.hourlyCap ?? .max) }
        case (let suspend?, nil):
            // A pool's own SuspendTime replaces the cluster's, as a partition's does in Slurm.
            return simulate(units) {
                UnderSlurmSuspend(prewarmPolicy(o, setting, $0), suspendTime: $0.suspendTime ?? suspend)
            }
        case (let suspend?, _?):
            // Slurm's suspensions are not prewarmd's actions: the cap applies to the policy's own.
            return simulate(units) {
                UnderSlurmSuspend(UnderHourlyCap(prewarmPolicy(o, setting, $0), cap: $0.hourlyCap ?? .max),
                                  suspendTime: $0.suspendTime ?? suspend)
            }
        }
    }

    /// The prewarm policy at `setting` (aggressiveness, min-idle, price scale, arrival boot share).
    static func prewarmPolicy(_ o: PrewarmOptions, _ setting: (Float, Int64, Double, Float), _ unit: Unit)
        -> PrewarmPolicy
    {
        var c = AdjustmentConfiguration()
        c.bootLeadTime = Swift.max(unit.cluster.bootTime, o.bootLeadTime ?? unit.cluster.bootTime)
        c.aggressiveness = setting.0
        c.minIdleBeforePowerDown = setting.1
        c.arrivalBootShare = setting.3
        c.threshold = o.threshold
        c.powerDownMargin = o.powerDownMargin
        c.maxPowerUpsPerStep = unit.upCap
        c.maxPowerDownsPerStep = unit.downCap
        var sessions = SessionModel()
        sessions.followPrice = o.followPrice
        sessions.price *= o.sessionPriceScale
        sessions.scalePrices(by: setting.2)
        var arrivals = ArrivalModel()
        arrivals.scalePrices(by: setting.2 * o.bufferPriceScale)
        var training = Self.training
        training.model.refineScale = o.refine
        var policy = PrewarmPolicy(
            configuration: c, training: training, arrivals: arrivals, sessions: sessions, tickInterval: o.interval)
        policy.learnedArrivals = o.learnedArrivals
        return policy
    }

    /// prewarmd.conf as prewarmd reads it; an error names the file (and the line and key, from the parser).
    static func loadDaemonConfiguration(_ path: String) throws -> DaemonConfiguration {
        let bytes: [UInt8]
        do {
            bytes = try AtomicFile.read(path, maxBytes: 1 << 20)
        } catch {
            throw CLIError("--daemon-conf: \(error)")
        }
        do {
            return try DaemonConfiguration.parse(String(decoding: bytes, as: UTF8.self), file: path)
        } catch {
            throw CLIError("--daemon-conf: \(error)")
        }
    }

    /// What of prewarmd.conf the simulation does not model, as notes for standard error.
    static func unsimulated(_ c: DaemonConfiguration, file: String) -> [String] {
        var notes: [String] = []
        if !c.excludeNodes.isEmpty || !c.excludePartitions.isEmpty {
            notes.append("\(file): ExcludeNodes and ExcludePartitions are not simulated (the simulated nodes have no names)")
        }
        if c.mode != .enforce {
            notes.append("\(file): Mode=\(c.mode.rawValue); simulated as Mode=enforce (what prewarmd would do)")
        }
        return notes
    }

    /// A pool's share of the cluster's hourly cap: in proportion to its nodes, rounded down, at least 1 (0 stays 0).
    static func share(of cap: Int, nodes: Int, among total: Int) -> Int {
        guard cap > 0, total > 0 else { return Swift.max(0, cap) }
        return Swift.max(1, Int(Int64(cap) * Int64(nodes) / Int64(total)))
    }

    /// One run's result, its wall time, the runtime accuracy prewarm planned with (0 for other policies), and
    /// whether the whole result is kept for the report (otherwise only the metrics are).
    struct RunOutcome: Sendable {
        var result: SimulationResult
        var seconds: Double
        var accuracy: Double
        var kept = false
        /// With `--pool`, every pool's own metrics, in pool order (empty otherwise).
        var parts: [SimulationMetrics] = []
    }

    /// A run of the table: its own simulation, or the result of an earlier run with the same inputs.
    struct PlannedRun: Sendable {
        let label: String
        /// Relative cost, so that the longest runs start first.
        let cost: Int
        /// Whether the run has a row of its own in the table and the JSON.
        let row: Bool
        let sameAs: String?
        let work: (@Sendable () -> RunOutcome)?

        init(label: String, cost: Int, work: @escaping @Sendable () -> RunOutcome) {
            self.label = label
            self.cost = cost
            row = true
            sameAs = nil
            self.work = work
        }

        init(label: String, sameAs: String, row: Bool = true) {
            self.label = label
            cost = 0
            self.row = row
            self.sameAs = sameAs
            work = nil
        }
    }

    /// A set of nodes simulated on its own, with the jobs it serves: the whole cluster, or a `--pool`.
    struct Unit: Sendable {
        var partitions: [String]
        var jobs: [JobRecord]
        var cluster: SimulatedCluster
        /// Prewarm's caps of power-ups and of power-downs per step.
        var upCap: Int
        var downCap: Int
        /// Prewarm's cap of actions per rolling hour (prewarmd's `MaxActionsPerHour`), or nil for none.
        var hourlyCap: Int?
        /// The pool's own Slurm SuspendTime (`--pool …:suspend=S`), or nil for the cluster's.
        var suspendTime: Int64? = nil
    }

    /// Simulates every unit under its own `policy(unit)` and merges the results (``SimulationResult/merged``; the
    /// units' own metrics kept in ``RunOutcome/parts``); the seconds are the sum, the runtime accuracy the mean
    /// over the units weighted by their simulated jobs.
    static func simulate<P: PowerPolicy>(_ units: [Unit], _ policy: (Unit) -> P) -> RunOutcome {
        if units.count == 1, let unit = units.first { return simulate(unit.jobs, unit.cluster, policy(unit)) }
        let runs = units.map { simulate($0.jobs, $0.cluster, policy($0)) }
        let jobs = runs.reduce(0) { $0 + $1.result.metrics.jobsSimulated }
        let weighted = runs.reduce(0.0) { $0 + $1.accuracy * Double($1.result.metrics.jobsSimulated) }
        var out = RunOutcome(
            result: SimulationResult.merged(runs.map(\.result), sampleInterval: SimulationOptions().sampleInterval),
            seconds: runs.reduce(0) { $0 + $1.seconds }, accuracy: jobs > 0 ? weighted / Double(jobs) : 0)
        out.parts = runs.map(\.result.metrics)
        return out
    }

    /// Simulates `jobs` under `policy` and times it.
    static func simulate<P: PowerPolicy>(_ jobs: [JobRecord], _ cluster: SimulatedCluster, _ policy: P) -> RunOutcome {
        var p = policy
        let started = CLISupport.now()
        let r = Simulator.run(jobs: jobs, cluster: cluster, policy: &p)
        let seconds = CLISupport.now() - started
        return RunOutcome(result: r, seconds: seconds, accuracy: p.runtimeAccuracy ?? 0)
    }

    /// Runs `plan` on up to `threads` threads, the costliest runs first, and gives the outcomes in plan order (nil
    /// for a run the same as a run not in the plan).
    /// `finished` sees each run as it ends, one at a time, and says whether to keep its whole result (the job
    /// outcomes and time series are dropped otherwise, which bounds memory on long logs); `progress` gets the
    /// count of runs finished and of runs in all.
    static func execute(
        _ plan: [PlannedRun], threads: Int, finished: @escaping (PlannedRun, RunOutcome) -> Bool,
        progress: @escaping (Int, Int) -> Void
    ) -> [RunOutcome?] {
        /// What the threads share, every access under `lock` (the callbacks too: they are not thread-safe).
        final class Board: @unchecked Sendable {
            let lock = NSLock()
            let plan: [PlannedRun]
            let order: [Int]
            var next = 0
            var done = 0
            var outcomes: [RunOutcome?]
            let finished: (PlannedRun, RunOutcome) -> Bool
            let progress: (Int, Int) -> Void

            init(_ plan: [PlannedRun], _ finished: @escaping (PlannedRun, RunOutcome) -> Bool,
                 _ progress: @escaping (Int, Int) -> Void) {
                self.plan = plan
                order = plan.indices.filter { plan[$0].work != nil }.sorted { plan[$0].cost > plan[$1].cost }
                outcomes = Array(repeating: nil, count: plan.count)
                self.finished = finished
                self.progress = progress
            }

            /// The next run to simulate, or nil when none is left.
            func take() -> Int? {
                lock.lock()
                defer { lock.unlock() }
                guard next < order.count else { return nil }
                next += 1
                return order[next - 1]
            }

            func store(_ index: Int, _ outcome: RunOutcome) {
                lock.lock()
                defer { lock.unlock() }
                var o = outcome
                o.kept = finished(plan[index], o)
                if !o.kept {
                    o.result.outcomes = []
                    o.result.samples = []
                    o.result.trace = []
                }
                outcomes[index] = o
                done += 1
                progress(done, order.count)
            }
        }
        let board = Board(plan, finished, progress)
        DispatchQueue.concurrentPerform(iterations: Swift.max(1, Swift.min(threads, board.order.count))) { _ in
            while let index = board.take() {
                if let work = board.plan[index].work { board.store(index, work()) }
            }
        }
        return plan.enumerated().map { i, run in
            if let o = board.outcomes[i] { return o }
            guard let same = run.sameAs, let j = plan.firstIndex(where: { $0.label == same }),
                var o = board.outcomes[j]
            else { return nil }
            o.kept = false
            return o
        }
    }

    /// The runtime model's online training in simulations: the production schedule, lighter (32 trees, retrained
    /// every 5,000 finished jobs or 30 days) so that a frontier of several runs over years of a trace stays quick.
    static let training: OnlineTrainingConfiguration = {
        var t = OnlineTrainingConfiguration()
        t.model.forest.treeCount = 32
        t.retrainEveryJobs = 5000
        t.retrainEverySeconds = 30 * 86_400
        return t
    }()

    /// The SuspendTimes issue #3 names for the frontier.
    static let issueSuspendTimes: [Int64] = [60, 300, 600, 1800, 3600]

    /// `--frontier-suspend-times`: positive seconds, at least two, each once.
    static func parseSuspendTimes(_ text: String) throws -> [Int64] {
        var out: [Int64] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let v = Int64(item.trimmingCharacters(in: .whitespaces)), v > 0 else {
                throw ValidationError("--frontier-suspend-times: '\(item)' is not a number of seconds > 0")
            }
            guard !out.contains(v) else { throw ValidationError("--frontier-suspend-times: \(v) given twice") }
            out.append(v)
        }
        guard out.count >= 2 else { throw ValidationError("--frontier-suspend-times: at least two SuspendTimes") }
        return out.sorted()
    }

    /// Parses `aggressiveness:min-idle[:price-scale[:arrival-boot-share]]` settings (price scale and share 1 when
    /// omitted); the same setting twice, however written, is refused.
    static func parseSettings(_ text: String) throws -> [(Float, Int64, Double, Float)] {
        var seen: [(setting: (Float, Int64, Double, Float), text: Substring)] = []
        return try text.split(separator: ",").map { item in
            let parts = item.split(separator: ":", omittingEmptySubsequences: false)
            guard (2 ... 4).contains(parts.count), let a = Float(parts[0]), let i = Int64(parts[1]), a >= 0,
                  a <= 1, i >= 0
            else {
                throw ValidationError(
                    "--frontier-settings: '\(item)' is not aggressiveness:min-idle[:price-scale[:arrival-boot-share]] "
                        + "(e.g. 0.5:120, 0:60:2 or 1:60:1:0)")
            }
            var p = 1.0
            if parts.count >= 3 {
                guard let v = Double(parts[2]), v > 0, v.isFinite else {
                    throw ValidationError("--frontier-settings: '\(item)': the price scale must be a number > 0")
                }
                p = v
            }
            var b: Float = 1
            if parts.count == 4 {
                guard let v = Float(parts[3]), v >= 0, v <= 1 else {
                    throw ValidationError(
                        "--frontier-settings: '\(item)': the arrival boot share must be a number from 0 to 1")
                }
                b = v
            }
            if let earlier = seen.first(where: { $0.setting == (a, i, p, b) }) {
                throw ValidationError("--frontier-settings: '\(item)' is the same setting as '\(earlier.text)'")
            }
            seen.append(((a, i, p, b), item))
            return (a, i, p, b)
        }
    }

    /// A note for an admin simulating stored jobs as whole nodes: when at least a fifth of the one-node jobs were
    /// given fewer CPUs than the largest one-node job (the nodes' size, likely), Slurm may have let them share nodes.
    static func sharingHint(_ jobs: [JobRecord]) -> String? {
        var oneNode = 0
        var largest: Int32 = 0
        for j in jobs where j.requestedNodes == 1 {
            oneNode += 1
            largest = max(largest, j.procs)
        }
        guard largest > 1, oneNode > 0 else { return nil }
        let smaller = jobs.filter { $0.requestedNodes == 1 && $0.procs < largest }.count
        guard smaller * 5 >= oneNode else { return nil }
        return "prewarm: \(smaller) of \(oneNode) one-node jobs were given fewer CPUs than the largest (\(largest)); "
            + "they take a whole node each here. If Slurm let them share nodes (select/cons_tres), add --share-nodes "
            + "--cores-per-node C (your nodes' CPUs)."
    }

    /// The most cores per node `--share-nodes` simulates (its shared nodes are kept in one list per free-core count).
    static let maxSharedCores = 65_536

    /// A random workload for scale checks: jobs of 1–64 nodes running up to 2 h, arriving at ~70 % load.
    static func synthetic(count: Int, nodes: Int) -> [JobRecord] {
        var rng = Xoshiro256StarStar(seed: 42)
        let meanGap = max(1, 32 * 3600 / max(1, nodes * 7 / 10))
        var t: Int64 = 1_000_000_000
        return (0 ..< count).map { i in
            t += Int64(rng.next(below: 2 * meanGap + 1))
            let runtime = Int64(1 + rng.next(below: 7200))
            return JobRecord(
                id: Int64(i), submit: t, runtime: runtime, requestedProcs: Int32(1 + rng.next(below: 64)),
                requestedTime: runtime + Int64(rng.next(below: 3600)))
        }
    }
}
