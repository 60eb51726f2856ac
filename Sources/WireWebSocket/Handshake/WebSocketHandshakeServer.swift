public import HTTPTypes
public import WireHTTP1
import WireCore

/// How a server answers Upgrade requests: which origins it accepts, which subprotocols it
/// speaks, whether it negotiates permessage-deflate.
public struct WebSocketServerPolicy: Sendable, Hashable {
    /// The `Origin` check (default ``WebSocketOriginPolicy/sameOrigin``).
    public var origins: WebSocketOriginPolicy
    /// The subprotocols we speak, most preferred first. The selected one is the first of
    /// these that the client offered; none is selected when there is no overlap (the
    /// handshake still succeeds: RFC 6455 §4.2.2 leaves the decision to the server, and
    /// ``WebSocketServerHandshake/accept(subprotocol:headerFields:)`` can choose otherwise).
    public var subprotocols: [String]
    /// The permessage-deflate policy, or `nil` (the default) to decline every offer: each
    /// connection with deflate holds zlib state (see `Spec/permessage-deflate.md`), so it is
    /// opted into.
    public var deflate: PerMessageDeflateServerPolicy?

    public init(
        origins: WebSocketOriginPolicy = .sameOrigin, subprotocols: [String] = [],
        deflate: PerMessageDeflateServerPolicy? = nil
    ) {
        self.origins = origins
        self.subprotocols = subprotocols
        self.deflate = deflate
    }
}

/// A valid Upgrade request, checked by the server (RFC 6455 §4.2.1), and the ways to answer it.
///
/// ```swift
/// let handshake = try WebSocketServerHandshake(validating: head, policy: policy)
/// // inspect handshake.request.path, cookies, handshake.offeredSubprotocols ...
/// let acceptance = handshake.accept()
/// write(acceptance.responseBytes)
/// var connection = try WebSocketConnection(role: .server, negotiation: acceptance.negotiation)
/// ```
///
/// An invalid request throws a ``WebSocketHandshakeError`` whose
/// ``WebSocketHandshakeError/responseBytes`` is the answer (400, 403 or 426).
public struct WebSocketServerHandshake: Sendable, Hashable {
    /// The request (Host is its authority).
    public let request: HTTPRequest
    /// The `Sec-WebSocket-Key`, as sent.
    public let key: String
    /// The `Origin`, if sent.
    public let origin: String?
    /// The subprotocols the client offered, in its order.
    public let offeredSubprotocols: [String]
    /// The policy the request was checked against.
    public let policy: WebSocketServerPolicy
    /// The permessage-deflate outcome under the policy (`nil` when the policy has none): the
    /// accepted offer with its parameters and answer, and the offers declined with reasons.
    public let deflateOutcome: PerMessageDeflateServerPolicy.Outcome?

    /// Checks a parsed HTTP/1.1 request head: everything ``init(validating:scheme:policy:)``
    /// checks, plus HTTP/1.1 or later and no body (§4.2.1 item 1).
    ///
    /// - Parameter scheme: our scheme (`"http"`/`"https"`) when known: it completes the
    ///   `HTTPRequest` and makes the same-origin check compare schemes.
    public init(validating head: HTTP1RequestHead, scheme: String? = nil, policy: WebSocketServerPolicy = .init())
        throws(WebSocketHandshakeError)
    {
        guard head.version >= .http1_1 else {
            throw WebSocketHandshakeError(.httpVersionTooOld, statusHint: .badRequest)
        }
        switch head.framing {
        case .none, .contentLength(0): break
        default: throw WebSocketHandshakeError(.unexpectedBody, statusHint: .badRequest)
        }
        let request: HTTPRequest
        do {
            request = try head.httpRequest(scheme: scheme)
        } catch {
            throw WebSocketHandshakeError(.malformedHTTP, statusHint: HTTPResponse.Status(code: error.statusHint), http: error)
        }
        try self.init(validating: request, policy: policy)
    }

