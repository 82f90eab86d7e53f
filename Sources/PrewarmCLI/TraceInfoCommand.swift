// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import Traces

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `prewarm trace-info`: streams a workload log and prints a summary of its header and jobs.
struct TraceInfo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace-info",
        abstract: "Summarise a workload log (SWF, .swf or .swf.gz)"
    )

    @Option(name: .long, help: ArgumentHelp("The workload log to read.", valueName: "FILE"))
    var trace: String

    @Flag(name: .long, help: "Skip malformed lines (and report them) instead of failing on the first one.")
    var lenient = false

    func run() throws {
        let started = ContinuousClock.now
        do throws(SWFError) {
            let reader = try SWFReader(path: trace, lenient: lenient)
            let header = reader.header
            var records = 0
            var withRuntime = 0
            var users = Set<Int32>()
            var firstSubmit = Int64.max
            var lastSubmit = Int64.min
            let base = header.unixStartTime ?? 0
            while let record = try reader.next() {
                records += 1
                if record.runTime > 0 { withRuntime += 1 }
                if record.userID >= 0 { users.insert(record.userID) }
                let submit = base &+ record.submitTime
                firstSubmit = min(firstSubmit, submit)
                lastSubmit = max(lastSubmit, submit)
            }
            let elapsed = (ContinuousClock.now - started).components
            let seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
            let clock = LocalClock(timeZoneString: header.timeZoneString, fallbackOffset: header.timeZone)

            func row(_ label: String, _ value: String) { print(label.padding(20) + value) }
            row("trace", trace)
            row("UnixStartTime", header.unixStartTime.map { "\($0)  (\(LocalClock.utc.format($0)))" } ?? "absent")
            row("time zone", clock.description)
            row("MaxNodes / MaxProcs", "\(header.maxNodes.map(String.init) ?? "?") / "
                + "\(header.maxProcs.map(String.init) ?? "?")")
            row("records", "\(records)")
            row("runtime > 0", "\(withRuntime)")
            row("distinct users", "\(users.count)")
            if records > 0 {
                let days = Double(lastSubmit - firstSubmit) / 86_400
                row("first submit", "\(firstSubmit)  (\(clock.format(firstSubmit)))")
                row("last submit", "\(lastSubmit)  (\(clock.format(lastSubmit)))")
                row("submit span", "\((days * 10).rounded() / 10) days")
            }
            let rate = seconds > 0 ? Int((Double(reader.linesRead) / seconds / 1000).rounded()) : 0
            row("lines", "\(reader.linesRead), read in \((seconds * 1000).rounded() / 1000) s (\(rate)k lines/s)")
            if lenient {
                row("skipped lines", "\(reader.skippedLines)")
                for error in reader.skippedExamples { print("  \(error)") }
                if reader.skippedLines > reader.skippedExamples.count {
                    print("  … \(reader.skippedLines - reader.skippedExamples.count) more")
                }
            }
        } catch {
            printError("error: \(error)")
            throw ExitCode(2)
        }
    }

    private func printError(_ message: String) {
        fflush(nil)
        let line = message + "\n"
        _ = line.withCString { write(STDERR_FILENO, $0, strlen($0)) }
    }
}

extension String {
    fileprivate func padding(_ width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
