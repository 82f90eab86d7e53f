// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

import Traces

#if canImport(Glibc)
import Glibc
#endif

/// Runs `sacct` (with `posix_spawnp` and an argv, never a shell) and returns its output.
public enum SacctRunner {
    /// The field separator asked of sacct: ASCII unit separator, which no job name or comment contains.
    public static let delimiter: Character = "\u{1F}"

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// The default `--starttime`: everything. Not the epoch itself: sacct 22.05 with `--state` takes a start time of
    /// 0 (`1970-01-01T00:00:00` on a UTC clock) as "not given" and prints nothing.
    public static let defaultStart = "1970-01-02T00:00:00"

    /// The argv: `sacct --parsable2 --noheader --allusers --duplicates --delimiter=… --format=…
    /// --state=BF,CA,CD,… --starttime START --endtime END`.
    ///
    /// With `--state` (the finished states), sacct selects the jobs that were in one of them during the window,
    /// i.e. that ended in it. Without it, sacct selects jobs by eligibility, which leaves out a job cancelled while
    /// held (Eligible `Unknown`), and returns running jobs the import does not store. `--state` also needs an
    /// explicit end (without one, sacct 22.05 prints nothing): `now` by default.
    public static func arguments(program: String = "sacct", start: String?, end: String?) -> [String] {
        [
            program, "--parsable2", "--noheader", "--allusers", "--duplicates", "--delimiter=\(delimiter)",
            "--format=" + SacctParser.fields.joined(separator: ","),
            "--state=" + SacctParser.finishedStateCodes.map(\.value).joined(separator: ","),
            "--starttime", start ?? defaultStart, "--endtime", end ?? "now",
        ]
    }

    /// Runs `argv` (argv[0] looked up on `PATH`) with `SLURM_TIME_FORMAT=%s` (Unix seconds in the output), and
    /// returns its standard output. A non-zero exit is a failure carrying the last line of its standard error.
    public static func run(_ argv: [String]) throws(Failure) -> String {
        guard let program = argv.first else { throw Failure(description: "empty command") }
        var environment: [String] = []
        var e = environ
        while let p = e.pointee {
            let entry = String(cString: p)
            if !entry.hasPrefix("SLURM_TIME_FORMAT=") { environment.append(entry) }
            e += 1
        }
        environment.append("SLURM_TIME_FORMAT=%s")
        let child: ChildProcess
        switch ChildProcess.start(argv, searchPath: true, stdout: .pipe, environment: environment) {
        case .success(let c): child = c
        case .failure(let error): throw Failure(description: error.description)
        }
        let pid = child.pid
        let errFD = child.stderr
        defer { if errFD >= 0 { close(errFD) } }
        let bytes = ChildProcess.readAll(child.stdout)
        close(child.stdout)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exited = status & 0x7F == 0
        let code = (status >> 8) & 0xFF
        guard exited && code == 0 else {
            var err: [UInt8] = []
            if errFD >= 0 {
                lseek(errFD, 0, SEEK_SET)
                err = ChildProcess.readAll(errFD)
            }
            let last = String(decoding: err, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
            let how = exited ? "exit status \(code)" : "signal \(status & 0x7F)"
            throw Failure(description: "\(program) failed (\(how))" + (last.isEmpty ? "" : ": \(last)"))
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Wall-clock seconds on this machine's clock (as if UTC) → Unix time, via `mktime` (DST resolved by the C
    /// library).
    public static func localToUTC(_ wall: Int64) -> Int64 {
        var tt = time_t(wall)
        var parts = tm()
        gmtime_r(&tt, &parts)
        parts.tm_isdst = -1
        let t = mktime(&parts)
        return t == -1 ? wall : Int64(t)
    }
}
