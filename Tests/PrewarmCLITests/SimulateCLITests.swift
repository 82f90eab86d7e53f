// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing

@Test func simulateJSONHasEveryPolicyAndMetric() throws {
    let report = FileManager.default.temporaryDirectory.appendingPathComponent("prewarm-report-\(getpid()).html")
    defer { try? FileManager.default.removeItem(at: report) }
    let r = try prewarm(["simulate", "--trace", fixture, "--json", "--frontier", "--frontier-settings", "1:300,0:60:4,1:300:1:0",
                         "--report", report.path, "--price-per-node-hour", "0.5"])
    #expect(r.status == 0, "stderr: \(r.stderr)")
    // The report: one self-contained page, time series for reactive and prewarm, wait CDFs, the frontier.
    let html = try String(contentsOf: report, encoding: .utf8)
    #expect(html.components(separatedBy: "<svg").count - 1 == 4)
    #expect(html.contains("reactive: node demand vs powered capacity"))
    #expect(html.contains("prewarm: node demand vs powered capacity"))
    #expect(!html.contains("<script"))
    #expect(!html.contains("src=") && !html.contains("<link"))  // self-contained: nothing to fetch
    let obj = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
    #expect(obj["trace"] as? String == "kth-2500.swf")
    let policies = try #require(obj["policies"] as? [String: [String: Any]])
    for name in ["always_on", "reactive", "prewarm", "oracle"] {
        let m = try #require(policies[name], "missing policy \(name)")
        for key in ["mean_wait_s", "p95_wait_s", "boot_wait_s", "bounded_slowdown", "idle_node_hours", "energy_kwh",
                    "power_cycles"] {
            #expect(m[key] is NSNumber, "\(name) lacks \(key)")
        }
    }
    // Physical sanity: always-on never waits for a boot; reactive does on this trace; the oracle spends the
    // least idle energy.
    let boot = { (name: String) in (policies[name]?["boot_wait_s"] as? NSNumber)?.doubleValue ?? -1 }
    let idle = { (name: String) in (policies[name]?["idle_node_hours"] as? NSNumber)?.doubleValue ?? -1 }
    #expect(boot("always_on") == 0)
    #expect(boot("oracle") == 0)
    #expect(boot("reactive") > 10)
    #expect(idle("oracle") < idle("reactive") && idle("reactive") < idle("always_on"))
    // The boot wait's share on jobs placed at submission: a share where there is boot wait, 0 where there is none.
    let atSubmit = { (name: String) in (policies[name]?["boot_wait_at_submit_share"] as? NSNumber)?.doubleValue ?? -1 }
    #expect(atSubmit("always_on") == 0 && atSubmit("oracle") == 0)
    #expect(atSubmit("reactive") > 0 && atSubmit("reactive") <= 1)
    // Priced nodes: cost = powered node-hours × price, so always-on costs the most.
    let cost = { (name: String) in (policies[name]?["cloud_cost"] as? NSNumber)?.doubleValue ?? -1 }
    #expect(cost("always_on") > cost("reactive") && cost("reactive") > 0)
    let frontier = try #require(obj["frontier"] as? [String: Any])
    for key in ["wait_cut_at_equal_idle", "idle_saving_at_equal_wait", "oracle_gap_closed"] {
        #expect(frontier[key] is NSNumber, "frontier lacks \(key)")
    }
    // Each setting on its own; the summary's figures are the best of them, each with its setting.
    let settings = try #require(frontier["settings"] as? [String: [String: Any]])
    #expect(Set(settings.keys) == ["prewarm_a1.0_idle300", "prewarm_a0.0_idle60_p4.0", "prewarm_a1.0_idle300_b0.0"])
    for (key, name) in [("wait_cut_at_equal_idle", "wait_cut_setting"), ("idle_saving_at_equal_wait", "idle_saving_setting"),
                        ("oracle_gap_closed", "oracle_gap_setting")] {
        let values = settings.compactMapValues { ($0[key] as? NSNumber)?.doubleValue }
        let best = try #require(values.max { $0.value < $1.value }, "no setting has \(key)")
        #expect(frontier[name] as? String == best.key, "\(key)")
        #expect((frontier[key] as? NSNumber)?.doubleValue == best.value, "\(key)")
    }
    // The lean setting (aggressiveness 0, prices × 4) spends less idle than the eager one.
    #expect(idle("prewarm_a0.0_idle60_p4.0") > 0 && idle("prewarm_a0.0_idle60_p4.0") < idle("prewarm_a1.0_idle300"))
    // Expected arrivals of jobs not submitted yet boot no node at an arrival boot share of 0: fewer idle hours.
    #expect(idle("prewarm_a1.0_idle300_b0.0") > 0 && idle("prewarm_a1.0_idle300_b0.0") < idle("prewarm_a1.0_idle300"))
    // Idle node-hours split into booting, powering down, held and unallocated parts.
    for name in ["reactive", "prewarm", "oracle"] {
        let part = { (key: String) in (policies[name]?[key] as? NSNumber)?.doubleValue ?? -1 }
        let parts = part("booting_node_hours") + part("powering_down_node_hours") + part("held_idle_node_hours")
        #expect(part("booting_node_hours") > 0 && part("held_idle_node_hours") >= 0)
        #expect(parts <= idle(name) + 1e-6, "\(name): parts \(parts) > idle \(idle(name))")
    }
    #expect((policies["oracle"]?["held_idle_node_hours"] as? NSNumber)?.doubleValue == 0)
    let accuracy = try #require((obj["prewarm_runtime_accuracy"] as? NSNumber)?.doubleValue)
    #expect(accuracy > 0.3 && accuracy <= 1)
}

