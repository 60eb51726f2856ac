import HTTPTypes
import Logging
import NIOCore
import WireHTTP1
import WireWebSocket

/// The server side of either opening handshake — an HTTP/1.1 Upgrade
/// (``WebSocketServerHandshake``) or an RFC 8441 extended CONNECT on an HTTP/2 stream
/// (``WebSocketExtendedConnectServerHandshake``) — as far as switching to a WebSocket needs it.
protocol ServerWebSocketHandshake: Sendable {
    associatedtype Acceptance: ServerWebSocketAcceptance
    var request: HTTPRequest { get }
    var selectedSubprotocol: String? { get }
    init(validating request: HTTPRequest, policy: WebSocketServerPolicy) throws(WebSocketHandshakeError)
    func accept(subprotocol: String?, headerFields: HTTPFields) throws(WebSocketUsageError) -> Acceptance
}

/// An accepted handshake's answer (`101` over HTTP/1.1, `200` over HTTP/2) and what it agreed.
protocol ServerWebSocketAcceptance: Sendable {
    var response: HTTPResponse { get }
    var negotiation: WebSocketNegotiation { get }
}

extension WebSocketServerHandshake: ServerWebSocketHandshake {}
extension WebSocketExtendedConnectServerHandshake: ServerWebSocketHandshake {}
extension WebSocketServerAcceptance: ServerWebSocketAcceptance {}
extension WebSocketExtendedConnectAcceptance: ServerWebSocketAcceptance {}

/// How ``ServerConnection/switchToWebSocket(_:subprotocol:deflate:headerFields:webSocketConfiguration:sendQueue:handler:)`` ended.
enum WebSocketSwitchOutcome {
    /// The decision cannot be accepted (a subprotocol the client did not offer): nothing was
    /// written; the caller answers `500`.
    case notAcceptable
    /// The connection (or stream) ended before the pipeline switched.
    case ended
    /// The WebSocket ran, and its handler is done.
    case ran
    /// The WebSocket is open and served from its event loop (``EventLoopWebSocketBridge``).
    case detached
}

/// How ``ServerConnection/startWebSocket(_:subprotocol:deflate:headerFields:webSocketConfiguration:sendQueue:handler:)`` ended.
enum WebSocketStartOutcome {
    /// The decision cannot be accepted: nothing was written; the caller answers `500`.
    case notAcceptable
    /// The connection ended before the pipeline switched.
    case ended
    /// The handler runs; the future is done when it is (and the closing handshake with it).
    case started(EventLoopFuture<Void>)
}

extension ServerConnection {
    /// A rejecting decision's answer: its response, its body if any, the end.
    static func rejection(_ response: HTTPResponse, body: ByteBuffer) -> [ServerConnectionOutbound] {
        var events: [ServerConnectionOutbound] = [.http(.response(response))]
        if body.readableBytes > 0 { events.append(.http(.body([UInt8](body.readableBytesView)))) }
        events.append(.http(.end(trailers: nil)))
        return events
    }

    /// What follows an application's accepting ``WebSocketUpgradeDecision``, over HTTP/1.1 and
    /// HTTP/2 alike: the handshake validated again under the decision's permessage-deflate
    /// choice, its acceptance written as the pipeline's switch to WebSocket (the pipeline
    /// switches once the answer is out), then `handler` run on the WebSocket.
    func switchToWebSocket<Handshake: ServerWebSocketHandshake>(
        _ handshake: Handshake, subprotocol: String?, deflate: WebSocketUpgradeDecision.Deflate, headerFields: HTTPFields,
        webSocketConfiguration: WebSocketConfiguration?, sendQueue: WebSocketSendQueueConfiguration?,
        handler: @escaping @Sendable (WebSocket) async throws -> Void
    ) async throws -> WebSocketSwitchOutcome {
        guard let (agreed, acceptance) = try agree(handshake, subprotocol: subprotocol, deflate: deflate, headerFields: headerFields)
        else { return .notAcceptable }
        try await outbound.write(.switchToWebSocket(
            response: acceptance.response, negotiation: acceptance.negotiation,
            configuration: webSocketConfiguration ?? configuration.webSocket,
            sendQueue: sendQueue ?? configuration.webSocketSendQueue))
        guard let opened = try await awaitOpened() else { return .ended }
        try await runWebSocket(request: agreed.request, negotiation: acceptance.negotiation, reference: opened, handler: handler)
        return .ran
    }

