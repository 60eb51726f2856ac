import WireCore

/// Which `Origin`s a server accepts (RFC 6455 §10.2, RFC 6454): the defence against
/// cross-site WebSocket hijacking.
///
/// Browsers attach cookies and other ambient credentials to a WebSocket handshake whatever
/// page started it, and the same-origin policy does not apply to WebSocket, so a server that
/// authenticates by cookie must check `Origin` itself; a rejected origin is answered with 403.
///
/// The default, ``sameOrigin``, accepts an Origin whose host and port equal the request's
/// `Host` (and whose scheme matches when the server knows its own), and accepts requests
/// *without* `Origin`: browsers always send it on WebSocket handshakes (§4.1 item 8), so a
/// missing Origin means a non-browser client, which has no ambient credentials to abuse. Set
/// ``allowsMissingOrigin`` to `false` to refuse those too.
///
/// ```swift
/// .sameOrigin                                               // the default
/// .allowList(["https://app.example.com"], includingSameOrigin: true)
/// .allowAll                                                 // chosen explicitly: no check
/// ```
public struct WebSocketOriginPolicy: Sendable, Hashable {
    enum Rule: Sendable, Hashable {
        case any
        case list([WebSocketOrigin], sameOrigin: Bool)
    }

    let rule: Rule
    /// Whether a request without an `Origin` field is accepted (default `true`; see above).
    public var allowsMissingOrigin: Bool

    /// Any Origin, and none. Only for servers that do not rely on ambient credentials.
    public static let allowAll = WebSocketOriginPolicy(rule: .any, allowsMissingOrigin: true)

    /// An Origin with the request's own host and port (the default).
    public static let sameOrigin = WebSocketOriginPolicy(rule: .list([], sameOrigin: true), allowsMissingOrigin: true)

    /// The listed origins (`scheme://host[:port]`, compared after lower-casing scheme and host
    /// and making default ports explicit), and the same origin too when `includingSameOrigin`.
    /// Entries that are not origins never match.
    public static func allowList(_ origins: [String], includingSameOrigin: Bool = false) -> WebSocketOriginPolicy {
        WebSocketOriginPolicy(
            rule: .list(origins.compactMap(WebSocketOrigin.init(parsing:)), sameOrigin: includingSameOrigin),
            allowsMissingOrigin: true)
    }

    /// Whether a request is acceptable.
    ///
    /// - Parameters:
    ///   - origin: the request's `Origin` value (`nil` when absent).
    ///   - host: the request's `Host` (`host[:port]`).
    ///   - scheme: the server's own scheme when known (`http`/`ws` or `https`/`wss`): the
    ///     default port of a `Host` without one, and the scheme a same origin must have. When
    ///     `nil`, only host and port are compared, and a `Host` without a port takes the
    ///     default port of the Origin's scheme.
    public func allows(origin: String?, host: String?, scheme: String? = nil) -> Bool {
        guard let origin else { return allowsMissingOrigin }
        switch rule {
        case .any:
            return true
        case .list(let list, let sameOrigin):
            // "null" (opaque origins: sandboxed frames, file: pages) parses as nothing.
            guard let parsed = WebSocketOrigin(parsing: origin) else { return false }
            if list.contains(parsed) { return true }
            guard sameOrigin, let host else { return false }
            return parsed.isSameOrigin(asHost: host, scheme: scheme)
        }
    }
}

/// A serialized origin `scheme://host[:port]` (RFC 6454 §6.2), normalised: scheme and host
/// lower-cased, the port made explicit from the scheme's default.
struct WebSocketOrigin: Sendable, Hashable {
    var scheme: String
    var host: String
    var port: Int

    init?(parsing text: String) {
        let utf8 = Array(text.utf8)
        guard let colon = utf8.firstIndex(of: UInt8(ascii: ":")), colon > 0,
            utf8[colon...].starts(with: "://".utf8)
        else { return nil }
        let scheme = String(decoding: utf8[..<colon].map(ASCII.lowercased), as: UTF8.self)
        guard utf8[..<colon].allSatisfy({ ASCII.is($0, ASCII.tchar) }) else { return nil }
        let authority = utf8[(colon + 3)...]
        // An origin has no path, query, fragment or userinfo.
        guard !authority.isEmpty,
            !authority.contains(where: { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") || $0 == UInt8(ascii: "@") })
        else { return nil }
        guard let (host, port) = Self.splitHostPort(authority, defaultPort: Self.defaultPort(scheme)) else { return nil }
        self.scheme = scheme
        self.host = host
        self.port = port
    }

    /// Whether this origin names the server reached through `Host: host`.
    func isSameOrigin(asHost host: String, scheme serverScheme: String?) -> Bool {
        var defaultPort = Self.defaultPort(scheme)
        if let serverScheme {
            let normalised = Self.httpScheme(serverScheme.lowercased())
            guard normalised == Self.httpScheme(scheme) else { return false }
            defaultPort = Self.defaultPort(normalised)
        }
        guard let (hostName, hostPort) = Self.splitHostPort(Array(host.utf8)[...], defaultPort: defaultPort) else {
            return false
        }
        return hostName == self.host && hostPort == port
    }

    /// `ws`/`wss` are the WebSocket names of `http`/`https` (RFC 6455 §3).
    static func httpScheme(_ scheme: String) -> String {
        switch scheme {
        case "ws": "http"
        case "wss": "https"
        default: scheme
        }
    }

    static func defaultPort(_ scheme: String) -> Int? {
        switch httpScheme(scheme) {
        case "http": 80
        case "https": 443
        default: nil
        }
    }

    /// `host[:port]` or `[v6]:port`, the host lower-cased; `nil` if malformed or when there is
    /// neither a port nor a default one.
    static func splitHostPort(_ bytes: ArraySlice<UInt8>, defaultPort: Int?) -> (String, Int)? {
        var hostEnd = bytes.endIndex
        var portText: ArraySlice<UInt8>? = nil
        if bytes.first == UInt8(ascii: "[") {
            guard let close = bytes.firstIndex(of: UInt8(ascii: "]")) else { return nil }
            hostEnd = close + 1
            if hostEnd < bytes.endIndex {
                guard bytes[hostEnd] == UInt8(ascii: ":") else { return nil }
                portText = bytes[(hostEnd + 1)...]
            }
        } else if let colon = bytes.lastIndex(of: UInt8(ascii: ":")) {
            hostEnd = colon
            portText = bytes[(colon + 1)...]
        }
        let host = bytes[bytes.startIndex..<hostEnd]
        guard !host.isEmpty, host.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return nil }
        let port: Int
        if let portText {
            guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy({ ASCII.is($0, ASCII.digit) }),
                let value = Int(String(decoding: portText, as: UTF8.self)), value <= 65535
            else { return nil }
            port = value
        } else {
            guard let defaultPort else { return nil }
            port = defaultPort
        }
        return (String(decoding: host.map(ASCII.lowercased), as: UTF8.self), port)
    }
}
