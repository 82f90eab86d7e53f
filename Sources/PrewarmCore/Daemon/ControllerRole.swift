// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

/// Whether prewarmd acts, with a backup controller: with `Standby=auto` a prewarmd runs on each controller host, and
/// the one on the host whose slurmctld is in control acts while the others wait. Slurm hands control to the first
/// `SlurmctldHost` that answers (a backup takes over only while every controller before it is silent, and gives
/// control back when one before it returns), so the controller in control is the first that answers a ping.
public enum ControllerRole: Equatable, Sendable {
    /// prewarmd acts whatever the controllers do: one controller, this host is none of them, or `Standby=no`.
    case always
    /// This host's slurmctld (`SlurmctldHost` number `index`, 0 the primary) is in control: prewarmd acts.
    case inControl(index: Int, host: String)
    /// Another controller is in control (`inControl`), or none answers (nil): prewarmd waits.
    case standby(inControl: String?, thisHost: String)

    public var acts: Bool {
        if case .standby = self { return false }
        return true
    }

    /// The role of a prewarmd on the host called `hostName` (as `gethostname` gives it, short or qualified), given
    /// the controllers in `SlurmctldHost` order and whether controller `i` answers a ping. Names are compared
    /// case-insensitively by their first label, as `ctl1` and `ctl1.example.org` name one host. Pings only the
    /// controllers before this host's (and this host's), in order.
    public static func decide(controllers: [String], hostName: String, answers: (Int) -> Bool) -> ControllerRole {
        guard controllers.count > 1, let mine = index(of: hostName, in: controllers) else { return .always }
        for i in 0..<mine where answers(i) {
            return .standby(inControl: controllers[i], thisHost: controllers[mine])
        }
        if answers(mine) { return .inControl(index: mine, host: controllers[mine]) }
        for i in (mine + 1)..<controllers.count where answers(i) {
            return .standby(inControl: controllers[i], thisHost: controllers[mine])
        }
        return .standby(inControl: nil, thisHost: controllers[mine])
    }

    /// One line for the log when the role changes.
    public var description: String {
        switch self {
        case .always: return "acting (not following a controller)"
        case .inControl(let index, let host):
            return "active: this host's slurmctld (\(host), SlurmctldHost number \(index + 1)) is in control"
        case .standby(let other?, let me):
            return "standby: slurmctld on \(other) is in control, not this host's (\(me)); the prewarmd there acts"
        case .standby(nil, let me):
            return "standby: no slurmctld answers, this host's (\(me)) neither"
        }
    }

    /// Which of `controllers` the host called `hostName` is (by first label, case-insensitively), if any.
    public static func index(of hostName: String, in controllers: [String]) -> Int? {
        let me = shortName(hostName)
        guard !me.isEmpty else { return nil }
        return controllers.firstIndex { shortName($0) == me }
    }

    static func shortName(_ name: String) -> String {
        String(name.prefix { $0 != "." }).lowercased()
    }
}
