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

@Test func frontierGivesEverySettingsOwnFiguresAndTheBestOfThem() {
    // The best cut and the best saving come from different settings here; each setting's own row says what an
    // admin running that one setting gets. Hand-checked on the curve above.
    let p = [
        FrontierPoint(label: "eager", idleNodeHours: 500, bootWait: 10),  // reactive: 60 s at 500 h, 700 h at 20 s
        FrontierPoint(label: "lean", idleNodeHours: 100, bootWait: 120),  // reactive: 200 s at 100 h, 260 h at 120 s
        FrontierPoint(label: "lavish", idleNodeHours: 900, bootWait: 5),  // beyond reactive's idle: no cut
        FrontierPoint(label: "slow", idleNodeHours: 10, bootWait: 500),  // beyond reactive's wait: no saving
    ]
    let f = Frontier.compare(reactive: reactive, prewarm: p, oracle: oracle, reference: reactive[1])
    #expect(f.settings.map(\.label) == ["eager", "lean", "lavish", "slow"])
    func near(_ a: Double?, _ b: Double) -> Bool { a.map { abs($0 - b) < 1e-9 } ?? false }
    let eager = f.settings[0], lean = f.settings[1], lavish = f.settings[2], slow = f.settings[3]
    #expect(near(eager.waitCutAtEqualIdle, 1 - 10.0 / 60) && near(eager.idleSavingAtEqualWait, 1 - 500.0 / 700))
    #expect(near(lean.waitCutAtEqualIdle, 1 - 120.0 / 200) && near(lean.idleSavingAtEqualWait, 1 - 100.0 / 260))
    #expect(lavish.waitCutAtEqualIdle == nil && near(lavish.idleSavingAtEqualWait, 1 - 900.0 / 700))
    #expect(slow.idleSavingAtEqualWait == nil && near(slow.waitCutAtEqualIdle, 1 - 500.0 / 200))
    // Within reactive-600's 300 h: lean (120 s against 100 s: −20 %) and slow (−400 %); eager and lavish are above it.
    #expect(eager.oracleGapClosed == nil && lavish.oracleGapClosed == nil)
    #expect(near(lean.oracleGapClosed, -0.2) && near(slow.oracleGapClosed, -4))
    // The summary is the best of the rows, figure by figure.
    #expect(f.waitCutSetting == "eager" && near(f.waitCutAtEqualIdle, 1 - 10.0 / 60))
    #expect(f.idleSavingSetting == "lean" && near(f.idleSavingAtEqualWait, 1 - 100.0 / 260))
    #expect(f.oracleGapSetting == "lean" && near(f.oracleGapClosed, -0.2))
}
