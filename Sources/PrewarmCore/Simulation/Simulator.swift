// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

/// Event-driven simulation of a cluster scheduled like Slurm's defaults (FCFS priority with EASY backfilling on
/// requested time limits) under a ``PowerPolicy``.
///
/// Model:
/// - A job needs ``SimulatedCluster/nodesNeeded(for:)`` whole nodes and runs `min(runtime, requestedTime)`
///   seconds (killed at its limit); an unknown request (-1) uses the runtime as the limit. Jobs with runtime
///   ≤ 0 or needing more nodes than the cluster has are skipped and counted.
/// - Like Slurm's power saving, every node not allocated to a job is available to the scheduler whatever its
///   power state. A job placed on nodes that are off or powering down starts once they have (shut down and)
///   booted; its nodes are allocated at placement. The scheduler prefers idle nodes, then booting, then off,
///   then powering-down ones.
/// - Scheduling passes run after every batch of simultaneous events (submissions, ends, boots completing).
///   The head of the queue gets a reservation at the earliest time enough nodes free up by requested end
///   times; a later job (within ``SimulatedCluster/backfillDepth``) starts now only if it fits in free nodes
///   and either ends by its requested time (counting boots) before the reservation or uses only nodes the
///   head job will not need.
/// - Simultaneous events are handled in the order: job ends, power-downs completing, boots completing,
///   submissions, policy ticks; then one scheduling pass; then the policy is consulted.
/// - The run starts one boot time before the first submission and ends when the last job ends.
/// - Where jobs share nodes (``SimulatedCluster/sharesNodes``), a job of one node and fewer processors than a node
///   has takes that many cores of a node: the up node its cores fill best, else an idle free node, else a booting
///   node that other such jobs wait for (they start together when it is up), else a free node as above. A node is
///   busy while any of its jobs runs and free once the last has ended. The head job's reservation counts a shared
///   node free once all its jobs reach their requested ends (for a head job that shares a node: a node with its
///   cores free then); a later job that would run past the reservation may not go on a node the reservation
///   counts free (unless a spare node is left) nor take cores the head job needs of the node it reserves.
public enum Simulator {
    /// Simulates `jobs` on `cluster` under `policy`. Deterministic.
    public static func run<P: PowerPolicy>(
        jobs: [JobRecord], cluster: SimulatedCluster, policy: inout P, options: SimulationOptions = .init()
    ) -> SimulationResult {
        let engine = SimulationEngine(jobs: jobs, cluster: cluster, options: options)
        return engine.run(policy: &policy)
    }
}

/// A set of small integers with O(1) insert, remove and membership.
struct IndexPool {
    var items: [Int32] = []
    var position: [Int32]

    init(capacity: Int) { position = Array(repeating: -1, count: capacity) }

    var count: Int { items.count }

    func contains(_ x: Int) -> Bool { position[x] >= 0 }

    mutating func insert(_ x: Int) {
        guard position[x] < 0 else { return }
        position[x] = Int32(items.count)
        items.append(Int32(x))
    }

    mutating func remove(_ x: Int) {
        let p = Int(position[x])
        guard p >= 0 else { return }
        let last = items[items.count - 1]
        items[p] = last
        position[Int(last)] = Int32(p)
        items.removeLast()
        position[x] = -1
    }

    mutating func popLast() -> Int? {
        guard let last = items.last else { return nil }
        items.removeLast()
        position[Int(last)] = -1
        return Int(last)
    }
}

/// Jobs holding nodes, sorted by requested end time (then job index).
struct SortedEnds {
    var ends: [Int64] = []
    var jobs: [Int32] = []

