/// An absolute URL with an authority — what the clients connect to: `http`, `https`, `ws`,
/// `wss` (RFC 3986 §3, RFC 6455 §3), and proxy URLs (`http://user:pass@proxy:3128`).
///
/// A small validated value: the scheme is lower-cased; the host is a DNS-style name
/// (lower-cased), an IPv4 address or a bracketed IPv6 address (kept without its brackets);
/// the port is 0–65535; user and password are percent-decoded. Path and query keep their
/// percent-encoding, and octets that may not appear in an HTTP/1.1 request-target (spaces,
/// controls, non-ASCII) are percent-encoded as UTF-8, so ``requestTarget`` can always be
/// written on a request line.
///
/// ```swift
/// let url = try WireURL("wss://example.com/chat?room=1")
/// url.isSecure        // true
/// url.effectivePort   // 443
/// url.hostHeader      // "example.com"
/// url.requestTarget   // "/chat?room=1"
/// ```
public struct WireURL: Sendable, Hashable, CustomStringConvertible {
    /// The scheme, lower-cased (`http`, `wss`, ...).
    public var scheme: String
    /// The user name of the userinfo, percent-decoded (a proxy's credentials).
    public var user: String?
    /// The password of the userinfo, percent-decoded.
    public var password: String?
    /// The host: a lower-cased name, an IPv4 address, or an IPv6 address without brackets.
    public var host: String
    /// The port written in the URL, if any.
    public var port: Int?
    /// The path, starting with `/` (an empty path is `/`).
    public var path: String
    /// The query, without its `?`.
    public var query: String?
    /// The fragment, without its `#` (never sent; RFC 6455 §3 forbids one on WebSocket URIs).
    public var fragment: String?

