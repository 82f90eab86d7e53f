// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import Foundation
@testable import HistoryStore
import PrewarmCore
import SlurmKit
import Testing

/// sacct --parsable2 --noheader output in the field order of `SacctParser.fields` (captured format; Unix-second
/// stamps as with SLURM_TIME_FORMAT=%s, and ISO stamps as sacct prints them by default).
let sacctSample = """
    101|101|dev|alice|1000|physics|batch|normal|1700000000|1700000000|1700000060|1700003660|01:00:00|4|4|1|4000M|COMPLETED|0:0|03:59:10|4000K|sim|prewarm:v1 rt=3500 model=abc exe=lmp
    101.batch|101.batch|dev||||||1700000060|1700000060|1700000060|1700003660||4|4|1||COMPLETED|0:0|00:10.500|52100K|batch|
    101.0|101.0|dev||||||1700000061|1700000061|1700000061|1700003650||4|4|1||COMPLETED|0:0|03:49:00|1.5G|lmp|
    102|102|dev|bob|1001|chem|batch|long|2023-11-14T22:13:20|2023-11-14T22:13:20|Unknown|2023-11-14T22:20:00|1-02:03:04|16|0|2|2Gc|CANCELLED by 1001|0:0|00:00:00||wait|
    103|103|dev|bob|1001|chem|batch|long|1700000100|1700000100|1700000200|Unknown|UNLIMITED|1|1|1|1G|RUNNING|0:0|00:00:00||still going|
    107|104_3|dev|carol|1002|bio|gpu|normal|1700000300|1700000300|1700000400|1700000900|30:00|2|2|1|0|FAILED|1:0|10:00||arr|note | with a bar
    """

