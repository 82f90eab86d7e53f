// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import PrewarmCore

extension SWFRecord {
    /// Converts the record to Prewarm's ``JobRecord``.
    ///
    /// The submit time becomes absolute (`UnixStartTime` + field 2, or field 2 alone without that header);
    /// hour of day and day of week are those of the absolute submit time on `clock`. SWF has no node count,
    /// so `requestedNodes` is `-1`. Other fields are copied, keeping `-1` for unknown.
    public func jobRecord(header: SWFHeader, clock: LocalClock) -> JobRecord {
        let submit = (header.unixStartTime ?? 0) &+ submitTime
        let local = clock.local(submit)
        return JobRecord(
            id: jobNumber, submit: submit, wait: waitTime, runtime: runTime,
            allocatedProcs: allocatedProcessors, requestedProcs: requestedProcessors, requestedNodes: -1,
            requestedTime: requestedTime, requestedMemoryKB: requestedMemoryKB, status: status, user: userID,
            group: groupID, application: executableNumber, queue: queueNumber, partition: partitionNumber,
            hourOfDay: local.hourOfDay, dayOfWeek: local.dayOfWeek
        )
    }
}

/// Whole-file conveniences over ``SWFReader``.
public enum TraceFile {
    /// Reads every job of an SWF log (plain or `.gz`) as ``JobRecord``s, in file order, with local times from
    /// the header's `TimeZoneString` (or its fixed `TimeZone` offset).
    ///
    /// - Parameters:
    ///   - path: the log file.
    ///   - lenient: skip malformed lines instead of throwing.
    /// - Returns: the header, the jobs, and (lenient mode) the number of skipped lines and the first errors.
    /// - Throws: ``SWFError`` on I/O errors, and on malformed lines in strict mode.
    public static func readJobs(
        path: String, lenient: Bool = false
    ) throws(SWFError) -> (header: SWFHeader, jobs: [JobRecord], skippedLines: Int, skippedExamples: [SWFError]) {
        let reader = try SWFReader(path: path, lenient: lenient)
        let header = reader.header
        let clock = LocalClock(timeZoneString: header.timeZoneString, fallbackOffset: header.timeZone)
        var jobs: [JobRecord] = []
        while let record = try reader.next() {
            jobs.append(record.jobRecord(header: header, clock: clock))
        }
        return (header, jobs, reader.skippedLines, reader.skippedExamples)
    }
}
