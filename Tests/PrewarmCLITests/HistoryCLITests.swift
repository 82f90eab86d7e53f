// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing

@Test func historyImportIsIdempotentAndTrainAndRetrainReadTheStore() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("prewarm-history-cli-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let db = dir.appendingPathComponent("history.db").path

    let first = try prewarm(["history", "import", "--trace", fixture, "--db", db])
    #expect(first.status == 0, "stderr: \(first.stderr)")
    #expect(first.stdout.contains("read 2500 jobs from \(fixture); 2500 new, 0 already stored; 2500 jobs in the history"))
    let again = try prewarm(["history", "import", "--trace", fixture, "--db", db])
    #expect(again.status == 0)
    #expect(again.stdout.contains("0 new, 2500 already stored"))
    #expect(again.stdout.contains("nothing new: every job was already stored"))

    let stats = try prewarm(["history", "stats", "--db", db, "--json"])
    #expect(stats.status == 0, "stderr: \(stats.stderr)")
    let s = try #require(try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any])
    #expect(s["jobs"] as? Int == 2500)
    #expect(s["clusters"] as? [String] == ["kth-2500"])
    #expect((s["users"] as? Int ?? 0) > 10)
    let text = try prewarm(["history", "stats", "--db", db])
    #expect(text.stdout.contains("jobs        2500"))

    // train --db trains what train --trace trains on the same jobs (same held-out figures).
    let fromTrace = try prewarm(["train", "--trace", fixture, "--out", dir.appendingPathComponent("t.model").path,
                                 "--trees", "4", "--json"])
    let fromDB = try prewarm(["train", "--db", db, "--out", dir.appendingPathComponent("d.model").path,
                              "--trees", "4", "--json"])
    #expect(fromDB.status == 0, "stderr: \(fromDB.stderr)")
    let a = try #require(try JSONSerialization.jsonObject(with: Data(fromTrace.stdout.utf8)) as? [String: Any])
    let b = try #require(try JSONSerialization.jsonObject(with: Data(fromDB.stdout.utf8)) as? [String: Any])
    #expect(a["jobs"] as? Int == b["jobs"] as? Int)
    #expect(a["holdout_accuracy"] as? Double == b["holdout_accuracy"] as? Double)

    // retrain: no model yet → published; the same again → no worse → published; exit 0 both times.
    let model = dir.appendingPathComponent("prewarm.model").path
    let r1 = try prewarm(["retrain", "--db", db, "--model", model, "--holdout", "200", "--trees", "4", "--json"])
    #expect(r1.status == 0, "stderr: \(r1.stderr)")
    let d1 = try #require(try JSONSerialization.jsonObject(with: Data(r1.stdout.utf8)) as? [String: Any])
    #expect(d1["published"] as? Bool == true)
    #expect(d1["held_out"] as? Int == 200)
    #expect(FileManager.default.fileExists(atPath: model))
    let r2 = try prewarm(["retrain", "--db", db, "--model", model, "--holdout", "200", "--trees", "1", "--window", "50"])
    #expect(r2.status == 0)
    #expect(r2.stdout.hasPrefix("kept \(model): new model less accurate"))

    // retrain --history-only: the published history already holds every stored job; from the newest 1,000 only, it
    // is rewritten once, with the same runtime model.
    let h1 = try prewarm(["retrain", "--db", db, "--model", model, "--history-only"])
    #expect(h1.status == 0, "stderr: \(h1.stderr)")
    #expect(h1.stdout == "kept \(model): its history already holds the 2500 newest stored jobs\n")
    let before = try Data(contentsOf: URL(fileURLWithPath: model))
    let h2 = try prewarm(["retrain", "--db", db, "--model", model, "--history-only", "--max-jobs", "1000", "--json"])
    #expect(h2.status == 0, "stderr: \(h2.stderr)")
    let o2 = try #require(try JSONSerialization.jsonObject(with: Data(h2.stdout.utf8)) as? [String: Any])
    #expect(o2["refreshed"] as? Bool == true && o2["jobs"] as? Int == 1000)
    #expect(try Data(contentsOf: URL(fileURLWithPath: model)) != before)
    let h3 = try prewarm(["retrain", "--db", db, "--model", model, "--history-only", "--max-jobs", "1000"])
    #expect(h3.stdout.hasPrefix("kept \(model)"))
    let none = try prewarm(["retrain", "--db", db, "--model", dir.appendingPathComponent("absent.model").path,
                            "--history-only"])
    #expect(none.status == 1)
    #expect(none.stderr.contains("no usable published model to refresh at"), "\(none.stderr)")

    // Errors name the file.
    let junk = dir.appendingPathComponent("junk.db").path
    try Data(repeating: 0x41, count: 4096).write(to: URL(fileURLWithPath: junk))
    let bad = try prewarm(["history", "stats", "--db", junk])
    #expect(bad.status == 1)
    #expect(bad.stderr.contains("prewarm: \(junk): not a Prewarm history database, or damaged"))
    let both = try prewarm(["history", "import", "--db", db])
    #expect(both.status != 0)
    #expect(both.stderr.contains("give exactly one of --trace FILE and --sacct"))
}

