// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
//
// Which of its partition's nodes a queued job can start on: its required nodes (`--nodelist`), the nodes it excludes
// (`--exclude`), its advance reservation's nodes, the features it asks for (`--constraint`) and its generic
// resources (`--gres`, `--gpus`). A job that can start on only some nodes needs those nodes, not any node of the
// partition: the forecast counts it on them (``LiveForecast``), so that prewarmd neither powers down the node it
// is about to run on nor powers up one it cannot use.

import PrewarmCore

/// The nodes a queued job is confined to within its partition, as positions in the cycle's node list.
struct NodeRestriction: Equatable {
    /// Nodes the job must have all of (`--nodelist`, within the partition), sorted.
    var required: [Int]
    /// Nodes it may take the rest of its nodes from (the partition's nodes that pass every other restriction,
    /// without the required ones), sorted; `nil` when that is every other node of the partition.
    var others: [Int]?
}

/// A `--constraint` expression prewarmd can evaluate: one feature, features all required (`a&b`) or any one of
/// them (`a|b`). Anything else (brackets, counts, parentheses, `!`, a mix of `&` and `|`) is not read: such a
/// job counts for any node of its partition, as Slurm's other jobs do.
enum FeatureConstraint: Equatable {
    case all([String])
    case any([String])

    init?(_ text: String) {
        let t = text.filter { $0 != " " }
        guard !t.isEmpty else { return nil }
        let special: Set<Character> = ["[", "]", "(", ")", "*", "!", ",", "{", "}"]
        guard !t.contains(where: { special.contains($0) }) else { return nil }
        let hasAnd = t.contains("&"), hasOr = t.contains("|")
        if hasAnd && hasOr { return nil }
        let names = t.split(separator: hasOr ? "|" : "&", omittingEmptySubsequences: false).map(String.init)
        guard !names.contains(where: \.isEmpty) else { return nil }
        self = hasOr ? .any(names) : .all(names)
    }

    func satisfied(by features: Set<String>) -> Bool {
        switch self {
        case .all(let names): return names.allSatisfy { features.contains($0) }
        case .any(let names): return names.contains { features.contains($0) }
        }
    }
}

/// One generic resource, as a job asks for it (`gres/gpu:a100:2`, 22.05's `gres:gpu:2`) or a node has it
/// (`gpu:a100:4(S:0-1)`): its name and type (nil when not given).
struct GresKind: Hashable {
    var name: String
    var type: String?

    /// Parses a list of a job's TRES (`gres/gpu:2,gres/mps:50`, `;` or `,` between them); entries that are not
    /// generic resources (`cpu=4`, `license/…`) are skipped.
    static func requested(_ text: String) -> [GresKind] {
        text.split(whereSeparator: { $0 == "," || $0 == ";" }).compactMap { entry -> GresKind? in
            var e = Substring(entry)
            if e.hasPrefix("gres/") || e.hasPrefix("gres:") { e = e.dropFirst(5) } else { return nil }
            return parse(e)
        }
    }

    /// Parses a node's `Gres` (`gpu:a100:4(S:0-1),mps:200`).
    static func configured(_ text: String) -> [GresKind] {
        var plain = ""
        var depth = 0
        for c in text {  // without the parenthesised socket lists, which may hold commas: `(S:0,1)`
            switch c {
            case "(": depth += 1
            case ")": depth = Swift.max(0, depth - 1)
            default: if depth == 0 { plain.append(c) }
            }
        }
        return plain.split(separator: ",").compactMap { parse($0) }
    }

    /// `name[:type][:count]` (or `name=count`): the name and the type, when given.
    private static func parse(_ entry: Substring) -> GresKind? {
        let parts = entry.split(whereSeparator: { $0 == ":" || $0 == "=" }).map(String.init)
        guard let name = parts.first, !name.isEmpty, name != "(null)" else { return nil }
        let rest = parts.dropFirst()
        let type = rest.first(where: { Int($0) == nil && !$0.isEmpty })
        return GresKind(name: name, type: type)
    }

    /// Whether a node with `configured` resources has this one (of its type, when one is asked for).
    func offered(by configured: [GresKind]) -> Bool {
        configured.contains { $0.name == name && (type == nil || $0.type == type) }
    }
}

