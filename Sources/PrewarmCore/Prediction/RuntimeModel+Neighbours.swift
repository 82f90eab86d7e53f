// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

#if canImport(Glibc)
import Glibc
#endif

/// The log-ratio table laid out per candidate in ascending order, built once per model (when it is trained or
/// deserialized; nothing of it is stored in model files) so that a prediction never sorts.
///
/// A prediction needs, for a few candidates, its neighbour rows ordered by log-ratio. With every training row's
/// rank in each candidate's order precomputed, the neighbours are put in order by setting one bit per row in a
/// bitmap of ranks and reading the set bits back in order: O(rows / 64 + neighbours) per candidate, no
/// comparisons. `exp(±r)` are precomputed with the rank too, so the scale refinement needs no `exp` call.
struct CandidateOrder: Sendable {
    /// One rank of one candidate's order: 24 bytes, everything the scan reads for it.
    struct Entry: Sendable {
        /// `exp(r)` and `exp(−r)` for the log-ratio `r`.
        var up: Double
        var down: Double
        /// The log-ratio `r = log(actual / candidate)`.
        var ratio: Float
        /// The training row.
        var row: Int32
    }

    /// Training rows.
    let rows: Int
    /// `rank[row * candidates + j]`: the position of `row` in candidate `j`'s ascending order (ties by row); a
    /// row's ranks share a cache line.
    let rank: [Int32]
    /// `entries[j * rows + rank]`.
    let entries: [Entry]

    /// An empty order (a table whose shape does not match `rows × candidates`; predictions fall back).
    init() {
        rows = 0
        rank = []
        entries = []
    }

    /// - Parameters:
    ///   - logRatios: `rows × candidates`, row-major.
    init(logRatios: [Float], rows: Int, candidates k: Int) {
        let product = rows.multipliedReportingOverflow(by: k)
        guard rows > 0, k > 0, rows < Int(Int32.max), !product.overflow, product.partialValue == logRatios.count
        else {
            self.rows = 0
            self.rank = []
            self.entries = []
            return
        }
        var rank = [Int32](repeating: 0, count: product.partialValue)
        var entries = [Entry](repeating: Entry(up: 1, down: 1, ratio: 0, row: 0), count: product.partialValue)
        var keys = [UInt64](repeating: 0, count: rows)
        for j in 0 ..< k {
            // Order-preserving unsigned image of the Float in the high half, the row in the low half.
            for row in 0 ..< rows {
                let bits = logRatios[row &* k &+ j].bitPattern
                let ordered = bits & 0x8000_0000 != 0 ? ~bits : bits | 0x8000_0000
                keys[row] = UInt64(ordered) << 32 | UInt64(truncatingIfNeeded: row)
            }
            keys.sort()
            for (position, key) in keys.enumerated() {
                let row = Int(truncatingIfNeeded: key & 0xFFFF_FFFF)
                let r = logRatios[row &* k &+ j]
                rank[row &* k &+ j] = Int32(truncatingIfNeeded: position)
                entries[j &* rows &+ position] = Entry(
                    up: exp(Double(r)), down: exp(-Double(r)), ratio: r, row: Int32(truncatingIfNeeded: row))
            }
        }
        self.rows = rows
        self.rank = rank
        self.entries = entries
    }
}

/// Scratch memory for one prediction at a time, sized for a model's training rows. Between uses every
/// accumulator and bitmap is zero again (a prediction clears exactly what it touched), so a prediction costs
/// nothing proportional to the training set.
final class PredictionWorkspace {
    let rows: Int
    let words: Int
    let slots: Int
    /// Merged neighbour weight per training row.
    let weights: UnsafeMutablePointer<Float>
    /// Per refined candidate (`slots` of them), a bitmap over its ranks, cleared as it is read.
    let ranks: UnsafeMutablePointer<UInt64>
    /// The neighbour rows, each once, in the order first reached (`rows + 1` entries: one spare).
    let touched: UnsafeMutablePointer<Int32>
    /// Per refined candidate (`slots` of them, `rows` each), its neighbours in ascending log-ratio order.
    let slotNeighbours: UnsafeMutablePointer<Neighbour>

    /// One neighbour of a candidate: its log-ratio with `exp(±r)`, and its merged weight.
    struct Neighbour {
        var up: Double
        var down: Double
        var ratio: Float
        var weight: Float
    }

    init(rows: Int, slots: Int) {
        self.rows = max(rows, 1)
        self.slots = max(slots, 1)
        words = (self.rows &+ 63) >> 6
        weights = .allocate(capacity: self.rows)
        weights.initialize(repeating: 0, count: self.rows)
        ranks = .allocate(capacity: words &* self.slots)
        ranks.initialize(repeating: 0, count: words &* self.slots)
        touched = .allocate(capacity: self.rows &+ 1)
        touched.initialize(repeating: 0, count: self.rows &+ 1)
        slotNeighbours = .allocate(capacity: self.rows &* self.slots)
        slotNeighbours.initialize(
            repeating: Neighbour(up: 1, down: 1, ratio: 0, weight: 0), count: self.rows &* self.slots)
    }

    deinit {
        weights.deallocate()
        ranks.deallocate()
        touched.deallocate()
        slotNeighbours.deallocate()
    }
}

/// Workspaces of one model, reused across predictions. ``RuntimeModel`` is a `Sendable` value used from
/// several threads at once (evaluation, simulation): each prediction takes a workspace for itself and gives it
/// back. The mutex is only ever *tried*, never waited for — when another thread holds it for its pop or push,
/// the prediction uses a fresh workspace (and drops it) — so it adds no blocking to slurmctld's submit path.
final class PredictionWorkspacePool: @unchecked Sendable {
    /// Workspaces kept for reuse (about the number of threads that predict concurrently).
    static let capacity = 8

    let rows: Int
    let slots: Int
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    // Guarded by mutex.
    private var free: [PredictionWorkspace] = []

    init(rows: Int, slots: Int) {
        self.rows = rows
        self.slots = slots
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        free.reserveCapacity(Self.capacity)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` with a workspace no other thread uses meanwhile.
    func withWorkspace<R>(_ body: (PredictionWorkspace) -> R) -> R {
        var reused: PredictionWorkspace?
        if pthread_mutex_trylock(mutex) == 0 {
            reused = free.popLast()
            pthread_mutex_unlock(mutex)
        }
        let workspace = reused ?? PredictionWorkspace(rows: rows, slots: slots)
        let result = body(workspace)
        if pthread_mutex_trylock(mutex) == 0 {
            if free.count < Self.capacity { free.append(workspace) }
            pthread_mutex_unlock(mutex)
        }
        return result
    }
}
