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
        abstract: "Simulate a workload log on a cluster under power policies (always on, Slurm's reactive, oracle).",
        discussion: """
            Event-driven simulation: FCFS priority with EASY backfilling on requested time limits, nodes with \
            boot and power-down times. Policies: always_on, reactive (Slurm's power saving with SuspendTime), \
            oracle (knows the future; the physical limit). Without --trace, the bundled slice of the KTH-SP2 \
            log is used. (The prewarm policy comes with the demand forecast.)
            """)

    @Option(help: "Workload log in Standard Workload Format (.swf or .swf.gz).")
    var trace: String?
    @Flag(help: "Skip malformed lines (counted and reported) instead of stopping at the first.")
    var lenient = false
    @Option(help: "Nodes in the cluster (default: the log's MaxNodes, else MaxProcs).")
    var nodes: Int?
    @Option(help: "Seconds for a node to boot.")
    var bootTime: Int64 = 300
    @Option(help: "Seconds for a node to power down.")
    var powerDownTime: Int64 = 60
    @Option(help: "Slurm's SuspendTime for the reactive policy, seconds.")
    var suspendTime: Int64 = 600
    @Flag(help: "Print one JSON object instead of a table.")
    var json = false
    @Option(help: ArgumentHelp(
        "Scale check: simulate this many synthetic jobs (1–64 nodes, up to 2 h, ~70 % load) instead of a log.",
        visibility: .hidden))
    var syntheticJobs: Int?

    func validate() throws {
        if let n = nodes, n < 1 { throw ValidationError("--nodes must be ≥ 1") }
        guard bootTime >= 0, powerDownTime >= 0, suspendTime >= 0 else {
            throw ValidationError("times must be ≥ 0")
        }
    }

    func run() throws {
        let loaded: (header: SWFHeader, jobs: [JobRecord], skippedLines: Int, skippedExamples: [SWFError])
        let path: String
        if let count = syntheticJobs {
            let n = nodes ?? 10_000
            path = "synthetic-\(count)"
            loaded = (SWFHeader(maxNodes: n, maxProcs: n), Self.synthetic(count: count, nodes: n), 0, [])
        } else {
            path = try trace ?? CLISupport.bundledTrace()
            do {
                loaded = try TraceFile.readJobs(path: path, lenient: lenient)
            } catch {
                CLISupport.note("prewarm: \(error)")
                throw ExitCode(2)
            }
        }
        let header = loaded.header
        let cores = SimulatedCluster.coresPerNode(maxProcs: header.maxProcs, maxNodes: header.maxNodes)
        let nodeCount = nodes ?? header.maxNodes ?? header.maxProcs ?? 128
        let cluster = SimulatedCluster(
            nodes: nodeCount, coresPerNode: cores, bootTime: bootTime,
            powerDownTime: powerDownTime)
        let name = (path as NSString).lastPathComponent
        var rows: [(String, SimulationMetrics, Double)] = []
        func timed<P: PowerPolicy>(_ label: String, _ policy: P) {
            var p = policy
            let started = CLISupport.now()
            let r = Simulator.run(jobs: loaded.jobs, cluster: cluster, policy: &p)
            rows.append((label, r.metrics, CLISupport.now() - started))
        }
        timed("always_on", AlwaysOnPolicy())
        timed("reactive", ReactivePolicy(suspendTime: suspendTime))
        let oracleStarted = CLISupport.now()
        let oracle = OraclePolicy(jobs: loaded.jobs, cluster: cluster)
        let oracleSetup = CLISupport.now() - oracleStarted
        timed("oracle", oracle)
        rows[rows.count - 1].2 += oracleSetup
        if json {
            let policies: [(String, JSON)] = rows.map { label, m, seconds in
                (label, .object([
                    ("jobs", .int(m.jobsSimulated)), ("skipped", .int(m.jobsSkipped)),
                    ("mean_wait_s", .number(m.meanWait)), ("p95_wait_s", .number(m.p95Wait)),
                    ("boot_wait_s", .number(m.meanBootWait)), ("boot_delayed_share", .number(m.bootDelayedShare)),
                    ("bounded_slowdown", .number(m.boundedSlowdown)), ("idle_node_hours", .number(m.idleNodeHours)),
                    ("busy_node_hours", .number(m.busyNodeHours)), ("energy_kwh", .number(m.energyKWh)),
                    ("power_cycles", .int(m.powerCycles)), ("seconds", .number(seconds)),
                ]))
            }
            print(JSON.object([
                ("trace", .string(name)), ("nodes", .int(cluster.nodes)), ("cores_per_node", .int(cores)),
                ("boot_time_s", .int(Int(bootTime))), ("policies", .object(policies)),
            ]).text)
            return
        }
        print("trace \(name): \(loaded.jobs.count) jobs, \(cluster.nodes) nodes × \(cores) cores, "
            + "boot \(bootTime) s, power-down \(powerDownTime) s, SuspendTime \(suspendTime) s")
        print(["policy", "jobs", "skipped", "mean_wait_s", "p95_wait_s", "boot_wait_s", "delayed_%", "bsld",
               "idle_node_h", "energy_kWh", "cycles", "time_s", "jobs/s"].map { $0.padded(12) }.joined())
        for (label, m, seconds) in rows {
            let cells = [
                label, "\(m.jobsSimulated)", "\(m.jobsSkipped)", String(format: "%.0f", m.meanWait),
                String(format: "%.0f", m.p95Wait), String(format: "%.1f", m.meanBootWait),
                String(format: "%.1f", m.bootDelayedShare * 100), String(format: "%.2f", m.boundedSlowdown),
                String(format: "%.0f", m.idleNodeHours), String(format: "%.0f", m.energyKWh), "\(m.powerCycles)",
                String(format: "%.2f", seconds), String(format: "%.0f", Double(loaded.jobs.count) / seconds),
            ]
            print(cells.map { $0.padded(12) }.joined())
        }
        print(String(format: "peak memory %.0f MB", CLISupport.peakRSSMegabytes()))
    }

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

extension String {
    fileprivate func padded(_ width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
