// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import PrewarmCore
import Testing

/// `UnderHourlyCap`: prewarmd's `MaxActionsPerHour` in the simulator (`simulate --max-actions-per-hour`,
/// `--daemon-conf`).
@Suite struct HourlyCapTests {
    let cluster = SimulatedCluster(nodes: 16, coresPerNode: 2, bootTime: 200, powerDownTime: 45)

    /// Keeps every decision a policy returns (empty ones too), with its time.
    struct Recorder<Inner: PowerPolicy>: PowerPolicy {
        var inner: Inner
        var decisions: [(time: Int64, ups: [Int], downs: [Int])] = []
        var startsPowered: Bool { inner.startsPowered }
        var tickInterval: Int64 { inner.tickInterval }
        mutating func decide(_ view: ClusterView) -> PowerDecision {
            let d = inner.decide(view)
            var ups: [Int] = []
            var downs: [Int] = []
            for a in d.actions {
                switch a {
                case let .powerUp(count, _): ups += Array(repeating: -1, count: count)
                case let .powerUpNodes(nodes, _): ups += nodes
                case let .powerDown(nodes, _): downs += nodes
                }
            }
            decisions.append((view.now, ups, downs))
            return d
        }
        mutating func jobSubmitted(_ job: JobRecord, at time: Int64) { inner.jobSubmitted(job, at: time) }
        mutating func jobFinished(_ job: JobRecord, at time: Int64) { inner.jobFinished(job, at: time) }
    }

    func prewarm() -> PrewarmPolicy { SimTest.smallPrewarm(bootLeadTime: cluster.bootTime) }

    /// The largest number of actions in any window [t, t + 3600).
    func busiestHour(_ decisions: [(time: Int64, ups: [Int], downs: [Int])]) -> Int {
        var best = 0
        for d in decisions {
            let inHour = decisions.filter { $0.time >= d.time && $0.time - d.time < 3600 }
            best = Swift.max(best, inHour.reduce(0) { $0 + $1.ups.count + $1.downs.count })
        }
        return best
    }

    @Test func noRollingHourHoldsMoreThanTheCapAndPowerUpsGoFirst() {
        let jobs = SimTest.randomJobs(count: 600, maxProcs: 24, seed: 9, meanGap: 240)
        var free = Recorder(inner: prewarm())
        let alone = Simulator.run(jobs: jobs, cluster: cluster, policy: &free)
        let unbounded = busiestHour(free.decisions)
        let cap = 4
        #expect(unbounded > 2 * cap, "the cap must bind: the policy alone made \(unbounded) actions in its busiest hour")
        // Outside: what the cap passes on; inside: what the policy asked for.
        var capped = Recorder(inner: UnderHourlyCap(Recorder(inner: prewarm()), cap: cap))
        let r = Simulator.run(jobs: jobs, cluster: cluster, policy: &capped)
        #expect(r.invariantViolations == 0 && alone.invariantViolations == 0)
        #expect(r.metrics.jobsSimulated == jobs.count)
        #expect(busiestHour(capped.decisions) <= cap)
        #expect(busiestHour(capped.decisions) == cap)  // it is used up, not left idle
        #expect(capped.inner.cutActions > 0)
        // Every passed decision is a prefix of what was asked, power-ups before power-downs: a power-down passes
        // only when every power-up asked at that step passed.
        let asked = capped.inner.inner.decisions
        #expect(asked.count == capped.decisions.count)
        for (a, d) in zip(asked, capped.decisions) {
            #expect(a.time == d.time)
            #expect(Array(a.ups.prefix(d.ups.count)) == d.ups)
            #expect(Array(a.downs.prefix(d.downs.count)) == d.downs)
            #expect(d.downs.isEmpty || d.ups.count == a.ups.count)
        }
        // What the cap cut shows in the run.
        #expect(r.metrics != alone.metrics)
    }

    @Test func aCapNeverReachedChangesNothingAndNoCapBlocksEveryAction() {
        let jobs = SimTest.randomJobs(count: 300, maxProcs: 24, seed: 4, meanGap: 240)
        let alone = SimTest.run(jobs, cluster, prewarm(), trace: true)
        let loose = SimTest.run(jobs, cluster, UnderHourlyCap(prewarm(), cap: 1_000_000), trace: true)
        #expect(loose.metrics == alone.metrics)
        #expect(loose.trace == alone.trace)
        // A cap of 0: the policy never acts, so only Slurm's own resumes boot nodes, and nothing powers them down.
        var none = Recorder(inner: UnderHourlyCap(prewarm(), cap: 0))
        let r = Simulator.run(jobs: jobs, cluster: cluster, policy: &none)
        #expect(none.decisions.allSatisfy { $0.ups.isEmpty && $0.downs.isEmpty })
        #expect(r.metrics.poweringDownNodeHours == 0)
        #expect(r.metrics.jobsSimulated == jobs.count)
    }

    @Test func slurmsSuspensionsAreNotCountedAgainstTheCap() {
        // Under Slurm's SuspendTime, Slurm's power-downs pass whatever the cap: only the policy's own are capped.
        let jobs = SimTest.randomJobs(count: 300, maxProcs: 24, seed: 4, meanGap: 240)
        let slurmAlone = SimTest.run(jobs, cluster, UnderSlurmSuspend(UnderHourlyCap(prewarm(), cap: 0), suspendTime: 300))
        let reactive = SimTest.run(jobs, cluster, ReactivePolicy(suspendTime: 300))
        #expect(slurmAlone.metrics == reactive.metrics)
    }
}
