// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
@testable import PrewarmCore
import Testing

/// Users who each run one kind of job repeatedly: user u's jobs run about 600·(u+1) s, request 4× that.
private func regularWorkload(jobs n: Int) -> [JobRecord] {
    var out: [JobRecord] = []
    var t: Int64 = 1_000_000
    for i in 0 ..< n {
        t += 300
        let user = Int32(i % 6)
        let runtime = Int64(600 * (Int(user) + 1) + (i % 7) * 10)
        out.append(JobRecord(
            id: Int64(i), submit: t, wait: 0, runtime: runtime, allocatedProcs: 4, requestedProcs: 4,
            requestedTime: runtime * 4, user: user))
    }
    return out
}

private func smallModel(jobs: Int = 1500) throws -> SubmitModel {
    var p = RuntimeModelParameters()
    p.forest.treeCount = 12
    return try SubmitModel.train(jobs: regularWorkload(jobs: jobs), capacityProcs: 64, parameters: p, source: "test")
}

@Test func submitModelLearnsEachUsersRuntimeAndRoundTrips() throws {
    var model = try smallModel()
    #expect(model.trainingJobs > 1400)
    #expect(model.holdoutAccuracy > 0.8)
    #expect(model.holdoutP90Coverage >= 0.8)
    let bytes = model.serialize()
    var loaded = try SubmitModel(deserializing: bytes)
    #expect(loaded.serialize() == bytes)
    for user in Int32(0) ..< 6 {
        let job = JobRecord(
            id: 99, submit: 2_000_000, wait: -1, runtime: -1, allocatedProcs: -1, requestedProcs: 4,
            requestedTime: Int64(2400 * (Int(user) + 1)), user: user)
        let a = model.predict(job, recording: false)
        let b = loaded.predict(job, recording: false)
        #expect(a == b)
        let expected = Double(600 * (Int(user) + 1))
        #expect(abs(Double(a.point) - expected) / expected < 0.15, "user \(user): \(a.point) vs \(expected)")
        #expect(a.p90 >= a.p50)
    }
}

/// The profiler's prediction computes into one snapshot reused from job to job; it gives what a fresh snapshot
/// of the same history gives, job after job, users and sizes mixed, recorded or not, and in a copy of the model.
@Test func submitModelPredictionReusesItsSnapshotWithoutLeakingState() throws {
    var model = try smallModel()
    var reference = model.history
    var copy = model
    var compared = 0
    for i in 0 ..< 400 {
        let user = Int32(i * 7 % 9)  // users 6–8 have no history
        let job = JobRecord(
            id: Int64(i), submit: 2_000_000 + Int64(i) * 61, wait: -1, runtime: -1, allocatedProcs: -1,
            requestedProcs: Int32(1 << (i % 5)), requestedTime: Int64(600 + (i % 13) * 450), user: user)
        let recording = i % 3 != 0
        let fresh = SubmitModel.masked(
            recording ? reference.submit(job, load: ClusterLoad()) : reference.snapshot(job, load: ClusterLoad()))
        let got = model.predict(job, recording: recording)
        #expect(got == model.runtime.predict(fresh), "job \(i)")
        if i % 50 == 0 {
            // A copy of the model shares the snapshot's arrays until either writes: each still predicts alone.
            copy = model
            _ = copy.predict(job, recording: false)
        }
        compared += 1
    }
    #expect(compared == 400)
    #expect(model.history.serialize() == reference.serialize())
}

@Test func submitModelRefusesDamageAndTooLittleHistory() throws {
    let bytes = try smallModel(jobs: 400).serialize()
    for cut in [0, 7, 30, bytes.count / 2, bytes.count - 1] {
        #expect(throws: ModelFileError.self) { try SubmitModel(deserializing: Array(bytes.prefix(cut))) }
    }
    var flipped = bytes
    flipped[bytes.count / 3] ^= 0x40
    #expect(throws: ModelFileError.self) { try SubmitModel(deserializing: flipped) }
    #expect(throws: SubmitModel.TrainingError.self) {
        try SubmitModel.train(jobs: regularWorkload(jobs: 20), capacityProcs: 0, source: "tiny")
    }
}

@Test func submitModelWithMoreTreesThanThePluginTakesIsRefused() throws {
    var p = RuntimeModelParameters()
    p.forest.treeCount = ForestParameters.modelTreeCounts.upperBound + 1
    p.forest.minSamplesLeaf = 20
    let big = try SubmitModel.train(jobs: regularWorkload(jobs: 60), capacityProcs: 64, parameters: p, source: "test")
    #expect(big.runtime.forest.treeCount == 2001)
    #expect(throws: ModelFileError.malformed("submit model: 2001 trees, the job_submit plugin takes 1 to 2000")) {
        try SubmitModel(deserializing: big.serialize())
    }
    p.forest.treeCount = 3
    let small = try SubmitModel.train(jobs: regularWorkload(jobs: 60), capacityProcs: 64, parameters: p, source: "test")
    #expect(try SubmitModel(deserializing: small.serialize()).runtime.forest.treeCount == 3)
}

