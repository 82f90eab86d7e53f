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
/// them (`a|b`, and the matching OR `[a|b]`, whose nodes all have the same one: for where the job may start, any
/// one), and `&` and `|` mixed, with parentheses (`(intel|amd)&ib`). 22.05's `node_scheduler.c` reads a mix
/// without parentheses left to right; later releases rewrite the expression into sets of features, which was not
/// traced here. A node counts when it satisfies either reading (left to right, or `&` first), so the job's nodes
/// are among those counted whichever its Slurm uses. Anything else (counts,
/// `!`, other brackets, parentheses nested more than 8 deep) is not read: such a job counts for any node of its
/// partition, as Slurm's other jobs do.
enum FeatureConstraint: Equatable {
    case all([String])
    case any([String])
    case mixed(FeatureExpression)

    init?(_ text: String) {
        var t = text.filter { $0 != " " }
        if t.hasPrefix("["), t.hasSuffix("]"), t.count > 2 {  // matching OR: `[a|b]` alone
            t = String(t.dropFirst().dropLast())
            guard t.contains("|"), !t.contains("&") else { return nil }
        }
        guard !t.isEmpty else { return nil }
        let special: Set<Character> = ["[", "]", "*", "!", ",", "{", "}"]
        guard !t.contains(where: { special.contains($0) }) else { return nil }
        let hasAnd = t.contains("&"), hasOr = t.contains("|")
        if (hasAnd && hasOr) || t.contains("(") || t.contains(")") {
            guard let e = FeatureExpression(t) else { return nil }
            self = .mixed(e)
            return
        }
        let names = t.split(separator: hasOr ? "|" : "&", omittingEmptySubsequences: false).map(String.init)
        guard !names.contains(where: \.isEmpty) else { return nil }
        self = hasOr ? .any(names) : .all(names)
    }

    func satisfied(by features: Set<String>) -> Bool {
        switch self {
        case .all(let names): return names.allSatisfy { features.contains($0) }
        case .any(let names): return names.contains { features.contains($0) }
        case .mixed(let e): return e.value(features, andFirst: false) || e.value(features, andFirst: true)
        }
    }
}