/// Real output of sacct 22.05.8 (Debian 12) from the dev cluster with PREWARM_DEV_ACCOUNTING=1 (scripts/accounting-test's
/// jobs, captured with SacctRunner's argv and SLURM_TIME_FORMAT=%s; the 0x1F delimiter shown as `|`). Jobs: 1 root,
/// 2 nobody (--mem=100), 3 two nodes (-N 2 -n 4, `srun sleep`), 4 `exit 3`, 5 hits its 1-minute limit, 7 cancelled
/// while running, 8 cancelled while held, 6_1 and 6_3 of an array (raw ids 9 and 6), 11 without -t (partition
/// INFINITE, shown as a year: power saving is on), 12 --mem-per-cpu=200 -n 2 -t 1-0, 13 requeued (its first run's
/// record and step, then its pending record as sacct without --state shows it).
let sacctReal2205 = """
    1|1|prewarmdev|root|0|root|debug|normal|1796141346|1796141346|1796141348|1796141350|00:02:00|1|1|1|1000M|COMPLETED|0:0|00:00.002||wrap|prewarm:v1 model=none launch=none mods=0 gpu=0
    1.batch|1.batch|prewarmdev|||root|||1796141348|1796141348|1796141348|1796141350||1|1|1||COMPLETED|0:0|00:00.002||batch|
    2|2|prewarmdev|nobody|65534||debug|normal|1796141346|1796141346|1796141348|1796141349|00:03:00|1|1|1|100M|COMPLETED|0:0|00:00.002||wrap|prewarm:v1 model=none launch=none mods=0 gpu=0
    3|3|prewarmdev|root|0|root|debug|normal|1796141346|1796141346|1796141370|1796141372|00:05:00|4|4|2|2000M|COMPLETED|0:0|00:00.017||wrap|prewarm:v1 model=none launch=srun mods=0 gpu=0
    3.batch|3.batch|prewarmdev|||root|||1796141370|1796141370|1796141370|1796141372||2|2|1||COMPLETED|0:0|00:00.010||batch|
    3.0|3.0|prewarmdev|||root|||1796141370|1796141370|1796141370|1796141372||4|4|2||COMPLETED|0:0|00:00.006|1644K|sleep|
    4|4|prewarmdev|root|0|root|debug|normal|1796141346|1796141346|1796141370|1796141370|00:02:00|1|1|1|1000M|FAILED|3:0|00:00.001||wrap|prewarm:v1 model=none launch=none mods=0 gpu=0
    5|5|prewarmdev|root|0|root|debug|normal|1796141346|1796141346|1796141370|1796141430|00:01:00|1|1|1|1000M|TIMEOUT|0:0|00:00.001||wrap|prewarm:v1 model=none launch=none mods=0 gpu=0
    5.batch|5.batch|prewarmdev|||root|||1796141370|1796141370|1796141370|1796141430||1|1|1||CANCELLED|0:15|00:00.001|3180K|batch|
    7|7|prewarmdev|root|0|root|debug|normal|1796141346|1796141346|1796141348|1796141351|00:10:00|1|1|1|1000M|CANCELLED by 0|0:0|00:00:00||wrap|prewarm:v1 model=none launch=none mods=0 gpu=0
    8|8|prewarmdev|root|0|root|debug|normal|1796141346|Unknown|None|1796141351|00:10:00|1|1|1|1000M|CANCELLED by 0|0:0|00:00:00||wrap|prewarm:v1 model=none launch=none mods=0 gpu=0
    9|6_1|prewarmdev|root|0|root|debug|normal|1796141346|1796141348|1796141370|1796141370|00:02:00|1|1|1|1000M|COMPLETED|0:0|00:00.001||wrap|prewarm:v1 model=none launch=none mods=0 gpu=0
    6|6_3|prewarmdev|root|0|root|debug|normal|1796141346|1796141348|1796141370|1796141370|00:02:00|1|1|1|1000M|COMPLETED|0:0|00:00.001||wrap|prewarm:v1 model=none launch=none mods=0 gpu=0
    11|11|prewarmdev|root|0|root|debug|normal|1796141452|1796141452|1796141452|1796141453|365-00:00:00|1|1|1|1000M|COMPLETED|0:0|00:00.002||wrap|prewarm:v1 model=none launch=none mods=0 gpu=0
    12|12|prewarmdev|root|0|root|debug|normal|1796141452|1796141452|1796141452|1796141453|1-00:00:00|2|2|1|400M|COMPLETED|0:0|00:00.002||wrap|prewarm:v1 model=none launch=none mods=0 gpu=0
    13|13|prewarmdev|root|0|root|debug|normal|1796141452|1796141452|1796141452|1796141455|00:05:00|1|1|1|1000M|REQUEUED|0:0|00:00.002||wrap|prewarm:v1 model=none launch=none mods=0 gpu=0
    13.batch|13.batch|prewarmdev|||root|||1796141452|1796141452|1796141452|1796141455||1|1|1||CANCELLED|0:15|00:00.002||batch|
    13|13|prewarmdev|root|0|root|debug|normal|1796141455|1796141576|Unknown|Unknown|00:05:00|1|1|1|1000M|PENDING|0:0|00:00:00||wrap|
    """

func utc(_ wall: Int64) -> Int64 { wall }

