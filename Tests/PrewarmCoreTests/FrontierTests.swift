// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import PrewarmCore
import Testing

private let reactive = [
    FrontierPoint(label: "s60", idleNodeHours: 100, bootWait: 200),
    FrontierPoint(label: "s600", idleNodeHours: 300, bootWait: 100),
    FrontierPoint(label: "s3600", idleNodeHours: 700, bootWait: 20),
]
private let oracle = FrontierPoint(label: "oracle", idleNodeHours: 50, bootWait: 0)

@Test func frontierInterpolatesOnReactivesCurve() {
    // At 200 idle node-hours reactive waits 150 s; prewarm waits 30 s: an 80 % cut.
    // At 30 s reactive needs 650 idle node-hours; prewarm spends 200: 69 % saved.
    let p = [FrontierPoint(label: "a0.5", idleNodeHours: 200, bootWait: 30)]
    let f = Frontier.compare(reactive: reactive, prewarm: p, oracle: oracle, reference: reactive[1])
    #expect(abs(f.waitCutAtEqualIdle - 0.8) < 1e-9)
    #expect(abs(f.idleSavingAtEqualWait - (1 - 200.0 / 650.0)) < 1e-9)
    // Against reactive SuspendTime 600 (100 s) and the oracle (0 s): 70 % of the gap closed.
    #expect(abs(f.oracleGapClosed - 0.7) < 1e-9)
    #expect(f.waitCutSetting == "a0.5")
}

@Test func frontierIsConservativeOutsideTheMeasuredRangeAndPicksTheBestSetting() {
    let p = [
        FrontierPoint(label: "lean", idleNodeHours: 40, bootWait: 150),  // less idle than any reactive point
        FrontierPoint(label: "worse", idleNodeHours: 300, bootWait: 120),  // worse than reactive at equal idle
    ]
    let f = Frontier.compare(reactive: reactive, prewarm: p, oracle: oracle, reference: reactive[1])
    // lean: compared with reactive's leanest point (200 s), not an extrapolation: 25 % cut.
    #expect(abs(f.waitCutAtEqualIdle - 0.25) < 1e-9)
    #expect(f.waitCutSetting == "lean")
    // worse: reactive needs 260 idle at 120 s wait (no saving); lean: at 150 s reactive needs 200 → 80 %.
    #expect(abs(f.idleSavingAtEqualWait - 0.8) < 1e-9)
    // Gap closed by settings within the reference idle budget: worse (120 s) is negative, lean is −0.5.
    #expect(f.oracleGapClosed < 0)
}

@Test func frontierIgnoresPointsBeyondTheUnsafeEndOfReactivesCurve() {
    // More idle than reactive's largest SuspendTime: comparing it with that end would flatter prewarm.
    let p = [FrontierPoint(label: "lavish", idleNodeHours: 5000, bootWait: 1)]
    let f = Frontier.compare(reactive: reactive, prewarm: p, oracle: oracle, reference: reactive[1])
    #expect(f.waitCutAtEqualIdle == 0 && f.waitCutSetting == "")
    // Its wait (1 s) is below reactive's least wait: conservative, so the idle comparison is kept (negative).
    #expect(f.idleSavingAtEqualWait < 0)
    // More wait than reactive's leanest point: no idle comparison.
    let g = Frontier.compare(
        reactive: reactive, prewarm: [FrontierPoint(label: "slow", idleNodeHours: 10, bootWait: 500)],
        oracle: oracle, reference: reactive[1])
    #expect(g.idleSavingAtEqualWait == 0 && g.idleSavingSetting == "")
}
