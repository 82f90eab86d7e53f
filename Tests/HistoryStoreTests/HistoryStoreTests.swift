// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import Foundation
@testable import HistoryStore
import PrewarmCore
import SlurmKit
import Testing
import Traces

/// A fresh temporary directory, removed by `remove()`.
final class TempDir {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "prewarm-history-test-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// The bundled real slice (first 10,000 jobs of KTH-SP2).
let kthSlice = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Sources/PrewarmCLI/Resources/KTH-SP2-slice.swf.gz").path

func sampleJob(_ id: Int64, submit: Int64 = 1_700_000_000, cluster: String = "c1") -> HistoryJob {
    var j = HistoryJob(cluster: cluster, jobID: id, submitTime: submit, source: "test")
    j.startTime = submit + 10
    j.endTime = submit + 10 + 100 * id
    j.userID = 1000
    j.userName = "alice"
    j.account = "physics"
    j.partition = "batch"
    j.qos = "normal"
    j.name = "job\(id)"
    j.requestedCPUs = 4
    j.allocatedCPUs = 4
    j.requestedNodes = 1
    j.timeLimit = 3600
    j.state = "COMPLETED"
    j.exitCode = 0
    j.exitSignal = 0
    j.annotation = "prewarm:v1 rt=100 model=none exe=lmp"
    j.utcOffset = 3600
    return j
}

@Suite struct HistoryStoreSchemaTests {
    @Test func createsVersionedSchemaInWALMode() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let path = dir.path + "/sub/dir/history.db"  // directories are created
        let store = try HistoryStore(path: path)
        #expect(try store.journalMode() == "wal")
        #expect(try store.db.scalar("PRAGMA user_version").integer == HistoryStore.schemaVersion)
        #expect(try store.db.scalar("PRAGMA synchronous").integer == 1)  // NORMAL
        #expect(try store.db.scalar("PRAGMA busy_timeout").integer == Int64(HistoryStore.busyTimeoutMilliseconds))
        #expect(try store.count() == 0)
        // Reopening (read-only too) keeps the schema.
        let again = try HistoryStore(path: path, readOnly: true)
        #expect(try again.count() == 0)
        #expect(try again.journalMode() == "wal")
    }

    @Test func refusesNewerSchemaCorruptAndMissingFilesNamingThePath() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let newer = dir.path + "/newer.db"
        do {
            let db = try SQLiteDatabase(path: newer)
            try db.execute("PRAGMA user_version=99")
        }
        #expect(throws: HistoryStoreError.self) { try HistoryStore(path: newer) }
        do {
            _ = try HistoryStore(path: newer)
        } catch {
            #expect(error.description == "\(newer): history schema version 99 is newer than this prewarm's (1)")
        }

        let garbage = dir.path + "/garbage.db"
        try Data(repeating: 0x41, count: 4096).write(to: URL(fileURLWithPath: garbage))
        do {
            _ = try HistoryStore(path: garbage)
            Issue.record("a file of junk was opened as a history")
        } catch {
            #expect(error.path == garbage)
            #expect(error.description.hasPrefix("\(garbage): not a Prewarm history database, or damaged"))
        }
        let missing = dir.path + "/missing.db"
        do {
            _ = try HistoryStore(path: missing, readOnly: true)
            Issue.record("a missing file was opened")
        } catch {
            #expect(error.description.hasPrefix("\(missing): open:"))
        }
        #expect(!FileManager.default.fileExists(atPath: missing))  // read-only never creates
    }
}