@Test func simulateRejectsBadFrontierSettings() throws {
    for bad in ["2:abc", "0:60:0", "0:60:x", "0:60:2:1.5", "0:60:2:x", "0:60:2:1:3", "0:60,1:300,0:60:1:1"] {
        let r = try prewarm(["simulate", "--trace", fixture, "--frontier", "--frontier-settings", bad])
        #expect(r.status != 0, "\(bad) accepted")
        #expect(r.stderr.contains("frontier-settings"), "\(bad): \(r.stderr)")
    }
    let r = try prewarm(["simulate", "--trace", fixture, "--price-scale", "0"])
    #expect(r.status != 0 && r.stderr.contains("price-scale"))
}

@Test func simulateFrontierRunsTheGivenSuspendTimes() throws {
    // Issue #3's five SuspendTimes and one more: the frontier on all six, and again on the five.
    let r = try prewarm(["simulate", "--trace", fixture, "--json", "--frontier", "--frontier-settings", "0:60:4,1:300",
                         "--frontier-suspend-times", "3600,120,60,300,600,1800"])
    #expect(r.status == 0, "stderr: \(r.stderr)")
    let obj = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
    let policies = try #require(obj["policies"] as? [String: [String: Any]])
    let reactive = policies.keys.filter { $0.hasPrefix("reactive_s") }.sorted()
    #expect(reactive == ["reactive_s120", "reactive_s1800", "reactive_s300", "reactive_s3600", "reactive_s60",
                         "reactive_s600"])
    // A longer SuspendTime keeps nodes up longer: more idle, less boot wait.
    let idle = { (name: String) in (policies[name]?["idle_node_hours"] as? NSNumber)?.doubleValue ?? -1 }
    let boot = { (name: String) in (policies[name]?["boot_wait_s"] as? NSNumber)?.doubleValue ?? -1 }
    #expect(idle("reactive_s60") < idle("reactive_s120") && idle("reactive_s120") < idle("reactive_s3600"))
    #expect(boot("reactive_s60") > boot("reactive_s3600"))
    let all = try #require(obj["frontier"] as? [String: Any])
    let five = try #require(obj["frontier_issue_suspend_times"] as? [String: Any])
    #expect(all["suspend_times_s"] as? [Int] == [60, 120, 300, 600, 1800, 3600])
    #expect(five["suspend_times_s"] as? [Int] == [60, 300, 600, 1800, 3600])
    for key in ["wait_cut_at_equal_idle", "idle_saving_at_equal_wait", "oracle_gap_closed"] {
        #expect(all[key] is NSNumber && five[key] is NSNumber, "\(key)")
    }
    // Without more than the five, one frontier only.
    let plain = try prewarm(["simulate", "--trace", fixture, "--json", "--frontier", "--frontier-settings", "0:60:4"])
    let p = try #require(try JSONSerialization.jsonObject(with: Data(plain.stdout.utf8)) as? [String: Any])
    #expect(p["frontier"] != nil && p["frontier_issue_suspend_times"] == nil)
    for bad in ["60", "60,abc", "60,0", "60,60", "60,-5"] {
        let b = try prewarm(["simulate", "--trace", fixture, "--frontier", "--frontier-suspend-times", bad])
        #expect(b.status != 0, "\(bad) accepted")
        #expect(b.stderr.contains("frontier-suspend-times"), "\(bad): \(b.stderr)")
    }
}

