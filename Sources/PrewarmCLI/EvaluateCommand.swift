// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import Foundation
import PrewarmCore
import Traces

/// Options shared by commands that train the runtime model.
struct ModelOptions: ParsableArguments {
    @Option(help: "Trees in the forest.")
    var trees = RuntimeModelParameters.defaultForest.treeCount
    @Option(help: "Minimum training jobs per leaf.")
    var minLeaf = RuntimeModelParameters.defaultForest.minSamplesLeaf
    @Option(help: "Bootstrap sample per tree, as a fraction of the training window.")
    var sampleFraction = RuntimeModelParameters.defaultForest.sampleFraction
    @Option(help: "Training threads.")
    var threads = 2
    @Option(help: "Random seed (training is deterministic for a given seed).")
    var seed = RuntimeModelParameters.defaultForest.seed
    @Flag(help: "Choose among the candidates as they are, without scaling the chosen one.")
    var noRefine = false

    var parameters: RuntimeModelParameters {
        var f = RuntimeModelParameters.defaultForest
        f.treeCount = trees
        f.minSamplesLeaf = minLeaf
        f.sampleFraction = sampleFraction
        f.threads = threads
        f.seed = seed
        return RuntimeModelParameters(forest: f, refineScale: !noRefine)
    }

    func validate() throws {
        guard trees >= 1, trees <= 10_000 else { throw ValidationError("--trees must be within 1…10000") }
        guard minLeaf >= 1 else { throw ValidationError("--min-leaf must be ≥ 1") }
        guard sampleFraction > 0, sampleFraction <= 1 else { throw ValidationError("--sample-fraction must be in (0, 1]") }
        guard threads >= 1, threads <= 256 else { throw ValidationError("--threads must be within 1…256") }
    }
}

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replay a workload log and score Prewarm's runtime predictions against the published baselines.",
        discussion: """
            Jobs are replayed in submission order the way Prewarm lives in production: each job is predicted \
            at its submit time from what had *finished* by then (a user's history holds only completed jobs). \
            The model is retrained every --retrain-jobs finished jobs or every --retrain-days of trace time \
            (whichever comes first, if at least 200 new jobs finished), on the --window most recent finished \
            jobs; the first model is trained once --warmup jobs have finished, and until then Prewarm predicts \
            same_request. The p90 is calibrated online (adaptive conformal inference) as jobs finish.

            Predictors scored on the same jobs (runtime > 0): user_estimate (the requested time), last2 \
            (mean of the user's two last finished jobs, capped at the request; Tsafrir et al. 2007), \
            same_request (the user's last finished job with the same requested time, else last2), and prewarm.
            Metrics: accuracy = mean of min(R,P)/max(R,P); mae_s; median_ae_s; under_pct = % of jobs that \
            ran longer than predicted; p90_coverage = share of jobs with R ≤ predicted p90.
            Without --trace, the bundled slice of the KTH-SP2 log (10,000 jobs) is used; with --db, your own \
            cluster's finished jobs from the history store (`prewarm history import --sacct`, prewarmd), whose \
            load features are unknown (the cluster's size is not stored), as the job_submit plugin sees them.
            """)

    @Option(help: "Workload log in Standard Workload Format (.swf or .swf.gz).")
    var trace: String?
    @OptionGroup var history: HistorySelection
    @Flag(help: "Skip malformed lines (counted and reported) instead of stopping at the first.")
    var lenient = false
    @Flag(help: "Print one JSON object instead of tables.")
    var json = false
    @Option(help: "Finished jobs the model learns from (most recent).")
    var window = ReplayConfiguration().window
    @Option(help: "Retrain after this many newly finished jobs.")
    var retrainJobs = ReplayConfiguration().retrainEveryJobs
    @Option(help: "Retrain after this many days of trace time.")
    var retrainDays = Double(ReplayConfiguration().retrainEverySeconds) / 86_400
    @Option(help: "Finished jobs needed before the first model.")
    var warmup = ReplayConfiguration().warmupJobs
    @Flag(help: """
        Also score the model on the history the in-controller profiler has: the one published with the model \
        (completions up to its training), then submissions only. Set the publication schedule with \
        --retrain-days / --retrain-jobs (prewarmd retrains daily: --retrain-days 1).
        """)
    var controllerView = false
    @Option(help: """
        With --controller-view: the profiler's history also takes the completions every this many minutes between \
        publications (a history republished without retraining).
        """)
    var controllerRefreshMinutes: Double?
    @OptionGroup var model: ModelOptions

    func validate() throws {
        guard window >= 100 else { throw ValidationError("--window must be ≥ 100") }
        guard trace == nil || history.db == nil else { throw ValidationError("give --trace or --db, not both") }
        guard retrainJobs >= 1 else { throw ValidationError("--retrain-jobs must be ≥ 1") }
        guard retrainDays > 0 else { throw ValidationError("--retrain-days must be > 0") }
        guard warmup >= 10 else { throw ValidationError("--warmup must be ≥ 10") }
        if let m = controllerRefreshMinutes {
            guard controllerView else { throw ValidationError("--controller-refresh-minutes needs --controller-view") }
            guard m >= 1 && m <= 525_600 else { throw ValidationError("--controller-refresh-minutes must be 1 to 525600") }
        }
    }

    func run() throws {
        let path: String
        let loaded: (header: SWFHeader, jobs: [JobRecord])
        if let jobs = try history.jobs(), let label = history.label {
            path = label
            loaded = (SWFHeader(), jobs)
        } else {
            path = try trace ?? CLISupport.bundledTrace()
            loaded = try CLISupport.loadTrace(path, lenient: lenient)
        }
        var config = ReplayConfiguration()
        config.window = window
        config.retrainEveryJobs = retrainJobs
        config.retrainEverySeconds = Int64(retrainDays * 86_400)
        config.warmupJobs = warmup
        config.model = model.parameters
        let name = (path as NSString).lastPathComponent
        let progress = Progress("evaluate \(name)")
        let started = CLISupport.now()
        let result = OnlineReplay.run(
            jobs: loaded.jobs, capacityProcs: Int64(loaded.header.maxProcs ?? 0), configuration: config,
            controllerView: controllerView, controllerRefreshSeconds: controllerRefreshMinutes.map { Int64($0 * 60) },
            clock: CLISupport.now, progress: progress.update)
        progress.finish()
        let elapsed = CLISupport.now() - started
        if json {
            print(Self.json(result, trace: name, config: config, elapsed: elapsed).text)
        } else {
            print(Self.table(result, trace: name, config: config, elapsed: elapsed))
        }
    }

    static func metricsJSON(_ m: PredictorMetrics) -> JSON {
        var o: [(String, JSON)] = [
            ("accuracy", .number(round4(m.accuracy))), ("mae_s", .number(m.maeSeconds.rounded())),
            ("median_ae_s", .number(m.medianAESeconds.rounded())), ("under_pct", .number(round4(m.underPercent))),
        ]
        if let c = m.p90Coverage { o.append(("p90_coverage", .number(round4(c)))) }
        return .object(o)
    }

    static func round4(_ x: Double) -> Double { (x * 10_000).rounded() / 10_000 }

    static func json(_ r: ReplayResult, trace: String, config: ReplayConfiguration, elapsed: Double) -> JSON {
        var fields: [(String, JSON)] = [
            ("trace", .string(trace)), ("jobs", .int(r.scoredJobs)), ("records", .int(r.totalJobs)),
            ("predictors", .object(r.predictors.map { ($0.name, metricsJSON($0.metrics)) })),
            ("model", .object([
                ("trees", .int(config.model.forest.treeCount)), ("window", .int(config.window)),
                ("retrain_every_jobs", .int(config.retrainEveryJobs)),
                ("retrain_every_s", .int(Int(config.retrainEverySeconds))), ("trainings", .int(r.trainings)),
                ("training_s", .number(round4(r.trainingSeconds))), ("warmup_predictions", .int(r.warmupPredictions)),
            ])),
            ("candidates", .object(zip(r.candidateAccuracy, r.candidateShare).map { acc, share in
                (acc.candidate.name, .object([("accuracy", .number(round4(acc.accuracy))),
                                              ("chosen_share", .number(round4(share.share)))]))
            })),
            ("hindsight_best_candidate_accuracy", .number(round4(r.hindsightAccuracy))),
            ("elapsed_s", .number(round4(elapsed))), ("peak_rss_mb", .number(CLISupport.peakRSSMegabytes().rounded())),
        ]
        if let v = r.controllerView {
            fields.append(("controller_view", .object([
                ("live_history", metricsJSON(v.live)), ("controller_history", metricsJSON(v.controller)),
            ])))
        }
        return .object(fields)
    }

    static func table(_ r: ReplayResult, trace: String, config: ReplayConfiguration, elapsed: Double) -> String {
        var out = "trace \(trace): \(r.totalJobs) jobs, \(r.scoredJobs) scored (runtime > 0)\n\n"
        out += pad("predictor", 15) + lpad("accuracy", 9) + lpad("mae_s", 9) + lpad("median_ae_s", 13)
            + lpad("under_pct", 11) + lpad("p90_coverage", 14) + "\n"
        for (name, m) in r.predictors {
            out += pad(name, 15) + lpad(String(format: "%.3f", m.accuracy), 9)
                + lpad(String(format: "%.0f", m.maeSeconds), 9) + lpad(String(format: "%.0f", m.medianAESeconds), 13)
                + lpad(String(format: "%.1f", m.underPercent), 11)
                + lpad(m.p90Coverage.map { String(format: "%.3f", $0) } ?? "-", 14) + "\n"
        }
        let acc = Dictionary(uniqueKeysWithValues: r.predictors.map { ($0.name, $0.metrics.accuracy) })
        if let p = acc["prewarm"], let l = acc["last2"], let s = acc["same_request"] {
            out += String(format: "\nprewarm vs last2: %+.3f accuracy; vs same_request: %+.3f\n", p - l, p - s)
        }
        out += "\nWhy it wins: a user's runtimes are multi-modal, so the model predicts, per job, how accurate each\n"
        out += "history-based candidate will be (a multi-output random forest) and scales the best one to the value\n"
        out += "of highest expected accuracy among the job's forest neighbours.\n\n"
        out += pad("candidate", 20) + lpad("accuracy alone", 16) + lpad("chosen", 9) + "\n"
        for (a, s) in zip(r.candidateAccuracy, r.candidateShare) {
            out += pad(a.candidate.name, 20) + lpad(String(format: "%.3f", a.accuracy), 16)
                + lpad(String(format: "%.1f%%", 100 * s.share), 9) + "\n"
        }
        out += String(format: "best candidate per job with hindsight: %.3f (the ceiling of a pure selector)\n",
                      r.hindsightAccuracy)
        out += String(
            format: "\nmodel: %d trees, trained %d times (every %d finished jobs or %.0f days), window %d jobs; "
                + "%d jobs predicted before the first model; training %.1fs of %.1fs total\n",
            config.model.forest.treeCount, r.trainings, config.retrainEveryJobs,
            Double(config.retrainEverySeconds) / 86_400, config.window, r.warmupPredictions, r.trainingSeconds, elapsed)
        if let v = r.controllerView {
            out += "\nInside slurmctld (--controller-view): the same model, its training's p90 calibration and the load "
                + "features masked,\nfrom the live history and from the profiler's (as published with the model, then "
                + "submissions only):\n"
            for (name, m) in [("live history", v.live), ("controller", v.controller)] {
                out += pad(name, 15) + lpad(String(format: "%.3f", m.accuracy), 9)
                    + lpad(String(format: "%.0f", m.maeSeconds), 9) + lpad(String(format: "%.0f", m.medianAESeconds), 13)
                    + lpad(String(format: "%.1f", m.underPercent), 11)
                    + lpad(m.p90Coverage.map { String(format: "%.3f", $0) } ?? "-", 14) + "\n"
            }
        }
        return out
    }

    static func pad(_ s: String, _ w: Int) -> String { s.count >= w ? s + " " : s + String(repeating: " ", count: w - s.count) }
    static func lpad(_ s: String, _ w: Int) -> String { s.count >= w ? " " + s : String(repeating: " ", count: w - s.count) + s }
}
