// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import PrewarmCore
import SlurmKit
import Testing

/// A job of `nodes` nodes and 2 CPUs per node (the tests' nodes have 2 CPUs).
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
            flags: i >= 6 ? [.cloud, .poweredDown] : (i == 5 ? [.cloud, .poweringUp] : []), cpus: 2, partitions: ["batch"])
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

/// A user who lowers a queued job's limit gets no new annotation (Slurm lets only admins change AdminComment, so
/// the plugin leaves such an update alone): the forecast caps the annotated runtimes at the limit as it is now.
@Test func annotatedRuntimesBeyondALoweredLimitEndAtTheLimit() {
    let now: Int64 = 1_000_000
    let nodes = (1 ... 4).map { i in SlurmNode(name: "n\(i)", base: .idle, flags: [], cpus: 2, partitions: ["batch"]) }
    // Annotated at submission with a 2-hour limit (rt 40 min, rt90 90 min), lowered to 10 minutes since.
    let lowered = job(1, .pending, nodes: 2, limitMinutes: 10,
        annotation: "prewarm:v1 rt=2400 rt50=2000 rt90=5400 cand=last2 cpuh=1 model=abcd1234")
    let p = LiveForecast.forecast(
        nodes: nodes, partitions: [SlurmPartition(name: "batch", nodes: "n[1-4]")], jobs: [lowered], now: now)[0]
    #expect(p.annotatedJobs == 1)
    #expect(p.forecast.expected[0] == 2 && p.forecast.upper[0] == 2)
    #expect(p.forecast.expected[9] == 2)
    #expect(p.forecast.expected[11] == 0 && p.forecast.upper[11] == 0)  // over at the 10-minute limit, not at 40 or 90
    // The same annotation under its original limit keeps the job to its rt and rt90.
    let kept = job(1, .pending, nodes: 2, limitMinutes: 120,
        annotation: "prewarm:v1 rt=2400 rt50=2000 rt90=5400 cand=last2 cpuh=1 model=abcd1234")
    let q = LiveForecast.forecast(
        nodes: nodes, partitions: [SlurmPartition(name: "batch", nodes: "n[1-4]")], jobs: [kept], now: now)[0]
    #expect(q.forecast.expected[30] == 2 && q.forecast.expected[41] == 0 && q.forecast.upper[59] == 2)
}

@Test func dependentJobsArePlannedFromTheirParentsPredictedEnds() {
    let now: Int64 = 2_000_000
    let nodes = (1 ... 6).map { i in
        SlurmNode(name: "n\(i)", base: i <= 2 ? .allocated : .idle, flags: i > 2 ? [.cloud, .poweredDown] : [], cpus: 2,
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

@Test func jobsHeldBackByALimitStartWhenTheirGroupFreesASlot() throws {
    let now: Int64 = 3_000_000
    let nodes = (1 ... 8).map { i in
        SlurmNode(name: "n\(i)", base: i <= 3 ? .allocated : .idle, flags: [], cpus: 2, partitions: ["batch"])
    }
    let arrayLimit = try #require(SlurmJob.limitReasons.array.first)
    let userLimit = try #require(SlurmJob.limitReasons.user.first)
    func task(_ id: UInt32, _ state: JobState, rt: Int64, start: Int64 = 0, reason: UInt32 = 0, user: UInt32 = 1000)
        -> SlurmJob
    {
        var j = job(id, state, nodes: 1, limitMinutes: 120, start: start,
                    annotation: "prewarm:v1 rt=\(rt) rt50=\(rt) rt90=\(rt) model=ab")
        j.arrayJobID = id < 100 ? 7 : 0
        j.reasonCode = reason
        j.userID = user
        return j
    }
    // An array with a %2 throttle: two tasks run (ending in 10 and 20 minutes), four wait (15 minutes each).
    var jobs = [task(1, .running, rt: 600, start: now), task(2, .running, rt: 1200, start: now)]
    for id: UInt32 in 3 ... 6 { jobs.append(task(id, .pending, rt: 900, reason: arrayLimit)) }
    func expected(_ jobs: [SlurmJob]) -> [Float] {
        LiveForecast.forecast(
            nodes: nodes, partitions: [SlurmPartition(name: "batch", nodes: "n[1-8]")], jobs: jobs, now: now)[0]
            .forecast.expected
    }
    let e = expected(jobs)
    // Never more than the throttle's two tasks at once, though six nodes are free (slots free at 10 and 20 min).
    #expect(e[0] == 2 && e[9] == 2 && e[10] == 2 && e[30] == 2 && e[40] == 1 && e[49] == 1)
    #expect(e.allSatisfy { $0 <= 2 })
    #expect(e[50] == 0)  // the last waiting task: from minute 35 (20 + 15) to minute 50
    // Without the reason (no throttle) all four would start now.
    var free = jobs
    for i in 2 ..< 6 { free[i].reasonCode = 0 }
    #expect(expected(free)[0] == 6)
    // A per-user limit: user 2000's job waits for the user's running job (30 minutes) to end.
    let limited = [task(101, .running, rt: 1800, start: now, user: 2000),
                   task(102, .pending, rt: 600, reason: userLimit, user: 2000)]
    let u = expected(limited)
    #expect(u[0] == 1 && u[29] == 1 && u[30] == 1 && u[39] == 1 && u[40] == 0)
    // Waiting on a limit with nothing of the user's running: not planned at all.
    #expect(expected([task(103, .pending, rt: 600, reason: userLimit, user: 3000)]).allSatisfy { $0 == 0 })
}

@Test func aJobInAFutureReservationIsPlannedFromItsStart() {
    let now: Int64 = 4_000_000
    let nodes = (1 ... 4).map { i in SlurmNode(name: "n\(i)", base: .idle, flags: [], cpus: 2, partitions: ["batch"]) }
    var j = job(1, .pending, nodes: 2, limitMinutes: 10)
    j.reservation = "maint"
    let reservations = [SlurmReservation(name: "maint", start: now + 1800, end: now + 3600, nodes: "n[1-2]")]
    // The job can run on the reservation's nodes only: its demand is theirs (`restricted`), not the partition's.
    func expected(_ r: [SlurmReservation]) -> [Float] {
        let f = LiveForecast.forecast(
            nodes: nodes, partitions: [SlurmPartition(name: "batch", nodes: "n[1-4]")], jobs: [j], now: now,
            reservations: r)[0]
        guard let on = f.restricted.first else { return f.forecast.expected }
        #expect(f.forecast.expected.allSatisfy { $0 == 0 })
        #expect(on.nodes == ["n1", "n2"])
        return on.forecast.expected
    }
    let e = expected(reservations)
    #expect(e[0] == 0 && e[29] == 0 && e[30] == 2 && e[39] == 2 && e[40] == 0)
    // A reservation already started: the job may start now.
    #expect(expected([SlurmReservation(name: "maint", start: now - 60, end: now + 3600, nodes: "n[1-2]")])[0] == 2)
    // A reservation unknown to the client, or on every node: any node of the partition, from now.
    let unknown = LiveForecast.forecast(
        nodes: nodes, partitions: [SlurmPartition(name: "batch", nodes: "n[1-4]")], jobs: [j], now: now)[0]
    #expect(unknown.restricted.isEmpty && unknown.forecast.expected[0] == 2)
    #expect(expected([SlurmReservation(name: "maint", start: now - 60, end: now + 3600, nodes: "ALL")])[0] == 2)
}
