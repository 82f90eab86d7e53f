// Prewarm — predictive power management for Slurm.
// SPDX-License-Identifier: Apache-2.0
import Foundation

/// The pieces of an inline SVG plot shared by `simulate --report` (``SimulationReport``) and `forecast --svg`
/// (``ForecastPlot``): a plot area `w × h` whose top-left corner is at (50, 10), points given in [0,1]²
/// (x to the right, y upwards).
enum SVGPlot {
    /// Text or attribute value made safe for XML: `&`, `<`, `>` and `"` escaped, and control characters XML 1.0
    /// does not allow (other than tab, newline and carriage return) replaced by U+FFFD.
    static func escape(_ s: String) -> String {
        var out = ""
        out.unicodeScalars.reserveCapacity(s.unicodeScalars.count)
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "\t", "\n", "\r": out.unicodeScalars.append(c)
            default:
                if c.value < 0x20 || c.value == 0xFFFE || c.value == 0xFFFF {
                    out += "\u{FFFD}"
                } else {
                    out.unicodeScalars.append(c)
                }
            }
        }
        return out
    }

    /// Where a point of [0,1]² lands in the `w × h` plot area.
    static func position(_ p: (Double, Double), w: Double, h: Double) -> (x: Double, y: Double) {
        (50 + p.0 * w, 10 + (1 - p.1) * h)
    }

    static func coordinates(_ pts: [(Double, Double)], w: Double, h: Double) -> String {
        pts.map { p in
            let q = position(p, w: w, h: h)
            return String(format: "%.1f,%.1f", q.x, q.y)
        }.joined(separator: " ")
    }

    /// A polyline in a `w × h` box from points already scaled to [0,1]².
    static func polyline(
        _ pts: [(Double, Double)], w: Double, h: Double, color: String, width: Double = 1.2, dash: String? = nil
    ) -> String {
        guard !pts.isEmpty else { return "" }
        let dashed = dash.map { " stroke-dasharray=\"\($0)\"" } ?? ""
        return "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"\(width)\"\(dashed) points=\""
            + coordinates(pts, w: w, h: h) + "\"/>\n"
    }

    /// The filled area between two series over the same x values (`upper` above `lower`), scaled to [0,1]².
    static func band(
        lower: [(Double, Double)], upper: [(Double, Double)], w: Double, h: Double, color: String, opacity: Double
    ) -> String {
        guard !lower.isEmpty, !upper.isEmpty else { return "" }
        return "<polygon fill=\"\(color)\" fill-opacity=\"\(opacity)\" stroke=\"none\" points=\""
            + coordinates(upper + lower.reversed(), w: w, h: h) + "\"/>\n"
    }

    static func axes(w: Double, h: Double, xLabel: String, yLabel: String, xTicks: [(Double, String)],
                     yTicks: [(Double, String)]) -> String {
        var s = "<line x1=\"50\" y1=\"\(10 + h)\" x2=\"\(50 + w)\" y2=\"\(10 + h)\" stroke=\"#333\"/>"
            + "<line x1=\"50\" y1=\"10\" x2=\"50\" y2=\"\(10 + h)\" stroke=\"#333\"/>\n"
        for (x, label) in xTicks {
            s += String(format: "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"middle\">%@</text>\n",
                        50 + x * w, 24 + h, escape(label))
        }
        for (y, label) in yTicks {
            s += String(format: "<text x=\"45\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\">%@</text>\n",
                        14 + (1 - y) * h, escape(label))
        }
        s += "<text x=\"\(50 + w / 2)\" y=\"\(38 + h)\" font-size=\"11\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
        s += "<text x=\"12\" y=\"\(10 + h / 2)\" font-size=\"11\" transform=\"rotate(-90 12 \(10 + h / 2))\" "
            + "text-anchor=\"middle\">\(escape(yLabel))</text>\n"
        return s
    }
}
