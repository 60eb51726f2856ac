public import HTTPTypes
public import WireHTTP1
import WireCore

/// The client's side of the opening handshake (RFC 6455 §4.1): the Upgrade request, and the
/// checks of the server's answer.
///
/// ```swift
/// let handshake = try WebSocketClientHandshake(authority: "example.com", path: "/chat",
///                                              subprotocols: ["chat.v2"], deflate: .init())
/// write(handshake.requestBytes)
/// // ... parse the response head, then:
/// switch try handshake.validate(responseHead) {
/// case .accepted(let negotiation): // WebSocketConnection(role: .client, negotiation: negotiation)
/// case .rejected(let response):    // e.g. 401 or a redirect, handed back intact
/// }
/// ```
///
/// ``WebSocketConnection/init(client:configuration:)`` drives all of this from bytes.
public struct WebSocketClientHandshake: Sendable, Hashable {
    /// What the server answered.
    public enum Outcome: Sendable, Hashable {
        /// A valid `101 Switching Protocols`: the connection speaks WebSocket from the byte
        /// after the head.
        case accepted(WebSocketNegotiation)
        /// Any other final status (a 401 to authenticate, a 3xx with `Location`, ...): the
        /// response as received. The WebSocket connection was not established.
        case rejected(HTTPResponse)
    }

    /// The `Sec-WebSocket-Key` sent (base64 of 16 random bytes).
    public let key: String
    /// The request to send.
    public let request: HTTPRequest
    /// The subprotocols offered, most preferred first.
    public let subprotocols: [String]
    /// The permessage-deflate offer, if any.
    public let deflate: PerMessageDeflateClientOffer?

    /// Builds the Upgrade request.
    ///
    /// - Parameters:
    ///   - authority: the server's `host[:port]`, sent as `Host` (§4.1 item 4).
    ///   - path: the request target: path and query of the `ws://`/`wss://` URI (§3).
    ///   - scheme: the `HTTPRequest` scheme (`"http"` for `ws://`, `"https"` for `wss://`;
    ///     HTTP/1.1 does not send it).
    ///   - origin: the `Origin` to send (§4.1 item 8: browsers must; other clients may).
    ///   - subprotocols: tokens offered in `Sec-WebSocket-Protocol`, in order of preference.
    ///   - deflate: a permessage-deflate offer (RFC 7692 §5), or `nil` for no extension.
    ///   - headerFields: more fields (cookies, authorization, ...), written after ours. Fields
    ///     the handshake sets itself (Upgrade, Connection, the `Sec-WebSocket-*` ones) are
    ///     replaced.
    ///   - random: the source of the key's 16 bytes.
    /// - Throws: `invalid-subprotocol` when a subprotocol is not a token (or is repeated),
    ///   `invalid-header-field` when the authority, path or a field cannot be written in
    ///   HTTP/1.1 (a space in the path, a control character in a value, ...).
    public init<R: RandomNumberGenerator>(
        authority: String, path: String = "/", scheme: String = "http", origin: String? = nil,
        subprotocols: [String] = [], deflate: PerMessageDeflateClientOffer? = nil,
        headerFields: HTTPFields = [:], random: inout R
    ) throws(WebSocketUsageError) {
        try self.init(
            authority: authority, path: path, scheme: scheme, origin: origin, subprotocols: subprotocols,
            deflate: deflate, headerFields: headerFields, key: WebSocketHandshake.makeKey(using: &random))
    }

    /// Builds the Upgrade request with a key from `SystemRandomNumberGenerator`.
    public init(
        authority: String, path: String = "/", scheme: String = "http", origin: String? = nil,
        subprotocols: [String] = [], deflate: PerMessageDeflateClientOffer? = nil,
        headerFields: HTTPFields = [:]
    ) throws(WebSocketUsageError) {
        var random = SystemRandomNumberGenerator()
        try self.init(
            authority: authority, path: path, scheme: scheme, origin: origin, subprotocols: subprotocols,
            deflate: deflate, headerFields: headerFields, random: &random)
    }

