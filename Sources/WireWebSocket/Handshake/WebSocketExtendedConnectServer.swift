public import HTTPTypes
import WireCore

/// A valid extended CONNECT request for a WebSocket, checked by the server (RFC 8441 §4–5), and
/// the ways to answer it: the HTTP/2 (or HTTP/3) counterpart of ``WebSocketServerHandshake``.
///
/// ```swift
/// // request: the stream's HEADERS as an HTTPRequest (`:method CONNECT`, `:protocol websocket`)
/// do {
///     let handshake = try WebSocketExtendedConnectServerHandshake(validating: request, policy: policy)
///     // inspect handshake.request.path, cookies, handshake.offeredSubprotocols ...
///     let acceptance = try handshake.accept()
///     send(acceptance.response)                       // HEADERS :status 200, without END_STREAM
///     var connection = try WebSocketConnection(role: .server, negotiation: acceptance.negotiation)
///     // DATA in → connection.receive(_:); connection.takeOutbound() → DATA out;
///     // connection.streamDirective says when to end or reset the stream.
/// } catch {
///     send(error.extendedConnectResponse, endStream: true)  // 400, 403 or 501
/// }
/// ```
///
/// The same policy as over HTTP/1.1 decides: the ``WebSocketOriginPolicy`` (`:authority` and
/// `:scheme` stand for `Host` and the server's scheme), the subprotocols, permessage-deflate.
/// There is no key and no accept value: `:protocol` replaces them (§5).
public struct WebSocketExtendedConnectServerHandshake: Sendable, Hashable {
    /// The request (`:authority` is its authority, `:path` its path).
    public let request: HTTPRequest
    /// The `Origin`, if sent.
    public let origin: String?
    /// The subprotocols the client offered, in its order.
    public let offeredSubprotocols: [String]
    /// The policy the request was checked against.
    public let policy: WebSocketServerPolicy
    /// The permessage-deflate outcome under the policy (`nil` when the policy has none).
    public let deflateOutcome: PerMessageDeflateServerPolicy.Outcome?

    /// Whether a request asks for a WebSocket over extended CONNECT: `CONNECT` with a
    /// `:protocol` (whatever its value: ``init(validating:policy:)`` answers another protocol
    /// with 501). A transport routes these here and other requests to its HTTP handler.
    public static func isExtendedConnect(_ request: HTTPRequest) -> Bool {
        request.method == .connect && request.extendedConnectProtocol != nil
    }

    /// Checks a request from an HTTP/2 or HTTP/3 stream, in this order:
    ///
    /// 1. method CONNECT (`method-not-connect`, 400);
    /// 2. `:protocol` present (`missing-protocol`, 400) and `websocket`, ASCII
    ///    case-insensitively (`unsupported-protocol`, 501);
    /// 3. `:scheme` present (`missing-scheme`) and `http` or `https` (`invalid-scheme`), 400;
    /// 4. `:path` present and not empty (`missing-path`, 400);
    /// 5. `:authority` present and not empty (`missing-host`, 400);
    /// 6. no `Connection`, `Upgrade` or other hop-by-hop field (`connection-specific-field`, 400);
    /// 7. exactly one `sec-websocket-version: 13` (`unsupported-version`, 400 with
    ///    `sec-websocket-version: 13`: HTTP/2 cannot send the 426's `Upgrade`);
    /// 8. at most one `Origin`, allowed by the policy (`origin-not-allowed`, 403);
    /// 9. `sec-websocket-protocol` a list of tokens (`invalid-subprotocol-list`, 400);
    /// 10. permessage-deflate offers negotiated under `policy.deflate` exactly as over HTTP/1.1
    ///     (malformed or unacceptable offers are declined, never an error: RFC 7692 §5).
    ///
    /// A `sec-websocket-key` is ignored (§5: it is not processed over HTTP/2).
    public init(validating request: HTTPRequest, policy: WebSocketServerPolicy = .init()) throws(WebSocketHandshakeError) {
        guard request.method == .connect else {
            throw WebSocketHandshakeError(.methodNotCONNECT, statusHint: .badRequest)
        }
        guard let name = request.extendedConnectProtocol else {
            throw WebSocketHandshakeError(.missingProtocol, statusHint: .badRequest)
        }
        guard WebSocketHandshake.equalsIgnoringCase(name, WebSocketExtendedConnect.protocolName) else {
            throw WebSocketHandshakeError(.unsupportedProtocol, statusHint: .notImplemented)
        }
        guard let scheme = request.scheme else {
            throw WebSocketHandshakeError(.missingScheme, statusHint: .badRequest)
        }
        let lowercasedScheme = scheme.lowercased()
        guard lowercasedScheme == "http" || lowercasedScheme == "https" else {
            throw WebSocketHandshakeError(.invalidScheme, statusHint: .badRequest)
        }
        guard let path = request.path, !path.isEmpty else {
            throw WebSocketHandshakeError(.missingPath, statusHint: .badRequest)
        }
        guard let authority = request.authority, !authority.isEmpty else {
            throw WebSocketHandshakeError(.missingHost, statusHint: .badRequest)
        }
        let fields = request.headerFields
        guard !WebSocketExtendedConnect.hasConnectionSpecificField(fields) else {
            throw WebSocketHandshakeError(.connectionSpecificField, statusHint: .badRequest)
        }
        let versions = fields[values: .secWebSocketVersion]
        guard versions.count == 1, versions[0] == WebSocketHandshake.version else {
            throw WebSocketHandshakeError(.unsupportedVersion, statusHint: .badRequest)
        }
        let origins = fields[values: .origin]
        guard origins.count <= 1,
            policy.origins.allows(origin: origins.first, host: authority, scheme: lowercasedScheme)
        else {
            throw WebSocketHandshakeError(.originNotAllowed, statusHint: .forbidden)
        }
        let offered = WebSocketHandshake.listElements(fields[values: .secWebSocketProtocol])
        guard offered.allSatisfy(WebSocketHandshake.isToken) else {
            throw WebSocketHandshakeError(.invalidSubprotocolList, statusHint: .badRequest)
        }
        self.request = request
        self.origin = origins.first
        self.offeredSubprotocols = offered.map(String.init)
        self.policy = policy
        self.deflateOutcome = policy.deflate.map { $0.negotiate(requestLines: fields[values: .secWebSocketExtensions]) }
    }

