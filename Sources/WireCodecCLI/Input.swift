/// Errors in what the user asked for (not in the decoded bytes): the CLI exits non-zero.
public struct CLIUsageError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

public enum CLIInput {
    /// Parses a hex dump: pairs of hex digits, any ASCII whitespace between them ignored
    /// (and an optional `0x` prefix per group is not accepted: plain hex only).
    public static func decodeHex(_ text: [UInt8]) throws(CLIUsageError) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.count / 2)
        var high: UInt8? = nil
        for (i, c) in text.enumerated() {
            switch c {
            case 0x20, 0x09, 0x0A, 0x0D, 0x0B, 0x0C:
                continue
            default:
                guard let v = hexNibble(c) else {
                    throw CLIUsageError("--hex input has a non-hex character at offset \(i)")
                }
                if let h = high {
                    out.append(h << 4 | v)
                    high = nil
                } else {
                    high = v
                }
            }
        }
        if high != nil { throw CLIUsageError("--hex input has an odd number of hex digits") }
        return out
    }

    private static func hexNibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x61...0x66: c - 0x61 + 10
        case 0x41...0x46: c - 0x41 + 10
        default: nil
        }
    }
}

/// Standard base64 (RFC 4648 §4) with padding, for the `*_b64` fields of the JSON lines.
public enum CLIBase64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    public static func encode<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> String {
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

    public static func decode(_ text: String) throws(CLIUsageError) -> [UInt8] {
        var values: [UInt8] = []
        var padding = 0
        for c in text.utf8 {
            if c == UInt8(ascii: "=") { padding += 1; continue }
            guard padding == 0, let i = alphabet.firstIndex(of: c) else {
                throw CLIUsageError("invalid base64")
            }
            values.append(UInt8(i))
        }
        guard (values.count + padding) % 4 == 0 || padding == 0, values.count % 4 != 1 else {
            throw CLIUsageError("invalid base64 length")
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
