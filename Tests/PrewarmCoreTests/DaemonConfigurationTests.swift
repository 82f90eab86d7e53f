// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import PrewarmCore
import Testing

@Test func daemonConfigurationParsesEveryKeyAndNamesProblems() throws {
    let c = try DaemonConfiguration.parse(
        """
        # prewarmd
        Mode=enforce
        Interval=30
        BootLeadTime=240
        Threshold=1
        Aggressiveness=0.25
        MinIdleBeforePowerDown=300
        PowerDownMargin=900
        MaxPowerUpsPerCycle=8
        MaxPowerDownsPerCycle=4
        MaxActionsPerHour=100
        ExcludeNodes=login[1-2],gpu07
        ExcludePartitions=debug, interactive
        ModelFile=/var/lib/prewarm/m.model
        HistoryDatabase=/var/lib/prewarm/h.sqlite
        NotifySocket=
        RetrainInterval=3600
        StateDirectory=/srv/prewarm/state
        MetricsTextfile=/var/lib/node_exporter/prewarm.prom
        MetricsListen=[::1]:9520
        """, file: "prewarmd.conf")
    #expect(c.mode == .enforce)
    #expect(c.interval == 30)
    #expect(c.policy.bootLeadTime == 240)
    #expect(c.policy.threshold == 1)
    #expect(c.policy.aggressiveness == 0.25)
    #expect(c.policy.minIdleBeforePowerDown == 300)
    #expect(c.policy.powerDownMargin == 900)
    #expect(c.policy.maxPowerUpsPerStep == 8)
    #expect(c.policy.maxPowerDownsPerStep == 4)
    #expect(c.maxActionsPerHour == 100)
    #expect(c.excludeNodes == ["login1", "login2", "gpu07"])
    #expect(c.excludePartitions == ["debug", "interactive"])
    #expect(c.notifySocket == "")
    #expect(c.retrainInterval == 3600)
    #expect(c.stateDirectory == "/srv/prewarm/state")
    #expect(c.metricsTextfile == "/var/lib/node_exporter/prewarm.prom")
    #expect(c.metricsListen == ListenAddress("[::1]:9520"))
    #expect(c.metricsListen?.isLoopback == true && c.metricsListen?.isIPv6 == true && c.metricsListen?.port == 9520)
    // Safe default: decide and log, change nothing; state in /var/lib/prewarm; no metrics.
    let d = try DaemonConfiguration.parse("", file: "x")
    #expect(d.mode == .forecastOnly)
    #expect(d.stateDirectory == "/var/lib/prewarm")
    #expect(d.metricsTextfile.isEmpty && d.metricsListen == nil)

    func failure(_ text: String) -> ConfigurationError? {
        do {
            _ = try DaemonConfiguration.parse(text, file: "/etc/slurm/prewarmd.conf")
            return nil
        } catch {
            return error
        }
    }
    #expect(failure("Mode=agressive")?.key == "Mode")
    #expect(failure("Interval=1")?.description == "/etc/slurm/prewarmd.conf:1: Interval: must be a whole number of seconds from 5 to 3600, found '1'")
    #expect(failure("Aggressiveness=2")?.key == "Aggressiveness")
    #expect(failure("\nExcludeNodes=n[5-3]")?.line == 2)
    #expect(failure("ExcludeNodes=n[5-3]")?.message.contains("reversed range") == true)
    #expect(failure("ModelFile=model")?.key == "ModelFile")
    #expect(failure("Mode=off\nmode=enforce")?.message == "given more than once")
    #expect(failure("StateDirectory=")?.key == "StateDirectory")
    #expect(failure("StateDirectory=/var/lib/prewarm/")?.key == "StateDirectory")
}

