// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import PrewarmCore
import Testing
import Traces

/// The bundled real slice: the first 10,000 jobs of the KTH-SP2 log.
@Suite struct KTHSliceTests {
    let path = bundledSlicePath()

    /// Civil UTC time of a Unix time, computed here independently of `LocalClock` (days-from-civil inverse by
    /// counting years and months).
    static func utcCivil(_ t: Int64) -> (year: Int, month: Int, day: Int, hour: Int, weekday: Int) {
        var days = Int(t / 86_400)
        let hour = Int(t % 86_400) / 3600
        let weekday = (days + 4) % 7  // 1970-01-01 was a Thursday
        var year = 1970
        func leap(_ y: Int) -> Bool { (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 }
        while days >= (leap(year) ? 366 : 365) {
            days -= leap(year) ? 366 : 365
            year += 1
        }
        let lengths = [31, leap(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        var month = 0
        while days >= lengths[month] {
            days -= lengths[month]
            month += 1
        }
        return (year, month + 1, days + 1, hour, weekday)
    }

    @Test func headerAndRecordCount() throws {
        let reader = try SWFReader(path: path)
        #expect(reader.header.unixStartTime == 843_480_031)
        #expect(reader.header.timeZoneString == "Europe/Stockholm")
        #expect(reader.header.timeZone == 3600)
        #expect(reader.header.maxNodes == 100)
        #expect(reader.header.maxProcs == 100)
        #expect(reader.header.value(for: "Installation") == "Swedish Royal Institute of Technology (KTH)")

        let first = try #require(try reader.next())
        #expect(first == SWFRecord(
            jobNumber: 15, submitTime: 599_850, waitTime: 192_180, runTime: 3477, allocatedProcessors: 4,
            averageCPUTime: -1, usedMemoryKB: -1, requestedProcessors: 4, requestedTime: 53_940,
            requestedMemoryKB: -1, status: 1, userID: 12, groupID: 12))
        var count = 1
        var last = first
        while let r = try reader.next() {
            count += 1
            last = r
        }
        #expect(count == 10_000)
        #expect(last.jobNumber == 10_014)
        #expect(last.submitTime == 11_577_901)
        #expect(reader.skippedLines == 0)
    }

    @Test func localTimesOfRealJobs() throws {
        let all = try TraceFile.readJobs(path: path)
        #expect(all.jobs.count == 10_000)
        #expect(all.skippedLines == 0)

        // Job 15: 843480031 + 599850 = 844079881 = Mon 1996-09-30 10:38:01 UTC; Stockholm is on CEST (+2) until
        // the last Sunday of October 1996, so 12:38 local on a Monday.
        let first = all.jobs[0]
        #expect(first.id == 15)
        #expect(first.submit == 844_079_881)
        let utc = KTHSliceTests.utcCivil(844_079_881)
        #expect(utc.year == 1996 && utc.month == 9 && utc.day == 30 && utc.hour == 10 && utc.weekday == 1)
        #expect(first.hourOfDay == Int8(utc.hour + 2))
        #expect(first.dayOfWeek == 1)
        #expect(first.wait == 192_180 && first.runtime == 3477 && first.requestedTime == 53_940)
        #expect(first.allocatedProcs == 4 && first.requestedProcs == 4 && first.requestedNodes == -1)
        #expect(first.user == 12 && first.group == 12 && first.application == -1 && first.queue == -1)
        #expect(first.requestedMemoryKB == -1 && first.status == 1)

        // Job 3014 (winter): 843480031 + 4221834 = 847701865 = Mon 1996-11-11 08:44:25 UTC → 09:44 CET (+1).
        let winter = try #require(all.jobs.first { $0.id == 3014 })
        #expect(winter.submit == 847_701_865)
        let w = KTHSliceTests.utcCivil(847_701_865)
        #expect(w.year == 1996 && w.month == 11 && w.day == 11 && w.hour == 8 && w.weekday == 1)
        #expect(winter.hourOfDay == Int8(w.hour + 1))
        #expect(winter.dayOfWeek == 1)

        // Every job agrees with the independent computation (CET/CEST by the EU rule for 1996–97).
        for job in all.jobs {
            let offset = KTHSliceTests.isEUSummerTime(job.submit) ? 7200 : 3600
            let c = KTHSliceTests.utcCivil(job.submit + Int64(offset))
            if job.hourOfDay != Int8(c.hour) || job.dayOfWeek != Int8(c.weekday) {
                Issue.record("job \(job.id): \(job.hourOfDay)/\(job.dayOfWeek), expected \(c.hour)/\(c.weekday)")
                break
            }
        }
    }

    /// EU summer time 1996–1997: 01:00 UTC on the last Sunday of March to 01:00 UTC on the last Sunday of
    /// October (1996-03-31, 1996-10-27, 1997-03-30, 1997-10-26).
    static func isEUSummerTime(_ t: Int64) -> Bool {
        let periods: [(Int64, Int64)] = [(828_234_000, 846_378_000), (859_683_600, 877_827_600)]
        return periods.contains { t >= $0.0 && t < $0.1 }
    }
}
