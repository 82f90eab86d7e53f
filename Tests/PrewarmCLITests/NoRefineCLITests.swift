// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import Foundation
import PrewarmCore
import Testing

/// `prewarm train --no-refine` writes a model that chooses a runtime candidate as it is (no scale), and
/// `prewarm simulate --no-refine` runs prewarm's online runtime model the same way; reactive is untouched.
@Test func trainAndSimulateWithoutScaleRefinement() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("prewarm-norefine-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    func trained(_ extra: [String]) throws -> SubmitModel {
        let path = dir.appendingPathComponent("m\(extra.count).model").path
        let t = try prewarm(["train", "--trace", fixture, "--out", path, "--trees", "8", "--window", "2000"] + extra)
        #expect(t.status == 0, "stderr: \(t.stderr)")
        return try SubmitModel(deserializing: Array(try Data(contentsOf: URL(fileURLWithPath: path))))
    }
    var plain = try trained([])
    var lean = try trained(["--no-refine"])
    #expect(plain.runtime.parameters.refineScale && !lean.runtime.parameters.refineScale)
    // Jobs of the fixture's users with varied limits and sizes, as the plugin would see them.
    var plainScales: [Float] = []
    var leanScales: [Float] = []
    for i in 0 ..< 200 {
        var r = SubmitRequest()
        r.uid = Int64(1 + i % 40)
        r.tasks = Int64(1 << (i % 5))
        r.timeLimitMinutes = Int64(10 + 37 * (i % 23))
        r.submitTime = 1_000_000 + Int64(i) * 977
        r.hourOfDay = i % 24
        r.dayOfWeek = i % 7
        let record = SubmitProfiler.record(for: r, script: nil)
        plainScales.append(plain.predict(record, recording: true).scale)
        leanScales.append(lean.predict(record, recording: true).scale)
    }
    #expect(leanScales.allSatisfy { $0 == 1 })
    #expect(plainScales.contains { $0 != 1 })

    func simulate(_ extra: [String]) throws -> [String: Any] {
        let s = try prewarm(["simulate", "--trace", fixture, "--json", "--policies", "reactive,prewarm"] + extra)
        #expect(s.status == 0, "stderr: \(s.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(s.stdout.utf8)) as? [String: Any])
    }
    let refined = try simulate([])
    let unrefined = try simulate(["--no-refine"])
    #expect(refined["runtime_scale_refinement"] as? Bool == true)
    #expect(unrefined["runtime_scale_refinement"] as? Bool == false)
    let a = try #require((refined["policies"] as? [String: Any])?["reactive"] as? [String: Any])
    let b = try #require((unrefined["policies"] as? [String: Any])?["reactive"] as? [String: Any])
    for key in ["mean_wait_s", "boot_wait_s", "idle_node_hours", "power_cycles"] {
        #expect((a[key] as? NSNumber) == (b[key] as? NSNumber), "\(key)")
    }
}
