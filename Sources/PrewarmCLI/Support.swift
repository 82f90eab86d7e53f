// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import Foundation
import HistoryStore
import PrewarmCore
import SlurmKit
import Traces

/// Helpers shared by the subcommands (the CLI edge may use Foundation; the libraries do not).
enum CLISupport {
    /// `--trees` of `prewarm train` and `prewarm retrain`: the tree counts the job_submit plugin loads.
    static func checkModelTrees(_ trees: Int) throws {
        let range = ForestParameters.modelTreeCounts
        guard range.contains(trees) else {
            throw ValidationError("--trees must be from \(range.lowerBound) to \(range.upperBound)")
        }
    }

    /// The real trace slice bundled with the tool (first 10,000 jobs of KTH-SP2, see README).
    static func bundledTrace() throws -> String {
        // SwiftPM puts the resources in `prewarm_PrewarmCLI.resources` next to the executable (also in the Debian
        // package, under a symlink). Looked up by hand: `Bundle.module` ends the process when the folder is missing.
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        let candidate = executable.deletingLastPathComponent()
            .appendingPathComponent("prewarm_PrewarmCLI.resources/KTH-SP2-slice.swf.gz").path
        if FileManager.default.isReadableFile(atPath: candidate) { return candidate }
        throw CLIError("the bundled trace KTH-SP2-slice.swf.gz is missing from the installation; pass --trace FILE")
    }

    /// Reads a workload log. A malformed file is reported on stderr as `prewarm: file:line: field …` and ends
    /// the command with exit code 2; in lenient mode skipped lines are counted and the first one shown.
    static func loadTrace(_ path: String, lenient: Bool) throws -> (header: SWFHeader, jobs: [JobRecord]) {
        do {
            let loaded = try TraceFile.readJobs(path: path, lenient: lenient)
            if loaded.skippedLines > 0 {
                let first = loaded.skippedExamples.first.map { "\($0)" } ?? ""
                note("prewarm: skipped \(loaded.skippedLines) malformed line(s) in \(path); first: \(first)")
            }
            return (loaded.header, loaded.jobs)
        } catch {
            note("prewarm: \(error)")
            throw ExitCode(2)
        }
    }

    /// Monotonic seconds.
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Peak resident memory of this process so far, in MB.
    static func peakRSSMegabytes() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
    }

    /// Writes `bytes` to `path` through a temporary file and a rename; on failure says why and exits 1.
    static func writeOutput(_ bytes: [UInt8], to path: String) throws {
        do {
            try AtomicFile.write(bytes, to: path)
        } catch {
            note("prewarm: \(error)")
            throw ExitCode(1)
        }
    }

    /// Writes a line to standard error.
    static func note(_ s: String) {
        FileHandle.standardError.write(Data((s + "\n").utf8))
    }

    /// libslurm, for a command that asks the running controller. libslurm ends the process when it finds no
    /// slurm.conf, so that is checked first and said plainly.
    static func slurmClient() throws -> LibSlurmClient {
        switch LibSlurmClient.open(environment: ProcessInfo.processInfo.environment) {
        case .success(let client): return client
        case .failure(let why):
            note("prewarm: \(why)")
            throw ExitCode(1)
        }
    }
}

/// A user-facing error printed as `prewarm: <message>`.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

/// Progress on standard error: an updating line on a terminal, a line every 10 % otherwise,
/// and nothing for runs that finish within `quietSeconds`.
final class Progress {
    private let label: String
    private let tty = isatty(2) != 0
    private let started = CLISupport.now()
    private let quietSeconds: Double
    private var lastDecile = -1
    private var shown = false

    init(_ label: String, quietSeconds: Double = 2) {
        self.label = label
        self.quietSeconds = quietSeconds
    }

    func update(_ fraction: Double) {
        let elapsed = CLISupport.now() - started
        guard elapsed >= quietSeconds || shown else { return }
        let pct = Int((fraction * 100).rounded(.down))
        if tty {
            let eta = fraction > 0.01 ? elapsed / fraction - elapsed : 0
            FileHandle.standardError.write(
                Data(String(format: "\r%@: %3d%%  %.0fs elapsed, ~%.0fs left ", label, pct, elapsed, eta).utf8))
            shown = true
        } else if pct / 10 > lastDecile {
            lastDecile = pct / 10
            CLISupport.note(String(format: "%@: %d%% (%.0fs)", label, pct, elapsed))
            shown = true
        }
    }

