// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0

/// One operating point of a power policy: the idle energy it spends and the boot waits it leaves.
public struct FrontierPoint: Sendable, Equatable {
    public var label: String
    /// Powered-idle node-hours.
    public var idleNodeHours: Double
    /// Mean boot-induced wait per job, seconds.
    public var bootWait: Double

    public init(label: String, idleNodeHours: Double, bootWait: Double) {
        self.label = label
        self.idleNodeHours = idleNodeHours
        self.bootWait = bootWait
    }
}

/// Prewarm against Slurm's own knob (SuspendTime), on the same trace.
public struct FrontierComparison: Sendable, Equatable {
    /// Best boot-wait cut over the prewarm settings, against reactive interpolated at the same idle node-hours
    /// (0 and an empty setting when no prewarm setting spends less idle than reactive's largest SuspendTime).
    public var waitCutAtEqualIdle: Double
    public var waitCutSetting: String
    /// Best idle node-hours saving over the prewarm settings, against reactive interpolated at the same boot wait.
    public var idleSavingAtEqualWait: Double
    public var idleSavingSetting: String
    /// Share of the boot wait between reactive at the reference SuspendTime and the oracle that the best prewarm
    /// setting spending no more idle node-hours than that reactive run removes.
    public var oracleGapClosed: Double
    public var oracleGapSetting: String
}

public enum Frontier {
    /// Piecewise-linear interpolation of `y` at `x` over `points` (any order); outside the range the nearest end.
    static func interpolate(_ x: Double, _ points: [(x: Double, y: Double)]) -> Double {
        let c = points.sorted { $0.x < $1.x }
        guard let first = c.first, let last = c.last else { return 0 }
        if x <= first.x { return first.y }
        if x >= last.x { return last.y }
        for (a, b) in zip(c, c.dropFirst()) where x <= b.x {
            let span = b.x - a.x
            return a.y + (span > 0 ? (x - a.x) / span : 0) * (b.y - a.y)
        }
        return last.y
    }

    /// Reactive boot wait at `idle` node-hours. Below the measured range the leanest point is used, which is
    /// conservative (reactive with less idle would wait longer); callers must not ask above the range
    /// (reactive with more idle would wait less than its last point).
    static func reactiveWait(atIdle idle: Double, _ curve: [FrontierPoint]) -> Double {
        interpolate(idle, curve.map { ($0.idleNodeHours, $0.bootWait) })
    }

    /// Reactive idle node-hours needed for a boot wait of `wait`. Below the measured waits the point with the
    /// least wait is used (conservative: less wait would need more idle); callers must not ask above the range.
    static func reactiveIdle(atWait wait: Double, _ curve: [FrontierPoint]) -> Double {
        interpolate(wait, curve.map { ($0.bootWait, $0.idleNodeHours) })
    }

    /// Compares prewarm settings with reactive at several SuspendTimes.
    /// - Parameters:
    ///   - reference: the reactive run admins have today (SuspendTime 600 s by default).
    public static func compare(
        reactive: [FrontierPoint], prewarm: [FrontierPoint], oracle: FrontierPoint, reference: FrontierPoint
    ) -> FrontierComparison {
        var cut = (value: -Double.infinity, label: "")
        var saving = (value: -Double.infinity, label: "")
        var gap = (value: -Double.infinity, label: "")
        let maxIdle = reactive.map(\.idleNodeHours).max() ?? 0
        let maxWait = reactive.map(\.bootWait).max() ?? 0
        for p in prewarm {
            // Only where the comparison is an interpolation or a conservative extrapolation.
            if p.idleNodeHours <= maxIdle {
                let rw = reactiveWait(atIdle: p.idleNodeHours, reactive)
                let c = rw > 0 ? 1 - p.bootWait / rw : 0
                if c > cut.value { cut = (c, p.label) }
            }
            if p.bootWait <= maxWait {
                let ri = reactiveIdle(atWait: p.bootWait, reactive)
                let s = ri > 0 ? 1 - p.idleNodeHours / ri : 0
                if s > saving.value { saving = (s, p.label) }
            }
            let room = reference.bootWait - oracle.bootWait
            if p.idleNodeHours <= reference.idleNodeHours * 1.0001 {
                let g = room > 0 ? (reference.bootWait - p.bootWait) / room : 0
                if g > gap.value { gap = (g, p.label) }
            }
        }
        func finite(_ x: Double) -> Double { x.isFinite ? x : 0 }
        return FrontierComparison(
            waitCutAtEqualIdle: finite(cut.value), waitCutSetting: cut.label,
            idleSavingAtEqualWait: finite(saving.value), idleSavingSetting: saving.label,
            oracleGapClosed: finite(gap.value), oracleGapSetting: gap.label)
    }
}
