// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import Foundation
import PrewarmCore
import SlurmKit

/// `prewarm cycle-bench` (hidden): times prewarmd's adjustment cycle on a synthetic Slurm state and measures its
/// peak memory, against the plain ``DemandForecaster`` in the same run (issue #5's first target,
/// `bench/adjustment-cycle`).
struct CycleBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cycle-bench",
        abstract: "Time prewarmd's adjustment cycle on a synthetic Slurm state (issue #5 target).",
        discussion: """
            Builds a synthetic cluster (nodes in four partitions, a mix of allocated, idle, powered-down, booting, \
            drained and CLOUD nodes; running, pending and recently finished jobs, most annotated by the plugin, \
            some with dependencies, --begin times, array tasks or held) and runs what one prewarmd cycle computes \
            after loading from Slurm: LiveDemandTracker.observe(jobs:), the exclusions, LiveForecast.forecast \
            with the learned models (61 minutes) and LiveAdjustment.plan. "cold": a tracker that has seen none of \
            the jobs (the first cycle after a start: every job is new to the learner); "warm": a tracker that saw \
            the previous cycle, with --new-per-cycle fresh submissions. Baseline: DemandForecaster.forecast alone \
            per partition on demands converted beforehand, without learned arrivals. Peak memory is the process's \
            (it holds the state, as the daemon does), reset between phases through /proc/self/clear_refs.
            """,
        shouldDisplay: false)

    @Option(help: "Nodes in the synthetic cluster.")
    var nodes = 10_000
    @Option(help: "Pending jobs.")
    var pending = 100_000
    @Option(help: "Running jobs.")
    var running = 5_000
    @Option(help: "Recently finished jobs still shown by Slurm (MinJobAge).")
    var finished = 2_000
    @Option(help: "Fresh submissions per warm cycle.")
    var newPerCycle = 1_000
    @Option(help: """
        Also time replaying this many finished jobs from the history into a fresh tracker (LiveDemandTracker.seed, \
        which prewarmd runs once, in its first cycle, when it keeps a history).
        """)
    var historyJobs = 0
    @Option(help: "Timed repetitions of each phase.")
    var repetitions = 5
    @Option(help: "Random seed of the synthetic state.")
    var seed: UInt64 = 5
    @Flag(help: "Print one JSON object.")
    var json = false

    func validate() throws {
        guard nodes >= 8, pending >= 0, running >= 0, finished >= 0, newPerCycle >= 0, repetitions >= 1 else {
            throw ValidationError("--nodes ≥ 8, counts ≥ 0, --repetitions ≥ 1")
        }
    }

    func run() throws {
        let rssStart = BenchSupport.currentRSSMegabytes()
        let (state, buildSeconds) = BenchSupport.timed {
            SyntheticSlurmState.make(
                nodes: nodes, pending: pending, running: running, finished: finished, seed: seed)
        }
        let rssState = BenchSupport.currentRSSMegabytes()
        let extras = (0 ..< repetitions).map { state.freshSubmissions(count: newPerCycle, batch: $0, seed: seed) }

        // Baseline: the plain forecaster on demands converted beforehand.
        let demands = state.demands()
        BenchSupport.resetPeakRSS()
        var baseline: [Double] = []
        var baselineCheck: Float = 0
        for _ in 0 ..< repetitions {
            let (sum, s) = BenchSupport.timed { () -> Float in
                var total: Float = 0
                for d in demands {
                    let f = DemandForecaster.forecast(
                        now: state.now, minutes: 61, running: d.running, pending: d.pending, arrivals: ArrivalModel(),
                        hourOfWeekAt: { _ in 0 }, totalNodes: d.nodes)
                    total += f.expected.reduce(0, +)
                }
                return total
            }
            baseline.append(s)
            baselineCheck = sum
        }
        let baselinePeak = BenchSupport.peakRSSMegabytes()

        // Cold: the first cycle after a start.
        BenchSupport.resetPeakRSS()
        var cold: [CycleTiming] = []
        for _ in 0 ..< repetitions {
            var tracker = LiveDemandTracker()
            cold.append(Self.cycle(state, jobs: state.jobs, tracker: &tracker))
        }
        let coldPeak = BenchSupport.peakRSSMegabytes()

        // Warm: the tracker saw the previous cycle; each cycle brings fresh submissions.
        var tracker = LiveDemandTracker()
        _ = Self.cycle(state, jobs: state.jobs, tracker: &tracker)
        BenchSupport.resetPeakRSS()
        var warm: [CycleTiming] = []
        for r in 0 ..< repetitions {
            warm.append(Self.cycle(state, jobs: state.jobs + extras[r], tracker: &tracker))
        }
        let warmPeak = BenchSupport.peakRSSMegabytes()

        // The history replay of the first cycle (a separate phase).
        var seeding: [Double] = []
        var seedPeak = 0.0
        if historyJobs > 0 {
            let past = state.pastJobs(count: historyJobs, seed: seed)
            BenchSupport.resetPeakRSS()
            for _ in 0 ..< repetitions {
                var t = LiveDemandTracker()
                seeding.append(BenchSupport.timed { t.seed(past) }.1)
            }
            seedPeak = BenchSupport.peakRSSMegabytes()
        }

        let processPeak = Swift.max(rssState, baselinePeak, coldPeak, warmPeak, seedPeak)
        let counts = state.counts
        func phase(_ timings: [CycleTiming], _ peak: Double) -> [(String, JSON)] {
            [
                ("min_s", .number(timings.map(\.total).min() ?? 0)),
                ("median_s", .number(BenchSupport.median(timings.map(\.total)))),
                ("observe_median_s", .number(BenchSupport.median(timings.map(\.observe)))),
                ("forecast_median_s", .number(BenchSupport.median(timings.map(\.forecast)))),
                ("plan_median_s", .number(BenchSupport.median(timings.map(\.plan)))),
                ("peak_rss_mb", .number(peak)), ("actions", .int(timings.last?.actions ?? 0)),
                ("trusted_partitions", .int(timings.last?.trustedPartitions ?? 0)),
                ("digest", .string(timings.last?.digest ?? "")),
            ]
        }
        let baselineMedian = BenchSupport.median(baseline)
        let coldMedian = BenchSupport.median(cold.map(\.total))
        let warmMedian = BenchSupport.median(warm.map(\.total))
        let result: [(String, JSON)] = [
            ("nodes", .int(state.nodes.count)), ("partitions", .int(state.partitions.count)),
            ("pending_jobs", .int(counts.pending)), ("held_jobs", .int(counts.held)),
            ("dependent_jobs", .int(counts.dependent)), ("restricted_jobs", .int(counts.restricted)),
            ("running_jobs", .int(counts.running)),
            ("finished_jobs", .int(counts.finished)), ("annotated_jobs", .int(counts.annotated)),
            ("repetitions", .int(repetitions)), ("build_s", .number(buildSeconds)),
            ("rss_start_mb", .number(rssStart)), ("rss_with_state_mb", .number(rssState)),
            ("baseline", .object([
                ("min_s", .number(baseline.min() ?? 0)), ("median_s", .number(baselineMedian)),
                ("peak_rss_mb", .number(baselinePeak)), ("expected_sum", .number(Double(baselineCheck))),
            ])),
            ("cold", .object(phase(cold, coldPeak))), ("warm", .object(phase(warm, warmPeak))),
            ("cold_over_baseline", .number(baselineMedian > 0 ? coldMedian / baselineMedian : 0)),
            ("warm_over_baseline", .number(baselineMedian > 0 ? warmMedian / baselineMedian : 0)),
            // The resets lower getrusage's ru_maxrss too: the largest of the phases' peaks instead.
            ("process_peak_rss_mb", .number(processPeak)),
            ("history_jobs", .int(historyJobs)),
            ("history_seed", .object([
                ("min_s", .number(seeding.min() ?? 0)), ("median_s", .number(BenchSupport.median(seeding))),
                ("peak_rss_mb", .number(seedPeak)),
            ])),
        ]
        if json {
            print(JSON.object(result).text)
            return
        }
        print("synthetic state: \(state.nodes.count) nodes in \(state.partitions.count) partitions, "
            + "\(counts.pending) pending (\(counts.held) held, \(counts.dependent) with dependencies, "
            + "\(counts.restricted) confined to some nodes), "
            + "\(counts.running) running, \(counts.finished) finished; \(counts.annotated) annotated; "
            + String(format: "built in %.2f s, RSS %.0f → %.0f MB", buildSeconds, rssStart, rssState))
        print("phase                      min s   median s   observe s  forecast s  plan s   peak MB  ×baseline")
        func line(_ name: String, _ t: [CycleTiming], _ peak: Double) {
            let med = BenchSupport.median(t.map(\.total))
            print(name.padding(toLength: 24, withPad: " ", startingAt: 0) + String(
                format: "%8.3f %10.3f %11.3f %11.3f %7.3f %9.0f %9.1f", t.map(\.total).min() ?? 0, med,
                BenchSupport.median(t.map(\.observe)), BenchSupport.median(t.map(\.forecast)),
                BenchSupport.median(t.map(\.plan)), peak, baselineMedian > 0 ? med / baselineMedian : 0))
        }
        print("baseline (forecaster)   " + String(
            format: "%8.3f %10.3f %11s %11.3f %7s %9.0f %9.1f", baseline.min() ?? 0, baselineMedian, "-",
            baselineMedian, "-", baselinePeak, 1.0))
        line("cycle, cold tracker", cold, coldPeak)
        line("cycle, warm tracker", warm, warmPeak)
        if historyJobs > 0 {
            print("history replay of \(historyJobs) jobs" + String(
                format: " %8.3f %10.3f %40.0f", seeding.min() ?? 0, BenchSupport.median(seeding), seedPeak))
        }
        print(String(format: "process peak RSS (largest of the phases) %.0f MB", processPeak))
    }

    /// Phase times of one cycle (seconds) and what it produced.
    struct CycleTiming {
        var observe = 0.0
        var forecast = 0.0
        var plan = 0.0
        var actions = 0
        var trustedPartitions = 0
        /// Per partition: running, pending and annotated jobs and the sums of the expected and upper series (to
        /// check that a change to the cycle's code leaves its result alone).
        var digest = ""
        var total: Double { observe + forecast + plan }
    }

    /// One prewarmd cycle after the loads from Slurm, as `AdjustmentLoop.runCycle` computes it (the history store's
    /// insert, the status snapshot and the files written are left out): learn from the job list, exclusions,
    /// forecast each partition with the learned models, plan.
    static func cycle(_ state: SyntheticSlurmState, jobs: [SlurmJob], tracker: inout LiveDemandTracker)
        -> CycleTiming
    {
        var t = CycleTiming()
        let t0 = CLISupport.now()
        tracker.observe(
            jobs: jobs, sharing: NodeSharing(nodes: state.nodes, partitions: state.partitions, allocatesCores: false))
        let t1 = CLISupport.now()
        // As the daemon's cycle: Slurm's exclusions resolved on the nodes, plus the daemon's own.
        let protection = SlurmPowerExclusions(
            nodes: state.suspendExcNodes, partitions: state.suspendExcParts, syntax: .since2405
        ).protection(of: state.nodes)
        let excluded = Set(state.excludedNodes).union(protection.untouched)
        var inFlight: [String: PowerRequest] = [:]
        for n in state.nodes {
            if n.flags.contains(.poweringUp) { inFlight[n.name] = .up }
            if n.flags.contains(.poweringDown) { inFlight[n.name] = .down }
        }
        let learned = tracker.learner.trusted()
        let forecasts = LiveForecast.forecast(
            nodes: state.nodes, partitions: state.partitions, jobs: jobs, now: state.now, minutes: 61,
            hourOfWeekAt: LiveDemandTracker.hourOfWeekAt(now: state.now), learned: learned)
        let planned = forecasts.map { f -> PartitionForecast in
            var p = f
            p.forecast = DemandForecast(
                start: f.forecast.start, expected: Array(f.forecast.expected.prefix(60)),
                upper: Array(f.forecast.upper.prefix(60)))
            return p
        }
        let t2 = CLISupport.now()
        var policy = AdjustmentConfiguration()
        policy.bootLeadTime = 300
        let plan = LiveAdjustment.plan(
            forecasts: planned, nodes: state.nodes, now: state.now, configuration: policy, excluded: excluded,
            keptUp: protection.keptUp, inFlight: inFlight, budget: 200)
        let t3 = CLISupport.now()
        t.observe = t1 - t0
        t.forecast = t2 - t1
        t.plan = t3 - t2
        t.actions = plan.count
        t.trustedPartitions = learned.count
        var full = ""
        for f in forecasts {
            full += "\(f.partition) \(f.nodes) \(f.powered) \(f.poweringUp) \(f.runningJobs) \(f.pendingJobs) "
                + "\(f.annotatedJobs) \(f.forecast.expected) \(f.forecast.upper)\n"
        }
        for a in plan { full += "\(a.node) \(a.request) \(a.reason)\n" }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a
        for byte in full.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        t.digest = forecasts.map { "\($0.partition):\($0.runningJobs)/\($0.pendingJobs)/\($0.annotatedJobs)" }
            .joined(separator: " ") + " actions:\(plan.count) fnv:" + String(hash, radix: 16)
        return t
    }
}

