// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import Foundation
import SlurmKit

/// `prewarm forecast --plot` and `--svg`: the demand forecast of each partition drawn against its capacity.
/// Pure functions from the forecast to a string (no I/O), so tests check the drawing itself.
///
/// Terminal chart (plain ASCII, at most 80 columns): minutes from now on the x axis (one column per minute, or the
/// largest value of several minutes per column when the horizon is longer than the plot is wide), nodes on the y
/// axis (one row per node up to 15 nodes, else several nodes per row). A cell is `#` up to the expected demand,
/// `:` from there up to the upper band, and the capacity lines are `-` (nodes powered or powering up now) and `=`
/// (all the partition's nodes); a bar hides a line it covers. The values are rounded to the nearest row.
enum ForecastPlot {
    /// One partition's forecast and capacity.
    struct Panel: Equatable {
        var partition: String
        /// Nodes in the partition.
        var nodes: Int
        /// Nodes up now, and powering up.
        var powered: Int
        var poweringUp: Int
        var runningJobs = 0
        var pendingJobs = 0
        var annotatedJobs = 0
        /// Expected busy nodes and the upper band per minute from now.
        var expected: [Float]
        var upper: [Float]

        /// Powered capacity: up or powering up.
        var capacity: Int { powered + poweringUp }
    }

    /// Widest the whole chart may be.
    static let columns = 80
    /// Widest the plot area may be (one column per minute of the default hour).
    static let maxPlotWidth = 60
    /// Tallest the plot area may be.
    static let maxRows = 15

    static func panel(_ p: PartitionForecast) -> Panel {
        Panel(
            partition: p.partition, nodes: p.nodes, powered: p.powered, poweringUp: p.poweringUp,
            runningJobs: p.runningJobs, pendingJobs: p.pendingJobs, annotatedJobs: p.annotatedJobs,
            expected: p.forecast.expected, upper: p.forecast.upper)
    }

    /// Value shown for a forecast entry: finite, not negative.
    private static func clean(_ v: Float) -> Double { v.isFinite ? Swift.max(0, Double(v)) : 0 }

    /// The y range: the partition, its capacity and the upper band all fit.
    static func yMax(_ p: Panel) -> Int {
        let band = (p.upper + p.expected).map(clean).max() ?? 0
        return Swift.max(1, p.nodes, p.capacity, Int(band.rounded(.up)))
    }

    /// Minute ticks: at most 7, every 1, 2, 5, 10, 15, 30, 60, … minutes.
    static func minuteTicks(_ minutes: Int) -> [Int] {
        guard minutes > 0 else { return [0] }
        let steps = [1, 2, 5, 10, 15, 30, 60, 120, 180, 240, 360, 720]
        let step = steps.first { minutes / $0 <= 6 } ?? 1440
        return Array(Swift.stride(from: 0, through: minutes, by: step))
    }

    /// The terminal charts of all panels, separated by a blank line.
    static func text(_ panels: [Panel]) -> String {
        panels.map(text).joined(separator: "\n")
    }

