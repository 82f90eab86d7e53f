// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing

@Test func trainWritesAModelThatPredictShowsAsThePluginWould() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("prewarm-train-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let model = dir.appendingPathComponent("m.model").path
    let t = try prewarm(["train", "--trace", fixture, "--out", model, "--trees", "8", "--window", "2000", "--json"])
    #expect(t.status == 0, "stderr: \(t.stderr)")
    let summary = try #require(try JSONSerialization.jsonObject(with: Data(t.stdout.utf8)) as? [String: Any])
    let id = try #require(summary["id"] as? String)
    #expect(id.count == 8)
    #expect((summary["jobs"] as? Int ?? 0) > 1500)
    let coverage = try #require(summary["holdout_p90_coverage"] as? Double)
    #expect(coverage > 0.8 && coverage <= 1)

    let script = dir.appendingPathComponent("job.sh").path
    try "#!/bin/bash\n#SBATCH -t 30\n#SBATCH -n 4\nmodule load gcc\nsrun ./solver in.dat\n"
        .write(toFile: script, atomically: true, encoding: .utf8)
    // The script's directives apply; the command line overrides them (-t 20), as with sbatch.
    let p = try prewarm(["predict", "--model", model, "--script", script, "-t", "20", "--uid", "3", "--json"])
    #expect(p.status == 0, "stderr: \(p.stderr)")
    let r = try #require(try JSONSerialization.jsonObject(with: Data(p.stdout.utf8)) as? [String: Any])
    let annotation = try #require(r["annotation"] as? String)
    #expect(annotation.hasPrefix("prewarm:v1 rt="))
    #expect(annotation.contains("model=\(id)"))
    #expect(annotation.contains("exe=solver launch=srun mods=1"))
    #expect(r["time_limit_min"] as? Int == 20)
    #expect(r["processors"] as? Int == 4)
    let p90 = try #require(r["p90_s"] as? Double)
    #expect(p90 > 0)
    // rt90 in the annotation never exceeds the time limit.
    let rt90 = annotation.split(separator: " ").first { $0.hasPrefix("rt90=") }.flatMap { Int($0.dropFirst(5)) }
    #expect((rt90 ?? Int.max) <= 20 * 60)

    // No model: the annotation says so instead of guessing.
    let none = try prewarm(["predict", "--script", script])
    #expect(none.status == 0)
    #expect(none.stdout.hasPrefix("prewarm:v1 model=none"))

    // A damaged model is refused with its path and the reason.
    let damaged = dir.appendingPathComponent("bad.model").path
    var bytes = try Data(contentsOf: URL(fileURLWithPath: model))
    bytes[bytes.count / 2] ^= 0xFF
    try bytes.write(to: URL(fileURLWithPath: damaged))
    let bad = try prewarm(["predict", "--model", damaged, "-t", "10"])
    #expect(bad.status != 0)
    #expect(bad.stderr.contains("bad.model") && bad.stderr.contains("checksum"))
    // Bad sbatch values are named.
    let badTime = try prewarm(["predict", "-t", "soon"])
    #expect(badTime.status != 0)
    #expect(badTime.stderr.contains("--time=soon"))
}