/// A synthetic Slurm state for ``CycleBench``: nodes, partitions and jobs as libslurm would return them.
struct SyntheticSlurmState {
    var nodes: [SlurmNode]
    var partitions: [SlurmPartition]
    var jobs: [SlurmJob]
    var now: Int64
    /// The daemon's `ExcludeNodes`, Slurm's `SuspendExcNodes` (hostlist) and `SuspendExcParts`.
    var excludedNodes: [String]
    var suspendExcNodes: String
    var suspendExcParts: [String]

    /// Partitions: name, share of the nodes, share of the pending jobs, CLOUD nodes. `debug`'s nodes are also
    /// in `batch` (a node in two partitions).
    /// CPUs of the nodes of a partition (of the first of a list): 16 in the cloud one, 64 elsewhere. A job takes
    /// whole nodes of them.
    static func cpusPerNode(_ partition: String) -> Int {
        partition.split(separator: ",").first == "cloud" ? 16 : 64
    }

    static let layout: [(name: String, nodeShare: Double, pendingShare: Double, cloud: Bool)] = [
        ("batch", 0.60, 0.70, false), ("gpu", 0.10, 0.10, false), ("cloud", 0.25, 0.15, true),
        ("debug", 0.05, 0.05, false),
    ]
    static let defaultNow: Int64 = 1_780_000_000
    static let users = 500

