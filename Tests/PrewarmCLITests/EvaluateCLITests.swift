// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing

@Test func evaluateJSONOnARealTraceSlice() throws {
    let r = try prewarm(["evaluate", "--trace", fixture, "--json", "--trees", "8", "--warmup", "300",
                         "--retrain-jobs", "500"])
    #expect(r.status == 0, "stderr: \(r.stderr)")
    let obj = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
    #expect(obj["trace"] as? String == "kth-2500.swf")
    let jobs = try #require(obj["jobs"] as? Int)
    #expect(jobs > 2000 && jobs <= 2500)
    let predictors = try #require(obj["predictors"] as? [String: [String: Double]])
    #expect(Set(predictors.keys) == ["user_estimate", "last2", "same_request", "prewarm"])
    for (name, m) in predictors {
        for key in ["accuracy", "mae_s", "median_ae_s", "under_pct"] {
            #expect(m[key] != nil, "\(name) lacks \(key)")
        }
        let acc = try #require(m["accuracy"])
        #expect(acc > 0.1 && acc <= 1, "\(name) accuracy \(acc)")
    }
    let coverage = try #require(predictors["prewarm"]?["p90_coverage"])
    #expect(coverage > 0.5 && coverage <= 1)
    // The baselines are deterministic functions of the trace: user estimates on this slice score ≈ 0.4–0.5.
    let ue = try #require(predictors["user_estimate"]?["accuracy"])
    #expect(ue > 0.35 && ue < 0.6)
}

@Test func evaluateReportsMalformedLinesWithFileLineAndField() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("prewarm-cli-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let bad = dir.appendingPathComponent("bad.swf")
    let good = "1 0 0 100 1 -1 -1 1 200 -1 1 1 1 -1 -1 -1 -1 -1\n"
    try (good + good + "3 0 0 abc 1 -1 -1 1 200 -1 1 1 1 -1 -1 -1 -1 -1\n" + good).write(
        to: bad, atomically: true, encoding: .utf8)
    let strict = try prewarm(["evaluate", "--trace", bad.path])
    #expect(strict.status == 2)
    #expect(strict.stderr.contains("bad.swf:3"), "stderr: \(strict.stderr)")
    #expect(strict.stderr.contains("field 4"), "stderr: \(strict.stderr)")
    let lenient = try prewarm(["evaluate", "--trace", bad.path, "--lenient", "--json", "--warmup", "10"])
    #expect(lenient.status == 0, "stderr: \(lenient.stderr)")
    #expect(lenient.stderr.contains("skipped 1 malformed line"))
}

@Test func evaluateControllerViewReportsBothHistories() throws {
    let r = try prewarm(["evaluate", "--trace", fixture, "--json", "--trees", "8", "--warmup", "300",
                         "--retrain-jobs", "500", "--controller-view", "--controller-refresh-minutes", "60"])
    #expect(r.status == 0, "stderr: \(r.stderr)")
    let obj = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
    let view = try #require(obj["controller_view"] as? [String: [String: Double]])
    #expect(Set(view.keys) == ["live_history", "controller_history"])
    for (name, m) in view {
        let acc = try #require(m["accuracy"], "\(name)")
        #expect(acc > 0.1 && acc <= 1, "\(name) accuracy \(acc)")
        #expect(m["p90_coverage"] != nil, "\(name)")
    }
    let table = try prewarm(["evaluate", "--trace", fixture, "--trees", "8", "--warmup", "300", "--retrain-jobs", "500",
                             "--controller-view"])
    #expect(table.status == 0)
    #expect(table.stdout.contains("Inside slurmctld (--controller-view)"))
    let refused = try prewarm(["evaluate", "--trace", fixture, "--controller-refresh-minutes", "10"])
    #expect(refused.status != 0)
    #expect(refused.stderr.contains("--controller-refresh-minutes needs --controller-view"), "\(refused.stderr)")
}
