// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

/// One tree as grown, in tree-local indices (see ``RandomForest`` for the meaning of each array).
struct GrownTree: Sendable {
    var feature: [Int32] = []
    var threshold: [Float] = []
    var right: [Int32] = []
    var leafValues: [Float] = []
    var leafSampleOffset: [Int32] = []
    var sampleRows: [Int32] = []
    var sampleCounts: [UInt8] = []
}

/// Grows CART regression trees on histogram-binned features.
///
/// Tree *i* depends only on the data, the parameters, `seed` and *i*, so trees can be grown on any
/// thread in any order with bit-identical results.
struct TreeGrower: Sendable {
    let data: BinnedFeatures
    /// Training targets, row-major `rows × outputs`.
    let targets: [Float]
    let outputs: Int
    let minLeaf: Int
    /// 0 = unlimited.
    let maxDepth: Int
    /// Non-constant features to examine per node.
    let featuresPerSplit: Int
    let sampleFraction: Double
    let bootstrap: Bool
    let seed: UInt64

    /// Nodes with fewer in-bag rows than this scan only their occupied bins.
    static let smallNode = 64

    private struct Pending {
        var start: Int
        var end: Int
        var depth: Int
        /// Node whose `right` must point at this node, or -1 (root and left children, which follow their
        /// parent immediately in pre-order).
        var parent: Int
    }

    /// Draws the in-bag multiplicity of every row.
    private func drawSample(_ rng: inout Xoshiro256StarStar) -> [UInt32] {
        let rows = data.rows
        var multiplicity = [UInt32](repeating: 0, count: rows)
        let wanted = max(1, Int((sampleFraction * Double(rows)).rounded()))
        if bootstrap {
            multiplicity.withUnsafeMutableBufferPointer { m in
                for _ in 0 ..< wanted {
                    m[rng.next(below: rows)] &+= 1
                }
            }
        } else if wanted >= rows {
            for r in 0 ..< rows { multiplicity[r] = 1 }
        } else {
            var order = (0 ..< rows).map { Int32(truncatingIfNeeded: $0) }
            for i in 0 ..< wanted {
                order.swapAt(i, i + rng.next(below: rows - i))
                multiplicity[Int(order[i])] = 1
            }
        }
        return multiplicity
    }

    /// A zero-filled buffer (freed by the caller).
    private static func scratch<T: FixedWidthInteger>(_: T.Type, _ count: Int) -> UnsafeMutableBufferPointer<T> {
        let buffer = UnsafeMutableBufferPointer<T>.allocate(capacity: count)
        buffer.initialize(repeating: 0)
        return buffer
    }

    /// A zero-filled buffer (freed by the caller).
    private static func scratch<T: BinaryFloatingPoint>(_: T.Type, _ count: Int) -> UnsafeMutableBufferPointer<T> {
        let buffer = UnsafeMutableBufferPointer<T>.allocate(capacity: count)
        buffer.initialize(repeating: 0)
        return buffer
    }

