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
        // Breakdown: the history snapshot alone, then the runtime model alone on precomputed snapshots.
        let t0 = CLISupport.now()
        var snapshots: [SubmitSnapshot] = []
        snapshots.reserveCapacity(chosen.count)
        for job in chosen { snapshots.append(SubmitModel.masked(m.history.snapshot(job, load: ClusterLoad()))) }
        let t1 = CLISupport.now()
        var check: Float = 0
        for s in snapshots { check += m.runtime.predict(s).point }
        let t2 = CLISupport.now()
        if check.isNaN { print("nan") }
        // The forest alone: mean outputs, and the neighbour visit.
        var means = [Float](repeating: 0, count: RuntimeCandidate.count)
        var visits = 0
        let t3 = CLISupport.now()
        for s in snapshots {
            s.features.withUnsafeBufferPointer { x in means.withUnsafeMutableBufferPointer { m.runtime.forest.predict(x, into: $0) } }
        }
        let t4 = CLISupport.now()
        for s in snapshots {
            s.features.withUnsafeBufferPointer { x in m.runtime.forest.forEachNeighbour(x) { _, _ in visits += 1 } }
        }
        let t5 = CLISupport.now()
        print(String(format: "  forest means %.2f us, forest neighbours %.2f us (%.0f visits per job)",
                     (t4 - t3) / Double(chosen.count) * 1e6, (t5 - t4) / Double(chosen.count) * 1e6,
                     Double(visits) / Double(chosen.count)))
        print(String(format: "  snapshot+mask %.2f us, runtime.predict %.2f us (varied)",
                     (t1 - t0) / Double(chosen.count) * 1e6, (t2 - t1) / Double(chosen.count) * 1e6))
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
