// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import PrewarmCore
import SlurmKit
import Testing

private func job(
    _ id: UInt32, _ state: JobState, nodes: Int, limitMinutes: Int64, start: Int64 = 0, eligible: Int64 = 0,
    annotation: String = "", partition: String = "batch"
) -> SlurmJob {
    SlurmJob(
        id: id, arrayJobID: 0, arrayTaskID: 0, userID: 1000, account: "a", name: "j", partition: partition,
        state: state, reasonCode: 0, submitTime: 0, eligibleTime: eligible, startTime: start, endTime: 0,
        timeLimitMinutes: limitMinutes, cpus: nodes * 2, nodeCount: nodes, nodes: "", adminComment: annotation,
        dependency: "")
}

@Test func liveForecastUsesAnnotationsLimitsAndEligibleTimes() {
    let now: Int64 = 1_000_000
    let nodes = (1 ... 8).map { i in
        SlurmNode(
            name: "n\(i)", base: i <= 3 ? .allocated : .idle,
            flags: i >= 6 ? [.cloud, .poweredDown] : (i == 5 ? [.cloud, .poweringUp] : []), partitions: ["batch"])
    }
    let jobs = [
        // Running on 3 nodes, annotated: ends 10 min after its start (started 5 min ago) -> busy for 5 minutes.
        job(1, .running, nodes: 3, limitMinutes: 120, start: now - 300,
            annotation: "ops note prewarm:v1 rt=600 rt50=550 rt90=900 cand=last2 cpuh=1 model=abcd1234"),
        // Queued, no annotation: its 20-minute limit is the runtime; it fits now on the idle nodes.
        job(2, .pending, nodes: 2, limitMinutes: 20),
        // Queued with --begin in 30 minutes.
        job(3, .pending, nodes: 4, limitMinutes: 10, eligible: now + 1800),
        // Another partition and a finished job: ignored.
        job(4, .pending, nodes: 8, limitMinutes: 10, partition: "gpu"),
        job(5, .completed, nodes: 8, limitMinutes: 10),
    ]
    let result = LiveForecast.forecast(
        nodes: nodes, partitions: [SlurmPartition(name: "batch", nodes: "n[1-8]")], jobs: jobs, now: now)
    #expect(result.count == 1)
    let p = result[0]
    #expect(p.nodes == 8)
    #expect(p.powered == 4)  // n1-n4 (n5 is powering up, n6-n8 off)
    #expect(p.poweringUp == 1)
    #expect(p.runningJobs == 1 && p.pendingJobs == 2 && p.annotatedJobs == 1)
    let e = p.forecast.expected
    #expect(e.count == 60)
    #expect(e[0] == 5)   // 3 running + 2 queued starting now
    #expect(e[6] == 2)   // the running job ended at minute 5 (predicted rt 600 s)
    #expect(e[25] == 0)  // the queued job's 20-minute limit is over
    #expect(e[31] == 4)  // the --begin job
    #expect(p.forecast.upper[6] == 5)  // late end: rt90 900 s -> busy until minute 10
    #expect(SubmitProfiler.parse("prewarm:v1 model=none") == nil)
    #expect(SubmitProfiler.parse("x prewarm:v1 rt=5 rt50=4 rt90=9 model=ab")?.rt90 == 9)
}

@Test func dependentJobsArePlannedFromTheirParentsPredictedEnds() {
    let now: Int64 = 2_000_000
    let nodes = (1 ... 6).map { i in
        SlurmNode(name: "n\(i)", base: i <= 2 ? .allocated : .idle, flags: i > 2 ? [.cloud, .poweredDown] : [],
                  partitions: ["batch"])
    }
    func dependent(_ id: UInt32, _ dependency: String) -> SlurmJob {
        var j = job(id, .pending, nodes: 4, limitMinutes: 10)
        j.dependency = dependency
        return j
    }
    // The parent runs on 2 nodes and is predicted to end 20 minutes from now (rt 1500 s, started 5 min ago).
    let parent = job(1, .running, nodes: 2, limitMinutes: 60, start: now - 300,
                     annotation: "prewarm:v1 rt=1500 rt50=1500 rt90=2000 model=ab")
    func forecast(_ jobs: [SlurmJob]) -> [Float] {
        LiveForecast.forecast(
            nodes: nodes, partitions: [SlurmPartition(name: "batch", nodes: "n[1-6]")], jobs: jobs, now: now)[0]
            .forecast.expected
    }
    // afterok on the running parent: the 4-node child is demand from minute 20, not now.
    let child = forecast([parent, dependent(2, "afterok:1(unfulfilled)")])
    #expect(child[0] == 2 && child[19] == 2)
    #expect(child[20] == 4 && child[29] == 4)
    // +10 minutes after the parent ends.
    let delayed = forecast([parent, dependent(2, "afterany:1+10(unfulfilled)")])
    #expect(delayed[19] == 2 && delayed[25] == 0 && delayed[30] == 4)
    // `after` (once the parent has started): now.
    #expect(forecast([parent, dependent(2, "after:1(unfulfilled)")])[0] == 6)
    // Never satisfied, or waiting on a parent that is itself queued: not planned at all.
    #expect(forecast([parent, dependent(2, "afterok:1(failed)")]).allSatisfy { $0 <= 2 })
    let queuedParent = job(3, .pending, nodes: 6, limitMinutes: 600, eligible: now + 7200)
    #expect(forecast([parent, queuedParent, dependent(2, "afterok:3(unfulfilled)")]).allSatisfy { $0 <= 2 })
    // A parent that already ended is gone from Slurm's list: the child may start now.
    #expect(forecast([dependent(2, "afterok:99(unfulfilled)")])[0] == 4)
    // Either of two parents (`?`): the earlier end.
    let other = job(4, .running, nodes: 1, limitMinutes: 60, start: now - 60,
                    annotation: "prewarm:v1 rt=660 rt50=660 rt90=700 model=ab")
    let either = forecast([parent, other, dependent(2, "afterok:1(unfulfilled)?afterok:4(unfulfilled)")])
    #expect(either[9] == 3 && either[10] == 6)
}