    /// One partition's terminal chart (every line ends with a newline, none is longer than ``columns``).
    static func text(_ p: Panel) -> String {
        var out = "partition \(p.partition): \(p.nodes) nodes, \(p.powered) powered, \(p.poweringUp) powering up\n"
        out += "  \(p.runningJobs) running, \(p.pendingJobs) pending (\(p.annotatedJobs) with a Prewarm prediction)\n"
        let n = Swift.min(p.expected.count, p.upper.count)
        guard n > 0 else { return out + "  (no forecast)\n" }
        let expected = p.expected.prefix(n).map(clean)
        let upper = p.upper.prefix(n).map(clean)

        let top = yMax(p)
        let step = Swift.max(1, (top + maxRows - 1) / maxRows)  // nodes per row
        let rows = (top + step - 1) / step
        func row(_ v: Double) -> Int { Int((v / Double(step)).rounded()) }
        let totalRow = row(Double(p.nodes))
        let capacityRow = row(Double(p.capacity))

        // Right-hand labels of the capacity lines.
        var labels: [Int: String] = [:]
        if totalRow == capacityRow {
            labels[totalRow] = p.capacity == p.nodes ? "all \(p.nodes) up" : "\(p.capacity)/\(p.nodes) up"
        } else {
            labels[totalRow] = "total \(p.nodes)"
            labels[capacityRow] = "up \(p.capacity)"
        }
        let yLabelWidth = String(rows * step).count
        let labelWidth = labels.values.map(\.count).max() ?? 0
        // The row label, " |", the plot, the axis's end tick, " " and the capacity label.
        let width = Swift.max(1, Swift.min(n, maxPlotWidth, columns - yLabelWidth - 4 - labelWidth))

        // Per column: the largest value of the minutes it covers (so peaks stay visible).
        func column(_ c: Int) -> Range<Int> {
            let lo = c * n / width
            return lo ..< Swift.max(lo + 1, (c + 1) * n / width)
        }
        let eRows = (0 ..< width).map { c in row(column(c).map { expected[$0] }.max() ?? 0) }
        let uRows = (0 ..< width).map { c in row(column(c).map { upper[$0] }.max() ?? 0) }

        func pad(_ s: String, _ w: Int) -> String { String(repeating: " ", count: Swift.max(0, w - s.count)) + s }
        out += "\(String(repeating: " ", count: yLabelWidth + 1))^ nodes\n"
        for r in Swift.stride(from: rows, through: 1, by: -1) {
            var line = pad(String(r * step), yLabelWidth) + " |"
            for c in 0 ..< width {
                if r <= eRows[c] {
                    line += "#"
                } else if r == totalRow {
                    line += "="
                } else if r == capacityRow {
                    line += "-"
                } else if r <= uRows[c] {
                    line += ":"
                } else {
                    line += " "
                }
            }
            if let l = labels[r] { line += " " + l }
            out += trimmedRight(line) + "\n"
        }
        // The x axis: ticks at the chosen minutes (minute m starts at column m·width/n; the horizon's end is the
        // column after the last), labelled below, a label left out where it would touch the previous one.
        let ticks = minuteTicks(n)
        var axis = Array(repeating: Character("-"), count: width + 1)
        for m in ticks where m > 0 { axis[Swift.min(width, m * width / n)] = "+" }  // minute 0: the corner
        var axisLine = pad("0", yLabelWidth) + " +" + String(axis)
        if let l = labels[0] { axisLine += " " + l }
        out += axisLine + "\n"
        var tickLine = Array(repeating: Character(" "), count: yLabelWidth + 2 + width + 8)
        var free = 0  // first column a label may use
        for (i, m) in ticks.enumerated() {
            let text = Array(String(m))
            let at = yLabelWidth + 2 + Swift.min(width, m * width / n)
            let start = i == ticks.count - 1 && ticks.count > 1 ? Swift.max(at - text.count + 1, 0) : at
            guard start >= free, start + text.count <= tickLine.count else { continue }
            for (k, ch) in text.enumerated() { tickLine[start + k] = ch }
            free = start + text.count + 1
        }
        out += trimmedRight(String(tickLine)) + "\n"
        out += String(repeating: " ", count: yLabelWidth + 2) + "minutes from now\n"
        let peakE = expected.indices.max { expected[$0] < expected[$1] } ?? 0
        let peakU = upper.indices.max { upper[$0] < upper[$1] } ?? 0
        out += String(
            format: "  peak: expected %.1f nodes at +%d min, upper band %.1f at +%d min\n", expected[peakE], peakE,
            upper[peakU], peakU)
        out += "  # expected demand   : upper band   (\(step == 1 ? "1 node" : "\(step) nodes") per row)\n"
        out += "  - powered or powering up now (\(p.capacity))   = all nodes of the partition (\(p.nodes))\n"
        return out
    }

    /// Plot area of one SVG panel.
    static let svgPlotWidth = 600.0
    static let svgPlotHeight = 160.0
    /// Height of one SVG panel: title, plot area, axis labels and legend.
    static let svgPanelHeight = 28 + 10 + svgPlotHeight + 66

