// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
//
// The C ABI of libprewarm_submit.so (declared in Sources/CPrewarmSubmit/prewarm_submit.h). These are the only
// exported symbols; every one returns normally whatever it is given.

import CPrewarmSubmit
import PrewarmCore

#if canImport(Glibc)
import Glibc
#endif

enum SubmitLibrary {
    /// The profiler, created by `prewarm_submit_init` and dropped by `prewarm_submit_fini`, which slurmctld calls
    /// while no job_submit/job_modify call runs. Those calls run one at a time in Slurm 22.05 and concurrently from
    /// 23.02 on: the engine's mutexes cover them, and the reloader and notifier threads.
    nonisolated(unsafe) static var engine: Engine?
    static let defaultConfigurationPath = "/etc/slurm/prewarm.conf"
}

@c(prewarm_submit_init)
public func prewarm_submit_init(_ path: UnsafePointer<CChar>?, _ log: prewarm_log_fn?) -> Int32 {
    if let old = SubmitLibrary.engine {
        old.stop()
        SubmitLibrary.engine = nil
    }
    tzset()  // read the time zone now, not on the first submission
    let file = path.map { cString($0, max: 4096) } ?? SubmitLibrary.defaultConfigurationPath
    var configuration = SubmitConfiguration()
    var problem: String?
    switch ModelFile.read(file, limit: 1 << 20) {
    case .failure(let message):
        if FileStamp(path: file) == nil {
            problem = nil  // no file: defaults, said below
        } else {
            problem = "cannot read \(file) (\(message)); profiling disabled, jobs pass through unchanged"
        }
    case .success(let bytes):
        do {
            configuration = try SubmitConfiguration.parse(String(decoding: bytes, as: UTF8.self), file: file)
        } catch {
            problem = "\(error); profiling disabled, jobs pass through unchanged"
        }
    }
    if problem != nil { configuration.enabled = false }
    let engine = Engine(configuration: configuration, path: file, log: log)
    engine.configurationStamp = FileStamp(path: file)
    SubmitLibrary.engine = engine
    if let problem {
        engine.error(problem)
        return 0
    }
    if FileStamp(path: file) == nil { engine.info("no configuration at \(file): using the defaults") }
    guard configuration.enabled else {
        engine.info("Enabled=no in \(file): jobs pass through unchanged")
        return 0
    }
    engine.reloadIfChanged(initial: true)
    engine.startThreads()
    engine.info("profiling submissions: model \(configuration.modelFile), annotation "
        + "\(configuration.annotationField.rawValue), notify \(configuration.notifySocket.isEmpty ? "off" : configuration.notifySocket), "
        + "version \(PrewarmVersion.string)")
    return 0
}

@c(prewarm_submit_profile)
public func prewarm_submit_profile(
    _ job: UnsafePointer<prewarm_job_t>?, _ out: UnsafeMutablePointer<CChar>?, _ outLength: Int,
    _ field: UnsafeMutablePointer<Int32>?
) -> Int32 {
    field?.pointee = PREWARM_FIELD_NONE
    guard let job, let out, outLength >= 2, job.pointee.abi == PREWARM_SUBMIT_ABI,
        let engine = SubmitLibrary.engine, let (n, where_) = engine.profile(job, into: out, capacity: outLength)
    else { return 0 }
    field?.pointee = where_
    return Int32(clamping: n)
}

@c(prewarm_submit_stats)
public func prewarm_submit_stats(_ out: UnsafeMutablePointer<CChar>?, _ outLength: Int) -> Int {
    guard let out, outLength >= 1 else { return 0 }
    let line = SubmitLibrary.engine?.statsLine() ?? "not initialised"
    return SubmitProfiler.copyCString(line, into: out, capacity: outLength)
}

@c(prewarm_submit_fini)
public func prewarm_submit_fini() {
    SubmitLibrary.engine?.stop()
    SubmitLibrary.engine = nil
}
