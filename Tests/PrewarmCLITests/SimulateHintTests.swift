// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
@testable import PrewarmCLI
import PrewarmCore
import Testing

/// `simulate --db` notes that stored one-node jobs of varied CPUs may have shared nodes (whole nodes are simulated).
@Test func simulateHintsAtSharedNodesWhenOneNodeJobsVaryInCPUs() {
    func job(_ procs: Int32, nodes: Int32 = 1) -> JobRecord {
        var j = JobRecord(id: 0, submit: 0, runtime: 10, requestedProcs: procs, requestedTime: 20)
        j.requestedNodes = nodes
        return j
    }
    let varied = [job(32), job(4), job(1), job(32), job(64, nodes: 2)]
    let hint = Simulate.sharingHint(varied)
    #expect(hint?.contains("2 of 4 one-node jobs were given fewer CPUs than the largest (32)") == true)
    #expect(hint?.contains("--share-nodes --cores-per-node C") == true)
    // Every one-node job the same size, or too few smaller ones, or no node counts (a workload log): no note.
    #expect(Simulate.sharingHint([job(8), job(8), job(16, nodes: 2)]) == nil)
    #expect(Simulate.sharingHint([job(8), job(8), job(8), job(8), job(8), job(2)]) == nil)
    #expect(Simulate.sharingHint([job(8), job(8), job(8), job(2)]) != nil)
    #expect(Simulate.sharingHint([job(4, nodes: -1), job(1, nodes: -1)]) == nil)
}

/// Prewarm's boot lead in a simulation: the simulated nodes' boot time unless prewarmd.conf fixes a longer one, per
/// pool (`--pool …:boot=S`), as prewarmd's `BootLeadTime=auto` learns each partition's.
@Test func simulatedPrewarmLeadsByItsPoolsBootTime() {
    func lead(boot: Int64, fixed: Int64?) -> Int64 {
        let unit = Simulate.Unit(
            partitions: ["cloud"], jobs: [], cluster: SimulatedCluster(nodes: 4, bootTime: boot), upCap: 4, downCap: 4,
            hourlyCap: nil)
        let o = Simulate.PrewarmOptions(
            bootLeadTime: fixed, threshold: 0, powerDownMargin: 600, followPrice: 0.05, sessionPriceScale: 1,
            bufferPriceScale: 1, refine: true, slurmSuspendTime: nil)
        return Simulate.prewarmPolicy(o, (1, 60, 1, 0), unit).configuration.bootLeadTime
    }
    #expect(lead(boot: 120, fixed: nil) == 120)
    #expect(lead(boot: 900, fixed: nil) == 900)
    #expect(lead(boot: 120, fixed: 300) == 300)
    #expect(lead(boot: 600, fixed: 300) == 600)
}