    struct Counts {
        var pending = 0
        var held = 0
        var dependent = 0
        /// Pending jobs with `--nodelist`, `--exclude`, `--constraint` or `--gres` (confined to some nodes).
        var restricted = 0
        var running = 0
        var finished = 0
        var annotated = 0
    }

    var counts: Counts {
        var c = Counts()
        for j in jobs {
            switch j.state {
            case .pending:
                c.pending += 1
                if j.held { c.held += 1 }
                if !j.dependency.isEmpty { c.dependent += 1 }
                if !j.requiredNodes.isEmpty || !j.excludedNodes.isEmpty || !j.constraint.isEmpty || !j.gresRequest.isEmpty {
                    c.restricted += 1
                }
            case .running, .suspended: c.running += 1
            default: c.finished += 1
            }
            if j.adminComment.contains("prewarm:v1 rt=") { c.annotated += 1 }
        }
        return c
    }

    /// Node counts per partition (`layout` order): shares of `total`, the last takes the remainder.
    static func partitionSizes(total: Int) -> [Int] {
        var sizes = layout.dropLast().map { Swift.max(1, Int(Double(total) * $0.nodeShare)) }
        sizes.append(Swift.max(1, total - sizes.reduce(0, +)))
        return sizes
    }

    /// Nodes a job asks for: 60 % one node, 20 % 2–4, 12 % 5–16, 6 % 17–64, 2 % 65–256 (capped at `cap`).
    static func jobSize(_ rng: inout Xoshiro256StarStar, cap: Int) -> Int {
        let r = rng.next(below: 100)
        let n: Int
        switch r {
        case 0 ..< 60: n = 1
        case 60 ..< 80: n = 2 + rng.next(below: 3)
        case 80 ..< 92: n = 5 + rng.next(below: 12)
        case 92 ..< 98: n = 17 + rng.next(below: 48)
        default: n = 65 + rng.next(below: 192)
        }
        return Swift.min(n, Swift.max(1, cap))
    }

