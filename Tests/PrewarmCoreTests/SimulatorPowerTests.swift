// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

import PrewarmCore
import Testing

@Suite struct SimulatorPowerTests {
    let cluster = SimulatedCluster(
        nodes: 4, coresPerNode: 1, bootTime: 120, powerDownTime: 30, offWatts: 10, idleWatts: 100, busyWatts: 400,
        pricePerNodeHour: 2)

    @Test func reactiveBootWaitsSuspendAndCycles() {
        let jobs = [
            SimTest.job(1, submit: 1000, procs: 2, runtime: 100, requested: 200),  // boots: starts 1120, ends 1220
            SimTest.job(2, submit: 1300, procs: 2, runtime: 100, requested: 200),  // nodes still up: starts 1300
            SimTest.job(3, submit: 5000, procs: 1, runtime: 100, requested: 200),  // nodes off again: boots
        ]
        let r = SimTest.run(jobs, cluster, ReactivePolicy(suspendTime: 600), trace: true)
        #expect(r.outcomes.map(\.start) == [1120, 1300, 5120])
        #expect(r.outcomes.map(\.bootWait) == [120, 0, 120])
        #expect(r.metrics.powerCycles == 3)
        #expect(r.metrics.meanBootWait == 80)
        #expect(abs(r.metrics.bootDelayedShare - 2.0 / 3) < 1e-12)
        // Job 2's nodes went idle at 1400, power down at 2000 and are off at 2030.
        let downs = r.trace.filter {
            if case let .node(time, _, state) = $0 { return time == 2000 && state == .poweringDown }
            return false
        }
        let offs = r.trace.filter {
            if case let .node(time, _, state) = $0 { return time == 2030 && state == .off }
            return false
        }
        #expect(downs.count == 2)
        #expect(offs.count == 2)
        // Powered-idle: boots 2×120, idle 2×80, idle 2×600, powering down 2×30, boot 1×120 = 1780 s.
        #expect(r.metrics.idleNodeHours == 1780.0 / 3600)
        #expect(r.metrics.busyNodeHours == 500.0 / 3600)
        // Span 880 … 5220; off = 4 × 4340 − 1780 − 500.
        #expect(r.metrics.span == 4340)
        #expect(r.metrics.offNodeHours == Double(4 * 4340 - 1780 - 500) / 3600)
        let expectedKWh = (Double(4 * 4340 - 2280) * 10 + 1780 * 100 + 500 * 400) / 3600 / 1000
        #expect(abs(r.metrics.energyKWh - expectedKWh) < 1e-9)
        #expect(abs(r.metrics.cloudCost - 2280.0 / 3600 * 2) < 1e-9)
        #expect(r.metrics.ignoredActions == 0)
        #expect(r.invariantViolations == 0)
    }

    @Test func bootWaitIsSplitByWhetherTheJobQueuedFirst() {
        let jobs = [
            SimTest.job(1, submit: 1000, procs: 3, runtime: 1000, requested: 1200),  // placed at once: boots 120 s
            SimTest.job(2, submit: 1010, procs: 4, runtime: 100, requested: 200),  // queued until 2120, then 1 boot
            SimTest.job(3, submit: 2400, procs: 1, runtime: 100, requested: 200),  // placed at once on an up node
        ]
        let r = SimTest.run(jobs, cluster, ReactivePolicy(suspendTime: 600))
        #expect(r.outcomes.map(\.placed) == [1000, 2120, 2400])
        #expect(r.outcomes.map(\.bootWait) == [120, 120, 0])
        #expect(r.metrics.bootWaitAtSubmitShare == 0.5)
        // Only the jobs placed at their submission waited: all of it.
        let r2 = SimTest.run(Array(jobs.prefix(1)), cluster, ReactivePolicy(suspendTime: 600))
        #expect(r2.metrics.bootWaitAtSubmitShare == 1)
        // No boot wait at all: 0.
        var alwaysOn = AlwaysOnPolicy()
        let r3 = Simulator.run(jobs: jobs, cluster: cluster, policy: &alwaysOn, options: SimulationOptions())
        #expect(r3.metrics.meanBootWait == 0)
        #expect(r3.metrics.bootWaitAtSubmitShare == 0)
    }