/// The frontier with the boots left out of the idle node-hours: every figure recomputed by hand from the
/// policies' own idle and booting node-hours, on issue #3's five SuspendTimes although six were run.
@Test func simulateFrontierWithoutBootLeavesTheBootsOutOfTheIdleNodeHours() throws {
    let r = try prewarm(["simulate", "--trace", fixture, "--json", "--frontier", "--frontier-settings", "0:60:4,1:300,0:60",
                         "--frontier-suspend-times", "3600,120,60,300,600,1800"])
    #expect(r.status == 0, "stderr: \(r.stderr)")
    let obj = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
    let policies = try #require(obj["policies"] as? [String: [String: Any]])
    let f = try #require(obj["frontier_without_boot"] as? [String: Any])
    #expect(f["suspend_times_s"] as? [Int] == [60, 300, 600, 1800, 3600])
    func value(_ policy: String, _ key: String) throws -> Double {
        try #require((policies[policy]?[key] as? NSNumber)?.doubleValue, "\(policy) lacks \(key)")
    }
    func idle(_ p: String) throws -> Double { try value(p, "idle_node_hours") - value(p, "booting_node_hours") }
    let curve = try [60, 300, 600, 1800, 3600].map { s in
        (idle: try idle("reactive_s\(s)"), wait: try value("reactive_s\(s)", "boot_wait_s"))
    }
    /// Piecewise-linear y at x over (x, y) points, the nearest end outside them (as the frontier does).
    func interpolate(_ x: Double, _ pts: [(Double, Double)]) -> Double {
        let s = pts.sorted { $0.0 < $1.0 }
        if x <= s[0].0 { return s[0].1 }
        for (a, b) in zip(s, s.dropFirst()) where x <= b.0 { return a.1 + (x - a.0) / (b.0 - a.0) * (b.1 - a.1) }
        return s[s.count - 1].1
    }
    let settings = try #require(f["settings"] as? [String: [String: Any]])
    #expect(settings.count == 3)
    var checked = 0
    for (label, row) in settings {
        let i = try idle(label), w = try value(label, "boot_wait_s")
        if let saving = (row["idle_saving_at_equal_wait"] as? NSNumber)?.doubleValue {
            let expected = 1 - i / interpolate(w, curve.map { ($0.wait, $0.idle) })
            #expect(abs(saving - expected) < 1e-4, "\(label): saving \(saving), by hand \(expected)")
            checked += 1
        } else {
            #expect(w > curve.map(\.wait).max() ?? 0, "\(label) has no saving but lies within the curve")
        }
        if let cut = (row["wait_cut_at_equal_idle"] as? NSNumber)?.doubleValue {
            let expected = 1 - w / interpolate(i, curve.map { ($0.idle, $0.wait) })
            #expect(abs(cut - expected) < 1e-4, "\(label): cut \(cut), by hand \(expected)")
            checked += 1
        } else {
            #expect(i > curve.map(\.idle).max() ?? 0, "\(label) has no cut but lies within the curve")
        }
    }
    #expect(checked >= 3)
    // Not the same figures as with the boots counted: the reading changes the idle of every run.
    let counted = try #require(obj["frontier_issue_suspend_times"] as? [String: Any])
    #expect((counted["idle_saving_at_equal_wait"] as? NSNumber)?.doubleValue
        != (f["idle_saving_at_equal_wait"] as? NSNumber)?.doubleValue)
    #expect(try idle("oracle") < value("oracle", "idle_node_hours"))
    // The human output names the reading and the oracle's ratio both ways.
    let text = try prewarm(["simulate", "--trace", fixture, "--frontier", "--frontier-settings", "0:60:4,1:300"])
    #expect(text.stdout.contains("Without the boots in the idle node-hours (the oracle's idle is then "), "\(text.stdout)")
    // Without --frontier, no such figures.
    let plain = try prewarm(["simulate", "--trace", fixture, "--json"])
    let p = try #require(try JSONSerialization.jsonObject(with: Data(plain.stdout.utf8)) as? [String: Any])
    #expect(p["frontier_without_boot"] == nil)
}

