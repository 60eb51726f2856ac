public import HTTPTypes
import WireCore

// WebSocket over an HTTP/2 stream (RFC 8441; HTTP/3 uses the same request, RFC 9220): the
// opening handshake is an extended CONNECT request answered by a 200, and the stream's DATA
// carries the WebSocket's bytes. Nothing here knows HTTP/2 frames: the HTTP layer converts
// HEADERS to and from `HTTPRequest`/`HTTPResponse`, and an open `WebSocketConnection` runs
// over the stream's bytes unchanged. `Spec/http2.md` has the requirements and their tests.

/// Constants of RFC 8441 and how a WebSocket's end maps onto its stream.
public enum WebSocketExtendedConnect {
    /// The `:protocol` value that asks for a WebSocket (RFC 8441 §5).
    public static let protocolName = "websocket"

    /// `SETTINGS_ENABLE_CONNECT_PROTOCOL` (RFC 8441 §3, §9.1): a server sends it with the value
    /// 1 to allow extended CONNECT; a client must not send one before it has received it.
    public static let settingsIdentifier: UInt16 = 0x8

    /// The HTTP/2 error code of the `RST_STREAM` that ends a failed WebSocket: `CANCEL`
    /// (RFC 8441 §5, RFC 9113 §7). Over HTTP/3 it is `H3_REQUEST_CANCELLED` (0x10c, RFC 9220 §3).
    public static let resetErrorCode: UInt32 = 0x8

    /// Fields HTTP/2 and HTTP/3 forbid because they describe a hop-by-hop connection (RFC 9113
    /// §8.2.2, RFC 9114 §4.2); `Connection` and `Upgrade` in particular must not be sent in an
    /// extended CONNECT (RFC 8441 §5). `TE` is allowed with the value `trailers` only.
    static let connectionSpecificFieldNames: [String] = [
        "connection", "upgrade", "keep-alive", "proxy-connection", "transfer-encoding",
    ]

    /// Whether `fields` hold a field that HTTP/2 cannot carry (see above).
    static func hasConnectionSpecificField(_ fields: HTTPFields) -> Bool {
        fields.contains(where: isConnectionSpecific)
    }

    /// Whether HTTP/2 forbids `field` (see above).
    static func isConnectionSpecific(_ field: HTTPField) -> Bool {
        let name = field.name.canonicalName
        if connectionSpecificFieldNames.contains(name) { return true }
        return name == "te" && !WebSocketHandshake.equalsIgnoringCase(field.value, "trailers")
    }

    /// `ws`/`wss` are spelled `http`/`https` in `:scheme` (RFC 8441 §5); `nil` for any other.
    static func requestScheme(_ scheme: String) -> String? {
        switch scheme.lowercased() {
        case "http", "ws": "http"
        case "https", "wss": "https"
        default: nil
        }
    }

    /// Whether `path` can be `:path`: origin-form (RFC 9112 §3.2.1), visible ASCII only.
    static func isValidPath(_ path: String) -> Bool {
        path.utf8.first == UInt8(ascii: "/") && path.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }
    }

    /// Whether `authority` can be `:authority` for an `http`/`https` target: `host[:port]`,
    /// visible ASCII, no userinfo (RFC 9113 §8.3.1), no path.
    static func isValidAuthority(_ authority: String) -> Bool {
        !authority.isEmpty
            && authority.utf8.allSatisfy { byte in
                byte > 0x20 && byte < 0x7F && byte != UInt8(ascii: "/") && byte != UInt8(ascii: "?")
                    && byte != UInt8(ascii: "#") && byte != UInt8(ascii: "@")
            }
    }
}

/// What to do with the HTTP/2 (or HTTP/3) stream under a ``WebSocketConnection``: RFC 8441 §5
/// maps TCP's orderly close to `END_STREAM` and its abortive close to `RST_STREAM(CANCEL)`.
///
/// Over a stream both ends close their half after the closing handshake: there is no TCP
/// TIME_WAIT to keep off the server, so the client does not wait for the server as it does
/// over TCP (RFC 6455 §7.1.1). The stream is over when both halves are closed; a transport
/// that sent `END_STREAM` and does not see the peer's within the closing timeout resets it.
public enum WebSocketStreamDirective: Sendable, Hashable {
    /// Keep reading and writing DATA.
    case keepOpen
    /// Write what ``WebSocketConnection/takeOutbound()`` returns, with `END_STREAM` on the last
    /// DATA frame (or an empty DATA frame with `END_STREAM`): the closing handshake is done, or
    /// the peer ended its half of the stream first.
    case endStream
    /// Write what is pending (the close frame of a protocol error, say), then reset the
    /// stream with ``WebSocketExtendedConnect/resetErrorCode`` (`CANCEL`): the WebSocket
    /// failed (protocol error, keep-alive or closing timeout).
    case resetStream
}

extension WebSocketConnection {
    /// What to do with the stream when this connection runs over an HTTP/2 or HTTP/3 stream
    /// (RFC 8441 §5) — use it instead of ``transport``, which speaks of TCP. The peer's
    /// `END_STREAM` is ``receiveEOF()``; so is its `RST_STREAM` (then nothing can be written).
    public var streamDirective: WebSocketStreamDirective {
        guard case .closed(let closure) = state else { return .keepOpen }
        switch closure.cause {
        case .closeReceived, .closeAnswered, .endOfStream: return .endStream
        case .protocolError, .peerOverdue, .closingTimedOut, .handshakeRejected, .handshakeFailed: return .resetStream
        }
    }
}

// MARK: Errors of the extended CONNECT handshake

extension WebSocketHandshakeError.Code {
    /// Server: a request that is not a CONNECT (400).
    public static let methodNotCONNECT = Self(.methodNotCONNECT)
    /// Server: a CONNECT without `:protocol`, i.e. a request for a tunnel (400, RFC 8441 §4).
    public static let missingProtocol = Self(.missingProtocol)
    /// Server: a `:protocol` other than `websocket` (501, RFC 9220 §3).
    public static let unsupportedProtocol = Self(.unsupportedProtocol)
    /// Server: no `:scheme` (400, RFC 8441 §4).
    public static let missingScheme = Self(.missingScheme)
    /// Server: a `:scheme` other than `http` or `https` (400, RFC 8441 §5).
    public static let invalidScheme = Self(.invalidScheme)
    /// Server: no `:path`, or an empty one (400, RFC 8441 §4).
    public static let missingPath = Self(.missingPath)
    /// Server: `Connection`, `Upgrade` or another hop-by-hop field, which HTTP/2 forbids (400,
    /// RFC 8441 §5, RFC 9113 §8.2.2).
    public static let connectionSpecificField = Self(.connectionSpecificField)
}

extension WebSocketHandshakeError {
    /// The rejection over HTTP/2 or HTTP/3 for this error: the status hint (400 if none; a 426
    /// becomes 400, since HTTP/2 has no `Upgrade` to name), `sec-websocket-version: 13` for a
    /// version mismatch (RFC 6455 §4.4), and nothing hop-by-hop: the stream ends with the
    /// HEADERS (`END_STREAM`).
    public var extendedConnectResponse: HTTPResponse {
        var status = statusHint ?? .badRequest
        if status == .upgradeRequired { status = .badRequest }
        var fields = HTTPFields()
        if code == .unsupportedVersion { fields[.secWebSocketVersion] = WebSocketHandshake.version }
        return HTTPResponse(status: status, headerFields: fields)
    }
}