@Suite struct HistoryStoreInsertTests {
    @Test func storesEachJobOnceAndRoundTripsEveryField() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let store = try HistoryStore(path: dir.path + "/h.db")
        var jobs = (1 ... 3).map { sampleJob($0, submit: 1_700_000_000 + $0) }
        jobs[1].cpuTime = 42
        jobs[1].maxRSSKB = 123_456
        jobs[2].arrayJobID = 7
        jobs[2].arrayTaskID = 2
        jobs[2].eligibleTime = 1_700_000_005
        #expect(try store.insert(jobs, now: 1) == 3)
        #expect(try store.insert(jobs, now: 2) == 0)  // the same poll again
        #expect(try store.jobs() == jobs)
        // Same id, later submit (ids wrap): a different job. Same id and submit on another cluster: different too.
        var wrapped = sampleJob(1, submit: 1_800_000_000)
        wrapped.name = "after the id reset"
        #expect(try store.insert([wrapped, sampleJob(1, submit: 1_700_000_001, cluster: "c2")], now: 3) == 2)
        // A re-seen job with other values is not stored twice, and the first row is kept.
        var changed = jobs[0]
        changed.name = "changed"
        #expect(try store.insert([changed], now: 4) == 0)
        #expect(try store.jobs().first?.name == "job1")
        #expect(try store.count() == 5)
        // Newest-first cap, returned in submit order.
        #expect(try store.jobs(newest: 2).map(\.submitTime) == [1_700_000_003, 1_800_000_000])
        let st = try store.statistics()
        #expect(st.jobs == 5)
        #expect(st.users == 1)
        #expect(st.partitions == 1)
        #expect(st.clusters == ["c1", "c2"])
        #expect(st.firstSubmit == 1_700_000_001)
        // Row by row, in submit order, all clusters or one: the same jobs as the whole list.
        var streamed: [HistoryJob] = []
        try store.forEachJob { streamed.append($0) }
        let all = try store.jobs()
        #expect(streamed == all && streamed.count == 5)
        var c2: [HistoryJob] = []
        try store.forEachJob(cluster: "c2") { c2.append($0) }
        #expect(c2.map(\.cluster) == ["c2"] && c2 == all.filter { $0.cluster == "c2" })
        var none = 0
        try store.forEachJob(cluster: "c3") { _ in none += 1 }
        #expect(none == 0)
        #expect(try store.clusters() == ["c1", "c2"])
    }

    @Test func jobRecordMapsNamesAsThePluginDoes() {
        var j = sampleJob(5, submit: 1_700_000_000)  // 2023-11-14 22:13:20 UTC, a Tuesday; +1 h local
        var request = SubmitRequest()
        request.uid = 1000
        request.account = "physics"
        request.partition = "batch"
        request.qos = "normal"
        request.name = "job5"
        request.tasks = 4
        request.timeLimitMinutes = 60
        request.submitTime = j.submitTime
        request.hourOfDay = 23
        request.dayOfWeek = 2
        let plugin = SubmitProfiler.record(for: request, script: nil)
        let r = j.jobRecord
        #expect(r.user == plugin.user)
        #expect(r.group == plugin.group)
        #expect(r.queue == plugin.queue)
        #expect(r.partition == plugin.partition)
        #expect(r.requestedTime == plugin.requestedTime)
        #expect(r.hourOfDay == 23)
        #expect(r.dayOfWeek == 2)
        #expect(r.application == BatchScriptAnalysis.stableID("lmp"))  // exe= from the annotation
        #expect(r.wait == 10)
        #expect(r.runtime == 500)
        #expect(r.status == 1)
        j.annotation = nil
        #expect(j.jobRecord.application == plugin.application)  // else the job name, as the plugin does
        j.startTime = nil
        #expect(j.jobRecord.wait == -1)
        #expect(j.jobRecord.runtime == -1)
    }

    /// Importing a workload log and reading it back gives exactly the records `prewarm train --trace` uses, so
    /// `train --db` on an imported log trains the same model.
    @Test func bundledTraceSliceRoundTripsThroughTheStore() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let loaded = try TraceFile.readJobs(path: kthSlice)
        let clock = LocalClock(timeZoneString: loaded.header.timeZoneString, fallbackOffset: loaded.header.timeZone)
        let rows = loaded.jobs.map {
            HistoryJob($0, cluster: "kth", utcOffset: Int64(clock.utcOffset(at: $0.submit)), source: "swf:kth")
        }
        let store = try HistoryStore(path: dir.path + "/h.db")
        #expect(try store.insert(rows) == 10_000)
        #expect(try store.insert(rows) == 0)
        let back = try store.jobs()
        #expect(back.count == 10_000)
        #expect(back.map(\.jobRecord) == loaded.jobs)
        let st = try store.statistics()
        #expect(st.finishedJobs == 10_000)
        #expect(st.users == 116)
    }
}


@Suite struct HistoryRetentionTests {
    /// `removeJobs(submittedBefore:limit:)`: only jobs submitted strictly before the cutoff go, oldest first, at most
    /// `limit` a call; a read-only store refuses.
    @Test func removesOnlyJobsSubmittedBeforeTheCutoffOldestFirst() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let store = try HistoryStore(path: dir.path + "/history.db")
        // 30 jobs submitted an hour apart, inserted out of order (the oldest are not the first rows).
        let base: Int64 = 1_700_000_000
        _ = try store.insert((0 ..< 30).reversed().map { sampleJob(Int64($0), submit: base + Int64($0) * 3600) })
        let cutoff = base + 20 * 3600  // jobs 0…19 are older; job 20 was submitted exactly at the cutoff
        #expect(try store.removeJobs(submittedBefore: cutoff, limit: 8) == 8)
        var left = try store.jobs().map(\.jobID).sorted()
        #expect(left == Array(8 ..< 30))  // the 8 oldest
        #expect(try store.removeJobs(submittedBefore: cutoff, limit: 100) == 12)
        #expect(try store.removeJobs(submittedBefore: cutoff, limit: 100) == 0)
        left = try store.jobs().map(\.jobID).sorted()
        #expect(left == Array(20 ..< 30))
        #expect(try store.removeJobs(submittedBefore: cutoff, limit: 0) == 0)
        // A removed job can be stored again (an import of an old range), and is then removed again.
        #expect(try store.insert([sampleJob(3, submit: base + 3 * 3600)]) == 1)
        #expect(try store.removeJobs(submittedBefore: cutoff, limit: 100) == 1)
        let readOnly = try HistoryStore(path: dir.path + "/history.db", readOnly: true)
        #expect(throws: HistoryStoreError.self) { try readOnly.removeJobs(submittedBefore: base + 10 * 86_400, limit: 5) }
        #expect(try store.count() == 10)
    }
}
