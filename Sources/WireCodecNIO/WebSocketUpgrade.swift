public import HTTPTypes
public import NIOCore
public import WireHTTP1
public import WireWebSocket
import WireCore

/// The server's WebSocket upgrade path, after an ``HTTP1Handler`` (role `.server`).
///
/// An Upgrade request is checked with ``WebSocketServerHandshake`` under `policy`; a bad one
/// is answered with the handshake error's status (400, 403, 426) and the connection closes.
/// A good one goes to `decide`, which accepts (with extra fields for the 101) or rejects with
/// a status. After the 101 is written, the ``HTTP1Handler`` hands over the bytes that followed
/// the request; this handler then replaces both itself and the ``HTTP1Handler`` with a
/// ``WebSocketHandler`` over an open ``WebSocketConnection`` (fed those bytes first), followed
/// by the handlers `makeHandlers` returns.
///
/// Requests that are not Upgrade requests pass through to the next handler untouched.
public final class WebSocketServerUpgrader: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = HTTP1Event
    public typealias InboundOut = HTTP1Event
    public typealias OutboundOut = HTTP1OutboundEvent

    /// What to do with a valid Upgrade request.
    public enum Decision: Sendable {
        /// Switch, adding these fields to the 101 (the handshake's own fields are set).
        case accept(headerFields: HTTPFields = [:])
        /// Answer with this status (and `Connection: close`).
        case reject(HTTPResponse.Status)
    }

    private enum Phase {
        /// Passing HTTP events through.
        case http
        /// A valid Upgrade request is being read.
        case upgrading(WebSocketServerHandshake)
        /// A bad Upgrade request is being read; this is the answer.
        case rejecting(HTTPResponse)
        /// The 101 is out; waiting for the hand-over.
        case switching(WebSocketServerHandshake, WebSocketNegotiation)
        case done
    }

    private let policy: WebSocketServerPolicy
    private let configuration: WebSocketConfiguration
    private let scheme: String
    private let decide: (WebSocketServerHandshake) -> Decision
    private let makeHandlers: (WebSocketServerHandshake, WebSocketNegotiation) throws -> [any ChannelHandler]
    private var phase = Phase.http

    /// - Parameters:
    ///   - policy: origins, subprotocols and the permessage-deflate policy.
    ///   - configuration: for the ``WebSocketConnection`` (limits, timeouts, keep-alive).
    ///   - scheme: `"http"` or `"https"`, for the same-origin check.
    ///   - decide: looks at the valid request (path, cookies, subprotocols) and decides.
    ///   - makeHandlers: the application's handlers, placed after the ``WebSocketHandler``.
    public init(
        policy: WebSocketServerPolicy, configuration: WebSocketConfiguration = .init(), scheme: String = "http",
        decide: @escaping (WebSocketServerHandshake) -> Decision = { _ in .accept() },
        makeHandlers: @escaping (WebSocketServerHandshake, WebSocketNegotiation) throws -> [any ChannelHandler]
    ) {
        self.policy = policy
        self.configuration = configuration
        self.scheme = scheme
        self.decide = decide
        self.makeHandlers = makeHandlers
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let event = unwrapInboundIn(data)
        switch (phase, event) {
        case (.http, .request(let head)) where head.isUpgradeRequest:
            do {
                phase = .upgrading(try WebSocketServerHandshake(validating: head, scheme: scheme, policy: policy))
            } catch {
                phase = .rejecting(error.response)
            }
        case (.http, _):
            context.fireChannelRead(data)
        case (.upgrading(let handshake), .end):
            answer(context: context, handshake)
        case (.rejecting(let response), .end):
            phase = .done
            reject(context: context, response)
        case (.upgrading, _), (.rejecting, _), (.switching, _), (.done, _):
            // A body on an Upgrade request was refused by the handshake check; nothing else
            // arrives before the switch.
            break
        }
    }

    private func answer(context: ChannelHandlerContext, _ handshake: WebSocketServerHandshake) {
        switch decide(handshake) {
        case .accept(let fields):
            do {
                let acceptance = try handshake.accept(headerFields: fields)
                phase = .switching(handshake, acceptance.negotiation)
                context.writeAndFlush(wrapOutboundOut(.response(acceptance.response)), promise: nil)
            } catch {
                phase = .done
                reject(context: context, WebSocketServerHandshake.rejection(status: .internalServerError))
            }
        case .reject(let status):
            phase = .done
            reject(context: context, WebSocketServerHandshake.rejection(status: status))
        }
    }

    private func reject(context: ChannelHandlerContext, _ response: HTTPResponse) {
        context.write(wrapOutboundOut(.response(response)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(trailers: nil)), promise: nil)
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let switched = event as? HTTP1Handler.ProtocolSwitched, case .switching(let handshake, let negotiation) = phase
        else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        phase = .done
        do {
            let connection = try WebSocketConnection(role: .server, negotiation: negotiation, configuration: configuration)
            let handlers = try makeHandlers(handshake, negotiation)
            try WebSocketPipeline.replaceHTTP(
                context: context, with: WebSocketHandler(connection: connection, leftover: switched.leftover), handlers)
        } catch {
            context.fireErrorCaught(error)
            context.close(promise: nil)
        }
    }
}