    /// A self-contained SVG document (no scripts, nothing to fetch): one panel per partition, stacked, each with
    /// the expected demand (line), the upper band (shaded), the powered capacity (dashed) and the partition's nodes
    /// (grey), as the terminal chart.
    static func svg(_ panels: [Panel], title: String) -> String {
        let w = svgPlotWidth, h = svgPlotHeight
        let width = Int(w) + 90
        let height = 30 + Int(svgPanelHeight) * Swift.max(1, panels.count)
        var s = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        s += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" "
            + "viewBox=\"0 0 \(width) \(height)\" font-family=\"sans-serif\">\n"
        s += "<title>\(SVGPlot.escape(title))</title>\n"
        s += "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n"
        s += "<text x=\"10\" y=\"20\" font-size=\"14\">\(SVGPlot.escape(title))</text>\n"
        if panels.isEmpty { s += "<text x=\"50\" y=\"60\" font-size=\"12\">no partitions</text>\n" }
        for (i, p) in panels.enumerated() {
            let top = 30 + Double(i) * svgPanelHeight + 28
            s += "<g class=\"panel\" data-partition=\"\(SVGPlot.escape(p.partition))\" "
                + "transform=\"translate(0,\(Int(top)))\">\n"
            s += "<text x=\"50\" y=\"-6\" font-size=\"12\" font-weight=\"bold\">partition "
                + "\(SVGPlot.escape(p.partition)): \(p.nodes) nodes, \(p.powered) powered, \(p.poweringUp) powering up; "
                + "\(p.runningJobs) running, \(p.pendingJobs) pending</text>\n"
            s += svgPanel(p, w: w, h: h)
            s += "</g>\n"
        }
        return s + "</svg>\n"
    }

    static func svgPanel(_ p: Panel, w: Double, h: Double) -> String {
        let n = Swift.min(p.expected.count, p.upper.count)
        let top = Double(yMax(p))
        let yStep = Swift.max(1, Int((top / 4).rounded(.up)))
        let yTicks = Swift.stride(from: 0, through: Int(top), by: yStep).map { (Double($0) / top, String($0)) }
        let xTicks = minuteTicks(n).map { (n > 0 ? Double($0) / Double(n) : 0, String($0)) }
        var s = SVGPlot.axes(w: w, h: h, xLabel: "minutes from now", yLabel: "nodes", xTicks: xTicks, yTicks: yTicks)
        // Minute m covers [m, m+1): steps.
        func steps(_ v: [Float]) -> [(Double, Double)] {
            (0 ..< n).flatMap { m in
                let y = Swift.min(1, clean(v[m]) / top)
                return [(Double(m) / Double(n), y), (Double(m + 1) / Double(n), y)]
            }
        }
        let expected = steps(p.expected)
        s += SVGPlot.band(lower: expected, upper: steps(p.upper), w: w, h: h, color: "#1f77b4", opacity: 0.2)
        s += SVGPlot.polyline([(0, Double(p.nodes) / top), (1, Double(p.nodes) / top)], w: w, h: h,
                              color: "#7f7f7f", width: 1.2)
        s += SVGPlot.polyline([(0, Double(p.capacity) / top), (1, Double(p.capacity) / top)], w: w, h: h,
                              color: "#2ca02c", width: 1.5, dash: "6 3")
        s += SVGPlot.polyline(expected, w: w, h: h, color: "#1f77b4", width: 1.8)
        // Legend under the axis title.
        let y = 56 + h
        let items: [(String, String)] = [
            ("<line x1=\"0\" y1=\"0\" x2=\"18\" y2=\"0\" stroke=\"#1f77b4\" stroke-width=\"1.8\"/>", "expected"),
            ("<rect x=\"0\" y=\"-5\" width=\"18\" height=\"10\" fill=\"#1f77b4\" fill-opacity=\"0.2\"/>", "upper band"),
            ("<line x1=\"0\" y1=\"0\" x2=\"18\" y2=\"0\" stroke=\"#2ca02c\" stroke-width=\"1.5\" "
                + "stroke-dasharray=\"6 3\"/>", "powered + powering up (\(p.capacity))"),
            ("<line x1=\"0\" y1=\"0\" x2=\"18\" y2=\"0\" stroke=\"#7f7f7f\" stroke-width=\"1.2\"/>",
             "partition nodes (\(p.nodes))"),
        ]
        var x = 50.0
        for (mark, label) in items {
            s += "<g transform=\"translate(\(Int(x)),\(Int(y)))\">\(mark)<text x=\"24\" y=\"4\" font-size=\"11\">"
                + "\(SVGPlot.escape(label))</text></g>\n"
            x += 40 + Double(label.count) * 6
        }
        return s
    }

    private static func trimmedRight(_ s: String) -> String {
        var s = s
        while s.last == " " { s.removeLast() }
        return s
    }
}