@Test func jobHistoryRoundTripsAndRefusesMalformedPayloads() throws {
    var history = JobHistory()
    for job in regularWorkload(jobs: 300) {
        _ = history.submit(job, load: ClusterLoad())
        history.finish(job, candidates: nil)
    }
    let bytes = history.serialize()
    let copy = try JobHistory(deserializing: bytes)
    #expect(copy.serialize() == bytes)
    let probe = JobRecord(
        id: 1, submit: 3_000_000, wait: -1, runtime: -1, allocatedProcs: -1, requestedProcs: 4, requestedTime: 7200,
        user: 2)
    #expect(copy.snapshot(probe, load: ClusterLoad()) == history.snapshot(probe, load: ClusterLoad()))
    #expect(throws: ModelFileError.self) { try JobHistory(deserializing: bytes + [0]) }
    #expect(throws: ModelFileError.self) { try JobHistory(deserializing: Array(bytes.dropLast(3))) }
    var badVersion = bytes
    badVersion[0] = 9
    #expect(throws: ModelFileError.self) { try JobHistory(deserializing: badVersion) }
}

@Test func configurationParsesAndNamesLineAndKeyOfEveryProblem() throws {
    let c = try SubmitConfiguration.parse(
        """
        # Prewarm
        ModelFile = /var/lib/prewarm/m.model
        annotationfield=Comment   # case-insensitive keys and values

        ReloadInterval=5
        MaxScriptBytes=4096
        Enabled=no
        NotifySocket=
        StatsFile=/tmp/stats
        cpusampleinterval=4
        """, file: "prewarm.conf")
    #expect(c.modelFile == "/var/lib/prewarm/m.model")
    #expect(c.annotationField == .comment)
    #expect(c.reloadInterval == 5)
    #expect(c.maxScriptBytes == 4096)
    #expect(c.enabled == false)
    #expect(c.notifySocket == "")
    #expect(c.statsFile == "/tmp/stats")
    #expect(c.cpuSampleInterval == 4)
    #expect(SubmitConfiguration().cpuSampleInterval == 64)
    #expect(try SubmitConfiguration.parse("", file: "x") == SubmitConfiguration())

    func failure(_ text: String) -> SubmitConfiguration.ParseError? {
        do {
            _ = try SubmitConfiguration.parse(text, file: "/etc/slurm/prewarm.conf")
            return nil
        } catch {
            return error
        }
    }
    let unknown = failure("Enabled=yes\nModelFiel=/x")
    #expect(unknown?.line == 2)
    #expect(unknown?.key == "ModelFiel")
    #expect(unknown?.description.hasPrefix("/etc/slurm/prewarm.conf:2: ModelFiel: unknown key") == true)
    #expect(failure("ReloadInterval=0")?.key == "ReloadInterval")
    #expect(failure("CPUSampleInterval=0")?.key == "CPUSampleInterval")
    #expect(failure("ReloadInterval=ten")?.line == 1)
    #expect(failure("ModelFile=relative/path")?.key == "ModelFile")
    #expect(failure("AnnotationField=Notes")?.key == "AnnotationField")
    #expect(failure("Enabled=maybe")?.key == "Enabled")
    #expect(failure("\n\njust words")?.line == 3)
    #expect(failure("Enabled=yes\nenabled=no")?.message == "given more than once")
    #expect(failure("NotifySocket=/" + String(repeating: "s", count: 120))?.key == "NotifySocket")
}

@Test func sbatchTimesAndSizesFollowSlurm() throws {
    #expect(try SbatchOptions.minutes("90") == 90)
    #expect(try SbatchOptions.minutes("1:30") == 2)  // 1 min 30 s, rounded up
    #expect(try SbatchOptions.minutes("1:30:00") == 90)
    #expect(try SbatchOptions.minutes("2-12") == 3600)
    #expect(try SbatchOptions.minutes("1-00:30") == 1470)
    #expect(try SbatchOptions.minutes("1-00:00:01") == 1441)
    #expect(try SbatchOptions.minutes("UNLIMITED") == -1)
    for bad in ["", "a", "1:2:3:4", "-5", "1--2", "99999999999999999999"] {
        #expect(throws: SbatchOptions.InvalidValue.self) { try SbatchOptions.minutes(bad) }
    }
    #expect(try SbatchOptions.megabytes("4000") == 4000)
    #expect(try SbatchOptions.megabytes("4G") == 4096)
    #expect(try SbatchOptions.megabytes("512k") == 1)
    #expect(try SbatchOptions.megabytes("1T") == 1_048_576)
    #expect(throws: SbatchOptions.InvalidValue.self) { try SbatchOptions.megabytes("lots") }

    var r = SubmitRequest()
    try SbatchOptions.apply("nodes", "2-4", to: &r)
    try SbatchOptions.apply("ntasks", "8", to: &r)
    try SbatchOptions.apply("cpus-per-task", "2", to: &r)
    try SbatchOptions.apply("gpus", "2", to: &r)
    try SbatchOptions.apply("unknown-option", "x", to: &r)
    #expect(r.minNodes == 2)
    #expect(r.processors == 16)
    #expect(r.requestsGPUs)
}

