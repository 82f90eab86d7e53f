// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import CXattr
import Foundation
import PrewarmCore
import PrewarmOps
import SlurmKit
import Traces

/// `prewarm check`: the installation as slurmctld, prewarmd and the power programs will find it, before a restart.
///
/// The job_submit plugin never fails slurmctld or a submission: a bad `prewarm.conf` or a model slurmctld cannot read
/// only shows as one line in slurmctld's log and jobs passing through unprofiled. This reads every file the way its
/// reader does (the same parsers), checks that `SlurmUser` may read or write what it must (by mode bits or POSIX
/// ACLs, every directory on the way included; the default ACL a new model or socket inherits), compares the files with each other and with the running controller's
/// configuration, and prints one line per finding.
struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check Prewarm's configuration files, model and Slurm settings before a restart.",
        discussion: """
            Reads prewarm.conf, prewarmd.conf and prewarm-power.conf with the parsers the plugin, prewarmd and \
            the power programs use, loads the model the plugin would load, checks that SlurmUser can read and \
            write what it must, compares the files with each other (NotifySocket, ModelFile) and with the running \
            slurmctld's configuration (JobSubmitPlugins, PluginDir, ResumeProgram, SuspendProgram, PrivateData, \
            SuspendTime, ResumeTimeout). \
            Prints one line per finding: ok, note, warning or error. Exit status 1 when there is an error, 0 \
            otherwise. Run it as root on the controller host.
            """)

    @Option(help: "The plugin's prewarm.conf (default: the running slurmctld's $PREWARM_CONF when its environment can be read, else this shell's, else /etc/slurm/prewarm.conf).")
    var conf: String?

    @Option(name: .customLong("daemon-conf"), help: "prewarmd.conf (default: $PREWARMD_CONF, else /etc/slurm/prewarmd.conf).")
    var daemonConf: String?

    @Option(
        name: .customLong("power-conf"),
        help: "prewarm-power.conf (default: $PREWARM_POWER_CONF, else /etc/slurm/prewarm-power.conf).")
    var powerConf: String?

    @Option(help: "The in-controller library the plugin loads (default: the running slurmctld's $PREWARM_SUBMIT_LIBRARY when its environment can be read, else this shell's, else /usr/lib/prewarm/libprewarm_submit.so).")
    var library: String?

    @Option(
        name: .customLong("slurm-user"),
        help: "The user slurmctld runs as (default: SlurmUser of the running slurmctld, else slurm).")
    var slurmUser: String?

    @Flag(name: .customLong("no-slurm"), help: "Do not ask slurmctld for its configuration.")
    var noSlurm = false

    mutating func run() throws {
        let env = ProcessInfo.processInfo.environment
        func setting(_ key: String) -> String? { env[key].flatMap { $0.isEmpty ? nil : $0 } }
        let slurm: InstallationCheck.SlurmSide = noSlurm ? .skipped("--no-slurm") : Self.loadSlurm(env)
        // The plugin reads PREWARM_CONF and PREWARM_SUBMIT_LIBRARY from slurmctld's environment: when it can be
        // read (as root, or as SlurmUser), its values (or the defaults, when it has none) are the paths to check.
        var controller: (pid: Int32, environment: [String: String])?
        if case .loaded(let s) = slurm { controller = Self.controllerEnvironment(pidFile: s.pidFile) }
        func plugin(_ key: String) -> String? {
            guard let controller else { return setting(key) }
            return controller.environment[key].flatMap { $0.isEmpty ? nil : $0 }
        }
        var checker = InstallationCheck(
            submitPath: conf ?? plugin("PREWARM_CONF") ?? "/etc/slurm/prewarm.conf",
            daemonPath: daemonConf ?? setting("PREWARMD_CONF") ?? "/etc/slurm/prewarmd.conf",
            powerPath: powerConf ?? setting("PREWARM_POWER_CONF") ?? PowerConfiguration.defaultPath,
            libraryPath: library ?? plugin("PREWARM_SUBMIT_LIBRARY") ?? "/usr/lib/prewarm/libprewarm_submit.so")
        checker.slurm = slurm
        if let controller {
            func shown(_ key: String) -> String { "\(key)=\(plugin(key) ?? "(unset)")" }
            checker.preamble.append(CheckFinding(level: .ok, text: "slurmctld (pid \(controller.pid)) environment: "
                + "\(shown("PREWARM_CONF")), \(shown("PREWARM_SUBMIT_LIBRARY")); the plugin's paths below follow it"))
        } else if case .loaded = slurm {
            checker.preamble.append(CheckFinding(level: .note, text: "slurmctld's environment not readable (run as "
                + "root on the controller host): the plugin's paths below are this shell's PREWARM_CONF and "
                + "PREWARM_SUBMIT_LIBRARY, else the defaults"))
        }
        checker.slurmUserOption = slurmUser
        let findings = checker.run()
        for f in findings { print(f.line) }
        let errors = findings.filter { $0.level == .error }.count
        let warnings = findings.filter { $0.level == .warning }.count
        print("prewarm check: \(errors) error\(errors == 1 ? "" : "s"), \(warnings) warning\(warnings == 1 ? "" : "s")")
        if errors > 0 { throw ExitCode(1) }
    }

    /// The environment of the slurmctld whose PID is in `pidFile`, if this process may read it (root, or its user).
    static func controllerEnvironment(pidFile: String) -> (pid: Int32, environment: [String: String])? {
        guard !pidFile.isEmpty, let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
            let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0,
            let comm = try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8),
            comm.trimmingCharacters(in: .whitespacesAndNewlines) == "slurmctld",
            let data = FileManager.default.contents(atPath: "/proc/\(pid)/environ")
        else { return nil }
        var environment: [String: String] = [:]
        for entry in data.split(separator: 0) {
            let text = String(decoding: entry, as: UTF8.self)
            guard let eq = text.firstIndex(of: "=") else { continue }
            environment[String(text[..<eq])] = String(text[text.index(after: eq)...])
        }
        return (pid, environment)
    }

    /// The running controller's settings, or why they were not read. libslurm ends the process when it finds no
    /// slurm.conf, so it is not asked without one.
    static func loadSlurm(_ env: [String: String]) -> InstallationCheck.SlurmSide {
        switch LibSlurmClient.open(environment: env) {
        case .failure(.notBuilt): return .skipped("this prewarm was built without libslurm")
        case .failure(.noConfiguration(let problem)): return .skipped("\(problem); run on the controller host")
        case .success(let client):
            do {
                return .loaded(try client.loadControllerSettings())
            } catch {
                return .unreachable("\(error)")
            }
        }
    }
}

