// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

import PrewarmCore
import Testing

/// Helpers shared by the simulator tests.
enum SimTest {
    static func job(
        _ id: Int64, submit: Int64, procs: Int32, runtime: Int64, requested: Int64 = -1
    ) -> JobRecord {
        JobRecord(id: id, submit: submit, runtime: runtime, requestedProcs: procs, requestedTime: requested)
    }

    /// A random workload: `count` jobs, 1…`maxProcs` processors, bursty arrivals, runtimes up to an hour,
    /// requests at or above (sometimes below) the runtime.
    static func randomJobs(count: Int, maxProcs: Int, seed: UInt64, meanGap: Int = 120) -> [JobRecord] {
        var rng = Xoshiro256StarStar(seed: seed)
        var t: Int64 = 1_000_000
        var jobs: [JobRecord] = []
        for i in 0 ..< count {
            t += Int64(rng.next(below: 2 * meanGap + 1))
            if rng.next(below: 10) == 0 { t += Int64(rng.next(below: 7200)) }
            let procs = Int32(1 + rng.next(below: maxProcs))
            let runtime = Int64(1 + rng.next(below: 3600))
            let requested: Int64
            switch rng.next(below: 10) {
            case 0: requested = -1
            case 1: requested = Swift.max(1, runtime / 2)  // killed at its limit
            default: requested = runtime + Int64(rng.next(below: 3600))
            }
            jobs.append(job(Int64(i), submit: t, procs: procs, runtime: runtime, requested: requested))
        }
        return jobs
    }

    /// A prewarm policy that trains a small forest early (20 jobs of warm-up, 8 trees every 40 jobs), for
    /// workloads of a few hundred jobs.
    static func smallPrewarm(bootLeadTime: Int64) -> PrewarmPolicy {
        var training = OnlineTrainingConfiguration()
        training.warmupJobs = 20
        training.retrainEveryJobs = 40
        training.model.forest.treeCount = 8
        var configuration = AdjustmentConfiguration()
        configuration.bootLeadTime = bootLeadTime
        return PrewarmPolicy(configuration: configuration, training: training)
    }

    static func run<P: PowerPolicy>(
        _ jobs: [JobRecord], _ cluster: SimulatedCluster, _ policy: P, trace: Bool = false
    ) -> SimulationResult {
        var p = policy
        return Simulator.run(
            jobs: jobs, cluster: cluster, policy: &p,
            options: SimulationOptions(sampleInterval: 600, recordTrace: trace))
    }
}

@Suite struct SimulatorSchedulingTests {
    let cluster = SimulatedCluster(nodes: 4, coresPerNode: 1, bootTime: 120, powerDownTime: 30)

    @Test func fcfsAndBackfillHandChecked() {
        // A holds 2 of 4 nodes until 1100 (requested 1200). B needs 3: reservation at 1200 with 1 spare node.
        // C (2 nodes, requested end 1070 ≤ 1200) backfills at once.
        let jobs = [
            SimTest.job(1, submit: 1000, procs: 2, runtime: 100, requested: 200),
            SimTest.job(2, submit: 1010, procs: 3, runtime: 50, requested: 100),
            SimTest.job(3, submit: 1020, procs: 2, runtime: 30, requested: 50),
        ]
        let r = SimTest.run(jobs, cluster, AlwaysOnPolicy(), trace: true)
        #expect(r.outcomes.map(\.start) == [1000, 1100, 1020])
        #expect(r.outcomes.map(\.end) == [1100, 1150, 1050])
        #expect(r.metrics.jobsSimulated == 3)
        #expect(r.metrics.meanBootWait == 0)
        #expect(r.metrics.meanWait == Double(0 + 90 + 0) / 3)
        #expect(r.trace.contains(.reservation(time: 1010, job: 1, at: 1200)))
        #expect(r.invariantViolations == 0)
    }

    @Test func backfillThatWouldDelayHeadMustWait() {
        // C requests 300 s (ends 1320 > 1200) and needs 2 nodes > 1 spare: it must not backfill.
        let jobs = [
            SimTest.job(1, submit: 1000, procs: 2, runtime: 100, requested: 200),
            SimTest.job(2, submit: 1010, procs: 3, runtime: 50, requested: 100),
            SimTest.job(3, submit: 1020, procs: 2, runtime: 30, requested: 300),
        ]
        let r = SimTest.run(jobs, cluster, AlwaysOnPolicy())
        #expect(r.outcomes.map(\.start) == [1000, 1100, 1150])
    }