@Suite struct SacctParserTests {
    @Test func parsesJobsStepsStatesAndTimeFormats() throws {
        let r = try SacctParser.parse(sacctSample, cluster: "fallback", localToUTC: utc, utcOffset: { _ in 3600 })
        #expect(r.unfinished == 1)  // 103 RUNNING
        #expect(r.errors.isEmpty)
        #expect(r.jobs.map(\.jobID) == [101, 102, 107])
        let a = r.jobs[0]
        #expect(a.cluster == "dev")
        #expect(a.submitTime == 1_700_000_000)
        #expect(a.startTime == 1_700_000_060)
        #expect(a.endTime == 1_700_003_660)
        #expect(a.timeLimit == 3600)
        #expect(a.userName == "alice")
        #expect(a.userID == 1000)
        #expect(a.requestedMemoryKBPerCPU == 1_024_000)  // the job's 4000M over its 4 CPUs
        #expect(a.cpuTime == 14_350)  // 03:59:10
        #expect(a.maxRSSKB == 1_572_864)  // the steps' peak: 1.5G
        #expect(a.annotation == "prewarm:v1 rt=3500 model=abc exe=lmp")
        #expect(a.utcOffset == 3600)
        #expect(a.source == "sacct")
        let b = r.jobs[1]
        #expect(b.submitTime == 1_700_000_000)  // 2023-11-14T22:13:20 on a UTC clock
        #expect(b.startTime == nil)  // Unknown: never started
        #expect(b.state == "CANCELLED")
        #expect(b.timeLimit == 93_784)  // 1-02:03:04
        #expect(b.allocatedCPUs == nil)
        #expect(b.requestedMemoryKBPerCPU == 2_097_152)  // 2G per CPU
        let c = r.jobs[2]
        #expect(c.arrayJobID == 104)
        #expect(c.arrayTaskID == 3)
        #expect(c.timeLimit == 1800)
        #expect(c.exitCode == 1)
        #expect(c.cpuTime == 600)
        #expect(c.annotation == "note | with a bar")  // the delimiter inside the last field
        #expect(c.jobRecord.status == 0)
    }

    @Test func realSacct2205Output() throws {
        let r = try SacctParser.parse(sacctReal2205, cluster: "fallback", localToUTC: utc, utcOffset: { _ in 0 })
        #expect(r.errors.isEmpty)
        #expect(r.unfinished == 2)  // 13 REQUEUED (its first run) and 13 PENDING
        // Steps (1.batch, 3.0, 6_3.batch, …) are not jobs; array tasks keep their raw ids.
        #expect(r.jobs.map(\.jobID) == [1, 2, 3, 4, 5, 7, 8, 9, 6, 11, 12])
        func job(_ id: Int64) -> HistoryJob { r.jobs.first { $0.jobID == id }! }
        let a = job(1)
        #expect(a.cluster == "prewarmdev")
        #expect(a.submitTime == 1_796_141_346)
        #expect(a.eligibleTime == 1_796_141_346)
        #expect(a.startTime == 1_796_141_348)
        #expect(a.endTime == 1_796_141_350)
        #expect(a.timeLimit == 120)
        #expect(a.requestedCPUs == 1)
        #expect(a.allocatedCPUs == 1)
        #expect(a.requestedNodes == 1)
        #expect(a.userName == "root")
        #expect(a.userID == 0)
        #expect(a.account == "root")
        #expect(a.partition == "debug")
        #expect(a.qos == "normal")
        #expect(a.name == "wrap")
        #expect(a.state == "COMPLETED")
        #expect(a.exitCode == 0 && a.exitSignal == 0)
        #expect(a.cpuTime == 0)  // 00:00.002
        #expect(a.maxRSSKB == nil)  // no sample: the job was shorter than the gather interval
        #expect(a.requestedMemoryKBPerCPU == 1_024_000)  // 1000M, the node's RealMemory (no --mem)
        #expect(a.annotation == "prewarm:v1 model=none launch=none mods=0 gpu=0")
        #expect(a.arrayJobID == nil)
        let nobody = job(2)
        #expect(nobody.userName == "nobody")
        #expect(nobody.userID == 65534)
        #expect(nobody.account == nil)  // no association
        #expect(nobody.requestedMemoryKBPerCPU == 102_400)  // --mem=100
        let twoNodes = job(3)
        #expect(twoNodes.requestedCPUs == 4)
        #expect(twoNodes.allocatedCPUs == 4)
        #expect(twoNodes.requestedNodes == 2)
        #expect(twoNodes.timeLimit == 300)
        #expect(twoNodes.requestedMemoryKBPerCPU == 512_000)  // 2000M for the job (1000M per node) over 4 CPUs
        #expect(twoNodes.maxRSSKB == 1644)  // step 3.0
        #expect(twoNodes.annotation == "prewarm:v1 model=none launch=srun mods=0 gpu=0")
        let failed = job(4)
        #expect(failed.state == "FAILED")
        #expect(failed.exitCode == 3)
        let timeout = job(5)
        #expect(timeout.state == "TIMEOUT")
        #expect(timeout.timeLimit == 60)
        #expect(timeout.endTime! - timeout.startTime! == 60)
        #expect(timeout.maxRSSKB == 3180)  // from 5.batch, CANCELLED 0:15
        // The job line says 0:0 (recorded at the time limit, before the script died); slurmctld and 5.batch say 0:15.
        #expect(timeout.exitCode == 0 && timeout.exitSignal == 15)
        #expect(job(7).exitSignal == 0)  // cancelled while running: 0:0 in sacct and in slurmctld, no batch line here
        #expect(job(7).state == "CANCELLED")  // "CANCELLED by 0"
        let held = job(8)
        #expect(held.state == "CANCELLED")
        #expect(held.eligibleTime == nil)  // Unknown
        #expect(held.startTime == nil)  // None
        #expect(held.endTime == 1_796_141_351)
        #expect(held.allocatedCPUs == nil)  // sacct says 1; it never had any
        // Another run: held and cancelled in the second it was submitted. sacct shows Start = End = that second.
        let sameSecond = "57|57|prewarmdev|root|0|root|debug|normal|1796141996|Unknown|1796141996|1796141996|00:10:00"
            + "|1|1|1|1000M|CANCELLED by 0|0:0|00:00:00||held|prewarm:v1 model=none launch=none mods=0 gpu=0"
        let quick = try SacctParser.parse(sameSecond, cluster: "c", localToUTC: utc, utcOffset: { _ in 0 }).jobs
        #expect(quick.count == 1 && quick[0].startTime == nil && quick[0].allocatedCPUs == nil)
        #expect(quick[0].endTime == 1_796_141_996)
        #expect(job(9).arrayJobID == 6 && job(9).arrayTaskID == 1)
        #expect(job(6).arrayJobID == 6 && job(6).arrayTaskID == 3)
        #expect(job(11).timeLimit == 31_536_000)  // 365-00:00:00
        #expect(job(12).timeLimit == 86_400)
        #expect(job(12).requestedMemoryKBPerCPU == 204_800)  // 400M for the job over 2 CPUs
    }

