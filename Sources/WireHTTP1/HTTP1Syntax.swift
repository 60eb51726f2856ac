import WireCore

/// Small grammars from RFC 3986 and RFC 9110 that the parser checks outside the hot loop.
enum HTTP1Syntax {
    /// Whether `p[start..<end]` is `uri-host [":" port]` (RFC 3986 §3.2.2, §3.2.3): an
    /// IP-literal in brackets or a reg-name (which covers IPv4), then an optional port of
    /// digits. With `portRequired` (CONNECT's authority-form, RFC 9110 §9.3.6) the host must
    /// be non-empty and the port present and non-empty. Without it, an empty value is valid
    /// (a Host for a URI without authority, RFC 9112 §3.2).
    static func isValidHost(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int, portRequired: Bool) -> Bool {
        if start == end { return !portRequired }
        var i = start
        if p[i] == UInt8(ascii: "[") {
            i &+= 1
            let literalStart = i
            while i < end, p[i] != UInt8(ascii: "]") {
                let b = p[i]
                guard Scan.isRegName(b) || b == UInt8(ascii: ":") else { return false }
                i &+= 1
            }
            guard i < end, i > literalStart else { return false }
            i &+= 1
        } else {
            while true {
                while i < end && Scan.isRegName(p[i]) { i &+= 1 }
                guard i < end, p[i] == UInt8(ascii: "%") else { break }
                guard i &+ 2 < end, ASCII.is(p[i &+ 1], ASCII.hexDigit), ASCII.is(p[i &+ 2], ASCII.hexDigit) else {
                    return false
                }
                i &+= 3
            }
            if i == start { return false }
        }
        if i == end { return !portRequired }
        guard p[i] == UInt8(ascii: ":") else { return false }
        i &+= 1
        if portRequired && i == end { return false }
        while i < end {
            guard Scan.isDigit(p[i]) else { return false }
            i &+= 1
        }
        return true
    }

    /// The index of the `:` ending a URI scheme (`ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`,
    /// RFC 3986 §3.1) at the start of `p[start..<end]`, or `nil`.
    static func schemeEnd(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> Int? {
        guard start < end, ASCII.lowercased(p[start]) &- UInt8(ascii: "a") < 26 else { return nil }
        var i = start + 1
        while i < end {
            let b = p[i]
            if b == UInt8(ascii: ":") { return i }
            let ok =
                ASCII.lowercased(b) &- UInt8(ascii: "a") < 26 || Scan.isDigit(b)
                || b == UInt8(ascii: "+") || b == UInt8(ascii: "-") || b == UInt8(ascii: ".")
            guard ok else { return nil }
            i += 1
        }
        return nil
    }

    /// Transfer codings we know (RFC 9112 §7, RFC 9110 §8.4.1 registry), as bits.
    static func transferCoding(_ p: UnsafePointer<UInt8>, _ start: Int, _ n: Int) -> UInt8? {
        switch n {
        case 7:
            if Scan.equalsLowercase(p, start, n, "chunked") { return 1 << 0 }
            if Scan.equalsLowercase(p, start, n, "deflate") { return 1 << 1 }
        case 4:
            if Scan.equalsLowercase(p, start, n, "gzip") { return 1 << 2 }
        case 6:
            if Scan.equalsLowercase(p, start, n, "x-gzip") { return 1 << 3 }
        case 8:
            if Scan.equalsLowercase(p, start, n, "compress") { return 1 << 4 }
        case 10:
            if Scan.equalsLowercase(p, start, n, "x-compress") { return 1 << 5 }
        default:
            break
        }
        return nil
    }

    static let chunkedBit: UInt8 = 1 << 0
}
