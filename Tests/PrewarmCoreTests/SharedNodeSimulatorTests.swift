// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

import PrewarmCore
import Testing

/// The simulator where jobs share nodes (`SimulatedCluster.sharesNodes`, `simulate --share-nodes`).
@Suite struct SharedNodeSimulatorTests {
    static func cluster(nodes: Int, cores: Int, boot: Int64 = 120) -> SimulatedCluster {
        var c = SimulatedCluster(nodes: nodes, coresPerNode: cores, bootTime: boot, powerDownTime: 30)
        c.sharesNodes = true
        return c
    }

    /// The nodes each job was placed on, from the trace.
    static func placements(_ r: SimulationResult) -> [Int: [Int]] {
        var out: [Int: [Int]] = [:]
        for case let .placed(_, job, nodes) in r.trace { out[job] = nodes }
        return out
    }

    @Test func jobsOfFewerCoresThanANodeShareItHandChecked() {
        // Two nodes of 4 cores. J0 and J1 (2 cores each) fill one node; J2 (4 cores) takes the other whole; J3 (3
        // cores) finds no room: its reservation is J0's requested end, 1200, when that node is free. J4 (2 cores,
        // requested end 1090) backfills beside J0 once J1 ends at 1050; J3 starts when J0 ends at 1100.
        let jobs = [
            SimTest.job(0, submit: 1000, procs: 2, runtime: 100, requested: 200),
            SimTest.job(1, submit: 1000, procs: 2, runtime: 50, requested: 100),
            SimTest.job(2, submit: 1010, procs: 4, runtime: 300, requested: 400),
            SimTest.job(3, submit: 1020, procs: 3, runtime: 30, requested: 60),
            SimTest.job(4, submit: 1030, procs: 2, runtime: 20, requested: 40),
        ]
        let r = SimTest.run(jobs, Self.cluster(nodes: 2, cores: 4), AlwaysOnPolicy(), trace: true)
        #expect(r.outcomes.map(\.start) == [1000, 1000, 1010, 1100, 1050])
        let on = Self.placements(r)
        #expect(on[0] == on[1] && on[0] == on[4] && on[0] == on[3])
        #expect(on[2] != on[0] && on[2]?.count == 1)
        #expect(r.trace.contains(.reservation(time: 1020, job: 3, at: 1200)))
        #expect(r.invariantViolations == 0)
        // Whole nodes: J0 and J1 take a node each, J2 waits for J1.
        var whole = Self.cluster(nodes: 2, cores: 4)
        whole.sharesNodes = false
        #expect(SimTest.run(jobs, whole, AlwaysOnPolicy()).outcomes.map(\.start) == [1000, 1000, 1050, 1100, 1130])
    }

    @Test func aJobMayRunPastTheReservationBesideTheHeadOnlyIfItLeavesTheHeadItsCores() {
        // One node of 8 cores. J0 (4 cores, requested end 1200) and J1 (2 cores, long) run; J2 (5 cores) is the head,
        // reserving the node's 6 cores free at 1200. J3 (1 core) may run past 1200 (5 left); J4 (1 core) may not (4);
        // J5 (1 core, requested end 1140) backfills. J2 starts when J0 ends (1100), J4 when J2 ends (1150).
        let jobs = [
            SimTest.job(0, submit: 1000, procs: 4, runtime: 100, requested: 200),
            SimTest.job(1, submit: 1000, procs: 2, runtime: 900, requested: 1000),
            SimTest.job(2, submit: 1010, procs: 5, runtime: 50, requested: 100),
            SimTest.job(3, submit: 1020, procs: 1, runtime: 500, requested: 600),
            SimTest.job(4, submit: 1030, procs: 1, runtime: 500, requested: 600),
            SimTest.job(5, submit: 1040, procs: 1, runtime: 50, requested: 100),
        ]
        let r = SimTest.run(jobs, Self.cluster(nodes: 1, cores: 8), AlwaysOnPolicy(), trace: true)
        #expect(r.outcomes.map(\.start) == [1000, 1000, 1100, 1020, 1150, 1040])
        #expect(r.trace.contains(.reservation(time: 1010, job: 2, at: 1200)))
        #expect(r.invariantViolations == 0)
    }

    @Test func jobsPlacedOnABootingNodeShareItsBoot() {
        // One node of 4 cores, off. J0 boots it; J1, submitted while it boots, waits for the same boot.
        let jobs = [
            SimTest.job(0, submit: 1000, procs: 1, runtime: 100, requested: 200),
            SimTest.job(1, submit: 1010, procs: 1, runtime: 100, requested: 200),
        ]
        let r = SimTest.run(jobs, Self.cluster(nodes: 1, cores: 4), ReactivePolicy(suspendTime: 600), trace: true)
        #expect(r.outcomes.map(\.start) == [1120, 1120])
        #expect(r.metrics.powerCycles == 1)
        #expect(r.metrics.meanBootWait == Double(120 + 110) / 2)
        #expect(r.invariantViolations == 0)
    }

