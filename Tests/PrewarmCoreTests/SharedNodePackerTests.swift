// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import PrewarmCore
import Testing

/// Queued jobs that share nodes pack together when they may start in the same minute of the forecast's grid, not only
/// at the same second: four one-CPU jobs submitted with `--begin=now+600` one after another, a second apart, share two
/// nodes of two CPUs, as the controller gives them (seen in the integration test: split over two seconds, they read as
/// 3 nodes).
@Test func queuedJobsPackByTheMinuteTheyMayStartIn() {
    let now: Int64 = 1_000_000
    func pack(_ starts: [Int64?], cores: Int = 2) -> [PendingDemand] {
        var packer = SharedNodePacker(coresPerNode: cores, now: now)
        var pending: [PendingDemand] = []
        for s in starts { packer.add(cpus: 1, predictedRuntime: 60, lateRuntime: 90, earliestStart: s, to: &pending) }
        return pending
    }
    // now+541 … now+600 are all minute 10 of the grid: two nodes for four jobs, each from its first job's start.
    let four = pack([now + 599, now + 599, now + 600, now + 541])
    #expect(four.map(\.nodes) == [1, 1])
    #expect(four.map(\.earliestStart) == [now + 599, now + 600])
    // now+601 is minute 11: a node of its own beside minute 10's.
    #expect(pack([now + 600, now + 601]).count == 2)
    // Jobs that may start now, with no earliest start or one already past, share nodes too.
    #expect(pack([nil, now - 30, now, nil]).count == 2)
    #expect(pack([nil, now + 1]).count == 2)  // minute 1
    // On one-CPU nodes nothing packs; on four-CPU nodes, four jobs of the same minute fill one.
    #expect(pack([now + 600, now + 600], cores: 1).count == 2)
    #expect(pack([now + 600, now + 590, now + 580, now + 570, now + 560], cores: 4).map(\.nodes) == [1, 1])
    // The node is busy for the longest of its jobs.
    var packer = SharedNodePacker(coresPerNode: 2, now: now)
    var pending: [PendingDemand] = []
    packer.add(cpus: 1, predictedRuntime: 60, lateRuntime: 90, earliestStart: now + 600, to: &pending)
    packer.add(cpus: 1, predictedRuntime: 300, lateRuntime: 200, earliestStart: now + 599, to: &pending)
    #expect(pending.count == 1 && pending[0].predictedRuntime == 300 && pending[0].lateRuntime == 300)
}
