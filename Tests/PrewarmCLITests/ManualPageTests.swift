// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing

private let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// The tags (`.TP`'s next line) of one section of a man page, as words: roff's `\-` unescaped, fonts and
/// punctuation dropped.
private func tags(of page: String, section: String) throws -> Set<String> {
    let text = try String(contentsOf: repository.appendingPathComponent("Packaging/man/\(page)"), encoding: .utf8)
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    guard let start = lines.firstIndex(of: ".SH \(section)") else { return [] }
    let end = lines[(start + 1)...].firstIndex { $0.hasPrefix(".SH ") } ?? lines.endIndex
    var words = Set<String>()
    for i in (start + 1)..<end where lines[i - 1] == ".TP" {
        let tag = lines[i].replacingOccurrences(of: "\\-", with: "-").replacingOccurrences(of: "\\fB", with: "")
            .replacingOccurrences(of: "\\fR", with: "")
        for w in tag.split(whereSeparator: { " \",".contains($0) }) where !w.hasPrefix(".") { words.insert(String(w)) }
    }
    return words
}

/// prewarm(1) describes exactly the subcommands `prewarm --help` lists, and prewarmd(8) every option in its usage.
@Test func theManualPagesCoverEverySubcommandAndOption() throws {
    let help = try prewarm(["--help"])
    #expect(help.status == 0)
    // "SUBCOMMANDS:" then "  name   abstract" lines (continuations are indented further).
    var listed = Set<String>()
    var inList = false
    for line in help.stdout.split(separator: "\n", omittingEmptySubsequences: false) {
        if line.hasPrefix("SUBCOMMANDS:") { inList = true; continue }
        guard inList else { continue }
        if line.isEmpty || !line.hasPrefix("  ") { if !listed.isEmpty { break } else { continue } }
        let body = line.dropFirst(2)
        if let first = body.first, first != " ", let name = body.split(separator: " ").first { listed.insert(String(name)) }
    }
    #expect(listed.count >= 10, "parsed \(listed.sorted()) from prewarm --help")
    listed.remove("See")  // "See 'prewarm help <subcommand>' …"
    let documented = try tags(of: "prewarm.1", section: "SUBCOMMANDS")
    #expect(documented == listed, "prewarm.1 lacks \(listed.subtracting(documented).sorted()), has \(documented.subtracting(listed).sorted())")

    let usage = try run(prewarmdExecutable, ["--help"]).stdout
    let options = Set(usage.split(whereSeparator: { " []".contains($0) }).filter { $0.hasPrefix("--") }.map(String.init))
    #expect(options.isSuperset(of: ["--config", "--once", "--version"]), "usage: \(usage)")
    let described = try tags(of: "prewarmd.8", section: "OPTIONS")
    #expect(described.isSuperset(of: options.union(["--help"])), "prewarmd.8 OPTIONS: \(described.sorted())")
}
