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
    /// Every prewarm setting on its own, in the order given: the figures above are the best of these, but an
    /// admin runs one setting, so its cut and its saving are what that admin gets together.
    public var settings: [SettingComparison]
}

/// One prewarm setting against reactive's curve.
public struct SettingComparison: Sendable, Equatable {
    public var label: String

    public init(label: String, waitCutAtEqualIdle: Double? = nil, idleSavingAtEqualWait: Double? = nil,
                oracleGapClosed: Double? = nil) {
        self.label = label
        self.waitCutAtEqualIdle = waitCutAtEqualIdle
        self.idleSavingAtEqualWait = idleSavingAtEqualWait
        self.oracleGapClosed = oracleGapClosed
    }

    /// Boot-wait cut against reactive interpolated at the setting's idle node-hours; nil when the setting spends
    /// more idle than reactive's largest SuspendTime (no conservative comparison exists).
    public var waitCutAtEqualIdle: Double?
    /// Idle node-hours saved against reactive interpolated at the setting's boot wait; nil when the setting waits
    /// longer than reactive's shortest SuspendTime.
    public var idleSavingAtEqualWait: Double?
    /// Share of the gap between the reference reactive run and the oracle that the setting closes; nil when it
    /// spends more idle node-hours than the reference.
    public var oracleGapClosed: Double?
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

    /// Each prewarm setting against reactive at several SuspendTimes.
    /// - Parameters:
    ///   - reference: the reactive run admins have today (SuspendTime 600 s by default).
    public static func eachSetting(
        reactive: [FrontierPoint], prewarm: [FrontierPoint], oracle: FrontierPoint, reference: FrontierPoint
    ) -> [SettingComparison] {
        let maxIdle = reactive.map(\.idleNodeHours).max() ?? 0
        let maxWait = reactive.map(\.bootWait).max() ?? 0
        let room = reference.bootWait - oracle.bootWait
        func finite(_ x: Double) -> Double? { x.isFinite ? x : nil }
        return prewarm.map { p in
            var s = SettingComparison(label: p.label)
            // Only where the comparison is an interpolation or a conservative extrapolation.
            if p.idleNodeHours <= maxIdle {
                let rw = reactiveWait(atIdle: p.idleNodeHours, reactive)
                s.waitCutAtEqualIdle = finite(rw > 0 ? 1 - p.bootWait / rw : 0)
            }
            if p.bootWait <= maxWait {
                let ri = reactiveIdle(atWait: p.bootWait, reactive)
                s.idleSavingAtEqualWait = finite(ri > 0 ? 1 - p.idleNodeHours / ri : 0)
            }
            if p.idleNodeHours <= reference.idleNodeHours * 1.0001 {
                s.oracleGapClosed = finite(room > 0 ? (reference.bootWait - p.bootWait) / room : 0)
            }
            return s
        }
    }

    /// Compares prewarm settings with reactive at several SuspendTimes: the best setting for each figure.
    /// - Parameters:
    ///   - reference: the reactive run admins have today (SuspendTime 600 s by default).
    public static func compare(
        reactive: [FrontierPoint], prewarm: [FrontierPoint], oracle: FrontierPoint, reference: FrontierPoint
    ) -> FrontierComparison {
        let settings = eachSetting(reactive: reactive, prewarm: prewarm, oracle: oracle, reference: reference)
        func best(_ value: (SettingComparison) -> Double?) -> (value: Double, label: String) {
            var b = (value: 0.0, label: "")
            for s in settings {
                if let v = value(s), b.label.isEmpty || v > b.value { b = (v, s.label) }
            }
            return b
        }
        let cut = best(\.waitCutAtEqualIdle), saving = best(\.idleSavingAtEqualWait), gap = best(\.oracleGapClosed)
        return FrontierComparison(
            waitCutAtEqualIdle: cut.value, waitCutSetting: cut.label,
            idleSavingAtEqualWait: saving.value, idleSavingSetting: saving.label,
            oracleGapClosed: gap.value, oracleGapSetting: gap.label, settings: settings)
    }
}