@Test func annotationIsCompactStableAndKeepsAnOperatorsText() throws {
    var r = SubmitRequest()
    r.timeLimitMinutes = 60
    r.tasks = 4
    let p = RuntimePrediction(point: 1830.4, p50: 1700, p90: 9000, candidate: .last2, scale: 1, expectedAccuracy: 0.7)
    let script = BatchScriptAnalysis.analyze("#!/bin/bash\n#SBATCH -t 60\nmodule load gcc\nsrun ./lmp -in x\n")
    let a = SubmitProfiler.annotation(request: r, prediction: p, modelID: "0a1b2c3d", script: script)
    // rt90 is capped at the 60-minute limit; cpuh = 4 × 1830 s.
    #expect(a == "prewarm:v1 rt=1830 rt50=1700 rt90=3600 cand=last2 cpuh=2.03 model=0a1b2c3d exe=lmp launch=srun mods=1 gpu=0")
    #expect(SubmitProfiler.annotation(request: r, prediction: nil, modelID: nil, script: nil) == "prewarm:v1 model=none")
    let binary = BatchScriptAnalysis.analyze(UnsafeRawBufferPointer(start: nil, count: 0))
    #expect(!SubmitProfiler.annotation(request: r, prediction: nil, modelID: nil, script: binary).isEmpty)
    #expect(SubmitProfiler.merge(existing: nil, annotation: a) == a)
    #expect(SubmitProfiler.merge(existing: "reserved by ops", annotation: "prewarm:v1 model=none")
        == "reserved by ops prewarm:v1 model=none")
    #expect(SubmitProfiler.merge(existing: "ops note prewarm:v1 rt=5", annotation: "prewarm:v1 model=none")
        == "ops note prewarm:v1 model=none")
    // Text too long to add the annotation to is never cut: the field is left as it is (nil).
    #expect(SubmitProfiler.merge(existing: String(repeating: "é", count: 2000), annotation: a) == nil)
    let fits = String(repeating: "x", count: SubmitProfiler.maxAnnotationBytes - a.utf8.count - 1)
    #expect(SubmitProfiler.merge(existing: fits, annotation: a) == fits + " " + a)
    #expect(SubmitProfiler.merge(existing: fits + "y", annotation: a) == nil)
    // An earlier annotation is replaced, not counted against the room.
    #expect(SubmitProfiler.merge(existing: fits + " prewarm:v1 rt=5 model=0", annotation: a) == fits + " " + a)
    #expect(SubmitProfiler.token("a b=c\u{0}é") == "a_b_c___")
    #expect(SubmitProfiler.unprofiled("bad input") == "prewarm:v1 unprofiled=bad_input")
    let n = SubmitProfiler.notification(request: r, prediction: p)
    #expect(n.hasPrefix("prewarm-submit v1 t=0 uid=-1 account=- partition=- cpus=4 nodes=-1 tl=60 dep=0 array=0"))
    #expect(n.hasSuffix("rt=1830 rt90=9000"))
}

@Test func submitRecordMapsSlurmUnitsWithoutTrapping() {
    var r = SubmitRequest()
    r.uid = 1000
    r.account = "physics"
    r.partition = "batch"
    r.timeLimitMinutes = 30
    r.minNodes = 2
    r.minCPUs = 8
    r.memoryPerNodeMB = 4000
    r.name = "wrap"
    let job = SubmitProfiler.record(for: r, script: nil)
    #expect(job.requestedTime == 1800)
    #expect(job.requestedProcs == 8)
    #expect(job.requestedNodes == 2)
    #expect(job.requestedMemoryKB == 4000 * 1024 * 2 / 8)
    #expect(job.user == 1000)
    #expect(job.group == BatchScriptAnalysis.stableID("physics"))
    #expect(job.application == BatchScriptAnalysis.stableID("wrap"))
    // Extremes never trap.
    var x = SubmitRequest()
    x.uid = Int64.max
    x.tasks = Int64.max
    x.cpusPerTask = Int64.max
    x.timeLimitMinutes = Int64.max
    x.memoryPerNodeMB = Int64.max
    x.minNodes = Int64.max
    x.minCPUs = Int64.max
    x.hourOfDay = 99
    let y = SubmitProfiler.record(for: x, script: nil)
    #expect(y.user == -1)
    #expect(y.requestedTime == -1)
    #expect(y.hourOfDay == 23)
}

@Test func latencyHistogramQuantiles() {
    var h = LatencyHistogram()
    #expect(h.quantileNanoseconds(0.5) == 0)
    for ns in 1 ... 100 { h.record(nanoseconds: UInt64(ns) * 1000) }
    h.record(nanoseconds: 10_000_000)
    #expect(h.count == 101)
    #expect(h.quantileNanoseconds(0.5) == 51_250)  // upper bound of the 250 ns bucket
    #expect(h.quantileNanoseconds(0.99) == 100_250)
    #expect(h.quantileNanoseconds(1) == 10_000_000)
    #expect(h.maxNanoseconds == 10_000_000)
    #expect(h.summary.hasPrefix("count=101 "))
    // Beyond 256 µs the buckets grow by 2^(1/4): 1 ms lands in a bucket whose bound is within 19 % above it.
    var slow = LatencyHistogram()
    for _ in 0 ..< 10 { slow.record(nanoseconds: 1_000_000) }
    slow.record(nanoseconds: 2_000_000_000)
    let p50 = slow.quantileNanoseconds(0.5)
    #expect(p50 >= 1_000_000 && p50 <= 1_190_000, "\(p50)")
    #expect(slow.quantileNanoseconds(1) == 2_000_000_000)
}

