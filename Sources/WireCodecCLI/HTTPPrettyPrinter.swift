import WireCore

/// The `--pretty` rendering of `wirecodec http decode`: each message as it would look on the
/// wire (start line, one field per line), its body as text with non-printable octets escaped
/// (`\xNN`), then its trailers. For people; scripts read the JSON lines.
enum HTTPPrettyPrinter {
    static let bodyPreviewLimit = 1024

    static func write(_ line: JSONValue, into out: inout String) {
        guard case .object(let members) = line else { return }
        func member(_ key: String) -> JSONValue? { members.first { $0.0 == key }?.1 }
        func string(_ key: String) -> String {
            if case .string(let s)? = member(key) { return s }
            if case .int(let i)? = member(key) { return String(i) }
            return ""
        }
        switch string("type") {
        case "request":
            out += "\(string("method")) \(escaped(string("target"))) \(string("version"))\n"
        case "response":
            out += "\(string("version")) \(string("status")) \(escaped(string("reason")))\n"
        case "error":
            out += "error: \(string("code")) at byte offset \(string("offset"))\n"
            return
        case "incomplete":
            out += "incomplete: the input ends inside a message\n"
            return
        default:
            return
        }
        writeFields(member("headers"), indent: "", into: &out)
        let body = (try? Base64.decode(Array(string("body_b64").utf8))) ?? []
        if body.isEmpty {
            out += "(no body)\n"
        } else {
            out += "(body: \(body.count) byte\(body.count == 1 ? "" : "s"))\n"
            var text = ""
            for b in body.prefix(bodyPreviewLimit) {
                switch b {
                case 0x0A: text += "\n"
                case 0x09: text += "\t"
                case 0x20..<0x7F: text.unicodeScalars.append(Unicode.Scalar(b))
                default: text += "\\x" + hex(b)
                }
            }
            out += text
            if !text.hasSuffix("\n") { out += "\n" }
            if body.count > bodyPreviewLimit { out += "… \(body.count - bodyPreviewLimit) more bytes\n" }
        }
        if case .array(let trailers)? = member("trailers"), !trailers.isEmpty {
            out += "(trailers)\n"
            writeFields(member("trailers"), indent: "", into: &out)
        }
        out += "\n"
    }

    private static func writeFields(_ value: JSONValue?, indent: String, into out: inout String) {
        guard case .array(let pairs)? = value else { return }
        for pair in pairs {
            guard case .array(let nv) = pair, nv.count == 2, case .string(let n) = nv[0], case .string(let v) = nv[1] else { continue }
            out += "\(indent)\(escaped(n)): \(escaped(v))\n"
        }
    }

    /// ISO-8859-1 text with octets outside printable ASCII shown as `\xNN`.
    private static func escaped(_ s: String) -> String {
        var text = ""
        for scalar in s.unicodeScalars {
            if (0x20..<0x7F).contains(scalar.value) || scalar == "\t" {
                text.unicodeScalars.append(scalar)
            } else {
                text += "\\x" + hex(UInt8(truncatingIfNeeded: scalar.value))
            }
        }
        return text
    }

    private static func hex(_ b: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String(digits[Int(b >> 4)]) + String(digits[Int(b & 0xF)])
    }
}
