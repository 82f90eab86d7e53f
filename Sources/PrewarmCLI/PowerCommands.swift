// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import PrewarmCore

/// What `prewarm resume|suspend|resume-fail` share: the hostlist Slurm passes, the configuration, dry run.
struct PowerOptions: ParsableArguments {
    @Argument(help: "Slurm hostlist, e.g. node[01-04,7],gpu[1-2] (Slurm passes it as the first argument).")
    var hostlist: String

    @Option(help: "Configuration file (default: $PREWARM_POWER_CONF, else \(PowerConfiguration.defaultPath)).")
    var config: String?

    @Flag(help: "Print the command for each node, quoted, and run nothing.")
    var dryRun = false
}

private let powerDiscussion = """
    Runs the configured command once per node of HOSTLIST (at most Parallel at once, each killed after \
    Timeout seconds), logs one line per node to LogFile (to syslog when LogFile cannot be opened: Slurm runs \
    this as SlurmUser), and exits 0 only if every node's command succeeded. Commands are spawned directly, \
    never through a shell; {node} stands for the node name. Slurm's slurm.conf needs a single program path, \
    so point it at a wrapper script (slurm-conf/power/).
    """

struct Resume: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Slurm ResumeProgram: power nodes up with ResumeCommand.", discussion: powerDiscussion)

    @OptionGroup var options: PowerOptions

    func run() throws { try PowerRunner.run(.resume, options) }
}

struct Suspend: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Slurm SuspendProgram: power nodes down with SuspendCommand.", discussion: powerDiscussion)

    @OptionGroup var options: PowerOptions

    func run() throws { try PowerRunner.run(.suspend, options) }
}

struct ResumeFail: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume-fail",
        abstract: "Slurm ResumeFailProgram: handle nodes that did not come up, with ResumeFailCommand.",
        discussion: powerDiscussion)

    @OptionGroup var options: PowerOptions

    func run() throws { try PowerRunner.run(.resumeFail, options) }
}
