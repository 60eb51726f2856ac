import Glibc

/// The SVG chart of one sweep family: two log-log panels side by side, time per operation and
/// time per byte against the size, one line per subject, `memcpy` dashed as the floor. Plain
/// SVG text, no plotting library.
enum SweepChart {
    static let colors: [String: String] = [
        Report.codec: "#c0392b", "llhttp": "#2e86c1", "NIOHTTP1": "#8e44ad", "NIOWebSocket": "#8e44ad",
        "zlib": "#2e86c1", "memcpy": "#7f8c8d",
    ]

    static func svg(family: Sweep.Family, rows: [Sweep.Measurement], machine: String) -> String {
        let width = 980.0, height = 430.0
        let panelWidth = 400.0, panelHeight = 290.0
        var subjects = [String]()
        for row in rows where !subjects.contains(row.subject) { subjects.append(row.subject) }
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" "
            + "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        out += "<text x=\"20\" y=\"24\" font-size=\"15\" font-weight=\"bold\">\(escape(family.title))</text>\n"
        out += "<text x=\"20\" y=\"42\" fill=\"#555\">\(escape(machine)); medians, log-log</text>\n"
        for (index, subject) in subjects.enumerated() {
            let x = 20.0 + Double(index) * 130
            let color = colors[subject] ?? "#333"
            out += "<line x1=\"\(x)\" y1=\"60\" x2=\"\(x + 22)\" y2=\"60\" stroke=\"\(color)\" stroke-width=\"2.5\""
                + (subject == "memcpy" ? " stroke-dasharray=\"5,3\"" : "") + "/>\n"
            out += "<text x=\"\(x + 28)\" y=\"64\">\(escape(subject == "memcpy" ? "memcpy (floor)" : subject))</text>\n"
        }
        let xLabel = family.unit == "fields" ? "fields per head" : "bytes"
        let panels: [(String, (Sweep.Measurement) -> Double)] = [
            ("ns per operation", { $0.nsPerOp }),
            ("ns per byte", { $0.nsPerByte }),
        ]
        for (panelIndex, (label, value)) in panels.enumerated() {
            let originX = 70.0 + Double(panelIndex) * (panelWidth + 90)
            let originY = 90.0
            let xs = rows.map { Double($0.x) }
            let ys = rows.map(value).filter { $0 > 0 }
            guard let xMin = xs.min(), let xMax = xs.max(), let yMin = ys.min(), let yMax = ys.max() else { continue }
            let (x0, x1) = decades(xMin, xMax)
            let (y0, y1) = decades(yMin, yMax)
            func px(_ v: Double) -> Double { originX + panelWidth * (log10(v) - x0) / (x1 - x0) }
            func py(_ v: Double) -> Double { originY + panelHeight - panelHeight * (log10(max(v, 1e-12)) - y0) / (y1 - y0) }
            out += "<rect x=\"\(originX)\" y=\"\(originY)\" width=\"\(panelWidth)\" height=\"\(panelHeight)\" "
                + "fill=\"none\" stroke=\"#999\"/>\n"
            var decade = x0
            while decade <= x1 + 1e-9 {
                let x = originX + panelWidth * (decade - x0) / (x1 - x0)
                out += "<line x1=\"\(x)\" y1=\"\(originY)\" x2=\"\(x)\" y2=\"\(originY + panelHeight)\" stroke=\"#eee\"/>\n"
                out += "<text x=\"\(x)\" y=\"\(originY + panelHeight + 16)\" text-anchor=\"middle\">\(tick(decade))</text>\n"
                decade += 1
            }
            decade = y0
            while decade <= y1 + 1e-9 {
                let y = originY + panelHeight - panelHeight * (decade - y0) / (y1 - y0)
                out += "<line x1=\"\(originX)\" y1=\"\(y)\" x2=\"\(originX + panelWidth)\" y2=\"\(y)\" stroke=\"#eee\"/>\n"
                out += "<text x=\"\(originX - 6)\" y=\"\(y + 4)\" text-anchor=\"end\">\(tick(decade))</text>\n"
                decade += 1
            }
            out += "<text x=\"\(originX + panelWidth / 2)\" y=\"\(originY + panelHeight + 34)\" text-anchor=\"middle\">"
                + "\(xLabel)</text>\n"
            out += "<text x=\"\(originX)\" y=\"\(originY - 8)\" font-weight=\"bold\">\(label)</text>\n"
            for subject in subjects {
                let points = rows.filter { $0.subject == subject }.sorted { $0.x < $1.x }
                let path = points.map { "\(round2(px(Double($0.x)))),\(round2(py(value($0))))" }.joined(separator: " ")
                let color = colors[subject] ?? "#333"
                out += "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\""
                    + (subject == "memcpy" ? " stroke-dasharray=\"5,3\"" : "") + "/>\n"
                for point in points {
                    out += "<circle cx=\"\(round2(px(Double(point.x))))\" cy=\"\(round2(py(value(point))))\" r=\"2.5\" "
                        + "fill=\"\(color)\"/>\n"
                }
            }
        }
        return out + "</svg>\n"
    }

    /// The decades (log10) that enclose `lo...hi`.
    static func decades(_ lo: Double, _ hi: Double) -> (Double, Double) {
        let a = (log10(lo)).rounded(.down)
        var b = (log10(hi)).rounded(.up)
        if b <= a { b = a + 1 }
        return (a, b)
    }

    static func tick(_ decade: Double) -> String {
        let exponent = Int(decade.rounded())
        switch exponent {
        case ..<(-3): return "1e\(exponent)"
        case -3: return "0.001"
        case -2: return "0.01"
        case -1: return "0.1"
        case 0: return "1"
        case 1: return "10"
        case 2: return "100"
        case 3: return "1k"
        case 4: return "10k"
        case 5: return "100k"
        case 6: return "1M"
        case 7: return "10M"
        case 8: return "100M"
        default: return "1e\(exponent)"
        }
    }

    static func round2(_ v: Double) -> String { Format.fixed(v, 1) }

    static func escape(_ text: String) -> String {
        var out = ""
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }
}
