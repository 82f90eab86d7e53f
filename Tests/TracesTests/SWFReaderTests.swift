// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import Testing
import Traces

/// Header, blank lines, trailing whitespace, tabs, comments between jobs, decimals, `3600.0`, no final newline.
private let sampleLines = [
    "; Version: 2.2",  // 1
    "; Computer: Test cluster",
    "; Information: http://example.org/",
    ";              http://example.org/more",
    "; UnixStartTime: 1000000000",  // 5
    "; TimeZone: 3600",
    "; TimeZoneString: Europe/Stockholm",
    "; MaxNodes: 338 (batch partition; 512 total)",
    "; MaxProcs: 400",
    "; Queue:  1 DSI      ",  // 10
    "; Queue:  2 astro",
    ";",
    "",
    "    1        0     10    100    4  12.5   1024.75    8   3600.0    2048  1   7   3   11  2  6 -1 -1   \t",
    "   \t  ",  // 15
    "; a comment between records",
    "    2       60     -1     -1   -1    -1     -1   -1     -1    -1  5  8  -1  -1 -1 -1  1  30",
    "\t3\t120\t5\t51\t16\t50.0\t100\t32\t60\t512\t0\t9\t4\t12\t13\t14\t2\t17\r",
    "",
    "    4  180 0 1 1 .5 2. 1 1 1 1 1 1 1 1 1 1 1",  // 20, no final newline
]
private let sampleText = sampleLines.joined(separator: "\n")

private let expectedSample: [SWFRecord] = [
    SWFRecord(
        jobNumber: 1, submitTime: 0, waitTime: 10, runTime: 100, allocatedProcessors: 4, averageCPUTime: 12.5,
        usedMemoryKB: 1024.75, requestedProcessors: 8, requestedTime: 3600, requestedMemoryKB: 2048, status: 1,
        userID: 7, groupID: 3, executableNumber: 11, queueNumber: 2, partitionNumber: 6, precedingJobNumber: -1,
        thinkTime: -1),
    SWFRecord(jobNumber: 2, submitTime: 60, status: 5, userID: 8, precedingJobNumber: 1, thinkTime: 30),
    SWFRecord(
        jobNumber: 3, submitTime: 120, waitTime: 5, runTime: 51, allocatedProcessors: 16, averageCPUTime: 50,
        usedMemoryKB: 100, requestedProcessors: 32, requestedTime: 60, requestedMemoryKB: 512, status: 0,
        userID: 9, groupID: 4, executableNumber: 12, queueNumber: 13, partitionNumber: 14, precedingJobNumber: 2,
        thinkTime: 17),
    SWFRecord(
        jobNumber: 4, submitTime: 180, waitTime: 0, runTime: 1, allocatedProcessors: 1, averageCPUTime: 0.5,
        usedMemoryKB: 2, requestedProcessors: 1, requestedTime: 1, requestedMemoryKB: 1, status: 1, userID: 1,
        groupID: 1, executableNumber: 1, queueNumber: 1, partitionNumber: 1, precedingJobNumber: 1, thinkTime: 1),
]

/// Reads every record, throwing on the first error.
private func readAllRecords(_ reader: SWFReader) throws -> [SWFRecord] {
    var out: [SWFRecord] = []
    while let r = try reader.next() { out.append(r) }
    return out
}

/// A valid job line with job number `n`.
private func goodLine(_ n: Int) -> String {
    "\(n) \(n * 10) 1 2 3 4 5 6 7 8 1 \(n % 7) 1 1 1 1 -1 -1"
}

/// The error thrown by reading `lines` in strict mode (header errors included).
private func strictError(_ dir: TempDir, _ name: String, _ lines: [String]) -> SWFError? {
    let path = dir.write(name, lines.joined(separator: "\n") + "\n")
    do throws(SWFError) {
        let reader = try SWFReader(path: path)
        while try reader.next() != nil {}
        return nil
    } catch {
        return error
    }
}