@Test func metricsListenIsLoopbackUnlessAllowed() throws {
    func parse(_ text: String) throws(ConfigurationError) -> DaemonConfiguration {
        try DaemonConfiguration.parse(text, file: "/etc/slurm/prewarmd.conf")
    }
    #expect(try parse("MetricsListen=127.0.0.1:9520").metricsListen?.description == "127.0.0.1:9520")
    #expect(try parse("MetricsListen=127.1.2.3:1").metricsListen?.isLoopback == true)
    #expect(try parse("MetricsListen=").metricsListen == nil)
    // A non-loopback address is refused, naming the line and key, unless MetricsAllowRemote=yes.
    do {
        _ = try parse("Mode=enforce\nMetricsListen=10.0.0.5:9520")
        Issue.record("a non-loopback address was accepted")
    } catch {
        #expect(error.line == 2 && error.key == "MetricsListen")
        #expect(error.message.contains("not a loopback address"))
    }
    #expect(try parse("MetricsListen=0.0.0.0:9520\nMetricsAllowRemote=yes").metricsListen?.host == "0.0.0.0")
    #expect(try parse("MetricsListen=[2001:db8::1]:9520\nMetricsAllowRemote=yes").metricsListen?.isLoopback == false)
    for bad in ["localhost:9520", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536", "256.0.0.1:80", "127.0.0.1:+80",
                "[::1]", "::1:9520", "1.2.3:80"] {
        #expect(throws: ConfigurationError.self, "\(bad)") { try parse("MetricsListen=\(bad)") }
    }
    #expect(ListenAddress("[0:0:0:0:0:0:0:1]:80")?.isLoopback == true)
    #expect(throws: ConfigurationError.self) { try parse("MetricsAllowRemote=maybe") }
}

