// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import Foundation
@testable import PrewarmCLI
import Testing
#if canImport(FoundationXML)
import FoundationXML
#endif

/// A known hour: 8 nodes, 2 up and 1 booting; 2 nodes busy for 20 minutes, then 5 expected (upper 7) from minute
/// 20 to 39, then 1 (upper 2).
let knownPanel = ForecastPlot.Panel(
    partition: "debug", nodes: 8, powered: 2, poweringUp: 1, runningJobs: 2, pendingJobs: 3, annotatedJobs: 4,
    expected: (0 ..< 60).map { m in m < 20 ? 2 : m < 40 ? 5 : 1 },
    upper: (0 ..< 60).map { m in m < 20 ? 2 : m < 40 ? 7 : 2 })

/// The chart `prewarm forecast --plot` prints for ``knownPanel`` (quoted in the README).
let knownChart = """
    partition debug: 8 nodes, 2 powered, 1 powering up
      2 running, 3 pending (4 with a Prewarm prediction)
      ^ nodes
    8 |============================================================ total 8
    7 |                    ::::::::::::::::::::
    6 |                    ::::::::::::::::::::
    5 |                    ####################
    4 |                    ####################
    3 |--------------------####################-------------------- up 3
    2 |########################################::::::::::::::::::::
    1 |############################################################
    0 +----------+---------+---------+---------+---------+---------+
       0         10        20        30        40        50       60
       minutes from now
      peak: expected 5.0 nodes at +20 min, upper band 7.0 at +20 min
      # expected demand   : upper band   (1 node per row)
      - powered or powering up now (3)   = all nodes of the partition (8)

    """

/// An attribute's value, looked up in the element's list (with this toolchain's FoundationXML,
/// `attribute(forName:)` returned nil for the attributes of these elements, which are in the SVG default namespace).
private func attribute(_ e: XMLElement, _ name: String) -> String? {
    e.attributes?.first { $0.name == name }?.stringValue
}

@Suite struct ForecastPlotTests {
    @Test func aKnownForecastGivesTheExpectedChart() {
        let text = ForecastPlot.text(knownPanel)
        #expect(text == knownChart, "got:\n\(text)")
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        // Row 5 (expected 5 from minute 20 to 39): columns 20…39 of the plot area are '#', the rest blank.
        let row5 = try! #require(lines.first { $0.hasPrefix("5 |") })
        let cells = Array(row5.dropFirst(3))
        #expect(cells.count == 40)
        #expect(cells[0 ..< 20].allSatisfy { $0 == " " } && cells[20 ..< 40].allSatisfy { $0 == "#" })
        // The capacity line (3 up or booting) is row 3, hidden where the expected bar covers it.
        let row3 = try! #require(lines.first { $0.hasPrefix("3 |") })
        #expect(row3.hasSuffix(" up 3"))
        #expect(Array(row3.dropFirst(3)).prefix(60).filter { $0 == "-" }.count == 40)
        #expect(lines.contains { $0.hasPrefix("8 |" + String(repeating: "=", count: 60)) })
        #expect(lines.allSatisfy { $0.count <= 80 })
    }

