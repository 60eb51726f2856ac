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

