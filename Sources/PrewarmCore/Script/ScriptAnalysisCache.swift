// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

#if canImport(Glibc)
import Glibc
#endif

/// The analyses of the last few batch scripts seen, so that a script submitted again (a user's loop of
/// `sbatch job.sh $i`, a workflow tool resubmitting the same template) is not scanned again.
///
/// Exact: an analysis is a function of the script's bytes alone, and a hit is a script whose bytes are equal
/// to a cached one, compared in full (the hash only picks the candidate). Bounded: ``capacity`` entries of at
/// most ``maxCachedBytes`` bytes each (longer scripts are analysed every time), replaced oldest first.
/// A hit costs a hash and a comparison of the bytes (about 0.5 µs for 4 KB), or the comparison alone when the
/// script is the one seen last; a miss costs the hash and the copy.
public struct ScriptAnalysisCache: Sendable {
    /// Entries kept.
    public let capacity: Int
    /// Longest script cached, in bytes.
    public let maxCachedBytes: Int
    public private(set) var hits: UInt64 = 0
    public private(set) var misses: UInt64 = 0

    private struct Entry: Sendable {
        var hash: UInt64
        /// The bytes read, and whether the script went on beyond them (the analysis depends on both).
        var bytes: [UInt8]
        var truncated: Bool
        var analysis: BatchScriptAnalysis
    }

    private var entries: [Entry] = []
    private var next = 0
    /// The entry of the last hit or insertion: compared first, without the hash (a user's loop of `sbatch job.sh`
    /// submits one script again and again).
    private var last = -1

    /// A cache of `capacity` scripts (0 turns it off) of at most `maxCachedBytes` bytes each.
    public init(capacity: Int = 64, maxCachedBytes: Int = 64 * 1024) {
        self.capacity = Swift.max(0, capacity)
        self.maxCachedBytes = Swift.max(0, maxCachedBytes)
        entries.reserveCapacity(self.capacity)
    }

    /// The analysis of the first `maxBytes` bytes of `bytes`, as
    /// ``BatchScriptAnalysis/analyze(_:maxBytes:)-(UnsafeRawBufferPointer,_)`` gives it.
    /// - Complexity: O(min(bytes.count, maxBytes) + capacity).
    public mutating func analysis(of bytes: UnsafeRawBufferPointer, maxBytes: Int) -> BatchScriptAnalysis {
        let n = Swift.min(bytes.count, Swift.max(0, maxBytes))
        guard capacity > 0, n <= maxCachedBytes, n > 0, let base = bytes.baseAddress else {
            return BatchScriptAnalysis.analyze(bytes, maxBytes: maxBytes)
        }
        let view = UnsafeRawBufferPointer(start: base, count: n)
        let truncated = bytes.count > n
        @inline(__always) func holds(_ i: Int) -> Bool {
            guard entries[i].bytes.count == n && entries[i].truncated == truncated else { return false }
            return entries[i].bytes.withUnsafeBytes { cached -> Bool in
                guard let p = cached.baseAddress else { return false }
                return memcmp(p, base, n) == 0
            }
        }
        if last >= 0 && last < entries.count && holds(last) {
            hits &+= 1
            return entries[last].analysis
        }
        let hash = XXHash64.hash(view)
        for i in 0 ..< entries.count where i != last && entries[i].hash == hash && holds(i) {
            hits &+= 1
            last = i
            return entries[i].analysis
        }
        misses &+= 1
        let a = BatchScriptAnalysis.analyze(bytes, maxBytes: maxBytes)
        if entries.count < capacity {
            last = entries.count
            entries.append(Entry(hash: hash, bytes: Array(view), truncated: truncated, analysis: a))
        } else {
            last = next
            // The oldest entry, its buffer reused (no allocation once the cache is full of scripts this long).
            entries[next].hash = hash
            entries[next].bytes.removeAll(keepingCapacity: true)
            entries[next].bytes.append(contentsOf: view)
            entries[next].truncated = truncated
            entries[next].analysis = a
            next = (next + 1) % capacity
        }
        return a
    }
}