/// Works out ``NodeRestriction``s for the queued jobs of one cycle, parsing each node's features and resources and
/// each distinct hostlist once.
struct NodeEligibility {
    private let nodes: [SlurmNode]
    private var index: [String: Int] = [:]
    private var reservationNodes: [String: String] = [:]
    private var features: [Set<String>?]
    private var gres: [[GresKind]?]
    private var expanded: [String: Set<Int>?] = [:]
    /// Restrictions already worked out, by partition and the job's fields: jobs of a cluster ask for a few kinds
    /// of nodes, so a queue of 100,000 jobs filters each partition's nodes a few times, not once per job.
    private struct Request: Hashable {
        var partition: String
        var required: String
        var excluded: String
        var reservation: String
        var constraint: String
        var gres: String
    }
    private var known: [Request: NodeRestriction?] = [:]

    init(nodes: [SlurmNode], reservations: [SlurmReservation]) {
        self.nodes = nodes
        for (i, n) in nodes.enumerated() where index[n.name] == nil { index[n.name] = i }
        for r in reservations { reservationNodes[r.name] = r.nodes }
        features = Array(repeating: nil, count: nodes.count)
        gres = Array(repeating: nil, count: nodes.count)
    }

    /// Whether any of a job's fields can confine it: the usual job has none, and costs nothing more.
    static func mayRestrict(_ j: SlurmJob) -> Bool {
        !j.requiredNodes.isEmpty || !j.excludedNodes.isEmpty || !j.constraint.isEmpty || !j.gresRequest.isEmpty
            || !j.reservation.isEmpty
    }

    /// The positions of the nodes a hostlist names (nil when it does not parse: that restriction is not applied).
    private mutating func positions(_ hostlist: String) -> Set<Int>? {
        if let known = expanded[hostlist] { return known }
        var out: Set<Int>?
        if let names = try? Hostlist.expand(hostlist) {
            out = Set(names.compactMap { index[$0] })
        }
        expanded[hostlist] = out
        return out
    }

    private mutating func nodeFeatures(_ i: Int) -> Set<String> {
        if let f = features[i] { return f }
        let f = Set(nodes[i].features.split(separator: ",").map { String($0.filter { $0 != " " }) })
        features[i] = f
        return f
    }

    private mutating func nodeGres(_ i: Int) -> [GresKind] {
        if let g = gres[i] { return g }
        let g = GresKind.configured(nodes[i].gres)
        gres[i] = g
        return g
    }

    /// Where job `j` can start among `members` (positions in the node list, sorted: the nodes of `partition`); nil
    /// when on any of them.
    mutating func restriction(of j: SlurmJob, partition: String, members: [Int]) -> NodeRestriction? {
        guard Self.mayRestrict(j) else { return nil }
        let request = Request(
            partition: partition, required: j.requiredNodes, excluded: j.excludedNodes, reservation: j.reservation,
            constraint: j.constraint, gres: j.gresRequest)
        if let r = known[request] { return r }
        let r = work(j, members: members)
        known[request] = r
        return r
    }

    private mutating func work(_ j: SlurmJob, members: [Int]) -> NodeRestriction? {
        var allowed = members
        if !j.excludedNodes.isEmpty, let excluded = positions(j.excludedNodes) {
            allowed.removeAll { excluded.contains($0) }
        }
        if !j.reservation.isEmpty, let list = reservationNodes[j.reservation], !list.isEmpty, list != "ALL",
            let reserved = positions(list)
        {
            allowed.removeAll { !reserved.contains($0) }
        }
        if let constraint = FeatureConstraint(j.constraint) {
            allowed.removeAll { !constraint.satisfied(by: nodeFeatures($0)) }
        }
        let kinds = GresKind.requested(j.gresRequest)
        if !kinds.isEmpty {
            allowed.removeAll { i in !kinds.allSatisfy { $0.offered(by: nodeGres(i)) } }
        }
        var required: [Int] = []
        if !j.requiredNodes.isEmpty, let named = positions(j.requiredNodes) {
            required = members.filter { named.contains($0) }
            allowed.removeAll { named.contains($0) }
        }
        if required.isEmpty && allowed.count == members.count { return nil }
        let othersAreAll = allowed.count + required.count == members.count
        return NodeRestriction(required: required, others: othersAreAll ? nil : allowed)
    }
}