@Test func daemonConfigurationHistoryAndRetrainingKeys() throws {
    let defaults = try DaemonConfiguration.parse("", file: "x")
    #expect(defaults.historyDatabase == "/var/lib/prewarm/history.db")
    #expect(defaults.retrainInterval == 86_400)
    #expect(defaults.retrainHoldout == 1000)
    #expect(defaults.retrainMaxJobs == 100_000)
    #expect(defaults.historyRefreshInterval == 600)
    #expect(try DaemonConfiguration.parse("HistoryRefreshInterval=0", file: "x").historyRefreshInterval == 0)
    #expect(try DaemonConfiguration.parse("HistoryRefreshInterval=60", file: "x").historyRefreshInterval == 60)
    let c = try DaemonConfiguration.parse(
        "HistoryDatabase=\nRetrainInterval=0\nRetrainHoldout=500\nRetrainMaxJobs=20000", file: "x")
    #expect(c.historyDatabase == "")  // disabled
    #expect(c.retrainInterval == 0)  // disabled
    #expect(c.retrainHoldout == 500)
    #expect(c.retrainMaxJobs == 20_000)
    #expect(defaults.scaleRefinement)
    #expect(try DaemonConfiguration.parse("ScaleRefinement=no", file: "x").scaleRefinement == false)
    #expect(defaults.modelTrees == 100)
    #expect(try DaemonConfiguration.parse("ModelTrees=25", file: "x").modelTrees == 25)
    func failure(_ text: String) -> ConfigurationError? {
        do {
            _ = try DaemonConfiguration.parse(text, file: "/etc/slurm/prewarmd.conf")
            return nil
        } catch {
            return error
        }
    }
    #expect(failure("RetrainInterval=60")?.description
        == "/etc/slurm/prewarmd.conf:1: RetrainInterval: must be 0 (never) or from 300 to 2592000 seconds, found '60'")
    #expect(failure("RetrainHoldout=5")?.key == "RetrainHoldout")
    #expect(failure("ScaleRefinement=sometimes")?.key == "ScaleRefinement")
    #expect(failure("ModelTrees=0")?.key == "ModelTrees")
    #expect(failure("ModelTrees=many")?.key == "ModelTrees")
    #expect(failure("ModelTrees=2001")?.key == "ModelTrees")
    #expect(failure("\nHistoryRefreshInterval=30")?.description
        == "/etc/slurm/prewarmd.conf:2: HistoryRefreshInterval: must be 0 (never) or from 60 to 86400 seconds, found '30'")
    #expect(failure("HistoryRefreshInterval=soon")?.key == "HistoryRefreshInterval")
    #expect(defaults.historyRetentionDays == 0)  // every job kept
    #expect(try DaemonConfiguration.parse("HistoryRetention=400", file: "x").historyRetentionDays == 400)
    #expect(try DaemonConfiguration.parse("HistoryRetention=7", file: "x").historyRetentionDays == 7)
    #expect(failure("HistoryRetention=3")?.description
        == "/etc/slurm/prewarmd.conf:1: HistoryRetention: must be 0 (keep every job) or from 7 to 36500 days, found '3'")
    #expect(failure("HistoryRetention=36501")?.key == "HistoryRetention")
    #expect(failure("HistoryRetention=1y")?.key == "HistoryRetention")
    #expect(failure("HistoryDatabase=history.db")?.key == "HistoryDatabase")
    #expect(defaults.learnedArrivals)
    #expect(!defaults.bootLeadLearned)
    let auto = try DaemonConfiguration.parse("BootLeadTime=auto", file: "x")
    #expect(auto.bootLeadLearned && auto.policy.bootLeadTime == defaults.policy.bootLeadTime)
    #expect(failure("BootLeadTime=soon")?.key == "BootLeadTime")
    #expect(try DaemonConfiguration.parse("LearnedArrivals=no", file: "x").learnedArrivals == false)
    #expect(failure("LearnedArrivals=maybe")?.description
        == "/etc/slurm/prewarmd.conf:1: LearnedArrivals: must be yes or no, found 'maybe'")
    #expect(defaults.followController)
    #expect(try DaemonConfiguration.parse("FollowController=no", file: "x").followController == false)
    #expect(failure("FollowController=sometimes")?.description
        == "/etc/slurm/prewarmd.conf:1: FollowController: must be yes or no, found 'sometimes'")
    #expect(defaults.priceScale == 1)
    #expect(try DaemonConfiguration.parse("PriceScale=2.5", file: "x").priceScale == 2.5)
    #expect(failure("PriceScale=0")?.description
        == "/etc/slurm/prewarmd.conf:1: PriceScale: must be a number from 0.01 to 100, found '0'")
    #expect(failure("PriceScale=lots")?.key == "PriceScale")
    // The defaults are the simulator's: aggressiveness 1, 60 s idle, arrival boot share 0 (README, the frontier).
    let policy = try DaemonConfiguration.parse("", file: "x").policy
    #expect(policy.arrivalBootShare == 0 && policy.aggressiveness == 1 && policy.minIdleBeforePowerDown == 60)
    #expect(try DaemonConfiguration.parse("ArrivalBootShare=1", file: "x").policy.arrivalBootShare == 1)
    #expect(try DaemonConfiguration.parse("ArrivalBootShare=0", file: "x").policy.arrivalBootShare == 0)
    #expect(try DaemonConfiguration.parse("ArrivalBootShare=0.5", file: "x").policy.arrivalBootShare == 0.5)
    #expect(failure("ArrivalBootShare=1.5")?.description
        == "/etc/slurm/prewarmd.conf:1: ArrivalBootShare: must be a number from 0 to 1, found '1.5'")
    #expect(failure("ArrivalBootShare=all")?.key == "ArrivalBootShare")
}

@Test func slurmsSuspendTimeIsWarnedAboutOnlyUnderTheBackstopWhenEnforcing() {
    var c = DaemonConfiguration()
    c.mode = .enforce
    let warning = c.slurmSuspendTimeWarning(600)
    #expect(warning?.hasPrefix("Slurm's SuspendTime=600 is under 3600 s: ") == true)
    #expect(warning?.contains("set SuspendTime=3600 or more") == true)
    #expect(c.slurmSuspendTimeWarning(3599) != nil)
    #expect(c.slurmSuspendTimeWarning(3600) == nil)
    #expect(c.slurmSuspendTimeWarning(nil) == nil)  // Slurm suspends nothing by itself
    for mode in [DaemonMode.forecastOnly, .off] {
        c.mode = mode
        #expect(c.slurmSuspendTimeWarning(600) == nil)  // the daemon keeps nothing up
    }
}
