// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

import PrewarmCore

extension HistoryJob {
    /// The job as the demand learner replays it (``DemandLearner/replay(_:)``): its first partition, uid, nodes,
    /// submit, start and end. A job without a node count (a workload log gives processors) takes whole nodes of
    /// `coresPerNode(partition)`.
    public func pastJob(coresPerNode: (String) -> Int) -> DemandLearner.PastJob {
        let first = (partition ?? "").split(separator: ",").first.map(String.init) ?? ""
        var nodes = requestedNodes ?? 0
        if nodes <= 0, let cpus = requestedCPUs ?? allocatedCPUs, cpus > 0 {
            let cores = Int64(Swift.max(1, coresPerNode(first)))
            nodes = (Swift.min(cpus, 1 << 40) + cores - 1) / cores
        }
        return DemandLearner.PastJob(
            partition: first, user: Int32(truncatingIfNeeded: userID ?? -1),
            nodes: Int(Swift.min(Swift.max(1, nodes), 1 << 20)), submit: submitTime, start: startTime, end: endTime,
            utcOffset: utcOffset)
    }
}

extension HistoryStore {
    /// The newest `newest` stored jobs as the demand learner replays them: what `prewarmd` seeds its learned
    /// arrivals with at start-up, and `prewarm forecast --db`.
    public func pastJobs(newest: Int, coresPerNode: (String) -> Int) throws(HistoryStoreError)
        -> [DemandLearner.PastJob]
    {
        try jobs(newest: newest).map { $0.pastJob(coresPerNode: coresPerNode) }
    }
}
