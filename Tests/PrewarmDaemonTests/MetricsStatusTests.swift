// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import Foundation
import PrewarmCore
import PrewarmOps
import SlurmKit
import Testing

@testable import PrewarmDaemon

private func enforce(_ dir: String) -> DaemonConfiguration {
    var c = DaemonConfiguration()
    c.mode = .enforce
    c.interval = 60
    c.policy.bootLeadTime = 300
    c.policy.minIdleBeforePowerDown = 86_400
    c.stateDirectory = dir
    c.modelFile = dir + "/prewarm.model"
    c.metricsTextfile = dir + "/prewarm.prom"
    return c
}

/// The built `prewarm` tool (SwiftPM builds it for this test target).
private let prewarmTool = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent(".build/debug/prewarm").path

private func run(_ args: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: prewarmTool)
    p.arguments = args
    let out = Pipe()
    let err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}

@Suite("prewarmd metrics and status", .serialized)
struct MetricsStatusTests {
    @Test func eachCycleWritesStatusAndTheMetricsTextfile() throws {
        let dir = temporaryDirectory("metrics")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cluster = smallCluster(pendingNodes: 4)
        var loop = AdjustmentLoop(slurm: cluster, configuration: enforce(dir), log: { _ in })
        loop.submissionsSeen = 3
        loop.noticesIgnored = 2
        _ = loop.runCycle(now: now)
        let text = try String(contentsOfFile: dir + "/prewarm.prom", encoding: .utf8)
        for line in [
            "prewarm_mode{mode=\"enforce\"} 1",
            "prewarm_slurm_up 1",
            "prewarm_nodes{partition=\"debug\",state=\"off\"} 2",
            "prewarm_nodes{partition=\"debug\",state=\"booting\"} 2",
            "prewarm_nodes{partition=\"debug\",state=\"busy\"} 1",
            "prewarm_nodes_powered{partition=\"debug\"} 2",
            "prewarm_pending_jobs{partition=\"debug\"} 1",
            "prewarm_forecast_nodes{partition=\"debug\",band=\"expected\"} 4",
            "prewarm_needed_nodes{partition=\"debug\"} 4",
            "prewarm_in_flight_commands 2",
            "prewarm_actions_total{action=\"power_up\",mode=\"enforced\"} 2",
            "prewarm_actions_total{action=\"power_down\",mode=\"would\"} 0",
            "prewarm_commands_refused_total 0",
            "prewarm_cycles_total 1",
            "prewarm_submissions_notified_total 3",
            "prewarm_notices_ignored_total 2",
            "prewarm_standby 0",
            "prewarm_model_present 0",
        ] {
            #expect(text.contains(line + "\n"), "\(line)")
        }
        // Every family has HELP and TYPE; every sample line is `name{labels} value`.
        let names = Set(
            text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map {
                String($0.prefix { $0 != "{" && $0 != " " })
            })
        for n in names {
            #expect(text.contains("# HELP \(n) ") && text.contains("# TYPE \(n) "), "\(n)")
        }
        // Written atomically: no temporary file left beside it.
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains(".tmp.") }
        #expect(leftovers.isEmpty)

