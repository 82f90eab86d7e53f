// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import Foundation
import HistoryStore
import PrewarmCore
import Traces

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train the model the job_submit plugin loads, from a workload log or the history store.",
        discussion: """
            Replays the log (leakage-free features, as `evaluate`), trains the runtime model on the newest \
            finished jobs, calibrates its p90 on a held-out tail, and writes a model file (with the job history \
            its features need) atomically: the plugin inside slurmctld picks up the new file within its \
            ReloadInterval. With --db the jobs come from the history store (prewarm history, prewarmd) in submit \
            order, the newest --max-jobs of them. The daemon (prewarmd) retrains from the cluster's own history \
            the same way (see `prewarm retrain`).
            """)

    @Option(help: "Standard Workload Format log (.swf or .swf.gz); default: the bundled KTH-SP2 slice.")
    var trace: String?

    @Option(help: "Train on the history store (SQLite) instead of a workload log.")
    var db: String?

    @Option(help: "With --db: newest stored jobs read at most.")
    var maxJobs = 100_000

    @Option(help: "Where to write the model (replaced atomically).")
    var out: String

    @Option(help: "Trees in the forest.")
    var trees: Int = 100

    @Option(help: "Newest finished jobs to train on.")
    var window: Int = 20_000

    @Flag(help: "Choose among the candidates as they are, without scaling the chosen one (about 40 % fewer instructions per prediction for a job unlike recent ones, slightly less accurate; see README).")
    var noRefine = false

    @Flag(help: "Skip malformed trace lines instead of stopping at the first.")
    var lenient = false

    @Flag(help: "Print the summary as JSON.")
    var json = false

    mutating func run() throws {
        try CLISupport.checkModelTrees(trees)
        guard window >= SubmitModel.minimumJobs else {
            throw ValidationError("--window must be at least \(SubmitModel.minimumJobs)")
        }
        guard trace == nil || db == nil else { throw ValidationError("give --trace or --db, not both") }
        guard maxJobs >= SubmitModel.minimumJobs else {
            throw ValidationError("--max-jobs must be at least \(SubmitModel.minimumJobs)")
        }
        let t0 = CLISupport.now()
        let path: String
        let jobs: [JobRecord]
        let capacity: Int64
        if let db {
            path = db
            do {
                jobs = try HistoryStore(path: db, readOnly: true).jobs(newest: maxJobs).map(\.jobRecord)
            } catch {
                CLISupport.note("prewarm: \(error)")
                throw ExitCode(1)
            }
            capacity = 0  // the load features are masked for the plugin anyway
        } else {
            path = try trace ?? CLISupport.bundledTrace()
            let loaded = try CLISupport.loadTrace(path, lenient: lenient)
            jobs = loaded.jobs
            capacity = Int64(loaded.header.maxProcs ?? 0)
        }
        var parameters = RuntimeModelParameters()
        parameters.forest.treeCount = trees
        parameters.refineScale = !noRefine
        let model: SubmitModel
        do {
            model = try SubmitModel.train(
                jobs: jobs, capacityProcs: capacity, window: window,
                parameters: parameters, source: (path as NSString).lastPathComponent)
        } catch {
            CLISupport.note("prewarm: \(path): \(error)")
            throw ExitCode(2)
        }
        let bytes = model.serialize()
        try CLISupport.writeOutput(bytes, to: out)
        let seconds = CLISupport.now() - t0
        let id = ModelContainer.shortIdentifier(bytes)
        if json {
            print(JSON.object([
                ("model", .string(out)), ("id", .string(id)), ("trace", .string(path)),
                ("jobs", .int(model.trainingJobs)), ("trees", .int(trees)),
                ("holdout_accuracy", .number(model.holdoutAccuracy)),
                ("holdout_p90_coverage", .number(model.holdoutP90Coverage)),
                ("bytes", .int(bytes.count)), ("seconds", .number(seconds)),
            ]).text)
        } else {
            print("wrote \(out): model \(id), \(trees) trees, \(model.trainingJobs) jobs from \(path)")
            print(String(format: "held-out newest jobs: accuracy %.3f, p90 coverage %.3f; %.1f MB, %.1f s",
                         model.holdoutAccuracy, model.holdoutP90Coverage, Double(bytes.count) / 1e6, seconds))
        }
    }
}