    /// A long horizon shares columns (the largest value of each column's minutes, so a one-minute spike shows);
    /// a large partition shares rows.
    @Test func longHorizonsAndLargePartitionsAreScaledToFit() throws {
        var expected = [Float](repeating: 10, count: 120)
        expected[61] = 150  // one minute, in column 30 of 60
        let panel = ForecastPlot.Panel(
            partition: "batch", nodes: 200, powered: 40, poweringUp: 10, expected: expected,
            upper: expected.map { $0 + 20 })
        let text = ForecastPlot.text(panel)
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.allSatisfy { $0.count <= 80 }, "\(text)")
        #expect(text.contains("(14 nodes per row)"))  // 200 nodes in at most 15 rows
        // Row of 154 nodes (11 × 14) holds the spike only, in column 30.
        let spike = try #require(lines.first { $0.hasPrefix("154 |") })
        let cells = Array(spike.dropFirst(5))
        #expect(cells.firstIndex(of: "#") == 30 && cells.filter { $0 == "#" }.count == 1)
        // 50 powered or booting: row round(50/14) = 4 (56 nodes); 200 nodes: row 14 (196).
        #expect(lines.contains { $0.hasPrefix(" 56 |") && $0.hasSuffix(" up 50") })
        #expect(lines.contains { $0.hasPrefix("196 |") && $0.hasSuffix(" total 200") })
        // Minute ticks every 30 minutes, 0 … 120.
        let axis = try #require(lines.firstIndex { $0.hasPrefix("  0 +") })
        let ticks = lines[axis + 1]
        #expect(ticks.split(separator: " ") == ["0", "30", "60", "90", "120"])
        #expect(text.contains("peak: expected 150.0 nodes at +61 min"))
    }

    @Test func everyLineFitsEightyColumnsAndAllPoweredSharesARow() {
        let huge = ForecastPlot.Panel(
            partition: "p", nodes: 123_456, powered: 123_000, poweringUp: 456, expected: [1, 2, 3], upper: [4, 5, 6])
        let text = ForecastPlot.text(huge)
        #expect(text.split(separator: "\n").allSatisfy { $0.count <= 80 }, "\(text)")
        #expect(text.contains(" all 123456 up\n"))
        let empty = ForecastPlot.Panel(partition: "none", nodes: 0, powered: 0, poweringUp: 0, expected: [], upper: [])
        #expect(ForecastPlot.text(empty).hasSuffix("  (no forecast)\n"))
    }

    @Test func theSVGIsWellFormedWithOnePanelPerPartition() throws {
        var odd = knownPanel
        odd.partition = "a<b>&\"c\u{1}"
        let svg = ForecastPlot.svg([knownPanel, odd], title: "prewarm forecast <test>")
        let doc = try XMLDocument(xmlString: svg, options: [])
        let root = try #require(doc.rootElement())
        #expect(root.name == "svg")
        #expect(svg.contains("<svg xmlns=\"http://www.w3.org/2000/svg\" "))
        let panels = try root.nodes(forXPath: "//*[local-name()='g'][@class='panel']")
        #expect(panels.count == 2)
        let names = panels.compactMap { ($0 as? XMLElement).flatMap { attribute($0, "data-partition") } }
        #expect(names == ["debug", "a<b>&\"c\u{FFFD}"])
        // Per panel: the upper band, the two capacity lines and the expected demand; axis labels and a legend.
        for case let g as XMLElement in panels {
            #expect(g.elements(forName: "polygon").count == 1)
            #expect(g.elements(forName: "polyline").count == 3)
            let texts = g.elements(forName: "text").compactMap(\.stringValue)
            #expect(texts.contains("minutes from now") && texts.contains("nodes") && texts.contains("60"))
            let legend = g.elements(forName: "g").compactMap(\.stringValue)
            #expect(legend == ["expected", "upper band", "powered + powering up (3)", "partition nodes (8)"])
        }
        #expect(!svg.contains("<script") && !svg.contains("href"))
        // The capacity line of the first panel: y of 3 nodes out of 8 in the 160-high plot area.
        let dashed = try #require(panels.first.flatMap { ($0 as? XMLElement)?.elements(forName: "polyline") }?
            .first { attribute($0, "stroke-dasharray") != nil })
        let y = 10 + (1 - 3.0 / 8) * ForecastPlot.svgPlotHeight
        #expect(attribute(dashed, "points") == String(format: "50.0,%.1f 650.0,%.1f", y, y))
    }
}

/// `forecast`'s options are checked before the cluster is read (these run without Slurm).
@Test func forecastRefusesBadPlotOptionsBeforeReadingTheCluster() throws {
    let both = try prewarm(["forecast", "--plot", "--json"])
    #expect(both.status == 64)
    #expect(both.stderr.contains("give --plot or --json, not both"))
    let missing = try prewarm(["forecast", "--svg", "/nonexistent-prewarm-dir/f.svg"])
    #expect(missing.status == 64)
    #expect(missing.stderr.contains("--svg /nonexistent-prewarm-dir/f.svg: no such directory: /nonexistent-prewarm-dir"))
    let dir = FileManager.default.temporaryDirectory.path
    let directory = try prewarm(["forecast", "--svg", dir])
    #expect(directory.status == 64)
    #expect(directory.stderr.contains("is a directory"))
    let db = try prewarm(["forecast", "--db", "/nonexistent-prewarm-dir/history.db", "--plot"])
    #expect(db.status == 64)
    #expect(db.stderr.contains("--db /nonexistent-prewarm-dir/history.db: no such file"))
    let minutes = try prewarm(["forecast", "--minutes", "0", "--plot"])
    #expect(minutes.status == 64)
    #expect(minutes.stderr.contains("--minutes must be from 1 to 1440"))
}