    /// Checks a request from any HTTP layer (the caller vouches for HTTP/1.1 or later):
    ///
    /// 1. method GET (400);
    /// 2. a non-empty Host, i.e. `authority` (400);
    /// 3. `Upgrade` listing `websocket` and `Connection` listing `upgrade`, case-insensitive
    ///    (426 with `Upgrade: websocket`);
    /// 4. exactly one `Sec-WebSocket-Key`, base64 of exactly 16 bytes (400);
    /// 5. `Sec-WebSocket-Version: 13` (426 with `Sec-WebSocket-Version: 13`, §4.4);
    /// 6. the Origin policy (403);
    /// 7. `Sec-WebSocket-Protocol` a list of tokens (400);
    /// 8. `Sec-WebSocket-Extensions` follows the §9.1 grammar (400: a malformed header fails
    ///    the handshake, RFC 6455 §4.2.1, §9.1);
    /// 9. permessage-deflate offers negotiated under `policy.deflate` (well-formed offers with
    ///    unknown, repeated or unacceptable parameters are declined, never an error: RFC 7692 §5).
    public init(validating request: HTTPRequest, policy: WebSocketServerPolicy = .init()) throws(WebSocketHandshakeError) {
        guard request.method == .get else { throw WebSocketHandshakeError(.methodNotGET, statusHint: .badRequest) }
        guard let host = request.authority, !host.isEmpty else {
            throw WebSocketHandshakeError(.missingHost, statusHint: .badRequest)
        }
        let fields = request.headerFields
        guard WebSocketHandshake.listContains(fields[values: .upgrade], token: "websocket") else {
            throw WebSocketHandshakeError(.missingUpgrade, statusHint: .upgradeRequired)
        }
        guard WebSocketHandshake.listContains(fields[values: .connection], token: "upgrade") else {
            throw WebSocketHandshakeError(.missingConnectionUpgrade, statusHint: .upgradeRequired)
        }
        let keys = fields[values: .secWebSocketKey]
        guard !keys.isEmpty else { throw WebSocketHandshakeError(.missingKey, statusHint: .badRequest) }
        guard keys.count == 1, WebSocketHandshake.isValidKey(keys[0]) else {
            throw WebSocketHandshakeError(.invalidKey, statusHint: .badRequest)
        }
        let versions = fields[values: .secWebSocketVersion]
        guard versions.count == 1, versions[0] == WebSocketHandshake.version else {
            throw WebSocketHandshakeError(.unsupportedVersion, statusHint: .upgradeRequired)
        }
        let origins = fields[values: .origin]
        guard origins.count <= 1 else { throw WebSocketHandshakeError(.originNotAllowed, statusHint: .forbidden) }
        guard policy.origins.allows(origin: origins.first, host: host, scheme: request.scheme) else {
            throw WebSocketHandshakeError(.originNotAllowed, statusHint: .forbidden)
        }
        let offered = WebSocketHandshake.listElements(fields[values: .secWebSocketProtocol])
        guard offered.allSatisfy(WebSocketHandshake.isToken) else {
            throw WebSocketHandshakeError(.invalidSubprotocolList, statusHint: .badRequest)
        }
        let extensionLines = fields[values: .secWebSocketExtensions]
        if !extensionLines.isEmpty {
            do throws(ExtensionHeaderError) {
                _ = try ExtensionHeader.parse(extensionLines)
            } catch {
                throw WebSocketHandshakeError(.malformedExtensions, statusHint: .badRequest)
            }
        }
        self.request = request
        self.key = keys[0]
        self.origin = origins.first
        self.offeredSubprotocols = offered.map(String.init)
        self.policy = policy
        if let deflate = policy.deflate {
            deflateOutcome = deflate.negotiate(requestLines: fields[values: .secWebSocketExtensions])
        } else {
            deflateOutcome = nil
        }
    }

    /// The subprotocol the policy selects: the first of `policy.subprotocols` the client offered.
    public var selectedSubprotocol: String? {
        policy.subprotocols.first { offeredSubprotocols.contains($0) }
    }