    @Test func stepsBelongToTheRunBeforeThem() throws {
        // Job 13 of the real output, requeued: its first run (REQUEUED, 13.batch CANCELLED 0:15), then a second run
        // that completed (made from the first run's lines: the capture ended before it ran). The first run's step
        // must not give the completed run its 0:15 or its memory.
        let lines = sacctReal2205.split(separator: "\n").map(String.init)
        let firstRun = lines.filter { $0.hasPrefix("13|") || $0.hasPrefix("13.batch|") }.prefix(2)
        #expect(firstRun.count == 2)
        let secondRun = "13|13|prewarmdev|root|0|root|debug|normal|1796141455|1796141576|1796141576|1796141580"
            + "|00:05:00|1|1|1|1000M|COMPLETED|0:0|00:00.002||wrap|prewarm:v1 model=none launch=none mods=0 gpu=0"
        let secondBatch = "13.batch|13.batch|prewarmdev|||root|||1796141576|1796141576|1796141576|1796141580"
            + "||1|1|1||COMPLETED|0:0|00:00.002|2000K|batch|"
        let r = try SacctParser.parse(
            (firstRun + [secondRun, secondBatch]).joined(separator: "\n"), cluster: "c", localToUTC: utc,
            utcOffset: { _ in 0 })
        #expect(r.unfinished == 1)
        #expect(r.jobs.count == 1)
        #expect(r.jobs.first?.submitTime == 1_796_141_455)
        #expect(r.jobs.first?.exitSignal == 0)
        #expect(r.jobs.first?.maxRSSKB == 2000)
    }

