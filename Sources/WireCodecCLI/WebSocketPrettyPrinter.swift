import WireCore
import WireWebSocket

/// `wirecodec ws decode --pretty`: frames and messages for a human reading a capture.
///
/// ```
/// @0     frame  FIN RSV=000 text         len=5      mask=37fa213d
///        text   5 bytes  "Hello"
/// ```
enum WebSocketPrettyPrinter {
    static func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
    }

    static func write(_ header: WebSocketFrameHeader, offset: Int, into out: inout String) {
        let rsv = [ReservedBits.rsv1, .rsv2, .rsv3].map { header.reserved.contains($0) ? "1" : "0" }.joined()
        out += pad("@\(offset)", 7) + "frame  " + (header.fin ? "FIN " : "--- ") + "RSV=\(rsv) "
        out += pad("\(header.opcode.name)(\(header.opcode.rawValue))", 16) + pad("len=\(header.payloadLength)", 11)
        out += "mask=" + (header.maskingKey.map { $0.description } ?? "none") + "\n"
    }

    static func write(_ line: JSONValue, into out: inout String) {
        guard case .string(let type)? = line["type"] else { return }
        out += pad("", 7) + pad(type, 7)
        switch type {
        case "text", "binary", "ping", "pong":
            let bytes: [UInt8]
            if case .string(let b64)? = line["data_b64"], let decoded = try? Base64.decode(Array(b64.utf8)) {
                bytes = decoded
            } else {
                bytes = []
            }
            out += "\(bytes.count) bytes"
            if type == "text" || bytes.allSatisfy({ (0x20..<0x7F).contains($0) }) {
                let preview = String(decoding: bytes.prefix(200), as: UTF8.self)
                out += "  " + JSONValue.string(preview).serialized + (bytes.count > 200 ? "…" : "")
            } else {
                out += "  " + bytes.prefix(32).map { b in
                    let h = String(b, radix: 16)
                    return h.count == 1 ? "0" + h : h
                }.joined(separator: " ") + (bytes.count > 32 ? " …" : "")
            }
        case "close":
            if case .int(let code)? = line["code"] { out += "code=\(code)" } else { out += "no status code" }
            if case .string(let reason)? = line["reason"], !reason.isEmpty { out += "  " + JSONValue.string(reason).serialized }
        case "error":
            if case .int(let code)? = line["close_code"], case .string(let reason)? = line["reason"] {
                out += "\(reason) (fail with close code \(code))"
            }
        default:
            break
        }
        out += "\n"
    }
}
