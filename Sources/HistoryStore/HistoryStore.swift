// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

#if canImport(Glibc)
import Glibc
#endif

/// Why the history store could not be used; always names the database file.
public struct HistoryStoreError: Error, CustomStringConvertible, Sendable, Equatable {
    public var path: String
    public var message: String
    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }
    public var description: String { "\(path): \(message)" }

    init(_ e: SQLiteError) {
        path = e.path
        if e.isCorrupt {
            message = "not a Prewarm history database, or damaged (\(e.operation): \(e.message))"
        } else {
            message = "\(e.operation): \(e.message) (sqlite error \(e.code))"
        }
    }
}

/// Counts over the stored jobs (`prewarm history stats`).
public struct HistoryStatistics: Sendable, Equatable {
    public var jobs = 0
    /// Jobs with a start and an end.
    public var finishedJobs = 0
    public var firstSubmit: Int64?
    public var lastSubmit: Int64?
    public var lastEnd: Int64?
    public var users = 0
    public var partitions = 0
    public var clusters: [String] = []
    /// Rows per source (`slurm`, `sacct`, `swf:<file>`).
    public var sources: [(source: String, jobs: Int)] = []

    public static func == (a: Self, b: Self) -> Bool {
        a.jobs == b.jobs && a.finishedJobs == b.finishedJobs && a.firstSubmit == b.firstSubmit
            && a.lastSubmit == b.lastSubmit && a.lastEnd == b.lastEnd && a.users == b.users
            && a.partitions == b.partitions && a.clusters == b.clusters
            && a.sources.map(\.source) == b.sources.map(\.source) && a.sources.map(\.jobs) == b.sources.map(\.jobs)
    }
}

/// The finished-job history in one SQLite file (WAL mode): written by the daemon's poll and by
/// `prewarm history import`, read by training. A job is stored once (`INSERT OR IGNORE` on
/// `(cluster, job_id, submit_time)`); one batch of inserts is one transaction, so a crash keeps either all of a
/// poll's rows or none of them.
///
/// One instance per thread (the connection is opened without SQLite's mutex); several processes may share the
/// file (WAL; writers wait up to ``busyTimeoutMilliseconds``).
public final class HistoryStore {
    /// The schema this code writes (`PRAGMA user_version`).
    public static let schemaVersion: Int64 = 1
    public static let busyTimeoutMilliseconds = 10_000
    /// The daemon's default location.
    public static let defaultPath = "/var/lib/prewarm/history.db"

    public let path: String
    let db: SQLiteDatabase
    private var insertStatement: SQLiteStatement?

    /// Column order of ``insert(_:now:)`` and ``jobs(newest:)``.
    static let columns = [
        "cluster", "job_id", "submit_time", "array_job_id", "array_task_id", "eligible_time", "start_time", "end_time",
        "utc_offset", "user_id", "user_name", "account", "group_id", "partition", "partition_id", "qos", "queue_id",
        "name", "application_id", "req_cpus", "alloc_cpus", "req_nodes", "req_mem_kb_per_cpu", "time_limit", "state",
        "exit_code", "exit_signal", "annotation", "cpu_time", "max_rss_kb", "source",
    ]

    static let schema = """
        CREATE TABLE jobs (
            cluster TEXT NOT NULL,
            job_id INTEGER NOT NULL,
            submit_time INTEGER NOT NULL,           -- Unix seconds
            array_job_id INTEGER,
            array_task_id INTEGER,
            eligible_time INTEGER,
            start_time INTEGER,                     -- NULL: never started or unknown
            end_time INTEGER,
            utc_offset INTEGER NOT NULL DEFAULT 0,  -- seconds east of UTC at submission (local hour/weekday)
            user_id INTEGER,                        -- uid (Slurm) or user number (workload log)
            user_name TEXT,
            account TEXT,
            group_id INTEGER,                       -- workload log's group number
            partition TEXT,
            partition_id INTEGER,                   -- workload log's partition number
            qos TEXT,
            queue_id INTEGER,                       -- workload log's queue number
            name TEXT,
            application_id INTEGER,                 -- workload log's executable number
            req_cpus INTEGER,
            alloc_cpus INTEGER,
            req_nodes INTEGER,
            req_mem_kb_per_cpu INTEGER,
            time_limit INTEGER,                     -- seconds; NULL: unlimited or unknown
            state TEXT,                             -- COMPLETED, FAILED, CANCELLED, TIMEOUT, …
            exit_code INTEGER,
            exit_signal INTEGER,
            annotation TEXT,                        -- AdminComment (the job_submit plugin's prewarm:v1 …)
            cpu_time INTEGER,                       -- CPU seconds used, where known
            max_rss_kb INTEGER,                     -- peak resident memory, where known
            source TEXT NOT NULL,                   -- slurm, sacct, swf:<file>
            ingested_at INTEGER NOT NULL,
            UNIQUE (cluster, job_id, submit_time)
        );
        CREATE INDEX jobs_by_submit ON jobs (submit_time);
        """

