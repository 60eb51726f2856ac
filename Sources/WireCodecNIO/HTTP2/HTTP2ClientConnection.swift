public import HTTPTypes
public import NIOCore
public import NIOHTTP2
public import NIOHTTPTypes
import NIOHTTPTypesHTTP2
import Synchronization
import WireCore
public import WireWebSocket

/// The client side of one HTTP/2 connection (after TLS with ALPN `h2`, or by prior knowledge):
/// the server's SETTINGS, request streams, and WebSockets over extended CONNECT (RFC 8441).
///
/// ```swift
/// let connection = try await ClientBootstrap(group: group).connect(host: host, port: port) { channel in
///     channel.eventLoop.makeCompletedFuture { try HTTP2ClientConnection.configure(channel) }
/// }
/// guard try await connection.supportsExtendedConnect() else { /* fall back to HTTP/1.1 */ }
/// let handshake = try WebSocketExtendedConnectClientHandshake(authority: "example.com", path: "/chat")
/// switch try await connection.openWebSocket(handshake) {
/// case .accepted(let webSocket, let negotiation): ...   // NIOAsyncChannel<WebSocketEvent, WebSocketOutboundEvent>
/// case .rejected(let response, let body): ...
/// }
/// ```
///
/// A client must not send an extended CONNECT before the server's SETTINGS allowed it (§3):
/// ``openWebSocket(_:configuration:)`` waits for them and fails with
/// ``HTTP2ClientError/extendedConnectNotSupported`` when they did not.
public final class HTTP2ClientConnection: Sendable {
    /// The connection channel.
    public let channel: any Channel
    let multiplexer: NIOHTTP2Handler.AsyncStreamMultiplexer<Never>
    let settings: SettingsWatcher

    private init(channel: any Channel, multiplexer: NIOHTTP2Handler.AsyncStreamMultiplexer<Never>, settings: SettingsWatcher) {
        self.channel = channel
        self.multiplexer = multiplexer
        self.settings = settings
    }

    /// Adds the HTTP/2 handler (client mode) to `channel` and returns the connection. Call it
    /// on the channel's event loop before anything is read from the server: in the channel
    /// initializer for prior knowledge, in the ALPN callback after TLS negotiated `h2`.
    ///
    /// - Parameter configuration: NIO's HTTP/2 settings (windows, buffers, frame rate limits).
    public static func configure(
        _ channel: any Channel, configuration: NIOHTTP2Handler.Configuration = defaultConfiguration
    ) throws -> HTTP2ClientConnection {
        let pipeline = channel.pipeline.syncOperations
        // Between TLS and HTTP/2: a DATA frame's header and payload in one TLS record.
        try pipeline.addHandler(TLSRecordCoalescer())
        let multiplexer = try pipeline.configureAsyncHTTP2Pipeline(
            mode: .client, configuration: configuration
        ) { stream -> EventLoopFuture<Never> in
            // A server push (we never enable it) or any peer-initiated stream: refuse it.
            stream.close(promise: nil)
            return stream.eventLoop.makeFailedFuture(ChannelError.ioOnClosedChannel)
        }
        let watcher = SettingsWatcher(promise: channel.eventLoop.makePromise())
        try pipeline.addHandler(watcher)
        return HTTP2ClientConnection(channel: channel, multiplexer: multiplexer, settings: watcher)
    }

    /// Our settings: push disabled, 1 MiB stream windows (a 1 MiB message does not wait for a
    /// round trip per 64 KiB), 4 MiB for the connection.
    public static var defaultConfiguration: NIOHTTP2Handler.Configuration {
        var configuration = NIOHTTP2Handler.Configuration()
        configuration.connection.initialSettings = [
            HTTP2Setting(parameter: .enablePush, value: 0),
            HTTP2Setting(parameter: .initialWindowSize, value: 1 << 20),
            HTTP2Setting(parameter: .maxHeaderListSize, value: 64 << 10),
        ]
        configuration.connection.targetWindowSize = 4 << 20
        configuration.stream.targetWindowSize = 1 << 20
        return configuration
    }

    /// The server's first SETTINGS (it sends them first on every connection).
    public func serverSettings() async throws -> HTTP2Settings {
        try await settings.first.get()
    }

    /// Whether the server sent `SETTINGS_ENABLE_CONNECT_PROTOCOL = 1` (RFC 8441 §3), waiting
    /// for its SETTINGS if need be.
    public func supportsExtendedConnect() async throws -> Bool {
        _ = try await serverSettings()
        return settings.enableConnectProtocol
    }

    /// What the server answered to an extended CONNECT.
    public enum WebSocketOpening: Sendable {
        /// A valid 200: the WebSocket is open on its stream.
        case accepted(NIOAsyncChannel<WebSocketEvent, WebSocketOutboundEvent>, WebSocketNegotiation)
        /// Any other final status, with up to 64 KiB of its body.
        case rejected(HTTPResponse, ByteBuffer)
    }