/// Features joined by `&` and `|`, with parenthesised groups: a group is its items with the operator before each
/// (the first's is unused).
indirect enum FeatureExpression: Equatable {
    case feature(String)
    case group([(op: Character, item: FeatureExpression)])

    static func == (a: FeatureExpression, b: FeatureExpression) -> Bool {
        switch (a, b) {
        case (.feature(let x), .feature(let y)): return x == y
        case (.group(let x), .group(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.op == $1.op && $0.item == $1.item }
        default: return false
        }
    }

    /// Parses `text` (spaces removed; no brackets, counts or `!`); nil when it is not a well-formed expression.
    init?(_ text: String) {
        var chars = Array(text)[...]
        guard let e = Self.group(&chars, depth: 0), chars.isEmpty else { return nil }
        self = e
    }

    private static func group(_ s: inout ArraySlice<Character>, depth: Int) -> FeatureExpression? {
        guard depth <= 8 else { return nil }
        var items: [(op: Character, item: FeatureExpression)] = []
        var op: Character = "&"
        while true {
            let item: FeatureExpression
            if s.first == "(" {
                s = s.dropFirst()
                guard let inner = group(&s, depth: depth + 1), s.first == ")" else { return nil }
                s = s.dropFirst()
                item = inner
            } else {
                let name = s.prefix { $0 != "&" && $0 != "|" && $0 != "(" && $0 != ")" }
                guard !name.isEmpty else { return nil }
                s = s.dropFirst(name.count)
                item = .feature(String(name))
            }
            items.append((op, item))
            guard let next = s.first, next == "&" || next == "|" else { break }
            op = next
            s = s.dropFirst()
        }
        return .group(items)
    }

    /// Whether a node with `features` satisfies it: left to right, or `&` before `|` (`andFirst`).
    func value(_ features: Set<String>, andFirst: Bool) -> Bool {
        switch self {
        case .feature(let name): return features.contains(name)
        case .group(let items):
            guard let first = items.first else { return false }
            if andFirst {  // an OR of AND terms
                var any = false
                var term = first.item.value(features, andFirst: true)
                for (op, item) in items.dropFirst() {
                    if op == "|" {
                        any = any || term
                        term = item.value(features, andFirst: true)
                    } else {
                        term = term && item.value(features, andFirst: true)
                    }
                }
                return any || term
            }
            var v = first.item.value(features, andFirst: false)
            for (op, item) in items.dropFirst() {
                let x = item.value(features, andFirst: false)
                v = op == "&" ? v && x : v || x
            }
            return v
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
    static func requested(_ text: String) -> [GresKind] { GresAmount.requested(text).map(\.kind) }
}

/// A generic resource with its count: how many a job asks for on each node (1 when not given), or how many a node
/// has (nil when its count does not parse: then any count is taken to fit).
struct GresAmount: Equatable {
    var kind: GresKind
    var count: Int64?

    /// Parses a list of a job's TRES, as ``GresKind/requested(_:)`` does, with the counts.
    static func requested(_ text: String) -> [GresAmount] {
        text.split(whereSeparator: { $0 == "," || $0 == ";" }).compactMap { entry -> GresAmount? in
            var e = Substring(entry)
            if e.hasPrefix("gres/") || e.hasPrefix("gres:") { e = e.dropFirst(5) } else { return nil }
            return parse(e)
        }
    }

    /// Parses a node's `Gres` (`gpu:a100:4(S:0-1),mps:200`).
    static func configured(_ text: String) -> [GresAmount] {
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

    /// `name[:type][:count]` (or `name=count`; a count may end in K, M, G, T or P, powers of 1,024, as Slurm
    /// reads it; 22.05's `no_consume` flag is not a type).
    private static func parse(_ entry: Substring) -> GresAmount? {
        let parts = entry.split(whereSeparator: { $0 == ":" || $0 == "=" }).map(String.init)
        guard let name = parts.first, !name.isEmpty, name != "(null)" else { return nil }
        let rest = parts.dropFirst().filter { $0 != "no_consume" }
        let type = rest.first(where: { count($0) == nil && !$0.isEmpty })
        var n: Int64? = 1
        if let last = rest.last, last != type { n = count(last) }
        return GresAmount(kind: GresKind(name: name, type: type), count: n)
    }

    /// `4`, `100K` (102,400): nil when not a count.
    static func count(_ text: String) -> Int64? {
        var digits = Substring(text)
        var scale: Int64 = 1
        if let last = digits.last, let power = "KMGTP".firstIndex(of: last) {
            scale = Int64(1) << (10 * ("KMGTP".distance(from: "KMGTP".startIndex, to: power) + 1))
            digits = digits.dropLast()
        }
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), let v = Int64(digits), v >= 0 else { return nil }
        let (product, overflow) = v.multipliedReportingOverflow(by: scale)
        return overflow ? Int64.max : product
    }

    /// Whether a node with `configured` resources has as many of this one as it asks for (of its type, when one is
    /// asked for; of any types together when not).
    func fits(in configured: [GresAmount]) -> Bool {
        var total: Int64 = 0
        for c in configured where c.kind.name == kind.name && (kind.type == nil || c.kind.type == kind.type) {
            guard let n = c.count else { return true }
            total = total.addingReportingOverflow(n).overflow ? Int64.max : total + n
        }
        return total >= (count ?? 1)
    }
}

/// Works out ``NodeRestriction``s for the queued jobs of one cycle, parsing each node's features and resources and
/// each distinct hostlist once.
struct NodeEligibility {
    private let nodes: [SlurmNode]
    private var index: [String: Int] = [:]
    private var reservationNodes: [String: String] = [:]
    private var features: [Set<String>?]
    private var gres: [[GresAmount]?]
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
        var gresPerNode: String
    }
    /// By request: the position of its restriction in `results`, or nil for none.
    private var known: [Request: Int?] = [:]
    private var results: [NodeRestriction] = []

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

    private mutating func nodeGres(_ i: Int) -> [GresAmount] {
        if let g = gres[i] { return g }
        let g = GresAmount.configured(nodes[i].gres)
        gres[i] = g
        return g
    }

    /// Where job `j` can start among `members` (positions in the node list, sorted: the nodes of `partition`), with
    /// an id that jobs of the same request share (ids count from 0 in order of first use); nil when on any of them.
    mutating func restriction(of j: SlurmJob, partition: String, members: [Int]) -> (id: Int, nodes: NodeRestriction)? {
        guard Self.mayRestrict(j) else { return nil }
        let request = Request(
            partition: partition, required: j.requiredNodes, excluded: j.excludedNodes, reservation: j.reservation,
            constraint: j.constraint, gres: j.gresRequest, gresPerNode: j.gresPerNode)
        let id: Int?
        if let known = known[request] {
            id = known
        } else {
            let r = work(j, partition: partition, members: members)
            if let r { results.append(r) }
            id = r == nil ? nil : results.count - 1
            known[request] = id
        }
        return id.map { ($0, results[$0]) }
    }

    /// Whether each node of the list is a member of `partition` (`members`), made once per partition.
    private var masks: [String: [Bool]] = [:]

    /// Works a restriction out in time proportional to the nodes a job names, unless a reservation, a constraint
    /// or a resource confines it (few distinct ones in a queue): then one pass over the partition's nodes each.
    private mutating func work(_ j: SlurmJob, partition: String, members: [Int]) -> NodeRestriction? {
        let mask: [Bool]
        if let known = masks[partition] {
            mask = known
        } else {
            var m = [Bool](repeating: false, count: nodes.count)
            for i in members where i >= 0 && i < m.count { m[i] = true }
            masks[partition] = m
            mask = m
        }
        func inside(_ i: Int) -> Bool { i >= 0 && i < mask.count && mask[i] }
        var allowed: [Int]?  // nil: every member
        if !j.reservation.isEmpty, let list = reservationNodes[j.reservation], !list.isEmpty, list != "ALL",
            let reserved = positions(list)
        {
            allowed = (allowed ?? members).filter { reserved.contains($0) }
        }
        if let constraint = FeatureConstraint(j.constraint) {
            allowed = (allowed ?? members).filter { constraint.satisfied(by: nodeFeatures($0)) }
        }
        // The resources: of each kind the job asks for, at least one on the node; of those it asks for per node,
        // as many as it asks for (a job's total, or per socket or task, may spread over nodes: not compared).
        let perNode = GresAmount.requested(j.gresPerNode)
        let kinds = GresKind.requested(j.gresRequest).map { GresAmount(kind: $0, count: 1) }
            .filter { k in !perNode.contains { $0.kind == k.kind } } + perNode
        if !kinds.isEmpty {
            allowed = (allowed ?? members).filter { i in kinds.allSatisfy { $0.fits(in: nodeGres(i)) } }
        }
        // `--exclude` alone confines a job only when it leaves at most half of the partition: a job that avoids a
        // few nodes can run nearly anywhere, and each distinct list would make a set of nearly every node.
        if !j.excludedNodes.isEmpty, let excluded = positions(j.excludedNodes) {
            if let a = allowed {
                allowed = a.filter { !excluded.contains($0) }
            } else if (members.count - excluded.filter(inside).count) * 2 <= members.count {
                allowed = members.filter { !excluded.contains($0) }
            }
        }
        var required: [Int] = []
        if !j.requiredNodes.isEmpty, let named = positions(j.requiredNodes) {
            required = named.filter(inside).sorted()
            if !required.isEmpty, let a = allowed { allowed = a.filter { !named.contains($0) } }
        }
        guard let allowed else { return required.isEmpty ? nil : NodeRestriction(required: required, others: nil) }
        if required.isEmpty && allowed.count == members.count { return nil }
        let othersAreAll = allowed.count + required.count == members.count
        return NodeRestriction(required: required, others: othersAreAll ? nil : allowed)
    }
}