    /// Opens the store, creating the file (and its directory) and the schema when missing.
    ///
    /// - Parameter readOnly: open an existing store for reading only (no file is created).
    /// - Throws: ``HistoryStoreError`` naming the path: cannot open, not a database or damaged, a newer schema.
    public init(path: String, readOnly: Bool = false) throws(HistoryStoreError) {
        self.path = path
        if !readOnly { Self.makeParentDirectory(of: path) }
        do {
            db = try SQLiteDatabase(path: path, readOnly: readOnly, create: !readOnly)
            try db.execute("PRAGMA busy_timeout=\(Self.busyTimeoutMilliseconds)")
            // Reading the schema version is the first access to the file: a foreign or damaged file fails here.
            let version = try db.scalar("PRAGMA user_version").integer ?? 0
            if version > Self.schemaVersion {
                throw HistoryStoreError(
                    path: path,
                    message: "history schema version \(version) is newer than this prewarm's (\(Self.schemaVersion))")
            }
            if !readOnly {
                let mode = try db.scalar("PRAGMA journal_mode=WAL").text ?? ""
                guard mode.lowercased() == "wal" else {
                    throw HistoryStoreError(path: path, message: "cannot switch to WAL journal mode (got '\(mode)')")
                }
                try db.execute("PRAGMA synchronous=NORMAL")
                if version < Self.schemaVersion { try migrate(from: version) }
            } else if version == 0 {
                let tables = try db.scalar("SELECT count(*) FROM sqlite_master WHERE name = 'jobs'").integer ?? 0
                if tables == 0 { throw HistoryStoreError(path: path, message: "no history here (empty database)") }
            }
        } catch let e as SQLiteError {
            throw HistoryStoreError(e)
        } catch let e as HistoryStoreError {
            throw e
        } catch {
            throw HistoryStoreError(path: path, message: "\(error)")
        }
    }

    private func migrate(from version: Int64) throws(SQLiteError) {
        // Version 0 is a new (or foreign, empty-schema) file: create everything in one transaction.
        do {
            try db.transaction { () throws(SQLiteError) in
                if version == 0 {
                    let existing = try db.scalar("SELECT count(*) FROM sqlite_master WHERE name = 'jobs'").integer ?? 0
                    if existing == 0 { try db.execute(Self.schema) }
                }
                try db.execute("PRAGMA user_version=\(Self.schemaVersion)")
            }
        } catch {
            switch error {
            case .database(let e), .body(let e): throw e
            }
        }
    }

    private static func makeParentDirectory(of path: String) {
        var components = path.split(separator: "/", omittingEmptySubsequences: false).dropLast()
        var prefix = ""
        if components.first == "" {
            components.removeFirst()
            prefix = "/"
        }
        var current = prefix
        for c in components where !c.isEmpty {
            current += (current.isEmpty || current.hasSuffix("/") ? "" : "/") + c
            if access(current, F_OK) != 0 { mkdir(current, 0o755) }
        }
    }

    /// The connection's journal mode (`wal` for a writable store).
    public func journalMode() throws(HistoryStoreError) -> String {
        do {
            return try db.scalar("PRAGMA journal_mode").text ?? ""
        } catch {
            throw HistoryStoreError(error)
        }
    }

    /// Bounds SQLite's page cache of this connection to `pages` pages: less memory, and a large transaction
    /// spills its pages to the WAL early.
    public func limitPageCache(pages: Int) throws(HistoryStoreError) {
        do { try db.execute("PRAGMA cache_size=\(max(1, pages))") } catch { throw HistoryStoreError(error) }
    }

