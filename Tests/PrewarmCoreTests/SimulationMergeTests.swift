// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import Testing

@testable import PrewarmCore

/// `SimulationResult.merged`: the runs of separate pools of nodes as one run of the whole cluster.
struct SimulationMergeTests {
    @Test func poolsMergeIntoOneRunOfTheCluster() {
        let a = SimTest.run(
            SimTest.randomJobs(count: 300, maxProcs: 24, seed: 5, meanGap: 200),
            SimulatedCluster(nodes: 12, coresPerNode: 2, bootTime: 200, powerDownTime: 45),
            ReactivePolicy(suspendTime: 300))
        let b = SimTest.run(
            SimTest.randomJobs(count: 200, maxProcs: 40, seed: 9, meanGap: 400),
            SimulatedCluster(nodes: 8, coresPerNode: 4, bootTime: 200, powerDownTime: 45),
            ReactivePolicy(suspendTime: 300))
        let (ma, mb) = (a.metrics, b.metrics)
        #expect(ma.jobsSimulated > 200 && mb.jobsSimulated > 100 && ma.meanBootWait > 0 && mb.meanBootWait > 0)
        #expect(ma.meanWait != mb.meanWait && ma.meanBootWait != mb.meanBootWait)

        let m = SimulationResult.merged([a, b], sampleInterval: 600)
        #expect(m.outcomes == a.outcomes + b.outcomes)
        let x = m.metrics
        let (na, nb) = (Double(ma.jobsSimulated), Double(mb.jobsSimulated))
        func weighted(_ f: KeyPath<SimulationMetrics, Double>) -> Double { (ma[keyPath: f] * na + mb[keyPath: f] * nb) / (na + nb) }
        #expect(x.jobsSimulated == ma.jobsSimulated + mb.jobsSimulated)
        #expect(x.skippedNoRuntime == ma.skippedNoRuntime + mb.skippedNoRuntime)
        #expect(x.skippedTooLarge == ma.skippedTooLarge + mb.skippedTooLarge)
        #expect(x.killedAtLimit == ma.killedAtLimit + mb.killedAtLimit)
        for f in [\SimulationMetrics.meanWait, \.meanBootWait, \.bootDelayedShare, \.boundedSlowdown] {
            #expect(abs(x[keyPath: f] - weighted(f)) <= 1e-9 * max(1, weighted(f)), "\(f)")
        }
        // The share of the boot wait at submission, over the summed boot wait of both.
        let bootA = ma.meanBootWait * na, bootB = mb.meanBootWait * nb
        let share = (ma.bootWaitAtSubmitShare * bootA + mb.bootWaitAtSubmitShare * bootB) / (bootA + bootB)
        #expect(abs(x.bootWaitAtSubmitShare - share) < 1e-12)
        // The 95th percentile over all the jobs' waits (nearest rank), not a mean of the pools' percentiles.
        let waits = (a.outcomes + b.outcomes).filter { $0.skipped == nil }.map(\.wait).sorted()
        #expect(x.p95Wait == Double(waits[Int((0.95 * Double(waits.count)).rounded(.up)) - 1]))
        for f in [\SimulationMetrics.idleNodeHours, \.busyNodeHours, \.offNodeHours, \.bootingNodeHours,
                  \.poweringDownNodeHours, \.heldIdleNodeHours, \.energyKWh, \.cloudCost] {
            #expect(x[keyPath: f] == ma[keyPath: f] + mb[keyPath: f], "\(f)")
        }
        #expect(x.powerCycles == ma.powerCycles + mb.powerCycles && x.powerCycles > 0)
        #expect(x.span == max(ma.span, mb.span))
        #expect(m.invariantViolations == 0)

        // One pool is the run itself; the job figures recomputed from its outcomes are the simulator's own.
        #expect(SimulationResult.merged([a], sampleInterval: 600).metrics == ma)
        let empty = SimulationResult(
            metrics: SimulationMetrics(), outcomes: [], samples: [], trace: [], invariantViolations: 0)
        #expect(SimulationResult.merged([a, empty], sampleInterval: 600).metrics == ma)
    }

    @Test func mergedSamplesSumThePoolsOnOneGrid() {
        func s(_ t: Int64, _ busy: Int, _ powered: Int, _ demand: Int) -> SimulationSample {
            SimulationSample(time: t, busyNodes: busy, poweredNodes: powered, demandNodes: demand)
        }
        let first = [s(0, 1, 2, 1), s(100, 2, 2, 3), s(200, 3, 4, 3)]
        let second = [s(50, 5, 6, 7), s(150, 1, 6, 1), s(250, 0, 3, 0), s(350, 2, 3, 2)]
        let merged = SimulationResult.mergedSamples([first, [], second], interval: 100)
        #expect(merged == [
            s(0, 1, 2, 1),  // the second pool has not started
            s(100, 2 + 5, 2 + 6, 3 + 7),  // each pool's last sample at or before the time
            s(200, 3 + 1, 4 + 6, 3 + 1),
            s(300, 0, 4 + 3, 0),  // after its last sample the first pool counts its powered nodes only
        ])
        #expect(SimulationResult.mergedSamples([first, second], interval: 0).isEmpty)
        #expect(SimulationResult.mergedSamples([[], []], interval: 100).isEmpty)
    }
}