/// The stats' copy of the plugin's histograms (taken under the submit path's mutex): equal to its source, in the
/// buffer it already had, and sharing none with the source, so that neither side's next record has to copy.
@Test func latencyHistogramCopyContentsCopiesIntoItsOwnBuffer() {
    func base(_ h: LatencyHistogram) -> UnsafePointer<UInt64>? { h.buckets.withUnsafeBufferPointer { $0.baseAddress } }
    var source = LatencyHistogram()
    for ns in [300, 5_000, 5_100, 70_000, 3_000_000] as [UInt64] { source.record(nanoseconds: ns) }
    var copy = LatencyHistogram()
    for _ in 0 ..< 50 { copy.record(nanoseconds: 9_999_999) }  // more than the source: all of it is overwritten
    let copyBuffer = base(copy)
    let sourceBuffer = base(source)
    copy.copyContents(of: source)
    #expect(copy == source)
    #expect(base(copy) == copyBuffer && base(copy) != base(source))
    source.record(nanoseconds: 1_000)
    #expect(base(source) == sourceBuffer)
    #expect(copy.count == 5 && source.count == 6 && copy != source)
    var phases = SubmitPhaseTimes()
    phases.record(start: 0, scriptDone: 1_000, modelDone: 21_000, outputDone: 24_000)
    var phasesCopy = SubmitPhaseTimes()
    phasesCopy.copyContents(of: phases)
    #expect(phasesCopy == phases && phasesCopy.summary == phases.summary)
}

/// The plugin's phase times: each phase is the gap between its timestamps, a clock that went backwards counts 0,
/// and the summary names each phase so that a script can find its fields.
@Test func submitPhaseTimesSplitTheJob() {
    var p = SubmitPhaseTimes()
    p.record(start: 1_000, scriptDone: 5_000, modelDone: 25_000, outputDone: 27_000)
    p.record(start: 2_000, scriptDone: 1_000, modelDone: 3_000, outputDone: 2_500)
    #expect(p.script.count == 2 && p.model.count == 2 && p.output.count == 2)
    #expect(p.script.maxNanoseconds == 4_000 && p.script.totalNanoseconds == 4_000)  // 4 µs, and 0 (backwards)
    #expect(p.model.maxNanoseconds == 20_000 && p.model.totalNanoseconds == 22_000)  // 20 µs and 2 µs
    #expect(p.output.maxNanoseconds == 2_000 && p.output.totalNanoseconds == 2_000)  // 2 µs, and 0 (backwards)
    #expect(p.summary.hasPrefix("phase_script: count=2 mean_us=2.0 "))
    #expect(p.summary.contains(" phase_model: count=2 mean_us=11.0 p50_us=2.3 "))
    #expect(p.summary.contains(" phase_output: count=2 mean_us=1.0 p50_us=0.3 "))
}

/// The string-interpolating annotation the byte writer replaced, kept as the reference it must match.
private func referenceAnnotation(
    request r: SubmitRequest, prediction: RuntimePrediction?, modelID: String?, script: BatchScriptAnalysis?
) -> String {
    func formatted(_ v: Double) -> String {
        guard v.isFinite else { return "-1" }
        let hundredths = Int64((Swift.min(v, 1e12) * 100).rounded())
        let frac = hundredths % 100
        return "\(hundredths / 100).\(frac < 10 ? "0" : "")\(frac)"
    }
    var parts = [SubmitProfiler.marker]
    if let p = prediction, let modelID {
        var limit = Double.greatestFiniteMagnitude
        if r.timeLimitMinutes > 0 { limit = Double(r.timeLimitMinutes) * 60 }
        func seconds(_ v: Float) -> Int64 { Int64(Swift.max(1, Swift.min(Double(v), limit, 1e9)).rounded()) }
        let rt = seconds(p.point)
        parts.append("rt=\(rt)")
        parts.append("rt50=\(seconds(p.p50))")
        parts.append("rt90=\(seconds(p.p90))")
        parts.append("cand=\(p.candidate.name)")
        parts.append("cpuh=\(formatted(Double(Swift.max(r.processors, 1)) * Double(rt) / 3600))")
        parts.append("model=\(modelID)")
    } else {
        parts.append("model=none")
    }
    if let s = script {
        if !s.isText {
            parts.append("script=binary")
        } else {
            if let exe = s.mainExecutable { parts.append("exe=\(SubmitProfiler.token(exe))") }
            parts.append("launch=\(s.launchers.isEmpty ? "none" : SubmitProfiler.token(s.launchers.names.joined(separator: "+")))")
            parts.append("mods=\(s.modules.count)")
            parts.append("gpu=\(s.gpuHints)")
            if s.truncated { parts.append("script=truncated") }
        }
    }
    return parts.joined(separator: " ")
}