    @Test func jobsOfWholeNodesAreScheduledAsWithoutSharing() {
        // Every job a multiple of the node's cores: sharing changes nothing.
        var jobs = SimTest.randomJobs(count: 300, maxProcs: 6, seed: 4, meanGap: 60)
        for i in jobs.indices { jobs[i].requestedProcs *= 4 }
        let shared = Self.cluster(nodes: 12, cores: 4)
        var whole = shared
        whole.sharesNodes = false
        let a = SimTest.run(jobs, shared, ReactivePolicy(suspendTime: 300))
        let b = SimTest.run(jobs, whole, ReactivePolicy(suspendTime: 300))
        #expect(a.outcomes == b.outcomes)
        #expect(a.metrics == b.metrics)
    }

    /// Random mixes of shared and whole-node jobs under every policy: no node ever holds more cores than it has, no
    /// job starts on a node that is not up or is placed after the reservation it was given as the queue's head.
    @Test func sharedNodesNeverOverflowAndReservationsHold() {
        let cores = 8
        let cluster = Self.cluster(nodes: 10, cores: cores)
        for seed: UInt64 in [1, 2, 3] {
            let jobs = SimTest.randomJobs(count: 400, maxProcs: 20, seed: seed, meanGap: 40)
            var prewarm = PrewarmPolicy()
            prewarm.recordPredictions = false
            let runs: [(String, SimulationResult)] = [
                ("always_on", SimTest.run(jobs, cluster, AlwaysOnPolicy(), trace: true)),
                ("reactive", SimTest.run(jobs, cluster, ReactivePolicy(suspendTime: 300), trace: true)),
                ("prewarm", SimTest.run(jobs, cluster, prewarm, trace: true)),
                ("oracle", SimTest.run(jobs, cluster, OraclePolicy(jobs: jobs, cluster: cluster), trace: true)),
            ]
            for (label, r) in runs {
                #expect(r.invariantViolations == 0, "\(label) seed \(seed)")
                #expect(r.metrics.jobsSimulated == jobs.count, "\(label) seed \(seed)")
                // Cores per node over time: +cores at start, -cores at end (ends first at equal times).
                let on = Self.placements(r)
                var events: [(time: Int64, delta: Int, node: Int)] = []
                var sharedJobs = 0
                var reservations = 0
                for (job, nodes) in on {
                    let c = cluster.sharedCores(for: jobs[job])
                    if c > 0 { sharedJobs += 1 }
                    #expect(c == 0 || nodes.count == 1)
                    for n in nodes {
                        events.append((r.outcomes[job].start, c > 0 ? c : cores, n))
                        events.append((r.outcomes[job].end, -(c > 0 ? c : cores), n))
                    }
                }
                events.sort { ($0.time, $0.delta) < ($1.time, $1.delta) }
                var used = [Int](repeating: 0, count: cluster.nodes)
                var peak = 0
                for e in events {
                    used[e.node] += e.delta
                    peak = max(peak, used[e.node])
                }
                #expect(peak <= cores, "\(label) seed \(seed): a node held \(peak) cores")
                #expect(sharedJobs > 100)
                for case let .reservation(_, job, at) in r.trace {
                    reservations += 1
                    // Placed by then (it starts once its nodes are up).
                    #expect(r.outcomes[job].placed <= at, "\(label) seed \(seed): job \(job) placed after its reservation")
                }
                #expect(reservations > 20, "\(label) seed \(seed)")
            }
            // Jobs share nodes: fewer busy node-hours than with whole nodes, and the oracle spares every boot wait.
            var whole = cluster
            whole.sharesNodes = false
            let wholeRun = SimTest.run(jobs, whole, AlwaysOnPolicy())
            #expect(runs[0].1.metrics.busyNodeHours < wholeRun.metrics.busyNodeHours)
            #expect(runs[3].1.metrics.meanBootWait == 0, "seed \(seed)")
            #expect(runs[1].1.metrics.meanBootWait > 0, "seed \(seed)")
        }
    }

    @Test func sharedCoresOfAJob() {
        var c = SimulatedCluster(nodes: 4, coresPerNode: 8)
        #expect(c.sharedCores(for: SimTest.job(0, submit: 0, procs: 3, runtime: 1)) == 0)  // not sharing
        c.sharesNodes = true
        #expect(c.sharedCores(for: SimTest.job(0, submit: 0, procs: 3, runtime: 1)) == 3)
        #expect(c.sharedCores(for: SimTest.job(0, submit: 0, procs: 8, runtime: 1)) == 0)  // a whole node
        #expect(c.sharedCores(for: SimTest.job(0, submit: 0, procs: 12, runtime: 1)) == 0)
        var twoNodes = SimTest.job(0, submit: 0, procs: 3, runtime: 1)
        twoNodes.requestedNodes = 2
        #expect(c.sharedCores(for: twoNodes) == 0)
        var exclusive = SimTest.job(0, submit: 0, procs: 1, runtime: 1)
        exclusive.allocatedProcs = 8  // given the whole node
        #expect(c.sharedCores(for: exclusive) == 0)
    }
}
