// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
//
// The in-controller profiler's state. Runs inside slurmctld: stdlib + Glibc only, no trap on any input, no disk
// I/O and no blocking on the submit path (the model is read by the background reloader and swapped under a
// mutex that is only ever held for a pointer swap or one prediction).

import CPrewarmSubmit
import PrewarmCore

#if canImport(Glibc)
import Glibc
#endif

/// A loaded model and what the annotation says about it.
final class LoadedModel: @unchecked Sendable {
    /// Predicted with (its history records the submissions) under the engine's mutex only, so not checked
    /// dynamically for exclusivity (see ``Engine``).
    @exclusivity(unchecked) var model: SubmitModel
    let id: String
    let path: String
    init(model: SubmitModel, id: String, path: String) {
        self.model = model
        self.id = id
        self.path = path
    }
}

/// Counters of the profiler (read for the stats line and file).
struct SubmitCounters {
    var profiled: UInt64 = 0
    var withoutModel: UInt64 = 0
    var modified: UInt64 = 0
    var reloads: UInt64 = 0
    var reloadFailures: UInt64 = 0
    /// Jobs whose field already held text that is not UTF-8, or too long to add the annotation to: left as it was.
    var fieldKept: UInt64 = 0
}

final class Engine: @unchecked Sendable {
    let configuration: SubmitConfiguration
    let configurationPath: String
    private let log: prewarm_log_fn?
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    // Guarded by mutex. `@exclusivity(unchecked)`: the mutex (or the one said at each) already makes every access
    // exclusive, so the runtime's dynamic check (about 80 instructions per
    // access, nine accesses per job) is not paid on the submit path; a check that failed would trap slurmctld.
    @exclusivity(unchecked) private var current: LoadedModel?
    @exclusivity(unchecked) private var histogram = LatencyHistogram()
    /// CPU time of the profiling thread per job (wall time minus time the thread was not running), sampled on
    /// every ``cpuSampleInterval``-th job (`CPUSampleInterval`): reading the thread's CPU clock is a system call
    /// (the wall clock is read through the vDSO, without one). Every 64th job by default: at every 16th, the two
    /// system calls were 2.6 % of the plugin's samples in a profile of slurmctld (2026-12-02).
    @exclusivity(unchecked) private var cpuHistogram = LatencyHistogram()
    let cpuSampleInterval: UInt64
    /// Time per phase of the job (script, model, output), sampled on every ``phaseSampleInterval``-th job: three
    /// more reads of the wall clock (vDSO, no system call) on those jobs only.
    @exclusivity(unchecked) private var phases = SubmitPhaseTimes()
    static let phaseSampleInterval: UInt64 = 8
    /// Jobs seen by ``profile(_:)`` (only used to pick the CPU and phase samples), under `entryMutex`.
    @exclusivity(unchecked) private var calls: UInt64 = 0
    /// The UTC offset of the current quarter hour, under `entryMutex`.
    @exclusivity(unchecked) private var localTime = LocalTimeCache()
    /// Slurm 22.05 runs job_submit calls one at a time, but from 23.02 on slurmctld calls them concurrently (under
    /// a read lock): `calls` and `localTime`, which every submission updates, have this mutex of their own, which
    /// the submit path only ever *tries*: a submission that finds it held takes no sample and looks the time zone
    /// up without the cache.
    private let entryMutex: UnsafeMutablePointer<pthread_mutex_t>
    @exclusivity(unchecked) private var counters = SubmitCounters()
    @exclusivity(unchecked) private var statsVersion: UInt64 = 0
    // Owned by the reloader thread.
    var modelStamp: FileStamp?
    var failedStamp: FileStamp?
    /// The last failure to read the model file (reloader only), logged once: unlike a refused model, an unreadable
    /// file is tried again at every look, since a permission fixed with chmod leaves its stamp as it was.
    var readFailure: String?
    /// prewarm.conf as it was read at init, and as it was when its change was last said (reloader only).
    var configurationStamp: FileStamp?
    var configurationChangeSaid: FileStamp?
    var writtenStatsVersion: UInt64 = ~0  // under statsMutex
    /// Whether the last write of the stats file failed (under statsMutex): its failure is logged once.
    var statsWriteFailing = false
    /// The daemon's notices: queued by the submit path, sent by the notifier's thread.
    private let notifier: Notifier?
    /// The last scripts' analyses (a script submitted again is not scanned again), under its own mutex that
    /// the submit path only ever *tries*: when another submission holds it, the script is analysed uncached.
    @exclusivity(unchecked) private var scriptCache = ScriptAnalysisCache()
    private let scriptCacheMutex: UnsafeMutablePointer<pthread_mutex_t>
    /// The last annotation written (a job annotated like the last one gets a copy of its bytes), under its own
    /// mutex that the submit path only ever *tries*: when another submission holds it, the annotation is
    /// formatted without the memo.
    @exclusivity(unchecked) private var annotationMemo = AnnotationMemo()
    private let annotationMemoMutex: UnsafeMutablePointer<pthread_mutex_t>
    /// The stats' copy of the counters and histograms, its buffers allocated once: refreshed under the mutex by
    /// copying (``withFreshStatsCopy(_:)``, 9–16 µs), then formatted under `statsMutex` alone. Formatting the stats
    /// under the mutex held the submit path off for 145–260 µs at every write of the stats file (2026-12-04).
    @exclusivity(unchecked) private var statsCopy = StatsCopy()  // under statsMutex
    private let statsMutex: UnsafeMutablePointer<pthread_mutex_t>
    // Reloader lifecycle: the reloader sleeps on the condition until its next look or ``stop()``.
    private let stopMutex: UnsafeMutablePointer<pthread_mutex_t>
    private let stopCondition: UnsafeMutablePointer<pthread_cond_t>
    @exclusivity(unchecked) private var stopRequested = false  // under stopMutex
    private var thread: pthread_t?

