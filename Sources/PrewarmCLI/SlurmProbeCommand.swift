// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import SlurmKit

/// Reads the live cluster through libslurm (the daemon's client) and optionally requests a power change.
struct SlurmProbe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "slurm-probe", abstract: "Show what Prewarm's libslurm client sees (nodes, partitions, jobs).",
        shouldDisplay: false)

    @Option(help: "Request power up of these nodes (hostlist).")
    var powerUp: String?

    @Option(help: "Request power down of these nodes (hostlist).")
    var powerDown: String?

    mutating func run() throws {
        let slurm = try CLISupport.slurmClient()
        do {
            if let powerUp { try slurm.updatePower(nodes: powerUp, .up) }
            if let powerDown { try slurm.updatePower(nodes: powerDown, .down) }
            for n in try slurm.loadNodes() {
                let flags = NodeFlagsText.describe(n.flags)
                print("node \(n.name) \(n.base.rawValue)\(flags.isEmpty ? "" : "+" + flags) cpus=\(n.cpus) weight=\(n.weight) partitions=\(n.partitions.joined(separator: ","))")
            }
            print("controller allocates=\(try slurm.loadAllocatesCores() ? "cores" : "nodes")")
            for p in try slurm.loadPartitions() {
                print("partition \(p.name) nodes=\(p.nodes) exclusive=\(p.exclusive ? "yes" : "no") "
                    + "suspend_time=\(p.suspendTime) resume_timeout=\(p.resumeTimeout)")
            }
            for r in try slurm.loadReservations() {
                print("reservation \(r.name) start=\(r.start) end=\(r.end) nodes=\(r.nodes)")
            }
            for j in try slurm.loadJobs() {
                print("job \(j.id) \(j.state) user=\(j.userID) partition=\(j.partition) cpus=\(j.cpus) nodes=\(j.nodeCount) limit_min=\(j.timeLimitMinutes) reservation=\(j.reservation) exclusive=\(j.exclusive ? "yes" : "no") node_list=\(j.nodes) admin_comment=\(j.adminComment)")
            }
        } catch {
            CLISupport.note("prewarm: \(error)")
            throw ExitCode(1)
        }
    }
}

enum NodeFlagsText {
    static func describe(_ f: NodeFlags) -> String {
        let names: [(NodeFlags, String)] = [
            (.cloud, "CLOUD"), (.drain, "DRAIN"), (.completing, "COMPLETING"), (.notResponding, "NOT_RESPONDING"),
            (.poweredDown, "POWERED_DOWN"), (.fail, "FAIL"), (.poweringUp, "POWERING_UP"), (.maintenance, "MAINT"),
            (.poweringDown, "POWERING_DOWN"), (.planned, "PLANNED"), (.powerDownRequested, "POWER_DOWN"),
            (.powerUpRequested, "POWER_UP"),
        ]
        return names.filter { f.contains($0.0) }.map(\.1).joined(separator: "+")
    }
}