/// One line of `prewarm check`.
struct CheckFinding: Equatable {
    enum Level: String { case ok, note, warning, error }
    var level: Level
    var text: String
    var line: String { "\(level.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0))\(text)" }
}

/// The checks of `prewarm check`, in the order they print: the plugin's side, prewarmd's, the power programs',
/// then Slurm's own settings against them.
struct InstallationCheck {
    enum SlurmSide {
        case loaded(SlurmControllerSettings)
        case skipped(String)
        case unreachable(String)
    }

    let submitPath: String
    let daemonPath: String
    let powerPath: String
    let libraryPath: String
    var slurm = SlurmSide.skipped("not asked")
    var slurmUserOption: String?
    /// Findings of the caller's, printed after Slurm's line (where the paths came from).
    var preamble: [CheckFinding] = []
    /// Whose filesystem a path is on (tests give network filesystems this host does not have).
    var fileSystem: (String) -> FileSystemSharing = FileSystemSharing.at
    /// This host's name (`gethostname`), which tells whether a prewarmd here follows a controller.
    var hostName: String = LocalHost.name

    private var findings: [CheckFinding] = []
    private var user: UserAccess?
    /// prewarm-power.conf exists but could not be used (already reported).
    private var powerBroken = false

    init(submitPath: String, daemonPath: String, powerPath: String, libraryPath: String) {
        self.submitPath = submitPath
        self.daemonPath = daemonPath
        self.powerPath = powerPath
        self.libraryPath = libraryPath
    }

    private mutating func add(_ level: CheckFinding.Level, _ text: String) {
        findings.append(CheckFinding(level: level, text: text))
    }

    private var settings: SlurmControllerSettings? {
        if case .loaded(let s) = slurm { return s }
        return nil
    }

    mutating func run() -> [CheckFinding] {
        findings = []
        switch slurm {
        case .loaded(let s):
            add(.ok, "slurmctld answered: SlurmUser=\(s.slurmUser), JobSubmitPlugins=\(s.jobSubmitPlugins.joined(separator: ",")), "
                + "SuspendTime=\(s.suspendTime.map(String.init) ?? "NONE"), ResumeTimeout=\(s.resumeTimeout), "
                + "SlurmctldHost=\(s.controllers.isEmpty ? "?" : s.controllers.joined(separator: ","))")
        case .skipped(let why): add(.note, "Slurm's configuration not checked: \(why)")
        case .unreachable(let why): add(.warning, "cannot ask slurmctld for its configuration (\(why)): Slurm's side not checked")
        }
        findings += preamble
        resolveUser()
        let submit = checkSubmitSide()
        let daemon = checkDaemonSide(submit: submit)
        let power = checkPowerSide()
        if let s = settings {
            checkSlurmSide(s, daemon: daemon, power: power)
            checkControllers(s, submit: submit, daemon: daemon)
        }
        return findings
    }

    // MARK: SlurmUser

