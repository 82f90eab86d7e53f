// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

/// A binary min-heap keyed by `Int64` (event time), carrying a payload.
///
/// Ties are broken by insertion order so that replays are deterministic.
public struct MinHeap<Payload> {
    @usableFromInline var keys: [Int64] = []
    @usableFromInline var order: [UInt64] = []
    @usableFromInline var payloads: [Payload] = []
    @usableFromInline var counter: UInt64 = 0

    public init() {}

    /// Number of elements.
    public var count: Int { keys.count }
    /// Whether the heap is empty.
    public var isEmpty: Bool { keys.isEmpty }
    /// Smallest key, if any.
    public var minKey: Int64? { keys.first }

    @inline(__always) private func less(_ a: Int, _ b: Int) -> Bool {
        keys[a] < keys[b] || (keys[a] == keys[b] && order[a] < order[b])
    }

    private mutating func swapAt(_ a: Int, _ b: Int) {
        keys.swapAt(a, b)
        order.swapAt(a, b)
        payloads.swapAt(a, b)
    }

    /// Inserts `payload` with `key`.
    /// - Complexity: O(log(count))
    public mutating func push(_ key: Int64, _ payload: Payload) {
        keys.append(key)
        order.append(counter)
        counter &+= 1
        payloads.append(payload)
        var i = keys.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            if less(i, p) {
                swapAt(i, p)
                i = p
            } else {
                break
            }
        }
    }

    /// Removes and returns the element with the smallest key.
    /// - Complexity: O(log(count))
    public mutating func pop() -> (key: Int64, payload: Payload)? {
        guard let key = keys.first else { return nil }
        let payload = payloads[0]
        let last = keys.count - 1
        swapAt(0, last)
        keys.removeLast()
        order.removeLast()
        payloads.removeLast()
        var i = 0
        let n = keys.count
        while true {
            let l = 2 * i + 1
            let r = l + 1
            var m = i
            if l < n && less(l, m) { m = l }
            if r < n && less(r, m) { m = r }
            if m == i { break }
            swapAt(i, m)
            i = m
        }
        return (key, payload)
    }
}
