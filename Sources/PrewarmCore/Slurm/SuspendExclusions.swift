// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

/// Slurm's `SuspendExcNodes`, read as the running slurmctld reads it: sets of nodes that Slurm's power saving never
/// suspends, each whole or up to a count of its nodes (`nid[10-20]:4`).
///
/// slurmctld splits the value two ways, by release (its `power_save.c`):
/// - up to 23.11 (22.05 seen here): without a `:` the whole value is one hostlist, every node kept; with one, the text
///   before each `:count` is a set, so `a[1-3],b[1-8]:4,c1` keeps 4 of `a[1-3],b[1-8]` and all of `c1`. A count
///   that is not a number from 1 to the set's size makes slurmctld ignore the value ("Invalid SuspendExcNodes …
///   ignored");
/// - from 24.05 (24.11 and 26.05 seen here): every comma-separated item is its own set (`a[1-3]` whole, 4 of
///   `b[1-8]`, `c1`); a count of 0 or none keeps the whole set. An item may also be `ALL` or a NodeSet.
///
/// Which nodes of a counted set are kept depends on their states at the time (``SuspendExclusionSyntax``); this
/// type only reads the text.
public struct SuspendExcludedNodes: Sendable, Equatable {
    /// One set of nodes.
    public struct Entry: Sendable, Equatable {
        /// The set as written (for messages).
        public var text: String
        /// Its node names, expanded (empty for `ALL`).
        public var names: [String]
        /// `ALL`: every node of the cluster.
        public var all: Bool
        /// How many of its nodes Slurm keeps up; nil keeps every node of the set (never touched).
        public var count: Int?

        public init(text: String, names: [String], all: Bool = false, count: Int? = nil) {
            self.text = text
            self.names = names
            self.all = all
            self.count = count
        }
    }

    /// The sets, in the order written.
    public var entries: [Entry] = []
    /// Items that are no hostlist Prewarm can expand, each named with the reason. Their nodes are unknown, so a
    /// caller that must not power down a node Slurm keeps powers none down while there are any.
    public var unreadable: [String] = []
    /// Counts slurmctld (22.05 to 23.11) rejects; the sets they follow are read as kept whole.
    public var invalidCounts: [String] = []

    public init(entries: [Entry] = [], unreadable: [String] = [], invalidCounts: [String] = []) {
        self.entries = entries
        self.unreadable = unreadable
        self.invalidCounts = invalidCounts
    }

    /// Whether nothing is excluded.
    public var isEmpty: Bool { entries.isEmpty && unreadable.isEmpty }

    /// Reads a `SuspendExcNodes` value as slurmctld of the given syntax does.
    /// - Complexity: O(n + m) for n bytes and m names (each set bounded by ``Hostlist/maxNames``).
    public static func parse(_ value: String, syntax: SuspendExclusionSyntax) -> SuspendExcludedNodes {
        let text = trimmed(value)
        var out = SuspendExcludedNodes()
        guard !text.isEmpty else { return out }
        switch syntax {
        case .upTo2311: out.parseUpTo2311(text)
        case .since2405: out.parseSince2405(text)
        }
        return out
    }

    /// 22.05–23.11: the sets are the texts before each `:count`; what follows the last count is a set kept whole.
    private mutating func parseUpTo2311(_ text: String) {
        let pieces = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard pieces.count > 1 else {
            if let names = expandSet(text) { entries.append(Entry(text: text, names: names)) }
            return
        }
        var sets: [(text: String, countText: String?)] = []
        var nodes = pieces[0]
        for piece in pieces.dropFirst() {
            // The count runs to the first comma; what follows is the next set's nodes.
            let comma = piece.firstIndex(of: ",")
            let countText = String(comma.map { piece[..<$0] } ?? piece[...])
            sets.append((nodes, countText))
            nodes = comma.map { String(piece[piece.index(after: $0)...]) } ?? ""
        }
        if !Self.trimmed(nodes).isEmpty { sets.append((nodes, nil)) }
        var invalid = false
        let first = entries.count
        for s in sets {
            guard let names = expandSet(s.text) else { continue }
            var count: Int?
            if let c = s.countText {
                let n = Int(Self.trimmed(c))
                if let n, n >= 1, n <= names.count {
                    count = n < names.count ? n : nil
                } else {
                    invalid = true
                    invalidCounts.append(
                        "'\(Self.trimmed(s.text)):\(c)': the count must be a whole number from 1 to the set's "
                            + "\(names.count) nodes; slurmctld (22.05 to 23.11) ignores such a SuspendExcNodes "
                            + "whole, so prewarmd keeps every node it names")
                }
            }
            entries.append(Entry(text: Self.trimmed(s.text), names: names, count: count))
        }
        // slurmctld then protects nothing; prewarmd keeps every named node rather than power down one an admin meant
        // to keep.
        if invalid { for i in first ..< entries.count { entries[i].count = nil } }
    }

    /// 24.05 on: every comma-separated item (outside brackets) is a set, with an optional `:count`.
    private mutating func parseSince2405(_ text: String) {
        for item in Self.items(text) {
            let t = Self.trimmed(item)
            guard !t.isEmpty else { continue }
            var nodesText = t
            var count: Int?
            if let colon = t.firstIndex(of: ":") {
                nodesText = String(t[..<colon])
                // strtol: leading digits (an optional sign); 0, a negative or no number keeps the whole set.
                let rest = t[t.index(after: colon)...]
                var digits = ""
                for (i, c) in rest.enumerated() {
                    if c.isASCII, c.isNumber { digits.append(c) } else if i == 0, c == "+" || c == "-" {
                        digits.append(c)
                    } else { break }
                }
                if let n = Int(digits), n > 0 { count = n }
            }
            if Self.trimmed(nodesText).caseInsensitiveEquals("ALL") {
                entries.append(Entry(text: Self.trimmed(nodesText), names: [], all: true, count: count))
                continue
            }
            guard let names = expandSet(nodesText) else { continue }
            entries.append(Entry(
                text: Self.trimmed(nodesText), names: names,
                count: count.flatMap { $0 < names.count ? $0 : nil }))
        }
    }