    func finish() {
        if shown && tty { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

/// A plain-text table for the terminal: every column as wide as its widest cell (a long policy name no longer
/// pushes the row's numbers out of their columns), two spaces between columns, the first column (names)
/// left-aligned and the others (numbers) right-aligned.
struct TextTable {
    private var rows: [[String]]

    init(header: [String]) { rows = [header] }

    mutating func add(_ cells: [String]) { rows.append(cells) }

    /// The rows as lines, each ending in a newline; a row shorter than the header leaves its last cells empty.
    var text: String {
        let columns = rows.map(\.count).max() ?? 0
        var widths = [Int](repeating: 0, count: columns)
        for row in rows {
            for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) }
        }
        var out = ""
        for row in rows {
            var line = ""
            for i in 0 ..< columns {
                let cell = i < row.count ? row[i] : ""
                let fill = String(repeating: " ", count: widths[i] - cell.count)
                if i == 0 {
                    line += cell + fill
                } else {
                    line += "  " + fill + cell
                }
            }
            while line.last == " " { line.removeLast() }
            out += line + "\n"
        }
        return out
    }
}

/// `--db`, `--partition`, `--cluster`: the history store's finished jobs in place of a workload log (`simulate`,
/// `evaluate`).
struct HistorySelection: ParsableArguments {
    @Option(help: """
        Your own cluster's finished jobs instead of a workload log: the history store (SQLite) that \
        `prewarm history import --sacct` fills from Slurm accounting, or prewarmd's HistoryDatabase.
        """)
    var db: String?
    @Option(help: "With --db: only the jobs of these Slurm partitions (comma-separated names).")
    var partition: String?
    @Option(help: "With --db: the cluster name, when the history holds more than one.")
    var cluster: String?

    func validate() throws {
        guard db != nil || (partition == nil && cluster == nil) else {
            throw ValidationError("--partition and --cluster select jobs of the history store: give --db")
        }
    }

    /// The name the results carry: the store's path, with the partitions if chosen.
    var label: String? { db.map { db in partition.map { "\(db) (partition \($0))" } ?? db } }

    /// The chosen finished jobs in submit order, of one cluster (the only one stored, or `--cluster`), of the
    /// `--partition`s if given, numbered 1… in that order (Slurm's job ids wrap and restart; a history may hold one
    /// id twice); nil without `--db`. Jobs that never started are kept: the simulator counts them as skipped.
    func jobs() throws -> [JobRecord]? { try selected()?.records }

    /// The chosen jobs (see ``jobs()``) with the partitions each names. The store's rows are read one at a time
    /// and only what the simulator and the evaluation use is kept (a stored row takes several times the memory).
    func selected() throws -> SelectedJobs? {
        guard let db else { return nil }
        var wanted: Set<String>?
        if let partition {
            let names = partition.split(separator: ",", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces) }
            guard !names.contains(where: \.isEmpty) else {
                throw ValidationError("--partition: comma-separated partition names, got '\(partition)'")
            }
            wanted = Set(names)
        }
        var selected = SelectedJobs()
        do {
            let store = try HistoryStore(path: db, readOnly: true)
            let clusters = try store.clusters()
            let chosen: String
            if let cluster {
                guard clusters.contains(cluster) else {
                    throw ValidationError(
                        "--cluster \(cluster): \(db) holds no job of it (clusters: \(clusters.joined(separator: ", ")))")
                }
                chosen = cluster
            } else if clusters.count > 1 {
                throw ValidationError(
                    "\(db) holds jobs of \(clusters.count) clusters (\(clusters.joined(separator: ", "))): choose one with --cluster")
            } else {
                chosen = clusters.first ?? ""
            }
            var listIndex: [String: Int32] = [:]
            try store.forEachJob(cluster: chosen) { h in
                let text = h.partition ?? ""
                let list: Int32
                if let known = listIndex[text] {
                    list = known
                } else {
                    list = Int32(selected.partitionLists.count)
                    listIndex[text] = list
                    // A job submitted to several partitions is stored with the list Slurm shows ("a,b").
                    selected.partitionLists.append(text.split(separator: ",").map(String.init))
                }
                if let wanted, !selected.partitionLists[Int(list)].contains(where: wanted.contains) { return }
                var r = h.jobRecord
                r.id = Int64(selected.records.count + 1)
                selected.records.append(r)
                selected.partitionList.append(list)
            }
        } catch let error as HistoryStoreError {
            CLISupport.note("prewarm: \(error)")
            throw ExitCode(2)
        }
        guard !selected.records.isEmpty else {
            throw ValidationError("\(db) holds no job\(partition.map { " of partition(s) \($0)" } ?? "")")
        }
        return selected
    }
}

/// Jobs chosen from the history store (``HistorySelection/selected()``): their records, numbered 1… in submit
/// order, and per job the partitions it names (the one it ran in, or the list it was submitted to) as an index
/// into ``partitionLists``.
struct SelectedJobs {
    var records: [JobRecord] = []
    var partitionList: [Int32] = []
    var partitionLists: [[String]] = []

    /// The partitions job `i` names.
    func partitions(_ i: Int) -> [String] { partitionLists[Int(partitionList[i])] }
}
