// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import Foundation
import PrewarmCore
import Traces

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the annotation the job_submit plugin would write for a job.",
        discussion: """
            Takes a batch script and sbatch-like options (options override the script's #SBATCH directives, \
            as with sbatch) and runs the plugin's profiling code: script analysis, features from the model's \
            job history, the runtime prediction, and the annotation text.
            """)

    @Option(help: "Model file written by `prewarm train` (or prewarmd). Without one the annotation says model=none.")
    var model: String?

    @Option(help: "Batch script to analyse.")
    var script: String?

    @Option(help: "Submitting user id (default: yours).")
    var uid: Int64?

    @Option(name: [.customShort("t"), .long], help: "Time limit (Slurm format: 90, 1:30:00, 2-12:00:00).")
    var time: String?

    @Option(name: [.customShort("N"), .long], help: "Nodes.")
    var nodes: String?

    @Option(name: [.customShort("n"), .long], help: "Tasks.")
    var ntasks: String?

    @Option(name: [.customShort("c"), .customLong("cpus-per-task")], help: "CPUs per task.")
    var cpusPerTask: String?

    @Option(help: "Memory per node (4000, 4G).")
    var mem: String?

    @Option(name: .customLong("mem-per-cpu"), help: "Memory per CPU.")
    var memPerCPU: String?

    @Option(name: [.customShort("p"), .long], help: "Partition.")
    var partition: String?

    @Option(name: [.customShort("A"), .long], help: "Account.")
    var account: String?

    @Option(help: "QOS.")
    var qos: String?

    @Option(name: [.customShort("J"), .customLong("job-name")], help: "Job name.")
    var jobName: String?

    @Option(help: "Generic resources, e.g. gpu:2.")
    var gres: String?

    @Option(help: "Job array specification.")
    var array: String?

    @Option(name: [.customShort("d"), .long], help: "Dependency.")
    var dependency: String?

    @Option(help: "Bytes of the script read at most (the plugin's MaxScriptBytes).")
    var maxScriptBytes: Int = 65_536

    @Flag(help: "Print the prediction and the annotation as JSON.")
    var json = false

    @Option(help: .hidden)
    var repeatTiming: Int = 0

    mutating func run() throws {
        var request = SubmitRequest()
        request.uid = uid ?? Int64(getuid())
        request.submitTime = Int64(Date().timeIntervalSince1970)
        var t = time_t(request.submitTime)
        var parts = tm()
        localtime_r(&t, &parts)
        request.hourOfDay = Int(parts.tm_hour)
        request.dayOfWeek = Int(parts.tm_wday)

        var analysis: BatchScriptAnalysis?
        if let script {
            guard let data = FileManager.default.contents(atPath: script) else {
                throw CLIError("cannot read the script \(script)")
            }
            let n = min(data.count, max(0, maxScriptBytes))
            analysis = data.withUnsafeBytes { raw in
                BatchScriptAnalysis.analyze(UnsafeRawBufferPointer(rebasing: raw[0 ..< n]), maxBytes: n)
            }
            if data.count > n { analysis?.truncated = true }
            for d in analysis?.directives ?? [] {
                do {
                    try SbatchOptions.apply(d.name, d.value, to: &request)
                } catch {
                    throw CLIError("\(script): #SBATCH \(error)")
                }
            }
        }
        let options: [(String, String?)] = [
            ("time", time), ("nodes", nodes), ("ntasks", ntasks), ("cpus-per-task", cpusPerTask), ("mem", mem),
            ("mem-per-cpu", memPerCPU), ("partition", partition), ("account", account), ("qos", qos),
            ("job-name", jobName), ("gres", gres), ("array", array), ("dependency", dependency),
        ]
        for case let (name, value?) in options {
            do {
                try SbatchOptions.apply(name, value, to: &request)
            } catch {
                throw ValidationError("\(error)")
            }
        }

        var prediction: RuntimePrediction?
        var modelID: String?
        if let model {
            let bytes: [UInt8]
            do {
                bytes = try AtomicFile.read(model)
            } catch {
                throw CLIError("\(error)")
            }
            do {
                var m = try SubmitModel(deserializing: bytes)
                modelID = ModelContainer.shortIdentifier(bytes)
                prediction = m.predict(SubmitProfiler.record(for: request, script: analysis), recording: true)
            } catch {
                throw CLIError("\(model): \(error)")
            }
        }
        if repeatTiming > 0, let model {
            var m = try SubmitModel(deserializing: try AtomicFile.read(model))
            let text: String = script.flatMap { try? String(contentsOfFile: $0, encoding: .utf8) } ?? ""
            let bytes: [UInt8] = Array(text.utf8)
            var t = [0.0, 0.0, 0.0, 0.0]
            for _ in 0 ..< repeatTiming {
                let t0 = CLISupport.now()
                let a: BatchScriptAnalysis = bytes.withUnsafeBytes { raw in
                    BatchScriptAnalysis.analyze(raw, maxBytes: maxScriptBytes)
                }
                let t1 = CLISupport.now()
                let r = SubmitProfiler.record(for: request, script: a)
                let p = m.predict(r, recording: false)
                let t2 = CLISupport.now()
                let s = SubmitProfiler.annotation(request: request, prediction: p, modelID: "x", script: a)
                let t3 = CLISupport.now()
                t[0] += t1 - t0
                t[1] += t2 - t1
                t[2] += t3 - t2
                t[3] += Double(s.utf8.count)
            }
            let n = Double(repeatTiming)
            print(String(format: "analysis %.1f us, record+predict %.1f us, annotation %.1f us per job (%d bytes of script)",
                         t[0] / n * 1e6, t[1] / n * 1e6, t[2] / n * 1e6, bytes.count))
        }
        let annotation = SubmitProfiler.annotation(
            request: request, prediction: prediction, modelID: modelID, script: analysis)
        if json {
            var fields: [(String, JSON)] = [("annotation", .string(annotation))]
            if let p = prediction {
                fields += [
                    ("runtime_s", .number(Double(p.point))), ("p50_s", .number(Double(p.p50))),
                    ("p90_s", .number(Double(p.p90))), ("candidate", .string(p.candidate.name)),
                    ("expected_accuracy", .number(Double(p.expectedAccuracy))),
                ]
            }
            fields += [
                ("time_limit_min", .int(Int(request.timeLimitMinutes))), ("processors", .int(Int(request.processors))),
                ("nodes", .int(Int(request.minNodes))),
                ("executable", analysis?.mainExecutable.map { .string($0) } ?? .null),
            ]
            print(JSON.object(fields).text)
        } else {
            print(annotation)
        }
    }
}