    init(configuration: SubmitConfiguration, path: String, log: prewarm_log_fn?) {
        self.configuration = configuration
        self.configurationPath = path
        self.log = log
        cpuSampleInterval = UInt64(Swift.max(1, configuration.cpuSampleInterval))
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        scriptCacheMutex = .allocate(capacity: 1)
        pthread_mutex_init(scriptCacheMutex, nil)
        entryMutex = .allocate(capacity: 1)
        pthread_mutex_init(entryMutex, nil)
        annotationMemoMutex = .allocate(capacity: 1)
        pthread_mutex_init(annotationMemoMutex, nil)
        statsMutex = .allocate(capacity: 1)
        pthread_mutex_init(statsMutex, nil)
        stopMutex = .allocate(capacity: 1)
        pthread_mutex_init(stopMutex, nil)
        stopCondition = .allocate(capacity: 1)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)  // deadlines from monotonicNanoseconds()
        pthread_cond_init(stopCondition, &attributes)
        pthread_condattr_destroy(&attributes)
        notifier = configuration.notifySocket.isEmpty ? nil : Notifier(path: configuration.notifySocket, log: log)
    }

    /// After ``stop()`` (its threads joined) and the last submission that held the engine: the mutexes and the
    /// condition go back (each init/fini pair, as on `scontrol reconfigure`, leaked 240 bytes until 2026-12-04,
    /// found by LeakSanitizer, `scripts/sanitizer-test address`).
    deinit {
        for m in [mutex, scriptCacheMutex, annotationMemoMutex, statsMutex, stopMutex, entryMutex] {
            pthread_mutex_destroy(m)
            m.deallocate()
        }
        pthread_cond_destroy(stopCondition)
        stopCondition.deallocate()
    }

    func info(_ message: String) { emit(0, message) }
    func error(_ message: String) { emit(1, message) }

    private func emit(_ level: Int32, _ message: String) {
        guard let log else { return }
        message.withCString { log(level, $0) }
    }

    private func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body()
    }

    // MARK: Model loading (init and the reloader thread only: disk I/O)

    /// Loads the model file if it changed since the last look. A missing, unreadable or corrupt file keeps the current
    /// model; each distinct failure is logged once. A corrupt file is not read again until it changes; an unreadable
    /// one (slurmctld runs as SlurmUser: a model copied in mode 0600, say) is tried again at every look.
    func reloadIfChanged(initial: Bool) {
        let path = configuration.modelFile
        guard let stamp = FileStamp(path: path) else {
            if initial { info("no model at \(path) yet: jobs are annotated model=none until one is published") }
            return
        }
        if stamp == modelStamp || stamp == failedStamp { return }
        switch ModelFile.read(path, limit: 1 << 30) {
        case .failure(let message):
            guard message != readFailure else { return }
            readFailure = message
            locked { counters.reloadFailures &+= 1 }
            error("model \(path) not loaded (\(message) as uid \(geteuid())); "
                + (current == nil ? "no model in use" : "keeping the previous model") + "; tried again every ReloadInterval")
        case .success(let bytes):
            readFailure = nil
            do {
                let model = try SubmitModel(deserializing: bytes)
                let loaded = LoadedModel(model: model, id: ModelContainer.shortIdentifier(bytes), path: path)
                modelStamp = stamp
                failedStamp = nil
                // The previous model leaves the mutex still referenced and is freed below, outside it: freeing a
                // model (tens of MB of arrays, returned to the system) under the mutex held submissions off.
                var previous = locked { () -> LoadedModel? in
                    let p = current
                    current = loaded
                    counters.reloads &+= 1
                    statsVersion &+= 1
                    return p
                }
                let previousID = previous?.id
                previous = nil
                info("loaded model \(loaded.id) from \(path) (\(model.trainingJobs) jobs from \(model.source.prefix(256))"
                    + (previousID.map { ", replacing \($0)" } ?? "") + ")")
            } catch {
                failedStamp = stamp
                locked { counters.reloadFailures &+= 1 }
                self.error("model \(path) refused (\(error)); "
                    + (current == nil ? "no model in use" : "keeping the previous model"))
            }
        }
    }

    // MARK: The submit path

    /// The analysis of a script's first bytes, from the cache when the same bytes were seen lately.
    private func analyzeScript(_ bytes: UnsafeRawBufferPointer) -> BatchScriptAnalysis {
        guard pthread_mutex_trylock(scriptCacheMutex) == 0 else {
            return BatchScriptAnalysis.analyze(bytes, maxBytes: bytes.count)
        }
        defer { pthread_mutex_unlock(scriptCacheMutex) }
        return scriptCache.analysis(of: bytes, maxBytes: bytes.count)
    }

    /// The annotation's bytes into `out`, from the memo when it is free (see ``annotationMemo``).
    private func writeAnnotation(
        request: SubmitRequest, prediction: RuntimePrediction?, modelID: String?, script: BatchScriptAnalysis?,
        suffix: String, into out: UnsafeMutablePointer<CChar>, capacity: Int
    ) -> Int {
        guard pthread_mutex_trylock(annotationMemoMutex) == 0 else {
            return SubmitProfiler.writeAnnotation(
                request: request, prediction: prediction, modelID: modelID, script: script, suffix: suffix, into: out,
                capacity: capacity)
        }
        defer { pthread_mutex_unlock(annotationMemoMutex) }
        return annotationMemo.writeAnnotation(
            request: request, prediction: prediction, modelID: modelID, script: script, suffix: suffix, into: out,
            capacity: capacity)
    }

    /// Annotations copied from the memo (read under its mutex).
    private func annotationMemoHits() -> UInt64 {
        pthread_mutex_lock(annotationMemoMutex)
        defer { pthread_mutex_unlock(annotationMemoMutex) }
        return annotationMemo.hits
    }

    /// Script cache hits and misses (read under its mutex).
    private func scriptCacheCounts() -> (hits: UInt64, misses: UInt64) {
        pthread_mutex_lock(scriptCacheMutex)
        defer { pthread_mutex_unlock(scriptCacheMutex) }
        return (scriptCache.hits, scriptCache.misses)
    }

    /// The local time zone's UTC offset at `t` (`localtime_r`), or nil.
    static func utcOffset(_ t: Int64) -> Int64? {
        var tt = time_t(t)
        var parts = tm()
        guard localtime_r(&tt, &parts) != nil else { return nil }
        return Int64(parts.tm_gmtoff)
    }

    /// Profiles one job: writes the annotation into `out` (`capacity` bytes, NUL-terminated) and returns its
    /// length and field, or nil to leave the job unchanged.
    func profile(
        _ job: UnsafePointer<prewarm_job_t>, into out: UnsafeMutablePointer<CChar>, capacity: Int
    ) -> (count: Int, field: Int32)? {
        guard configuration.enabled, configuration.annotationField != .none || notifier != nil else { return nil }
        let t0 = monotonicNanoseconds()
        let j = job.pointee
        var sampleCPU = false
        var samplePhases = false
        let hourAndDay: (hour: Int, day: Int)?
        if pthread_mutex_trylock(entryMutex) == 0 {
            calls &+= 1
            sampleCPU = calls % cpuSampleInterval == 0 && calls > 1  // not the first: it pays the one-time setup
            samplePhases = calls % Self.phaseSampleInterval == 0
            hourAndDay = localTime.hourAndDay(j.submit_time, offsetAt: Self.utcOffset)
            pthread_mutex_unlock(entryMutex)
        } else {
            var fresh = LocalTimeCache()  // another submission is in the few instructions above
            hourAndDay = fresh.hourAndDay(j.submit_time, offsetAt: Self.utcOffset)
        }
        let c0 = sampleCPU ? threadCPUNanoseconds() : 0
        let isModify = j.is_modify != 0
        var request = SubmitRequest()
        request.uid = j.uid
        request.gid = j.gid
        request.account = cString(j.account)
        request.partition = cString(j.partition)
        request.qos = cString(j.qos)
        request.name = cString(j.name)
        request.minCPUs = j.min_cpus
        request.minNodes = j.min_nodes
        request.tasks = j.num_tasks
        request.cpusPerTask = j.cpus_per_task
        request.memoryPerNodeMB = j.mem_per_node_mb
        request.memoryPerCPUMB = j.mem_per_cpu_mb
        request.timeLimitMinutes = j.time_limit_min
        request.timeMinMinutes = j.time_min_min
        request.tres = cString(j.tres)
        request.arraySpec = cString(j.array_spec)
        request.dependency = cString(j.dependency, max: 1024)
        request.nice = j.nice
        request.priority = j.priority
        request.beginTime = j.begin_time
        request.submitTime = j.submit_time
        if let (hour, day) = hourAndDay {
            request.hourOfDay = hour
            request.dayOfWeek = day
        }

        let p0 = samplePhases ? monotonicNanoseconds() : 0
        var script: BatchScriptAnalysis?
        if let s = j.script, j.script_len > 0 {
            let n = Swift.min(Int(clamping: j.script_len), configuration.maxScriptBytes)
            script = analyzeScript(UnsafeRawBufferPointer(start: s, count: n))
            if j.script_len > n { script?.truncated = true }
        }
        let p1 = samplePhases ? monotonicNanoseconds() : 0
        let record = SubmitProfiler.record(for: request, script: script)

        var prediction: RuntimePrediction?
        let modelID = locked { () -> String? in
            guard let loaded = current else { return nil }
            prediction = loaded.model.predict(record, recording: !isModify)
            return loaded.id
        }
        let p2 = samplePhases ? monotonicNanoseconds() : 0
        let existing = configuration.annotationField == .comment ? j.comment : j.admin_comment
        let count: Int
        var fieldKept = false
        if let existing, existing.pointee != 0 {
            // The field has text (an operator's, or an earlier annotation on a modify): kept before the new one. Text
            // that is not UTF-8, or too long to add the annotation to, is left as it is, and the job unannotated:
            // rewriting it would cut or alter what somebody wrote.
            var annotation = SubmitProfiler.annotation(
                request: request, prediction: prediction, modelID: modelID, script: script)
            if isModify { annotation += " src=modify" }
            let limit = SubmitProfiler.maxAnnotationBytes
            if strnlen(existing, limit &+ 1) <= limit, let text = String(validatingCString: existing),
                let merged = SubmitProfiler.merge(existing: text, annotation: annotation)
            {
                count = SubmitProfiler.copyCString(merged, into: out, capacity: capacity)
            } else {
                count = 0
                fieldKept = true
            }
        } else {
            // The usual case: the annotation's bytes go straight into Slurm's buffer, without a string.
            count = writeAnnotation(
                request: request, prediction: prediction, modelID: modelID, script: script,
                suffix: isModify ? " src=modify" : "", into: out, capacity: capacity)
        }

        if !isModify, let notifier { notifier.enqueue(SubmitNotice(request: request, prediction: prediction)) }
        let t1 = monotonicNanoseconds()
        let elapsed = t1 &- t0
        let cpu = sampleCPU ? threadCPUNanoseconds() &- c0 : 0
        locked {
            histogram.record(nanoseconds: elapsed)
            if sampleCPU { cpuHistogram.record(nanoseconds: cpu) }
            if samplePhases { phases.record(start: p0, scriptDone: p1, modelDone: p2, outputDone: t1) }
            counters.profiled &+= 1
            if modelID == nil { counters.withoutModel &+= 1 }
            if isModify { counters.modified &+= 1 }
            if fieldKept { counters.fieldKept &+= 1 }
            statsVersion &+= 1
        }
        let field: Int32
        switch configuration.annotationField {
        case .adminComment: field = PREWARM_FIELD_ADMIN_COMMENT
        case .comment: field = PREWARM_FIELD_COMMENT
        case .none: field = PREWARM_FIELD_NONE
        }
        return (count, field)
    }

    // MARK: Stats

    /// What the stats line and file are made of (see ``statsCopy``).
    private struct StatsCopy {
        var modelID: String?
        var counters = SubmitCounters()
        var recalled: (byRanks: UInt64, byLeaves: UInt64)?
        var histogram = LatencyHistogram()
        var cpuHistogram = LatencyHistogram()
        var phases = SubmitPhaseTimes()
        var version: UInt64 = 0
    }

    /// Runs `body` under `statsMutex` with ``statsCopy`` just refreshed: the counters and histograms copied under
    /// the mutex, without allocating.
    private func withFreshStatsCopy<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(statsMutex)
        defer { pthread_mutex_unlock(statsMutex) }
        locked {
            statsCopy.modelID = current?.id
            statsCopy.counters = counters
            // Under the mutex: the workspaces' own mutex is only ever tried by a prediction, and none runs meanwhile.
            statsCopy.recalled = current?.model.runtime.recalledOutcomes
            statsCopy.histogram.copyContents(of: histogram)
            statsCopy.cpuHistogram.copyContents(of: cpuHistogram)
            statsCopy.phases.copyContents(of: phases)
            statsCopy.version = statsVersion
        }
        return body()
    }

    func statsLine() -> String { withFreshStatsCopy { statsLineOfCopy() } }

    /// Rewrites the stats file (temp file + rename) when something changed since the last write.
    func writeStatsIfChanged(force: Bool = false) {
        let path = configuration.statsFile
        guard !path.isEmpty else { return }
        withFreshStatsCopy {
            guard force || statsCopy.version != writtenStatsVersion else { return }
            var lines = ["# prewarm job_submit profiler statistics", "stats " + statsLineOfCopy()]
            lines.append("# latency histogram: bucket_upper_ns count (non-empty buckets)")
            for (i, n) in statsCopy.histogram.buckets.enumerated() where n > 0 {
                lines.append("bucket \(Swift.min(LatencyHistogram.upperBound(i), statsCopy.histogram.maxNanoseconds)) \(n)")
            }
            // Said once when writing starts failing (slurmctld runs as SlurmUser, who may not write there) and once
            // when it works again; retried at every ReloadInterval in between.
            if let failure = ModelFile.writeAtomically(path, lines.joined(separator: "\n") + "\n") {
                if !statsWriteFailing {
                    statsWriteFailing = true
                    error("StatsFile \(path) not written (\(failure)); retrying every ReloadInterval, said once")
                }
            } else {
                writtenStatsVersion = statsCopy.version
                if statsWriteFailing {
                    statsWriteFailing = false
                    info("StatsFile \(path) written again")
                }
            }
        }
    }

    /// The stats line of ``statsCopy`` (call with `statsMutex` held); the script cache's, the annotation memo's
    /// and the notifier's counts are read here, each under its own mutex.
    private func statsLineOfCopy() -> String {
        let cache = scriptCacheCounts()
        let memoHits = annotationMemoHits()
        let notices: (sent: UInt64, dropped: UInt64) = notifier?.counts() ?? (0, 0)
        let c = statsCopy.counters
        return "model=\(statsCopy.modelID ?? "none") profiled=\(c.profiled) without_model=\(c.withoutModel) "
            + "modified=\(c.modified) field_kept=\(c.fieldKept) notified=\(notices.sent) notify_dropped=\(notices.dropped) "
            + "reloads=\(c.reloads) reload_failures=\(c.reloadFailures) "
            + "script_cache_hits=\(cache.hits) script_cache_misses=\(cache.misses) "
            + "annotation_memo_hits=\(memoHits) "
            + "outcome_rank_hits=\(statsCopy.recalled?.byRanks ?? 0) "
            + "outcome_leaf_hits=\(statsCopy.recalled?.byLeaves ?? 0) "
            + "latency: \(statsCopy.histogram.summary) "
            + "cpu (every \(cpuSampleInterval)th job): \(statsCopy.cpuHistogram.summary) "
            + "phases (every \(Self.phaseSampleInterval)th job): \(statsCopy.phases.summary)"
    }

    // MARK: Reloader thread

    /// Starts the model reloader and the notifier's sender.
    func startThreads() {
        if let notifier {
            let rc = notifier.start()
            if rc != 0 { error("could not start the notification thread (error \(rc)); the daemon will not be told of submissions") }
        }
        var tid = pthread_t()
        let rc = pthread_create(&tid, nil, { _ in
            nameThisThread("prewarm-reload")
            reloaderMain()
            return nil
        }, nil)
        if rc == 0 {
            thread = tid
        } else {
            error("could not start the model reloader thread (error \(rc)); the model will not be reloaded")
        }
    }

    /// Sleeps until the monotonic time `deadline` (ns) or until ``stop()``; true when stopping.
    func waitForStop(until deadline: UInt64) -> Bool {
        pthread_mutex_lock(stopMutex)
        defer { pthread_mutex_unlock(stopMutex) }
        while !stopRequested {
            if monotonicNanoseconds() >= deadline { return false }
            var at = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
            pthread_cond_timedwait(stopCondition, stopMutex, &at)
        }
        return true
    }

    /// prewarm.conf is read once, at init (slurmctld's start; Slurm 22.05's `scontrol reconfigure` keeps loaded
    /// job_submit plugins unless JobSubmitPlugins changes): an edit is said once, so that an admin knows it waits.
    func noticeConfigurationChange() {
        let now = FileStamp(path: configurationPath)
        guard now != configurationStamp, now != configurationChangeSaid, let now else { return }
        configurationChangeSaid = now
        info("\(configurationPath) changed; prewarm.conf is read when the plugin starts: restart slurmctld to apply it (with Slurm 23.11 or later, scontrol reconfigure does)")
    }

    func stop() {
        notifier?.stop()
        pthread_mutex_lock(stopMutex)
        stopRequested = true
        pthread_cond_broadcast(stopCondition)
        pthread_mutex_unlock(stopMutex)
        if let thread {
            pthread_join(thread, nil)
            self.thread = nil
        }
        writeStatsIfChanged(force: true)
    }
}

/// The reloader: looks at the model file every `ReloadInterval` seconds and writes the stats file, asleep in
/// between (it woke every 200 ms to look for a stop until 2026-12-02), and exits as soon as ``Engine/stop()`` asks.
private func reloaderMain() {
    guard let engine = SubmitLibrary.engine else { return }
    let interval = UInt64(Swift.max(1, engine.configuration.reloadInterval)) &* 1_000_000_000
    while !engine.waitForStop(until: monotonicNanoseconds() &+ interval) {
        engine.reloadIfChanged(initial: false)
        engine.writeStatsIfChanged()
        engine.noticeConfigurationChange()
    }
}

func threadCPUNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

/// A C string of at most `max` bytes as a String (invalid UTF-8 repaired, never trapping); "" for NULL.
func cString(_ p: UnsafePointer<CChar>?, max: Int = 256) -> String {
    guard let p else { return "" }
    let n = strnlen(p, max)
    if n == 0 { return "" }
    return String(decoding: UnsafeRawBufferPointer(start: p, count: n), as: UTF8.self)
}