    /// As ``switchToWebSocket(_:subprotocol:deflate:headerFields:webSocketConfiguration:sendQueue:handler:)``,
    /// without waiting for the handler (HTTP/1.1): it runs in the connection's activity task,
    /// so that the connection's task can end and free what it holds while the WebSocket is
    /// open (its async frames from the HTTP phase, its allocator's slabs).
    func startWebSocket<Handshake: ServerWebSocketHandshake>(
        _ handshake: Handshake, subprotocol: String?, deflate: WebSocketUpgradeDecision.Deflate, headerFields: HTTPFields,
        webSocketConfiguration: WebSocketConfiguration?, sendQueue: WebSocketSendQueueConfiguration?,
        handler: @escaping @Sendable (WebSocket) async throws -> Void
    ) async throws -> WebSocketStartOutcome {
        guard let (agreed, acceptance) = try agree(handshake, subprotocol: subprotocol, deflate: deflate, headerFields: headerFields)
        else { return .notAcceptable }
        try await outbound.write(.switchToWebSocket(
            response: acceptance.response, negotiation: acceptance.negotiation,
            configuration: webSocketConfiguration ?? configuration.webSocket,
            sendQueue: sendQueue ?? configuration.webSocketSendQueue))
        guard let opened = try await awaitOpened() else { return .ended }
        return .started(context.start(webSocketActivity(
            request: agreed.request, negotiation: acceptance.negotiation, reference: opened, handler: handler)))
    }

    /// As ``switchToWebSocket(_:subprotocol:deflate:headerFields:webSocketConfiguration:sendQueue:handler:)``,
    /// for a WebSocket served from its event loop: once the pipeline has switched, the
    /// callbacks have it and this returns ``WebSocketSwitchOutcome/detached`` (HTTP/1.1 only).
    func switchToEventLoopWebSocket<Handshake: ServerWebSocketHandshake>(
        _ handshake: Handshake, subprotocol: String?, deflate: WebSocketUpgradeDecision.Deflate, headerFields: HTTPFields,
        webSocketConfiguration: WebSocketConfiguration?, sendQueue: WebSocketSendQueueConfiguration?,
        serving: EventLoopWebSocketServing
    ) async throws -> WebSocketSwitchOutcome {
        guard let (_, acceptance) = try agree(handshake, subprotocol: subprotocol, deflate: deflate, headerFields: headerFields)
        else { return .notAcceptable }
        try await outbound.write(.switchToEventLoopWebSocket(
            response: acceptance.response, negotiation: acceptance.negotiation,
            configuration: webSocketConfiguration ?? configuration.webSocket,
            sendQueue: sendQueue ?? configuration.webSocketSendQueue, serving: serving))
        return try await awaitOpened() == nil ? .ended : .detached
    }

    /// Waits for the pipeline's switch (``ServerConnectionEvent/webSocketOpened(_:)``); `nil`
    /// when the connection ended first.
    private func awaitOpened() async throws -> WebSocketHandlerReference? {
        while let event = try await reader.next() {
            if case .webSocketOpened(let reference) = event { return reference }
            if case .httpFailed = event { return nil }
        }
        return nil
    }

    /// The handshake validated again under the decision's permessage-deflate choice, and its
    /// acceptance; `nil` when the decision cannot be accepted.
    private func agree<Handshake: ServerWebSocketHandshake>(
        _ handshake: Handshake, subprotocol: String?, deflate: WebSocketUpgradeDecision.Deflate, headerFields: HTTPFields
    ) throws -> (Handshake, Handshake.Acceptance)? {
        var policy = configuration.webSocketPolicy
        var agreed = handshake
        switch deflate {
        case .asConfigured:
            break
        case .off:
            policy.deflate = nil
            agreed = try Handshake(validating: handshake.request, policy: policy)
        case .policy(let deflatePolicy):
            policy.deflate = deflatePolicy
            agreed = try Handshake(validating: handshake.request, policy: policy)
        }
        let acceptance: Handshake.Acceptance
        do {
            acceptance = try agreed.accept(subprotocol: subprotocol ?? agreed.selectedSubprotocol, headerFields: headerFields)
        } catch {
            server.logger.debug("upgrade not acceptable", metadata: ["error": "\(error)"])
            return nil
        }
        return (agreed, acceptance)
    }
}