    private mutating func resolveUser() {
        let name = slurmUserOption ?? settings?.slurmUser ?? "slurm"
        if let u = UserAccess(name: name) {
            user = u
        } else {
            add(
                slurmUserOption == nil && settings == nil ? .note : .warning,
                "no user \(name) on this host: what SlurmUser can read and write is not checked (--slurm-user)")
        }
    }

    /// An error when SlurmUser lacks `need` on `path`, naming what denies it.
    private mutating func requireAccess(_ path: String, _ need: UserAccess.Need, _ consequence: String) {
        guard let user, let denial = user.denial(path, need) else { return }
        add(.error, "\(denial): \(consequence)")
    }

    // MARK: The plugin

    private mutating func checkSubmitSide() -> SubmitConfiguration? {
        let path = submitPath
        var configuration = SubmitConfiguration()
        switch parse(path, "the plugin would pass every job through unprofiled", SubmitConfiguration.parse) {
        case .missing:
            add(.ok, "\(path): not present; the plugin uses its defaults")
        case .broken:
            return nil
        case .valid(let c):
            configuration = c
            add(.ok, "\(path): valid")
            requireAccess(path, .read, "slurmctld would not read it and would pass every job through unprofiled")
        }
        guard configuration.enabled else {
            add(.warning, "\(path): Enabled=no: jobs pass through unprofiled")
            return configuration
        }
        checkModel(configuration.modelFile)
        if !configuration.statsFile.isEmpty {
            requireWritableFile(configuration.statsFile, "the plugin could not write its StatsFile")
        }
        checkNotifySocket(configuration.notifySocket)
        if access(libraryPath, F_OK) != 0 {
            add(.warning, "\(libraryPath): no such file: job_submit/prewarm would pass every job through unprofiled")
        } else {
            add(.ok, "\(libraryPath): present")
            requireAccess(libraryPath, .read, "slurmctld could not load it and would pass every job through unprofiled")
        }
        return configuration
    }

    private mutating func checkModel(_ path: String) {
        // The next model prewarmd publishes or `prewarm train` writes is a new file (written beside, then renamed):
        // it gets its ACL from the directory's default ACL, not from the model there now.
        if let user, let denial = user.inheritedDenial(in: UserAccess.directory(of: path), mode: 0o644, .read) {
            add(.error, "\(denial): the next model written there (\(path)) would not load (jobs annotated model=none)")
        }
        let bytes: [UInt8]
        do {
            bytes = try AtomicFile.read(path)
        } catch where error.code == ENOENT {
            add(.warning, "\(path): no model yet: jobs are annotated model=none until `prewarm train --out \(path)` or "
                + "prewarmd publishes one")
            return
        } catch {
            add(.error, "\(path): \(error)")
            return
        }
        do {
            let model = try SubmitModel(deserializing: bytes)
            let accuracy = model.holdoutAccuracy.isFinite ? String(format: ", holdout accuracy %.3f", model.holdoutAccuracy) : ""
            add(.ok, "\(path): model \(ModelContainer.shortIdentifier(bytes)), \(model.runtime.forest.treeCount) trees, "
                + "\(model.trainingJobs) jobs from \(model.source.prefix(120)), trained \(Status.clock(model.trainedAt))\(accuracy)")
        } catch {
            add(.error, "\(path): refused (\(error)): the plugin would keep its previous model, or none")
            return
        }
        requireAccess(path, .read, "slurmctld could not load the model (jobs annotated model=none)")
    }

    private mutating func checkNotifySocket(_ path: String) {
        guard !path.isEmpty else {
            add(.note, "NotifySocket is empty: the plugin does not tell prewarmd of submissions")
            return
        }
        var st = stat()
        guard stat(path, &st) == 0 else {
            add(.note, "\(path): nothing listening (prewarmd not running?); the plugin drops its notices and counts them")
            // prewarmd creates the socket when it starts, then makes it mode 0666; its directory's default ACL decides.
            if let user, let denial = user.inheritedDenial(in: UserAccess.directory(of: path), mode: 0o666, .write) {
                add(.error, "\(denial): the plugin's notices to prewarmd would be refused (\(path))")
            }
            return
        }
        guard st.st_mode & S_IFMT == S_IFSOCK else {
            add(.error, "\(path): not a socket (NotifySocket): prewarmd could not listen there")
            return
        }
        requireAccess(path, .write, "the plugin's notices to prewarmd would be refused")
    }

    /// `path` may be created or rewritten by SlurmUser: the file when it exists, else its directory.
    private mutating func requireWritableFile(_ path: String, _ consequence: String) {
        if access(path, F_OK) == 0 {
            requireAccess(path, .write, consequence)
            return
        }
        let directory = UserAccess.directory(of: path)
        guard access(directory, F_OK) == 0 else {
            add(.error, "\(directory): no such directory: \(consequence) (\(path))")
            return
        }
        requireAccess(directory, .write, "\(consequence) (\(path))")
    }

    // MARK: prewarmd