    /// The subprotocol the policy selects: the first of `policy.subprotocols` the client offered.
    public var selectedSubprotocol: String? {
        policy.subprotocols.first { offeredSubprotocols.contains($0) }
    }

    /// The agreed permessage-deflate parameters, if an offer was accepted.
    public var deflate: PerMessageDeflateParameters? { deflateOutcome?.acceptance?.parameters }

    /// Accepts with the policy's subprotocol (``selectedSubprotocol``).
    public func accept(headerFields: HTTPFields = [:]) throws(WebSocketUsageError) -> WebSocketExtendedConnectAcceptance {
        try accept(subprotocol: selectedSubprotocol, headerFields: headerFields)
    }

    /// Accepts with a subprotocol the client offered (`subprotocol-not-offered` otherwise), or
    /// `nil` for none: a `200` with `sec-websocket-protocol` and `sec-websocket-extensions`
    /// when agreed, then `headerFields` (e.g. `set-cookie`). The handshake's own fields and
    /// `content-length` are replaced; a hop-by-hop field, which HTTP/2 cannot carry, is
    /// `invalid-header-field`.
    public func accept(subprotocol: String?, headerFields: HTTPFields = [:]) throws(WebSocketUsageError)
        -> WebSocketExtendedConnectAcceptance
    {
        if let subprotocol, !offeredSubprotocols.contains(subprotocol) {
            throw WebSocketUsageError(.subprotocolNotOffered)
        }
        guard !WebSocketExtendedConnect.hasConnectionSpecificField(headerFields) else {
            throw WebSocketUsageError(.invalidHeaderField)
        }
        var fields = HTTPFields()
        if let subprotocol { fields[.secWebSocketProtocol] = subprotocol }
        if let acceptance = deflateOutcome?.acceptance { fields[.secWebSocketExtensions] = acceptance.headerValue }
        let ours: [HTTPField.Name] = [
            .secWebSocketAccept, .secWebSocketProtocol, .secWebSocketExtensions, .contentLength,
        ]
        for field in headerFields where !ours.contains(field.name) { fields.append(field) }
        return WebSocketExtendedConnectAcceptance(
            response: HTTPResponse(status: .ok, headerFields: fields),
            negotiation: WebSocketNegotiation(subprotocol: subprotocol, deflate: deflate))
    }

    /// A rejection chosen by the application (401, 403, 404…): the status and `headerFields`
    /// without the hop-by-hop ones HTTP/2 forbids. Send it with `END_STREAM`, or follow it
    /// with a body.
    public static func rejection(status: HTTPResponse.Status, headerFields: HTTPFields = [:]) -> HTTPResponse {
        var fields = HTTPFields()
        for field in headerFields where !WebSocketExtendedConnect.isConnectionSpecific(field) {
            fields.append(field)
        }
        return HTTPResponse(status: status, headerFields: fields)
    }
}

/// The server's `200` to an extended CONNECT and what it agreed to (RFC 8441 §5). The stream
/// stays open after it: the response's HEADERS must not carry `END_STREAM`.
public struct WebSocketExtendedConnectAcceptance: Sendable, Hashable {
    /// The 200 response.
    public let response: HTTPResponse
    /// The subprotocol and extension parameters the connection uses.
    public let negotiation: WebSocketNegotiation
}