    private mutating func expandSet(_ text: String) -> [String]? {
        do {
            return try Hostlist.expand(text)
        } catch {
            unreadable.append("'\(Self.trimmed(text))': \(error)")
            return nil
        }
    }

    /// Splits on commas outside brackets.
    static func items(_ text: String) -> [String] {
        var out: [String] = []
        var current = ""
        var depth = 0
        for c in text {
            if c == "[" { depth += 1 } else if c == "]" { depth = Swift.max(0, depth - 1) }
            if c == ",", depth == 0 {
                out.append(current)
                current = ""
            } else {
                current.append(c)
            }
        }
        out.append(current)
        return out
    }

    static func trimmed<S: StringProtocol>(_ s: S) -> String {
        var t = Substring(s)
        while let f = t.first, f == " " || f == "\t" || f == "\n" { t.removeFirst() }
        while let l = t.last, l == " " || l == "\t" || l == "\n" { t.removeLast() }
        return String(t)
    }

}

/// How slurmctld reads `SuspendExcNodes` and picks the nodes of a counted set (`nid[10-20]:4`), by release.
public enum SuspendExclusionSyntax: Sendable, Equatable {
    /// Slurm 22.05 to 23.11: the count keeps that many *idle* nodes of the set (the first in node order that are
    /// idle and not completing, drained, powering up, powered down or powering down).
    case upTo2311
    /// Slurm 24.05 on: the count keeps that many *powered-up* nodes; allocated ones count toward it, then the first
    /// idle or down ones (not completing, powering up or down, rebooting or powered down) are kept for the rest.
    case since2405

    /// The syntax of a Slurm release given as `SLURM_VERSION_NUMBER` (`slurm_api_version()`: major << 16 | minor <<
    /// 8 | micro).
    public init(versionNumber: Int) {
        self = versionNumber >= (24 << 16 | 5 << 8) ? .since2405 : .upTo2311
    }
}

/// Slurm's `SuspendExcStates` (Slurm 23.02 on): node states that Slurm's power saving never suspends.
public struct SuspendExcludedStates: Sendable, Equatable {
    /// A node state the value names.
    public enum State: String, Sendable, Equatable, CaseIterable {
        case down = "DOWN", cloud = "CLOUD", drain = "DRAIN", dynamicFuture = "DYNAMIC_FUTURE"
        case dynamicNorm = "DYNAMIC_NORM", fail = "FAIL", invalidRegistration = "INVALID_REG"
        case maintenance = "MAINTENANCE", notResponding = "NOT_RESPONDING", planned = "PLANNED"
        case reserved = "RESERVED"
    }

    public var states: Set<State> = []
    /// Names slurmctld does not accept either ("Invalid SuspendExcState …").
    public var unknown: [String] = []

    public init(states: Set<State> = [], unknown: [String] = []) {
        self.states = states
        self.unknown = unknown
    }

    /// Slurm's node_state_flags table, in its order (24.11); nil for flags SuspendExcStates does not take.
    private static let flagTable: [(String, State?)] = [
        ("BLOCKED", nil), ("CLOUD", .cloud), ("COMPLETING", nil), ("DRAIN", .drain),
        ("DYNAMIC_FUTURE", .dynamicFuture), ("DYNAMIC_NORM", .dynamicNorm),
        ("INVALID_REG", .invalidRegistration), ("FAIL", .fail), ("MAINTENANCE", .maintenance),
        ("POWER_DOWN", nil), ("POWER_UP", nil), ("POWERED_DOWN", nil), ("REBOOT_REQUESTED", nil),
        ("REBOOT_ISSUED", nil), ("RESERVED", .reserved), ("RESUME", nil), ("NOT_RESPONDING", .notResponding),
        ("PLANNED", .planned), ("POWERING_UP", nil), ("POWERING_DOWN", nil),
    ]

    /// Reads the comma-separated value as slurmctld does (`_parse_exc_states`, `parse_node_state_flag`):
    /// case-insensitive; `DOWN` may be shortened to two letters; any other token names the first of Slurm's node
    /// state flags (in Slurm's table order) whose name starts with it, or that it starts with, so `MAINT` is
    /// `MAINTENANCE` and `DYNAMIC` is `DYNAMIC_FUTURE`; a flag that is not one of the states above (`POWER_DOWN`,
    /// `COMPLETING`…) or no flag at all is rejected, as slurmctld rejects it.
    public static func parse(_ value: String) -> SuspendExcludedStates {
        var out = SuspendExcludedStates()
        for raw in value.split(separator: ",") {
            let token = SuspendExcludedNodes.trimmed(raw).uppercased()
            guard !token.isEmpty else { continue }
            if token.count >= 2, token.count <= 4, "DOWN".hasPrefix(token) {
                out.states.insert(.down)
                continue
            }
            let hit = flagTable.first { name, _ in name.hasPrefix(token) || token.hasPrefix(name) }
            if let state = hit?.1 {
                out.states.insert(state)
            } else {
                out.unknown.append(SuspendExcludedNodes.trimmed(raw))
            }
        }
        return out
    }
}

extension StringProtocol {
    fileprivate func caseInsensitiveEquals(_ other: String) -> Bool { uppercased() == other.uppercased() }
}
