public import HTTPTypes
import WireCore

/// The client's side of a WebSocket over an HTTP/2 (or HTTP/3) stream (RFC 8441 §4–5): the
/// extended CONNECT request, and the checks of the server's answer. The HTTP/2 counterpart of
/// ``WebSocketClientHandshake``.
///
/// ```swift
/// // only once the server's SETTINGS had SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 (RFC 8441 §3)
/// let handshake = try WebSocketExtendedConnectClientHandshake(
///     authority: "example.com", path: "/chat", subprotocols: ["chat.v2"], deflate: .init())
/// send(handshake.request)                        // HEADERS, without END_STREAM
/// // ... the response's HEADERS, then:
/// switch try handshake.validate(response) {
/// case .accepted(let negotiation): // WebSocketConnection(role: .client, negotiation: negotiation)
/// case .rejected(let response):    // e.g. 401 or 404, handed back intact (a body may follow)
/// case .interim:                   // a 1xx: wait for the final response
/// }
/// ```
public struct WebSocketExtendedConnectClientHandshake: Sendable, Hashable {
    /// What the server answered.
    public enum Outcome: Sendable, Hashable {
        /// A valid `200`: the stream's DATA carries the WebSocket from now on.
        case accepted(WebSocketNegotiation)
        /// Any other final status: the response as received. The WebSocket was not established
        /// (RFC 8441 §5: "any status code other than 200").
        case rejected(HTTPResponse)
        /// An interim (1xx) response, such as 103 Early Hints: not the answer yet (RFC 9110 §15.2).
        case interim
    }

    /// The request to send: `:method CONNECT`, `:protocol websocket`, `:scheme`, `:path`,
    /// `:authority`, then `sec-websocket-version: 13`, `origin`, `sec-websocket-protocol`,
    /// `sec-websocket-extensions`, then the caller's fields.
    public let request: HTTPRequest
    /// The subprotocols offered, most preferred first.
    public let subprotocols: [String]
    /// The permessage-deflate offer, if any.
    public let deflate: PerMessageDeflateClientOffer?

    /// Builds the extended CONNECT request.
    ///
    /// - Parameters:
    ///   - authority: the server's `host[:port]`, sent as `:authority` (HTTP/2 has no `Host`).
    ///   - path: path and query of the `ws://`/`wss://` URI, sent as `:path` (origin-form).
    ///   - scheme: `https` (the default; `wss` is accepted and spelled `https`) or `http`
    ///     (`ws`), sent as `:scheme` (RFC 8441 §5).
    ///   - origin: the `origin` to send (browsers always do; other clients may).
    ///   - subprotocols: tokens offered in `sec-websocket-protocol`, in order of preference.
    ///   - deflate: a permessage-deflate offer (RFC 7692 §5), or `nil` for no extension,
    ///     written exactly as over HTTP/1.1.
    ///   - headerFields: more fields (cookies, authorization, ...), after ours. The handshake's
    ///     own fields and `host` are replaced.
    /// - Throws: `invalid-scheme` for another scheme; `invalid-subprotocol` when a subprotocol
    ///   is not a token (or is repeated); `invalid-header-field` for an empty or malformed
    ///   authority (userinfo included), a path that is not origin-form visible ASCII, or a
    ///   hop-by-hop field (`connection`, `upgrade`, ...: HTTP/2 forbids them, RFC 9113 §8.2.2).
    public init(
        authority: String, path: String = "/", scheme: String = "https", origin: String? = nil,
        subprotocols: [String] = [], deflate: PerMessageDeflateClientOffer? = nil,
        headerFields: HTTPFields = [:]
    ) throws(WebSocketUsageError) {
        guard let requestScheme = WebSocketExtendedConnect.requestScheme(scheme) else {
            throw WebSocketUsageError(.invalidScheme)
        }
        guard WebSocketExtendedConnect.isValidAuthority(authority), WebSocketExtendedConnect.isValidPath(path) else {
            throw WebSocketUsageError(.invalidHeaderField)
        }
        for name in subprotocols where !WebSocketHandshake.isToken(name) {
            throw WebSocketUsageError(.invalidSubprotocol)
        }
        guard Set(subprotocols).count == subprotocols.count else { throw WebSocketUsageError(.invalidSubprotocol) }
        guard !WebSocketExtendedConnect.hasConnectionSpecificField(headerFields) else {
            throw WebSocketUsageError(.invalidHeaderField)
        }
        self.subprotocols = subprotocols
        self.deflate = deflate
        var fields = HTTPFields()
        fields[.secWebSocketVersion] = WebSocketHandshake.version
        if let origin { fields[.origin] = origin }
        if !subprotocols.isEmpty { fields[.secWebSocketProtocol] = subprotocols.joined(separator: ", ") }
        if let deflate, !deflate.offers.isEmpty { fields[.secWebSocketExtensions] = deflate.headerValue }
        let ours: [HTTPField.Name] = [
            .secWebSocketKey, .secWebSocketVersion, .secWebSocketProtocol, .secWebSocketExtensions, .origin,
            .contentLength,
        ]
        for field in headerFields where !ours.contains(field.name) && field.name.canonicalName != "host" {
            fields.append(field)
        }
        var request = HTTPRequest(method: .connect, scheme: requestScheme, authority: authority, path: path, headerFields: fields)
        request.extendedConnectProtocol = WebSocketExtendedConnect.protocolName
        self.request = request
    }

    /// Checks the server's answer (RFC 8441 §5 with RFC 6455 §4.1's checks of the fields that
    /// remain):
    ///
    /// 1. a 1xx is ``Outcome/interim``; a final status other than 200 is handed back as
    ///    ``Outcome/rejected(_:)`` (a 2xx other than 200 included: the RFC names 200);
    /// 2. `sec-websocket-extensions` only if we offered permessage-deflate, and then an answer
    ///    that fits the offer (RFC 7692 §7.1), exactly as over HTTP/1.1;
    /// 3. `sec-websocket-protocol`, if present, exactly one of the offered subprotocols.
    ///
    /// There is no `sec-websocket-accept` to check (§5); one that is present is ignored.
    public func validate(_ response: HTTPResponse) throws(WebSocketHandshakeError) -> Outcome {
        if response.status.kind == .informational { return .interim }
        guard response.status == .ok else { return .rejected(response) }
        let fields = response.headerFields
        var negotiation = WebSocketNegotiation()
        let extensionLines = fields[values: .secWebSocketExtensions]
        if !WebSocketHandshake.listElements(extensionLines).isEmpty {
            guard let deflate, !deflate.offers.isEmpty else { throw WebSocketHandshakeError(.extensionNotOffered) }
            do {
                negotiation.deflate = try deflate.validate(answerLines: extensionLines)
            } catch {
                switch error.code {
                case .unexpectedExtension: throw WebSocketHandshakeError(.extensionNotOffered, deflate: error)
                case .malformed: throw WebSocketHandshakeError(.malformedExtensions, deflate: error)
                default: throw WebSocketHandshakeError(.extensionNegotiationFailed, deflate: error)
                }
            }
        }
        let protocols = WebSocketHandshake.listElements(fields[values: .secWebSocketProtocol])
        if !protocols.isEmpty {
            guard protocols.count == 1, let chosen = subprotocols.first(where: { $0 == protocols[0] }) else {
                throw WebSocketHandshakeError(.subprotocolNotOffered)
            }
            negotiation.subprotocol = chosen
        }
        return .accepted(negotiation)
    }
}
