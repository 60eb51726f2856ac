public import HTTPTypes
public import NIOCore
public import NIOPosix
public import WireHTTP1
public import WireWebSocket
import Synchronization

/// A WebSocket client (RFC 6455 §4.1) for `ws://` and `wss://` URLs, over SwiftNIO: TCP (or a
/// `CONNECT` tunnel through an HTTP proxy), TLS for `wss://`, the opening handshake, then the
/// messages.
///
/// ```swift
/// var configuration = WebSocketClient.Configuration()
/// configuration.subprotocols = ["chat"]
/// configuration.deflate = PerMessageDeflateClientOffer()
/// configuration.connection.security = try TLSClientSecurity(additionalTrustRootsPEMFiles: ["ca.pem"])  // WireCodecTLS
/// let client = try WebSocketClient(url: "wss://example.com/chat", configuration: configuration)
/// try await client.connect { ws in                               // the server's WebSocket type
///     try await ws.outbound.send(text: "hello")
///     for try await message in ws.inbound { print(message) }       // .text / .binary
/// }
/// // Or every event (pings, pongs, the close frame) and raw outbound events:
/// try await client.withConnection { connection in
///     try await connection.send(.text("hello"))
///     for try await event in connection.events { print(event) }   // .text, .binary, .ping, .pong, .closed
/// }
/// ```
///
/// Deadlines: the TCP connect (``ClientConnectionConfiguration/connectTimeout``, 10 s), the
/// whole opening — proxy tunnel, TLS and HTTP upgrade — (``Configuration/handshakeTimeout``,
/// 10 s), and the closing handshake (``WebSocketConfiguration/closingTimeout``, 10 s).
public struct WebSocketClient: Sendable {
    /// What the client asks for and how it connects.
    public struct Configuration: Sendable {
        /// More request fields (`Authorization`, `Cookie`, `User-Agent`, ...); the handshake's
        /// own fields are set by the client.
        public var headerFields: HTTPFields
        /// Subprotocols offered, most preferred first (`Sec-WebSocket-Protocol`).
        public var subprotocols: [String]
        /// The permessage-deflate offer, or `nil` (the default) for none.
        public var deflate: PerMessageDeflateClientOffer?
        /// An `Origin` to send (browsers always do; other clients may).
        public var origin: String?
        /// Proxy tunnel, TLS handshake and HTTP upgrade together, from the TCP connection on.
        /// Default 10 s.
        public var handshakeTimeout: Duration
        /// Limits, keep-alive, closing timeout of the connection once open.
        public var webSocket: WebSocketConfiguration
        /// TLS, proxy and connect timeout.
        public var connection: ClientConnectionConfiguration
        /// The HTTP to open the WebSocket over. ``WireHTTPVersion/http1_1`` (the default): an
        /// Upgrade request (RFC 6455 §4). ``WireHTTPVersion/http2``: for `wss://`, TLS offers `h2`
        /// by ALPN and, when the server chose it and its SETTINGS allow extended CONNECT (RFC
        /// 8441 §3), the WebSocket opens on a stream of that HTTP/2 connection; otherwise the
        /// client falls back to HTTP/1.1 on a new connection and says why
        /// (``WebSocketClientConnection/fallbackReason``).
        public var httpVersion: WireHTTPVersion = .http1_1

        public init(
            headerFields: HTTPFields = [:], subprotocols: [String] = [], deflate: PerMessageDeflateClientOffer? = nil,
            origin: String? = nil, handshakeTimeout: Duration = .seconds(10), webSocket: WebSocketConfiguration = .init(),
            connection: ClientConnectionConfiguration = .init()
        ) {
            self.headerFields = headerFields
            self.subprotocols = subprotocols
            self.deflate = deflate
            self.origin = origin
            self.handshakeTimeout = handshakeTimeout
            self.webSocket = webSocket
            self.connection = connection
        }
    }

    public let url: WireURL
    public let configuration: Configuration
    let group: any EventLoopGroup

    /// - Throws: ``WireURLError``: `unsupported-scheme` unless `ws`/`wss` (`http`/`https` are
    ///   accepted as their WebSocket twins), `fragment-not-allowed` (RFC 6455 §3), or the URL's
    ///   own errors.
    public init(url: WireURL, configuration: Configuration = .init(), group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton)
        throws(WireURLError)
    {
        guard ["ws", "wss", "http", "https"].contains(url.scheme) else { throw WireURLError(.unsupportedScheme) }
        guard url.fragment == nil else { throw WireURLError(.fragmentNotAllowed) }
        self.url = url
        self.configuration = configuration
        self.group = group
    }

    public init(url: String, configuration: Configuration = .init(), group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton)
        throws(WireURLError)
    {
        try self.init(url: try WireURL(url), configuration: configuration, group: group)
    }