    /// Stores `jobs` in one transaction; a job already stored (same cluster, id and submit time) is left as it is.
    /// - Returns: how many rows were new.
    /// - Parameter beforeCommit: called once every row is written, just before the commit (the crash test kills
    ///   the process there).
    @discardableResult
    public func insert(
        _ jobs: [HistoryJob], now: Int64 = Int64(time(nil)), beforeCommit: (() -> Void)? = nil
    ) throws(HistoryStoreError) -> Int {
        guard !jobs.isEmpty else { return 0 }
        do {
            return try db.transaction { () throws(SQLiteError) -> Int in
                let statement: SQLiteStatement
                if let s = insertStatement {
                    statement = s
                } else {
                    let names = Self.columns + ["ingested_at"]
                    statement = try db.prepare(
                        "INSERT OR IGNORE INTO jobs (\(names.joined(separator: ", "))) VALUES ("
                            + Array(repeating: "?", count: names.count).joined(separator: ", ") + ")")
                    insertStatement = statement
                }
                var added = 0
                for j in jobs {
                    try statement.run(Self.values(j) + [.integer(now)])
                    added += db.changes
                }
                beforeCommit?()
                return added
            }
        } catch {
            switch error {
            case .database(let e), .body(let e): throw HistoryStoreError(e)
            }
        }
    }

    static func values(_ j: HistoryJob) -> [SQLiteValue] {
        typealias V = SQLiteValue
        return [
            .text(j.cluster), .integer(j.jobID), .integer(j.submitTime), V(j.arrayJobID), V(j.arrayTaskID),
            V(j.eligibleTime), V(j.startTime), V(j.endTime), .integer(j.utcOffset), V(j.userID), V(j.userName),
            V(j.account), V(j.groupID), V(j.partition), V(j.partitionID), V(j.qos), V(j.queueID), V(j.name),
            V(j.applicationID), V(j.requestedCPUs), V(j.allocatedCPUs), V(j.requestedNodes),
            V(j.requestedMemoryKBPerCPU), V(j.timeLimit), V(j.state), V(j.exitCode), V(j.exitSignal),
            V(j.annotation), V(j.cpuTime), V(j.maxRSSKB), .text(j.source),
        ]
    }

    static func job(_ s: SQLiteStatement) -> HistoryJob {
        var j = HistoryJob(
            cluster: s.text(0) ?? "", jobID: s.integer(1) ?? 0, submitTime: s.integer(2) ?? 0, source: s.text(30) ?? "")
        j.arrayJobID = s.integer(3)
        j.arrayTaskID = s.integer(4)
        j.eligibleTime = s.integer(5)
        j.startTime = s.integer(6)
        j.endTime = s.integer(7)
        j.utcOffset = s.integer(8) ?? 0
        j.userID = s.integer(9)
        j.userName = s.text(10)
        j.account = s.text(11)
        j.groupID = s.integer(12)
        j.partition = s.text(13)
        j.partitionID = s.integer(14)
        j.qos = s.text(15)
        j.queueID = s.integer(16)
        j.name = s.text(17)
        j.applicationID = s.integer(18)
        j.requestedCPUs = s.integer(19)
        j.allocatedCPUs = s.integer(20)
        j.requestedNodes = s.integer(21)
        j.requestedMemoryKBPerCPU = s.integer(22)
        j.timeLimit = s.integer(23)
        j.state = s.text(24)
        j.exitCode = s.integer(25)
        j.exitSignal = s.integer(26)
        j.annotation = s.text(27)
        j.cpuTime = s.integer(28)
        j.maxRSSKB = s.integer(29)
        return j
    }

    /// The stored jobs in submit order (ties in insertion order); with `newest`, only the most recently submitted
    /// that many.
    public func jobs(newest: Int? = nil) throws(HistoryStoreError) -> [HistoryJob] {
        var out: [HistoryJob] = []
        guard let newest else {
            try forEachJob { out.append($0) }
            return out
        }
        let list = Self.columns.joined(separator: ", ")
        do {
            let s = try db.prepare(
                "SELECT \(list) FROM (SELECT rowid AS r, * FROM jobs ORDER BY submit_time DESC, rowid DESC LIMIT ?) "
                    + "ORDER BY submit_time, r")
            try s.bind([.integer(Int64(Swift.max(0, newest)))])
            while try s.step() { out.append(Self.job(s)) }
            return out
        } catch {
            throw HistoryStoreError(error)
        }
    }