@Test func simulateCapsPrewarmsActionsPerStepOnlyWhenAsked() throws {
    // Default: the cluster's node count (the simulated Slurm resumes any number of nodes at once); a cap of one
    // power-up and one power-down per minute changes what prewarm does on this 100-node trace.
    func run(_ extra: [String]) throws -> (cap: Int, prewarm: [String: Any]) {
        let r = try prewarm(["simulate", "--trace", fixture, "--json", "--policies", "reactive,prewarm"] + extra)
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let policies = try #require(obj["policies"] as? [String: [String: Any]])
        return (try #require(obj["max_actions_per_step"] as? Int), try #require(policies["prewarm"]))
    }
    let free = try run([])
    let capped = try run(["--max-actions-per-step", "1"])
    #expect(free.cap == 100 && capped.cap == 1)
    let cycles = { (m: [String: Any]) in (m["power_cycles"] as? NSNumber)?.intValue ?? -1 }
    let wait = { (m: [String: Any]) in (m["boot_wait_s"] as? NSNumber)?.doubleValue ?? -1 }
    #expect(cycles(free.prewarm) > 0 && cycles(capped.prewarm) > 0)
    #expect(cycles(free.prewarm) != cycles(capped.prewarm) || wait(free.prewarm) != wait(capped.prewarm))
    let bad = try prewarm(["simulate", "--trace", fixture, "--max-actions-per-step", "0"])
    #expect(bad.status != 0 && bad.stderr.contains("max-actions-per-step"))
}

/// The human output: one table whose numbers stay in their columns whatever the policies' names, the headline, and
/// the default setting against Slurm's own knob (reactive's SuspendTime curve, interpolated), which the test
/// recomputes from the table's rows.
@Test func simulateTableKeepsItsColumnsAndComparesWithTheSuspendTimeCurve() throws {
    let report = FileManager.default.temporaryDirectory.appendingPathComponent("prewarm-knob-\(getpid()).html")
    defer { try? FileManager.default.removeItem(at: report) }
    let r = try prewarm(["simulate", "--trace", fixture, "--report", report.path])
    #expect(r.status == 0, "stderr: \(r.stderr)")
    // The report plots the default setting against reactive's curve too (demand for two policies, CDFs, frontier).
    let html = try String(contentsOf: report, encoding: .utf8)
    #expect(html.components(separatedBy: "<svg").count - 1 == 4)
    #expect(html.contains("<title>prewarm</title>") && html.contains("<title>SuspendTime=3600</title>"))
    let lines = r.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    let header = try #require(lines.firstIndex { $0.hasPrefix("policy ") })
    let rows = Array(lines[header...].prefix { !$0.isEmpty })
    let cells = rows.map { $0.split(separator: " ").map(String.init) }
    #expect(cells.dropFirst().map { $0.first ?? "" } == [
        "always_on", "reactive", "prewarm", "oracle", "reactive_s60", "reactive_s300", "reactive_s600",
        "reactive_s1800", "reactive_s3600",
    ])
    /// Where each column ends: the position after each run of non-blanks.
    func ends(_ line: String) -> [Int] {
        var out: [Int] = []
        let c = Array(line)
        for i in c.indices where c[i] != " " && (i + 1 == c.count || c[i + 1] == " ") { out.append(i + 1) }
        return out
    }
    let columnEnds = ends(rows[0])
    #expect(columnEnds.count == 13)
    for row in rows.dropFirst() {
        // Numbers are right-aligned under their headers; the name column is as wide as the longest name.
        #expect(Array(ends(row).dropFirst()) == Array(columnEnds.dropFirst()), "\(row)")
    }
    #expect(r.stdout.contains("Prewarm vs Slurm's power saving (SuspendTime 600 s): boot-induced wait"))
    // boot_wait_s and idle_node_h by policy; the reference row is the curve's 600 s point.
    let wait = try #require(cells[0].firstIndex(of: "boot_wait_s"))
    let idle = try #require(cells[0].firstIndex(of: "idle_node_h"))
    var point: [String: (wait: Double, idle: Double)] = [:]
    for c in cells.dropFirst() where c.count == 13 { point[c[0]] = (Double(c[wait]) ?? -1, Double(c[idle]) ?? -1) }
    #expect(point["reactive_s600"]?.wait == point["reactive"]?.wait && point["reactive_s600"]?.idle == point["reactive"]?.idle)
    let curve = [60, 300, 600, 1800, 3600].compactMap { point["reactive_s\($0)"] }
    let p = try #require(point["prewarm"])
    #expect(curve.count == 5)
    /// Piecewise-linear y at x over (x, y) points.
    func interpolate(_ x: Double, _ pts: [(Double, Double)]) -> Double? {
        let s = pts.sorted { $0.0 < $1.0 }
        for (a, b) in zip(s, s.dropFirst()) where a.0 <= x && x <= b.0 && b.0 > a.0 {
            return a.1 + (x - a.0) / (b.0 - a.0) * (b.1 - a.1)
        }
        return nil
    }
    let line = try #require(lines.first { $0.hasPrefix("Against Slurm's own knob") }, "\(r.stdout)")
    // The fixture's prewarm lies within reactive's curve both ways, so both figures are interpolations.
    let reactiveWait = try #require(interpolate(p.idle, curve.map { ($0.idle, $0.wait) }))
    let reactiveIdle = try #require(interpolate(p.wait, curve.map { ($0.wait, $0.idle) }))
    let cut = Int((100 * (1 - p.wait / reactiveWait)).rounded())
    let saving = Int((100 * (1 - p.idle / reactiveIdle)).rounded())
    // The table's figures are rounded (0.1 s, 1 node-hour): allow the last digit of a percentage to move by one.
    // The default setting is named as --frontier-settings writes it, with the number of frontier settings.
    #expect(line.hasSuffix("(prewarm at 1:60:1:0; --frontier tries 10 settings)."), "\(line)")
    let figures = line.components(separatedBy: "(prewarm at").first ?? ""
    let printed = figures.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
    #expect(printed.count == 7, "\(line)")  // the five SuspendTimes, the cut, the saving
    #expect(printed.prefix(5) == [60, 300, 600, 1800, 3600])
    if printed.count == 7 {
        #expect(abs(printed[5] - cut) <= 1 && abs(printed[6] - saving) <= 1, "\(line): \(cut), \(saving)")
    }
    // (The JSON keeps the four policies without --frontier: scripts/test checks that on the main command.)
}

