import HTTPTypes
import NIOCore
import WireCore
import WireHTTP1
import NIOHTTP2
import NIOHTTPTypes
import NIOHTTPTypesHTTP2
import Synchronization
import WireWebSocket

/// One HTTP/2 stream of a ``WireServer`` connection, between swift-nio-extras'
/// `HTTP2FramePayloadToHTTPServerCodec` and the stream's `NIOAsyncChannel`: the request's
/// parts become ``ServerConnectionEvent/stream(_:)``, the application's writes
/// (``ServerConnectionOutbound``, the same as over HTTP/1.1) become the response's parts, so
/// that ``ResponseState`` and ``RequestBodySource`` serve both protocols.
///
/// - Response heads lose the hop-by-hop fields HTTP/2 forbids (RFC 9113 §8.2.2:
///   `Connection`, `Keep-Alive`, `Proxy-Connection`, `Transfer-Encoding`, `Upgrade`), which an
///   application written for HTTP/1.1 may set.
/// - An extended CONNECT (RFC 8441): DATA that arrives before the application's decision is
///   held (up to ``maxEarlyData`` bytes, beyond which the stream is reset) and handed to the
///   WebSocket; ``ServerConnectionOutbound/switchToWebSocket(response:negotiation:configuration:)``
///   writes the 200 and, within the same call, replaces the codec and this bridge with a
///   ``WebSocketStreamAdapter``, a ``WebSocketHandler`` (`overStream`) and a
///   ``WebSocketPhaseBridge``; `.webSocketOpened` then goes up as over HTTP/1.1.
final class HTTP2StreamBridge: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = ServerConnectionEvent
    typealias OutboundIn = ServerConnectionOutbound
    typealias OutboundOut = HTTPResponsePart

    /// Bytes of DATA an extended CONNECT may send before its answer.
    static let maxEarlyData = 64 << 10

    private let failure: ServerConnectionFailure
    let progress: HTTP2StreamProgress
    /// Extended CONNECT: DATA held until the switch.
    private var tunnel: [UInt8]?

    init(failure: ServerConnectionFailure, progress: HTTP2StreamProgress) {
        self.failure = failure
        self.progress = progress
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        switch part {
        case .head(let request):
            if WebSocketExtendedConnectServerHandshake.isExtendedConnect(request) { tunnel = [] }
        case .body(let buffer):
            if tunnel != nil {
                tunnel! += buffer.readableBytesView
                if tunnel!.count > Self.maxEarlyData { context.close(promise: nil) }
                return
            }
        case .end:
            progress.requestEnded()
        }
        context.fireChannelRead(wrapInboundOut(.stream(part)))
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .http(.response(let response)):
            guard response.status != .switchingProtocols else {
                promise?.fail(HTTPServerError(.responseAlreadyStarted))
                return
            }
            context.write(wrapOutboundOut(.head(Self.withoutHopByHopFields(response))), promise: promise)
        case .http(.body(let bytes)):
            context.write(wrapOutboundOut(.body(context.channel.allocator.buffer(bytes: bytes))), promise: promise)
        case .http(.end(let trailers)):
            let written = context.eventLoop.makePromise(of: Void.self)
            progress.responseEnd(written.futureResult)
            written.futureResult.cascade(to: promise)
            context.write(wrapOutboundOut(.end(trailers)), promise: written)
        case .http(.request), .http(.connectionClosed):
            promise?.fail(HTTPServerError(.connectionClosed))
            context.close(promise: nil)
        case .switchToWebSocket(let response, let negotiation, let configuration, let sendQueue):
            switchToWebSocket(
                context: context, response: response, negotiation: negotiation, configuration: configuration,
                sendQueue: sendQueue, promise: promise)
        case .preparedBody(let body):
            context.write(wrapOutboundOut(.body(body.bytes)), promise: promise)
        case .switchToEventLoopWebSocket:
            // Streams run their WebSocket as a task (``EventLoopWebSocketServing/runOnTask(_:)``).
            promise?.fail(WebSocketUsageError(.notOpen))
        case .webSocket:
            promise?.fail(WebSocketUsageError(.notOpen))
        }
    }

    private func switchToWebSocket(
        context: ChannelHandlerContext, response: HTTPResponse, negotiation: WebSocketNegotiation,
        configuration: WebSocketConfiguration, sendQueue: WebSocketSendQueueConfiguration, promise: EventLoopPromise<Void>?
    ) {
        do {
            let connection = try WebSocketConnection(role: .server, negotiation: negotiation, configuration: configuration)
            context.writeAndFlush(wrapOutboundOut(.head(Self.withoutHopByHopFields(response))), promise: promise)
            let pipeline = context.pipeline.syncOperations
            let codec = try pipeline.handler(type: HTTP2FramePayloadToHTTPServerCodec.self)
            let webSocket = WebSocketHandler(connection: connection, leftover: tunnel ?? [], overStream: true, sendQueue: sendQueue)
            webSocket.holdsFailureForConsumer = true
            // The application hears of the switch before the first WebSocket event.
            context.fireChannelRead(
                wrapInboundOut(.webSocketOpened(WebSocketHandlerReference(handler: webSocket, eventLoop: context.eventLoop))))
            // Added in reverse, each right after this bridge: adapter, handler, phase bridge.
            try pipeline.addHandler(WebSocketPhaseBridge(failure: failure), position: .after(context.handler))
            try pipeline.addHandler(webSocket, position: .after(context.handler))
            try pipeline.addHandler(
                WebSocketStreamAdapter(endStreamTimeout: TimeAmount(configuration.closingTimeout)),
                position: .after(context.handler))
            tunnel = nil
            pipeline.removeHandler(codec, promise: nil)
            pipeline.removeHandler(context: context, promise: nil)
            context.fireChannelReadComplete()
        } catch {
            failure.record(error)
            promise?.fail(error)
            context.close(promise: nil)
        }
    }

    /// `response` without the fields HTTP/2 forbids (RFC 9113 §8.2.2).
    static func withoutHopByHopFields(_ response: HTTPResponse) -> HTTPResponse {
        let banned: Set<String> = ["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"]
        guard response.headerFields.contains(where: { banned.contains($0.name.canonicalName) }) else { return response }
        var result = response
        result.headerFields = HTTPFields(response.headerFields.filter { !banned.contains($0.name.canonicalName) })
        return result
    }
}

/// What the stream's runner needs to know of its stream to end it well: whether the client
/// ended its request (then the stream closes by itself once our END_STREAM is out), and when
/// our END_STREAM was written (after that, a stream the client keeps open is reset).
final class HTTP2StreamProgress: Sendable {
    private struct State: Sendable {
        var requestEnded = false
        var responseEnd: EventLoopFuture<Void>?
    }

    private let state = Mutex(State())

    var hasRequestEnded: Bool { state.withLock { $0.requestEnded } }
    var responseEnd: EventLoopFuture<Void>? { state.withLock { $0.responseEnd } }

    func requestEnded() { state.withLock { $0.requestEnded = true } }
    func responseEnd(_ future: EventLoopFuture<Void>) { state.withLock { $0.responseEnd = future } }
}
