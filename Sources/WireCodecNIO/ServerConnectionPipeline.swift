import HTTPTypes
import NIOCore
import NIOHTTPTypes
import Synchronization
import WireCore
import WireHTTP1
import WireWebSocket

/// What a server connection's `NIOAsyncChannel` reads: HTTP/1.1 events, then, after an
/// accepted upgrade, WebSocket events. One async channel spans both protocols; the pipeline
/// below it changes at the switch (``HTTPPhaseBridge``).
enum ServerConnectionEvent: Sendable {
    case http(HTTP1Event)
    /// The HTTP side failed: a malformed request (already answered with its status) or a
    /// receive deadline (``HTTP1Timeout``). The channel closes next.
    case httpFailed(any Error)
    /// The 101 is written and the pipeline now speaks WebSocket (through this handler, which
    /// the application's sends reach directly); its events follow.
    case webSocketOpened(WebSocketHandlerReference)
    case webSocket(WebSocketEvent)
    /// The WebSocket events before a protocol error were all delivered; the error takes effect
    /// (its close frame goes out) once the application asks for the next message
    /// (``WebSocketHandler/releaseHeldFailure()``).
    case webSocketFailureHeld
    /// HTTP/2: a part of the stream's request, already in HTTPTypes form (one request per
    /// stream; ``HTTP2StreamBridge``).
    case stream(HTTPRequestPart)
}

/// What a server connection's `NIOAsyncChannel` writes.
enum ServerConnectionOutbound: Sendable {
    case http(HTTP1OutboundEvent)
    /// Writes the 101 and, once it is out, replaces the HTTP/1.1 handlers with a
    /// ``WebSocketHandler`` over an open connection with these parameters.
    case switchToWebSocket(
        response: HTTPResponse, negotiation: WebSocketNegotiation, configuration: WebSocketConfiguration,
        sendQueue: WebSocketSendQueueConfiguration)
    /// As `switchToWebSocket`, for a WebSocket served from its event loop: the pipeline ends
    /// with an ``EventLoopWebSocketBridge`` calling `serving`, and the connection's task ends.
    case switchToEventLoopWebSocket(
        response: HTTPResponse, negotiation: WebSocketNegotiation, configuration: WebSocketConfiguration,
        sendQueue: WebSocketSendQueueConfiguration, serving: EventLoopWebSocketServing)
    case webSocket(WebSocketOutboundEvent)
    /// Body bytes prepared once for many responses (``HTTP1Handler/WritePreparedBody``).
    case preparedBody(HTTPPreparedBody)
}

/// Why a write the application asked for was refused by the protocol below (the codec's
/// usage error), recorded so that the next write throws it; the connection is closed.
final class ServerConnectionFailure: Sendable {
    // Written on the event loop, read from the application's task.
    private let recorded = Mutex<(any Error)?>(nil)

    var error: (any Error)? { recorded.withLock { $0 } }

    func record(_ error: any Error) {
        recorded.withLock { if $0 == nil { $0 = error } }
    }
}