    static let limits: [Int64] = [30, 60, 120, 240, 720, 1440, 2880]

    /// The plugin's annotation for a job of `limit` minutes: 80 % annotated, 5 % another comment, 15 % none.
    static func annotation(_ rng: inout Xoshiro256StarStar, limitMinutes: Int64) -> String {
        let r = rng.next(below: 100)
        if r >= 85 { return "" }
        if r >= 80 { return "ops note: rerun of a failed job" }
        let rt = Swift.max(60, limitMinutes * 60 * Int64(10 + rng.next(below: 90)) / 100)
        return "prewarm:v1 rt=\(rt) rt50=\(rt) rt90=\(Swift.min(limitMinutes * 60, rt * 16 / 10)) cand=last2 "
            + "cpuh=\(1 + rng.next(below: 64)) model=5eed0001"
    }

    static func make(
        nodes total: Int, pending: Int, running: Int, finished: Int, seed: UInt64, now: Int64 = defaultNow
    ) -> SyntheticSlurmState {
        var rng = Xoshiro256StarStar(seed: seed)
        let sizes = partitionSizes(total: total)
        var nodes: [SlurmNode] = []
        nodes.reserveCapacity(total)
        var partitions: [SlurmPartition] = []
        /// Node `i` of partition `p`'s name.
        func nodeName(_ p: Int, _ i: Int) -> String {
            let width = Swift.max(5, String(sizes[p] - 1).count)
            let s = String(i)
            return layout[p].name + String(repeating: "0", count: width - s.count) + s
        }
        for (p, (name, _, _, cloud)) in layout.enumerated() {
            func label(_ i: Int) -> String { nodeName(p, i) }
            partitions.append(SlurmPartition(name: name, nodes: "\(name)[\(label(0))-\(label(sizes[p] - 1))]"))
            for i in 0 ..< sizes[p] {
                let r = rng.next(below: 100)
                var base = NodeBaseState.idle
                var flags: NodeFlags = cloud ? [.cloud] : []
                var lastBusy: Int64 = 0
                if cloud {
                    switch r {
                    case 0 ..< 30: base = .allocated
                    case 30 ..< 40: lastBusy = now - Int64(rng.next(below: 7200))
                    case 40 ..< 90: flags.insert(.poweredDown)
                    case 90 ..< 95: flags.insert(.poweringUp)
                    default: flags.insert(.poweringDown)
                    }
                } else {
                    switch r {
                    case 0 ..< 55: base = .allocated
                    case 55 ..< 60: base = .mixed
                    case 60 ..< 80: lastBusy = now - Int64(rng.next(below: 7200))
                    case 80 ..< 92: flags.insert(.poweredDown)
                    case 92 ..< 94: flags.insert(.poweringUp)
                    case 94 ..< 96: flags.insert(.poweringDown)
                    case 96 ..< 98: flags.insert(.drain)
                    default: base = .down
                    }
                }
                nodes.append(SlurmNode(
                    name: label(i), base: base, flags: flags, cpus: Self.cpusPerNode(name),
                    weight: 1 + 10 * rng.next(below: 3), partitions: name == "debug" ? ["debug", "batch"] : [name],
                    reason: base == .down || flags.contains(.drain) ? "hardware" : "", bootTime: now - 86_400,
                    lastBusy: lastBusy))
                // Features and GPUs for the jobs that ask for them (from the index: the random sequence unchanged).
                if name == "batch" { nodes[nodes.count - 1].features = i % 2 == 0 ? "intel,avx512" : "intel" }
                if name == "gpu" { nodes[nodes.count - 1].gres = i % 3 == 0 ? "gpu:v100:4(S:0-1)" : "gpu:a100:4(S:0-1)" }
            }
        }
        func partition(_ rng: inout Xoshiro256StarStar, pending: Bool) -> (name: String, index: Int) {
            var x = Double(rng.next(below: 1_000_000)) / 1_000_000
            for (i, l) in layout.enumerated() {
                let share = pending ? l.pendingShare : l.nodeShare
                if x < share { return (l.name, i) }
                x -= share
            }
            return (layout[0].name, 0)
        }
        var jobs: [SlurmJob] = []
        jobs.reserveCapacity(running + pending + finished)
        var nextID: UInt32 = 1_000_000
        func job(_ p: String, state: JobState, submit: Int64, limit: Int64, size: Int, comment: String) -> SlurmJob {
            defer { nextID += 1 }
            return SlurmJob(
                id: nextID, arrayJobID: 0, arrayTaskID: 0, userID: UInt32(1000 + rng.next(below: users)),
                account: "acct\(rng.next(below: 40))", name: "job\(rng.next(below: 5000))", partition: p,
                state: state, reasonCode: 0, submitTime: submit, eligibleTime: submit, startTime: 0, endTime: 0,
                timeLimitMinutes: limit, cpus: size * Self.cpusPerNode(p), nodeCount: size, nodes: "",
                adminComment: comment, dependency: "")
        }
        var runningIDs: [UInt32] = []
        // Running jobs hold consecutive nodes of their partition, job after job (from the first again at its end).
        var nextNode = [Int](repeating: 0, count: layout.count)
        for i in 0 ..< running {
            let p = partition(&rng, pending: false)
            let limit = limits[rng.next(below: limits.count)]
            let size = jobSize(&rng, cap: Swift.max(1, sizes[p.index] / 8))
            let start = now - Int64(rng.next(below: Int(limit * 60)))
            var j = job(p.name, state: .running, submit: start - Int64(rng.next(below: 3600)), limit: limit,
                        size: size, comment: annotation(&rng, limitMinutes: limit))
            j.startTime = start
            j.endTime = start + limit * 60
            var first = nextNode[p.index]
            if first + size > sizes[p.index] { first = 0 }
            nextNode[p.index] = first + size
            j.nodes = size == 1
                ? nodeName(p.index, first) : "\(p.name)[\(nodeName(p.index, first).dropFirst(p.name.count))-"
                    + "\(nodeName(p.index, first + size - 1).dropFirst(p.name.count))]"
            if i % 10 == 0 {  // array tasks of a few masters
                j.arrayJobID = 900_000 + UInt32(i / 200)
                j.arrayTaskID = UInt32(i % 200)
            }
            runningIDs.append(j.id)
            jobs.append(j)
        }
        var pendingIDs: [UInt32] = []
        var arrayMaster: UInt32 = 0
        for i in 0 ..< pending {
            let p = partition(&rng, pending: true)
            let limit = limits[rng.next(below: limits.count)]
            let size = jobSize(&rng, cap: sizes[p.index])
            let name = p.name == "batch" && rng.next(below: 100) < 3 ? "batch,cloud" : p.name
            var j = job(name, state: .pending, submit: now - Int64(rng.next(below: 48 * 3600)), limit: limit,
                        size: size, comment: annotation(&rng, limitMinutes: limit))
            j.reasonCode = 1  // WAIT_PRIORITY-like: not held
            let r = rng.next(below: 100)
            switch r {
            case 0 ..< 3: j.eligibleTime = now + Int64(1 + rng.next(below: 7200))  // --begin
            case 3 ..< 6: j.reasonCode = SlurmJob.heldReasons.0
            case 6 ..< 8: j.reasonCode = SlurmJob.heldReasons.1
            case 8 ..< 11 where !runningIDs.isEmpty:
                j.dependency = "afterok:\(runningIDs[rng.next(below: runningIDs.count)])(unfulfilled)"
            case 11 ..< 12 where !pendingIDs.isEmpty:
                j.dependency = "afterany:\(pendingIDs[rng.next(below: pendingIDs.count)])(unfulfilled)"
            case 12 ..< 13 where !runningIDs.isEmpty:
                j.dependency = "afterok:\(runningIDs[rng.next(below: runningIDs.count)])+30(unfulfilled)"
            case 13 ..< 14: j.dependency = "afterok:\(nextID &- 2)(failed)"
            default: break
            }
            // Jobs confined to some nodes (from the index: the random sequence unchanged): in batch 5 % ask for a
            // feature half the nodes have, 3 % exclude a node and 1 % name one; in gpu every job asks for a GPU,
            // half of them an A100.
            if p.name == "batch" {
                switch i % 100 {
                case 20 ..< 25: j.constraint = "avx512"
                case 25 ..< 28: j.excludedNodes = nodeName(p.index, i % sizes[p.index])
                case 28: j.requiredNodes = nodeName(p.index, (i / 100) % sizes[p.index])
                default: break
                }
            } else if p.name == "gpu" {
                j.gresRequest = i % 2 == 0 ? "gres/gpu:a100:1" : "gres/gpu:1"
                j.gresPerNode = j.gresRequest  // --gres, per node
            }
            if i % 5 == 0 {  // array tasks: masters of 100 tasks
                if i % 500 == 0 { arrayMaster = j.id }
                j.arrayJobID = arrayMaster
                j.arrayTaskID = UInt32((i % 500) / 5)
            }
            pendingIDs.append(j.id)
            jobs.append(j)
        }
        let endStates: [JobState] = [.completed, .completed, .completed, .failed, .timeout, .cancelled]
        for _ in 0 ..< finished {
            let p = partition(&rng, pending: false)
            let limit = limits[rng.next(below: limits.count)]
            let size = jobSize(&rng, cap: Swift.max(1, sizes[p.index] / 8))
            let end = now - Int64(rng.next(below: 300))
            let runtime = Int64(1 + rng.next(below: Int(limit * 60)))
            var j = job(p.name, state: endStates[rng.next(below: endStates.count)], submit: end - runtime - 600,
                        limit: limit, size: size, comment: annotation(&rng, limitMinutes: limit))
            j.startTime = end - runtime
            j.endTime = end
            jobs.append(j)
        }
        let gpu = nodes.filter { $0.partitions == ["gpu"] }.prefix(4).map(\.name)
        return SyntheticSlurmState(
            nodes: nodes, partitions: partitions, jobs: jobs, now: now, excludedNodes: Array(gpu),
            suspendExcNodes: "batch[00000-00019]", suspendExcParts: ["debug"])
    }

