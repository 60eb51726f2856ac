public import HTTPTypes
public import NIOCore
public import WireWebSocket

/// A valid WebSocket Upgrade request, for the application to accept or reject.
///
/// The server has already checked it (RFC 6455 §4.2.1: method, key, version, the `Origin`
/// policy of ``WireServer/Configuration/webSocketPolicy``; over HTTP/2 the extended CONNECT
/// of RFC 8441 §5 under the same policy) and answered a bad one itself (400, 403, 426, 501);
/// what comes here is the application's decision: the path, cookies, the subprotocol,
/// compression. It is the same whichever HTTP carried it.
public struct WebSocketUpgradeRequest: Sendable {
    /// The request (path, query, cookies, `Origin`). Over HTTP/2 its method is CONNECT and
    /// its `extendedConnectProtocol` is `websocket`.
    public var request: HTTPRequest {
        switch handshake {
        case .http1(let handshake): handshake.request
        case .http2(let handshake): handshake.request
        }
    }
    /// The subprotocols the client offered, in its order.
    public var offeredSubprotocols: [String] {
        switch handshake {
        case .http1(let handshake): handshake.offeredSubprotocols
        case .http2(let handshake): handshake.offeredSubprotocols
        }
    }
    /// Whether the client offered permessage-deflate.
    public var offersDeflate: Bool {
        !(request.headerFields[values: .secWebSocketExtensions].isEmpty)
    }
    /// HTTP/1.1 (an `Upgrade: websocket` answered by 101, RFC 6455 §4) or HTTP/2 (an
    /// extended CONNECT answered by 200, RFC 8441).
    public var httpVersion: WireHTTPVersion {
        switch handshake {
        case .http1: .http1_1
        case .http2: .http2
        }
    }
    /// The client's address.
    public let remoteAddress: SocketAddress?

    enum Handshake: Sendable {
        case http1(WebSocketServerHandshake)
        case http2(WebSocketExtendedConnectServerHandshake)
    }

    let handshake: Handshake

    init(handshake: WebSocketServerHandshake, remoteAddress: SocketAddress?) {
        self.handshake = .http1(handshake)
        self.remoteAddress = remoteAddress
    }

    init(extendedConnect handshake: WebSocketExtendedConnectServerHandshake, remoteAddress: SocketAddress?) {
        self.handshake = .http2(handshake)
        self.remoteAddress = remoteAddress
    }

    /// The path without the query.
    public var path: Substring {
        let full = request.path ?? "/"
        return full[..<(full.firstIndex(of: "?") ?? full.endIndex)]
    }

    /// The value of a query parameter, `nil` when absent.
    public func queryItem(_ name: String) -> Substring? {
        HTTPServerRequest(head: request, body: HTTPRequestBody(ByteBuffer())).queryItem(name)
    }
}

/// The application's answer to a ``WebSocketUpgradeRequest``.
public struct WebSocketUpgradeDecision: Sendable {
    /// Which permessage-deflate policy an accepted connection negotiates under.
    public enum Deflate: Sendable {
        /// ``WireServer/Configuration/webSocketPolicy``'s (the default).
        case asConfigured
        /// None: every offer is declined.
        case off
        /// This policy (window sizes, context takeover).
        case policy(PerMessageDeflateServerPolicy)
    }

    enum Kind: Sendable {
        case accept(
            subprotocol: String?, deflate: Deflate, headerFields: HTTPFields, configuration: WebSocketConfiguration?,
            sendQueue: WebSocketSendQueueConfiguration?, handler: @Sendable (WebSocket) async throws -> Void)
        case reject(HTTPResponse, ByteBuffer)
    }

    let kind: Kind
    /// Set by ``acceptOnEventLoop(subprotocol:deflate:headerFields:configuration:sendQueue:onOpen:onMessage:onClose:)``:
    /// over HTTP/1.1 the connection is served from its event loop (`kind`'s handler is what
    /// an HTTP/2 stream runs instead).
    var eventLoopServing: EventLoopWebSocketServing?

    /// Accepts: the server sends `101 Switching Protocols` and runs `handler` over the open
    /// WebSocket. When it returns, the server finishes the closing handshake (1000 if the
    /// connection is still open; 1011 if it threw).
    ///
    /// - Parameters:
    ///   - subprotocol: one the client offered (`nil`: the first of the configured policy's
    ///     subprotocols the client offered, if any). Another value fails the handshake with 500.
    ///   - deflate: the permessage-deflate policy for this connection.
    ///   - headerFields: more fields for the 101 (`Set-Cookie`, say).
    ///   - configuration: limits, keep-alive pings, timeouts (`nil`: the server's).
    ///   - sendQueue: the bound on messages held for a slow reader and the policy when it is
    ///     reached (`nil`: the server's ``WireServer/Configuration/webSocketSendQueue``).
    public static func accept(
        subprotocol: String? = nil, deflate: Deflate = .asConfigured, headerFields: HTTPFields = [:],
        configuration: WebSocketConfiguration? = nil, sendQueue: WebSocketSendQueueConfiguration? = nil,
        handler: @escaping @Sendable (WebSocket) async throws -> Void
    ) -> Self {
        Self(kind: .accept(
            subprotocol: subprotocol, deflate: deflate, headerFields: headerFields, configuration: configuration,
            sendQueue: sendQueue, handler: handler))
    }

    /// Rejects with this status (401, 403, 404…), `Connection: close`, and an optional
    /// text body.
    public static func reject(_ status: HTTPResponse.Status, headerFields: HTTPFields = [:], body: String = "") -> Self {
        var fields = headerFields
        fields[.contentLength] = String(body.utf8.count)
        if !body.isEmpty && fields[.contentType] == nil { fields[.contentType] = "text/plain; charset=utf-8" }
        return Self(kind: .reject(
            WebSocketServerHandshake.rejection(status: status, headerFields: fields), ByteBuffer(string: body)))
    }
}
