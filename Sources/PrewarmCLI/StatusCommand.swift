// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import Foundation
import PrewarmOps

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what prewarmd saw and did in its last cycle (reads StateDirectory/status.json).",
        discussion: """
            prewarmd writes a status snapshot every cycle. This prints, per partition, the forecast against the \
            capacity up or booting at +0/+5/+15/+30/+60 minutes, the node states, the commands in flight, the \
            recent actions with their reasons, the hourly budget, Slurm's last error and the model. A snapshot \
            older than 3 cycle intervals (or 2 intervals past its announced next cycle while the daemon backs off \
            from Slurm errors) is flagged: the daemon may be down (exit status 3).
            """)

    @Option(help: "prewarmd's StateDirectory.")
    var stateDir = "/var/lib/prewarm"

    @Option(help: "Recent actions to list (the snapshot keeps the last 50).")
    var actions = 10

    @Flag(help: "Print the snapshot as JSON (the file as written, plus age_seconds and stale).")
    var json = false

    mutating func run() throws {
        let directory = StateDirectory(path: stateDir)
        let s: StatusSnapshot
        do {
            s = try directory.loadStatus()
        } catch {
            CLISupport.note("prewarm: \(error) (is prewarmd running with StateDirectory=\(stateDir)?)")
            throw ExitCode(2)
        }
        let now = Int64(Date().timeIntervalSince1970)
        let age = max(0, now - s.time)
        let stale = s.isStale(now: now)
        if json {
            let raw = (try? String(contentsOfFile: directory.statusFile, encoding: .utf8)) ?? "{}"
            let body = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            // The file is one JSON object: append the reader's view before its closing brace.
            print(String(body.dropLast()) + ",\"age_seconds\":\(age),\"stale\":\(stale)}")
        } else {
            print(Self.render(s, now: now, actions: actions), terminator: "")
        }
        if stale { throw ExitCode(3) }
    }

    static func clock(_ t: Int64) -> String {
        var time = time_t(t)
        var parts = tm()
        gmtime_r(&time, &parts)
        return String(
            format: "%04d-%02d-%02d %02d:%02d:%02dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
            parts.tm_hour, parts.tm_min, parts.tm_sec)
    }

    static func ago(_ seconds: Int64) -> String {
        if seconds < 120 { return "\(seconds)s ago" }
        if seconds < 7200 { return "\(seconds / 60)m ago" }
        return "\(seconds / 3600)h ago"
    }

    /// The human report (a pure function of the snapshot and the time, for tests).
    static func render(_ s: StatusSnapshot, now: Int64, actions count: Int) -> String {
        var out = ""
        let age = max(0, now - s.time)
        let on = s.host.map { $0.isEmpty ? "" : " on \($0)" } ?? ""
        out += "prewarmd\(on) (pid \(s.pid)), mode \(s.mode), every \(s.interval)s, boot lead \(s.bootLeadTime)s\n"
        out += "snapshot \(clock(s.time)) (\(ago(age))), cycle took \(String(format: "%.3f", s.cycleSeconds))s\n"
        if s.isStale(now: now) {
            out +=
                "WARNING: the snapshot is \(age)s old and the next cycle was due \(ago(max(0, now - s.nextCycle))): "
                + "prewarmd may be down\n"
        } else if s.nextCycle > s.time + Int64(s.interval) {
            out += "next cycle at \(clock(s.nextCycle)) (backing off)\n"
        }
        if s.slurm.reachable {
            out += "slurm: reachable"
        } else {
            out +=
                "slurm: UNREACHABLE for \(s.slurm.consecutiveFailures) cycle(s); figures below are from the last good cycle"
        }
        if let e = s.slurm.lastError, let t = s.slurm.lastErrorTime {
            out += "; last error \(ago(max(0, now - t))): \(e)"
        }
        out += "\n"
        if let why = s.powerDownsWithheld { out += "POWER-DOWNS WITHHELD: \(why)\n" }
        let marks = [0, 5, 15, 30, 60]
        for p in s.partitions {
            out +=
                "\npartition \(p.name): \(p.nodes) nodes: \(p.busy) busy, \(p.idle) idle, \(p.booting) booting, "
                + "\(p.poweringDown) powering down, \(p.off) off, \(p.unavailable) unavailable"
                + (p.excluded > 0 ? " (\(p.excluded) excluded)" : "")
                + ((p.keptUp ?? 0) > 0 ? " (\(p.keptUp ?? 0) kept up by Slurm)" : "") + "\n"
            out +=
                "  jobs: \(p.runningJobs) running, \(p.pendingJobs) pending; policy wants \(p.neededNodes) up or "
                + "booting within the boot lead\n"
            func row(_ label: String, _ values: [String]) -> String {
                label.padding(toLength: 22, withPad: " ", startingAt: 0)
                    + values.map { String(repeating: " ", count: max(0, 7 - $0.count)) + $0 }.joined() + "\n"
            }
            out += row("  minutes ahead", marks.map { "+\($0)" })
            let f = p.forecast
            func series(_ a: [Double]) -> [String] {
                marks.map { m in ForecastCurve.value(a, atMinute: m).map { String(format: "%.1f", $0) } ?? "-" }
            }
            out += row("  forecast expected", series(f.expected))
            if let lower = f.lower { out += row("  forecast lower", series(lower)) }
            out += row("  forecast upper", series(f.upper))
            out += row("  up or booting now", marks.map { _ in "\(p.powered + p.booting)" })
            for r in p.restricted ?? [] {
                out +=
                    "  of the pending, \(r.pendingJobs) need \(r.nodes) (\(r.nodeCount) node(s)), not in the forecast "
                    + "above: policy wants \(r.neededNodes) of those nodes up or booting, \(r.upOrBooting) are\n"
            }
            if let all = p.restrictedSets, all > (p.restricted?.count ?? 0) {
                out += "  and \(all - (p.restricted?.count ?? 0)) more set(s) of jobs that need particular nodes "
                    + "(status.json lists the first \(PartitionStatus.restrictedShown))\n"
            }
        }
        out += "\nin flight (\(s.inFlight.count)):"
        if s.inFlight.isEmpty { out += " none" }
        out += "\n"
        for c in s.inFlight.sorted(by: { ($0.since, $0.node) < ($1.since, $1.node) }) {
            out += "  \(c.node) \(c.action.rawValue) since \(ago(max(0, now - c.since))) (\(c.origin.rawValue))\n"
        }
        out += "hourly budget: \(s.actionsLastHour) of \(s.maxActionsPerHour) commands used in the last hour\n"
        let recent = s.recentActions.suffix(max(0, count))
        out += "recent actions (\(recent.count) of \(s.recentActions.count) kept):"
        if recent.isEmpty { out += " none" }
        out += "\n"
        for a in recent.reversed() {
            let what = a.outcome == .would ? "would \(a.action.rawValue)" : "\(a.action.rawValue) \(a.outcome.rawValue)"
            out += "  \(clock(a.time)) \(a.node) \(what): \(a.reason)" + (a.error.map { " [\($0)]" } ?? "") + "\n"
        }
        if let m = s.model {
            out += "model: \(m.file) "
            if m.present {
                out += "(written \(m.modified.map { clock($0) } ?? "?"))"
                out +=
                    m.quality.isEmpty
                    ? "; quality not scored yet\n"
                    : "; " + m.quality.keys.sorted().map { "\($0) \(m.quality[$0] ?? .nan)" }.joined(separator: ", ")
                        + "\n"
            } else {
                out += "(missing: the plugin annotates nothing and runtimes fall back to time limits)\n"
            }
        }
        return out
    }
}
