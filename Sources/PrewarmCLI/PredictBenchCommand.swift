// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

import ArgumentParser
import Foundation
import PrewarmCore
import Traces

/// `prewarm predict-bench` (hidden): times ``SubmitModel/predict(_:recording:)`` — history snapshot plus runtime
/// prediction, what the plugin does per submission — over many *different* jobs of a trace (varied users, time
/// limits, sizes), so no cache is flattered by repeating one job. Optionally dumps every prediction bit-exactly
/// (one line per job) so two builds can be compared.
struct PredictBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict-bench",
        abstract: "Time SubmitModel.predict over varied jobs of a trace; optionally dump the predictions.",
        shouldDisplay: false
    )

    @Option(help: "Submit model file (from `prewarm train`).")
    var model: String

    @Option(help: "Standard Workload Format log whose jobs are predicted; default: the bundled KTH-SP2 slice.")
    var trace: String?

    @Option(help: "Number of jobs predicted per pass (taken from the end of the trace).")
    var jobs = 10_000

    @Option(help: "Timing passes; the median pass is reported.")
    var passes = 5

    @Option(help: "Write one line per job with the prediction's fields as hex bit patterns.")
    var dump: String?

    func run() throws {
        var m = try SubmitModel(deserializing: try AtomicFile.read(model))
        let path = try trace ?? CLISupport.bundledTrace()
        let all = try CLISupport.loadTrace(path, lenient: true).jobs
        let chosen = Array(all.suffix(max(1, jobs)))
        var out = [RuntimePrediction]()
        out.reserveCapacity(chosen.count)
        var perJob: [Double] = []
        for pass in 0 ..< max(1, passes) {
            let t0 = CLISupport.now()
            for job in chosen {
                let p = m.predict(job, recording: false)
                if pass == 0 { out.append(p) }
            }
            perJob.append((CLISupport.now() - t0) / Double(chosen.count))
        }
        perJob.sort()
        // Same job repeated, for comparison with `predict --repeat-timing`.
        var same = 0.0
        if let job = chosen.first {
            let reps = 5000
            let t0 = CLISupport.now()
            var sink: Float = 0
            for _ in 0 ..< reps { sink += m.predict(job, recording: false).point }
            same = (CLISupport.now() - t0) / Double(reps)
            if sink.isNaN { print("nan") }
        }
        print(String(format: "varied jobs: %.2f us per predict (median of %d passes over %d jobs; min %.2f, max %.2f); "
                         + "same job: %.2f us", perJob[perJob.count / 2] * 1e6, perJob.count, chosen.count,
                     perJob[0] * 1e6, perJob[perJob.count - 1] * 1e6, same * 1e6))
        if let dump {
            var text = ""
            for p in out {
                text += [p.point, p.p50, p.p90, p.scale, p.expectedAccuracy]
                    .map { String($0.bitPattern, radix: 16) }.joined(separator: " ")
                text += " \(p.candidate.rawValue)\n"
            }
            try text.write(toFile: dump, atomically: true, encoding: .utf8)
        }
    }
}
