// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
//
// Fuzz target over the in-controller entry point (prewarm_submit_profile, the C ABI the job_submit plugin
// calls) and the batch-script analyser. Two builds:
//   - libFuzzer (bench/fuzz-submit): swift build -Xswiftc -sanitize=fuzzer,address -Xswiftc -DPREWARM_LIBFUZZER
//     -Xswiftc -parse-as-library --product prewarm-fuzz; libFuzzer drives LLVMFuzzerTestOneInput.
//   - replay (default build): `prewarm-fuzz FILE...` runs each file through the same function once — the
//     regression mode for a saved corpus and for crashes libFuzzer found.
// PREWARM_FUZZ_MODEL=/path/model makes the entry point predict with a real model (else model=none paths).
// PREWARM_FUZZ_TARGET=model or conf fuzzes the model file's reader or prewarm.conf's instead (ModelFuzz.swift).

import CPrewarmSubmit
import PrewarmCore
import PrewarmSubmit

#if canImport(Glibc)
import Glibc
#endif

/// Decodes fuzz bytes into a job: the first 8 bytes pick the "unknown" pattern and the magnitudes of the
/// numeric fields, then NUL-separated strings for the text fields; what is left is the batch script.
enum FuzzInput {
    nonisolated(unsafe) static var initialised = false

    static func setUp() {
        guard !initialised else { return }
        initialised = true
        let dir = "/tmp/prewarm-fuzz.\(getpid())"
        mkdir(dir, 0o700)
        let conf = dir + "/prewarm.conf"
        var text = "NotifySocket=\(dir)/none.sock\nMaxScriptBytes=65536\nReloadInterval=3600\n"
        if let model = getenv("PREWARM_FUZZ_MODEL") { text += "ModelFile=\(String(cString: model))\n" }
        if let f = fopen(conf, "w") {
            fputs(text, f)
            fclose(f)
        }
        _ = prewarm_submit_init(conf, nil)
    }

    /// The target PREWARM_FUZZ_TARGET names (read once): submit (the default), model or conf.
    nonisolated(unsafe) static var target: String?

    static func dispatch(_ data: UnsafeRawBufferPointer) {
        if target == nil { target = getenv("PREWARM_FUZZ_TARGET").map { String(cString: $0) } ?? "submit" }
        switch target {
        case "model": ModelFuzz.run(data)
        case "conf": ConfigurationFuzz.run(data)
        case "submit": run(data)
        default: ModelFuzz.fail("PREWARM_FUZZ_TARGET must be submit, model or conf, found '\(target ?? "")'")
        }
    }