    private mutating func checkDaemonSide(submit: SubmitConfiguration?) -> DaemonConfiguration? {
        let path = daemonPath
        let configuration: DaemonConfiguration
        switch parse(path, "prewarmd would not start", DaemonConfiguration.parse) {
        case .missing:
            add(.ok, "\(path): not present; prewarmd would run on its defaults (Mode=forecast-only)")
            return nil  // prewarmd may not run on this host: nothing to compare
        case .broken:
            return nil
        case .valid(let c):
            configuration = c
            add(.ok, "\(path): valid (Mode=\(configuration.mode.rawValue))")
        }
        if let submit, submit.enabled {
            if submit.notifySocket != configuration.notifySocket, !submit.notifySocket.isEmpty {
                add(.error, "NotifySocket differs: \(submitPath) sends to \(submit.notifySocket), \(path) listens at "
                    + "\(configuration.notifySocket): prewarmd would not hear of submissions")
            }
            let publishes = configuration.retrainInterval > 0 || configuration.historyRefreshInterval > 0
            if submit.modelFile != configuration.modelFile, publishes, !configuration.historyDatabase.isEmpty {
                add(.warning, "ModelFile differs: prewarmd publishes \(configuration.modelFile), the plugin loads "
                    + "\(submit.modelFile): the plugin would not see the retrained models")
            }
        }
        // The history is SQLite in WAL mode, whose shared-memory index needs every user of the file on one host.
        if !configuration.historyDatabase.isEmpty, case .shared(let name) = fileSystem(configuration.historyDatabase) {
            add(.warning, "HistoryDatabase \(configuration.historyDatabase) is on \(name), a network filesystem: the "
                + "history is SQLite in WAL mode, which SQLite says does not work over one; keep it on this host's "
                + "own disk")
        }
        return configuration
    }

    // MARK: The power programs

    private mutating func checkPowerSide() -> PowerConfiguration? {
        let path = powerPath
        switch parse(path, "the power programs would fail every node", PowerConfiguration.parse) {
        case .missing:
            add(.ok, "\(path): not present (needed only where Slurm's ResumeProgram and SuspendProgram run prewarm)")
            return nil
        case .broken:
            powerBroken = true
            return nil
        case .valid(let configuration):
            add(.ok, "\(path): valid")
            requireAccess(path, .read, "the power programs, run by slurmctld as SlurmUser, would fail every node")
            for program in PowerProgram.allCases {
                guard let command = configuration.command(for: program), let executable = command.words.first else { continue }
                if access(executable, F_OK) != 0 {
                    add(.error, "\(path): \(program.configKey): \(executable): no such file")
                } else {
                    requireAccess(executable, .execute, "\(program.configKey) would fail every node")
                }
            }
            requireWritableFile(configuration.logFile, "the power programs (as SlurmUser) could not write their LogFile")
            return configuration
        }
    }

    // MARK: Slurm's own settings

    private mutating func checkSlurmSide(_ s: SlurmControllerSettings, daemon: DaemonConfiguration?, power: PowerConfiguration?) {
        if s.jobSubmitPlugins.contains("prewarm") {
            let plugin = s.pluginDirectories.lazy.map { $0 + "/job_submit_prewarm.so" }.first { access($0, F_OK) == 0 }
            if let plugin {
                add(.ok, "job_submit/prewarm: \(plugin)")
                requireAccess(plugin, .read, "slurmctld could not load job_submit/prewarm")
            } else {
                add(.error, "JobSubmitPlugins has prewarm but no job_submit_prewarm.so is in PluginDir "
                    + "(\(s.pluginDirectories.joined(separator: ":"))): slurmctld would not start")
            }
        } else {
            add(.warning, "JobSubmitPlugins has no prewarm: submissions are not profiled (slurm-conf/slurm.conf.example-snippet)")
        }
        let programs: [(String, String, PowerProgram)] = [
            ("ResumeProgram", s.resumeProgram, .resume), ("SuspendProgram", s.suspendProgram, .suspend),
            ("ResumeFailProgram", s.resumeFailProgram, .resumeFail),
        ]
        for (key, value, program) in programs where !value.isEmpty {
            if value.contains(where: { $0 == " " || $0 == "\t" }) {
                add(.error, "\(key)=\(value): one executable path is expected, Slurm does not split arguments "
                    + "(use a wrapper, slurm-conf/power/)")
                continue
            }
            if access(value, F_OK) != 0 {
                add(.error, "\(key)=\(value): no such file on this host")
                continue
            }
            requireAccess(value, .execute, "slurmctld could not run its \(key)")
            // A wrapper of prewarm's own (slurm-conf/power/) runs `prewarm resume|suspend|resume-fail`.
            if !powerBroken, Self.runsPrewarm(value, program), power?.command(for: program) == nil {
                add(.error, "\(key)=\(value) runs prewarm, but \(powerPath) has no \(program.configKey)")
            }
        }
        let powerSaving = !s.resumeProgram.isEmpty && !s.suspendProgram.isEmpty
        if !powerSaving {
            let text = "Slurm's power saving is off (ResumeProgram and SuspendProgram are not both set): prewarmd "
                + "can forecast but not power nodes up or down"
            add(daemon?.mode == .enforce ? .error : .note, text)
        }
        if powerSaving, let daemon {
            for group in s.suspendTimes(under: DaemonConfiguration.backstopSuspendTime) {
                if let warning = daemon.slurmSuspendTimeWarning(group.seconds, source: group.source) { add(.warning, warning) }
            }
        }
        if powerSaving, let daemon, let warning = daemon.hourlyCapWarning(nodes: s.nodesPrewarmdMayPower(daemon)) {
            add(.warning, warning)
        }
        if powerSaving, let daemon, daemon.mode != .off, !daemon.bootLeadLearned,
            let shortest = s.resumeTimeouts(under: Int(clamping: daemon.policy.bootLeadTime)).first
        {
            let timeout = "ResumeTimeout=\(shortest.seconds)" + (shortest.source.map { " (\($0))" } ?? "")
            add(.warning, "BootLeadTime=\(daemon.policy.bootLeadTime) exceeds Slurm's \(timeout): a "
                + "node that really took that long to boot would be marked DOWN by Slurm; if nodes boot faster, a shorter "
                + "BootLeadTime (or auto) powers them up less early")
        }
        if s.hidesPoweredDownCloudNodes {
            add(.warning, "PrivateData has no cloud: powered-down State=CLOUD nodes are invisible to prewarmd "
                + "(Slurm 22.05); add PrivateData=cloud")
        }
        if powerSaving { checkExclusions(s) }
    }