@Test func annotationWriterMatchesTheStringReference() {
    let scripts = [
        "#!/bin/bash\nmodule load gcc cuda/12\nsrun --gpus=2 python train.py\n",
        "#!/bin/bash\nmpirun -np 4 ./a.out\ntorchrun x.py\nsrun ./b\n",
        "#!/bin/bash\n./" + String(repeating: "ü", count: 40) + " arg\n",
        "#!/bin/bash\necho hi\n", "\u{0}\u{1}binary",
        // Every launcher: their names joined are longer than a token's 48 bytes, and cut there.
        "#!/bin/bash\nsrun a\nmpirun b\nmpiexec c\ncharmrun d\ntorchrun e\naprun f\nibrun g\njsrun h\n"
            + "deepspeed i\naccelerate j\nhorovodrun k\n",
    ].map { BatchScriptAnalysis.analyze($0) }
    #expect(scripts[5].launchers.names.joined(separator: "+").utf8.count > 48)
    var truncated = scripts[0]
    truncated.truncated = true
    let values: [Float] = [0, 0.4, 1, 59.5, 1830.4, 3600, 86_399.6, 1e9, 3e12, .infinity]
    var checked = 0
    for (i, point) in values.enumerated() {
        for limit: Int64 in [-1, 1, 60, 2880] {
            for tasks: Int64 in [-1, 1, 64, 1 << 40] {
                var r = SubmitRequest()
                r.timeLimitMinutes = limit
                r.tasks = tasks
                let p = RuntimePrediction(
                    point: point, p50: values[(i + 3) % values.count], p90: values[(i + 5) % values.count],
                    candidate: RuntimeCandidate.allCases[i % RuntimeCandidate.count], scale: 1, expectedAccuracy: 0.5)
                for script in scripts + [truncated, nil] as [BatchScriptAnalysis?] {
                    for (prediction, model) in [(p, "0a1b2c3d"), (nil, nil)] as [(RuntimePrediction?, String?)] {
                        let a = SubmitProfiler.annotation(request: r, prediction: prediction, modelID: model, script: script)
                        #expect(a == referenceAnnotation(request: r, prediction: prediction, modelID: model, script: script))
                        checked += 1
                    }
                }
            }
        }
    }
    #expect(checked == 10 * 4 * 4 * 8 * 2)
    #expect(SubmitProfiler.token("") == "-")
    #expect(SubmitProfiler.token(String(repeating: "x", count: 60)).utf8.count == 48)
}

/// `train` learns from every finished job, also those that ended after the last submission; with `knownAt`, only
/// from the ones that ended before it. Until 2026-12-01 a history where every job was submitted before any ended
/// trained on none (`tooFewJobs(found: 0)`).
@Test func trainingUsesJobsThatEndedAfterTheLastSubmission() throws {
    // 120 jobs submitted 10 s apart, each running at least 5,000 s: none ends before the last submission.
    let jobs = (0 ..< 120).map { i in
        let user = Int32(i % 4)
        let runtime = Int64(5_000 + 1_000 * Int(user) + (i % 5) * 10)
        return JobRecord(
            id: Int64(i), submit: 1_000_000 + Int64(i) * 10, wait: 0, runtime: runtime, allocatedProcs: 4,
            requestedProcs: 4, requestedTime: runtime * 2, user: user)
    }
    var p = RuntimeModelParameters()
    p.forest.treeCount = 4
    let model = try SubmitModel.train(jobs: jobs, capacityProcs: 0, parameters: p, source: "burst")
    #expect(model.trainingJobs == 120)
    let newest = try SubmitModel.train(jobs: jobs, capacityProcs: 0, window: 50, parameters: p, source: "burst")
    #expect(newest.trainingJobs == 50)

    // knownAt: what a model trained at that moment could have seen. The first job ends at 1,005,000.
    #expect(throws: SubmitModel.TrainingError.tooFewJobs(found: 0, needed: SubmitModel.minimumJobs)) {
        try SubmitModel.train(jobs: jobs, capacityProcs: 0, parameters: p, source: "burst", knownAt: 1_005_000)
    }
    let ended = jobs.filter { $0.submit + $0.runtime < 1_007_000 }.count
    #expect(ended >= SubmitModel.minimumJobs && ended < 120)
    let partial = try SubmitModel.train(jobs: jobs, capacityProcs: 0, parameters: p, source: "burst", knownAt: 1_007_000)
    #expect(partial.trainingJobs == ended)
}

/// The annotation handed to the C shim: all of it when it fits, else cut before the first character that does not
/// fit whole (never inside one), always NUL-terminated within the buffer.
@Test func cStringCopyCutsOnCharacterBoundaries() {
    let text = "ab" + "é" + "c" + "€" + "😀" + "z"  // 1, 1, 2, 1, 3, 4, 1 bytes
    let boundaries = [0, 1, 2, 4, 5, 8, 12, 13]
    var buffer = [CChar](repeating: 0x55, count: 32)
    for capacity in 1 ... 20 {
        for i in buffer.indices { buffer[i] = 0x55 }
        let n = buffer.withUnsafeMutableBufferPointer {
            SubmitProfiler.copyCString(text, into: $0.baseAddress!, capacity: capacity)
        }
        let expected = boundaries.last { $0 <= capacity - 1 } ?? 0
        #expect(n == expected, "capacity \(capacity)")
        #expect(buffer[n] == 0)
        #expect(buffer[capacity...].allSatisfy { $0 == 0x55 }, "wrote past capacity \(capacity)")
        let bytes = buffer[..<n].map { UInt8(bitPattern: $0) }
        #expect(String(validating: bytes, as: UTF8.self) == String(decoding: Array(text.utf8.prefix(n)), as: UTF8.self))
    }
    var untouched: CChar = 0x55
    #expect(SubmitProfiler.copyCString(text, into: &untouched, capacity: 0) == 0)
    #expect(untouched == 0x55)
}