    private func lowerBound(_ end: Int64, _ job: Int32) -> Int {
        var lo = 0
        var hi = ends.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if ends[mid] < end || (ends[mid] == end && jobs[mid] < job) { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    mutating func insert(_ end: Int64, _ job: Int) {
        let i = lowerBound(end, Int32(job))
        ends.insert(end, at: i)
        jobs.insert(Int32(job), at: i)
    }

    mutating func remove(_ end: Int64, _ job: Int) {
        let i = lowerBound(end, Int32(job))
        guard i < ends.count, ends[i] == end, jobs[i] == Int32(job) else { return }
        ends.remove(at: i)
        jobs.remove(at: i)
    }
}

/// Event kinds, in the order they are handled at equal times.
enum SimEventKind: Int64 {
    case jobEnd = 0
    case powerDownDone = 1
    case bootDone = 2
    case submit = 3
    case policy = 4
}

/// The mutable state of one run. Internal; policies see it through ``ClusterView``.
final class SimulationEngine {
    let cluster: SimulatedCluster
    let options: SimulationOptions

    // Jobs, in submission order (stable); `inputIndex` maps back to the caller's order.
    let jobs: [JobRecord]
    let inputIndex: [Int]
    var jobNodes: [Int]
    var jobLimit: [Int64]
    var jobRun: [Int64]
    var placedAt: [Int64]
    var startAt: [Int64]
    var endAt: [Int64]
    var expectedEnd: [Int64]
    var pendingBoots: [Int32]
    var allocation: [[Int32]]
    var skipped: [SkipReason?]
    /// Cores of one node a job takes where jobs share nodes (``SimulatedCluster/sharedCores(for:)``), 0 for whole
    /// nodes.
    var jobCores: [Int32]

    // Nodes.
    var nodeState: [NodePowerState]
    /// The job a node is allocated to, ``sharedNode`` when jobs share it, -1 when free.
    var nodeJob: [Int32]
    static let sharedNode: Int32 = -2
    /// Where jobs share nodes: per node, the cores its jobs take, its jobs (running or waiting for its boot), and
    /// when the last of them ends at its requested time; the shared nodes with cores left, up and not up.
    var nodeCoresUsed: [Int32] = []
    var nodeJobs: [[Int32]] = []
    var nodeFreeAt: [Int64] = []
    var partialUp: PartialNodes
    var partialNotUp: PartialNodes
    /// Cores of running (and placed) and of queued jobs (a whole-node job: its nodes' cores).
    var usedCores = 0
    var queuedCores = 0
    /// Cores of queued jobs that share nodes (their `queuedNodes` count whole nodes of them, rounded up).
    var queuedSharedCores = 0
    var nodeSince: [Int64]
    var nodeStateEnd: [Int64]
    var rebootAfterDown: [Bool]
    var stateCounts = [Int](repeating: 0, count: NodePowerState.allCases.count)
    /// Unallocated nodes by state.
    var idlePool: IndexPool
    var bootingPool: IndexPool
    var offPool: IndexPool
    var downPool: IndexPool

    // Queue and running set (job indices).
    var queue: [Int32] = []
    var queuedNodes = 0
    var running: IndexPool
    var heldNodes = 0  // nodes allocated to jobs waiting for boots
    var byEnd = SortedEnds()
    /// Unallocated idle nodes in the order they became idle (stale entries skipped by stamp).
    var idleOrder: [Int32] = []
    var idleOrderStamp: [UInt32] = []
    var idleOrderHead = 0
    var idleStamp: [UInt32]

    var now: Int64 = 0
    var heap = MinHeap<Int64>()
    var remaining = 0
    var scheduledWake: Int64 = .min
    var dirty = false

    // Accounting.
    var lastTime: Int64 = 0
    var busyNodeSeconds: Int64 = 0
    var idleNodeSeconds: Int64 = 0
    var offNodeSeconds: Int64 = 0
    var bootingNodeSeconds: Int64 = 0
    var poweringDownNodeSeconds: Int64 = 0
    var heldIdleNodeSeconds: Int64 = 0
    var powerCycles = 0
    var ignoredActions = 0
    var violations = 0
    var nextSample: Int64 = .max
    var samples: [SimulationSample] = []
    var trace: [SimulationEvent] = []
    var busyTimes: [Int64] = []
    var busyCounts: [Int] = []

    var freeCount: Int { idlePool.count + bootingPool.count + offPool.count + downPool.count }
    var sharing: Bool { cluster.sharesNodes }
    /// Queued whole-node jobs' nodes plus the nodes queued shared jobs' cores fill.
    var queuedNodeDemand: Int {
        queuedNodes + (queuedSharedCores + cluster.coresPerNode - 1) / cluster.coresPerNode
    }

    init(jobs input: [JobRecord], cluster: SimulatedCluster, options: SimulationOptions) {
        self.cluster = cluster
        self.options = options
        let order = input.indices.sorted { (input[$0].submit, $0) < (input[$1].submit, $1) }
        inputIndex = order
        jobs = order.map { input[$0] }
        let n = jobs.count
        jobNodes = jobs.map { cluster.nodesNeeded(for: $0) }
        jobCores = jobs.map { Int32(cluster.sharedCores(for: $0)) }
        jobLimit = jobs.map { $0.requestedTime > 0 ? $0.requestedTime : Swift.max(0, $0.runtime) }
        jobRun = zip(jobs, jobLimit).map { Swift.min(Swift.max(0, $0.0.runtime), $0.1) }
        placedAt = Array(repeating: -1, count: n)
        startAt = Array(repeating: -1, count: n)
        endAt = Array(repeating: -1, count: n)
        expectedEnd = Array(repeating: -1, count: n)
        pendingBoots = Array(repeating: 0, count: n)
        allocation = Array(repeating: [], count: n)
        skipped = Array(repeating: nil, count: n)
        let m = cluster.nodes
        nodeState = Array(repeating: .off, count: m)
        nodeJob = Array(repeating: -1, count: m)
        nodeSince = Array(repeating: 0, count: m)
        nodeStateEnd = Array(repeating: 0, count: m)
        rebootAfterDown = Array(repeating: false, count: m)
        idlePool = IndexPool(capacity: m)
        bootingPool = IndexPool(capacity: m)
        let shares = cluster.sharesNodes
        partialUp = PartialNodes(nodes: shares ? m : 0, cores: shares ? cluster.coresPerNode : 1)
        partialNotUp = PartialNodes(nodes: shares ? m : 0, cores: shares ? cluster.coresPerNode : 1)
        if shares {
            nodeCoresUsed = Array(repeating: 0, count: m)
            nodeJobs = Array(repeating: [], count: m)
            nodeFreeAt = Array(repeating: 0, count: m)
        }
        offPool = IndexPool(capacity: m)
        downPool = IndexPool(capacity: m)
        running = IndexPool(capacity: n)
        idleStamp = Array(repeating: 0, count: m)
    }

    // MARK: Running

    func run<P: PowerPolicy>(policy: inout P) -> SimulationResult {
        let start = (jobs.first?.submit ?? 0) &- cluster.bootTime
        now = start
        lastTime = start
        if options.sampleInterval > 0 { nextSample = start }
        for node in 0 ..< cluster.nodes {
            nodeSince[node] = start
            if policy.startsPowered {
                nodeState[node] = .idle
                makeIdle(node)
            } else {
                offPool.insert(node)
            }
            stateCounts[Int(nodeState[node].rawValue)] += 1
        }
        for j in jobs.indices {
            if jobRun[j] <= 0 || jobs[j].runtime <= 0 {
                skipped[j] = .noRuntime
            } else if jobNodes[j] > cluster.nodes {
                skipped[j] = .tooLarge
            } else {
                remaining += 1
                push(jobs[j].submit, .submit, j)
            }
        }
        if policy.tickInterval > 0 { push(start &+ policy.tickInterval, .policy, 1) }
        consult(&policy)

        while remaining > 0, let key = heap.minKey {
            let t = key >> 3
            advance(to: t)
            var tick = false
            while let k = heap.minKey, k >> 3 == t, let event = heap.pop() {
                let id = Int(event.payload >> 3)
                guard let kind = SimEventKind(rawValue: event.payload & 7) else { continue }
                switch kind {
                case .jobEnd: endJob(id, policy: &policy)
                case .powerDownDone: powerDownDone(id)
                case .bootDone: bootDone(id)
                case .submit: submit(id, policy: &policy)
                case .policy: if id == 1 { tick = true }
                }
            }
            if dirty { schedule() }
            if remaining == 0 { break }
            if tick { push(t &+ policy.tickInterval, .policy, 1) }
            consult(&policy)
        }
        return finish()
    }

    private func push(_ time: Int64, _ kind: SimEventKind, _ id: Int) {
        heap.push(time &* 8 &+ kind.rawValue, Int64(id) &* 8 &+ kind.rawValue)
    }

    /// Integrates node-state time up to `t` and emits time-series samples.
    private func advance(to t: Int64) {
        guard t > lastTime else { return }
        let dt = t - lastTime
        busyNodeSeconds += Int64(stateCounts[Int(NodePowerState.busy.rawValue)]) * dt
        offNodeSeconds += Int64(stateCounts[Int(NodePowerState.off.rawValue)]) * dt
        idleNodeSeconds += Int64(cluster.nodes - count(.busy) - count(.off)) * dt
        bootingNodeSeconds += Int64(count(.booting)) * dt
        poweringDownNodeSeconds += Int64(count(.poweringDown)) * dt
        heldIdleNodeSeconds += Int64(count(.idle) - idlePool.count) * dt
        while nextSample < t {
            samples.append(
                SimulationSample(
                    time: nextSample, busyNodes: count(.busy), poweredNodes: cluster.nodes - count(.off),
                    demandNodes: count(.busy) + heldNodes + queuedNodeDemand))
            nextSample += options.sampleInterval
        }
        lastTime = t
        now = t
    }

    private func count(_ s: NodePowerState) -> Int { stateCounts[Int(s.rawValue)] }

    private func setState(_ node: Int, _ s: NodePowerState) {
        let wasBusy = nodeState[node] == .busy
        stateCounts[Int(nodeState[node].rawValue)] -= 1
        stateCounts[Int(s.rawValue)] += 1
        if options.recordBusyNodes && wasBusy != (s == .busy) {
            let busy = stateCounts[Int(NodePowerState.busy.rawValue)]
            if busyTimes.last == now {
                busyCounts[busyCounts.count - 1] = busy
            } else {
                busyTimes.append(now)
                busyCounts.append(busy)
            }
        }
        nodeState[node] = s
        nodeSince[node] = now
        if options.recordTrace { trace.append(.node(time: now, node: node, state: s)) }
    }

    // MARK: Jobs

    private func submit(_ j: Int, policy: inout some PowerPolicy) {
        queue.append(Int32(j))
        if jobCores[j] > 0 {
            queuedSharedCores += Int(jobCores[j])
            queuedCores += Int(jobCores[j])
        } else {
            queuedNodes += jobNodes[j]
            queuedCores += jobNodes[j] * cluster.coresPerNode
        }
        dirty = true
        policy.jobSubmitted(visibleRecord(j), at: now)
    }

    /// The job as a non-oracle policy may see it: runtime and wait hidden.
    func visibleRecord(_ j: Int) -> JobRecord {
        var r = jobs[j]
        r.runtime = -1
        r.wait = -1
        return r
    }

    private func endJob(_ j: Int, policy: inout some PowerPolicy) {
        if jobCores[j] > 0 {
            endShared(j)
        } else {
            for n in allocation[j] {
                let node = Int(n)
                nodeJob[node] = -1
                setState(node, .idle)
                makeIdle(node)
            }
            usedCores -= jobNodes[j] * cluster.coresPerNode
        }
        allocation[j] = []
        endAt[j] = now
        running.remove(j)
        byEnd.remove(expectedEnd[j], j)
        remaining -= 1
        dirty = true
        if options.recordTrace { trace.append(.ended(time: now, job: inputIndex[j])) }
        var record = jobs[j]
        record.runtime = jobRun[j]
        record.wait = startAt[j] - record.submit
        policy.jobFinished(record, at: now)
    }

    private func startJob(_ j: Int) {
        for n in allocation[j] {
            let node = Int(n)
            if jobCores[j] > 0 {
                // A node jobs share: busy from its first job on.
                if nodeState[node] == .busy && nodeJob[node] == Self.sharedNode { continue }
                if nodeState[node] != .idle || nodeJob[node] != Self.sharedNode { violations += 1 }
            } else if nodeState[node] != .idle || nodeJob[node] != Int32(j) {
                violations += 1
            }
            setState(node, .busy)
        }
        startAt[j] = now
        let end = now &+ jobLimit[j]
        if end != expectedEnd[j] {
            byEnd.remove(expectedEnd[j], j)
            expectedEnd[j] = end
            byEnd.insert(end, j)
        }
        push(now &+ jobRun[j], .jobEnd, j)
        if options.recordTrace { trace.append(.started(time: now, job: inputIndex[j])) }
    }

    // MARK: Nodes

    /// Adds an unallocated idle node to the idle pool and the idle-time order.
    private func makeIdle(_ node: Int) {
        idlePool.insert(node)
        idleStamp[node] &+= 1
        idleOrder.append(Int32(node))
        idleOrderStamp.append(idleStamp[node])
    }

    /// Calls `body` with the unallocated idle nodes, longest idle first, until it returns false.
    func forEachIdleByAge(_ body: (_ node: Int, _ since: Int64) -> Bool) {
        func valid(_ i: Int) -> Bool {
            let node = Int(idleOrder[i])
            return idlePool.contains(node) && idleStamp[node] == idleOrderStamp[i]
        }
        while idleOrderHead < idleOrder.count, !valid(idleOrderHead) { idleOrderHead += 1 }
        if idleOrderHead > 1024, idleOrderHead * 2 > idleOrder.count {
            idleOrder.removeFirst(idleOrderHead)
            idleOrderStamp.removeFirst(idleOrderHead)
            idleOrderHead = 0
        }
        var i = idleOrderHead
        while i < idleOrder.count {
            if valid(i) {
                let node = Int(idleOrder[i])
                if !body(node, nodeSince[node]) { return }
            }
            i += 1
        }
    }

    private func startBoot(_ node: Int) {
        setState(node, .booting)
        nodeStateEnd[node] = now &+ cluster.bootTime
        powerCycles += 1
        push(nodeStateEnd[node], .bootDone, node)
    }

    private func bootDone(_ node: Int) {
        guard nodeState[node] == .booting else { return }
        setState(node, .idle)
        let j = Int(nodeJob[node])
        if j >= 0 {
            pendingBoots[j] -= 1
            if pendingBoots[j] == 0 {
                heldNodes -= jobNodes[j]
                startJob(j)
            }
        } else if nodeJob[node] == Self.sharedNode {
            // Every job placed on it waited for this boot: they all start.
            heldNodes -= 1
            partialNotUp.remove(node)
            partialUp.set(node, free: cluster.coresPerNode - Int(nodeCoresUsed[node]))
            for w in nodeJobs[node] where pendingBoots[Int(w)] > 0 {
                pendingBoots[Int(w)] -= 1
                if pendingBoots[Int(w)] == 0 { startJob(Int(w)) }
            }
        } else {
            bootingPool.remove(node)
            makeIdle(node)
            dirty = true
        }
    }

    private func powerDownDone(_ node: Int) {
        guard nodeState[node] == .poweringDown else { return }
        setState(node, .off)
        let allocated = nodeJob[node] != -1
        if allocated || rebootAfterDown[node] {
            rebootAfterDown[node] = false
            if !allocated {
                downPool.remove(node)
                bootingPool.insert(node)
            }
            startBoot(node)
        } else {
            downPool.remove(node)
            offPool.insert(node)
        }
    }

    /// When `k` free nodes taken in placement order would all be up.
    private func readyTime(_ k: Int) -> Int64 {
        var left = k
        var ready = now
        left -= Swift.min(left, idlePool.count)
        if left == 0 { return ready }
        let fromBooting = Swift.min(left, bootingPool.count)
        for i in 0 ..< fromBooting {
            ready = Swift.max(ready, nodeStateEnd[Int(bootingPool.items[bootingPool.count - 1 - i])])
        }
        left -= fromBooting
        if left == 0 { return ready }
        let fromOff = Swift.min(left, offPool.count)
        if fromOff > 0 { ready = Swift.max(ready, now &+ cluster.bootTime) }
        left -= fromOff
        for i in 0 ..< Swift.min(left, downPool.count) {
            ready = Swift.max(ready, nodeStateEnd[Int(downPool.items[downPool.count - 1 - i])] &+ cluster.bootTime)
        }
        return ready
    }

    /// Places job `j` (which fits in the free nodes) on nodes, booting them as needed.
    private func place(_ j: Int) {
        let k = jobNodes[j]
        let ready = readyTime(k)
        var nodes: [Int32] = []
        nodes.reserveCapacity(k)
        var pending: Int32 = 0
        while nodes.count < k {
            if let node = idlePool.popLast() {
                nodes.append(Int32(node))
            } else if let node = bootingPool.popLast() {
                nodes.append(Int32(node))
                pending += 1
            } else if let node = offPool.popLast() {
                nodes.append(Int32(node))
                nodeJob[node] = Int32(j)
                startBoot(node)
                pending += 1
            } else if let node = downPool.popLast() {
                nodes.append(Int32(node))
                pending += 1
            } else {
                break  // unreachable: callers check the free count
            }
        }
        for n in nodes { nodeJob[Int(n)] = Int32(j) }
        allocation[j] = nodes
        placedAt[j] = now
        pendingBoots[j] = pending
        queuedNodes -= k
        queuedCores -= k * cluster.coresPerNode
        usedCores += k * cluster.coresPerNode
        running.insert(j)
        if options.recordTrace {
            trace.append(.placed(time: now, job: inputIndex[j], nodes: nodes.map { Int($0) }))
        }
        expectedEnd[j] = ready &+ jobLimit[j]
        byEnd.insert(expectedEnd[j], j)
        if pending == 0 {
            startJob(j)
        } else {
            heldNodes += k
        }
    }

    // MARK: Jobs that share nodes

    /// When `node` is up, or would be if a job were placed on it now.
    private func readyTime(ofNode node: Int) -> Int64 {
        switch nodeState[node] {
        case .idle, .busy: return now
        case .booting: return nodeStateEnd[node]
        case .off: return now &+ cluster.bootTime
        case .poweringDown: return nodeStateEnd[node] &+ cluster.bootTime
        }
    }

    /// Where a job of `c` cores that shares nodes goes now, if anywhere: the up node its cores fill best, else an
    /// idle free node, else the booting node with jobs its cores fill best, else a free node that is booting, off or
    /// powering down (the order free nodes are taken in for whole-node jobs). `free`: the node has no job yet.
    private func sharedChoice(_ c: Int) -> (node: Int, free: Bool)? {
        if let n = partialUp.bestFit(c) { return (n, false) }
        if let n = idlePool.items.last { return (Int(n), true) }
        if let n = partialNotUp.bestFit(c) { return (n, false) }
        if let n = bootingPool.items.last ?? offPool.items.last ?? downPool.items.last { return (Int(n), true) }
        return nil
    }

    /// Places job `j`, which shares nodes, on `node` (booting it if it is off).
    private func placeShared(_ j: Int, on node: Int, free: Bool) {
        let c = Int(jobCores[j])
        if free {
            if idlePool.contains(node) {
                idlePool.remove(node)
            } else if bootingPool.contains(node) {
                bootingPool.remove(node)
            } else if offPool.contains(node) {
                offPool.remove(node)
                startBoot(node)
            } else {
                downPool.remove(node)
            }
            nodeJob[node] = Self.sharedNode
            nodeFreeAt[node] = 0
            if nodeState[node] != .idle { heldNodes += 1 }
        }
        let ready = readyTime(ofNode: node)
        let up = ready <= now
        nodeCoresUsed[node] += Int32(c)
        nodeJobs[node].append(Int32(j))
        let left = cluster.coresPerNode - Int(nodeCoresUsed[node])
        if up { partialUp.set(node, free: left) } else { partialNotUp.set(node, free: left) }
        allocation[j] = [Int32(node)]
        placedAt[j] = now
        pendingBoots[j] = up ? 0 : 1
        queuedSharedCores -= c
        queuedCores -= c
        usedCores += c
        running.insert(j)
        if options.recordTrace { trace.append(.placed(time: now, job: inputIndex[j], nodes: [node])) }
        expectedEnd[j] = ready &+ jobLimit[j]
        byEnd.insert(expectedEnd[j], j)
        nodeFreeAt[node] = Swift.max(nodeFreeAt[node], expectedEnd[j])
        if up { startJob(j) }
    }

    /// Job `j`, which shared its node, ended: its cores are free, and the node too once its last job has ended.
    private func endShared(_ j: Int) {
        guard let n = allocation[j].first else { return }
        let node = Int(n)
        let c = Int(jobCores[j])
        nodeCoresUsed[node] -= Int32(c)
        usedCores -= c
        if let i = nodeJobs[node].firstIndex(of: Int32(j)) { nodeJobs[node].remove(at: i) }
        if nodeJobs[node].isEmpty {
            partialUp.remove(node)
            partialNotUp.remove(node)
            nodeJob[node] = -1
            nodeFreeAt[node] = 0
            setState(node, .idle)
            makeIdle(node)
        } else {
            partialUp.set(node, free: cluster.coresPerNode - Int(nodeCoresUsed[node]))
            var last: Int64 = 0
            for o in nodeJobs[node] { last = Swift.max(last, expectedEnd[Int(o)]) }
            nodeFreeAt[node] = last
        }
    }

    /// Whether job `j` could be placed now.
    private func fitsNow(_ j: Int) -> Bool {
        let c = Int(jobCores[j])
        guard c > 0 else { return jobNodes[j] <= freeCount }
        return freeCount > 0 || partialUp.bestFit(c) != nil || partialNotUp.bestFit(c) != nil
    }

    /// Whether any job could be placed now: a free node, or a shared one with cores left.
    private var hasRoom: Bool { freeCount > 0 || !partialUp.isEmpty || !partialNotUp.isEmpty }

    private func placeNow(_ j: Int) {
        if jobCores[j] > 0, let choice = sharedChoice(Int(jobCores[j])) {
            placeShared(j, on: choice.node, free: choice.free)
        } else {
            place(j)
        }
    }

    /// The head job's reservation where jobs share nodes, from the requested ends of the jobs holding nodes: for a
    /// whole-node job, the earliest time enough nodes are free (a shared node once its last job ends), and how many
    /// beyond; for a job that shares a node, the earliest time a node has its cores free (`node`, with `cores` free
    /// then; or -1: a free node), and how many free nodes there are then beyond the one it takes.
    private func sharedReservation(for head: Int) -> (time: Int64, spare: Int, node: Int, cores: Int) {
        let k = jobNodes[head]
        let c = Int(jobCores[head])
        var free = freeCount
        if c == 0 && free >= k { return (now, free - k, -1, 0) }
        if c > 0 && free > 0 { return (now, free - 1, -1, 0) }
        if c > 0, let n = partialUp.bestFit(c) ?? partialNotUp.bestFit(c) {
            return (now, free, n, cluster.coresPerNode - Int(nodeCoresUsed[n]))
        }
        // Per shared node met in the ends: its jobs not ended yet and its free cores.
        var left: [Int32: (jobs: Int, cores: Int)] = [:]
        let ends = byEnd.ends
        var i = 0
        while i < ends.count {
            let t = ends[i]
            var found = -1
            var foundCores = 0
            while i < ends.count, ends[i] == t {
                let jb = Int(byEnd.jobs[i])
                i += 1
                if jobCores[jb] == 0 {
                    free += jobNodes[jb]
                    continue
                }
                guard let n = allocation[jb].first else { continue }
                var e = left[n] ?? (
                    nodeJobs[Int(n)].count, cluster.coresPerNode - Int(nodeCoresUsed[Int(n)]))
                e.jobs -= 1
                e.cores += Int(jobCores[jb])
                left[n] = e
                if e.jobs == 0 {
                    free += 1
                } else if c > 0 && e.cores >= c && found < 0 {
                    found = Int(n)
                    foundCores = e.cores
                }
            }
            if c == 0 {
                if free >= k { return (Swift.max(t, now), free - k, -1, 0) }
            } else if free > 0 {
                return (Swift.max(t, now), free - 1, -1, 0)
            } else if found >= 0 {
                // The node's cores then, less what jobs that end later still hold (counted when they end).
                return (Swift.max(t, now), free, found, foundCores)
            }
        }
        return (.max, 0, -1, 0)  // unreachable: the job fits in the cluster
    }

    /// ``schedule()`` where jobs share nodes: FCFS placements, then EASY backfilling behind the head job's
    /// reservation. A job placed beside others on a node that the head job's reservation counts on (a node whose
    /// jobs all end by then, or the node it reserves cores of) must end by the reservation, or take one of the
    /// spare nodes.
    private func scheduleShared() {
        dirty = false
        var head = 0
        while head < queue.count, fitsNow(Int(queue[head])) {
            placeNow(Int(queue[head]))
            head += 1
        }
        if head > 0 { queue.removeFirst(head) }
        guard let first = queue.first, hasRoom, queue.count > 1 else {
            if let first = queue.first, options.recordTrace {
                trace.append(.reservation(time: now, job: inputIndex[Int(first)], at: sharedReservation(for: Int(first)).time))
            }
            return
        }
        let headJob = Int(first)
        let (shadow, spare, reserved, coresThen) = sharedReservation(for: headJob)
        var reservedCores = coresThen
        let headCores = Int(jobCores[headJob])
        if options.recordTrace {
            trace.append(.reservation(time: now, job: inputIndex[headJob], at: shadow))
        }
        var extra = spare
        var i = 1
        var considered = 0
        while i < queue.count, considered < cluster.backfillDepth, hasRoom {
            let j = Int(queue[i])
            considered += 1
            let c = Int(jobCores[j])
            if c > 0 {
                if let choice = sharedChoice(c) {
                    var fits = readyTime(ofNode: choice.node) &+ jobLimit[j] <= shadow
                    if !fits {
                        // A free node, or a node whose jobs all end by the reservation: the reservation counts it free.
                        let counted = choice.free || nodeFreeAt[choice.node] <= shadow
                        if !choice.free && choice.node == reserved {
                            // On the node the head job reserves cores of: only if it leaves the head job enough.
                            if reservedCores - c >= headCores {
                                reservedCores -= c
                                fits = true
                            }
                        } else if counted {
                            if extra >= 1 {
                                extra -= 1
                                fits = true
                            }
                        } else {
                            fits = true
                        }
                    }
                    if fits {
                        placeShared(j, on: choice.node, free: choice.free)
                        queue.remove(at: i)
                        continue
                    }
                }
            } else if backfillWholeNodes(j, shadow: shadow, extra: &extra) {
                queue.remove(at: i)
                continue
            }
            i += 1
        }
    }

    /// Backfills whole-node job `j` if it fits in the free nodes and ends by the reservation at `shadow` or takes only
    /// `extra` nodes (spare then; reduced by what it takes). Returns whether it was placed.
    @inline(__always)
    private func backfillWholeNodes(_ j: Int, shadow: Int64, extra: inout Int) -> Bool {
        let k = jobNodes[j]
        guard k <= freeCount else { return false }
        let end = readyTime(k) &+ jobLimit[j]
        var fits = end <= shadow
        if !fits && k <= extra {
            extra -= k
            fits = true
        }
        if fits { place(j) }
        return fits
    }

    // MARK: Scheduling

    /// One scheduling pass: FCFS starts, then EASY backfilling behind the head job's reservation.
    private func schedule() {
        if sharing {
            scheduleShared()
            return
        }
        dirty = false
        var head = 0
        while head < queue.count, jobNodes[Int(queue[head])] <= freeCount {
            place(Int(queue[head]))
            head += 1
        }
        if head > 0 { queue.removeFirst(head) }
        guard let first = queue.first, freeCount > 0, queue.count > 1 else {
            if let first = queue.first, options.recordTrace { recordReservation(Int(first)) }
            return
        }
        let headJob = Int(first)
        let (shadow, spare) = reservation(for: jobNodes[headJob])
        if options.recordTrace {
            trace.append(.reservation(time: now, job: inputIndex[headJob], at: shadow))
        }
        var extra = spare
        var i = 1
        var considered = 0
        while i < queue.count, considered < cluster.backfillDepth, freeCount > 0 {
            let j = Int(queue[i])
            considered += 1
            if backfillWholeNodes(j, shadow: shadow, extra: &extra) {
                queue.remove(at: i)
                continue
            }
            i += 1
        }
    }

    private func recordReservation(_ headJob: Int) {
        let (shadow, _) = reservation(for: jobNodes[headJob])
        trace.append(.reservation(time: now, job: inputIndex[headJob], at: shadow))
    }

    /// Earliest time `k` nodes are free given the requested ends of the jobs holding nodes, and how many
    /// nodes beyond `k` are free then.
    private func reservation(for k: Int) -> (time: Int64, spare: Int) {
        var free = freeCount
        if free >= k { return (now, free - k) }
        let ends = byEnd.ends
        var i = 0
        while i < ends.count {
            let t = ends[i]
            while i < ends.count, ends[i] == t {
                free += jobNodes[Int(byEnd.jobs[i])]
                i += 1
            }
            if free >= k { return (Swift.max(t, now), free - k) }
        }
        return (.max, 0)  // unreachable: the job fits in the cluster
    }

    // MARK: Policy

    private func consult<P: PowerPolicy>(_ policy: inout P) {
        let decision = policy.decide(ClusterView(engine: self))
        for action in decision.actions { apply(action) }
        if let wake = decision.wakeAt, wake > now, scheduledWake <= now || wake < scheduledWake {
            scheduledWake = wake
            push(wake, .policy, 0)
        }
    }

    private func apply(_ action: PowerAction) {
        switch action {
        case let .powerUp(count, _):
            var left = count
            while left > 0, let node = offPool.popLast() {
                bootingPool.insert(node)
                startBoot(node)
                left -= 1
            }
            if left > 0 {
                for n in downPool.items where left > 0 && !rebootAfterDown[Int(n)] {
                    rebootAfterDown[Int(n)] = true
                    left -= 1
                }
            }
            ignoredActions += left > 0 ? 1 : 0
        case let .powerUpNodes(nodes, _):
            for node in nodes {
                guard node >= 0, node < cluster.nodes else {
                    ignoredActions += 1
                    continue
                }
                if offPool.contains(node) {
                    offPool.remove(node)
                    bootingPool.insert(node)
                    startBoot(node)
                } else if downPool.contains(node) {
                    rebootAfterDown[node] = true
                } else if nodeState[node] == .off || nodeState[node] == .poweringDown {
                    ignoredActions += 1
                }
            }
        case let .powerDown(nodes, _):
            for node in nodes {
                guard node >= 0, node < cluster.nodes, idlePool.contains(node) else {
                    ignoredActions += 1
                    continue
                }
                idlePool.remove(node)
                downPool.insert(node)
                setState(node, .poweringDown)
                nodeStateEnd[node] = now &+ cluster.powerDownTime
                push(nodeStateEnd[node], .powerDownDone, node)
            }
        }
    }

    // MARK: Results

    private func finish() -> SimulationResult {
        var metrics = SimulationMetrics()
        var outcomes = [JobOutcome](
            repeating: JobOutcome(submit: 0, nodes: 0, placed: -1, start: -1, end: -1, killedAtLimit: false),
            count: jobs.count)
        var figures = JobFigures(capacity: jobs.count)
        for j in jobs.indices {
            let killed = skipped[j] == nil && jobs[j].runtime > jobRun[j]
            let outcome = JobOutcome(
                submit: jobs[j].submit, nodes: jobNodes[j], placed: placedAt[j], start: startAt[j], end: endAt[j],
                killedAtLimit: killed, skipped: skipped[j])
            outcomes[inputIndex[j]] = outcome
            figures.add(outcome)
        }
        figures.write(to: &metrics)
        metrics.idleNodeHours = Double(idleNodeSeconds) / 3600
        metrics.busyNodeHours = Double(busyNodeSeconds) / 3600
        metrics.offNodeHours = Double(offNodeSeconds) / 3600
        metrics.bootingNodeHours = Double(bootingNodeSeconds) / 3600
        metrics.poweringDownNodeHours = Double(poweringDownNodeSeconds) / 3600
        metrics.heldIdleNodeHours = Double(heldIdleNodeSeconds) / 3600
        metrics.energyKWh =
            (metrics.offNodeHours * cluster.offWatts + metrics.idleNodeHours * cluster.idleWatts
                + metrics.busyNodeHours * cluster.busyWatts) / 1000
        metrics.powerCycles = powerCycles
        metrics.cloudCost = (metrics.idleNodeHours + metrics.busyNodeHours) * (cluster.pricePerNodeHour ?? 0)
        metrics.ignoredActions = ignoredActions
        metrics.span = jobs.isEmpty ? 0 : lastTime - (jobs[0].submit &- cluster.bootTime)
        return SimulationResult(
            metrics: metrics, outcomes: outcomes, samples: samples, trace: trace, invariantViolations: violations,
            busyNodes: options.recordBusyNodes ? NodeDemandProfile(times: busyTimes, values: busyCounts) : nil)
    }
}