@Suite struct SWFReaderTests {
    @Test(arguments: [false, true])
    func parsesHeaderAndAllFields(gzip: Bool) throws {
        let dir = TempDir()
        defer { dir.remove() }
        let path = gzip ? dir.writeGzip("sample.swf.gz", sampleText) : dir.write("sample.swf", sampleText)
        let reader = try SWFReader(path: path)

        let h = reader.header
        #expect(h.unixStartTime == 1_000_000_000)
        #expect(h.timeZone == 3600)
        #expect(h.timeZoneString == "Europe/Stockholm")
        #expect(h.maxNodes == 338)
        #expect(h.maxProcs == 400)
        #expect(h.entries.map(\.key) == [
            "Version", "Computer", "Information", "UnixStartTime", "TimeZone", "TimeZoneString", "MaxNodes",
            "MaxProcs", "Queue", "Queue",
        ])
        #expect(h.entries[1].value == "Test cluster")
        #expect(h.entries[2].value == "http://example.org/")
        #expect(h.entries[6].value == "338 (batch partition; 512 total)")
        #expect(h.entries[8].value == "1 DSI")
        #expect(h.value(for: "Queue") == "1 DSI")
        #expect(h.value(for: "Missing") == nil)
        // The header is read eagerly: the reader stopped at the first job.
        #expect(reader.linesRead == 14)

        let records = try readAllRecords(reader)
        #expect(records == expectedSample)
        #expect(reader.linesRead == 20)
        #expect(reader.skippedLines == 0)
        #expect(try reader.next() == nil)
    }

    @Test func emptyAndHeaderOnlyFiles() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let empty = try SWFReader(path: dir.write("empty.swf", ""))
        #expect(empty.header.entries.isEmpty)
        #expect(try empty.next() == nil)

        let headerOnly = try SWFReader(path: dir.writeGzip("h.swf.gz", "; MaxProcs: 8\n\n; Note: nothing ran\n"))
        #expect(headerOnly.header.maxProcs == 8)
        #expect(headerOnly.header.unixStartTime == nil)
        #expect(try headerOnly.next() == nil)
        #expect(headerOnly.linesRead == 3)
    }

    @Test func resultsSequence() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let reader = try SWFReader(path: dir.write("s.swf", sampleText))
        let records = try reader.results.map { try $0.get() }
        #expect(records == expectedSample)

        let bad = try SWFReader(path: dir.write("b.swf", goodLine(1) + "\nnot a job\n" + goodLine(3) + "\n"))
        let results = Array(bad.results)
        #expect(results.count == 2)  // stops after the failure
        guard case .failure(let error) = results[1] else {
            Issue.record("expected a failure")
            return
        }
        #expect(error.line == 2)
    }

    @Test func wrongFieldCount() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let lines = ["; MaxProcs: 4", goodLine(1), "1 2 3 4 5 6 7 8 9 10 11 12"]
        let few = try #require(strictError(dir, "few.swf", lines))
        #expect(few.kind == .record)
        #expect(few.line == 3)
        #expect(few.field == nil)
        #expect(few.description.hasPrefix(dir.file("few.swf") + ":3: expected 18 fields, found 12"))

        let many = try #require(strictError(dir, "many.swf", [goodLine(1), goodLine(2), goodLine(3) + " 99"]))
        #expect(many.description.contains("many.swf:3: expected 18 fields, found 19"))

        // A short line with a non-numeric token reports the field count, which explains it better.
        let short = try #require(strictError(dir, "short.swf", [goodLine(1), "12 34 56 x"]))
        #expect(short.field == nil)
        #expect(short.description == dir.file("short.swf") + ":2: expected 18 fields, found 4: '12 34 56 x'")
    }

    @Test func nonNumericField() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let lines = ["; UnixStartTime: 0", goodLine(1), "", "2 20 1 abc 3 4 5 6 7 8 1 1 1 1 1 1 -1 -1"]
        let error = try #require(strictError(dir, "bad.swf", lines))
        #expect(error.line == 4)
        #expect(error.field == 4)
        #expect(error.fieldName == "run time")
        #expect(error.text == "abc")
        #expect(error.description == dir.file("bad.swf") + ":4: field 4 (run time): 'abc' is not a number")
    }

    @Test(arguments: [
        ("1 2 3 4 5 6 7 8 12.5 10 1 1 1 1 1 1 -1 -1", 9, "requested time", "'12.5' is not an integer"),
        ("1 2 3 4 5 x7 7 8 9 10 1 1 1 1 1 1 -1 -1", 6, "average CPU time", "'x7' is not a number"),
        ("1 2 3 4 5 6 7 8 9 10 1 1 1 1 1 1 -1 1e", 18, "think time", "'1e' is not a number"),
        ("1 2 3 4 3000000000 6 7 8 9 10 1 1 1 1 1 1 -1 -1", 5, "allocated processors", "is out of range"),
        ("99999999999999999999 2 3 4 5 6 7 8 9 10 1 1 1 1 1 1 -1 -1", 1, "job number", "is out of range"),
        ("1 2 3 4 5 6 nan 8 9 10 1 1 1 1 1 1 -1 -1", 7, "used memory", "'nan' is not a number"),
        ("1 2 3 4 5 6 7 8 9 10 1 1 1 1 1 - -1 -1", 16, "partition number", "'-' is not a number"),
    ])
    func malformedFieldIsLocated(line: String, field: Int, name: String, message: String) throws {
        let dir = TempDir()
        defer { dir.remove() }
        let error = try #require(strictError(dir, "f.swf", [goodLine(1), goodLine(2), line]))
        #expect(error.line == 3)
        #expect(error.field == field)
        #expect(error.description.contains("f.swf:3: field \(field) (\(name)): "))
        #expect(error.description.contains(message))
    }

    @Test func acceptedNumberSpellings() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let path = dir.write("n.swf", "+1 2.000 -3 4. 5 1e3 -2.5E-1 8 9 10 1 1 1 1 1 1 -1 -1\n")
        let r = try #require(try SWFReader(path: path).next())
        #expect(r.jobNumber == 1 && r.submitTime == 2 && r.waitTime == -3 && r.runTime == 4)
        #expect(r.averageCPUTime == 1000)
        #expect(r.usedMemoryKB == -0.25)
    }

    @Test func malformedFirstJobIsReportedByNext() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let reader = try SWFReader(path: dir.write("first.swf", "; MaxProcs: 4\nbad line\n" + goodLine(2) + "\n"))
        #expect(reader.header.maxProcs == 4)
        #expect(throws: SWFError.self) { try reader.next() }
        // The bad line was consumed; a caller may carry on.
        #expect(try reader.next()?.jobNumber == 2)
    }

    @Test func badHeaderValue() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let lines = ["; Version: 2.2", "; MaxNodes: 100", "; MaxProcs: abc", goodLine(1)]
        let error = try #require(strictError(dir, "hdr.swf", lines))
        #expect(error.kind == .header)
        #expect(error.line == 3)
        #expect(error.key == "MaxProcs")
        #expect(error.description == dir.file("hdr.swf") + ":3: header MaxProcs: 'abc' is not an integer")

        for bad in ["; UnixStartTime: 12x", "; TimeZone: soon", "; MaxNodes:"] {
            let e = try #require(strictError(dir, "h2.swf", ["; Version: 2.2", bad]))
            #expect(e.line == 2)
            #expect(e.description.contains("h2.swf:2: header "))
        }

        let lenient = try SWFReader(path: dir.file("hdr.swf"), lenient: true)
        #expect(lenient.header.maxNodes == 100)
        #expect(lenient.header.maxProcs == nil)
        #expect(lenient.skippedLines == 1)
        #expect(lenient.skippedExamples.first?.line == 3)
        #expect(try lenient.next()?.jobNumber == 1)
    }

    @Test(arguments: [100_000, 3_000_000])
    func overlongLine(length: Int) throws {
        let dir = TempDir()
        defer { dir.remove() }
        let junk = String(repeating: "7", count: length)
        let lines = [goodLine(1), goodLine(2), junk, goodLine(4), "; " + junk, goodLine(6)]
        let text = lines.joined(separator: "\n") + "\n"
        let path = dir.writeGzip("long.swf.gz", text)

        let strict = try SWFReader(path: path)
        #expect(try strict.next()?.jobNumber == 1)
        #expect(try strict.next()?.jobNumber == 2)
        do throws(SWFError) {
            _ = try strict.next()
            Issue.record("expected an overlong-line error")
        } catch {
            #expect(error.line == 3)
            #expect(error.description.contains("long.swf.gz:3: line is longer than 65536 bytes"))
            #expect(error.text == String(repeating: "7", count: 40) + "…")
        }

        let lenient = try SWFReader(path: path, lenient: true)
        let numbers = try readAllRecords(lenient).map(\.jobNumber)
        #expect(numbers == [1, 2, 4, 6])
        #expect(lenient.skippedLines == 2)
        #expect(lenient.skippedExamples.map(\.line) == [3, 5])
        #expect(lenient.linesRead == 6)
    }

    @Test func lenientSkipsExactlyTheBadLines() throws {
        let dir = TempDir()
        defer { dir.remove() }
        var lines = ["; UnixStartTime: 100", "; MaxProcs: 64"]
        var expectedGood: [Int64] = []
        var badLineNumbers: [Int] = []
        for n in 1...40 {
            if n % 3 == 0 {
                lines.append(n % 2 == 0 ? "\(n) 1 2" : goodLine(n).replacingFirst("1", with: "1x"))
                badLineNumbers.append(lines.count)
            } else {
                lines.append(goodLine(n))
                expectedGood.append(Int64(n))
            }
            if n % 10 == 0 { lines.append("; interleaved comment") }
        }
        let path = dir.writeGzip("mix.swf.gz", lines.joined(separator: "\n") + "\n")

        let reader = try SWFReader(path: path, lenient: true)
        let records = try readAllRecords(reader)
        #expect(records.map(\.jobNumber) == expectedGood)
        #expect(reader.skippedLines == badLineNumbers.count)
        #expect(reader.skippedExamples.count == 10)
        #expect(reader.skippedExamples.map { $0.line ?? -1 } == Array(badLineNumbers.prefix(10)))

        let strict = strictError(dir, "mix.swf", lines)
        #expect(strict?.line == badLineNumbers[0])

        let all = try TraceFile.readJobs(path: path, lenient: true)
        #expect(all.jobs.map(\.id) == expectedGood)
        #expect(all.jobs.first?.submit == Int64(110))
        #expect(all.skippedLines == badLineNumbers.count)
        #expect(all.skippedExamples.count == 10)
        #expect(throws: SWFError.self) { try TraceFile.readJobs(path: path) }
    }

    @Test func cannotOpen() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let missing = dir.file("missing.swf.gz")
        let error = try #require(#expect(throws: SWFError.self) { try SWFReader(path: missing) })
        #expect(error.kind == .io)
        #expect(error.line == nil)
        #expect(error.description == missing + ": cannot open: No such file or directory")
    }

    @Test func truncatedGzip() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let text = (1...20_000).map(goodLine).joined(separator: "\n") + "\n"
        let whole = readAll(dir.writeGzip("whole.swf.gz", text))
        let path = dir.writeBytes("cut.swf.gz", Array(whole.prefix(whole.count / 2)))

        for lenient in [false, true] {
            let reader = try SWFReader(path: path, lenient: lenient)
            var count = 0
            var caught: SWFError?
            do throws(SWFError) {
                while try reader.next() != nil { count += 1 }
            } catch {
                caught = error
            }
            let error = try #require(caught, "a truncated stream must not look like a clean end of file")
            #expect(error.kind == .io)
            #expect(error.description.contains("cut.swf.gz:"))
            #expect(error.description.contains("truncated"))
            #expect(count > 0 && count < 20_000)
            // The error is terminal.
            #expect(throws: SWFError.self) { try reader.next() }
        }
    }

    @Test func corruptGzip() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let text = (1...20_000).map(goodLine).joined(separator: "\n") + "\n"
        var bytes = readAll(dir.writeGzip("whole.swf.gz", text))
        for i in stride(from: bytes.count / 3, to: bytes.count / 3 + 64, by: 1) { bytes[i] ^= 0x5A }
        let path = dir.writeBytes("corrupt.swf.gz", bytes)
        let error = try #require(#expect(throws: SWFError.self) {
            let reader = try SWFReader(path: path, lenient: true)
            while try reader.next() != nil {}
        })
        #expect(error.kind == .io)
        #expect(error.description.contains("corrupt.swf.gz:"))
        #expect(error.description.contains("gzip stream corrupt"))
    }

    /// Lines straddle the 256 KB read chunks many times over.
    @Test func streamsAcrossChunkBoundaries() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let count = 60_000
        var text = "; UnixStartTime: 5\n"
        for n in 1...count {
            text += goodLine(n)
            text += n % 1000 == 0 ? "  \r\n; c\n\n" : "\n"
        }
        for (name, path) in [("plain", dir.write("big.swf", text)), ("gzip", dir.writeGzip("big.swf.gz", text))] {
            let reader = try SWFReader(path: path)
            var expected: Int64 = 1
            while let r = try reader.next() {
                if r.jobNumber != expected || r.submitTime != expected * 10 {
                    Issue.record("\(name): record \(expected) read as \(r)")
                    break
                }
                expected += 1
            }
            #expect(expected == Int64(count) + 1, "\(name)")
        }
    }
}

extension String {
    fileprivate func replacingFirst(_ target: Character, with replacement: String) -> String {
        guard let i = firstIndex(of: target) else { return self }
        return String(self[..<i]) + replacement + String(self[index(after: i)...])
    }
}
