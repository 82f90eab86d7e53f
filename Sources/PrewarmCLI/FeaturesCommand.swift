// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import Foundation
import PrewarmCore
import Traces

/// Exports the submit-time feature matrix of a trace as CSV (for benchmarks and outside tools).
struct Features: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export the submit-time feature matrix of a workload log as CSV.",
        discussion: """
            One row per job with runtime > 0, in submission order: the features of schema \
            \(FeatureSchema.submitTime.name) v\(FeatureSchema.submitTime.version) (computed exactly as \
            `evaluate` and the controller plugin compute them, from finished jobs only), then runtime_s.
            """)

    @Option(help: "Workload log (.swf or .swf.gz). Default: the bundled KTH-SP2 slice.")
    var trace: String?
    @Option(help: "Output CSV file (written to a temporary file, then renamed).")
    var out: String
    @Flag(help: "Skip malformed lines instead of stopping.")
    var lenient = false

    func run() throws {
        let path = try trace ?? CLISupport.bundledTrace()
        let loaded = try CLISupport.loadTrace(path, lenient: lenient)
        var text = FeatureSchema.submitTime.features.joined(separator: ",") + ",runtime_s\n"
        var history = JobHistory()
        var rows = 0
        HistoryReplay(jobs: loaded.jobs, capacityProcs: Int64(loaded.header.maxProcs ?? 0)).run(
            history: &history, completing: .lastSubmission,
            onCompletion: { (_: HistoryReplay.Completion<Void>) in },
            onSubmit: { _, job, snapshot in
                guard job.runtime > 0 else { return }
                for v in snapshot.features {
                    text += v == v.rounded() && abs(v) < 1e7 ? String(Int(v)) : String(v)
                    text += ","
                }
                text += String(job.runtime) + "\n"
                rows += 1
            })
        try CLISupport.writeOutput(Array(text.utf8), to: out)
        CLISupport.note("wrote \(rows) rows × \(FeatureSchema.submitTime.count) features to \(out)")
    }
}