    /// How prewarmd reads Slurm's `SuspendExcNodes`, `SuspendExcParts` and `SuspendExcStates` on the nodes as they are
    /// now: the nodes it never touches, those it never powers down, and what it cannot resolve.
    private mutating func checkExclusions(_ s: SlurmControllerSettings) {
        let e = s.powerExclusions
        guard !e.nodes.isEmpty || !e.partitions.isEmpty || !e.states.isEmpty else { return }
        let p = e.protection(of: s.nodes)
        var settings: [String] = []
        if !e.nodes.isEmpty {
            let release = e.syntax == .since2405 ? "Slurm 24.05 and later" : "Slurm 22.05 to 23.11"
            settings.append("SuspendExcNodes=\(e.nodes) (read as \(release) reads it)")
        }
        if !e.partitions.isEmpty { settings.append("SuspendExcParts=\(e.partitions.joined(separator: ","))") }
        if !e.states.isEmpty { settings.append("SuspendExcStates=\(e.states)") }
        var said: [String] = []
        if !p.untouched.isEmpty { said.append("never touches \(Hostlist.compress(Array(p.untouched)))") }
        if !p.keptUp.isEmpty {
            said.append("never powers down \(Hostlist.compress(Array(p.keptUp))) (the nodes Slurm keeps up now)")
        }
        add(.ok, settings.joined(separator: ", ") + ": prewarmd "
            + (said.isEmpty ? "has no node to keep now" : said.joined(separator: " and ")))
        for problem in p.problems { add(.warning, problem) }
    }

    /// With a backup controller (`SlurmctldHost` more than once), the one that takes over runs the plugin and the
    /// power programs from its own host's files: this check sees only this host's. The model is the file prewarmd
    /// keeps replacing, so it has to be where every controller reads it.
    private mutating func checkControllers(
        _ s: SlurmControllerSettings, submit: SubmitConfiguration?, daemon: DaemonConfiguration?
    ) {
        guard s.controllers.count > 1 else { return }
        add(.note, "\(s.controllers.count) controllers (SlurmctldHost \(s.controllers.joined(separator: ", "))): whichever "
            + "runs loads job_submit/prewarm and runs the power programs from its own host's files; install Prewarm "
            + "and its /etc/slurm files on each and run prewarm check there too; run prewarmd on each too: with "
            + "FollowController=yes the one on the host whose slurmctld is in control acts, the others stand by")
        // The prewarmd that acts after a takeover carries on from the state of the one before only if it is shared.
        if let daemon, daemon.followController, case .local(let name) = fileSystem(daemon.stateDirectory) {
            add(.note, "StateDirectory \(daemon.stateDirectory) is on this host's own filesystem (\(name)): after a "
                + "takeover the prewarmd on the other controller begins its hourly budget again and knows only the "
                + "commands in flight that Slurm shows; on storage both controllers mount it carries on with both")
        }
        if let daemon, !daemon.followController {
            add(.note, "FollowController=no: this prewarmd acts whichever controller is in control; run it on one host "
                + "only")
        } else if daemon != nil, let host = hostName.isEmpty ? nil : hostName {
            if let i = ControllerRole.index(of: host, in: s.controllers) {
                add(.ok, "this host (\(host)) is SlurmctldHost number \(i + 1): its prewarmd acts while its slurmctld "
                    + "is in control and stands by otherwise")
            } else {
                add(.note, "this host (\(host)) is none of the controllers: a prewarmd here acts whichever controller "
                    + "is in control; run it on one host only, or on each controller host instead")
            }
        }
        guard s.jobSubmitPlugins.contains("prewarm"), let submit, submit.enabled else { return }
        let model = submit.modelFile
        let state = s.stateSaveLocation.isEmpty ? nil : fileSystem(s.stateSaveLocation)
        // slurmctld's own state is on storage both controllers mount when a backup can take over: the model may go there.
        var beside = ""
        if case .shared(let name) = state { beside = ", e.g. beside StateSaveLocation (\(s.stateSaveLocation), \(name))" }
        switch fileSystem(model) {
        case .shared(let name):
            add(.ok, "ModelFile \(model) is on \(name), a filesystem other hosts can mount: after a failover the other "
                + "controller's plugin reads the models prewarmd publishes, if it mounts it too")
        case .local(let name):
            add(.warning, "ModelFile \(model) is on this host's own filesystem (\(name)): after a failover the other "
                + "controller's plugin reads its own host's copy, which prewarmd does not replace; set ModelFile in "
                + "prewarm.conf and prewarmd.conf to storage both controllers mount\(beside)")
        case .unknown(let name):
            add(.note, "ModelFile \(model) is on a filesystem of type \(name): make sure both controllers read the "
                + "same file (prewarmd replaces it by rename)\(beside)")
        }
    }

