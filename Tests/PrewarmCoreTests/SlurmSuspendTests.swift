// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import PrewarmCore
import Testing

/// `UnderSlurmSuspend`: a policy run as prewarmd runs on a live cluster, where Slurm's own SuspendTime still
/// suspends every idle node (`simulate --slurm-suspend-time`).
@Suite struct SlurmSuspendTests {
    let cluster = SimulatedCluster(nodes: 16, coresPerNode: 2, bootTime: 200, powerDownTime: 45)

    /// Every idle span of the trace, as (length, how it ended).
    func idleSpans(_ r: SimulationResult) -> [(length: Int64, ended: NodePowerState)] {
        var state = [NodePowerState](repeating: .off, count: cluster.nodes)
        var since = [Int64](repeating: 0, count: cluster.nodes)
        var spans: [(Int64, NodePowerState)] = []
        for event in r.trace {
            guard case let .node(time, node, new) = event else { continue }
            if state[node] == .idle { spans.append((time - since[node], new)) }
            state[node] = new
            since[node] = time
        }
        return spans
    }

    @Test func underALongerTimerOfItsOwnReactiveIsSlurmsReactive() {
        // The earlier of two suspend timers wins: reactive at 10,000 s under Slurm's 300 s is reactive at 300 s.
        let jobs = SimTest.randomJobs(count: 400, maxProcs: 24, seed: 5, meanGap: 400)
        let alone = SimTest.run(jobs, cluster, ReactivePolicy(suspendTime: 300), trace: true)
        let under = SimTest.run(jobs, cluster, UnderSlurmSuspend(ReactivePolicy(suspendTime: 10_000), suspendTime: 300), trace: true)
        #expect(under.metrics == alone.metrics)
        #expect(under.trace == alone.trace)
        #expect(alone.metrics.powerCycles > 20)
    }

    @Test func slurmSuspendsWhatPrewarmKeepsAndPrewarmBootsItAgain() {
        let jobs = SimTest.randomJobs(count: 600, maxProcs: 24, seed: 9, meanGap: 240)
        let suspend: Int64 = 300
        let alone = SimTest.run(jobs, cluster, SimTest.smallPrewarm(bootLeadTime: cluster.bootTime), trace: true)
        let under = SimTest.run(
            jobs, cluster, UnderSlurmSuspend(SimTest.smallPrewarm(bootLeadTime: cluster.bootTime), suspendTime: suspend),
            trace: true)
        #expect(alone.invariantViolations == 0 && under.invariantViolations == 0)
        #expect(under.metrics.jobsSimulated == jobs.count)
        // Alone, prewarm keeps some nodes idle longer than SuspendTime for the demand it expects.
        #expect(idleSpans(alone).contains { $0.length > suspend && $0.ended == .poweringDown })
        // Under Slurm's SuspendTime none stays idle longer (a node held for a job waiting on boots ends its span by
        // starting the job, within a power-down and a boot), and Slurm's suspensions come exactly at SuspendTime.
        let spans = idleSpans(under)
        #expect(!spans.contains { $0.length > suspend && $0.ended == .poweringDown })
        #expect(!spans.contains { $0.length > suspend + cluster.bootTime + cluster.powerDownTime })
        #expect(spans.filter { $0.length == suspend && $0.ended == .poweringDown }.count > 10)
        // What it keeps is cut short: fewer idle node-hours, more power cycles.
        #expect(under.metrics.idleNodeHours < alone.metrics.idleNodeHours)
        #expect(under.metrics.powerCycles > alone.metrics.powerCycles)
    }
}