    @Test func realSacctDefaultTimeFormat() throws {
        // The same job 1 as sacct prints it without SLURM_TIME_FORMAT (local time; the dev machine runs in UTC).
        let iso = "1|1|prewarmdev|root|0|root|debug|normal|2026-12-01T16:09:06|2026-12-01T16:09:06|2026-12-01T16:09:08"
            + "|2026-12-01T16:09:10|00:02:00|1|1|1|1000M|COMPLETED|0:0|00:00.002||wrap|"
            + "prewarm:v1 model=none launch=none mods=0 gpu=0"
        let unix = String(sacctReal2205.split(separator: "\n")[0])
        let a = try SacctParser.parse(iso, cluster: "c", localToUTC: utc, utcOffset: { _ in 0 }).jobs
        let b = try SacctParser.parse(unix, cluster: "c", localToUTC: utc, utcOffset: { _ in 0 }).jobs
        #expect(a.count == 1 && a == b)
    }

    @Test func requestedMemoryForms() throws {
        #expect(try SacctParser.parseRequestedMemory("2000M")! == (2_048_000, .job))
        #expect(try SacctParser.parseRequestedMemory("2G")! == (2_097_152, .job))
        #expect(try SacctParser.parseRequestedMemory("4000Mn")! == (4_096_000, .node))
        #expect(try SacctParser.parseRequestedMemory("2Gc")! == (2_097_152, .cpu))
        #expect(try SacctParser.parseRequestedMemory("0") == nil)
        #expect(try SacctParser.parseRequestedMemory("") == nil)
        #expect(throws: SacctParser.FieldProblem.self) { try SacctParser.parseRequestedMemory("lots") }
    }

    @Test func durationsAndMemorySizes() throws {
        #expect(try SacctParser.parseDuration("1-02:03:04") == 93_784)
        #expect(try SacctParser.parseDuration("02:03:04") == 7384)
        #expect(try SacctParser.parseDuration("03:04") == 184)
        #expect(try SacctParser.parseDuration("00:01.234") == 1)
        #expect(try SacctParser.parseDuration("2-00") == 172_800)
        #expect(throws: SacctParser.FieldProblem.self) { try SacctParser.parseDuration("soon") }
        #expect(throws: SacctParser.FieldProblem.self) { try SacctParser.parseDuration("1:2:3:4") }
        #expect(try SacctParser.parseMemoryKB("") == nil)
        #expect(try SacctParser.parseMemoryKB("2048") == 2)
        #expect(try SacctParser.parseMemoryKB("12M") == 12_288)
        #expect(throws: SacctParser.FieldProblem.self) { try SacctParser.parseMemoryKB("12Q") }
    }

