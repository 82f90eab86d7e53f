// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import PrewarmCore
import Testing

@Suite("Power program configuration")
struct PowerConfigurationTests {
    private func failure(_ text: String) -> PowerConfiguration.ParseError? {
        do {
            _ = try PowerConfiguration.parse(text, file: "p.conf")
            return nil
        } catch {
            return error
        }
    }

    @Test("a full file: commands split into words, quotes, comments, defaults")
    func fullFile() throws {
        let text = """
            # power driver for the test cluster
            ResumeCommand=/usr/bin/ipmitool -I lanplus -H {node}-bmc -U admin -P "pass word#1" chassis power on
            suspendcommand = /usr/bin/ipmitool -H {node}-bmc chassis power soft   # comment
            ResumeFailCommand=/usr/local/bin/notify "node {node} failed" "say \\"hi\\"" ""
            Timeout=120\r
            Parallel=4

            LogFile=/tmp/power.log
            """
        let c = try PowerConfiguration.parse(text, file: "p.conf")
        #expect(
            c.resumeCommand?.words == [
                "/usr/bin/ipmitool", "-I", "lanplus", "-H", "{node}-bmc", "-U", "admin", "-P", "pass word#1",
                "chassis", "power", "on",
            ])
        #expect(c.suspendCommand?.argv(node: "n7") == ["/usr/bin/ipmitool", "-H", "n7-bmc", "chassis", "power", "soft"])
        #expect(
            c.command(for: .resumeFail)?.argv(node: "n1")
                == ["/usr/local/bin/notify", "node n1 failed", "say \"hi\"", ""])
        #expect(c.timeout == 120)
        #expect(c.parallel == 4)
        #expect(c.logFile == "/tmp/power.log")

        let defaults = try PowerConfiguration.parse("", file: "p.conf")
        #expect(defaults == PowerConfiguration())
        #expect(defaults.timeout == 300 && defaults.parallel == 16 && defaults.logFile == "/var/log/prewarm/power.log")
        #expect(defaults.command(for: .resume) == nil)
    }

    @Test("the placeholder is replaced in every word, several times, and node names are never interpreted")
    func placeholder() {
        let command = PowerCommand(words: ["/bin/x", "--host={node}", "{node}:{node}", "plain"])
        #expect(command.argv(node: "a;rm -rf /") == ["/bin/x", "--host=a;rm -rf /", "a;rm -rf /:a;rm -rf /", "plain"])
    }

    @Test("errors name file, line and key")
    func errors() {
        #expect(failure("Timeout=0")?.description == "p.conf:1: Timeout: must be a whole number of seconds from 1 to 86400, found '0'")
        #expect(failure("\n\nParallel=many")?.line == 3)
        #expect(failure("\n\nParallel=many")?.key == "Parallel")
        #expect(failure("Parallel=2000")?.key == "Parallel")
        #expect(failure("ResumeCommand=ipmitool {node}")?.message.contains("absolute program path") == true)
        #expect(failure("ResumeCommand=/usr/bin/ipmitool power on")?.message.contains("{node}") == true)
        #expect(failure("SuspendCommand=")?.message == "empty command")
        #expect(failure("SuspendCommand=/bin/x \"{node}")?.message == "unterminated double quote at column 8")
        #expect(failure("LogFile=power.log")?.key == "LogFile")
        #expect(failure("Colour=blue")?.key == "Colour")
        #expect(failure("Colour=blue")?.message.hasPrefix("unknown key") == true)
        #expect(failure("Timeout=5\ntimeout=6")?.message == "given more than once")
        #expect(failure("Timeout=5\ntimeout=6")?.line == 2)
        #expect(failure("just words")?.key == "")
        #expect(failure("just words")?.description.hasPrefix("p.conf:1: expected Key=Value") == true)
    }

    @Test("words are split without a shell")
    func splitting() throws {
        #expect(try PowerCommand.split("  a  b\tc ").get() == ["a", "b", "c"])
        #expect(try PowerCommand.split("a\"b c\"d").get() == ["ab cd"])
        #expect(try PowerCommand.split("'a b' $HOME `x` *").get() == ["'a", "b'", "$HOME", "`x`", "*"])
        #expect(try PowerCommand.split("\"back\\\\slash\"").get() == ["back\\slash"])
        #expect(try PowerCommand.split("").get() == [])
    }

    @Test("dry-run quoting")
    func quoting() {
        #expect(PowerCommand.shellQuoted("/usr/bin/ipmitool") == "/usr/bin/ipmitool")
        #expect(PowerCommand.shellQuoted("a b") == "'a b'")
        #expect(PowerCommand.shellQuoted("it's") == "'it'\\''s'")
        #expect(PowerCommand.shellQuoted("") == "''")
        #expect(PowerCommand.shellQuoted("$HOME") == "'$HOME'")
    }
}