/// Runs go to several threads at once; the results must not depend on how many (only the times do).
@Test func simulateResultsDoNotDependOnTheThreads() throws {
    func policies(_ threads: String) throws -> [String: [String: Any]] {
        let r = try prewarm(["simulate", "--trace", fixture, "--json", "--frontier", "--frontier-settings",
                             "0:60:4,1:60:1:0", "--frontier-suspend-times", "60,300,600,1800,3600,7200",
                             "--threads", threads])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        var p = try #require(obj["policies"] as? [String: [String: Any]])
        for k in p.keys { p[k]?["seconds"] = nil }
        return p
    }
    let one = try policies("1")
    let three = try policies("3")
    // always_on, reactive, prewarm, oracle, six SuspendTimes, 0:60:4; 1:60:1:0 is the default setting (no row of its
    // own).
    #expect(one.count == 11 && Set(one.keys) == Set(three.keys))
    #expect(one["prewarm_a1.0_idle60_b0.0"] == nil && one["prewarm_a0.0_idle60_p4.0"] != nil)
    for (k, v) in one {
        #expect(NSDictionary(dictionary: v).isEqual(to: three[k] ?? [:]), "\(k)")
    }
    #expect(NSDictionary(dictionary: one["reactive_s600"] ?? [:]).isEqual(to: one["reactive"] ?? [:]))
    let bad = try prewarm(["simulate", "--trace", fixture, "--threads", "0"])
    #expect(bad.status != 0 && bad.stderr.contains("--threads"))
}

@Test func simulateFrontierLineSaysWhenNoSettingFitsSlurmsIdleBudget() throws {
    // The eager setting spends more idle than reactive at 600 s on this trace: the line says so instead of
    // naming an empty setting; a lean one that fits is named.
    func frontierLine(_ settings: String) throws -> String {
        let r = try prewarm(["simulate", "--trace", fixture, "--frontier", "--frontier-settings", settings])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        return try #require(r.stdout.split(separator: "\n").first { $0.hasPrefix("Frontier: ") }.map(String.init))
    }
    let eager = try frontierLine("1:300:0.5")
    #expect(!eager.contains("()"), "\(eager)")
    #expect(eager.contains("no setting stays within SuspendTime=600's idle budget"), "\(eager)")
    let lean = try frontierLine("0:60:4")
    #expect(!lean.contains("()") && lean.contains("of the gap to the oracle closed within SuspendTime=600's idle budget "
        + "(prewarm_a0.0_idle60_p4.0)"), "\(lean)")
}