    @Test func badLinesNameLineAndField() throws {
        func error(_ text: String) -> SacctError? {
            do {
                _ = try SacctParser.parse(text, cluster: "c", localToUTC: utc, utcOffset: { _ in 0 })
                return nil
            } catch {
                return error
            }
        }
        let good = sacctSample.split(separator: "\n")[0]
        #expect(error("\(good)\nonly|three|fields")?.description
            == "sacct output:2: expected 23 fields separated by '|', found 3")
        let badSubmit = good.replacingOccurrences(of: "|1700000000|1700000000|", with: "|yesterday|1700000000|")
        #expect(error("\n\(badSubmit)")?.description
            == "sacct output:2: Submit: not a time (YYYY-MM-DDTHH:MM:SS or Unix seconds): 'yesterday'")
        let badLimit = good.replacingOccurrences(of: "|01:00:00|", with: "|an hour|")
        #expect(error(String(badLimit))?.field == "Timelimit")
        let badExit = good.replacingOccurrences(of: "|0:0|", with: "|zero|")
        #expect(error(String(badExit))?.field == "ExitCode")
        let badRSS = good.replacingOccurrences(of: "|4000K|", with: "|4000Q|")
        #expect(error(String(badRSS))?.field == "MaxRSS")
        let endBeforeStart = good.replacingOccurrences(of: "|1700003660|", with: "|1700000001|")
        #expect(error(String(endBeforeStart))?.description == "sacct output:1: End: before Start")

        // Lenient: the bad line is skipped and reported, the good ones kept.
        let r = try SacctParser.parse(
            "\(good)\nonly|three|fields\n\(badSubmit)", cluster: "c", localToUTC: utc, utcOffset: { _ in 0 },
            lenient: true)
        #expect(r.jobs.count == 1)
        #expect(r.errors.map(\.line) == [2, 3])
    }

    @Test func runnerArgvIsFixedAndNeverAShell() {
        let argv = SacctRunner.arguments(start: "2026-01-01", end: nil)
        #expect(argv.first == "sacct")
        #expect(argv.contains("--parsable2"))
        #expect(argv.contains("--noheader"))
        #expect(argv.contains("--allusers"))
        #expect(argv.contains("--format=" + SacctParser.fields.joined(separator: ",")))
        #expect(argv.contains("--state=BF,CA,CD,DL,F,NF,OOM,PR,TO"))
        #expect(Array(argv.suffix(4)) == ["--starttime", "2026-01-01", "--endtime", "now"])
        // Defaults: not the epoch itself (sacct 22.05 with --state prints nothing for a start of 0).
        #expect(Array(SacctRunner.arguments(start: nil, end: nil).suffix(4))
            == ["--starttime", "1970-01-02T00:00:00", "--endtime", "now"])
    }

    @Test func runnerReportsAFailingProgram() {
        // /bin/false stands in for an unreachable slurmdbd: a non-zero exit is an error, not empty history.
        do {
            _ = try SacctRunner.run(["false"])
            Issue.record("a failing sacct was accepted")
        } catch {
            #expect(error.description.hasPrefix("false failed (exit status 1)"))
        }
        #expect((try? SacctRunner.run(["printf", "%s", "a|b"])) == "a|b")
        #expect((try? SacctRunner.run(["sh", "-c", "printf %s \"$SLURM_TIME_FORMAT\""])) == "%s")
    }
}

@Suite struct LiveIngestTests {
    func slurmJob(_ id: UInt32, state: JobState, submit: Int64 = 1_700_000_000) -> SlurmJob {
        var j = SlurmJob(
            id: id, arrayJobID: 0, arrayTaskID: 0, userID: 1000, account: "physics", name: "sim", partition: "batch",
            state: state, reasonCode: 0, submitTime: submit, eligibleTime: submit, startTime: submit + 60,
            endTime: submit + 3660, timeLimitMinutes: 60, cpus: 4, nodeCount: 1, nodes: "n1",
            adminComment: "prewarm:v1 rt=3500 model=abc exe=lmp", dependency: "")
        j.cluster = "dev"
        j.userName = "alice"
        j.qos = "normal"
        j.memoryMB = 4000
        j.exitStatus = 1 << 8
        return j
    }

    @Test func storesFinishedJobsOnceAndMatchesSacctRows() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let store = try HistoryStore(path: dir.path + "/h.db")
        let poll = [
            slurmJob(101, state: .completed), slurmJob(102, state: .running), slurmJob(103, state: .pending),
            slurmJob(104, state: .failed),
        ]
        #expect(try HistoryIngest.ingest(jobs: poll, into: store, cluster: "x", now: 1) == 2)
        #expect(try HistoryIngest.ingest(jobs: poll, into: store, cluster: "x", now: 2) == 0)  // same poll again
        let rows = try store.jobs()
        #expect(rows.map(\.jobID) == [101, 104])
        let a = rows[0]
        #expect(a.cluster == "dev")
        #expect(a.state == "COMPLETED")
        #expect(a.startTime == 1_700_000_060)
        #expect(a.endTime == 1_700_003_660)
        #expect(a.timeLimit == 3600)
        #expect(a.requestedMemoryKBPerCPU == 1_024_000)
        #expect(a.annotation == "prewarm:v1 rt=3500 model=abc exe=lmp")
        #expect(rows[1].exitCode == 1)
        #expect(rows[1].state == "FAILED")