    static func run(_ data: UnsafeRawBufferPointer) {
        setUp()
        // 1. The analyser alone, on every prefix length the data allows (bounded: whole buffer and a cut).
        _ = BatchScriptAnalysis.analyze(data)
        if data.count > 3 { _ = BatchScriptAnalysis.analyze(UnsafeRawBufferPointer(rebasing: data[1...]), maxBytes: data.count / 2) }

        // 2. The C entry point with a job decoded from the bytes.
        var cursor = 0
        func byte() -> UInt8 {
            guard cursor < data.count else { return 0 }
            defer { cursor += 1 }
            return data[cursor]
        }
        func number() -> Int64 {
            switch byte() % 6 {
            case 0: return -1
            case 1: return Int64(byte())
            case 2: return Int64(byte()) << 8 | Int64(byte())
            case 3: return Int64.max
            case 4: return Int64.min
            default: return Int64(bitPattern: UInt64(byte()) << 56 | UInt64(byte()) << 24 | UInt64(byte()))
            }
        }
        var job = prewarm_job_t()
        job.abi = UInt32(PREWARM_SUBMIT_ABI)
        job.is_modify = UInt32(byte() & 1)
        job.uid = number()
        job.gid = number()
        job.job_id = number()
        job.min_cpus = number()
        job.min_nodes = number()
        job.num_tasks = number()
        job.cpus_per_task = number()
        job.mem_per_node_mb = number()
        job.mem_per_cpu_mb = number()
        job.time_limit_min = number()
        job.time_min_min = number()
        job.nice = number()
        job.priority = number()
        job.begin_time = number()
        job.submit_time = number()
        // Up to 9 NUL-terminated strings, then the script (not NUL-terminated).
        var strings: [[CChar]] = []
        for _ in 0 ..< 9 {
            var s: [CChar] = []
            while cursor < data.count, data[cursor] != 0, s.count < 300 {
                s.append(CChar(bitPattern: data[cursor]))
                cursor += 1
            }
            if cursor < data.count { cursor += 1 }
            s.append(0)
            strings.append(s)
        }
        let script = UnsafeRawBufferPointer(rebasing: data[Swift.min(cursor, data.count)...])
        var out = [CChar](repeating: 0, count: 2048)
        var field: Int32 = 0
        strings[0].withUnsafeBufferPointer { account in
        strings[1].withUnsafeBufferPointer { partition in
        strings[2].withUnsafeBufferPointer { qos in
        strings[3].withUnsafeBufferPointer { name in
        strings[4].withUnsafeBufferPointer { tres in
        strings[5].withUnsafeBufferPointer { array in
        strings[6].withUnsafeBufferPointer { dependency in
        strings[7].withUnsafeBufferPointer { admin in
        strings[8].withUnsafeBufferPointer { comment in
            job.account = account.baseAddress
            job.partition = partition.baseAddress
            job.qos = qos.baseAddress
            job.name = name.baseAddress
            job.tres = tres.baseAddress
            job.array_spec = array.baseAddress
            job.dependency = dependency.baseAddress
            job.admin_comment = admin.baseAddress
            job.comment = comment.baseAddress
            job.script = script.baseAddress?.assumingMemoryBound(to: CChar.self)
            job.script_len = script.count
            // Also the smallest output buffers: the annotation must be cut, never overflow.
            for size in [out.count, 2, 17] {
                let n = out.withUnsafeMutableBufferPointer { o in
                    prewarm_submit_profile(&job, o.baseAddress, size, &field)
                }
                if n < 0 || Int(n) >= size || out[Int(n)] != 0 { abort() }
            }
        }}}}}}}}}
    }
}

#if PREWARM_LIBFUZZER
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    FuzzInput.dispatch(UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size))
    return 0
}

typealias FuzzCallback = @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: FuzzCallback) -> Int32

/// SwiftPM links an executable's entry point as `<Target>_main`; hand control to libFuzzer's driver.
@_cdecl("PrewarmFuzz_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var count = argc
    var vector = argv
    return LLVMFuzzerRunDriver(&count, &vector) { data, size in fuzzTestOneInput(data, size) }
}
#else
@main
enum ReplayMain {
    static func main() {
        let files = CommandLine.arguments.dropFirst()
        if files.isEmpty {
            warn("usage: prewarm-fuzz FILE... (replays each file through the fuzz target once)")
            exit(2)
        }
        var runs = 0
        for path in files {
            guard let bytes = readFile(path) else {
                warn("prewarm-fuzz: cannot open \(path)")
                exit(1)
            }
            bytes.withUnsafeBytes { FuzzInput.dispatch($0) }
            runs += 1
        }
        let models = FuzzInput.target == "model"
            ? " (model files: \(ModelFuzz.loaded) loaded and predicted with, \(ModelFuzz.refused) refused)" : ""
        print("prewarm-fuzz: replayed \(runs) input(s) without a crash\(models)")
        if FuzzInput.target == "model" && ModelFuzz.loaded == 0 {
            warn("prewarm-fuzz: no model file of these inputs loaded, so none was predicted with (the seeds need one)")
            exit(1)
        }
    }

    static func warn(_ s: String) { writeError(s) }
}
#endif