/// The profiler writes the annotation of a job whose field is empty straight into Slurm's buffer: the same bytes as
/// the annotation string (with the modify suffix) copied there, at every capacity, cut at 1,024 bytes.
@Test func annotationWrittenIntoTheBufferEqualsTheCopiedString() {
    let scripts = [
        "#!/bin/bash\nmodule load gcc cuda/12\nsrun --gpus=2 python train.py\n",
        "#!/bin/bash\n./" + String(repeating: "ü", count: 40) + " arg\n", "\u{0}\u{1}binary",
    ].map { BatchScriptAnalysis.analyze($0) } + [nil]
    var r = SubmitRequest()
    r.timeLimitMinutes = 90
    r.tasks = 8
    let p = RuntimePrediction(point: 1830, p50: 1700, p90: 3600, candidate: .last2, scale: 1, expectedAccuracy: 0.5)
    var buffer = [CChar](repeating: 0x55, count: 1300)
    var compared = 0
    for script in scripts {
        for (prediction, model) in [(p, "0a1b2c3d"), (nil, nil), (p, String(repeating: "m", count: 1100))]
            as [(RuntimePrediction?, String?)] {
            for suffix in ["", " src=modify"] {
                let text = SubmitProfiler.annotation(request: r, prediction: prediction, modelID: model, script: script)
                    + suffix
                for capacity in [1, 2, 17, 64, 200, 1024, 1025, 1026, 1300] {
                    for i in buffer.indices { buffer[i] = 0x55 }
                    let n = buffer.withUnsafeMutableBufferPointer {
                        SubmitProfiler.writeAnnotation(
                            request: r, prediction: prediction, modelID: model, script: script, suffix: suffix,
                            into: $0.baseAddress!, capacity: capacity)
                    }
                    let expected = Array(text.utf8.prefix(Swift.min(capacity - 1, SubmitProfiler.maxAnnotationBytes)))
                    #expect(n == expected.count)
                    #expect(buffer[..<n].map { UInt8(bitPattern: $0) } == expected)
                    #expect(buffer[n] == 0)
                    #expect(buffer[(n + 1)...].allSatisfy { $0 == 0x55 })
                    compared += 1
                }
            }
        }
    }
    #expect(compared == 4 * 3 * 2 * 9)
}

/// Names become the same numbers in every model ever trained: 32-bit FNV-1a of the UTF-8 bytes, top bit cleared,
/// whether the string is small, long, non-ASCII or a slice's copy (the contiguous fast path and the iterator agree).
@Test func stableIDsAreFNV1aOfTheBytes() {
    let known: [(String, Int32)] = [
        ("", 18_652_613), ("lmp", 1_012_358_342), ("physics", 119_741_602),
        ("a-much-longer-application-name-than-fifteen", 530_234_607), ("ünïcödé", 820_705_234),
    ]
    for (name, id) in known {
        #expect(BatchScriptAnalysis.stableID(name) == id, "\(name)")
        let sliced = String(("x" + name + "y").dropFirst().dropLast())
        #expect(BatchScriptAnalysis.stableID(sliced) == id, "\(name) from a slice")
    }
}

/// The annotation memo writes exactly what formatting writes: over a sequence of jobs drawn from small pools (so
/// that most jobs repeat an earlier one, and consecutive jobs often differ in a single input), every field the
/// annotation reads changes the bytes or leaves them as formatting would.
@Test func annotationMemoWritesWhatFormattingWrites() {
    let scripts = [
        "#!/bin/bash\nmodule load gcc cuda/12\nsrun --gpus=2 python train.py\n",
        "#!/bin/bash\nmodule load gcc\nsrun python train.py\n",
        "#!/bin/bash\nmpirun ./a.out\n", "\u{0}\u{1}binary",
    ].map { BatchScriptAnalysis.analyze($0) } + [nil]
    var truncated = scripts[2]
    truncated?.truncated = true
    let allScripts = scripts + [truncated]
    let predictions: [RuntimePrediction?] = [
        RuntimePrediction(point: 1830, p50: 1700, p90: 3600, candidate: .last2, scale: 1, expectedAccuracy: 0.5),
        RuntimePrediction(point: 1831, p50: 1700, p90: 3600, candidate: .last2, scale: 1, expectedAccuracy: 0.5),
        RuntimePrediction(point: 1830, p50: 1701, p90: 3600, candidate: .last2, scale: 1, expectedAccuracy: 0.5),
        RuntimePrediction(point: 1830, p50: 1700, p90: 3601, candidate: .last2, scale: 1, expectedAccuracy: 0.5),
        RuntimePrediction(point: 1830, p50: 1700, p90: 3600, candidate: .median5, scale: 1, expectedAccuracy: 0.5),
        nil,
    ]
    let models: [String?] = ["0a1b2c3d", "0a1b2c3e", nil]
    var memo = AnnotationMemo()
    var fresh = [CChar](repeating: 0x55, count: 1100)
    var copied = [CChar](repeating: 0x55, count: 1100)
    var state: UInt64 = 20_261_202
    func draw(_ n: Int) -> Int {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Int((state >> 33) % UInt64(n))
    }
    var r = SubmitRequest()
    var p = predictions[0]
    var model = models[0]
    var script = allScripts[0]
    var suffix = ""
    var capacity = 1025
    for _ in 0 ..< 3000 {
        // Most jobs change one input at most, as a user's loop of submissions does.
        switch draw(10) {
        case 0: r.timeLimitMinutes = [30, 90, -1][draw(3)]
        case 1: r.tasks = [1, 8, 64][draw(3)]
        case 2: p = predictions[draw(predictions.count)]
        case 3: model = models[draw(models.count)]
        case 4: script = allScripts[draw(allScripts.count)]
        case 5: suffix = ["", " src=modify"][draw(2)]
        case 6: capacity = [1, 40, 1025, 1100][draw(4)]
        default: break
        }
        for i in fresh.indices {
            fresh[i] = 0x55
            copied[i] = 0x55
        }
        let n = fresh.withUnsafeMutableBufferPointer {
            SubmitProfiler.writeAnnotation(
                request: r, prediction: p, modelID: model, script: script, suffix: suffix, into: $0.baseAddress!,
                capacity: capacity)
        }
        let m = copied.withUnsafeMutableBufferPointer {
            memo.writeAnnotation(
                request: r, prediction: p, modelID: model, script: script, suffix: suffix, into: $0.baseAddress!,
                capacity: capacity)
        }
        #expect(n == m)
        #expect(fresh == copied)
    }
    #expect(memo.hits > 1000)
    #expect(memo.misses > 500)
    #expect(memo.hits + memo.misses == 3000)
}

