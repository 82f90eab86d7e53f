// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

import Foundation
import PrewarmCore
import PrewarmOps
import SlurmKit

/// `FollowController=yes`: asks, before each cycle, whether this host's slurmctld is the controller in control
/// (``ControllerRole``), so that a prewarmd on each controller host acts only where slurmctld does. The controller
/// list comes from slurmctld once (again after a reload, and until it answers); the pings go to the controllers up
/// to this host's, each cycle. Role changes are logged once each.
struct ControllerFollower {
    /// This host's name, as `gethostname` gives it.
    let hostName: String
    private var controllers: [String]?
    private var last: ControllerRole?
    private var unknownSaid = false

    init(hostName: String = LocalHost.name) {
        self.hostName = hostName
    }

    /// Whether the last role came from following the controllers (not `always`).
    var follows: Bool {
        if let last, last != .always { return true }
        return false
    }

    mutating func forgetControllers() { controllers = nil }

    mutating func role(
        _ configuration: DaemonConfiguration, slurm: LibSlurmClient, log: (String) -> Void
    ) -> ControllerRole {
        guard configuration.followController else { return changed(.always, log: log) }
        if controllers == nil {
            do {
                controllers = try slurm.loadControllerSettings().controllers
                unknownSaid = false
            } catch {
                // Until slurmctld says which controllers there are, act as before (its cycles will back off); a
                // daemon that already stood by keeps standing by.
                if !unknownSaid { log("FollowController: SlurmctldHost not known yet (\(error)); asking again each cycle") }
                unknownSaid = true
                return last ?? .always
            }
        }
        let role = ControllerRole.decide(controllers: controllers ?? [], hostName: hostName) {
            slurm.pingController($0)
        }
        return changed(role, log: log)
    }

    private mutating func changed(_ role: ControllerRole, log: (String) -> Void) -> ControllerRole {
        if role != last && !(last == nil && role == .always) { log("FollowController: \(role.description)") }
        last = role
        return role
    }
}
