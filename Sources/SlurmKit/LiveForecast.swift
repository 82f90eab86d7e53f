// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
//
// The demand forecast of PrewarmCore (the function the simulator runs) fed from a live Slurm: running and
// queued jobs with the runtimes the job_submit plugin annotated (else their time limits), per partition.

import PrewarmCore

/// One partition's forecast and what is powered now.
public struct PartitionForecast: Sendable {
    public var partition: String
    public var nodes: Int
    /// Nodes up now (idle, allocated or mixed, not powering down) and powering up.
    public var powered: Int
    public var poweringUp: Int
    public var runningJobs: Int
    public var pendingJobs: Int
    /// Jobs whose runtime came from a Prewarm annotation (the rest use their time limit).
    public var annotatedJobs: Int
    public var forecast: DemandForecast
}

public enum LiveForecast {
    /// Forecasts every partition for the next `minutes` minutes from `now`.
    ///
    /// A job's runtime is the annotation's `rt` (late: `rt90`), else its time limit (else an hour). Running jobs
    /// use the conditional remaining-time estimate of ``RunningDemand``; queued jobs start no earlier than
    /// their eligible time. A job in several partitions (pending `-p a,b`) counts in the first. Arrivals are
    /// those `arrivals` has learned (an empty model adds none).
    public static func forecast(
        nodes: [SlurmNode], partitions: [SlurmPartition], jobs: [SlurmJob], now: Int64, minutes: Int = 60,
        arrivals: ArrivalModel = ArrivalModel(), hourOfWeekAt: (Int) -> Int = { _ in 0 }
    ) -> [PartitionForecast] {
        var out: [PartitionForecast] = []
        for p in partitions {
            let members = nodes.filter { $0.partitions.contains(p.name) }
            let poweringUp = members.filter { $0.flags.contains(.poweringUp) }.count
            let powered = members.filter {
                !$0.flags.contains(.poweredDown) && !$0.flags.contains(.poweringDown)
                    && !$0.flags.contains(.poweringUp) && $0.base != .down
            }.count
            var running: [RunningDemand] = []
            var pending: [PendingDemand] = []
            var annotated = 0
            for j in jobs where (j.partition.split(separator: ",").first.map(String.init) ?? "") == p.name {
                let limit: Int64? = j.timeLimitMinutes > 0 ? j.timeLimitMinutes * 60 : nil
                var rt = limit ?? 3600
                var late = rt
                if let a = SubmitProfiler.parse(j.adminComment) {
                    rt = a.rt
                    late = Swift.max(a.rt90, a.rt)
                    annotated += 1
                }
                let nodesNeeded = Swift.max(1, j.nodeCount)
                switch j.state {
                case .running, .suspended:
                    let start = j.startTime > 0 ? j.startTime : now
                    running.append(RunningDemand(
                        nodes: nodesNeeded, start: start, now: now, predictedRuntime: rt, lateRuntime: late,
                        limitEnd: limit.map { start &+ $0 }))
                case .pending:
                    if j.held { continue }  // starts only when released: no demand to plan for
                    let earliest = j.eligibleTime > now ? j.eligibleTime : nil
                    pending.append(PendingDemand(
                        nodes: nodesNeeded, predictedRuntime: rt, lateRuntime: late, earliestStart: earliest))
                default:
                    continue
                }
            }
            let f = DemandForecaster.forecast(
                now: now, minutes: minutes, running: running, pending: pending, arrivals: arrivals,
                hourOfWeekAt: hourOfWeekAt, totalNodes: members.count)
            out.append(PartitionForecast(
                partition: p.name, nodes: members.count, powered: powered, poweringUp: poweringUp,
                runningJobs: running.count, pendingJobs: pending.count, annotatedJobs: annotated, forecast: f))
        }
        return out
    }
}