    /// Whether a Slurm power program wraps `prewarm PROGRAM` (slurm-conf/power/): a line of its first 4 KB, outside
    /// comments, runs an executable named `prewarm` with that subcommand.
    static func runsPrewarm(_ path: String, _ program: PowerProgram) -> Bool {
        guard let bytes = try? AtomicFile.read(path, maxBytes: 1 << 20) else { return false }
        for line in String(decoding: bytes.prefix(4096), as: UTF8.self).split(separator: "\n") {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let first = words.first, !first.hasPrefix("#") else { continue }
            for (word, next) in zip(words, words.dropFirst())
            where (word == "prewarm" || word.hasSuffix("/prewarm")) && next == program.rawValue {
                return true
            }
        }
        return false
    }

    // MARK: Files

    enum Parsed<Configuration> {
        case missing
        /// Unreadable or refused by its parser (reported).
        case broken
        case valid(Configuration)
    }

    /// The configuration file at `path` as its own reader parses it; an error names what would follow from it.
    private mutating func parse<Configuration>(
        _ path: String, _ consequence: String, _ parser: (String, String) throws -> Configuration
    ) -> Parsed<Configuration> {
        switch Self.read(path) {
        case .missing:
            return .missing
        case .failed(let why):
            add(.error, "\(path): cannot read (\(why)); \(consequence)")
            return .broken
        case .text(let text):
            do {
                return .valid(try parser(text, path))
            } catch {
                add(.error, "\(error); \(consequence)")
                return .broken
            }
        }
    }

    enum ReadResult {
        case missing
        case failed(String)
        case text(String)
    }

    static func read(_ path: String) -> ReadResult {
        do {
            return .text(String(decoding: try AtomicFile.read(path, maxBytes: 1 << 20), as: UTF8.self))
        } catch where error.code == ENOENT {
            return .missing
        } catch {
            return .failed("\(error)")
        }
    }
}

/// What one user may do to a file by its mode bits, or its POSIX access ACL where it has one, and those of every
/// directory above it.
struct UserAccess {
    enum Need {
        case read, write, execute

        /// As a finding says it: "not readable by slurm".
        var adjective: String {
            switch self {
            case .read: "readable"
            case .write: "writable"
            case .execute: "executable"
            }
        }

        /// The owner's, group's and others' mode bits; an ACL entry codes its permissions as the others' bits.
        var modeBits: (owner: mode_t, group: mode_t, other: mode_t) {
            switch self {
            case .read: (S_IRUSR, S_IRGRP, S_IROTH)
            case .write: (S_IWUSR, S_IWGRP, S_IWOTH)
            case .execute: (S_IXUSR, S_IXGRP, S_IXOTH)
            }
        }
    }

    /// The directory a file of `path` is created in ("." for a bare name).
    static func directory(of path: String) -> String {
        let directory = (path as NSString).deletingLastPathComponent
        return directory.isEmpty ? "." : directory
    }

    let name: String
    let uid: uid_t
    let groups: Set<gid_t>

