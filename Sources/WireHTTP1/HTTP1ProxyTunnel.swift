public import HTTPTypes
import WireCore

/// The client's side of an HTTP `CONNECT` tunnel through a proxy (RFC 9110 §9.3.6), sans
/// I/O: the request goes out, the proxy's answer comes in, and a 2xx hands over the bytes
/// that followed it — the start of the tunnelled protocol (a TLS handshake, a WebSocket
/// Upgrade, ...).
///
/// ```swift
/// var tunnel = try HTTP1ProxyTunnel(target: "example.com:443", credentials: proxy.credentials)
/// write(tunnel.takeOutbound())                     // CONNECT example.com:443 HTTP/1.1
/// // for each read:
/// tunnel.receive(bytes)
/// if let established = try tunnel.nextEvent() {    // throws HTTPProxyError on 407, 403, 502, junk
///     startTLS(over: transport, firstBytes: established.leftover)
/// }
/// ```
///
/// - The request is `CONNECT host:port HTTP/1.1` with `Host: host:port`, and
///   `Proxy-Authorization: Basic ...` when credentials are given (RFC 7617; sent at once, as
///   curl does with a user in the proxy URL).
/// - Interim 1xx answers are skipped; a `101` is an error (nothing asked to switch).
/// - A 2xx establishes the tunnel. Its `Content-Length` and `Transfer-Encoding` are ignored,
///   as §9.3.6 tells clients: every byte after the head belongs to the tunnel.
/// - `407` fails with `proxy-authentication-required` carrying every `Proxy-Authenticate`
///   value (RFC 9110 §11.7.1); any other final status with `tunnel-refused`; an answer that is
///   not HTTP/1.x with `malformed-response`; the proxy closing first with `connection-closed`.
///   The caller then closes the connection (we never read a refusal's body: a proxy that keeps
///   the connection alive after it cannot be reused for a tunnel by us anyway).
/// - Limits: the answer's head is bounded by `configuration`'s ``HTTP1Limits``.
///
/// It runs an ``HTTP1Connection`` (role `.client`) underneath.
public struct HTTP1ProxyTunnel: Sendable {
    /// Where the tunnel is.
    public enum State: Sendable, Hashable {
        /// The CONNECT was written; the proxy has not answered yet.
        case awaitingResponse
        /// A 2xx arrived: the connection is now a byte pipe to the target.
        case established
        /// The proxy refused, or answered with something unusable.
        case failed(HTTPProxyError)
    }

    /// A 2xx to our CONNECT.
    public struct Established: Sendable, Hashable {
        /// The proxy's answer (status and fields, for logs).
        public var response: HTTPResponse
        /// Bytes that came after the answer's head: the first bytes from the target.
        public var leftover: [UInt8]
    }

    /// The CONNECT request.
    public let request: HTTPRequest
    public private(set) var state: State = .awaitingResponse
    var connection: HTTP1Connection
    let credentialsSent: Bool
    var sawEOF = false

    /// Builds the CONNECT request for `target` (`host:port`; IPv6 in brackets).
    ///
    /// - Parameters:
    ///   - credentials: sent as `Proxy-Authorization: Basic`.
    ///   - headerFields: more fields for the proxy (`User-Agent`, ...); `Host` and
    ///     `Proxy-Authorization` are set here and replaced if present.
    /// - Throws: ``HTTPProxyError`` `invalid-target` when `target` is not `host:port`, or a
    ///   field cannot be written in HTTP/1.1.
    public init(
        target: String, credentials: HTTPBasicCredentials? = nil, headerFields: HTTPFields = [:],
        configuration: HTTP1ParserConfiguration = .init()
    ) throws(HTTPProxyError) {
        let parsed: (host: String, port: Int?)
        do {
            parsed = try WireURL.parseHostAndPort(Array(target.utf8)[...])
        } catch {
            throw HTTPProxyError(.invalidTarget, url: error)
        }
        guard parsed.port != nil else { throw HTTPProxyError(.invalidTarget) }
        var fields = HTTPFields()
        if let credentials { fields[.proxyAuthorization] = credentials.authorizationValue }
        for field in headerFields where field.name != .proxyAuthorization && field.name.canonicalName != "host" {
            fields.append(field)
        }
        request = HTTPRequest(method: .connect, scheme: nil, authority: target, path: nil, headerFields: fields)
        credentialsSent = credentials != nil
        connection = HTTP1Connection(role: .client, configuration: configuration)
        do {
            try connection.send(.request(request))
            try connection.send(.end(trailers: nil))
        } catch {
            throw HTTPProxyError(.invalidTarget)
        }
    }

    /// A tunnel to `url`'s host and effective port through `proxy`, with the proxy's credentials.
    public init(to url: WireURL, through proxy: HTTPProxy, headerFields: HTTPFields = [:]) throws(HTTPProxyError) {
        guard let authority = url.connectAuthority else { throw HTTPProxyError(.invalidTarget) }
        try self.init(target: authority, credentials: proxy.credentials, headerFields: headerFields)
    }

    /// The bytes to write to the proxy (the CONNECT request, once).
    public mutating func takeOutbound() -> [UInt8] {
        connection.takeOutbound()
    }

    /// Bytes read from the proxy.
    public mutating func receive(_ bytes: Span<UInt8>) {
        connection.receive(bytes)
    }

    /// The proxy closed the connection.
    public mutating func receiveEOF() {
        sawEOF = true
        connection.receiveEOF()
    }

    /// Reads the proxy's answer: `nil` until its head is complete, then ``Established`` once.
    ///
    /// - Throws: ``HTTPProxyError`` when the tunnel cannot be opened (and on every later call).
    public mutating func nextEvent() throws(HTTPProxyError) -> Established? {
        switch state {
        case .failed(let error): throw error
        case .established: return nil
        case .awaitingResponse: break
        }
        while true {
            let event: HTTP1Event?
            do {
                event = try connection.nextEvent()
            } catch {
                return try fail(HTTPProxyError(.malformedResponse, http: error))
            }
            switch event {
            case nil:
                // The connection returns nil at EOF when nothing more can come.
                if sawEOF { return try fail(HTTPProxyError(.connectionClosed)) }
                return nil
            case .informationalResponse(let head):
                if head.status == 101 {
                    return try fail(HTTPProxyError(.unexpectedProtocolSwitch, status: 101, reason: head.reason))
                }
            case .response(let head):
                let response: HTTPResponse
                do {
                    response = try head.httpResponse()
                } catch {
                    return try fail(HTTPProxyError(.malformedResponse, http: error))
                }
                if (200..<300).contains(head.status) {
                    state = .established
                    return Established(response: response, leftover: connection.takeLeftover())
                }
                if head.status == 407 {
                    return try fail(HTTPProxyError(
                        .proxyAuthenticationRequired, status: 407, reason: head.reason,
                        proxyAuthenticate: response.headerFields[values: .proxyAuthenticate],
                        credentialsSent: credentialsSent))
                }
                return try fail(HTTPProxyError(.tunnelRefused, status: head.status, reason: head.reason))
            case .connectionClosed:
                return try fail(HTTPProxyError(.connectionClosed))
            case .body, .end, .request:
                // Not before a final response's head (and never a request to a client).
                return try fail(HTTPProxyError(.malformedResponse))
            }
        }
    }

    private mutating func fail(_ error: HTTPProxyError) throws(HTTPProxyError) -> Established? {
        state = .failed(error)
        throw error
    }
}