    /// Grows tree `treeIndex`.
    /// - Complexity: about O(depth · in-bag rows · featuresPerSplit) histogram updates.
    func grow(treeIndex: Int) -> GrownTree {
        var rng = Xoshiro256StarStar(seed: seed, stream: UInt64(truncatingIfNeeded: treeIndex))
        let rows = data.rows
        let columns = data.columns
        let k = outputs
        let multiplicity = drawSample(&rng)

        // The in-bag rows in ascending order, and beside them, in the same order, (weight, weight·y₀, …,
        // weight·y_{k-1}): partitioning moves both, so histogram building reads the statistics sequentially.
        // Scratch buffers are allocated once per tree and reused by every node.
        let rowStride = k + 1
        let inBag = multiplicity.reduce(0) { $0 + ($1 > 0 ? 1 : 0) }
        let histStride = k + 2  // distinct count, weight, weighted sums
        let idx = Self.scratch(Int32.self, max(inBag, 1))
        defer { idx.deallocate() }
        let stats = Self.scratch(Double.self, max(inBag, 1) * rowStride)
        defer { stats.deallocate() }
        let hist = Self.scratch(Double.self, 256 * histStride)
        defer { hist.deallocate() }
        let occupied = Self.scratch(Int.self, 256)
        defer { occupied.deallocate() }
        let bitmap = Self.scratch(UInt64.self, 4)
        defer { bitmap.deallocate() }
        let sums = Self.scratch(Double.self, k)
        defer { sums.deallocate() }
        let leftS = Self.scratch(Double.self, k)
        defer { leftS.deallocate() }
        let first = Self.scratch(Float.self, k)
        defer { first.deallocate() }

        var tree = GrownTree()
        var permutation = Array(0 ..< columns)
        var stack = [Pending(start: 0, end: inBag, depth: 0, parent: -1)]
        let cutsPerFeature = data.cuts

        data.bins.withUnsafeBufferPointer { bins in
            targets.withUnsafeBufferPointer { y in
                var position = 0
                for r in 0 ..< rows where multiplicity[r] > 0 {
                    let w = Double(multiplicity[r])
                    idx[position] = Int32(truncatingIfNeeded: r)
                    stats[position * rowStride] = w
                    for o in 0 ..< k {
                        stats[position * rowStride + 1 + o] = w * Double(y[r * k + o])
                    }
                    position += 1
                }

                while let node = stack.popLast() {
                    let nodeIndex = tree.feature.count
                    if node.parent >= 0 {
                        tree.right[node.parent] = Int32(truncatingIfNeeded: nodeIndex)
                    }
                    let start = node.start
                    let end = node.end
                    let count = end - start

                    // Node totals and purity.
                    var weight = 0.0
                    for o in 0 ..< k { sums[o] = 0 }
                    let r0 = Int(idx[start])
                    for o in 0 ..< k { first[o] = y[r0 * k + o] }
                    var pure = true
                    for i in start ..< end {
                        let r = Int(idx[i])
                        let s = i * rowStride
                        weight += stats[s]
                        for o in 0 ..< k {
                            sums[o] += stats[s + 1 + o]
                            if y[r * k + o] != first[o] { pure = false }
                        }
                    }

                    var bestFeature = -1
                    var bestBin = 0
                    var bestProxy = -Double.infinity
                    let depthAllowed = maxDepth == 0 || node.depth < maxDepth
                    // Small nodes list their occupied bins and scan only those; large ones scan the bin range.
                    let small = count < Self.smallNode
                    if !pure, depthAllowed, count >= 2 * minLeaf {
                        var drawn = 0
                        var visited = 0
                        while visited < featuresPerSplit, drawn < columns {
                            permutation.swapAt(drawn, drawn + rng.next(below: columns - drawn))
                            let f = permutation[drawn]
                            drawn += 1
                            let binCount = cutsPerFeature[f].count + 1
                            if binCount <= 1 { continue }
                            let column = UnsafeBufferPointer(rebasing: bins[f * rows ..< (f + 1) * rows])
                            var low = 255
                            var high = 0
                            var occupiedCount = 0
                            if small {
                                // Mark occupied bins in a 256-bit map, then list them in increasing order.
                                bitmap[0] = 0
                                bitmap[1] = 0
                                bitmap[2] = 0
                                bitmap[3] = 0
                                for i in start ..< end {
                                    let b = Int(column[Int(idx[i])])
                                    let h = b &* histStride
                                    let s = i &* rowStride
                                    bitmap[b &>> 6] |= 1 &<< UInt64(b & 63)
                                    hist[h] += 1
                                    for o in 0 ... k {
                                        hist[h &+ 1 &+ o] += stats[s &+ o]
                                    }
                                }
                                for word in 0 ..< 4 {
                                    var bits = bitmap[word]
                                    while bits != 0 {
                                        occupied[occupiedCount] = word &<< 6 &+ bits.trailingZeroBitCount
                                        occupiedCount &+= 1
                                        bits &= bits &- 1
                                    }
                                }
                                if occupiedCount <= 1 {
                                    for j in 0 ..< histStride { hist[occupied[0] * histStride + j] = 0 }
                                    continue
                                }
                            } else if k == 1 {
                                for i in start ..< end {
                                    let b = Int(column[Int(idx[i])])
                                    let h = b &* 3
                                    hist[h] += 1
                                    hist[h &+ 1] += stats[2 &* i]
                                    hist[h &+ 2] += stats[2 &* i &+ 1]
                                    low = min(low, b)
                                    high = max(high, b)
                                }
                            } else {
                                for i in start ..< end {
                                    let b = Int(column[Int(idx[i])])
                                    let h = b &* histStride
                                    let s = i &* rowStride
                                    hist[h] += 1
                                    for o in 0 ... k {
                                        hist[h &+ 1 &+ o] += stats[s &+ o]
                                    }
                                    low = min(low, b)
                                    high = max(high, b)
                                }
                            }
                            if !small, low == high {
                                for j in 0 ..< histStride { hist[low * histStride + j] = 0 }
                                continue
                            }
                            visited += 1

                            // Scan the boundaries "bins ≤ b | bins > b" over occupied bins b, in increasing order.
                            var leftCount = 0.0
                            var leftWeight = 0.0
                            for o in 0 ..< k { leftS[o] = 0 }
                            let total = Double(count)
                            let minimum = Double(minLeaf)
                            let steps = small ? occupiedCount - 1 : high - low
                            for step in 0 ..< steps {
                                let b = small ? occupied[step] : low + step
                                let h = b * histStride
                                let c = hist[h]
                                if c == 0 { continue }
                                leftCount += c
                                leftWeight += hist[h + 1]
                                for o in 0 ..< k { leftS[o] += hist[h + 2 + o] }
                                if leftCount < minimum { continue }
                                if total - leftCount < minimum { break }
                                let rightWeight = weight - leftWeight
                                var proxy = 0.0
                                for o in 0 ..< k {
                                    let l = leftS[o]
                                    let r = sums[o] - l
                                    proxy += l * l / leftWeight + r * r / rightWeight
                                }
                                if proxy > bestProxy {
                                    bestProxy = proxy
                                    bestFeature = f
                                    bestBin = b
                                }
                            }
                            if small {
                                for q in 0 ..< occupiedCount {
                                    let h = occupied[q] * histStride
                                    for j in 0 ..< histStride { hist[h + j] = 0 }
                                }
                            } else {
                                for j in low * histStride ..< (high + 1) * histStride { hist[j] = 0 }
                            }
                        }
                    }

                    if bestFeature < 0 {
                        // Leaf: mean per output, and the in-bag rows with their multiplicities.
                        tree.feature.append(-1)
                        tree.threshold.append(0)
                        tree.right.append(Int32(truncatingIfNeeded: tree.leafSampleOffset.count))
                        for o in 0 ..< k {
                            tree.leafValues.append(Float(sums[o] / weight))
                        }
                        tree.leafSampleOffset.append(Int32(truncatingIfNeeded: tree.sampleRows.count))
                        for i in start ..< end {
                            let r = idx[i]
                            var m = multiplicity[Int(r)]
                            while m > 255 {
                                tree.sampleRows.append(r)
                                tree.sampleCounts.append(255)
                                m -= 255
                            }
                            tree.sampleRows.append(r)
                            tree.sampleCounts.append(UInt8(truncatingIfNeeded: m))
                        }
                        continue
                    }

                    // Split: partition the node's rows (and their statistics) in place, bins ≤ bestBin first.
                    tree.feature.append(Int32(truncatingIfNeeded: bestFeature))
                    tree.threshold.append(cutsPerFeature[bestFeature][bestBin])
                    tree.right.append(-1)
                    let column = UnsafeBufferPointer(rebasing: bins[bestFeature * rows ..< (bestFeature + 1) * rows])
                    var i = start
                    var j = end - 1
                    while i <= j {
                        if Int(column[Int(idx[i])]) <= bestBin {
                            i += 1
                        } else {
                            idx.swapAt(i, j)
                            for o in 0 ..< rowStride {
                                stats.swapAt(i * rowStride + o, j * rowStride + o)
                            }
                            j -= 1
                        }
                    }
                    stack.append(Pending(start: i, end: end, depth: node.depth + 1, parent: nodeIndex))
                    stack.append(Pending(start: start, end: i, depth: node.depth + 1, parent: -1))
                }
            }
        }
        return tree
    }
}
