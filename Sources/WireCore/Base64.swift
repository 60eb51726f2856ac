/// Standard base64 (RFC 4648 §4) with padding: `Sec-WebSocket-Key`/`-Accept` (RFC 6455 §4) and
/// the `*_b64` fields of the CLI's JSON lines.
package enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    package static func encode<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var it = bytes.makeIterator()
        while let a = it.next() {
            let b = it.next()
            let c = it.next()
            out.append(alphabet[Int(a >> 2)])
            out.append(alphabet[Int((a & 0x03) << 4 | (b ?? 0) >> 4)])
            out.append(b == nil ? UInt8(ascii: "=") : alphabet[Int((b! & 0x0F) << 2 | (c ?? 0) >> 6)])
            out.append(c == nil ? UInt8(ascii: "=") : alphabet[Int(c! & 0x3F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// A base64 text that is not canonical RFC 4648 §4 base64.
    package struct DecodingError: Error, Hashable, Sendable {
        package var reason: String
        init(_ reason: String) { self.reason = reason }
    }

    /// Decodes padded standard base64. Characters outside the alphabet, misplaced padding and
    /// impossible lengths are errors (no whitespace is skipped).
    package static func decode<Text: Collection<UInt8>>(_ text: Text) throws(Base64.DecodingError) -> [UInt8] {
        var values: [UInt8] = []
        var padding = 0
        for c in text {
            if c == UInt8(ascii: "=") { padding += 1; continue }
            guard padding == 0, let i = alphabet.firstIndex(of: c) else {
                throw Base64.DecodingError("invalid base64")
            }
            values.append(UInt8(i))
        }
        guard padding <= 2, (values.count + padding) % 4 == 0 || padding == 0, values.count % 4 != 1 else {
            throw Base64.DecodingError("invalid base64 length")
        }
        var out: [UInt8] = []
        var i = 0
        while i < values.count {
            let n = min(4, values.count - i)
            var acc: UInt32 = 0
            for j in 0..<4 { acc = acc << 6 | UInt32(j < n ? values[i + j] : 0) }
            let bytes = [UInt8(acc >> 16), UInt8(acc >> 8 & 0xFF), UInt8(acc & 0xFF)]
            out.append(contentsOf: bytes.prefix(n - 1))
            i += 4
        }
        return out
    }
}