        // The snapshot from the same cycle.
        let s = try StateDirectory(path: dir).loadStatus()
        #expect(s.time == now && s.mode == "enforce" && s.interval == 60)
        let p = try #require(s.partitions.first)
        #expect(
            p.name == "debug" && p.nodes == 6 && p.off == 2 && p.booting == 2 && p.powered == 2 && p.pendingJobs == 1)
        #expect(p.forecast.expected.count == 61 && p.forecast.upper.count == 61 && p.forecast.lower == nil)
        #expect(Set(s.inFlight.map(\.node)) == ["cloud1", "cloud2"])
        #expect(s.recentActions.map(\.outcome) == [.issued, .issued])
        #expect(s.recentActions.first?.reason.contains("forecast needs 4 nodes") == true)
        #expect(s.actionsLastHour == 2 && s.maxActionsPerHour == 200)
        #expect(s.model?.present == false)
    }

    /// Every metric family the daemon writes (model quality included) is in the README's table.
    /// A metrics textfile in a directory the daemon cannot write to: said once, not every cycle, and once when it
    /// is written again.
    @Test func anUnwritableMetricsTextfileIsSaidOnceAndAgainWhenWritten() throws {
        let dir = temporaryDirectory("metrics-unwritable")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var c = enforce(dir)
        c.metricsTextfile = dir + "/textfiles/prewarm.prom"  // no such directory yet
        let log = LogLines()
        var loop = AdjustmentLoop(slurm: smallCluster(pendingNodes: 0), configuration: c, log: log.append)
        for i in 0 ..< 3 { _ = loop.runCycle(now: now + Int64(60 * i)) }
        let said = log.lines.filter { $0.contains("cannot write the metrics textfile") }
        #expect(said.count == 1, "\(log.lines)")
        #expect(said.first?.contains("textfiles/prewarm.prom") == true, "\(said)")
        #expect(!log.lines.contains { $0.contains("status snapshot") }, "\(log.lines)")
        try FileManager.default.createDirectory(atPath: dir + "/textfiles", withIntermediateDirectories: false)
        for i in 3 ..< 5 { _ = loop.runCycle(now: now + Int64(60 * i)) }
        #expect(log.lines.filter { $0 == "the metrics textfile written again" }.count == 1, "\(log.lines)")
        #expect(FileManager.default.fileExists(atPath: dir + "/textfiles/prewarm.prom"))
    }

    @Test func everyMetricIsDocumentedInTheReadme() throws {
        let dir = temporaryDirectory("readme")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var loop = AdjustmentLoop(slurm: smallCluster(pendingNodes: 2), configuration: enforce(dir), log: { _ in })
        _ = loop.runCycle(now: now)
        var status = try #require(loop.status)
        status.model?.quality = ["mae_seconds": 1]
        let text = DaemonMetrics.exposition(status: status, counters: loop.counters)
        let readme = try String(
            contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("README.md"), encoding: .utf8)
        let families = text.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map { $0.split(separator: " ")[2] }
        #expect(families.count >= 20)
        for f in families { #expect(readme.contains("`\(f)`"), "\(f) is not in the README's metrics table") }
    }

    @Test func labelValuesAreEscaped() {
        var m = MetricsText()
        m.add("x", .gauge, "help", [([("partition", "a\"b\\c\nd")], 1.5)])
        #expect(m.text == "# HELP x help\n# TYPE x gauge\nx{partition=\"a\\\"b\\\\c\\nd\"} 1.5\n")
    }

    /// GET /metrics on a loopback port serves the published text; other paths and methods are refused.
    @Test func standingByExportsThatAndTheNotices() {
        var c = DaemonCounters()
        c.submissions = 4
        c.noticesIgnored = 1
        let text = DaemonMetrics.standby(counters: c)
        for line in [
            "# TYPE prewarm_standby gauge", "prewarm_standby 1", "# TYPE prewarm_submissions_notified_total counter",
            "prewarm_submissions_notified_total 4", "prewarm_notices_ignored_total 1",
        ] {
            #expect(text.contains(line + "\n"), "\(line)")
        }
        #expect(!text.contains("prewarm_cycles_total"))
    }

    @Test func theLoopbackEndpointServesMetrics() throws {
        let server = try MetricsServer(host: "127.0.0.1", port: 0, ipv6: false)
        defer { server.stop() }
        server.publish("prewarm_cycles_total 7\n")
        func request(_ text: String) -> String {
            let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(s) }
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_port = in_port_t(UInt16(server.port).bigEndian)
            a.sin_addr.s_addr = inet_addr("127.0.0.1")
            let rc = withUnsafePointer(to: &a) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard rc == 0 else { return "connect failed" }
            _ = Array(text.utf8).withUnsafeBytes { send(s, $0.baseAddress, $0.count, 0) }
            var out: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = recv(s, &buffer, buffer.count, 0)
                if n <= 0 { break }
                out += buffer[0..<n]
            }
            return String(decoding: out, as: UTF8.self)
        }
        let ok = request("GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n")
        #expect(ok.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(ok.contains("Content-Type: text/plain; version=0.0.4"))
        #expect(ok.hasSuffix("\r\n\r\nprewarm_cycles_total 7\n"))
        #expect(request("GET / HTTP/1.1\r\n\r\n").hasPrefix("HTTP/1.1 404"))
        #expect(request("POST /metrics HTTP/1.1\r\n\r\n").hasPrefix("HTTP/1.1 405"))
        #expect(request("junk\r\n\r\n").hasPrefix("HTTP/1.1 400"))
        server.publish("prewarm_cycles_total 8\n")
        #expect(request("GET /metrics HTTP/1.0\r\n\r\n").hasSuffix("prewarm_cycles_total 8\n"))
    }

    /// `prewarm status` on a snapshot the daemon's loop wrote.
    @Test func prewarmStatusPrintsTheDaemonsSnapshot() throws {
        let dir = temporaryDirectory("status")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let t = Int64(Date().timeIntervalSince1970)
        let cluster = smallCluster(pendingNodes: 4, at: t)
        var loop = AdjustmentLoop(slurm: cluster, configuration: enforce(dir), log: { _ in })
        _ = loop.runCycle(now: t)
        let r = try run(["status", "--state-dir", dir])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("mode enforce, every 60s, boot lead 300s"))
        var name = [CChar](repeating: 0, count: 256)
        _ = gethostname(&name, 255)
        let host = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        #expect(r.stdout.hasPrefix("prewarmd on \(host) (pid "), "\(r.stdout)")
        #expect(r.stdout.contains("slurm: reachable"))
        #expect(r.stdout.contains("partition debug: 6 nodes: 1 busy, 1 idle, 2 booting, 0 powering down, 2 off"))
        #expect(
            r.stdout.contains(
                "  minutes ahead            +0     +5    +15    +30    +60\n  forecast expected       4.0"))
        #expect(r.stdout.contains("  up or booting now         4      4      4      4      4"))
        // The age is whole seconds since the cycle: 0, or more when the run crosses a second boundary (seen under
        // CI load: "since 1s ago").
        let inFlight = r.stdout.components(separatedBy: "\n").drop { $0 != "in flight (2):" }.prefix(3).map { $0 }
        #expect(inFlight.count == 3, "\(r.stdout)")
        for (line, node) in zip(inFlight.dropFirst(), ["cloud1", "cloud2"]) {
            let prefix = "  \(node) power_up since "
            let age = line.hasPrefix(prefix) && line.hasSuffix("s ago (issued)")
                ? Int(line.dropFirst(prefix.count).dropLast("s ago (issued)".count)) : nil
            #expect(age.map { (0 ... 5).contains($0) } == true, "\(line)")
        }
        #expect(r.stdout.contains("hourly budget: 2 of 200"))
        #expect(r.stdout.contains("cloud1 power_up issued: partition debug: forecast needs 4 nodes"))
        #expect(!r.stdout.contains("WARNING"))

        let j = try run(["status", "--state-dir", dir, "--json"])
        #expect(j.status == 0)
        let object = try JSONSerialization.jsonObject(with: Data(j.stdout.utf8)) as? [String: Any]
        #expect(object?["mode"] as? String == "enforce")
        #expect(object?["stale"] as? Bool == false)
        #expect((object?["partitions"] as? [[String: Any]])?.first?["name"] as? String == "debug")

        // A snapshot older than 3 intervals: warned, exit status 3.
        var old = loop
        old.configuration.metricsTextfile = ""
        _ = old.runCycle(now: t - 1000)
        let stale = try run(["status", "--state-dir", dir])
        #expect(stale.status == 3)
        #expect(stale.stdout.contains("WARNING: the snapshot is 10") && stale.stdout.contains("prewarmd may be down"))
        // No snapshot: a clear error naming the file.
        let none = try run(["status", "--state-dir", dir + "/nowhere"])
        #expect(none.status == 2)
        #expect(none.stderr.contains(dir + "/nowhere/status.json"))
    }
    /// Queued jobs that need particular nodes: `prewarm status` shows their set under the partition, with what the
    /// policy wants of it, and the partition's figures without them.
    @Test func prewarmStatusShowsTheSetsOfJobsThatNeedParticularNodes() throws {
        let dir = temporaryDirectory("status-sets")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let t = Int64(Date().timeIntervalSince1970)
        let cluster = smallCluster(pendingNodes: nil, at: t)
        var j = SlurmJob(
            id: 10, arrayJobID: 0, arrayTaskID: 0, userID: 1, account: "", name: "named", partition: "debug",
            state: .pending, reasonCode: 0, submitTime: t, eligibleTime: t, startTime: 0, endTime: 0,
            timeLimitMinutes: 30, cpus: 2, nodeCount: 1, nodes: "", adminComment: "", dependency: "")
        j.requiredNodes = "cloud4"
        cluster.jobs = [j]
        var loop = AdjustmentLoop(slurm: cluster, configuration: enforce(dir), log: { _ in })
        _ = loop.runCycle(now: t)
        let s = try StateDirectory(path: dir).loadStatus()
        let p = try #require(s.partitions.first)
        // In the partition's pending jobs, not in its forecast (node2's job alone, the busy node with no job known).
        #expect(p.pendingJobs == 1 && p.neededNodes == 1 && p.forecast.expected.first == 1)
        #expect(p.restricted == [
            RestrictedStatus(nodes: "cloud4", nodeCount: 1, pendingJobs: 1, neededNodes: 1, upOrBooting: 1)
        ])
        #expect(p.restrictedSets == 1 && p.restrictedNeededNodes == 1)
        let metrics = try String(contentsOfFile: dir + "/prewarm.prom", encoding: .utf8)
        #expect(metrics.contains("prewarm_restricted_needed_nodes{partition=\"debug\"} 1\n"), "\(metrics)")
        #expect(s.inFlight.map(\.node) == ["cloud4"])
        let r = try run(["status", "--state-dir", dir])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("  jobs: 0 running, 1 pending; policy wants 1 up or booting within the boot lead\n"
            + "  minutes ahead"), "\(r.stdout)")
        #expect(r.stdout.contains("  of the pending, 1 need cloud4 (1 node(s)), not in the forecast above: policy "
            + "wants 1 of those nodes up or booting, 1 are\n"), "\(r.stdout)")
        #expect(!r.stdout.contains("more set(s)"))
        let json = try run(["status", "--state-dir", dir, "--json"])
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        let partition = (object?["partitions"] as? [[String: Any]])?.first
        #expect((partition?["restricted"] as? [[String: Any]])?.first?["needed_nodes"] as? Int == 1)
        #expect(partition?["restricted_sets"] as? Int == 1)

        // More sets than the snapshot lists: the most needed first, and the rest counted.
        let names = ["node1", "node2", "cloud1", "cloud2", "cloud3", "cloud4"]
        var lists = names.map { [$0] }
        for a in 0 ..< names.count { for b in a + 1 ..< names.count { lists.append([names[a], names[b]]) } }
        cluster.jobs = lists.enumerated().map { i, list in
            var k = j
            k.id = UInt32(100 + i)
            k.nodeCount = list.count
            k.requiredNodes = list.joined(separator: ",")
            return k
        }
        _ = loop.runCycle(now: t + 60)
        let many = try #require(StateDirectory(path: dir).loadStatus().partitions.first)
        #expect(many.restrictedSets == 21 && many.restricted?.count == PartitionStatus.restrictedShown)
        #expect(many.restricted?.first?.neededNodes == 2)
        // Over all 21 sets: 6 of one node and 15 of two.
        #expect(many.restrictedNeededNodes == 6 + 15 * 2)
        let shown = try run(["status", "--state-dir", dir])
        #expect(shown.stdout.contains("  and 1 more set(s) of jobs that need particular nodes (status.json lists the "
            + "first 20)\n"), "\(shown.stdout)")
    }
}
