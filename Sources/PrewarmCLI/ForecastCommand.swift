// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import Foundation
import HistoryStore
import PrewarmCore
import SlurmKit
import Traces

struct Forecast: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Forecast node demand per partition over the next hour from the live cluster.",
        discussion: """
            Reads nodes, partitions and jobs through libslurm (SLURM_CONF picks the cluster) and runs the demand \
            forecast the simulator and prewarmd use: running jobs until their predicted end, queued jobs \
            projected as EASY backfilling would start them, no earlier than their --begin time, their parents' \
            predicted ends (dependencies), the end of a running job of their array, user or group (jobs held back \
            by a limit) or their reservation's start. Runtimes come from the job_submit plugin's \
            annotations (else the time limit). Arrivals of jobs not yet submitted need a learned history: with \
            --db the history store is replayed as prewarmd replays it at start-up (then the jobs Slurm shows now), \
            and a partition's learned arrivals count once it has 50 submissions; without --db they are not \
            included.

            --plot draws each partition's forecast as a text chart (80 columns, no colours): `#` expected \
            demand, `:` upper band, `-` nodes powered or powering up now, `=` all the partition's nodes.
            --svg FILE writes the same as an SVG image (one panel per partition; temporary file, then rename).
            """)

    @Option(help: "Minutes ahead.")
    var minutes: Int = 60

    @Flag(help: "Print JSON (per partition: nodes, powered, expected and upper demand per minute).")
    var json = false

    @Flag(help: "Draw each partition's forecast as a text chart (80 columns, plain ASCII).")
    var plot = false

    @Option(help: ArgumentHelp("Also write the forecast as an SVG image to FILE (replaced atomically).",
                               valueName: "FILE"))
    var svg: String?

    @Option(help: ArgumentHelp("Include the arrivals learned from this history store (prewarmd's HistoryDatabase).",
                               valueName: "PATH"))
    var db: String?

    func validate() throws {
        guard minutes >= 1, minutes <= 1440 else { throw ValidationError("--minutes must be from 1 to 1440") }
        guard !(plot && json) else { throw ValidationError("give --plot or --json, not both") }
        if let svg { try Self.checkOutput(svg) }
        if let db {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: db, isDirectory: &isDirectory), !isDirectory.boolValue else {
                throw ValidationError("--db \(db): no such file")
            }
        }
    }

    /// Refuses an output path that cannot be written, before the cluster is read: empty, a directory, or in a
    /// directory that does not exist.
    static func checkOutput(_ path: String) throws {
        guard !path.isEmpty else { throw ValidationError("--svg needs a file name") }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw ValidationError("--svg \(path): is a directory")
        }
        let parent = (path as NSString).deletingLastPathComponent
        let directory = parent.isEmpty ? "." : parent
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ValidationError("--svg \(path): no such directory: \(directory)")
        }
    }

    mutating func run() throws {
        let slurm = try CLISupport.slurmClient()
        let nodes: [SlurmNode]
        let partitions: [SlurmPartition]
        let jobs: [SlurmJob]
        do {
            nodes = try slurm.loadNodes()
            partitions = try slurm.loadPartitions()
            jobs = try slurm.loadJobs()
        } catch {
            CLISupport.note("prewarm: \(error)")
            throw ExitCode(1)
        }
        let now = Int64(Date().timeIntervalSince1970)
        let reservations = (try? slurm.loadReservations()) ?? []
        let allocatesCores = (try? slurm.loadAllocatesCores()) ?? false
        let sharing = NodeSharing(nodes: nodes, partitions: partitions, allocatesCores: allocatesCores)
        // The daemon's learned arrivals: the store replayed (its seeding at start-up), then the jobs shown now.
        var learned: [String: DemandLearner.Models] = [:]
        if let db {
            var tracker = LiveDemandTracker()
            do {
                let store = try HistoryStore(path: db, readOnly: true)
                tracker.seed(try store.pastJobs(newest: LiveDemandTracker.seedJobs, sharing: sharing))
            } catch {
                CLISupport.note("prewarm: \(error)")
                throw ExitCode(1)
            }
            tracker.observe(jobs: jobs, sharing: sharing)
            learned = tracker.learner.trusted()
            CLISupport.note("arrivals learned from \(db) for \(learned.count) partition(s)")
        }
        let result = LiveForecast.forecast(
            nodes: nodes, partitions: partitions, jobs: jobs, now: now, minutes: minutes,
            hourOfWeekAt: LiveDemandTracker.hourOfWeekAt(now: now), learned: learned, reservations: reservations,
            sharing: sharing)
        let panels = result.map(ForecastPlot.panel)
        if let svg {
            let stamp = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: TimeInterval(now)))
            let document = ForecastPlot.svg(panels, title: "prewarm forecast, \(stamp), next \(minutes) minutes")
            try CLISupport.writeOutput(Array(document.utf8), to: svg)
            CLISupport.note("wrote \(svg): \(panels.count) partition(s)")
        }
        if plot {
            print(ForecastPlot.text(panels), terminator: "")
            return
        }
        if json {
            let items: [JSON] = result.map { p in
                .object([
                    ("partition", .string(p.partition)), ("nodes", .int(p.nodes)), ("powered", .int(p.powered)),
                    ("powering_up", .int(p.poweringUp)), ("running_jobs", .int(p.runningJobs)),
                    ("pending_jobs", .int(p.pendingJobs)), ("annotated_jobs", .int(p.annotatedJobs)),
                    ("start", .int(Int(p.forecast.start))),
                    ("expected", .array(p.forecast.expected.map { .number(Double($0)) })),
                    ("upper", .array(p.forecast.upper.map { .number(Double($0)) })),
                    // Queued jobs that can start on some nodes only, counted on those nodes (not in `expected`).
                    ("restricted", .array(p.restricted.map { r in
                        .object([
                            ("nodes", .string(Hostlist.compress(r.nodes))), ("pending_jobs", .int(r.pendingJobs)),
                            ("expected", .array(r.forecast.expected.map { .number(Double($0)) })),
                            ("upper", .array(r.forecast.upper.map { .number(Double($0)) })),
                        ])
                    })),
                ])
            }
            print(JSON.object([("now", .int(Int(now))), ("minutes", .int(minutes)), ("partitions", .array(items))]).text)
            return
        }
        for p in result {
            print("partition \(p.partition): \(p.nodes) nodes, \(p.powered) powered, \(p.poweringUp) powering up; "
                + "\(p.runningJobs) running, \(p.pendingJobs) pending (\(p.annotatedJobs) with a Prewarm prediction)")
            print("  minute    expected  upper  powered-now")
            let steps = Array(Swift.stride(from: 0, to: minutes, by: Swift.max(1, minutes / 12)))
            for m in steps where m < p.forecast.expected.count {
                let e = p.forecast.expected[m]
                let u = p.forecast.upper[m]
                let bar = String(repeating: "#", count: Int(e.rounded()))
                print(String(format: "  +%3d     %6.1f  %6.1f  %4d  %@", m, e, u, p.powered + p.poweringUp, bar))
            }
            for r in p.restricted {
                let at = [0, 5, 15, 30, 60].filter { $0 < r.forecast.expected.count }
                let values = at.map { String(format: "+%d %.1f", $0, r.forecast.expected[$0]) }.joined(separator: ", ")
                print("  jobs that need \(Hostlist.compress(r.nodes)) (\(r.pendingJobs) pending, not in the curve above): "
                    + "expected nodes \(values)")
            }
        }
    }
}
