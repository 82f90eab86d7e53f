// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
//
// How a cluster's jobs take nodes: whole nodes, or cores of shared nodes (select/cons_tres), per partition.

/// How many nodes a job takes, given how the controller allocates (``SlurmClient/loadAllocatesCores()``), each
/// partition's node size and whether a partition gives every job whole nodes (`OverSubscribe=EXCLUSIVE`).
///
/// One rule for the live forecast's queued jobs (``LiveForecast``) and for the arrivals the daemon learns
/// (``LiveDemandTracker``, from live jobs and from the history store): where the controller gives jobs cores, a job
/// of one node that asks for fewer CPUs than the partition's nodes have and may share its node takes a *share* of a
/// node, its CPUs over the node's (twenty one-CPU jobs on 64-CPU nodes are a third of a node, not twenty nodes);
/// every other job takes its node count, and at least as many nodes as its CPUs fill.
public struct NodeSharing: Sendable, Equatable {
    /// Per partition, the CPUs of its largest node (``LiveDemandTracker/coresPerNode(_:)``).
    public var coresPerNode: [String: Int]
    /// Whether the controller gives jobs cores (`SelectType=select/cons_tres` or `cons_res`), not whole nodes.
    public var allocatesCores: Bool
    /// Partitions whose jobs never share a node (`OverSubscribe=EXCLUSIVE`).
    public var exclusivePartitions: Set<String>

    public init(coresPerNode: [String: Int] = [:], allocatesCores: Bool = false, exclusivePartitions: Set<String> = []) {
        self.coresPerNode = coresPerNode
        self.allocatesCores = allocatesCores
        self.exclusivePartitions = exclusivePartitions
    }

    /// From what Slurm shows: the nodes (their CPUs per partition), the partitions (their exclusivity) and the
    /// controller's allocation.
    public init(nodes: [SlurmNode], partitions: [SlurmPartition], allocatesCores: Bool) {
        self.init(
            coresPerNode: LiveDemandTracker.coresPerNode(nodes), allocatesCores: allocatesCores,
            exclusivePartitions: Set(partitions.filter(\.exclusive).map(\.name)))
    }

    /// Whether jobs of `partition` may share nodes.
    public func sharesNodes(_ partition: String) -> Bool { allocatesCores && !exclusivePartitions.contains(partition) }

    /// The nodes a job takes in `partition`: `cpus` over the CPUs of the partition's nodes where it may share a node
    /// (not `exclusive`, at most one node, fewer CPUs than a node), else the larger of `nodeCount` and the nodes its
    /// CPUs fill, at least one. A partition of unknown node size, or a job of unknown CPUs (0): the node count, at
    /// least one.
    public func nodes(partition: String, nodeCount: Int, cpus: Int, exclusive: Bool) -> Double {
        let least = Swift.max(1, nodeCount)
        guard cpus > 0, let cores = coresPerNode[partition], cores > 0 else { return Double(least) }
        if sharesNodes(partition) && !exclusive && nodeCount <= 1 && cpus < cores {
            return Double(cpus) / Double(cores)
        }
        // A job's node count is the least it asked for: more CPUs than that many nodes have take more.
        return Double(Swift.max(least, cpus / cores + (cpus % cores == 0 ? 0 : 1)))
    }

    /// ``nodes(partition:nodeCount:cpus:exclusive:)`` of a job Slurm shows (its first partition).
    public func nodes(of j: SlurmJob) -> Double {
        nodes(partition: LiveForecast.firstPartition(j.partition), nodeCount: j.nodeCount, cpus: j.cpus,
              exclusive: j.exclusive)
    }
}