    /// `count` finished jobs as the history store gives them, submitted over the 8 weeks before `now`.
    func pastJobs(count: Int, seed: UInt64) -> [DemandLearner.PastJob] {
        var rng = Xoshiro256StarStar(seed: seed, stream: 1_000_003)
        let sizes = Self.partitionSizes(total: nodes.count)
        return (0 ..< count).map { _ in
            let p = rng.next(below: Self.layout.count)
            let submit = now - 56 * 86_400 + Int64(rng.next(below: 56 * 86_400 - 7200))
            let start = submit + Int64(rng.next(below: 3600))
            return DemandLearner.PastJob(
                partition: Self.layout[p].name, user: Int32(1000 + rng.next(below: Self.users)),
                nodes: Double(Self.jobSize(&rng, cap: sizes[p])), submit: submit, start: start,
                end: start + Int64(1 + rng.next(below: 7200)), utcOffset: 0)
        }
    }

    /// `count` new pending submissions (ids unique per `batch`), submitted within the last minute.
    func freshSubmissions(count: Int, batch: Int, seed: UInt64) -> [SlurmJob] {
        var rng = Xoshiro256StarStar(seed: seed, stream: UInt64(batch) + 1)
        let sizes = Self.partitionSizes(total: nodes.count)
        return (0 ..< count).map { i in
            let p = rng.next(below: Self.layout.count)
            let limit = Self.limits[rng.next(below: Self.limits.count)]
            let size = Self.jobSize(&rng, cap: sizes[p])
            let submit = now - Int64(rng.next(below: 60))
            return SlurmJob(
                id: 50_000_000 + UInt32(batch * 1_000_000 + i), arrayJobID: 0, arrayTaskID: 0,
                userID: UInt32(1000 + rng.next(below: Self.users)), account: "acct1", name: "fresh",
                partition: Self.layout[p].name, state: .pending, reasonCode: 1, submitTime: submit,
                eligibleTime: submit, startTime: 0, endTime: 0, timeLimitMinutes: limit,
                cpus: size * Self.cpusPerNode(Self.layout[p].name),
                nodeCount: size, nodes: "", adminComment: Self.annotation(&rng, limitMinutes: limit), dependency: "")
        }
    }

