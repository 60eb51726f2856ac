public import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif
public import WireHTTP1

/// Secures a client connection: the handlers (TLS) that go before the protocol's, made on
/// the channel's event loop. `WireCodecTLS`'s `TLSClientSecurity` is one: SNI and certificate
/// verification against `serverHostname` are its business.
public protocol ClientTransportSecurity: Sendable {
    /// The handlers for a connection to `serverHostname` (a name or an IP address, without
    /// brackets), called on the channel's event loop.
    func makeClientHandlers(serverHostname: String) throws -> [any ChannelHandler]

    /// The handlers for a connection that offers these protocols by ALPN (RFC 7301), most
    /// preferred first (`["h2", "http/1.1"]` for a client that would speak HTTP/2). The
    /// handshake's `TLSUserEvent.handshakeCompleted(negotiatedProtocol:)` says what was chosen.
    /// The default ignores `applicationProtocols` (no ALPN: the server then speaks HTTP/1.1).
    func makeClientHandlers(serverHostname: String, applicationProtocols: [String]) throws -> [any ChannelHandler]

    /// Whether `error` (thrown while connecting or handshaking) is one that retrying cannot
    /// fix: a certificate that does not verify, a name that does not match. An EventSource
    /// client stops instead of reconnecting then.
    func isFatal(_ error: any Error) -> Bool

    /// One line for people about `error`, if it is this layer's (`nil` otherwise).
    func describe(_ error: any Error) -> String?
}

extension ClientTransportSecurity {
    public func isFatal(_ error: any Error) -> Bool { false }

    public func makeClientHandlers(serverHostname: String, applicationProtocols: [String]) throws -> [any ChannelHandler] {
        try makeClientHandlers(serverHostname: serverHostname)
    }
    public func describe(_ error: any Error) -> String? { nil }
}

/// How a client reaches a server: TLS for `https`/`wss` (and `https://` proxies), the proxy,
/// the connect timeout.
public struct ClientConnectionConfiguration: Sendable {
    /// Which proxy, if any.
    public enum Proxy: Sendable, Hashable {
        /// Always connect directly.
        case none
        /// curl's environment rules over these variables (pass
        /// `ProcessInfo.processInfo.environment`): ``HTTPProxyEnvironment``.
        case environment([String: String])
        /// This proxy string (curl's `--proxy`); `no_proxy` of `environment` still applies,
        /// as in curl.
        case explicit(String, environment: [String: String] = [:])
    }

    /// TLS for secure URLs; `nil` makes `wss://` and `https://` fail with
    /// ``ClientConnectionError/Code/tlsNotConfigured``.
    public var security: (any ClientTransportSecurity)?
    /// Default ``Proxy/none``.
    public var proxy: Proxy
    /// The TCP connect (to the server or the proxy). Default 10 s.
    public var connectTimeout: Duration

    public init(security: (any ClientTransportSecurity)? = nil, proxy: Proxy = .none, connectTimeout: Duration = .seconds(10)) {
        self.security = security
        self.proxy = proxy
        self.connectTimeout = connectTimeout
    }

    /// The proxy for `url` under these settings.
    public func proxy(for url: WireURL) throws(HTTPProxyError) -> HTTPProxy? {
        switch proxy {
        case .none:
            return nil
        case .environment(let variables):
            return try HTTPProxyEnvironment(variables).proxy(for: url)
        case .explicit(let string, let variables):
            return try HTTPProxyEnvironment(variables).proxy(for: url, explicitProxy: string)
        }
    }
}

/// Why a client could not reach the server (before any protocol byte).
public struct ClientConnectionError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Value: Hashable, Sendable { case tlsNotConfigured, noPort, handshakeTimeout, connectionClosed }
        fileprivate let value: Value
        fileprivate init(_ value: Value) { self.value = value }

        /// A secure URL or proxy, but no ``ClientConnectionConfiguration/security``.
        public static let tlsNotConfigured = Code(.tlsNotConfigured)
        /// The URL's scheme has no default port and the URL names none.
        public static let noPort = Code(.noPort)
        /// The proxy tunnel, TLS and protocol handshakes took longer than allowed.
        public static let handshakeTimeout = Code(.handshakeTimeout)
        /// The connection closed before the protocol's handshake was over.
        public static let connectionClosed = Code(.connectionClosed)

        public var name: String {
            switch value {
            case .tlsNotConfigured: "tls-not-configured"
            case .noPort: "no-port"
            case .handshakeTimeout: "handshake-timeout"
            case .connectionClosed: "connection-closed"
            }
        }
        public var description: String { name }
    }

    public var code: Code
    public var detail: String

    public init(_ code: Code, _ detail: String = "") {
        self.code = code
        self.detail = detail
    }

    public var description: String { detail.isEmpty ? code.name : "\(code.name): \(detail)" }
}

extension ClientConnectionError {
    /// One line for any error a client meets while connecting: `connection refused
    /// (127.0.0.1:9)`, `cannot resolve example.invalid: ...`, `connect timeout`, the typed
    /// errors' own descriptions, else the error's first line.
    public static func describe(_ error: any Error) -> String {
        if let channelError = error as? ChannelError, case .connectTimeout = channelError { return "connect timeout" }
        switch error {
        case let error as NIOConnectionError:
            if let dns = error.dnsAError ?? error.dnsAAAAError {
                return "cannot resolve \(error.host): \(firstLine(dns))"
            }
            if let failure = error.connectionErrors.last {
                if let io = failure.error as? IOError {
                    return "\(String(cString: strerror(io.errnoCode)).lowercased()) (\(error.host):\(error.port))"
                }
                return "\(firstLine(failure.error)) (\(error.host):\(error.port))"
            }
            return "cannot connect to \(error.host):\(error.port)"
        case let error as IOError:
            return String(cString: strerror(error.errnoCode)).lowercased()
        default:
            return firstLine(error)
        }
    }

    static func firstLine(_ error: any Error) -> String {
        "\(error)".split(whereSeparator: \.isNewline).first.map(String.init) ?? "\(type(of: error))"
    }
}