    @Test func timeSeriesSamples() {
        let jobs = [SimTest.job(1, submit: 1000, procs: 2, runtime: 100, requested: 200)]
        var policy = ReactivePolicy(suspendTime: 600)
        let r = Simulator.run(
            jobs: jobs, cluster: cluster, policy: &policy, options: SimulationOptions(sampleInterval: 100))
        // Run 880 … 1220: samples at 880, 980 (before the submission), 1080 (booting, job held), 1180 (busy).
        #expect(r.samples.map(\.time) == [880, 980, 1080, 1180])
        #expect(r.samples.map(\.busyNodes) == [0, 0, 0, 2])
        #expect(r.samples.map(\.poweredNodes) == [0, 0, 2, 2])
        #expect(r.samples.map(\.demandNodes) == [0, 0, 2, 2])
    }

    @Test func idleNodesPowerDownExactlyAtSuspendTime() {
        let cluster = SimulatedCluster(nodes: 12, coresPerNode: 2, bootTime: 200, powerDownTime: 45)
        let jobs = SimTest.randomJobs(count: 300, maxProcs: 16, seed: 17, meanGap: 300)
        let suspend: Int64 = 300
        let r = SimTest.run(jobs, cluster, ReactivePolicy(suspendTime: suspend), trace: true)
        var state = [NodePowerState](repeating: .off, count: cluster.nodes)
        var since = [Int64](repeating: 0, count: cluster.nodes)
        var downs = 0
        for event in r.trace {
            guard case let .node(time, node, new) = event else { continue }
            if state[node] == .idle {
                if new == .poweringDown {
                    downs += 1
                    #expect(time - since[node] == suspend)
                } else {
                    #expect(time - since[node] <= suspend + cluster.bootTime + cluster.powerDownTime)
                }
            }
            state[node] = new
            since[node] = time
        }
        #expect(downs > 10)
        #expect(r.metrics.ignoredActions == 0)
        #expect(r.metrics.powerCycles >= downs)
    }

    @Test func tickingPolicyIsConsultedEveryInterval() {
        struct Ticker: PowerPolicy {
            var startsPowered: Bool { true }
            var tickInterval: Int64 { 60 }
            var times: [Int64] = []
            mutating func decide(_ view: ClusterView) -> PowerDecision {
                times.append(view.now)
                return .none
            }
        }
        let jobs = [SimTest.job(1, submit: 1000, procs: 1, runtime: 1000, requested: 2000)]
        var p = Ticker()
        _ = Simulator.run(jobs: jobs, cluster: cluster, policy: &p)
        // Start 880; submit 1000; ticks 940, 1000, …, 1840; the job ends at 2000 (the run stops there).
        let ticks = Set(stride(from: Int64(940), through: 1940, by: 60))
        #expect(ticks.isSubset(of: Set(p.times)))
        #expect(p.times == p.times.sorted())
        #expect(p.times.first == 880)
    }

    @Test func poweringDownNodeMustFinishBeforeBooting() {
        let jobs = [
            SimTest.job(1, submit: 1000, procs: 2, runtime: 100, requested: 200),  // 1120 … 1220, down 1820 … 1850
            SimTest.job(2, submit: 1830, procs: 4, runtime: 100, requested: 200),
        ]
        let r = SimTest.run(jobs, cluster, ReactivePolicy(suspendTime: 600))
        // Two off nodes boot 1830 … 1950; the two powering down are off at 1850 and up at 1970.
        #expect(r.outcomes[1].start == 1970)
        #expect(r.outcomes[1].bootWait == 140)
        #expect(r.metrics.powerCycles == 6)
        #expect(r.invariantViolations == 0)
    }

    @Test func alwaysOnHasNoBootWait() {
        let jobs = SimTest.randomJobs(count: 200, maxProcs: 4, seed: 5)
        let r = SimTest.run(jobs, cluster, AlwaysOnPolicy())
        #expect(r.metrics.meanBootWait == 0)
        #expect(r.metrics.bootDelayedShare == 0)
        #expect(r.metrics.powerCycles == 0)
        #expect(r.metrics.offNodeHours == 0)
    }

