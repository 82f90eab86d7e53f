// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
//
// The in-controller library driven through its C ABI as slurmctld drives it, with its own threads running: two
// submitting threads calling it at the same time (slurmctld runs job_submit calls concurrently from Slurm 23.02 on;
// 22.05 runs them one at a time, which this covers too), a thread reading the stats line
// (`scontrol`-like), the reloader swapping models published under it (good, corrupt, good) and the notifier
// sending to a daemon socket. Under `swift test --sanitize=thread` (scripts/sanitizer-test thread) it is the race
// check of the engine's locking, under `--sanitize=address` with LeakSanitizer the check of its freeing at fini; in
// a normal run it checks that no submission fails or is annotated with a torn model.
import CPrewarmSubmit
import PrewarmCore
@testable import PrewarmSubmit
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// What the library logged.
private let engineLog = CapturedLog()

/// Runs `body` on a new pthread; `join()` waits for it.
private final class TestThread {
    private var tid = pthread_t()
    private let body: () -> Void
    init(_ body: @escaping () -> Void) {
        self.body = body
        let box = Unmanaged.passRetained(self).toOpaque()
        let rc = pthread_create(&tid, nil, { p in
            guard let p else { return nil }
            let me = Unmanaged<TestThread>.fromOpaque(p).takeRetainedValue()
            me.body()
            return nil
        }, box)
        precondition(rc == 0, "pthread_create: \(rc)")
    }
    func join() { pthread_join(tid, nil) }
}

/// The test's own bookkeeping of the submitting threads (every access under `slurmMutex`; the library is called
/// outside it, by both threads at once).
private final class SubmitState: @unchecked Sendable {
    let slurmMutex: UnsafeMutablePointer<pthread_mutex_t> = {
        let m = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(m, nil)
        return m
    }()
    var stop = false  // under slurmMutex
    var calls = 0
    deinit {
        pthread_mutex_destroy(slurmMutex)
        slurmMutex.deallocate()
    }
    var failures: [String] = []
    var modelsSeen: [String: Int] = [:]
}

func workload(jobs n: Int, scale: Int) -> [JobRecord] {
    var out: [JobRecord] = []
    var t: Int64 = 1_000_000
    for i in 0 ..< n {
        t += 300
        let user = Int32(i % 5)
        let runtime = Int64(scale * (Int(user) + 1) + (i % 7) * 10)
        out.append(JobRecord(
            id: Int64(i), submit: t, wait: 0, runtime: runtime, allocatedProcs: 4, requestedProcs: 4,
            requestedTime: runtime * 4, user: user))
    }
    return out
}

private func write(_ bytes: [UInt8], to path: String) {
    let tmp = path + ".tmp"
    let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    precondition(fd >= 0, "open \(tmp)")
    let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
    precondition(n == bytes.count, "write \(tmp)")
    close(fd)
    precondition(rename(tmp, path) == 0, "rename \(tmp)")
}

private func readFile(_ path: String) -> String? {
    guard case .success(let bytes) = ModelFile.read(path, limit: 1 << 20) else { return nil }
    return String(decoding: bytes, as: UTF8.self)
}

/// The value of `key=` in an annotation or stats line.
private func field(_ key: String, in line: String) -> String? {
    for token in line.split(separator: " ") where token.hasPrefix(key + "=") {
        return String(token.dropFirst(key.count + 1))
    }
    return nil
}