@Test func simulateEnergyUsesTheGivenWatts() throws {
    func run(_ args: [String]) throws -> (top: [String: Any], policies: [String: [String: Double]]) {
        let r = try prewarm(["simulate", "--trace", fixture, "--json", "--policies", "always_on,reactive"] + args)
        #expect(r.status == 0, "\(r.stderr)")
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let p = try #require(obj["policies"] as? [String: [String: Any]])
        return (obj, p.mapValues { $0.compactMapValues { ($0 as? NSNumber)?.doubleValue } })
    }
    let defaults = try run([])
    let custom = try run(["--off-watts", "12", "--idle-watts", "180.5", "--busy-watts", "450"])
    #expect(defaults.top["watts"] as? [String: Double] == ["off": 5, "idle": 100, "busy": 300])
    #expect(custom.top["watts"] as? [String: Double] == ["off": 12, "idle": 180.5, "busy": 450])
    for (run, (off, idle, busy)) in [(defaults, (5.0, 100.0, 300.0)), (custom, (12.0, 180.5, 450.0))] {
        for (name, m) in run.policies {
            let hours = (m["off_node_hours"] ?? .nan, m["idle_node_hours"] ?? .nan, m["busy_node_hours"] ?? .nan)
            let kwh = (hours.0 * off + hours.1 * idle + hours.2 * busy) / 1000
            #expect(abs((m["energy_kwh"] ?? .nan) - kwh) <= 1e-9 * kwh, "\(name)")
        }
    }
    // The watts change the energy only: the schedule and node-hours are the same.
    let reactive = try #require(defaults.policies["reactive"]), reactiveCustom = try #require(custom.policies["reactive"])
    #expect(reactiveCustom["energy_kwh"] != reactive["energy_kwh"])
    #expect(reactiveCustom["idle_node_hours"] == reactive["idle_node_hours"] && reactive["off_node_hours"] ?? 0 > 0)
    let human = try prewarm(["simulate", "--trace", fixture, "--policies", "reactive", "--idle-watts", "80"])
    #expect(human.stdout.contains("5/80/300 W per node off/idle/busy"))
    let negative = try prewarm(["simulate", "--trace", fixture, "--busy-watts=-1"])
    #expect(negative.status != 0 && negative.stderr.contains("--busy-watts must be a number of watts ≥ 0"))
}

@Test func simulateBackfillDepthLimitsTheJobsBackfilled() throws {
    func reactive(_ args: [String]) throws -> (depth: Int, wait: Double) {
        let r = try prewarm(["simulate", "--trace", fixture, "--json", "--policies", "reactive"] + args)
        #expect(r.status == 0, "\(r.stderr)")
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let p = try #require(obj["policies"] as? [String: [String: Any]])
        return ((obj["backfill_depth"] as? NSNumber)?.intValue ?? -1,
                (p["reactive"]?["mean_wait_s"] as? NSNumber)?.doubleValue ?? -1)
    }
    let slurm = try reactive([]), none = try reactive(["--backfill-depth", "0"]), few = try reactive(["--backfill-depth", "2"])
    #expect(slurm.depth == 500 && none.depth == 0 && few.depth == 2)
    // Without backfilling every job waits for all before it (plain FCFS): longer waits; a short look-ahead is between.
    #expect(none.wait > few.wait && few.wait > slurm.wait && slurm.wait > 0)
    let negative = try prewarm(["simulate", "--trace", fixture, "--backfill-depth=-1"])
    #expect(negative.status != 0 && negative.stderr.contains("--backfill-depth must be ≥ 0"))
}