    /// Per partition, the running and (not held) pending jobs as the forecaster's inputs — the baseline's
    /// demands, converted outside the timing: annotation runtimes else the time limit; dependencies ignored.
    func demands() -> [(nodes: Int, running: [RunningDemand], pending: [PendingDemand])] {
        partitions.map { p in
            let members = nodes.filter { $0.partitions.contains(p.name) }.count
            var running: [RunningDemand] = []
            var pending: [PendingDemand] = []
            for j in jobs where (j.partition.split(separator: ",").first.map(String.init) ?? "") == p.name {
                let limit: Int64? = j.timeLimitMinutes > 0 ? j.timeLimitMinutes * 60 : nil
                let a = SubmitProfiler.parse(j.adminComment)
                let rt = a?.rt ?? limit ?? 3600
                let late = Swift.max(a?.rt90 ?? rt, rt)
                switch j.state {
                case .running, .suspended:
                    let start = j.startTime > 0 ? j.startTime : now
                    running.append(RunningDemand(
                        nodes: Swift.max(1, j.nodeCount), start: start, now: now, predictedRuntime: rt,
                        lateRuntime: late, limitEnd: limit.map { start + $0 }))
                case .pending where !j.held:
                    pending.append(PendingDemand(
                        nodes: Swift.max(1, j.nodeCount), predictedRuntime: rt, lateRuntime: late,
                        earliestStart: j.eligibleTime > now ? j.eligibleTime : nil))
                default: continue
                }
            }
            return (members, running, pending)
        }
    }
}