    /// Connects, runs the opening handshake, and lends the open connection to `body`. When
    /// `body` returns with the connection still open, the client closes it with 1000 and waits
    /// for the closing handshake (bounded by the closing timeout); the channel is closed after.
    ///
    /// - Throws: what `body` throws; before it runs: the connect error (refused, unreachable,
    ///   DNS), ``HTTPProxyError`` (the proxy refused the tunnel: 407 with its challenges,
    ///   ...), the TLS error (a certificate that does not verify), ``WebSocketClientUpgradeError``
    ///   (a non-101 answer kept whole, or an invalid 101), ``ClientConnectionError``
    ///   (`handshake-timeout`, `connection-closed`, `tls-not-configured`).
    public func withConnection<Result: Sendable>(_ body: (WebSocketClientConnection) async throws -> Result) async throws -> Result {
        var fallbackReason: String?
        if configuration.httpVersion == .http2 {
            switch try await withHTTP2Connection(body) {
            case .done(let result): return result
            case .unavailable(let reason): fallbackReason = reason
            }
        }
        let handshake = try WebSocketClientHandshake(
            authority: url.hostHeader, path: url.requestTarget, scheme: url.isSecure ? "https" : "http",
            origin: configuration.origin, subprotocols: configuration.subprotocols, deflate: configuration.deflate,
            headerFields: configuration.headerFields)
        let webSocketConfiguration = configuration.webSocket
        let channel = try await ClientConnector.connect(
            to: url, configuration: configuration.connection, group: group,
            protocolHandlers: {
                let handler = WebSocketHandler(connection: WebSocketConnection(client: handshake, configuration: webSocketConfiguration))
                // The application takes the events from its own task: a protocol error waits
                // until it has taken the messages before it (and answered them).
                handler.holdsFailureForConsumer = true
                return [handler, WebSocketClientInboundBridge()]
            },
            wrap: { channel in
                try NIOAsyncChannel<WebSocketClientInbound, WebSocketOutboundEvent>(wrappingChannelSynchronously: channel)
            })
        let timedOut = Atomic<Bool>(false)
        let raw = channel.channel
        let timer = raw.eventLoop.scheduleTask(in: .nanoseconds(configuration.handshakeTimeout.nanoseconds)) {
            timedOut.store(true, ordering: .relaxed)
            raw.close(promise: nil)
        }
        return try await channel.executeThenClose { inbound, outbound in
            let reader = WebSocketClientEventReader(inbound.makeAsyncIterator())
            let negotiation: WebSocketNegotiation
            do {
                negotiation = try await Self.openingHandshake(reader)
                timer.cancel()
            } catch {
                timer.cancel()
                if timedOut.load(ordering: .relaxed) {
                    throw ClientConnectionError(.handshakeTimeout, "no open WebSocket after \(configuration.handshakeTimeout)")
                }
                throw error
            }
            let connection = WebSocketClientConnection(
                request: handshake.request, negotiation: negotiation, reader: reader, writer: outbound,
                fallbackReason: fallbackReason)
            let result = try await body(connection)
            await connection.finish()
            return result
        }
    }

    /// Connects and runs `handler` over the open ``WebSocket`` — the same type a ``WireServer``
    /// handler gets: an inbound `AsyncSequence` of messages (pings answered for you) and an
    /// outbound writer. Returning closes with 1000, throwing with 1011; the closing handshake
    /// is completed either way. Returns how the connection closed; rethrows the handler's error.
    ///
    /// ```swift
    /// let closure = try await client.connect { ws in
    ///     try await ws.outbound.send(text: "hello")
    ///     for try await message in ws.inbound { print(message); break }
    /// }
    /// ```
    ///
    /// - Throws: as ``withConnection(_:)`` before the handler runs; then what it throws.
    @discardableResult
    public func connect(_ handler: @Sendable (WebSocket) async throws -> Void) async throws -> WebSocketClosure {
        try await withConnection { connection in
            let writer = connection.writer
            let (closure, failure) = await WebSocket.run(
                request: connection.request, negotiation: connection.negotiation, next: { try await connection.reader.next() },
                outbound: WebSocketOutbound(sink: WebSocketEventSink(write: { try await writer.write($0) })), handler: handler)
            if let failure { throw failure }
            return closure
        }
    }

    /// Reads until the handshake's outcome.
    static func openingHandshake(_ reader: WebSocketClientEventReader) async throws -> WebSocketNegotiation {
        while let event = try await reader.next() {
            switch event {
            case .accepted(let negotiation):
                return negotiation
            case .closed(let closure):
                switch closure.cause {
                case .handshakeRejected(let rejection):
                    throw WebSocketClientUpgradeError(.rejected, response: rejection.response)
                case .handshakeFailed(let error):
                    throw WebSocketClientUpgradeError(.invalidResponse, handshake: error)
                default:
                    throw WebSocketClientUpgradeError(.connectionClosed)
                }
            default:
                continue
            }
        }
        throw ClientConnectionError(.connectionClosed, "before the server's answer to the Upgrade request")
    }
}

