// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import Foundation
import PrewarmCore
import Traces

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train the model the job_submit plugin loads, from a workload log.",
        discussion: """
            Replays the log (leakage-free features, as `evaluate`), trains the runtime model on the newest
            finished jobs, calibrates its p90 on a held-out tail, and writes a model file (with the job history
            its features need) atomically: the plugin inside slurmctld picks up the new file within its
            ReloadInterval. The daemon (prewarmd) retrains from the cluster's own history the same way.
            """)

    @Option(help: "Standard Workload Format log (.swf or .swf.gz); default: the bundled KTH-SP2 slice.")
    var trace: String?

    @Option(help: "Where to write the model (replaced atomically).")
    var out: String

    @Option(help: "Trees in the forest.")
    var trees: Int = 100

    @Option(help: "Newest finished jobs to train on.")
    var window: Int = 20_000

    @Flag(help: "Skip malformed trace lines instead of stopping at the first.")
    var lenient = false

    @Flag(help: "Print the summary as JSON.")
    var json = false

    mutating func run() throws {
        guard trees >= 1, trees <= 2000 else { throw ValidationError("--trees must be from 1 to 2000") }
        guard window >= SubmitModel.minimumJobs else {
            throw ValidationError("--window must be at least \(SubmitModel.minimumJobs)")
        }
        let path = try trace ?? CLISupport.bundledTrace()
        let t0 = CLISupport.now()
        let loaded = try CLISupport.loadTrace(path, lenient: lenient)
        var parameters = RuntimeModelParameters()
        parameters.forest.treeCount = trees
        let model: SubmitModel
        do {
            model = try SubmitModel.train(
                jobs: loaded.jobs, capacityProcs: Int64(loaded.header.maxProcs ?? 0), window: window,
                parameters: parameters, source: (path as NSString).lastPathComponent)
        } catch {
            CLISupport.note("prewarm: \(path): \(error)")
            throw ExitCode(2)
        }
        let bytes = model.serialize()
        do {
            try AtomicFile.write(bytes, to: out)
        } catch {
            CLISupport.note("prewarm: \(error)")
            throw ExitCode(1)
        }
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
