// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import Foundation
import HistoryStore
import PrewarmCore
import Traces

struct History: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The finished-job history prewarmd keeps (SQLite): import and inspect it.",
        discussion: """
            prewarmd stores every finished job it sees (HistoryDatabase= in prewarmd.conf). Bootstrap the store \
            from a workload log or from Slurm accounting; a job already stored (same cluster, job id and submit \
            time) is never stored twice, so imports can be repeated.
            """,
        subcommands: [HistoryImport.self, HistoryStats.self, HistoryPrune.self, HistoryCrashWriter.self])
}

/// Where the store is, shared by the history commands, `train --db` and `retrain`.
struct DatabaseOption: ParsableArguments {
    @Option(help: "The history database (SQLite).")
    var db: String = HistoryStore.defaultPath
}

struct HistoryImport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Add finished jobs from a workload log (--trace) or from sacct (--sacct) to the history.",
        discussion: """
            --trace reads a Standard Workload Format log (.swf or .swf.gz); its jobs are stored under the cluster \
            name --cluster (default: the file name without extensions). --sacct runs \
            `sacct --parsable2 --noheader --allusers --duplicates --state=<finished states>` (Slurm accounting, \
            slurmdbd) for the time range --start/--end (sacct's -S/-E syntax; default: everything until now), i.e. \
            the jobs that ended in the range, and stores them with their usage (TotalCPU, peak MaxRSS over the \
            steps). All rows of one import are one transaction.
            """)

    @OptionGroup var database: DatabaseOption

    @Option(help: "Standard Workload Format log (.swf or .swf.gz).")
    var trace: String?

    @Flag(help: "Import from Slurm accounting with sacct.")
    var sacct = false

    @Option(help: "sacct --starttime (e.g. 2026-01-01, now-7days; default 1970-01-02T00:00:00).")
    var start: String?

    @Option(help: "sacct --endtime (default now).")
    var end: String?

    @Option(help: "The sacct program.")
    var sacctProgram = "sacct"

    @Option(help: "Cluster name for the rows (--trace: default the file name; --sacct: when sacct gives none).")
    var cluster: String?

    @Option(help: ArgumentHelp(
        "Partition name for the rows of --trace (a workload log numbers its partitions; prewarmd learns arrivals "
            + "per Slurm partition name)."))
    var partition: String?

    @Flag(help: "Skip malformed lines instead of stopping at the first.")
    var lenient = false

    mutating func validate() throws {
        guard (trace != nil) != sacct else { throw ValidationError("give exactly one of --trace FILE and --sacct") }
        if partition != nil && trace == nil { throw ValidationError("--partition goes with --trace") }
        if trace != nil && (start != nil || end != nil) { throw ValidationError("--start/--end go with --sacct") }
    }

    mutating func run() throws {
        let rows: [HistoryJob]
        let what: String
        if let trace {
            let loaded = try CLISupport.loadTrace(trace, lenient: lenient)
            let clock = LocalClock(timeZoneString: loaded.header.timeZoneString, fallbackOffset: loaded.header.timeZone)
            let file = (trace as NSString).lastPathComponent
            var name = file
            for suffix in [".gz", ".swf"] where name.hasSuffix(suffix) { name = String(name.dropLast(suffix.count)) }
            let clusterName = cluster ?? name
            rows = loaded.jobs.map {
                var row = HistoryJob(
                    $0, cluster: clusterName, utcOffset: Int64(clock.utcOffset(at: $0.submit)), source: "swf:\(file)")
                if let partition { row.partition = partition }
                return row
            }
            what = "\(rows.count) jobs from \(trace)"
        } else {
            let argv = SacctRunner.arguments(program: sacctProgram, start: start, end: end)
            let output: String
            do {
                output = try SacctRunner.run(argv)
            } catch {
                CLISupport.note("prewarm: \(error)")
                throw ExitCode(1)
            }
            let parsed: SacctParser.Result
            do {
                parsed = try SacctParser.parse(
                    output, source: "sacct output", delimiter: SacctRunner.delimiter, cluster: cluster ?? "default",
                    localToUTC: SacctRunner.localToUTC, utcOffset: HistoryIngest.localUTCOffset, lenient: lenient)
            } catch {
                CLISupport.note("prewarm: \(error)")
                throw ExitCode(2)
            }
            if let first = parsed.errors.first {
                CLISupport.note("prewarm: skipped \(parsed.errors.count) malformed line(s) of sacct output; first: \(first)")
            }
            rows = parsed.jobs
            what = "\(rows.count) finished jobs from sacct (\(parsed.unfinished) not finished, not stored)"
        }
        let added: Int
        let total: Int
        do {
            let store = try HistoryStore(path: database.db)
            added = try store.insert(rows)
            total = try store.count()
        } catch {
            CLISupport.note("prewarm: \(error)")
            throw ExitCode(1)
        }
        let already = rows.count - added
        print("\(database.db): read \(what); \(added) new, \(already) already stored; \(total) jobs in the history")
        if added == 0 && !rows.isEmpty { print("nothing new: every job was already stored") }
    }
}

