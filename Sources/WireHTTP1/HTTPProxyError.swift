/// Why a proxy could not be used: a proxy string we cannot use, or a `CONNECT` the proxy
/// refused or answered with something that is not HTTP.
///
/// ```swift
/// catch let error as HTTPProxyError where error.code == .proxyAuthenticationRequired {
///     print(error.proxyAuthenticate)   // ["Basic realm=\"corp\""]
/// }
/// ```
public struct HTTPProxyError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong; grows without breaking a `switch`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Value: Hashable, Sendable {
            case invalidProxyURL, unsupportedProxyScheme, invalidTarget
            case proxyAuthenticationRequired, tunnelRefused, malformedResponse, unexpectedProtocolSwitch
            case connectionClosed
        }
        fileprivate let value: Value
        fileprivate init(_ value: Value) { self.value = value }

        /// The proxy string is not a URL we can read (see ``HTTPProxyError/url``).
        public static let invalidProxyURL = Code(.invalidProxyURL)
        /// The proxy string names a scheme other than `http` or `https` (SOCKS, ...): see
        /// ``HTTPProxyError/scheme``.
        public static let unsupportedProxyScheme = Code(.unsupportedProxyScheme)
        /// The tunnel's target cannot be written as a CONNECT authority (`host:port`).
        public static let invalidTarget = Code(.invalidTarget)
        /// `407 Proxy Authentication Required` (RFC 9110 §15.5.8): the challenges are in
        /// ``HTTPProxyError/proxyAuthenticate``; ``HTTPProxyError/credentialsSent`` says
        /// whether ours were refused or none were sent.
        public static let proxyAuthenticationRequired = Code(.proxyAuthenticationRequired)
        /// Any other final status than 2xx (``HTTPProxyError/status``): the proxy refused to
        /// open the tunnel (403 by policy, 502 when the target is unreachable, ...).
        public static let tunnelRefused = Code(.tunnelRefused)
        /// The proxy's answer is not a valid HTTP/1.x response (see ``HTTPProxyError/http``).
        public static let malformedResponse = Code(.malformedResponse)
        /// `101 Switching Protocols` to a CONNECT, which asked for no upgrade.
        public static let unexpectedProtocolSwitch = Code(.unexpectedProtocolSwitch)
        /// The proxy closed the connection before its answer's head was complete.
        public static let connectionClosed = Code(.connectionClosed)

        /// A stable kebab-case name.
        public var name: String {
            switch value {
            case .invalidProxyURL: "invalid-proxy-url"
            case .unsupportedProxyScheme: "unsupported-proxy-scheme"
            case .invalidTarget: "invalid-target"
            case .proxyAuthenticationRequired: "proxy-authentication-required"
            case .tunnelRefused: "tunnel-refused"
            case .malformedResponse: "malformed-response"
            case .unexpectedProtocolSwitch: "unexpected-protocol-switch"
            case .connectionClosed: "connection-closed"
            }
        }
        public var description: String { name }
    }

    public var code: Code
    /// The final status the proxy answered with (407, 403, 502, ...).
    public var status: Int?
    /// Its reason phrase.
    public var reason: String?
    /// The values of every `Proxy-Authenticate` field of a 407, in order (RFC 9110 §11.7.1).
    public var proxyAuthenticate: [String]
    /// Whether the refused CONNECT carried `Proxy-Authorization`.
    public var credentialsSent: Bool
    /// The unusable proxy scheme, for `unsupported-proxy-scheme`.
    public var scheme: String?
    /// The URL error, for `invalid-proxy-url`.
    public var url: WireURLError?
    /// The parse error, for `malformed-response`.
    public var http: HTTP1ParseError?

    public init(
        _ code: Code, status: Int? = nil, reason: String? = nil, proxyAuthenticate: [String] = [],
        credentialsSent: Bool = false, scheme: String? = nil, url: WireURLError? = nil, http: HTTP1ParseError? = nil
    ) {
        self.code = code
        self.status = status
        self.reason = reason
        self.proxyAuthenticate = proxyAuthenticate
        self.credentialsSent = credentialsSent
        self.scheme = scheme
        self.url = url
        self.http = http
    }

    /// One line for people: `proxy-authentication-required: 407 Proxy Authentication Required (Basic realm="x")`.
    public var description: String {
        var text = code.name
        if let status { text += ": \(status)" + (reason.map { $0.isEmpty ? "" : " \($0)" } ?? "") }
        if !proxyAuthenticate.isEmpty { text += " (Proxy-Authenticate: \(proxyAuthenticate.joined(separator: ", ")))" }
        if code == .proxyAuthenticationRequired { text += credentialsSent ? ", credentials refused" : ", no credentials sent" }
        if let scheme { text += ": \(scheme)://" }
        if let url { text += ": \(url.code.name)" }
        if let http { text += ": \(http.code.name) at offset \(http.offset)" }
        return text
    }
}