/// `--share-nodes`: jobs of fewer processors than a node has share nodes; the JSON says so; nodes of one core refuse.
@Test func simulateShareNodesPacksSmallJobs() throws {
    func run(_ args: [String]) throws -> (top: [String: Any], policies: [String: [String: Double]]) {
        let r = try prewarm(
            ["simulate", "--trace", fixture, "--json", "--policies", "always_on,reactive,oracle", "--cores-per-node", "4"]
                + args)
        #expect(r.status == 0, "\(r.stderr)")
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let p = try #require(obj["policies"] as? [String: [String: Any]])
        return (obj, p.mapValues { $0.compactMapValues { ($0 as? NSNumber)?.doubleValue } })
    }
    let whole = try run([]), shared = try run(["--share-nodes"])
    #expect(whole.top["shares_nodes"] as? Bool == false && shared.top["shares_nodes"] as? Bool == true)
    // The same jobs on nodes they share: fewer busy node-hours, and the oracle still spares every boot wait.
    let busyWhole = try #require(whole.policies["always_on"]?["busy_node_hours"])
    let busyShared = try #require(shared.policies["always_on"]?["busy_node_hours"])
    #expect(busyShared < busyWhole)
    #expect(shared.policies["oracle"]?["boot_wait_s"] == 0)
    #expect(shared.policies["reactive"]?["jobs"] == whole.policies["reactive"]?["jobs"])
    let report = FileManager.default.temporaryDirectory.appendingPathComponent("prewarm-share-\(getpid()).html")
    defer { try? FileManager.default.removeItem(at: report) }
    let human = try prewarm(
        ["simulate", "--trace", fixture, "--policies", "reactive", "--cores-per-node", "4", "--share-nodes", "--report",
         report.path])
    #expect(human.stdout.contains("× 4 cores (jobs share nodes)"))
    #expect(try String(contentsOf: report, encoding: .utf8).contains("× 4 cores (jobs share nodes)"))
    let one = try prewarm(["simulate", "--trace", fixture, "--policies", "reactive", "--cores-per-node", "1", "--share-nodes"])
    #expect(one.status != 0 && one.stderr.contains("--share-nodes: nodes of 1 core cannot be shared"))
    let huge = try prewarm(
        ["simulate", "--trace", fixture, "--policies", "reactive", "--cores-per-node", "1000000000", "--share-nodes"])
    #expect(huge.status != 0 && huge.stderr.contains("--share-nodes: --cores-per-node 1000000000 is more than 65536"))
}

@Test func simulateUnderSlurmsSuspendTimeChangesOnlyPrewarmsRuns() throws {
    func run(_ extra: [String]) throws -> [String: Any] {
        let r = try prewarm(["simulate", "--trace", fixture, "--json", "--policies", "reactive,prewarm"] + extra)
        #expect(r.status == 0, "stderr: \(r.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
    }
    func metrics(_ o: [String: Any], _ policy: String) -> [String: Double] {
        ((o["policies"] as? [String: [String: Any]])?[policy] ?? [:])
            .compactMapValues { ($0 as? NSNumber)?.doubleValue }.filter { $0.key != "seconds" }
    }
    let alone = try run([])
    let under = try run(["--slurm-suspend-time", "300"])
    #expect(alone["prewarm_slurm_suspend_time_s"] is NSNull)
    #expect(under["prewarm_slurm_suspend_time_s"] as? Int == 300)
    // Reactive is Slurm alone either way; prewarm under Slurm's 300 s keeps fewer nodes idle and cycles more.
    #expect(metrics(under, "reactive") == metrics(alone, "reactive"))
    #expect(metrics(under, "prewarm")["idle_node_hours"] ?? 0 < metrics(alone, "prewarm")["idle_node_hours"] ?? 0)
    #expect(metrics(under, "prewarm")["power_cycles"] ?? 0 > metrics(alone, "prewarm")["power_cycles"] ?? 0)
    let table = try prewarm(["simulate", "--trace", fixture, "--policies", "reactive", "--slurm-suspend-time", "300"])
    #expect(table.status == 0 && table.stdout.contains(", prewarm under Slurm's SuspendTime 300 s, "), "\(table.stdout)")
    let bad = try prewarm(["simulate", "--trace", fixture, "--slurm-suspend-time", "0"])
    #expect(bad.status != 0 && bad.stderr.contains("--slurm-suspend-time must be ≥ 1"))
}