struct HistoryPrune: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Remove the stored jobs submitted before a time (what prewarmd's HistoryRetention does each cycle).",
        discussion: """
            Removes in batches of 20,000 jobs, each its own transaction, so that a running prewarmd storing jobs \
            meanwhile waits for one batch at most. SQLite reuses the freed pages; the file does not shrink.
            """)

    @OptionGroup var database: DatabaseOption

    @Option(help: "Remove jobs submitted more than this many days ago.")
    var olderThan: Int?

    @Option(help: "Remove jobs submitted before this Unix time (seconds).")
    var before: Int64?

    func validate() throws {
        guard (olderThan == nil) != (before == nil) else {
            throw ValidationError("give one of --older-than DAYS and --before UNIX_TIME")
        }
        if let d = olderThan, !(1 ... 36_500).contains(d) {
            throw ValidationError("--older-than: must be a whole number of days from 1 to 36500, found \(d)")
        }
    }

    mutating func run() throws {
        let cutoff = before ?? (Int64(time(nil)) - Int64(olderThan ?? 0) * 86_400)
        var removed = 0
        do {
            guard FileManager.default.fileExists(atPath: database.db) else {
                throw HistoryStoreError(path: database.db, message: "no such file")
            }
            let store = try HistoryStore(path: database.db)
            while case let n = try store.removeJobs(submittedBefore: cutoff, limit: HistoryStore.removalBatch), n > 0 {
                removed += n
            }
            print("\(database.db): removed \(removed) job(s) submitted before \(LocalClock.utc.format(cutoff)) UTC; "
                + "\(try store.count()) jobs in the history")
        } catch {
            CLISupport.note("prewarm: \(error)")
            throw ExitCode(1)
        }
    }
}

struct HistoryStats: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats", abstract: "Counts over the stored jobs: jobs, time span, users, partitions, sources.")

    @OptionGroup var database: DatabaseOption

    @Flag(help: "Print one JSON object.")
    var json = false

    mutating func run() throws {
        let st: HistoryStatistics
        do {
            st = try HistoryStore(path: database.db, readOnly: true).statistics()
        } catch {
            CLISupport.note("prewarm: \(error)")
            throw ExitCode(1)
        }
        let utc = LocalClock.utc
        func when(_ t: Int64?) -> String { t.map { utc.format($0) } ?? "-" }
        if json {
            print(JSON.object([
                ("db", .string(database.db)), ("jobs", .int(st.jobs)), ("finished_jobs", .int(st.finishedJobs)),
                ("first_submit", st.firstSubmit.map { .int(Int($0)) } ?? .null),
                ("last_submit", st.lastSubmit.map { .int(Int($0)) } ?? .null),
                ("last_end", st.lastEnd.map { .int(Int($0)) } ?? .null),
                ("users", .int(st.users)), ("partitions", .int(st.partitions)),
                ("clusters", .array(st.clusters.map { .string($0) })),
                ("sources", .object(st.sources.map { ($0.source, .int($0.jobs)) })),
            ]).text)
            return
        }
        print("\(database.db)")
        print("jobs        \(st.jobs) (\(st.finishedJobs) with a start and an end)")
        print("submitted   \(when(st.firstSubmit)) … \(when(st.lastSubmit)) (UTC)")
        if let first = st.firstSubmit, let last = st.lastSubmit {
            print(String(format: "span        %.1f days", Double(last - first) / 86_400))
        }
        print("users       \(st.users)")
        print("partitions  \(st.partitions)")
        print("clusters    \(st.clusters.joined(separator: ", "))")
        for s in st.sources { print("source      \(s.source): \(s.jobs) jobs") }
    }
}

