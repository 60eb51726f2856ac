import Logging
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import Synchronization
import Testing
import WireCodec
import WireCodecNIO
import WireCodecTLS

/// Polls `condition` (state that changes on an event loop) every 10 ms for up to 30 s; the
/// test records an issue if it never holds. The bound only ends a wait that will not end (a
/// condition that holds returns at once): 30 s, not 5, so a loaded machine never reaches it.
func waitUntil(sourceLocation: SourceLocation = #_sourceLocation, _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(30)
    while ContinuousClock.now < deadline {
        if condition() { return }
        try await Task.sleep(for: .milliseconds(10))
    }
    if condition() { return }
    Issue.record("condition not met in 30 s", sourceLocation: sourceLocation)
}

/// A ``WireServer`` running inside the test process on a free loopback port.
struct RunningServer: Sendable {
    let server: WireServer
    let task: Task<Void, any Error>
    let port: Int

    /// Starts `server` and waits until it listens.
    static func start(_ make: (@escaping @Sendable (SocketAddress) async -> Void) -> WireServer) async throws -> RunningServer {
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let server = make { address in
            continuation.yield(address.port ?? 0)
            continuation.finish()
        }
        let task = Task { try await server.run() }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())
        return RunningServer(server: server, task: task, port: port)
    }

    /// A graceful shutdown; returns once `run()` has.
    func stop() async throws {
        server.shutdownGracefully()
        try await task.value
    }
}

/// A raw TCP (or TLS) connection for tests: bytes out, bytes in.
final class RawConnection: @unchecked Sendable {
    /// A WebSocket opening handshake's request for `path`, with RFC 6455 §1.3's sample key
    /// and `extensions` offered if given.
    static func webSocketUpgrade(_ path: String = "/ws", extensions: String? = nil) -> String {
        "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
            + (extensions.map { "Sec-WebSocket-Extensions: \($0)\r\n" } ?? "") + "\r\n"
    }

    let channel: any Channel
    private var iterator: AsyncStream<ByteBuffer>.AsyncIterator
    private(set) var received: [UInt8] = []
    private(set) var closed = false

    /// Hands what arrives to an `AsyncStream`, which ends when the connection does.
    final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let continuation: AsyncStream<ByteBuffer>.Continuation

        init(_ continuation: AsyncStream<ByteBuffer>.Continuation) {
            self.continuation = continuation
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            continuation.yield(unwrapInboundIn(data))
        }

        func channelInactive(context: ChannelHandlerContext) {
            continuation.finish()
            context.fireChannelInactive()
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if case TLSUserEvent.handshakeCompleted(let negotiated) = event {
                handshakes.withLock { $0.append(negotiated) }
            }
            context.fireUserInboundEventTriggered(event)
        }

        /// The TLS handshakes seen after the TLS handlers (with the protocol ALPN chose).
        let handshakes = Mutex<[String?]>([])

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            errors.withLock { $0.append(error) }
            continuation.finish()
            context.close(promise: nil)
        }

        /// What went through `errorCaught` (a failed TLS handshake, say).
        let errors = Mutex<[any Error]>([])
    }

    private var collector: Collector?

    /// The errors the connection reported.
    var errors: [any Error] { collector?.errors.withLock { $0 } ?? [] }

    /// The TLS handshakes the handlers after TLS saw completed (the protocol ALPN chose).
    var handshakes: [String?] { collector?.handshakes.withLock { $0 } ?? [] }

    init(port: Int, tls: (configuration: TLSClientConfiguration, hostname: String)? = nil) async throws {
        let (stream, continuation) = AsyncStream<ByteBuffer>.makeStream()
        let collector = Collector(continuation)
        self.collector = collector
        channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try tls.configuration.configureClientChannel(channel, serverHostname: tls.hostname)
                    }
                    try channel.pipeline.syncOperations.addHandler(collector)
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        iterator = stream.makeAsyncIterator()
    }

    func send(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes))
    }

    func send(_ text: String) async throws {
        try await send(Array(text.utf8))
    }

    /// Reads until `done(received)` holds or the peer closes (tests bound the time with
    /// `.timeLimit`).
    @discardableResult
    func read(until done: ([UInt8]) -> Bool = { _ in false }) async throws -> [UInt8] {
        while !done(received) && !closed {
            guard let next = await iterator.next() else {
                closed = true
                break
            }
            received += next.readableBytesView
        }
        return received
    }

    /// The next bytes that arrive (`nil` at the peer's close), not kept in `received`.
    func readSome() async throws -> [UInt8]? {
        guard !closed else { return nil }
        guard let next = await iterator.next() else {
            closed = true
            return nil
        }
        return Array(next.readableBytesView)
    }

    /// Reads until the peer closes.
    func readToEnd() async throws -> String {
        try await read()
        return text
    }

    /// Reads until `marker` appears.
    func read(through marker: String) async throws -> String {
        let bytes = Array(marker.utf8)
        try await read(until: { $0.firstRange(of: bytes) != nil })
        return text
    }

    var text: String { String(decoding: received, as: UTF8.self) }

    func takeReceived() -> [UInt8] {
        defer { received = [] }
        return received
    }

    func close() async {
        try? await channel.close()
    }
}

/// A WebSocket client for tests: our sans-I/O ``WebSocketConnection`` driving its own
/// handshake over a ``RawConnection``.
final class WebSocketTestClient: @unchecked Sendable {
    let raw: RawConnection
    private var connection: WebSocketConnection

    init(port: Int, path: String = "/", subprotocols: [String] = [], deflate: Bool = false) async throws {
        raw = try await RawConnection(port: port)
        let handshake = try WebSocketClientHandshake(
            authority: "127.0.0.1:\(port)", path: path, subprotocols: subprotocols,
            deflate: deflate ? PerMessageDeflateClientOffer() : nil)
        connection = WebSocketConnection(client: handshake)
        try await flush()
    }

    func flush() async throws {
        let bytes = connection.takeOutbound()
        if !bytes.isEmpty { try await raw.send(bytes) }
    }

    /// The next event (`nil` once the connection is over and its last event was returned).
    func next() async throws -> WebSocketEvent? {
        while true {
            if let event = try connection.nextEvent() {
                if connection.state.isClosed {
                    // The answer to the peer's close may find the transport closed already
                    // (a server fails the connection and closes at once).
                    try? await flush()
                } else {
                    try await flush()
                }
                return event
            }
            if connection.state.isClosed { return nil }
            guard let bytes = try await raw.readSome() else {
                connection.receiveEOF()
                continue
            }
            connection.receive(bytes.span)
        }
    }

    func send(_ event: WebSocketOutboundEvent) async throws {
        try connection.send(event)
        try await flush()
    }

    var negotiation: WebSocketNegotiation? { connection.negotiation }
}