    /// Builds the Upgrade request with a given key (tests, replays). The key must be base64
    /// of 16 bytes (`invalid-key` otherwise).
    public init(
        authority: String, path: String = "/", scheme: String = "http", origin: String? = nil,
        subprotocols: [String] = [], deflate: PerMessageDeflateClientOffer? = nil,
        headerFields: HTTPFields = [:], key: String
    ) throws(WebSocketUsageError) {
        guard WebSocketHandshake.isValidKey(key) else { throw WebSocketUsageError(.invalidKey) }
        for name in subprotocols where !WebSocketHandshake.isToken(name) {
            throw WebSocketUsageError(.invalidSubprotocol)
        }
        guard Set(subprotocols).count == subprotocols.count else { throw WebSocketUsageError(.invalidSubprotocol) }
        self.key = key
        self.subprotocols = subprotocols
        self.deflate = deflate
        var fields = HTTPFields()
        fields[.upgrade] = "websocket"
        fields[.connection] = "Upgrade"
        fields[.secWebSocketKey] = key
        fields[.secWebSocketVersion] = WebSocketHandshake.version
        if let origin { fields[.origin] = origin }
        if !subprotocols.isEmpty { fields[.secWebSocketProtocol] = subprotocols.joined(separator: ", ") }
        if let deflate, !deflate.offers.isEmpty { fields[.secWebSocketExtensions] = deflate.headerValue }
        let ours: [HTTPField.Name] = [
            .upgrade, .connection, .secWebSocketKey, .secWebSocketVersion, .secWebSocketProtocol,
            .secWebSocketExtensions, .origin,
        ]
        for field in headerFields where !ours.contains(field.name) && field.name.canonicalName != "host" {
            fields.append(field)
        }
        // RFC 6455 §3: a WebSocket URI has no fragment, so its resource name never holds "#".
        guard !path.utf8.contains(UInt8(ascii: "#")) else { throw WebSocketUsageError(.invalidHeaderField) }
        request = HTTPRequest(method: .get, scheme: scheme, authority: authority, path: path, headerFields: fields)
        var probe: [UInt8] = []
        var serializer = HTTP1Serializer(role: .client)
        guard (try? serializer.writeHead(request, into: &probe)) != nil else { throw WebSocketUsageError(.invalidHeaderField) }
    }

    /// The `Sec-WebSocket-Accept` a valid answer carries.
    public var expectedAccept: String { WebSocketHandshake.acceptValue(forKey: key) }

    /// Appends the request as HTTP/1.1 bytes (`Host` first, then the fields in order).
    public func writeRequest(into out: inout [UInt8]) {
        var serializer = HTTP1Serializer(role: .client)
        do {
            try serializer.writeHead(request, into: &out)
        } catch {
            preconditionFailure("init checked that the request can be written: \(error)")
        }
    }

    /// The request as HTTP/1.1 bytes.
    public var requestBytes: [UInt8] {
        var out: [UInt8] = []
        writeRequest(into: &out)
        return out
    }

    /// Checks a parsed response head (see ``validate(_:)-(HTTPResponse)``).
    public func validate(_ head: HTTP1ResponseHead) throws(WebSocketHandshakeError) -> Outcome {
        let response: HTTPResponse
        do {
            response = try head.httpResponse()
        } catch {
            throw WebSocketHandshakeError(.malformedHTTP, http: error)
        }
        return try validate(response)
    }

    /// Checks the server's final answer (§4.1, "the client MUST validate the server's response
    /// as follows"):
    ///
    /// 1. a status other than 101 is handed back as ``Outcome/rejected(_:)``;
    /// 2. `Upgrade` must be `websocket` (case-insensitive; nothing else, RFC 6455 §4.1),
    ///    `Connection` must list the token `upgrade` (case-insensitive, in comma-separated lists);
    /// 3. exactly one `Sec-WebSocket-Accept`, equal to ``expectedAccept``;
    /// 4. `Sec-WebSocket-Extensions` only if we offered permessage-deflate, and then an answer
    ///    that fits the offer (RFC 7692 §7.1);
    /// 5. `Sec-WebSocket-Protocol`, if present, exactly one of the offered subprotocols.
    public func validate(_ response: HTTPResponse) throws(WebSocketHandshakeError) -> Outcome {
        guard response.status.code == 101 else { return .rejected(response) }
        let fields = response.headerFields
        let upgrades = WebSocketHandshake.listElements(fields[values: .upgrade])
        guard upgrades.count == 1, upgrades[0].lowercased() == "websocket" else {
            throw WebSocketHandshakeError(.missingUpgrade)
        }
        guard WebSocketHandshake.listContains(fields[values: .connection], token: "upgrade") else {
            throw WebSocketHandshakeError(.missingConnectionUpgrade)
        }
        let accepts = fields[values: .secWebSocketAccept]
        guard accepts.count == 1 else { throw WebSocketHandshakeError(.missingAccept) }
        guard WebSocketHandshake.trimWhitespace(accepts[0][...]) == expectedAccept else {
            throw WebSocketHandshakeError(.acceptMismatch)
        }

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
            // §4.1 item 6: a value that was not offered fails the connection; one value only.
            guard protocols.count == 1, let chosen = subprotocols.first(where: { $0 == protocols[0] }) else {
                throw WebSocketHandshakeError(.subprotocolNotOffered)
            }
            negotiation.subprotocol = chosen
        }
        return .accepted(negotiation)
    }
}