    /// Opens a WebSocket on a new stream: sends the extended CONNECT, validates the answer
    /// (``WebSocketExtendedConnectClientHandshake/validate(_:)``) and, on a 200, switches the
    /// stream to a ``WebSocketHandler`` over a ``WebSocketStreamAdapter``.
    ///
    /// - Throws: ``HTTP2ClientError/extendedConnectNotSupported`` when the server's SETTINGS do
    ///   not allow extended CONNECT; `WebSocketHandshakeError` for an invalid 200; the
    ///   stream's error (a reset) otherwise.
    public func openWebSocket(
        _ handshake: WebSocketExtendedConnectClientHandshake, configuration: WebSocketConfiguration = .init()
    ) async throws -> WebSocketOpening {
        let opened = try await openWebSocketStream(handshake, configuration: configuration) { stream in
            try stream.pipeline.syncOperations.addHandler(WebSocketClientErrorFilter(), position: .last)
            return try NIOAsyncChannel<WebSocketEvent, WebSocketOutboundEvent>(wrappingChannelSynchronously: stream)
        }
        switch opened {
        case .accepted(let webSocket, let negotiation): return .accepted(webSocket, negotiation)
        case .rejected(let response, let body): return .rejected(response, body)
        }
    }

    /// ``openWebSocket(_:configuration:)`` for ``WebSocketClient``, whose application takes
    /// the events from its own task: a protocol error waits until it has taken the messages
    /// before it (``WebSocketClientInbound/failureHeld(release:)``), as over HTTP/1.1.
    func openWebSocketHoldingFailures(
        _ handshake: WebSocketExtendedConnectClientHandshake, configuration: WebSocketConfiguration
    ) async throws -> ExtendedConnectAnswer<WebSocketClientInbound> {
        try await openWebSocketStream(handshake, configuration: configuration, holdsFailures: true) { stream in
            try stream.pipeline.syncOperations.addHandler(WebSocketClientInboundBridge(), position: .last)
            return try NIOAsyncChannel<WebSocketClientInbound, WebSocketOutboundEvent>(wrappingChannelSynchronously: stream)
        }
    }

    /// Sends the extended CONNECT on a new stream; on a valid 200 the stream switches to a
    /// ``WebSocketHandler`` and `wrap` adds the application's side, all within the read that
    /// brought the answer, so that no event of DATA sent with it goes past an empty pipeline.
    private func openWebSocketStream<Inbound: Sendable>(
        _ handshake: WebSocketExtendedConnectClientHandshake, configuration: WebSocketConfiguration, holdsFailures: Bool = false,
        wrap: @escaping @Sendable (any Channel) throws -> NIOAsyncChannel<Inbound, WebSocketOutboundEvent>
    ) async throws -> ExtendedConnectAnswer<Inbound> {
        guard try await supportsExtendedConnect() else { throw HTTP2ClientError(.extendedConnectNotSupported) }
        let answer = channel.eventLoop.makePromise(of: ExtendedConnectAnswer<Inbound>.self)
        let stream = try await multiplexer.openStream { stream in
            stream.eventLoop.makeCompletedFuture {
                let pipeline = stream.pipeline.syncOperations
                try pipeline.addHandler(HTTP2FramePayloadToHTTPClientCodec())
                try pipeline.addHandler(
                    ExtendedConnectClientHandler(
                        handshake: handshake, configuration: configuration, holdsFailures: holdsFailures, wrap: wrap, answer: answer))
                return stream
            }
        }
        stream.writeAndFlush(HTTPRequestPart.head(handshake.request), promise: nil)
        return try await answer.futureResult.get()
    }

    /// Opens a stream for one HTTP request (a poll, an event stream): write the request parts,
    /// read the response parts; closing the channel resets the stream if it is still open.
    public func openRequestStream() async throws -> NIOAsyncChannel<HTTPResponsePart, HTTPRequestPart> {
        try await multiplexer.openStream { stream in
            stream.eventLoop.makeCompletedFuture {
                try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTPClientCodec())
                return try NIOAsyncChannel<HTTPResponsePart, HTTPRequestPart>(wrappingChannelSynchronously: stream)
            }
        }
    }
}

/// Why the HTTP/2 client could not do what was asked.
public struct HTTP2ClientError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private let base: String
        private init(_ base: String) { self.base = base }
        /// The server's SETTINGS did not carry `SETTINGS_ENABLE_CONNECT_PROTOCOL = 1`
        /// (RFC 8441 §3): a WebSocket must go over HTTP/1.1 instead.
        public static let extendedConnectNotSupported = Code("extended-connect-not-supported")
        /// The stream ended before the server answered.
        public static let noAnswer = Code("no-answer")
        public var name: String { base }
        public var description: String { base }
    }

    public var code: Code
    public init(_ code: Code) { self.code = code }
    public var description: String { "HTTP2ClientError(\(code.name))" }
}