// A few seconds alone; the limit is for a hang. In a whole-suite run under AddressSanitizer on 2 cores
// (`scripts/sanitizer-test address all`) it waited its turn for the CPU for 416 and 454 s (2026-12-04).
@Test(.timeLimit(.minutes(10)))
func modelsSwappedUnderConcurrentSubmissionsNeverFailOrTearAJob() throws {
    // The daemon's socket, in a fresh directory that holds the test's files too: bound, never read (the notifier's
    // sends fill it, then drop and count).
    let daemon = Listener()
    let dir = daemon.directory
    let modelPath = dir + "/model.pwm"
    let statsPath = dir + "/stats"
    let confPath = dir + "/prewarm.conf"

    var parameters = RuntimeModelParameters()
    parameters.forest.treeCount = 8
    let modelA = try SubmitModel.train(
        jobs: workload(jobs: 800, scale: 600), capacityProcs: 64, parameters: parameters, source: "A").serialize()
    let modelB = try SubmitModel.train(
        jobs: workload(jobs: 800, scale: 900), capacityProcs: 64, parameters: parameters, source: "B").serialize()
    let idA = ModelContainer.shortIdentifier(modelA)
    let idB = ModelContainer.shortIdentifier(modelB)
    #expect(idA != idB)
    write(modelA, to: modelPath)
    write(Array("""
        ModelFile=\(modelPath)
        StatsFile=\(statsPath)
        NotifySocket=\(daemon.path)
        ReloadInterval=1
        CPUSampleInterval=2

        """.utf8), to: confPath)

    #expect(PrewarmSubmit.prewarm_submit_init(confPath, { _, message in
        engineLog.append(0, message)
    }) == 0)

    let state = SubmitState()
    let script = Array("#!/bin/bash\n#SBATCH --time=30\n#SBATCH -N 2\nmodule load gcc\nsrun ./solver input.\(7)\n".utf8)
    func submitter(_ index: Int) -> TestThread {
        TestThread {
            var out = [CChar](repeating: 0, count: 1024)
            var i = 0
            while true {
                pthread_mutex_lock(state.slurmMutex)
                let stop = state.stop
                pthread_mutex_unlock(state.slurmMutex)
                if stop { return }
                i += 1
                var job = prewarm_job_t()
                job.abi = UInt32(PREWARM_SUBMIT_ABI)
                job.is_modify = i % 5 == 0 ? 1 : 0
                job.uid = Int64(1000 + (i + index) % 5)
                job.gid = 100
                job.job_id = job.is_modify == 1 ? Int64(i) : -1
                job.min_nodes = Int64(1 + i % 3)
                job.min_cpus = 4
                job.num_tasks = 4
                job.cpus_per_task = 1
                job.time_limit_min = Int64(10 + i % 90)
                job.submit_time = Int64(1_700_000_000 + i)
                var written: Int32 = -1
                let n = script.withUnsafeBufferPointer { s in
                    s.withMemoryRebound(to: CChar.self) { chars in
                        job.script = chars.baseAddress
                        job.script_len = chars.count
                        return PrewarmSubmit.prewarm_submit_profile(&job, &out, out.count, &written)
                    }
                }
                let annotation = out.withUnsafeBufferPointer { b in b.baseAddress.map { String(cString: $0) } ?? "" }
                pthread_mutex_lock(state.slurmMutex)
                state.calls += 1
                let model = field("model", in: annotation) ?? "?"
                state.modelsSeen[model, default: 0] += 1
                if n <= 0 || written != PREWARM_FIELD_ADMIN_COMMENT || !annotation.hasPrefix("prewarm:v1 ")
                    || ![idA, idB].contains(model)
                {
                    state.failures.append("thread \(index) job \(i): n=\(n) field=\(written) '\(annotation)'")
                }
                pthread_mutex_unlock(state.slurmMutex)
                usleep(200)  // submissions arrive apart
            }
        }
    }
    let submitters = [submitter(0), submitter(1)]
    let statsReader = TestThread {
        var out = [CChar](repeating: 0, count: 4096)
        while true {
            pthread_mutex_lock(state.slurmMutex)
            let stop = state.stop
            pthread_mutex_unlock(state.slurmMutex)
            if stop { return }
            _ = PrewarmSubmit.prewarm_submit_stats(&out, out.count)
            usleep(2_000)
        }
    }

    // Published under the submissions: B, a corrupt file (refused, B kept), A again. The reloader looks every second.
    func waitForLog(_ fragments: String...) -> Bool {
        eventually { engineLog.snapshot().contains { line in fragments.contains { line.contains($0) } } }
    }
    usleep(300_000)
    write(modelB, to: modelPath)
    #expect(waitForLog("loaded model \(idB)"))
    var corrupt = modelA
    corrupt[corrupt.count / 2] ^= 0x5a
    write(corrupt, to: modelPath)
    #expect(waitForLog("not loaded", "refused"))
    write(modelA, to: modelPath)
    #expect(waitForLog("replacing \(idB)"))
    usleep(300_000)

    pthread_mutex_lock(state.slurmMutex)
    state.stop = true
    pthread_mutex_unlock(state.slurmMutex)
    for t in submitters { t.join() }
    statsReader.join()
    PrewarmSubmit.prewarm_submit_fini()

    #expect(state.failures.isEmpty, "\(state.failures.prefix(5))")
    #expect(state.calls > 100)
    #expect((state.modelsSeen[idA] ?? 0) > 0 && (state.modelsSeen[idB] ?? 0) > 0, "\(state.modelsSeen)")
    let log = engineLog.snapshot()
    #expect(log.filter { $0.contains("not loaded") || $0.contains("refused") }.count == 1, "\(log)")
    let stats = try #require(readFile(statsPath))
    let line = try #require(stats.split(separator: "\n").first { $0.hasPrefix("stats ") }.map(String.init))
    #expect(field("profiled", in: line) == String(state.calls), Comment(rawValue: line))
    #expect(field("reloads", in: line) == "3", Comment(rawValue: line))
    #expect(field("reload_failures", in: line) == "1", Comment(rawValue: line))
    #expect(field("model", in: line) == idA, Comment(rawValue: line))
    for name in ["model.pwm", "stats", "prewarm.conf"] { unlink(dir + "/" + name) }  // the socket and dir: daemon's
    withExtendedLifetime(daemon) {}
}