/// `train --db` learns from every stored finished job, also those that ended after the last submission. Until
/// 2026-12-01 a store where every job was submitted before any ended trained on none ("only 0 finished jobs").
@Test func trainFromAStoreUsesJobsThatEndedAfterTheLastSubmission() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("prewarm-train-burst-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    // 80 jobs submitted 10 s apart, each running over an hour: all submitted before the first one ends.
    var swf = "; Version: 2.2\n; MaxProcs: 64\n"
    for i in 0 ..< 80 {
        let runtime = 4_000 + 500 * (i % 4) + i
        swf += "\(i + 1) \(i * 10) 0 \(runtime) 4 -1 -1 4 \(runtime * 2) -1 1 \(i % 4 + 1) 1 -1 1 1 -1 -1\n"
    }
    let trace = dir.appendingPathComponent("burst.swf").path
    try swf.write(toFile: trace, atomically: true, encoding: .utf8)
    let db = dir.appendingPathComponent("history.db").path
    let imported = try prewarm(["history", "import", "--trace", trace, "--db", db])
    #expect(imported.status == 0, "stderr: \(imported.stderr)")
    let r = try prewarm(["train", "--db", db, "--out", dir.appendingPathComponent("m.model").path, "--trees", "4",
                         "--json"])
    #expect(r.status == 0, "stderr: \(r.stderr)")
    let o = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
    #expect(o["jobs"] as? Int == 80)
}

/// `prewarm history prune`: removes the jobs submitted before a time, keeps the rest; refuses bad options and a
/// missing store, naming them.
@Test func historyPruneRemovesJobsSubmittedBeforeATime() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("prewarm-history-prune-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let db = dir.appendingPathComponent("history.db").path
    #expect(try prewarm(["history", "import", "--trace", fixture, "--db", db]).status == 0)
    // The fixture's submissions, as the store keeps them (the log's start time plus each job's offset).
    let stats = try #require(try JSONSerialization.jsonObject(
        with: Data(try prewarm(["history", "stats", "--db", db, "--json"]).stdout.utf8)) as? [String: Any])
    let first = try #require(stats["first_submit"] as? Int)
    let last = try #require(stats["last_submit"] as? Int)
    let cutoff = first + (last - first) / 2
    let r = try prewarm(["history", "prune", "--db", db, "--before", String(cutoff)])
    #expect(r.status == 0, "stderr: \(r.stderr)")
    let removed = try #require(Int(r.stdout.split(separator: " ").dropFirst(2).first ?? ""), "\(r.stdout)")
    #expect(removed > 0 && removed < 2500)
    #expect(r.stdout.hasSuffix("; \(2500 - removed) jobs in the history\n"), "\(r.stdout)")
    let after = try #require(try JSONSerialization.jsonObject(
        with: Data(try prewarm(["history", "stats", "--db", db, "--json"]).stdout.utf8)) as? [String: Any])
    #expect(after["jobs"] as? Int == 2500 - removed)
    #expect((after["first_submit"] as? Int ?? 0) >= cutoff)
    // Again: nothing older is left.
    #expect(try prewarm(["history", "prune", "--db", db, "--before", String(cutoff)]).stdout.contains(": removed 0 job(s)"))
    // --older-than counts from now: every job of 1996 goes.
    let all = try prewarm(["history", "prune", "--db", db, "--older-than", "365"])
    #expect(all.stdout.hasSuffix("; 0 jobs in the history\n"), "\(all.stdout)")
    let neither = try prewarm(["history", "prune", "--db", db])
    #expect(neither.status != 0 && neither.stderr.contains("give one of --older-than DAYS and --before UNIX_TIME"))
    let zero = try prewarm(["history", "prune", "--db", db, "--older-than", "0"])
    #expect(zero.status != 0 && zero.stderr.contains("--older-than: must be a whole number of days from 1 to 36500"))
    let missing = try prewarm(["history", "prune", "--db", dir.appendingPathComponent("none.db").path, "--before", "1"])
    #expect(missing.status == 1 && missing.stderr.contains("none.db") && missing.stderr.contains("no such file"))
    #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("none.db").path))
}