/// A model file that passes every checksum but whose contents were changed (a writer's bug, a hostile file) must be
/// refused with an error or load into a model that predicts without trapping: the plugin runs inside slurmctld.
/// The forest's payload, the runtime model's own fields and the job history are mutated in turn, and every
/// enclosing container is rebuilt around them so that its checksum is valid again.
@Test func checksumValidMutationsOfASubmitModelAreRefusedOrPredictSafely() throws {
    let model = try smallModel(jobs: 400)
    let bytes = model.serialize()
    let (_, submitPayload) = try ModelContainer.unwrap(
        bytes, kind: .submitModel, supportedVersions: SubmitModel.supportedPayloadVersions)
    let runtime = model.runtime.serialize()
    let history = model.history.serialize()
    let head = Array(submitPayload.prefix(submitPayload.count - 16 - runtime.count - history.count))
    func le64(_ v: Int) -> [UInt8] {
        var w = BinaryWriter(capacity: 8)
        w.write(UInt64(v))
        return w.bytes
    }
    // The layout this test rebuilds: the submit model's fields, then the runtime model and the history, each after
    // its length.
    #expect(submitPayload == head + le64(runtime.count) + runtime + le64(history.count) + history)
    let (_, runtimePayload) = try ModelContainer.unwrap(
        runtime, kind: .runtimeModel, supportedVersions: RuntimeModel.payloadVersion ... RuntimeModel.payloadVersion)
    let forest = model.runtime.forest.serialize()
    let runtimeFields = Array(runtimePayload.prefix(runtimePayload.count - forest.count))
    #expect(runtimeFields + forest == runtimePayload)
    let (_, forestPayload) = try ModelContainer.unwrap(
        forest, kind: .forest, supportedVersions: RandomForest.supportedPayloadVersions)

    func rebuild(forest f: [UInt8], runtimeFields r: [UInt8], history h: [UInt8]) -> [UInt8] {
        let forestFile = ModelContainer.wrap(kind: .forest, version: RandomForest.payloadVersion, payload: f)
        let fields = Array(r.dropLast(8)) + le64(forestFile.count)  // the forest's length ends the fields
        let runtimeFile = ModelContainer.wrap(
            kind: .runtimeModel, version: RuntimeModel.payloadVersion, payload: fields + forestFile)
        return ModelContainer.wrap(
            kind: .submitModel, version: SubmitModel.payloadVersion,
            payload: head + le64(runtimeFile.count) + runtimeFile + le64(h.count) + h)
    }
    #expect(rebuild(forest: forestPayload, runtimeFields: runtimeFields, history: history) == bytes)

    var rng = SplitMix64(seed: 20_261_203)
    func mutate(_ original: [UInt8]) -> [UInt8] {
        var b = original
        for _ in 0 ... Int(rng.next() % 3) {
            let at = Int(rng.next() % UInt64(b.count))
            let word = at & ~3
            switch rng.next() % 5 {
            case 0: b[at] ^= UInt8(1) << UInt8(rng.next() % 8)
            case 1: b[at] = UInt8(truncatingIfNeeded: rng.next())
            case 2:  // an interesting 32-bit integer
                let values: [Int32] = [-1, 0, 1, 2, Int32.max, Int32.min, 255, 65_535, 1 << 24]
                let v = UInt32(bitPattern: values[Int(rng.next() % UInt64(values.count))])
                if word + 4 <= b.count { for i in 0 ..< 4 { b[word + i] = UInt8(truncatingIfNeeded: v >> (8 * i)) } }
            case 3:  // a special Float
                let values: [Float] = [.nan, .infinity, -.infinity, 0, -0.0, 1e30, -1e30]
                let v = values[Int(rng.next() % UInt64(values.count))].bitPattern
                if word + 4 <= b.count { for i in 0 ..< 4 { b[word + i] = UInt8(truncatingIfNeeded: v >> (8 * i)) } }
            default:  // a word copied from elsewhere (an offset or count that is plausible but wrong)
                let from = Int(rng.next() % UInt64(b.count))
                if at + 4 <= b.count, from + 4 <= b.count { for i in 0 ..< 4 { b[at + i] = b[from + i] } }
            }
        }
        return b
    }
    var loaded = [0, 0, 0]
    var refused = [0, 0, 0]
    for round in 0 ..< 450 {
        let part = round % 3
        let file = rebuild(
            forest: part == 0 ? mutate(forestPayload) : forestPayload,
            runtimeFields: part == 1 ? mutate(runtimeFields) : runtimeFields,
            history: part == 2 ? mutate(history) : history)
        var m: SubmitModel
        do {
            m = try SubmitModel(deserializing: file)
        } catch {
            // A message for one log line: it names what is wrong, and the file's strings cannot make it long.
            #expect(!error.message.isEmpty && error.description.utf8.count < 600, "\(error)")
            refused[part] += 1
            continue
        }
        loaded[part] += 1
        for j in 0 ..< 8 {
            var request = SubmitRequest()
            request.uid = Int64(j % 7) - 1
            request.timeLimitMinutes = [-1, 0, 10, 600, Int64.max][j % 5]
            request.minCPUs = [-1, 1, 4, 1 << 40][j % 4]
            request.submitTime = 3_000_000 + Int64(j) * 60
            let prediction = m.predict(SubmitProfiler.record(for: request, script: nil), recording: j % 2 == 0)
            let text = SubmitProfiler.annotation(request: request, prediction: prediction, modelID: "m", script: nil)
            #expect(text.hasPrefix("prewarm:v1 "))
        }
    }
    // Both outcomes happen for every part: the mutations reach the checks, and some pass them.
    #expect(loaded.allSatisfy { $0 > 0 } && refused.allSatisfy { $0 > 0 }, "loaded \(loaded), refused \(refused)")
}