/// The client's WebSocket upgrade path, after an ``HTTP1Handler`` (role `.client`).
///
/// When the channel is active it sends the handshake's Upgrade request; it checks the answer
/// with ``WebSocketClientHandshake/validate(_:)-(HTTP1ResponseHead)``. On a valid 101 it
/// replaces itself and the ``HTTP1Handler`` with a ``WebSocketHandler`` over an open
/// ``WebSocketConnection``, fed the bytes that came after the 101 (frames may arrive in the
/// same read), followed by the handlers `makeHandlers` returns, and succeeds `upgraded`.
/// Anything else (another status, an invalid 101, the connection ending) fails `upgraded`
/// with a ``WebSocketClientUpgradeError`` and closes the channel.
public final class WebSocketClientUpgrader: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = HTTP1Event
    public typealias OutboundOut = HTTP1OutboundEvent

    private let handshake: WebSocketClientHandshake
    private let configuration: WebSocketConfiguration
    private let upgraded: EventLoopPromise<WebSocketNegotiation>?
    private let makeHandlers: (WebSocketNegotiation) throws -> [any ChannelHandler]
    private var requestSent = false
    private var negotiation: WebSocketNegotiation?
    private var finished = false

    public init(
        handshake: WebSocketClientHandshake, configuration: WebSocketConfiguration = .init(),
        upgraded: EventLoopPromise<WebSocketNegotiation>? = nil,
        makeHandlers: @escaping (WebSocketNegotiation) throws -> [any ChannelHandler]
    ) {
        self.handshake = handshake
        self.configuration = configuration
        self.upgraded = upgraded
        self.makeHandlers = makeHandlers
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { sendRequest(context: context) }
    }

    public func channelActive(context: ChannelHandlerContext) {
        sendRequest(context: context)
        context.fireChannelActive()
    }

    private func sendRequest(context: ChannelHandlerContext) {
        guard !requestSent else { return }
        requestSent = true
        context.write(wrapOutboundOut(.request(handshake.request)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(trailers: nil)), promise: nil)
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !finished else { return }
        switch unwrapInboundIn(data) {
        case .informationalResponse(let head) where head.status == 101, .response(let head):
            do {
                switch try handshake.validate(head) {
                case .accepted(let negotiation):
                    self.negotiation = negotiation
                case .rejected(let response):
                    fail(context: context, WebSocketClientUpgradeError(.rejected, response: response))
                }
            } catch {
                fail(context: context, WebSocketClientUpgradeError(.invalidResponse, handshake: error))
            }
        default:
            break
        }
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let switched = event as? HTTP1Handler.ProtocolSwitched, !finished, let negotiation else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        finished = true
        do {
            let connection = try WebSocketConnection(role: .client, negotiation: negotiation, configuration: configuration)
            let handlers = try makeHandlers(negotiation)
            try WebSocketPipeline.replaceHTTP(
                context: context, with: WebSocketHandler(connection: connection, leftover: switched.leftover), handlers)
            upgraded?.succeed(negotiation)
        } catch {
            upgraded?.fail(error)
            context.close(promise: nil)
        }
    }

    public func channelInactive(context: ChannelHandlerContext) {
        if !finished {
            finished = true
            upgraded?.fail(WebSocketClientUpgradeError(.connectionClosed))
        }
        context.fireChannelInactive()
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !finished {
            finished = true
            upgraded?.fail(error)
            context.close(promise: nil)
        }
        context.fireErrorCaught(error)
    }

    private func fail(context: ChannelHandlerContext, _ error: WebSocketClientUpgradeError) {
        finished = true
        upgraded?.fail(error)
        context.close(promise: nil)
    }
}

/// Why a client's upgrade did not happen.
public struct WebSocketClientUpgradeError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: Hashable, Sendable { case rejected, invalidResponse, connectionClosed }
        private let base: Base
        private init(_ base: Base) { self.base = base }
        /// The server answered with another status than 101 (see ``WebSocketClientUpgradeError/response``).
        public static let rejected = Code(.rejected)
        /// The 101 failed the checks of RFC 6455 §4.1 (see ``WebSocketClientUpgradeError/handshake``).
        public static let invalidResponse = Code(.invalidResponse)
        /// The connection ended before the switch.
        public static let connectionClosed = Code(.connectionClosed)

        public var name: String {
            switch base {
            case .rejected: "rejected"
            case .invalidResponse: "invalid-response"
            case .connectionClosed: "connection-closed"
            }
        }
        public var description: String { name }
    }

    public var code: Code
    /// The non-101 answer, for ``Code/rejected``.
    public var response: HTTPResponse?
    /// The failed check, for ``Code/invalidResponse``.
    public var handshake: WebSocketHandshakeError?

    public init(_ code: Code, response: HTTPResponse? = nil, handshake: WebSocketHandshakeError? = nil) {
        self.code = code
        self.response = response
        self.handshake = handshake
    }

    public var description: String {
        var text = "WebSocketClientUpgradeError(\(code.name)"
        if let response { text += ", \(response.status)" }
        if let handshake { text += ", \(handshake)" }
        return text + ")"
    }
}

/// The pipeline surgery both upgraders share.
enum WebSocketPipeline {
    /// Removes the ``HTTP1Handler`` (its held read goes out as it leaves), puts `webSocket`
    /// and then `handlers` where the upgrader was, and removes the upgrader. The
    /// ``WebSocketHandler`` parses its leftover bytes when added, after the application's
    /// handlers are in place and the HTTP handler is gone.
    static func replaceHTTP(
        context: ChannelHandlerContext, with webSocket: WebSocketHandler, _ handlers: [any ChannelHandler]
    ) throws {
        let pipeline = context.pipeline.syncOperations
        let http = try pipeline.handler(type: HTTP1Handler.self)
        pipeline.removeHandler(http, promise: nil)
        try pipeline.addHandlers(handlers, position: .after(context.handler))
        try pipeline.addHandler(webSocket, position: .after(context.handler))
        pipeline.removeHandler(context: context, promise: nil)
    }
}