    init?(name: String) {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 1 << 14)
        guard getpwnam_r(name, &entry, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
        self.name = name
        uid = entry.pw_uid
        let primary = entry.pw_gid
        var count: Int32 = 256
        var list = [gid_t](repeating: 0, count: Int(count))
        if getgrouplist(name, primary, &list, &count) < 0 {
            list = [gid_t](repeating: 0, count: Int(max(count, 1)))
            if getgrouplist(name, primary, &list, &count) < 0 { count = 0 }
        }
        groups = Set(list.prefix(Int(max(0, min(count, Int32(list.count)))))).union([primary])
    }

    /// Why the user may not do `need` to `path` (the first path on the way that denies it), or nil when allowed.
    /// A path that does not exist is not judged here.
    func denial(_ path: String, _ need: Need) -> String? {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        var directory = ""
        let parts = absolute.split(separator: "/")
        for part in parts.dropLast() {
            directory += "/" + part
            var st = stat()
            guard stat(directory, &st) == 0 else { return nil }
            if !allows(st, accessACL(directory), .execute) { return "\(directory): not searchable by \(name)" }
        }
        var st = stat()
        guard stat(absolute, &st) == 0 else { return nil }
        let acl = accessACL(absolute)
        guard allows(st, acl, need) else {
            let withACL = acl != nil ? " and its ACL" : ""
            return "\(path): not \(need.adjective) by \(name) (mode \(String(st.st_mode & 0o7777, radix: 8))\(withACL), owner uid "
                + "\(st.st_uid) gid \(st.st_gid))"
        }
        return nil
    }

    /// Why the user could not `need` a file root creates in `directory` and then gives `mode` (as prewarmd and
    /// `prewarm train` write the model and prewarmd its socket), when the directory's default ACL, which the file
    /// inherits, denies it; nil when allowed, when the directory has no default ACL (the mode then decides), or for
    /// root.
    func inheritedDenial(in directory: String, mode: mode_t, _ need: Need) -> String? {
        var st = stat()
        guard uid != 0, stat(directory, &st) == 0,
            let inherited = AccessACL(path: directory, attribute: "system.posix_acl_default")
        else { return nil }
        // The new file is root's; its group is root's, or the directory's where the directory is set-group-ID.
        let group: gid_t = st.st_mode & S_ISGID != 0 ? st.st_gid : 0
        let acl = inherited.created(mode: mode)
        guard !acl.allows(UInt16(need.modeBits.other), uid: uid, groups: groups, owner: 0, group: group) else { return nil }
        return "\(directory): its default ACL would make a file written there with mode \(String(mode, radix: 8)) not "
            + "\(need.adjective) by \(name)"
    }

    /// The path's ACL, read once per path; root's access does not depend on it.
    private func accessACL(_ path: String) -> AccessACL? { uid == 0 ? nil : AccessACL(path: path) }

    private func allows(_ st: stat, _ acl: AccessACL?, _ need: Need) -> Bool {
        let bits = need.modeBits
        if uid == 0 {
            // root reads and writes anything; it executes a file only if someone may, searches any directory.
            return need != .execute || st.st_mode & S_IFMT == S_IFDIR || st.st_mode & (bits.0 | bits.1 | bits.2) != 0
        }
        // An ACL entry's permissions are coded as the others' mode bits are (read 4, write 2, execute 1).
        if let acl { return acl.allows(UInt16(bits.2), uid: uid, groups: groups, owner: st.st_uid, group: st.st_gid) }
        if st.st_uid == uid { return st.st_mode & bits.0 != 0 }
        if groups.contains(st.st_gid) { return st.st_mode & bits.1 != 0 }
        return st.st_mode & bits.2 != 0
    }
}

/// A file's POSIX access ACL (the `system.posix_acl_access` attribute `setfacl` writes), read as the kernel checks
/// it (acl(5), "access check algorithm"). Only files with entries beyond their mode bits have one.
struct AccessACL: Equatable {
    static let userObject: UInt16 = 0x01, user: UInt16 = 0x02, groupObject: UInt16 = 0x04, group: UInt16 = 0x08
    static let mask: UInt16 = 0x10, other: UInt16 = 0x20

    struct Entry: Equatable {
        var tag: UInt16
        var permissions: UInt16
        var id: UInt32
    }

    var entries: [Entry]

    /// The ACL of `path`, or nil when it has none (or the attribute cannot be read: the mode bits then decide);
    /// `attribute` `system.posix_acl_default` reads a directory's default ACL, which new files in it inherit.
    init?(path: String, attribute name: String = "system.posix_acl_access") {
        let size = getxattr(path, name, nil, 0)
        guard size > 0, size <= 1 << 20 else { return nil }
        var bytes = [UInt8](repeating: 0, count: size)
        let n = getxattr(path, name, &bytes, bytes.count)
        guard n > 0 else { return nil }
        self.init(bytes: bytes.prefix(n))
    }