/// An open client WebSocket, lent by ``WebSocketClient/withConnection(_:)``: every event
/// the connection reports (messages, pings, pongs, and the final `.closed`) and a writer.
///
/// Pings are answered by the connection; ``events`` only reports them. Iterate ``events``
/// (from one task at a time) to read: the connection reads from the network only as fast.
public struct WebSocketClientConnection: Sendable {
    /// The Upgrade request that was sent.
    public let request: HTTPRequest
    /// The subprotocol and permessage-deflate parameters agreed.
    public let negotiation: WebSocketNegotiation
    let reader: WebSocketClientEventReader
    let writer: NIOAsyncChannelOutboundWriter<WebSocketOutboundEvent>
    /// The HTTP the WebSocket was opened over: HTTP/1.1 (an Upgrade, 101) or HTTP/2 (an
    /// extended CONNECT on a stream, 200; RFC 8441).
    public var httpVersion: WireHTTPVersion = .http1_1
    /// When HTTP/2 was asked for (``WebSocketClient/Configuration/httpVersion``) but HTTP/1.1
    /// was used: why (the server chose `http/1.1` by ALPN, its SETTINGS do not allow extended
    /// CONNECT, a `ws://` URL has no ALPN).
    public var fallbackReason: String?

    /// The events, in order; the sequence ends after `.closed`.
    public var events: WebSocketClientEvents { WebSocketClientEvents(reader: reader) }

    /// How the connection closed, once `.closed` was read.
    public var closure: WebSocketClosure? { reader.closure }

    /// Sends a message, a ping, or the close (``WebSocketOutboundEvent``).
    public func send(_ event: WebSocketOutboundEvent) async throws {
        try await writer.write(event)
    }

    /// Starts the closing handshake; read ``events`` to its end to complete it.
    public func close(code: WebSocketCloseCode = .normalClosure, reason: String = "") async throws {
        try await writer.write(.close(code, reason: reason))
    }

    /// After the body: close with 1000 if still open and read to the end.
    func finish() async {
        if reader.closure == nil {
            try? await writer.write(.close(.normalClosure, reason: ""))
        }
        while (try? await reader.next()) != nil {}
    }
}

/// The events of a ``WebSocketClientConnection``.
public struct WebSocketClientEvents: AsyncSequence, Sendable {
    public typealias Element = WebSocketEvent
    public typealias Failure = any Error
    let reader: WebSocketClientEventReader

    public struct AsyncIterator: AsyncIteratorProtocol {
        let reader: WebSocketClientEventReader
        public mutating func next() async throws -> WebSocketEvent? { try await reader.next() }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(reader: reader) }
}

/// What a client's `NIOAsyncChannel` reads: the connection's events, and the mark that a
/// protocol error waits behind them (``WebSocketHandler/FailureHeld``).
enum WebSocketClientInbound: Sendable {
    case event(WebSocketEvent)
    /// The events before a protocol error were all delivered; `release` makes the error take
    /// effect (its close frame goes out), once the application asks for the next event.
    case failureHeld(release: @Sendable () -> Void)
}

/// Keeps a peer's protocol error from ending the inbound stream: its close frame is already
/// queued and the connection's `.closed` event (cause `.protocolError`) follows.
final class WebSocketClientErrorFilter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketEvent
    typealias InboundOut = WebSocketEvent

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is WebSocketProtocolError { return }
        context.fireErrorCaught(error)
    }
}

/// ``WebSocketClientErrorFilter`` for a handler that holds failures: the connection's events
/// wrapped, and a held failure passed on as an event after the messages before it.
final class WebSocketClientInboundBridge: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketEvent
    typealias InboundOut = WebSocketClientInbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(wrapInboundOut(.event(unwrapInboundIn(data))))
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let held = event as? WebSocketHandler.FailureHeld else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        context.fireChannelRead(wrapInboundOut(.failureHeld(release: held.release)))
        context.fireChannelReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is WebSocketProtocolError { return }
        context.fireErrorCaught(error)
    }
}

/// The channel's inbound iterator, read by one task at a time; remembers the closure and
/// ends after it.
///
/// A held protocol error (``WebSocketClientInbound/failureHeld(release:)``) is released when
/// it is read: the application asked for the event after the messages before it.
final class WebSocketClientEventReader: @unchecked Sendable {
    private let nextInbound: () async throws -> WebSocketClientInbound?
    private let state = Mutex<(closure: WebSocketClosure?, ended: Bool)>((nil, false))

    init(_ base: NIOAsyncChannelInboundStream<WebSocketClientInbound>.AsyncIterator) {
        let box = IteratorBox(base)
        nextInbound = { try await box.next() }
    }

    var closure: WebSocketClosure? { state.withLock { $0.closure } }

    func next() async throws -> WebSocketEvent? {
        if state.withLock({ $0.ended }) { return nil }
        var received: WebSocketEvent?
        while received == nil, let inbound = try await nextInbound() {
            switch inbound {
            case .event(let event): received = event
            case .failureHeld(let release): release()
            }
        }
        guard let event = received else {
            state.withLock {
                $0.ended = true
                if $0.closure == nil { $0.closure = WebSocketClosure(cause: .endOfStream) }
            }
            return nil
        }
        if case .closed(let closure) = event {
            state.withLock {
                $0.closure = closure
                $0.ended = true
            }
        }
        return event
    }
}
