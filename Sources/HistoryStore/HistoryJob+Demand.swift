// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

import PrewarmCore
import SlurmKit

extension HistoryJob {
    /// The job as the demand learner replays it (``DemandLearner/replay(_:)``): its first partition, uid, nodes,
    /// submit, start and end. Its nodes are what `sharing` says it takes (``NodeSharing``): a share of a node where
    /// jobs share nodes and it took fewer CPUs than a node has, else its node count and at least the whole nodes
    /// its CPUs fill (a workload log gives only processors). The CPUs are those it was given (an `--exclusive`
    /// job is given the whole node's), else those it asked for.
    public func pastJob(sharing: NodeSharing) -> DemandLearner.PastJob {
        let first = (partition ?? "").split(separator: ",").first.map(String.init) ?? ""
        let cpus = Int(Swift.max(0, Swift.min(allocatedCPUs ?? requestedCPUs ?? 0, 1 << 40)))
        let nodeCount = Int(Swift.max(0, Swift.min(requestedNodes ?? 0, 1 << 20)))
        let nodes = sharing.nodes(partition: first, nodeCount: nodeCount, cpus: cpus, exclusive: false)
        return DemandLearner.PastJob(
            partition: first, user: Int32(truncatingIfNeeded: userID ?? -1), nodes: Swift.min(nodes, Double(1 << 20)),
            submit: submitTime, start: startTime, end: endTime, utcOffset: utcOffset)
    }
}

extension HistoryStore {
    /// The newest `newest` stored jobs as the demand learner replays them: what `prewarmd` seeds its learned
    /// arrivals with at start-up, and `prewarm forecast --db`.
    public func pastJobs(newest: Int, sharing: NodeSharing) throws(HistoryStoreError) -> [DemandLearner.PastJob] {
        try jobs(newest: newest).map { $0.pastJob(sharing: sharing) }
    }
}