    /// The agreed permessage-deflate parameters, if an offer was accepted.
    public var deflate: PerMessageDeflateParameters? { deflateOutcome?.acceptance?.parameters }

    /// Accepts with the policy's subprotocol (``selectedSubprotocol``).
    ///
    /// - Throws: `invalid-header-field` when a field of `headerFields` cannot be written in
    ///   HTTP/1.1 (a control character in a value, say).
    public func accept(headerFields: HTTPFields = [:]) throws(WebSocketUsageError) -> WebSocketServerAcceptance {
        try accept(subprotocol: selectedSubprotocol, headerFields: headerFields)
    }

    /// Accepts with a subprotocol of the caller's choice, which must be one the client offered
    /// (`subprotocol-not-offered` otherwise), or `nil` for none. `invalid-header-field` when a
    /// field of `headerFields` cannot be written in HTTP/1.1.
    ///
    /// - Parameter headerFields: more fields for the 101 (e.g. `Set-Cookie`); the handshake's
    ///   own fields are replaced.
    public func accept(subprotocol: String?, headerFields: HTTPFields = [:]) throws(WebSocketUsageError) -> WebSocketServerAcceptance {
        if let subprotocol, !offeredSubprotocols.contains(subprotocol) {
            throw WebSocketUsageError(.subprotocolNotOffered)
        }
        var fields = HTTPFields()
        fields[.upgrade] = "websocket"
        fields[.connection] = "Upgrade"
        fields[.secWebSocketAccept] = WebSocketHandshake.acceptValue(forKey: key)
        if let subprotocol { fields[.secWebSocketProtocol] = subprotocol }
        if let acceptance = deflateOutcome?.acceptance { fields[.secWebSocketExtensions] = acceptance.headerValue }
        let ours: [HTTPField.Name] = [
            .upgrade, .connection, .secWebSocketAccept, .secWebSocketProtocol, .secWebSocketExtensions,
            .contentLength, .transferEncoding,
        ]
        for field in headerFields where !ours.contains(field.name) { fields.append(field) }
        let acceptance = WebSocketServerAcceptance(
            response: HTTPResponse(status: .switchingProtocols, headerFields: fields),
            negotiation: WebSocketNegotiation(subprotocol: subprotocol, deflate: deflate))
        var probe: [UInt8] = []
        guard (try? acceptance.write(into: &probe)) != nil else { throw WebSocketUsageError(.invalidHeaderField) }
        return acceptance
    }

    /// A rejection chosen by the application (after checking a cookie or the path, say): the
    /// status (e.g. 401, 403, 404), `Connection: close`, and `Content-Length: 0` unless
    /// `headerFields` frames a body (which the caller then writes).
    public static func rejection(status: HTTPResponse.Status, headerFields: HTTPFields = [:]) -> HTTPResponse {
        var fields = headerFields
        fields[.connection] = "close"
        if fields[.contentLength] == nil && fields[.transferEncoding] == nil { fields[.contentLength] = "0" }
        return HTTPResponse(status: status, headerFields: fields)
    }
}

/// The server's `101 Switching Protocols` and what it agreed to.
public struct WebSocketServerAcceptance: Sendable, Hashable {
    /// The 101 response.
    public let response: HTTPResponse
    /// The subprotocol and extension parameters the connection uses.
    public let negotiation: WebSocketNegotiation

    /// Appends the 101 as HTTP/1.1 bytes (``WebSocketServerHandshake/accept(subprotocol:headerFields:)``
    /// checked that it can be written).
    public func writeResponse(into out: inout [UInt8]) {
        do {
            try write(into: &out)
        } catch {
            preconditionFailure("the 101 response is not serializable: \(error)")
        }
    }

    func write(into out: inout [UInt8]) throws(HTTP1UsageError) {
        var serializer = HTTP1Serializer(role: .server)
        try serializer.writeHead(response, respondingTo: .get, into: &out)
    }

    /// The 101 as HTTP/1.1 bytes.
    public var responseBytes: [UInt8] {
        var out: [UInt8] = []
        writeResponse(into: &out)
        return out
    }
}