    /// Parses the attribute: a little-endian version 2, then 8-byte entries (tag, permissions, id).
    init?(bytes: some Collection<UInt8>) {
        let b = Array(bytes)
        func u16(_ i: Int) -> UInt16 { UInt16(b[i]) | UInt16(b[i + 1]) << 8 }
        func u32(_ i: Int) -> UInt32 { UInt32(u16(i)) | UInt32(u16(i + 2)) << 16 }
        guard b.count >= 4, (b.count - 4) % 8 == 0, u32(0) == 2 else { return nil }
        entries = stride(from: 4, to: b.count, by: 8).map { Entry(tag: u16($0), permissions: u16($0 + 2), id: u32($0 + 4)) }
        guard entries.contains(where: { $0.tag == Self.userObject }), entries.contains(where: { $0.tag == Self.other })
        else { return nil }
    }

    /// The access ACL of a file created in a directory with this default ACL and then given `mode` with chmod, as
    /// Prewarm gives the files it writes (acl(5): the new file inherits the default ACL; the creation mode and then
    /// chmod set the owner's, the mask's (the owning group's where there is no mask) and the others' entries to the
    /// mode's bits; named users' and groups' entries stay as inherited).
    func created(mode: mode_t) -> AccessACL {
        let hasMask = entries.contains { $0.tag == Self.mask }
        var out = self
        for i in out.entries.indices {
            switch out.entries[i].tag {
            case Self.userObject: out.entries[i].permissions = UInt16(mode >> 6 & 7)
            case Self.mask: out.entries[i].permissions = UInt16(mode >> 3 & 7)
            case Self.groupObject where !hasMask: out.entries[i].permissions = UInt16(mode >> 3 & 7)
            case Self.other: out.entries[i].permissions = UInt16(mode & 7)
            default: break
            }
        }
        return out
    }

    /// Whether a process of `uid` in `groups` is granted every bit of `want` on a file of `owner` and `group`.
    func allows(_ want: UInt16, uid: uid_t, groups: Set<gid_t>, owner: uid_t, group: gid_t) -> Bool {
        func has(_ permissions: UInt16) -> Bool { permissions & want == want }
        let mask = entries.first { $0.tag == Self.mask }?.permissions ?? 7
        if uid == owner { return entries.first { $0.tag == Self.userObject }.map { has($0.permissions) } ?? false }
        if let named = entries.first(where: { $0.tag == Self.user && $0.id == uid }) {
            return has(named.permissions & mask)
        }
        // Any matching group entry that grants it grants it; matching ones that all refuse refuse it.
        let matching = entries.filter {
            ($0.tag == Self.groupObject && groups.contains(group)) || ($0.tag == Self.group && groups.contains($0.id))
        }
        if !matching.isEmpty { return matching.contains { has($0.permissions & mask) } }
        return entries.first { $0.tag == Self.other }.map { has($0.permissions) } ?? false
    }
}

/// Whether a path's filesystem is this host's own or one that other hosts mount too, by its `statfs` type.
enum FileSystemSharing: Equatable {
    case shared(String)
    case local(String)
    case unknown(String)

    var name: String {
        switch self {
        case .shared(let n), .local(let n), .unknown(let n): n
        }
    }

    /// The filesystem of `path`, or of its nearest existing ancestor (the model may not be published yet).
    static func at(_ path: String) -> FileSystemSharing {
        var candidate = path.isEmpty ? "/" : path
        while true {
            var st = statfs()
            if statfs(candidate, &st) == 0 { return of(type: UInt64(truncatingIfNeeded: st.f_type)) }
            guard candidate != "/", let slash = candidate.lastIndex(of: "/") else { return .unknown("unreadable") }
            candidate = slash == candidate.startIndex ? "/" : String(candidate[..<slash])
        }
    }

    /// Linux's magic numbers (linux/magic.h and the filesystems' own sources).
    static func of(type: UInt64) -> FileSystemSharing {
        switch type & 0xFFFF_FFFF {
        case 0xEF53: .local("ext2/3/4")
        case 0x5846_5342: .local("xfs")
        case 0x9123_683E: .local("btrfs")
        case 0x2FC1_2FC1: .local("zfs")
        case 0xF2F5_2010: .local("f2fs")
        case 0x0102_1994: .local("tmpfs")
        case 0x8584_58F6: .local("ramfs")
        case 0x794C_7630: .local("overlay")
        case 0x6969: .shared("nfs")
        case 0xFE53_4D42: .shared("smb2")
        case 0xFF53_4D42: .shared("cifs")
        case 0x0BD0_0BD0: .shared("lustre")
        case 0x4750_4653: .shared("gpfs")
        case 0x00C3_6400: .shared("cephfs")
        case 0x1983_0326: .shared("beegfs")
        case 0x7461_636F: .shared("ocfs2")
        case 0x0116_1970: .shared("gfs2")
        case 0x5346_414F, 0x6B41_4653: .shared("afs")
        case 0x6573_5546: .unknown("fuse")
        default: .unknown("0x" + String(type, radix: 16))
        }
    }
}