/// prewarmd reads annotations with a scan of their bytes when they are ASCII from the marker on: the same result
/// as the general reading of the text on fields made of the annotation's pieces and the awkward ones (repeated
/// and empty keys, signs, overflow, extra `=`, runs of spaces, text before the marker, a second marker), and on
/// fields that are not ASCII, which go to the general reading.
@Test func annotationsAreReadTheSameFromTheirBytesAsFromTheirText() {
    let pieces = [
        "prewarm:v1", "prewarm:v1", "rt=", "rt50=", "rt90=", "model=", "rt", "=", "=", " ", " ", " ", "  ", "0", "1", "7",
        "1830", "-5", "+9", "99999999999999999999", "9223372036854775807", "-9223372036854775808", "x", "ab", "rt=5",
        "rt90=0", "model", "mo", "rt5=", "rt900=", "\t", "\r\n", "é", "\u{301}", "op:", "prewarm:v", "v1",
    ]
    var g = SplitMix64(seed: 17)
    var fields = ["", "prewarm:v1", "prewarm:v1 rt=1 rt50=1 rt90=1 model=m", "prewarm:v1 rt=1 rt50=1 rt90=1 model="]
    func pick(_ a: [String]) -> String { a[Int(g.next() % UInt64(a.count))] }
    let keys = ["rt", "rt50", "rt90", "model", "rt", "rt90", "cand", "rt5", "modell", ""]
    let values = ["1830", "5400", "1", "0", "-5", "+9", "", "x", "12a", "99999999999999999999", "9223372036854775807",
                  "forest-3", "a=b", "é"]
    for k in 0 ..< 40_000 {
        if k % 2 == 0 {  // free: any pieces in any order
            let n = Int(g.next() % 14)
            fields.append((0 ..< n).map { _ in pick(pieces) }.joined())
        } else {  // shaped like an annotation: text, the marker, then key=value tokens between spaces
            let good = ["1830", "5400", "1", "60", "7200"]
            var tokens = ["rt", "rt50", "rt90"].map { $0 + "=" + pick(g.next() % 4 == 0 ? values : good) }
                + ["model=" + pick(["forest-3", "m", "", "é", "a=b"])]
            for _ in 0 ..< Int(g.next() % 3) {
                tokens.insert(pick(keys) + pick(["=", "=", "", "=="]) + pick(values), at: Int(g.next() % 5))
            }
            if g.next() % 3 == 0 { tokens.shuffle(using: &g) }
            var f = pick(["", "", "note ", "é ", "x", "prewarm:v1 rt=2 "]) + "prewarm:v1"
            for t in tokens { f += pick([" ", " ", " ", " ", "  ", "\u{301} ", " \u{301}"]) + t }
            fields.append(f)
        }
    }
    var read = 0, ascii = 0
    for f in fields {
        let fast = SubmitProfiler.parse(f)
        let text = SubmitProfiler.parseText(f)
        #expect(fast?.rt == text?.rt && fast?.rt50 == text?.rt50 && fast?.rt90 == text?.rt90
            && fast?.model == text?.model, "\(f.debugDescription)")
        if fast != nil { read += 1 }
        var copy = f
        if case .read = copy.withUTF8({ SubmitProfiler.parseASCII($0) }) { ascii += 1 }
    }
    // The cases the comparison is about occur: annotations read, and most fields taken by the scan.
    #expect(read > 100 && ascii > fields.count / 2, "\(read) read, \(ascii) by the scan")
}
