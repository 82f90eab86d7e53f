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
