// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

/// Nodes that run (or wait to run) jobs sharing them and have cores left, by free cores: the best fit for a job of
/// `c` cores (the node with the fewest free cores that still fits it, as Slurm's cons_tres packs) in O(cores / 64).
struct PartialNodes {
    /// Nodes by free cores (1 ..< cores per node).
    private var buckets: [[Int32]]
    /// Per node: its bucket (-1: none) and place in it.
    private var bucketOf: [Int32]
    private var position: [Int32]
    /// Bit `f` set: bucket `f` is not empty.
    private var nonEmpty: [UInt64]
    private(set) var count = 0

    init(nodes: Int, cores: Int) {
        let c = Swift.max(1, cores)
        buckets = Array(repeating: [], count: c)
        bucketOf = Array(repeating: -1, count: nodes)
        position = Array(repeating: -1, count: nodes)
        nonEmpty = Array(repeating: 0, count: (c + 63) / 64)
    }

    var isEmpty: Bool { count == 0 }

    func contains(_ node: Int) -> Bool { bucketOf[node] >= 0 }

    /// Files `node` under `free` cores; 0 or fewer, or as many as a node has, takes it out.
    mutating func set(_ node: Int, free: Int) {
        remove(node)
        guard free > 0, free < buckets.count else { return }
        bucketOf[node] = Int32(free)
        position[node] = Int32(buckets[free].count)
        buckets[free].append(Int32(node))
        nonEmpty[free >> 6] |= 1 << UInt64(free & 63)
        count += 1
    }

    mutating func remove(_ node: Int) {
        let b = Int(bucketOf[node])
        guard b >= 0 else { return }
        let p = Int(position[node])
        let last = buckets[b][buckets[b].count - 1]
        buckets[b][p] = last
        position[Int(last)] = Int32(p)
        buckets[b].removeLast()
        if buckets[b].isEmpty { nonEmpty[b >> 6] &= ~(1 << UInt64(b & 63)) }
        bucketOf[node] = -1
        position[node] = -1
        count -= 1
    }

    /// The node with the fewest free cores of at least `c` (the last filed among equals), if any.
    func bestFit(_ c: Int) -> Int? {
        let from = Swift.max(1, c)
        guard from < buckets.count else { return nil }
        var w = from >> 6
        var word = nonEmpty[w] & (~0 << UInt64(from & 63))
        while true {
            if word != 0 {
                let b = w << 6 | word.trailingZeroBitCount
                return buckets[b].last.map { Int($0) }
            }
            w += 1
            guard w < nonEmpty.count else { return nil }
            word = nonEmpty[w]
        }
    }
}
