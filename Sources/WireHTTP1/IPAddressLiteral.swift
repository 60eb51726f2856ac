/// A numeric IP address written as text: IPv4 dotted decimal (RFC 791, four octets, as
/// `inet_pton` reads them) or IPv6 (RFC 4291 §2.2, with `::` and an embedded IPv4 tail).
///
/// The clients use it to tell an IP literal from a host name (SNI is only sent for names, RFC
/// 6066 §3; `no_proxy` compares addresses by prefix) without resolving anything.
///
/// The accepted forms are exactly those of POSIX `inet_pton`: IPv4 is four decimal numbers
/// 0–255 without leading zeros (`010.1.1.1` is not an address: some parsers read it as octal);
/// IPv6 is eight groups of one to four hex digits, one `::` standing for one or more zero
/// groups, and optionally a dotted IPv4 address as the last 32 bits. No zone ids, no brackets.
public enum IPAddressLiteral: Sendable, Hashable, CustomStringConvertible {
    /// An IPv4 address, most significant octet first.
    case v4(UInt32)
    /// An IPv6 address: the 16 octets in network order.
    case v6(high: UInt64, low: UInt64)

    /// Parses `text` as an IPv4 address, else as an IPv6 address; `nil` when it is neither.
    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        if let v4 = Self.parseV4(bytes[...]) {
            self = .v4(v4)
        } else if let v6 = Self.parseV6(bytes[...]) {
            self = v6
        } else {
            return nil
        }
    }

    /// Whether this is an IPv4 address.
    public var isV4: Bool { if case .v4 = self { true } else { false } }

    /// The number of bits of the address: 32 or 128.
    public var bitWidth: Int { isV4 ? 32 : 128 }

    /// Whether the first `bits` bits of `self` and `network` are equal (both of the same
    /// family; `bits` at most ``bitWidth``).
    public func sharesPrefix(with network: IPAddressLiteral, bits: Int) -> Bool {
        switch (self, network) {
        case (.v4(let a), .v4(let b)):
            guard bits > 0 else { return true }
            guard bits <= 32 else { return false }
            let mask: UInt32 = bits == 32 ? .max : ~(UInt32.max >> UInt32(bits))
            return a & mask == b & mask
        case (.v6(let ah, let al), .v6(let bh, let bl)):
            guard bits > 0 else { return true }
            guard bits <= 128 else { return false }
            if bits <= 64 {
                let mask: UInt64 = bits == 64 ? .max : ~(UInt64.max >> UInt64(bits))
                return ah & mask == bh & mask
            }
            let rest = bits - 64
            let mask: UInt64 = rest == 64 ? .max : ~(UInt64.max >> UInt64(rest))
            return ah == bh && al & mask == bl & mask
        default:
            return false
        }
    }

    public var description: String {
        switch self {
        case .v4(let a):
            return "\(a >> 24).\((a >> 16) & 0xFF).\((a >> 8) & 0xFF).\(a & 0xFF)"
        case .v6(let high, let low):
            // Uncompressed groups: enough for messages and tests.
            var groups: [String] = []
            for word in [high, low] {
                for shift in stride(from: 48, through: 0, by: -16) {
                    groups.append(String((word >> UInt64(shift)) & 0xFFFF, radix: 16))
                }
            }
            return groups.joined(separator: ":")
        }
    }

    // MARK: Parsing

    /// Four decimal octets separated by dots; each 0–255, no leading zero, no sign, nothing else.
    static func parseV4(_ text: ArraySlice<UInt8>) -> UInt32? {
        var value: UInt32 = 0
        var octets = 0
        var current: UInt32 = 0
        var digits = 0
        for byte in text {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                if digits > 0 && current == 0 { return nil }  // a leading zero
                current = current * 10 + UInt32(byte - UInt8(ascii: "0"))
                guard current <= 255 else { return nil }
                digits += 1
            case UInt8(ascii: "."):
                guard digits > 0, octets < 3 else { return nil }
                value = value << 8 | current
                octets += 1
                current = 0
                digits = 0
            default:
                return nil
            }
        }
        guard digits > 0, octets == 3 else { return nil }
        return value << 8 | current
    }

    /// RFC 4291 §2.2 text forms.
    static func parseV6(_ text: ArraySlice<UInt8>) -> IPAddressLiteral? {
        var groups: [UInt16] = []
        var gap: Int? = nil  // index in `groups` where `::` stands
        var i = text.startIndex
        let end = text.endIndex
        guard i < end else { return nil }
        if text[i] == UInt8(ascii: ":") {
            // A leading colon must be the start of `::`.
            guard text.index(after: i) < end, text[text.index(after: i)] == UInt8(ascii: ":") else { return nil }
            gap = 0
            i = text.index(i, offsetBy: 2)
        }
        while i < end {
            // One group: hex digits up to a colon, or a dotted IPv4 tail.
            let start = i
            var value: UInt32 = 0
            var digits = 0
            while i < end, let h = hexValue(text[i]) {
                value = value << 4 | UInt32(h)
                digits += 1
                guard digits <= 4 else { return nil }
                i = text.index(after: i)
            }
            if i < end && text[i] == UInt8(ascii: ".") {
                // The rest must be an IPv4 address filling the last 32 bits.
                guard groups.count <= 6, let v4 = parseV4(text[start...]) else { return nil }
                groups.append(UInt16(v4 >> 16))
                groups.append(UInt16(v4 & 0xFFFF))
                i = end
                break
            }
            guard digits > 0 else { return nil }
            groups.append(UInt16(value))
            guard groups.count <= 8 else { return nil }
            if i == end { break }
            guard text[i] == UInt8(ascii: ":") else { return nil }
            i = text.index(after: i)
            if i < end && text[i] == UInt8(ascii: ":") {
                guard gap == nil else { return nil }  // a second `::`
                gap = groups.count
                i = text.index(after: i)
            } else if i == end {
                return nil  // a trailing single colon
            }
        }
        if let gap {
            // `::` stands for at least one zero group.
            guard groups.count <= 7 else { return nil }
            groups.insert(contentsOf: repeatElement(0, count: 8 - groups.count), at: gap)
        }
        guard groups.count == 8 else { return nil }
        var high: UInt64 = 0
        var low: UInt64 = 0
        for g in groups[0..<4] { high = high << 16 | UInt64(g) }
        for g in groups[4..<8] { low = low << 16 | UInt64(g) }
        return .v6(high: high, low: low)
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