        // The same job later imported from sacct is not stored again (same cluster, id and submit time).
        let sacct = try SacctParser.parse(sacctSample, cluster: "dev", localToUTC: utc, utcOffset: { _ in 0 })
        #expect(try store.insert(sacct.jobs) == 2)  // 102 and 107 of the sample are other jobs; 101 is known
        #expect(try store.count() == 4)
    }

    @Test func aJobCancelledWhilePendingHasNoStart() throws {
        var j = slurmJob(9, state: .cancelled)
        j.startTime = 0
        j.endTime = 1_700_000_500
        let row = try #require(HistoryIngest.row(j, cluster: "c"))
        #expect(row.startTime == nil)
        #expect(row.endTime == 1_700_000_500)
        #expect(row.allocatedCPUs == nil)
        #expect(row.jobRecord.runtime == -1)
        #expect(HistoryIngest.row(slurmJob(10, state: .suspended), cluster: "c") == nil)
    }
}

/// What prewarmd (and `prewarm forecast --db`) replays into the demand learner: first partition, uid, nodes (from
/// CPUs in whole nodes of the partition's largest node when the row has no node count, a share of a node where jobs
/// share nodes), times.
@Test func storedJobsBecomeTheDemandLearnersPastJobs() {
    var j = HistoryJob(cluster: "c", jobID: 7, submitTime: 1_000, source: "swf:x")
    j.partition = "gpu,batch"
    j.userID = 1234
    j.requestedCPUs = 10
    j.startTime = 1_100
    j.endTime = 1_700
    j.utcOffset = 3_600
    let wholeNodes = NodeSharing(coresPerNode: ["gpu": 4, "batch": 64])
    #expect(j.pastJob(sharing: wholeNodes) == DemandLearner.PastJob(
        partition: "gpu", user: 1234, nodes: 3, submit: 1_000, start: 1_100, end: 1_700, utcOffset: 3_600))
    // The first partition's nodes: 10 CPUs of batch's 64 would be one node.
    #expect(j.pastJob(sharing: NodeSharing(coresPerNode: ["gpu": 64])).nodes == 1)
    // Where jobs share nodes: a share of the node, from the CPUs it was given before those it asked for.
    let shared = NodeSharing(coresPerNode: ["gpu": 40], allocatesCores: true)
    #expect(j.pastJob(sharing: shared).nodes == 0.25)
    j.allocatedCPUs = 40  // given the whole node (--exclusive): one node
    #expect(j.pastJob(sharing: shared).nodes == 1)
    j.allocatedCPUs = 20
    #expect(j.pastJob(sharing: shared).nodes == 0.5)
    // Not in a partition that gives jobs whole nodes.
    let exclusive = NodeSharing(coresPerNode: ["gpu": 40], allocatesCores: true, exclusivePartitions: ["gpu"])
    #expect(j.pastJob(sharing: exclusive).nodes == 1)
    j.requestedNodes = 2
    j.userID = nil
    #expect(j.pastJob(sharing: wholeNodes).nodes == 5)  // 2 nodes asked for, 20 CPUs fill 5 of 4
    #expect(j.pastJob(sharing: shared).nodes == 2)
    #expect(j.pastJob(sharing: wholeNodes).user == -1)
    // A partition whose node size is unknown, or a row without CPUs: its node count.
    #expect(j.pastJob(sharing: NodeSharing()).nodes == 2)
    j.requestedNodes = nil
    j.allocatedCPUs = nil
    j.requestedCPUs = nil
    #expect(j.pastJob(sharing: shared).nodes == 1)
}