    /// Hands the stored jobs of `cluster` (all clusters when nil) to `body` one at a time, in submit order (ties in
    /// insertion order), without holding them all: a long history's rows take several times the memory of what a
    /// simulation keeps of them.
    public func forEachJob(cluster: String? = nil, _ body: (HistoryJob) -> Void) throws(HistoryStoreError) {
        let list = Self.columns.joined(separator: ", ")
        let filter = cluster == nil ? "" : " WHERE cluster = ?"
        do {
            let s = try db.prepare("SELECT \(list) FROM jobs\(filter) ORDER BY submit_time, rowid")
            try s.bind(cluster.map { [.text($0)] } ?? [])
            while try s.step() { body(Self.job(s)) }
        } catch {
            throw HistoryStoreError(error)
        }
    }

    /// The names of the clusters the store holds jobs of, sorted.
    public func clusters() throws(HistoryStoreError) -> [String] {
        do {
            let s = try db.prepare("SELECT DISTINCT cluster FROM jobs ORDER BY cluster")
            var out: [String] = []
            while try s.step() { out.append(s.text(0) ?? "") }
            return out
        } catch {
            throw HistoryStoreError(error)
        }
    }

    /// Jobs removed per ``removeJobs(submittedBefore:limit:)`` call by prewarmd and `prewarm history prune`: a few
    /// tens of milliseconds, the longest a writer beside them waits.
    public static let removalBatch = 20_000

    /// Removes at most `limit` jobs submitted before `cutoff` (Unix seconds), oldest first, in one transaction of its
    /// own (prewarmd's `HistoryRetention`, `prewarm history prune`); a caller with more to remove calls again, so
    /// that no single call holds the database for long.
    /// - Returns: how many were removed (0: none was that old).
    public func removeJobs(submittedBefore cutoff: Int64, limit: Int) throws(HistoryStoreError) -> Int {
        guard limit > 0 else { return 0 }
        do {
            let s = try db.prepare(
                """
                DELETE FROM jobs WHERE rowid IN
                    (SELECT rowid FROM jobs WHERE submit_time < ?1 ORDER BY submit_time LIMIT ?2)
                """)
            try s.run([.integer(cutoff), .integer(Int64(limit))])
            return db.changes
        } catch {
            throw HistoryStoreError(error)
        }
    }

    /// Number of stored jobs.
    public func count() throws(HistoryStoreError) -> Int {
        do {
            return Int(try db.scalar("SELECT count(*) FROM jobs").integer ?? 0)
        } catch {
            throw HistoryStoreError(error)
        }
    }

    public func statistics() throws(HistoryStoreError) -> HistoryStatistics {
        var st = HistoryStatistics()
        do {
            let s = try db.prepare(
                """
                SELECT count(*), sum(start_time IS NOT NULL AND end_time IS NOT NULL), min(submit_time),
                       max(submit_time), max(end_time),
                       count(DISTINCT coalesce(user_name, CAST(user_id AS TEXT))),
                       count(DISTINCT coalesce(partition, CAST(partition_id AS TEXT)))
                FROM jobs
                """)
            if try s.step() {
                st.jobs = Int(s.integer(0) ?? 0)
                st.finishedJobs = Int(s.integer(1) ?? 0)
                st.firstSubmit = s.integer(2)
                st.lastSubmit = s.integer(3)
                st.lastEnd = s.integer(4)
                st.users = Int(s.integer(5) ?? 0)
                st.partitions = Int(s.integer(6) ?? 0)
            }
            let c = try db.prepare("SELECT DISTINCT cluster FROM jobs ORDER BY cluster")
            while try c.step() { st.clusters.append(c.text(0) ?? "") }
            let src = try db.prepare("SELECT source, count(*) FROM jobs GROUP BY source ORDER BY source")
            while try src.step() { st.sources.append((src.text(0) ?? "", Int(src.integer(1) ?? 0))) }
        } catch {
            throw HistoryStoreError(error)
        }
        return st
    }
}
