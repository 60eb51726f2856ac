/// A JSON value whose objects keep their keys in insertion order, so every line the CLI
/// prints has its keys in the order the contracts in the issues give them.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case let (.bool(a), .bool(b)): a == b
        case let (.int(a), .int(b)): a == b
        case let (.string(a), .string(b)): a == b
        case let (.array(a), .array(b)): a == b
        case let (.object(a), .object(b)):
            a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0)
        case .bool(let b): hasher.combine(b)
        case .int(let i): hasher.combine(i)
        case .string(let s): hasher.combine(s)
        case .array(let a): hasher.combine(a)
        case .object(let o):
            for (k, v) in o {
                hasher.combine(k)
                hasher.combine(v)
            }
        }
    }

    /// Compact JSON on one line (RFC 8259), non-ASCII characters escaped as `\uXXXX` so the
    /// output is plain ASCII whatever the input bytes were.
    public var serialized: String {
        var out = ""
        write(into: &out)
        return out
    }

    public func write(into out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .string(let s): JSONValue.writeString(s, into: &out)
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                item.write(into: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (i, (key, value)) in members.enumerated() {
                if i > 0 { out += "," }
                JSONValue.writeString(key, into: &out)
                out += ":"
                value.write(into: &out)
            }
            out += "}"
        }
    }

    static func writeString(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value >= 0x7F:
                if scalar.value > 0xFFFF {
                    // UTF-16 surrogate pair.
                    let v = scalar.value - 0x10000
                    appendEscape(0xD800 + (v >> 10), into: &out)
                    appendEscape(0xDC00 + (v & 0x3FF), into: &out)
                } else {
                    appendEscape(scalar.value, into: &out)
                }
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }

    private static func appendEscape(_ unit: UInt32, into out: inout String) {
        let hex = String(unit, radix: 16)
        out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
    }
}

extension JSONValue {
    /// A string holding `bytes` decoded as ISO-8859-1: every octet becomes the code point of
    /// the same value, so any byte sequence round-trips through the JSON.
    public static func latin1<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> JSONValue {
        .string(String(latin1: bytes))
    }
}

extension String {
    /// Decodes `bytes` as ISO-8859-1 (each octet is the Unicode scalar of the same value).
    public init<Bytes: Sequence<UInt8>>(latin1 bytes: Bytes) {
        var s = ""
        for b in bytes { s.unicodeScalars.append(Unicode.Scalar(b)) }
        self = s
    }
}
