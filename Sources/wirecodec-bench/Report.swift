import Glibc

/// Number formatting without Foundation.
enum Format {
    /// `value` with exactly `digits` decimals (round half away from zero).
    static func fixed(_ value: Double, _ digits: Int) -> String {
        guard value.isFinite else { return value.isNaN ? "nan" : (value < 0 ? "-inf" : "inf") }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        let whole = UInt64(scaled / scale)
        let fraction = UInt64(scaled - Double(whole) * scale)
        var text = (value < 0 && scaled != 0 ? "-" : "") + String(whole)
        if digits > 0 {
            let digitsText = String(fraction)
            text += "." + String(repeating: "0", count: digits - digitsText.count) + digitsText
        }
        return text
    }

    /// Up to `digits` decimals, trailing zeros dropped: 1.500 → "1.5", 2.000 → "2".
    static func short(_ value: Double, _ digits: Int = 3) -> String {
        var text = fixed(value, digits)
        guard text.contains(".") else { return text }
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }

    /// Nanoseconds per op with precision that suits the size: 3.42, 48.7, 2913.
    static func nanoseconds(_ value: Double) -> String {
        value < 10 ? fixed(value, 2) : value < 1000 ? fixed(value, 1) : fixed(value, 0)
    }

    static func throughput(bytes: Int, nanoseconds: Double) -> String {
        let gigabytesPerSecond = Double(bytes) / nanoseconds
        return gigabytesPerSecond >= 1 ? fixed(gigabytesPerSecond, 2) + " GB/s" : fixed(gigabytesPerSecond * 1000, 0) + " MB/s"
    }

    static func json(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

enum Report {
    static let codec = "wirecodec"
    /// The codec unmasking in the receive buffer instead of copying out (a second codec row).
    static let codecInPlace = "wirecodec-in-place"

    /// `{"results":[...],"memory":[...]}` exactly as issue 7 specifies.
    static func json(_ results: [BenchResult], memory: [MemoryResult]) -> String {
        let resultItems = results.map {
            "{\"workload\":\(Format.json($0.workload)),\"subject\":\(Format.json($0.subject)),"
                + "\"ns_per_op\":\(Format.short($0.nsPerOp, 3)),\"allocs_per_op\":\(Format.short($0.allocsPerOp, 4))}"
        }
        let memoryItems = memory.map {
            "{\"subject\":\(Format.json($0.subject)),\"what\":\(Format.json($0.what)),\"bytes\":\($0.bytes)}"
        }
        return "{\"results\":[" + resultItems.joined(separator: ",") + "],\"memory\":["
            + memoryItems.joined(separator: ",") + "]}"
    }

    /// The time of the codec divided by the subject's (below 1: the codec is faster).
    static func ratio(_ result: BenchResult, in results: [BenchResult]) -> Double? {
        guard result.subject != codec,
            let ours = results.first(where: { $0.workload == result.workload && $0.subject == codec })
        else { return nil }
        return ours.nsPerOp / result.nsPerOp
    }

    static func rows(_ results: [BenchResult], workloads: [Workload]) -> [[String]] {
        var rows = [[String]]()
        for result in results {
            let workload = workloads.first { $0.name == result.workload }
            rows.append([
                result.workload,
                result.subject,
                Format.nanoseconds(result.nsPerOp),
                Format.short(result.allocsPerOp, 2),
                result.bytesPerOp.map { Format.throughput(bytes: $0, nanoseconds: result.nsPerOp) } ?? "",
                ratio(result, in: results).map { Format.fixed($0, 2) + "×" } ?? "",
                result.subject == codec ? (workload?.target ?? "") : "",
            ])
        }
        return rows
    }

    static let headers = ["workload", "subject", "ns/op", "allocs/op", "throughput", "wirecodec time ÷ subject's", "target"]

    static func text(_ results: [BenchResult], memory: [MemoryResult], workloads: [Workload]) -> String {
        var out = ""
        let table = results.isEmpty ? [] : [headers] + rows(results, workloads: workloads)
        var widths = Array(repeating: 0, count: headers.count)
        for row in table { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        for (index, row) in table.enumerated() {
            var line = ""
            for (i, cell) in row.enumerated() {
                let padding = String(repeating: " ", count: widths[i] - cell.count)
                line += (i == 2 || i == 3 ? padding + cell : cell + padding) + "  "
            }
            while line.hasSuffix(" ") { line.removeLast() }
            out += line + "\n"
            if index == 0 { out += String(repeating: "-", count: widths.reduce(0, +) + 2 * widths.count) + "\n" }
        }
        if !memory.isEmpty {
            out += (out.isEmpty ? "" : "\n") + "memory (bytes held):\n"
            for item in memory { out += "  \(item.subject): \(item.what): \(item.bytes)\n" }
        }
        return out
    }

    static func markdown(_ results: [BenchResult], memory: [MemoryResult], workloads: [Workload]) -> String {
        var out = "Measured on \(Machine.description) on \(Machine.date), 1-minute load average "
            + "\(Machine.loadAverage) at the end of the run (other work shares this machine: absolute "
            + "times move with it, the interleaved ratios much less). Medians of the rounds; "
            + "\"wirecodec time ÷ subject's\" below 1 means WireCodec is faster.\n\n"
        out += "| " + headers.joined(separator: " | ") + " |\n"
        out += "|" + headers.enumerated().map { $0.offset == 2 || $0.offset == 3 ? "---:" : "---" }.joined(separator: "|") + "|\n"
        for row in rows(results, workloads: workloads) {
            out += "| " + row.enumerated().map { $0.offset <= 1 && !$0.element.isEmpty ? "`\($0.element)`" : $0.element }
                .joined(separator: " | ") + " |\n"
        }
        if !memory.isEmpty {
            out += "\n| subject | state held | bytes |\n|---|---|---:|\n"
            for item in memory { out += "| `\(item.subject)` | \(item.what) | \(item.bytes) |\n" }
        }
        return out
    }
}

enum Machine {
    /// The CPU model and core count, from /proc/cpuinfo (what `lscpu` prints as "Model name").
    static var description: String {
        guard let file = fopen("/proc/cpuinfo", "r") else { return "an unknown machine" }
        defer { fclose(file) }
        var model = "an unknown CPU"
        var cores = 0
        var line = [CChar](repeating: 0, count: 4096)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if text.hasPrefix("processor") { cores += 1 }
            if text.hasPrefix("model name"), let colon = text.firstIndex(of: ":") {
                model = String(text[text.index(after: colon)...].drop { $0 == " " || $0 == "\t" }.prefix { $0 != "\n" })
            }
        }
        return "\(model) (\(cores) cores)"
    }

    /// The 1-minute load average, from /proc/loadavg.
    static var loadAverage: String {
        guard let file = fopen("/proc/loadavg", "r") else { return "unknown" }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 256)
        guard fgets(&line, Int32(line.count), file) != nil else { return "unknown" }
        let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return String(text.prefix { $0 != " " })
    }

    /// Today's date (UTC), YYYY-MM-DD.
    static var date: String {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))"
    }
}