    @Test func backfillOnSpareNodes() {
        // C needs 1 node, runs past the reservation, but the head job leaves 1 node spare then.
        let jobs = [
            SimTest.job(1, submit: 1000, procs: 2, runtime: 100, requested: 200),
            SimTest.job(2, submit: 1010, procs: 3, runtime: 50, requested: 100),
            SimTest.job(3, submit: 1020, procs: 1, runtime: 500, requested: 600),
            SimTest.job(4, submit: 1030, procs: 1, runtime: 500, requested: 600),
        ]
        let r = SimTest.run(jobs, cluster, AlwaysOnPolicy())
        // Job 3 takes the spare node; job 4 would take a node the head job needs, so it waits for job 2's end.
        #expect(r.outcomes.map(\.start) == [1000, 1100, 1020, 1150])
    }

    @Test func killedAtLimitAndSkipped() {
        let jobs = [
            SimTest.job(1, submit: 1000, procs: 1, runtime: 500, requested: 100),
            SimTest.job(2, submit: 1000, procs: 1, runtime: 70, requested: -1),
            SimTest.job(3, submit: 1000, procs: 5, runtime: 70, requested: 100),
            SimTest.job(4, submit: 1000, procs: 1, runtime: 0, requested: 100),
            SimTest.job(5, submit: 1000, procs: 1, runtime: -1, requested: 100),
        ]
        let r = SimTest.run(jobs, cluster, AlwaysOnPolicy())
        #expect(r.outcomes[0].end == 1100)
        #expect(r.outcomes[0].killedAtLimit)
        #expect(r.outcomes[1].end == 1070)
        #expect(!r.outcomes[1].killedAtLimit)
        #expect(r.outcomes[2].skipped == .tooLarge)
        #expect(r.outcomes[3].skipped == .noRuntime)
        #expect(r.outcomes[4].skipped == .noRuntime)
        #expect(r.metrics.jobsSimulated == 2)
        #expect(r.metrics.skippedTooLarge == 1)
        #expect(r.metrics.skippedNoRuntime == 2)
        #expect(r.metrics.jobsSkipped == 3)
        #expect(r.metrics.killedAtLimit == 1)
    }

    @Test func nodesFromCoresAndHeader() {
        let c = SimulatedCluster(nodes: 10, coresPerNode: 4)
        #expect(c.nodesNeeded(procs: 1) == 1)
        #expect(c.nodesNeeded(procs: 4) == 1)
        #expect(c.nodesNeeded(procs: 5) == 2)
        #expect(c.nodesNeeded(procs: -1) == 1)
        #expect(SimulatedCluster.coresPerNode(maxProcs: 240, maxNodes: 120) == 2)
        #expect(SimulatedCluster.coresPerNode(maxProcs: 100, maxNodes: nil) == 1)
        #expect(SimulatedCluster.coresPerNode(maxProcs: 10, maxNodes: 100) == 1)
    }

    @Test func easyNeverDelaysTheHeadReservation() {
        let cluster = SimulatedCluster(nodes: 16, coresPerNode: 2)
        for seed: UInt64 in [1, 2, 3] {
            let jobs = SimTest.randomJobs(count: 300, maxProcs: 24, seed: seed, meanGap: 60)
            let r = SimTest.run(jobs, cluster, AlwaysOnPolicy(), trace: true)
            var reservations = 0
            var used = 0
            var peak = 0
            var nodesOf: [Int: Int] = [:]
            for event in r.trace {
                switch event {
                case let .reservation(_, job, at):
                    reservations += 1
                    #expect(r.outcomes[job].start <= at, "job \(job) started after its reservation")
                case let .placed(_, job, nodes):
                    nodesOf[job] = nodes.count
                    used += nodes.count
                    peak = max(peak, used)
                case let .ended(_, job):
                    used -= nodesOf[job] ?? 0
                default: break
                }
            }
            #expect(reservations > 20)
            #expect(peak <= 16)
            #expect(r.invariantViolations == 0)
            // Some jobs backfilled: started before an earlier-submitted job.
            let ran = r.outcomes.filter { $0.skipped == nil }
            let overtakes = zip(ran, ran.dropFirst()).filter { $0.1.start < $0.0.start }.count
            #expect(overtakes > 0)
        }
    }

    @Test func deterministic() {
        let jobs = SimTest.randomJobs(count: 200, maxProcs: 8, seed: 9)
        let cluster = SimulatedCluster(nodes: 8, coresPerNode: 1, bootTime: 60)
        let a = SimTest.run(jobs, cluster, ReactivePolicy(suspendTime: 300))
        let b = SimTest.run(jobs, cluster, ReactivePolicy(suspendTime: 300))
        #expect(a.metrics == b.metrics)
        #expect(a.outcomes == b.outcomes)
        #expect(a.samples == b.samples)
    }
}