    /// Parses an absolute URL (surrounding ASCII whitespace is ignored).
    ///
    /// - Throws: ``WireURLError`` — `invalid-scheme`, `missing-authority` (no `//`),
    ///   `missing-host`, `invalid-host`, `invalid-port`, `invalid-character` (a control
    ///   character), `invalid-percent-encoding` in the userinfo.
    public init(_ text: String) throws(WireURLError) {
        let bytes = Array(Self.trimmed(Array(text.utf8)))
        var i = 0
        while i < bytes.count, Self.isSchemeByte(bytes[i], first: i == 0) { i += 1 }
        guard i > 0, i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw WireURLError(.invalidScheme) }
        let scheme = String(decoding: bytes[0..<i].map(Self.lowercased), as: UTF8.self)
        i += 1
        guard bytes.count >= i + 2, bytes[i] == UInt8(ascii: "/"), bytes[i + 1] == UInt8(ascii: "/")
        else { throw WireURLError(.missingAuthority) }
        try self.init(scheme: scheme, afterSlashes: bytes[(i + 2)...])
    }

    /// The parts after `scheme://`.
    init(scheme: String, afterSlashes rest: ArraySlice<UInt8>) throws(WireURLError) {
        self.scheme = scheme
        for byte in rest where byte < 0x20 || byte == 0x7F { throw WireURLError(.invalidCharacter) }
        let authorityEnd = rest.firstIndex { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }
            ?? rest.endIndex
        var authority = rest[rest.startIndex..<authorityEnd]
        if let at = authority.lastIndex(of: UInt8(ascii: "@")) {
            let userinfo = authority[authority.startIndex..<at]
            if let colon = userinfo.firstIndex(of: UInt8(ascii: ":")) {
                user = try Self.percentDecoded(userinfo[userinfo.startIndex..<colon])
                password = try Self.percentDecoded(userinfo[(colon + 1)...])
            } else {
                user = try Self.percentDecoded(userinfo)
            }
            authority = authority[(at + 1)...]
        }
        (host, port) = try Self.parseHostAndPort(authority)
        let tail = rest[authorityEnd...]
        let fragmentStart = tail.firstIndex(of: UInt8(ascii: "#")) ?? tail.endIndex
        let beforeFragment = tail[tail.startIndex..<fragmentStart]
        let queryStart = beforeFragment.firstIndex(of: UInt8(ascii: "?")) ?? beforeFragment.endIndex
        let pathBytes = beforeFragment[beforeFragment.startIndex..<queryStart]
        path = pathBytes.isEmpty ? "/" : Self.encodedForTarget(pathBytes)
        query = queryStart < beforeFragment.endIndex ? Self.encodedForTarget(beforeFragment[(queryStart + 1)...]) : nil
        fragment = fragmentStart < tail.endIndex ? Self.encodedForTarget(tail[(fragmentStart + 1)...]) : nil
    }

    // MARK: Derived values

    /// The default port of the scheme: 80 for `http` and `ws`, 443 for `https` and `wss`.
    public static func defaultPort(forScheme scheme: String) -> Int? {
        switch scheme {
        case "http", "ws": 80
        case "https", "wss": 443
        default: nil
        }
    }

    /// Whether the scheme runs over TLS (`https`, `wss`).
    public var isSecure: Bool { scheme == "https" || scheme == "wss" }

    /// The port to connect to: the URL's, else the scheme's default.
    public var effectivePort: Int? { port ?? Self.defaultPort(forScheme: scheme) }

    /// The host as written in an authority: IPv6 addresses in brackets.
    public var hostForAuthority: String { host.contains(":") ? "[\(host)]" : host }

    /// Whether the host is an IP address (no SNI is sent for one, RFC 6066 §3).
    public var hostIsIPAddress: Bool { IPAddressLiteral(host) != nil }

    /// `Host` (and `:authority`): host, and the port unless it is the scheme's default
    /// (RFC 9110 §7.2).
    public var hostHeader: String {
        if let port, port != Self.defaultPort(forScheme: scheme) { return "\(hostForAuthority):\(port)" }
        return hostForAuthority
    }

    /// `host:port` with the effective port, as a CONNECT request's authority-form
    /// (RFC 9110 §9.3.6 needs the port); `nil` when the scheme has no default and the URL no port.
    public var connectAuthority: String? {
        guard let port = effectivePort else { return nil }
        return "\(hostForAuthority):\(port)"
    }

    /// Path and query: the origin-form request-target (RFC 9112 §3.2.1).
    public var requestTarget: String {
        if let query { return path + "?" + query }
        return path
    }

    /// The URL without its userinfo and fragment.
    public var description: String {
        var text = scheme + "://" + hostForAuthority
        if let port { text += ":\(port)" }
        return text + requestTarget
    }

    // MARK: Pieces

    static func parseHostAndPort(_ authority: ArraySlice<UInt8>) throws(WireURLError) -> (String, Int?) {
        var hostBytes = authority
        var portBytes: ArraySlice<UInt8>? = nil
        if authority.first == UInt8(ascii: "[") {
            guard let close = authority.firstIndex(of: UInt8(ascii: "]")) else { throw WireURLError(.invalidHost) }
            hostBytes = authority[(authority.startIndex + 1)..<close]
            let after = authority[(close + 1)...]
            if let first = after.first {
                guard first == UInt8(ascii: ":") else { throw WireURLError(.invalidHost) }
                portBytes = after.dropFirst()
            }
            guard case .v6? = IPAddressLiteral.parseV6(hostBytes) else { throw WireURLError(.invalidHost) }
        } else if let colon = authority.lastIndex(of: UInt8(ascii: ":")) {
            hostBytes = authority[authority.startIndex..<colon]
            portBytes = authority[(colon + 1)...]
        }
        guard !hostBytes.isEmpty else { throw WireURLError(.missingHost) }
        if authority.first != UInt8(ascii: "[") {
            for byte in hostBytes where !isHostByte(byte) { throw WireURLError(.invalidHost) }
        }
        var port: Int? = nil
        if let portBytes, !portBytes.isEmpty {
            var value = 0
            for byte in portBytes {
                guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { throw WireURLError(.invalidPort) }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
                guard value <= 65535 else { throw WireURLError(.invalidPort) }
            }
            port = value
        }
        return (String(decoding: hostBytes.map(lowercased), as: UTF8.self), port)
    }

    /// Letters, digits, `-`, `.`, `_`, `~`: what DNS names and IPv4 addresses are made of.
    static func isHostByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            true
        default:
            false
        }
    }

    static func isSchemeByte(_ byte: UInt8, first: Bool) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"): true
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."): !first
        default: false
        }
    }

    static func lowercased(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
    }

    static func trimmed(_ bytes: [UInt8]) -> ArraySlice<UInt8> {
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0C || b == 0x0D }
        var slice = bytes[...]
        while let first = slice.first, isSpace(first) { slice = slice.dropFirst() }
        while let last = slice.last, isSpace(last) { slice = slice.dropLast() }
        return slice
    }

    /// Percent-encodes (as UTF-8 octets) what may not appear in a request-target: octets
    /// outside VCHAR. Existing `%XX` escapes are kept as they are.
    static func encodedForTarget(_ bytes: ArraySlice<UInt8>) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        for byte in bytes {
            if byte > 0x20 && byte < 0x7F {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes `%XX` escapes (RFC 3986 §2.1); the result must be UTF-8.
    static func percentDecoded(_ bytes: ArraySlice<UInt8>) throws(WireURLError) -> String {
        var out: [UInt8] = []
        var i = bytes.startIndex
        while i < bytes.endIndex {
            if bytes[i] == UInt8(ascii: "%") {
                guard i + 2 < bytes.endIndex, let h = IPAddressLiteral.hexValue(bytes[i + 1]), let l = IPAddressLiteral.hexValue(bytes[i + 2])
                else { throw WireURLError(.invalidPercentEncoding) }
                out.append(h << 4 | l)
                i += 3
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        guard let text = String(validating: out, as: UTF8.self) else { throw WireURLError(.invalidPercentEncoding) }
        return text
    }
}

/// A URL the clients cannot use.
public struct WireURLError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong; grows without breaking a `switch`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Value: Hashable, Sendable {
            case invalidScheme, missingAuthority, missingHost, invalidHost, invalidPort, invalidCharacter
            case invalidPercentEncoding, unsupportedScheme, fragmentNotAllowed
        }
        fileprivate let value: Value
        fileprivate init(_ value: Value) { self.value = value }

        /// No `scheme:` at the start (RFC 3986 §3.1).
        public static let invalidScheme = Code(.invalidScheme)
        /// The scheme is not followed by `//` and an authority.
        public static let missingAuthority = Code(.missingAuthority)
        /// The authority has no host.
        public static let missingHost = Code(.missingHost)
        /// The host is neither a name of letters, digits, `-`, `.`, `_`, `~`, an IPv4 address
        /// nor a bracketed IPv6 address.
        public static let invalidHost = Code(.invalidHost)
        /// The port is not a number from 0 to 65535.
        public static let invalidPort = Code(.invalidPort)
        /// A control character (CR, LF, NUL, ...) inside the URL.
        public static let invalidCharacter = Code(.invalidCharacter)
        /// A `%` not followed by two hex digits, or escapes that are not UTF-8, in the userinfo.
        public static let invalidPercentEncoding = Code(.invalidPercentEncoding)
        /// The scheme is not one this client speaks (e.g. `ftp://` for a WebSocket client).
        public static let unsupportedScheme = Code(.unsupportedScheme)
        /// A fragment on a WebSocket URI (RFC 6455 §3: MUST NOT be used).
        public static let fragmentNotAllowed = Code(.fragmentNotAllowed)

        /// A stable kebab-case name.
        public var name: String {
            switch value {
            case .invalidScheme: "invalid-scheme"
            case .missingAuthority: "missing-authority"
            case .missingHost: "missing-host"
            case .invalidHost: "invalid-host"
            case .invalidPort: "invalid-port"
            case .invalidCharacter: "invalid-character"
            case .invalidPercentEncoding: "invalid-percent-encoding"
            case .unsupportedScheme: "unsupported-scheme"
            case .fragmentNotAllowed: "fragment-not-allowed"
            }
        }
        public var description: String { name }
    }

    public var code: Code

    public init(_ code: Code) { self.code = code }

    public var description: String { "WireURLError(\(code.name))" }
}
