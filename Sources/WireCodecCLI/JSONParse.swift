/// A small strict JSON (RFC 8259) reader for the CLI's input lines: objects keep their key
/// order, numbers must be integers (the contracts use no others).
public enum JSONParse {
    /// Parses one JSON text; trailing whitespace is allowed, anything else after the value is not.
    public static func parse(_ text: [UInt8]) throws(CLIUsageError) -> JSONValue {
        var reader = Reader(bytes: text)
        reader.skipWhitespace()
        let value = try reader.value(depth: 0)
        reader.skipWhitespace()
        guard reader.i == text.count else { throw reader.error("trailing characters") }
        return value
    }

    public static func parse(_ text: String) throws(CLIUsageError) -> JSONValue {
        try parse(Array(text.utf8))
    }

    private struct Reader {
        let bytes: [UInt8]
        var i = 0

        func error(_ what: String) -> CLIUsageError {
            CLIUsageError("invalid JSON at offset \(i): \(what)")
        }

        mutating func skipWhitespace() {
            while i < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i += 1 }
        }

        mutating func expect(_ literal: String) throws(CLIUsageError) {
            for c in literal.utf8 {
                guard i < bytes.count, bytes[i] == c else { throw error("expected \(literal)") }
                i += 1
            }
        }

        mutating func value(depth: Int) throws(CLIUsageError) -> JSONValue {
            guard depth < 64 else { throw error("nested too deeply") }
            guard i < bytes.count else { throw error("unexpected end") }
            switch bytes[i] {
            case UInt8(ascii: "{"):
                i += 1
                var members: [(String, JSONValue)] = []
                skipWhitespace()
                if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
                while true {
                    skipWhitespace()
                    guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw error("expected a key") }
                    let key = try string()
                    guard !members.contains(where: { $0.0 == key }) else { throw error("duplicate key \(key)") }
                    skipWhitespace()
                    try expect(":")
                    skipWhitespace()
                    members.append((key, try value(depth: depth + 1)))
                    skipWhitespace()
                    guard i < bytes.count else { throw error("unexpected end") }
                    if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                    try expect("}")
                    return .object(members)
                }
            case UInt8(ascii: "["):
                i += 1
                var items: [JSONValue] = []
                skipWhitespace()
                if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
                while true {
                    skipWhitespace()
                    items.append(try value(depth: depth + 1))
                    skipWhitespace()
                    guard i < bytes.count else { throw error("unexpected end") }
                    if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                    try expect("]")
                    return .array(items)
                }
            case UInt8(ascii: "\""):
                return .string(try string())
            case UInt8(ascii: "t"): try expect("true"); return .bool(true)
            case UInt8(ascii: "f"): try expect("false"); return .bool(false)
            case UInt8(ascii: "n"): try expect("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                return .int(try integer())
            default:
                throw error("unexpected character")
            }
        }

        mutating func integer() throws(CLIUsageError) -> Int {
            let start = i
            if bytes[i] == UInt8(ascii: "-") { i += 1 }
            let digitsStart = i
            while i < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[i]) { i += 1 }
            guard i > digitsStart else { throw error("expected digits") }
            guard !(bytes[digitsStart] == UInt8(ascii: "0") && i - digitsStart > 1) else { throw error("leading zero") }
            if i < bytes.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[i]) {
                throw error("only integers are supported")
            }
            guard let n = Int(String(decoding: bytes[start..<i], as: UTF8.self)) else { throw error("integer out of range") }
            return n
        }

        mutating func hex4() throws(CLIUsageError) -> UInt32 {
            guard i + 4 <= bytes.count else { throw error("short \\u escape") }
            var v: UInt32 = 0
            for _ in 0..<4 {
                guard let d = hexDigit(bytes[i]) else { throw error("bad \\u escape") }
                v = v << 4 | UInt32(d)
                i += 1
            }
            return v
        }

        func hexDigit(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: c - 0x30
            case 0x61...0x66: c - 0x61 + 10
            case 0x41...0x46: c - 0x41 + 10
            default: nil
            }
        }

        mutating func string() throws(CLIUsageError) -> String {
            i += 1  // opening quote
            var scalars = String.UnicodeScalarView()
            var raw: [UInt8] = []  // unescaped UTF-8 run
            func flush(_ raw: inout [UInt8], into scalars: inout String.UnicodeScalarView) -> Bool {
                guard !raw.isEmpty else { return true }
                guard let s = String(validating: raw, as: UTF8.self) else { return false }
                scalars.append(contentsOf: s.unicodeScalars)
                raw.removeAll()
                return true
            }
            while true {
                guard i < bytes.count else { throw error("unterminated string") }
                let c = bytes[i]
                i += 1
                switch c {
                case UInt8(ascii: "\""):
                    guard flush(&raw, into: &scalars) else { throw error("invalid UTF-8 in string") }
                    return String(scalars)
                case UInt8(ascii: "\\"):
                    guard flush(&raw, into: &scalars) else { throw error("invalid UTF-8 in string") }
                    guard i < bytes.count else { throw error("unterminated escape") }
                    let e = bytes[i]
                    i += 1
                    switch e {
                    case UInt8(ascii: "\""): scalars.append("\"")
                    case UInt8(ascii: "\\"): scalars.append("\\")
                    case UInt8(ascii: "/"): scalars.append("/")
                    case UInt8(ascii: "b"): scalars.append("\u{08}")
                    case UInt8(ascii: "f"): scalars.append("\u{0C}")
                    case UInt8(ascii: "n"): scalars.append("\n")
                    case UInt8(ascii: "r"): scalars.append("\r")
                    case UInt8(ascii: "t"): scalars.append("\t")
                    case UInt8(ascii: "u"):
                        var v = try hex4()
                        if (0xD800...0xDBFF).contains(v) {
                            try expect("\\u")
                            let low = try hex4()
                            guard (0xDC00...0xDFFF).contains(low) else { throw error("unpaired surrogate") }
                            v = 0x10000 + (v - 0xD800) << 10 + (low - 0xDC00)
                        }
                        guard let scalar = Unicode.Scalar(v) else { throw error("unpaired surrogate") }
                        scalars.append(scalar)
                    default:
                        throw error("unknown escape")
                    }
                case 0x00..<0x20:
                    throw error("control character in string")
                default:
                    raw.append(c)
                }
            }
        }
    }
}

extension JSONValue {
    /// The member `key` of an object, or `nil`.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.0 == key }?.1
    }
}