/// `--daemon-conf`: prewarm runs with the settings of a prewarmd.conf, read by prewarmd's own parser: the same run as
/// the options that mean the same, which override the file; its hourly cap binds; a bad file is named with its line.
@Test func simulateRunsPrewarmWithTheSettingsOfADaemonConf() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("prewarm-simconf-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    func write(_ name: String, _ text: String) throws -> String {
        let path = dir.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
    let settings = """
        # as prewarmd reads it
        Mode=enforce
        Aggressiveness=0
        MinIdleBeforePowerDown=300
        PowerDownMargin=300
        ArrivalBootShare=1
        Threshold=1
        PriceScale=2
        MaxPowerUpsPerCycle=3
        MaxPowerDownsPerCycle=3
        MaxActionsPerHour=30
        ScaleRefinement=no
        ExcludeNodes=node[1-4]

        """
    let conf = try write("prewarmd.conf", settings)
    func run(_ extra: [String]) throws -> (json: [String: Any], stderr: String) {
        let r = try prewarm(["simulate", "--trace", fixture, "--json", "--policies", "reactive,prewarm"] + extra)
        #expect(r.status == 0, "stderr: \(r.stderr)")
        return (try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]), r.stderr)
    }
    func prewarmMetrics(_ o: [String: Any]) -> [String: Double] {
        ((o["policies"] as? [String: [String: Any]])?["prewarm"] ?? [:])
            .compactMapValues { ($0 as? NSNumber)?.doubleValue }.filter { $0.key != "seconds" }
    }
    let options = [
        "--aggressiveness", "0", "--min-idle", "300", "--power-down-margin", "300", "--arrival-boot-share", "1",
        "--threshold", "1", "--price-scale", "2", "--max-actions-per-step", "3", "--no-refine",
    ]
    let fromFile = try run(["--daemon-conf", conf])
    let fromOptions = try run(options + ["--max-actions-per-hour", "30"])
    let uncapped = try run(options)
    #expect(prewarmMetrics(fromFile.json) == prewarmMetrics(fromOptions.json))
    #expect(fromFile.json["daemon_conf"] as? String == conf && fromOptions.json["daemon_conf"] is NSNull)
    #expect(fromFile.json["max_actions_per_hour"] as? Int == 30 && uncapped.json["max_actions_per_hour"] is NSNull)
    #expect(fromFile.json["max_actions_per_step"] as? Int == 3 && fromFile.json["max_power_downs_per_step"] as? Int == 3)
    #expect(fromFile.json["runtime_scale_refinement"] as? Bool == false)
    #expect(fromFile.stderr.contains("\(conf): ExcludeNodes and ExcludePartitions are not simulated"))
    // The hourly cap binds on this log: fewer power cycles than without it.
    let cycles = { (o: [String: Any]) in prewarmMetrics(o)["power_cycles"] ?? -1 }
    #expect(cycles(fromOptions.json) < cycles(uncapped.json), "\(cycles(fromOptions.json)) vs \(cycles(uncapped.json))")
    // An option overrides the file: the file's cap lifted is the uncapped run.
    let lifted = try run(["--daemon-conf", conf, "--max-actions-per-hour", "1000000"])
    #expect(prewarmMetrics(lifted.json) == prewarmMetrics(uncapped.json))
    // LearnedArrivals=no plans for the known jobs only, as prewarmd does: less idle, more boot wait.
    let known = try run(["--daemon-conf", try write("known.conf", settings + "LearnedArrivals=no\n")])
    #expect(prewarmMetrics(known.json)["idle_node_hours"] ?? 0 < prewarmMetrics(fromFile.json)["idle_node_hours"] ?? 0)
    #expect(prewarmMetrics(known.json)["boot_wait_s"] ?? 0 > prewarmMetrics(fromFile.json)["boot_wait_s"] ?? 0)
    // A bad file or value: the file and line named, nothing simulated.
    let bad = try write("bad.conf", "Mode=enforce\nAggressiveness=2\n")
    let refused = try prewarm(["simulate", "--trace", fixture, "--daemon-conf", bad])
    #expect(refused.status != 0 && refused.stderr.contains("\(bad):2") && refused.stderr.contains("Aggressiveness"),
            "\(refused.stderr)")
    #expect(refused.stdout.isEmpty)
    let missing = try prewarm(["simulate", "--trace", fixture, "--daemon-conf", dir.appendingPathComponent("none.conf").path])
    #expect(missing.status != 0 && missing.stderr.contains("none.conf"))
    let negative = try prewarm(["simulate", "--trace", fixture, "--max-actions-per-hour=-1"])
    #expect(negative.status != 0 && negative.stderr.contains("--max-actions-per-hour must be ≥ 0"))
}
