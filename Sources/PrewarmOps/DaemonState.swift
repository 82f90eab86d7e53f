// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
//
// What prewarmd keeps across a restart (even SIGKILL): the power commands whose effect Slurm has not shown yet
// and the recent actions (the hourly cap, and the log `prewarm status` shows). Written atomically, before the
// commands are issued, to `StateDirectory/state.json`.

import Foundation
import Traces

/// A power action, as logged and persisted.
public enum NodePowerAction: String, Codable, Sendable, CaseIterable {
    case powerUp = "power_up"
    case powerDown = "power_down"
    case powerDownAsap = "power_down_asap"
}

/// A node whose power change has been asked for and not yet shown by Slurm.
public struct InFlightCommand: Codable, Sendable, Equatable {
    /// `issued`: prewarmd sent it. `observed`: Slurm already showed the node powering up or down (a command
    /// from an administrator, from Slurm itself, or from a prewarmd that died before recording it).
    public enum Origin: String, Codable, Sendable {
        case issued, observed
    }
    public var node: String
    public var action: NodePowerAction
    /// Unix time the command was issued or first observed.
    public var since: Int64
    public var origin: Origin

    public init(node: String, action: NodePowerAction, since: Int64, origin: Origin) {
        self.node = node
        self.action = action
        self.since = since
        self.origin = origin
    }
}

/// One decision of the adjustment loop and what became of it.
public struct ActionRecord: Codable, Sendable, Equatable {
    public enum Outcome: String, Codable, Sendable {
        /// Sent to Slurm (enforce mode).
        case issued
        /// Slurm refused it (`error` says why).
        case refused
        /// forecast-only mode: what it would have done.
        case would
    }
    public var time: Int64
    public var node: String
    public var action: NodePowerAction
    public var outcome: Outcome
    public var reason: String
    public var error: String?

    public init(
        time: Int64, node: String, action: NodePowerAction, outcome: Outcome, reason: String, error: String? = nil
    ) {
        self.time = time
        self.node = node
        self.action = action
        self.outcome = outcome
        self.reason = reason
        self.error = error
    }
}

/// The daemon's persisted state.
public struct DaemonState: Codable, Sendable, Equatable {
    public static let formatVersion = 1
    /// Actions kept for `prewarm status`.
    public static let recentLimit = 50

    public var version = DaemonState.formatVersion
    /// Unix time of the last save.
    public var savedAt: Int64 = 0
    public var inFlight: [InFlightCommand] = []
    /// Unix times of the commands issued in the last hour (the hourly cap counts them).
    public var issuedTimes: [Int64] = []
    /// The last ``recentLimit`` decisions, oldest first.
    public var recentActions: [ActionRecord] = []
    /// Measured power-up durations, seconds (``BootLeadEstimator``); absent in files from before 2026-12-01.
    public var bootDurations: [Int64]?

    public init() {}

    /// The in-flight command for `node`, if any.
    public func inFlight(_ node: String) -> InFlightCommand? { inFlight.first { $0.node == node } }

    /// Appends a decision, keeping the last ``recentLimit``.
    public mutating func record(_ action: ActionRecord) {
        recentActions.append(action)
        if recentActions.count > Self.recentLimit { recentActions.removeFirst(recentActions.count - Self.recentLimit) }
    }
}

/// A state file that cannot be used, naming the file.
public struct StateError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var message: String
    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }
    public var description: String { "\(path): \(message)" }
}

/// The files under `StateDirectory=`.
public struct StateDirectory: Sendable {
    public let path: String
    public init(path: String) { self.path = path }

    public var stateFile: String { path + "/state.json" }
    public var statusFile: String { path + "/status.json" }
    public var lockFile: String { path + "/prewarmd.lock" }

    /// Creates the directory (and its parents) if missing, mode 0755.
    public func create() throws(StateError) {
        do {
            try FileManager.default.createDirectory(
                atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        } catch {
            throw StateError(path: path, message: "cannot create the state directory: \(error.localizedDescription)")
        }
    }

    /// Takes an exclusive lock on `prewarmd.lock` for the life of the process, so that two daemons never share
    /// (and overwrite) one state. Returns the descriptor (kept open).
    public func lock() throws(StateError) -> Int32 {
        let fd = open(lockFile, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw StateError(path: lockFile, message: "open failed: \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let e = errno
            close(fd)
            throw StateError(
                path: lockFile,
                message: e == EWOULDBLOCK ? "held by another prewarmd" : "flock failed: \(String(cString: strerror(e)))"
            )
        }
        return fd
    }

    /// The saved state; nil when there is none yet.
    /// - Throws: ``StateError`` when the file exists but cannot be read or decoded.
    public func loadState() throws(StateError) -> DaemonState? {
        guard FileManager.default.fileExists(atPath: stateFile) else { return nil }
        let bytes: [UInt8]
        do {
            bytes = try AtomicFile.read(stateFile, maxBytes: 16 << 20)
        } catch {
            throw StateError(path: stateFile, message: "\(error)")
        }
        let state: DaemonState
        do {
            state = try JSONCoding.decoder.decode(DaemonState.self, from: Data(bytes))
        } catch {
            throw StateError(path: stateFile, message: "not a prewarmd state file: \(error)")
        }
        guard state.version == DaemonState.formatVersion else {
            throw StateError(
                path: stateFile, message: "format version \(state.version), expected \(DaemonState.formatVersion)")
        }
        return state
    }

    /// Replaces `state.json` atomically (temporary file, fsync, rename, fsync of the directory).
    public func save(_ state: DaemonState) throws(StateError) {
        try write(state, to: stateFile)
    }

    /// Replaces `status.json` atomically.
    public func saveStatus(_ status: StatusSnapshot) throws(StateError) {
        try write(status, to: statusFile)
    }

    /// Reads `status.json` (or `file`).
    public func loadStatus(file: String? = nil) throws(StateError) -> StatusSnapshot {
        let path = file ?? statusFile
        let bytes: [UInt8]
        do {
            bytes = try AtomicFile.read(path, maxBytes: 64 << 20)
        } catch {
            throw StateError(path: path, message: "\(error)")
        }
        do {
            return try JSONCoding.decoder.decode(StatusSnapshot.self, from: Data(bytes))
        } catch {
            throw StateError(path: path, message: "not a prewarmd status snapshot: \(error)")
        }
    }

    private func write<T: Encodable>(_ value: T, to file: String) throws(StateError) {
        let data: Data
        do {
            data = try JSONCoding.encoder.encode(value)
        } catch {
            throw StateError(path: file, message: "cannot encode: \(error)")
        }
        do {
            try AtomicFile.write(Array(data) + [0x0A], to: file)
        } catch {
            throw StateError(path: file, message: "\(error)")
        }
    }
}

/// One JSON convention for the state and status files: snake_case keys, sorted.
enum JSONCoding {
    static var encoder: JSONEncoder {
        let e = JSONEncoder()
        e.keyEncodingStrategy = .convertToSnakeCase
        e.outputFormatting = [.sortedKeys]
        return e
    }
    static var decoder: JSONDecoder {
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        return d
    }
}