/// Watches the connection's SETTINGS frames (stream 0 frames reach the connection pipeline).
final class SettingsWatcher: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTP2Frame
    typealias InboundOut = HTTP2Frame

    let first: EventLoopFuture<HTTP2Settings>
    private let promise: EventLoopPromise<HTTP2Settings>
    private let enabled = Atomic<Bool>(false)

    init(promise: EventLoopPromise<HTTP2Settings>) {
        self.promise = promise
        self.first = promise.futureResult
    }

    /// The latest `SETTINGS_ENABLE_CONNECT_PROTOCOL` (a server may not take it back, §3).
    var enableConnectProtocol: Bool { enabled.load(ordering: .acquiring) }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        if case .settings(.settings(let values)) = frame.payload {
            for setting in values where setting.parameter == .enableConnectProtocol {
                enabled.store(setting.value == 1, ordering: .releasing)
            }
            promise.succeed(values)
        }
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(ChannelError.ioOnClosedChannel)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(error)
        context.fireErrorCaught(error)
    }
}

/// What the server answered to an extended CONNECT, with the stream's async channel on a 200.
enum ExtendedConnectAnswer<Inbound: Sendable>: Sendable {
    case accepted(NIOAsyncChannel<Inbound, WebSocketOutboundEvent>, WebSocketNegotiation)
    case rejected(HTTPResponse, ByteBuffer)
}

/// Reads the answer to an extended CONNECT on its stream; on a valid 200 replaces the HTTP
/// codec and itself with a ``WebSocketStreamAdapter`` and a ``WebSocketHandler`` (DATA that
/// came with the answer goes to the connection first), all within the read, so no frame is
/// lost between the two.
final class ExtendedConnectClientHandler<Inbound: Sendable>: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPResponsePart

    private let handshake: WebSocketExtendedConnectClientHandshake
    private let configuration: WebSocketConfiguration
    private let holdsFailures: Bool
    private let wrap: (any Channel) throws -> NIOAsyncChannel<Inbound, WebSocketOutboundEvent>
    private let answer: EventLoopPromise<ExtendedConnectAnswer<Inbound>>
    private var rejection: (HTTPResponse, ByteBuffer)?
    static var maxRejectionBody: Int { 64 << 10 }

    init(
        handshake: WebSocketExtendedConnectClientHandshake, configuration: WebSocketConfiguration, holdsFailures: Bool,
        wrap: @escaping (any Channel) throws -> NIOAsyncChannel<Inbound, WebSocketOutboundEvent>,
        answer: EventLoopPromise<ExtendedConnectAnswer<Inbound>>
    ) {
        self.handshake = handshake
        self.configuration = configuration
        self.holdsFailures = holdsFailures
        self.wrap = wrap
        self.answer = answer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let response):
            // After a final answer, another head can only be a peer's mistake: ignore it.
            guard rejection == nil else { return }
            do {
                switch try handshake.validate(response) {
                case .interim:
                    return
                case .rejected(let response):
                    rejection = (response, context.channel.allocator.buffer(capacity: 0))
                case .accepted(let negotiation):
                    try switchToWebSocket(context: context, negotiation: negotiation)
                }
            } catch {
                answer.fail(error)
                context.close(promise: nil)
            }
        case .body(var buffer):
            guard var rejection else { return }
            let room = Self.maxRejectionBody - rejection.1.readableBytes
            if room > 0, let slice = buffer.readSlice(length: min(room, buffer.readableBytes)) {
                rejection.1.writeImmutableBuffer(slice)
            }
            self.rejection = rejection
        case .end:
            if let rejection {
                answer.succeed(.rejected(rejection.0, rejection.1))
                self.rejection = nil
            }
        }
    }

    private func switchToWebSocket(context: ChannelHandlerContext, negotiation: WebSocketNegotiation) throws {
        let connection = try WebSocketConnection(role: .client, negotiation: negotiation, configuration: configuration)
        let pipeline = context.pipeline.syncOperations
        let codec = try pipeline.handler(type: HTTP2FramePayloadToHTTPClientCodec.self)
        try pipeline.addHandler(
            WebSocketStreamAdapter(endStreamTimeout: TimeAmount(configuration.closingTimeout)),
            position: .after(context.handler))
        let webSocket = WebSocketHandler(connection: connection, overStream: true)
        webSocket.holdsFailureForConsumer = holdsFailures
        try pipeline.addHandler(webSocket, position: .last)
        // The application's side (a peer's protocol error is a `.closed` event, its close
        // frame queued, not a failure) before any DATA that came with the answer is read.
        let asyncChannel = try wrap(context.channel)
        pipeline.removeHandler(codec, promise: nil)
        pipeline.removeHandler(context: context, promise: nil)
        answer.succeed(.accepted(asyncChannel, negotiation))
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let rejection {
            answer.succeed(.rejected(rejection.0, rejection.1))
            self.rejection = nil
        }
        answer.fail(HTTP2ClientError(.noAnswer))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        answer.fail(error)
        context.close(promise: nil)
    }
}

extension TimeAmount {
    /// `duration` as NIO's time amount (saturating at the largest one).
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        let (nanos, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        self = .nanoseconds(overflow ? (seconds < 0 ? .min : .max) : nanos &+ attoseconds / 1_000_000_000)
    }
}