    /// Replays a trace and checks the node state machine: jobs start only on nodes that are up, boots and
    /// power-downs take exactly their configured time, a powering-down node never boots before it is off.
    func checkStateMachine(_ r: SimulationResult, _ cluster: SimulatedCluster, startsPowered: Bool) {
        var state = [NodePowerState](repeating: startsPowered ? .idle : .off, count: cluster.nodes)
        var since = [Int64](repeating: .min, count: cluster.nodes)
        var nodesOf: [Int: [Int]] = [:]
        for event in r.trace {
            switch event {
            case let .node(time, node, new):
                let old = state[node]
                switch new {
                case .booting: #expect(old == .off)
                case .idle:
                    #expect(old == .booting || old == .busy)
                    if old == .booting { #expect(time - since[node] == cluster.bootTime) }
                case .busy: #expect(old == .idle)
                case .poweringDown: #expect(old == .idle)
                case .off:
                    #expect(old == .poweringDown)
                    #expect(time - since[node] == cluster.powerDownTime)
                }
                state[node] = new
                since[node] = time
            case let .placed(_, job, nodes):
                nodesOf[job] = nodes
            case let .started(_, job):
                for node in nodesOf[job] ?? [] { #expect(state[node] == .busy) }
            default: break
            }
        }
        #expect(r.invariantViolations == 0)
    }

    @Test func stateMachineHoldsOnRandomWorkloads() {
        let cluster = SimulatedCluster(nodes: 12, coresPerNode: 2, bootTime: 200, powerDownTime: 45)
        let jobs = SimTest.randomJobs(count: 300, maxProcs: 16, seed: 11, meanGap: 200)
        checkStateMachine(SimTest.run(jobs, cluster, ReactivePolicy(suspendTime: 300), trace: true), cluster,
            startsPowered: false)
        checkStateMachine(SimTest.run(jobs, cluster, AlwaysOnPolicy(), trace: true), cluster, startsPowered: true)
        checkStateMachine(
            SimTest.run(jobs, cluster, OraclePolicy(jobs: jobs, cluster: cluster), trace: true), cluster,
            startsPowered: false)
    }

    @Test func oracleRemovesBootWaitWithLessIdleThanReactive() {
        let cluster = SimulatedCluster(nodes: 12, coresPerNode: 2, bootTime: 300, powerDownTime: 60)
        let jobs = SimTest.randomJobs(count: 300, maxProcs: 16, seed: 21, meanGap: 300)
        let reactive = SimTest.run(jobs, cluster, ReactivePolicy(suspendTime: 600))
        let oracle = SimTest.run(jobs, cluster, OraclePolicy(jobs: jobs, cluster: cluster))
        let alwaysOn = SimTest.run(jobs, cluster, AlwaysOnPolicy())
        #expect(alwaysOn.metrics.meanWait > 0)  // jobs queue, so backfilling is exercised too
        #expect(reactive.metrics.meanBootWait > 0)
        #expect(oracle.metrics.meanBootWait == 0)
        #expect(oracle.outcomes.map(\.start) == alwaysOn.outcomes.map(\.start))
        #expect(oracle.metrics.idleNodeHours < reactive.metrics.idleNodeHours)
        #expect(oracle.metrics.idleNodeHours < alwaysOn.metrics.idleNodeHours)
        #expect(oracle.metrics.busyNodeHours == reactive.metrics.busyNodeHours)
    }

    @Test func policiesSeeNoRuntimes() {
        struct Spy: PowerPolicy {
            var startsPowered: Bool { true }
            var sawRuntime = false
            var finished = 0
            var consulted = 0
            var tickInterval: Int64 { 60 }
            mutating func decide(_ view: ClusterView) -> PowerDecision {
                consulted += 1
                for i in 0 ..< view.queuedCount where view.queuedJob(i).job.runtime >= 0 { sawRuntime = true }
                for i in 0 ..< view.runningCount where view.runningJob(i).job.runtime >= 0 { sawRuntime = true }
                return .none
            }
            mutating func jobSubmitted(_ job: JobRecord, at time: Int64) {
                if job.runtime >= 0 { sawRuntime = true }
            }
            mutating func jobFinished(_ job: JobRecord, at time: Int64) { finished += 1 }
        }
        let jobs = SimTest.randomJobs(count: 50, maxProcs: 4, seed: 3)
        var spy = Spy()
        _ = Simulator.run(jobs: jobs, cluster: cluster, policy: &spy)
        #expect(!spy.sawRuntime)
        #expect(spy.finished == 50)
        #expect(spy.consulted > 100)
    }

    @Test func busyNodesAreNeverPoweredDown() {
        struct Greedy: PowerPolicy {
            var startsPowered: Bool { true }
            mutating func decide(_ view: ClusterView) -> PowerDecision {
                PowerDecision(actions: [.powerDown(Array(0 ..< view.nodeCount), reason: .other("all"))])
            }
        }
        let jobs = SimTest.randomJobs(count: 100, maxProcs: 4, seed: 4)
        var p = Greedy()
        let r = Simulator.run(jobs: jobs, cluster: cluster, policy: &p, options: SimulationOptions(recordTrace: true))
        checkStateMachine(r, cluster, startsPowered: true)
        #expect(r.metrics.ignoredActions > 0)
        #expect(r.metrics.jobsSimulated == 100)
    }
}