struct Retrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Retrain the model from the history and publish it only if it is no worse than the current one.",
        discussion: """
            Trains on the stored jobs submitted before the --holdout newest finished ones, scores the new and the \
            published model (--model) on those held-out jobs (accuracy and p90 coverage, as `train` reports), and \
            replaces --model atomically only when the new model is no worse (accuracy not lower, p90 coverage not \
            lower than min(published, 0.9) − 0.02) or no usable model is published. prewarmd does the same every \
            RetrainInterval seconds. Exit status 0 in both cases; the decision is printed.

            --history-only republishes the published model unchanged with the history of the newest --max-jobs \
            stored jobs, without training (what prewarmd does every HistoryRefreshInterval seconds: the job_submit \
            plugin learns of no job end, so its history goes stale between retrainings).
            """)

    @OptionGroup var database: DatabaseOption

    @Option(help: "The published model (ModelFile in prewarm.conf).")
    var model: String

    @Option(help: "Newest finished jobs held out for the comparison.")
    var holdout = 1000

    @Option(help: "Newest stored jobs read at most.")
    var maxJobs = 100_000

    @Option(help: "Newest finished jobs to train on.")
    var window = 20_000

    @Option(help: "Trees in the forest.")
    var trees = 100

    @Flag(help: "Train without scaling the chosen candidate (as `prewarm train --no-refine`).")
    var noRefine = false

    @Flag(help: "Only republish the published model with the stored history (no training).")
    var historyOnly = false

    @Flag(help: "Print the decision as JSON.")
    var json = false

    mutating func run() throws {
        if historyOnly {
            guard maxJobs >= 1 else { throw ValidationError("--max-jobs must be at least 1") }
            let refresh: Retraining.Refresh
            do {
                let store = try HistoryStore(path: database.db, readOnly: true)
                refresh = try Retraining.refreshHistory(store: store, modelPath: model, maxJobs: maxJobs)
            } catch {
                CLISupport.note("prewarm: \(error)")
                throw ExitCode(1)
            }
            if json {
                print(JSON.object([
                    ("refreshed", .bool(refresh.written)), ("model", .string(model)), ("id", .string(refresh.modelID)),
                    ("jobs", .int(refresh.jobs)), ("seconds", .number(refresh.seconds)),
                ]).text)
            } else if refresh.written {
                print("republished \(model) (model \(refresh.modelID)) with the history of \(refresh.jobs) stored jobs")
            } else {
                print("kept \(model): its history already holds the \(refresh.jobs) newest stored jobs")
            }
            return
        }
        try CLISupport.checkModelTrees(trees)
        guard holdout >= 20 else { throw ValidationError("--holdout must be at least 20") }
        guard window >= SubmitModel.minimumJobs else {
            throw ValidationError("--window must be at least \(SubmitModel.minimumJobs)")
        }
        guard maxJobs > holdout else { throw ValidationError("--max-jobs must be larger than --holdout") }
        var options = Retraining.Options()
        options.holdout = holdout
        options.maxJobs = maxJobs
        options.window = window
        options.trees = trees
        options.refineScale = !noRefine
        let decision: Retraining.Decision
        do {
            let store = try HistoryStore(path: database.db, readOnly: true)
            decision = try Retraining.run(store: store, modelPath: model, options: options)
        } catch {
            CLISupport.note("prewarm: \(error)")
            throw ExitCode(1)
        }
        if json {
            func score(_ s: Retraining.Score?) -> JSON {
                s.map { .object([("accuracy", .number($0.accuracy)), ("p90_coverage", .number($0.p90Coverage))]) }
                    ?? .null
            }
            print(JSON.object([
                ("published", .bool(decision.published)), ("reason", .string(decision.reason)),
                ("model", .string(model)), ("id", decision.modelID.map { .string($0) } ?? .null),
                ("new", score(decision.candidate)), ("current", score(decision.current)),
                ("held_out", .int(decision.heldOut)), ("training_jobs", .int(decision.trainingJobs)),
                ("seconds", .number(decision.seconds)),
            ]).text)
        } else {
            print((decision.published ? "published \(model) (model \(decision.modelID ?? "?")): " : "kept \(model): ")
                + decision.reason)
        }
    }
}

/// The crash-safety test's writer (hidden): commits `--committed` rows, then writes `--uncommitted` more in one
/// transaction and kills itself with SIGKILL just before the commit. A separate process, so the test never forks
/// its own multithreaded process.
struct HistoryCrashWriter: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crash-writer", abstract: "Test helper: dies by SIGKILL inside an open transaction.",
        shouldDisplay: false)

    @OptionGroup var database: DatabaseOption
    @Option var committed = 100
    @Option var uncommitted = 20_000

    func run() throws {
        let store = try HistoryStore(path: database.db)
        func rows(_ range: ClosedRange<Int>) -> [HistoryJob] {
            range.map { i in
                var j = HistoryJob(cluster: "crash", jobID: Int64(i), submitTime: 1_600_000_000 + Int64(i), source: "test")
                j.startTime = j.submitTime + 10
                j.endTime = j.submitTime + 70
                j.userID = Int64(i % 7)
                j.partition = "batch"
                j.requestedCPUs = 4
                j.name = "job-\(i)-with-a-longer-name-so-that-pages-fill-up"
                return j
            }
        }
        _ = try store.insert(rows(1 ... committed))
        try store.limitPageCache(pages: 8)  // spill the open transaction's pages to the WAL early
        _ = try store.insert(rows(committed + 1 ... committed + uncommitted)) {
            kill(getpid(), SIGKILL)
        }
        throw ExitCode(6)  // not reached
    }
}