/// The HTTP/1.1 phase: between an ``HTTP1Handler`` and the connection's `NIOAsyncChannel`.
/// Wraps events, records refused writes (closing the connection: the response it was
/// part of cannot be completed), and performs the switch to WebSocket.
final class HTTPPhaseBridge: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP1Event
    typealias InboundOut = ServerConnectionEvent
    typealias OutboundIn = ServerConnectionOutbound
    typealias OutboundOut = HTTP1OutboundEvent

    private let failure: ServerConnectionFailure
    /// The connection's channel as its `NIOAsyncChannel` sees it (for a WebSocket served from
    /// its event loop).
    let detachable: DetachableChannel?
    private var pendingSwitch:
        (negotiation: WebSocketNegotiation, configuration: WebSocketConfiguration, sendQueue: WebSocketSendQueueConfiguration,
         serving: EventLoopWebSocketServing?)?

    init(failure: ServerConnectionFailure, detachable: DetachableChannel? = nil) {
        self.failure = failure
        self.detachable = detachable
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(wrapInboundOut(.http(unwrapInboundIn(data))))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // The HTTP1Handler answered a malformed request, or a deadline passed; it closes the
        // channel. The application learns it as an event (a request body being read fails).
        if error is HTTP1ParseError || error is HTTP1Timeout {
            context.fireChannelRead(wrapInboundOut(.httpFailed(error)))
            context.fireChannelReadComplete()
            return
        }
        context.fireErrorCaught(error)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .http(let event):
            write(context: context, event, promise: promise)
        case .switchToWebSocket(let response, let negotiation, let configuration, let sendQueue):
            pendingSwitch = (negotiation, configuration, sendQueue, nil)
            write(context: context, .response(response), promise: promise)
        case .switchToEventLoopWebSocket(let response, let negotiation, let configuration, let sendQueue, let serving):
            pendingSwitch = (negotiation, configuration, sendQueue, serving)
            write(context: context, .response(response), promise: promise)
        case .preparedBody(let body):
            let written = context.eventLoop.makePromise(of: Void.self)
            recordRefusal(of: written.futureResult, channel: context.channel)
            written.futureResult.cascade(to: promise)
            context.triggerUserOutboundEvent(HTTP1Handler.WritePreparedBody(body), promise: written)
        case .webSocket:
            promise?.fail(WebSocketUsageError(.notOpen))
        }
    }

    private func write(context: ChannelHandlerContext, _ event: HTTP1OutboundEvent, promise: EventLoopPromise<Void>?) {
        let written = context.eventLoop.makePromise(of: Void.self)
        recordRefusal(of: written.futureResult, channel: context.channel)
        written.futureResult.cascade(to: promise)
        context.write(wrapOutboundOut(event), promise: written)
    }

    /// A write the HTTP/1.1 connection refuses is recorded (the next write throws it) and
    /// closes the connection.
    private func recordRefusal(of written: EventLoopFuture<Void>, channel: any Channel) {
        let failure = self.failure
        written.whenFailure { error in
            if error is HTTP1UsageError {
                failure.record(error)
                channel.close(promise: nil)
            }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is HTTP1Handler.ProtocolSwitched, let pending = pendingSwitch else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        let switched = event as! HTTP1Handler.ProtocolSwitched
        pendingSwitch = nil
        do {
            let connection = try WebSocketConnection(
                role: .server, negotiation: pending.negotiation, configuration: pending.configuration)
            let pipeline = context.pipeline.syncOperations
            let http = try pipeline.handler(type: HTTP1Handler.self)
            pipeline.removeHandler(http, promise: nil)
            if let serving = pending.serving, let detachable {
                try switchToEventLoop(
                    context: context, webSocket: WebSocketHandler(connection: connection, sendQueue: pending.sendQueue),
                    leftover: switched.leftover, negotiation: pending.negotiation, serving: serving, detachable: detachable)
                return
            }
            let webSocket = WebSocketHandler(connection: connection, leftover: switched.leftover, sendQueue: pending.sendQueue)
            webSocket.holdsFailureForConsumer = true
            // The application hears of the switch before the first WebSocket event (a
            // read-complete hands it over: NIOAsyncChannel delivers only then).
            context.fireChannelRead(
                wrapInboundOut(.webSocketOpened(WebSocketHandlerReference(handler: webSocket, eventLoop: context.eventLoop))))
            context.fireChannelReadComplete()
            try pipeline.addHandler(WebSocketPhaseBridge(failure: failure), position: .after(context.handler))
            // Parses the leftover bytes as it is added, into the bridge just placed.
            try pipeline.addHandler(webSocket, position: .after(context.handler))
            pipeline.removeHandler(context: context, promise: nil)
        } catch {
            failure.record(error)
            context.close(promise: nil)
        }
    }

    /// The switch for a WebSocket served from its event loop: the connection's task hears of
    /// it (and ends), an ``EventLoopWebSocketBridge`` takes the events, the application's
    /// `onOpen` runs once the handler is in place, before any message.
    private func switchToEventLoop(
        context: ChannelHandlerContext, webSocket: WebSocketHandler, leftover: [UInt8], negotiation: WebSocketNegotiation,
        serving: EventLoopWebSocketServing, detachable: DetachableChannel
    ) throws {
        let pipeline = context.pipeline.syncOperations
        // The callbacks take each message as it is delivered: a protocol error takes effect
        // at once, as with the handler API.
        webSocket.holdsFailureForConsumer = false
        let reference = WebSocketHandlerReference(handler: webSocket, eventLoop: context.eventLoop)
        context.fireChannelRead(wrapInboundOut(.webSocketOpened(reference)))
        context.fireChannelReadComplete()
        let bridge = EventLoopWebSocketBridge(
            webSocket: EventLoopWebSocket(reference: reference, negotiation: negotiation), serving: serving,
            detachable: detachable)
        try pipeline.addHandler(bridge, position: .after(context.handler))
        // This bridge leaves first: what the WebSocket writes from now on is bytes.
        pipeline.removeHandler(context: context, promise: nil)
        try pipeline.addHandler(webSocket, position: .before(bridge))
        // `onOpen` (its sends, its broadcast group) before the first message: the bytes that
        // followed the handshake are parsed after it, as if they had just arrived.
        bridge.open()
        webSocket.receiveLeftover(leftover)
    }
}

/// The WebSocket phase: between a ``WebSocketHandler`` and the connection's `NIOAsyncChannel`.
final class WebSocketPhaseBridge: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketEvent
    typealias InboundOut = ServerConnectionEvent
    typealias OutboundIn = ServerConnectionOutbound
    typealias OutboundOut = WebSocketOutboundEvent

    private let failure: ServerConnectionFailure

    init(failure: ServerConnectionFailure) {
        self.failure = failure
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(wrapInboundOut(.webSocket(unwrapInboundIn(data))))
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is WebSocketHandler.FailureHeld else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        context.fireChannelRead(wrapInboundOut(.webSocketFailureHeld))
        context.fireChannelReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A protocol error: the close frame is queued and `.closed` follows as an event.
        if error is WebSocketProtocolError { return }
        context.fireErrorCaught(error)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .webSocket(let event) = unwrapOutboundIn(data) else {
            promise?.fail(HTTP1UsageError(.switchedProtocols))
            return
        }
        let written = context.eventLoop.makePromise(of: Void.self)
        let failure = self.failure
        written.futureResult.whenFailure { error in
            if error is WebSocketUsageError { failure.record(error) }
        }
        written.futureResult.cascade(to: promise)
        context.write(wrapOutboundOut(event), promise: written)
    }
}
