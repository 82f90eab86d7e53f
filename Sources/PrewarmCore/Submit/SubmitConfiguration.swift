// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

/// Where the profiler writes its annotation in the job.
public enum AnnotationField: String, Sendable, CaseIterable {
    case adminComment = "AdminComment"
    case comment = "Comment"
    case none = "none"
}

/// The settings of the in-controller profiler, read from `prewarm.conf`: a Slurm-style file of `Key=Value`
/// lines (keys case-insensitive, `#` starts a comment, blank lines ignored).
public struct SubmitConfiguration: Sendable, Equatable {
    /// The model file `prewarm train` or `prewarmd` publishes.
    public var modelFile = "/var/lib/prewarm/prewarm.model"
    public var annotationField = AnnotationField.adminComment
    /// The daemon's Unix datagram socket; empty disables notifications.
    public var notifySocket = "/run/prewarm/prewarmd.sock"
    /// Seconds between checks of the model file for a new version.
    public var reloadInterval = 30
    /// Bytes of the batch script the analyser reads at most.
    public var maxScriptBytes = 65_536
    /// `no` turns the profiler off (jobs pass through untouched).
    public var enabled = true
    /// A file the profiler rewrites (atomically, off the submit path) with its latency histogram and counters;
    /// empty disables it.
    public var statsFile = ""
    /// The thread's CPU time is read on every this many jobs (a system call, about 0.4 µs each, twice per sampled
    /// job; the wall clock is read on every job without one): the stats' `cpu` quantiles, time inside the plugin
    /// while its thread ran.
    public var cpuSampleInterval = 64

    public init() {}

    /// Keys understood, in the spelling of the example file.
    public static let keys = [
        "ModelFile", "AnnotationField", "NotifySocket", "ReloadInterval", "MaxScriptBytes", "Enabled", "StatsFile",
        "CPUSampleInterval",
    ]

    /// A configuration problem, naming the file, line and key.
    public typealias ParseError = ConfigurationError

    /// Parses the text of a configuration file; `file` only names it in errors.
    ///
    /// Every problem is an error (an unknown key, a bad value, a key given twice): a typo must not silently
    /// leave a default in force.
    public static func parse(_ text: String, file: String) throws(ParseError) -> SubmitConfiguration {
        var c = SubmitConfiguration()
        for e in try KeyValueFile.entries(text, file: file, keys: keys) {
            let value = e.value
            func fail(_ m: String) -> ParseError { e.error(m, file: file) }
            switch e.key {
            case "ModelFile":
                guard value.hasPrefix("/") else { throw fail("must be an absolute path, found '\(value)'") }
                c.modelFile = value
            case "AnnotationField":
                guard let f = AnnotationField.allCases.first(where: { $0.rawValue.lowercased() == value.lowercased() })
                else { throw fail("must be AdminComment, Comment or none, found '\(value)'") }
                c.annotationField = f
            case "NotifySocket":
                guard value.isEmpty || value.hasPrefix("/") else {
                    throw fail("must be an absolute path or empty, found '\(value)'")
                }
                guard value.utf8.count < 108 else { throw fail("path longer than a Unix socket allows (107 bytes)") }
                c.notifySocket = value
            case "ReloadInterval":
                c.reloadInterval = try KeyValueFile.integer(e, in: 1 ... 86_400, unit: "seconds", file: file)
            case "MaxScriptBytes":
                c.maxScriptBytes = try KeyValueFile.integer(e, in: 0 ... 16 << 20, unit: "bytes", file: file)
            case "Enabled": c.enabled = try KeyValueFile.boolean(e, file: file)
            case "StatsFile":
                guard value.isEmpty || value.hasPrefix("/") else {
                    throw fail("must be an absolute path or empty, found '\(value)'")
                }
                c.statsFile = value
            case "CPUSampleInterval":
                c.cpuSampleInterval = try KeyValueFile.integer(e, in: 1 ... 65_536, unit: "jobs", file: file)
            default:
                throw fail("not handled")
            }
        }
        return c
    }
}
