import NIOCore
import NIOPosix
import Synchronization
import Testing
import WireCodecNIO
import WireWebSocket

/// `WebSocketClient` when the server sends a valid message and a bad frame in one write
/// (Autobahn 3.2, 4.1.3, 5.15 in the client role): the application's answer to the message goes
/// out before the close with 1002.
///
/// The error waits for the application only as long as the closing timeout: an application
/// that takes longer hears of it first (``aConsumerSlowerThanTheClosingTimeoutHearsOfTheErrorFirst``).
/// So the echo test gives the wait a timeout longer than its own time limit: with the default
/// 10 s, a test task the loaded machine kept from running for 10 s (the parallel run's peer
/// tests hold the cooperative pool's two threads) lost its echo to the close, and its send
/// then failed with "I/O on closed channel".
@Suite(.serialized, .timeLimit(.minutes(1))) struct WebSocketClientFailureTests {
    /// A client whose held error waits for its application alone (no timeout the machine's
    /// load could reach), nor a handshake timeout.
    static var patient: WebSocketClient.Configuration {
        var configuration = WebSocketClient.Configuration()
        configuration.webSocket.closingTimeout = .seconds(600)
        configuration.handshakeTimeout = .seconds(600)
        return configuration
    }

    /// A listening ``BadFrameServer`` on a free loopback port, reporting to `report`.
    static func badFrameServer(_ report: AsyncStream<WebSocketEvent>.Continuation) async throws -> any Channel {
        try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(BadFrameServer(report)) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    @Test func aMessageBeforeABadFrameIsEchoedBeforeTheClose() async throws {
        let (seen, report) = AsyncStream<WebSocketEvent>.makeStream()
        let server = try await Self.badFrameServer(report)
        defer { server.close(promise: nil) }
        let client = try WebSocketClient(url: "ws://127.0.0.1:\(try #require(server.localAddress?.port))/", configuration: Self.patient)
        let closure = try await client.withConnection { connection in
            for try await event in connection.events {
                if case .text(let text) = event { try await connection.send(.text(text)) }
            }
            return connection.closure
        }
        guard case .protocolError(let error)? = closure?.cause else {
            Issue.record("client closure: \(String(describing: closure))")
            return
        }
        #expect(error.code == .reservedBitsSet)
        var atServer = seen.makeAsyncIterator()
        #expect(await atServer.next() == .text("Hello"), "the echo first")
        let last = await atServer.next()
        guard case .closed(let serverSide)? = last else {
            Issue.record("no close at the server: \(String(describing: last))")
            return
        }
        #expect(serverSide.received?.code == .protocolError)
    }

    /// The interleaving a loaded machine made, forced: the application takes the message, then
    /// does not ask for the next event for longer than the closing timeout. The held error then
    /// takes effect on its own (its close with 1002 goes out: the wait is bounded), so the
    /// server sees the close and no answer, and the application's next event is `.closed`.
    @Test func aConsumerSlowerThanTheClosingTimeoutHearsOfTheErrorFirst() async throws {
        let (seen, report) = AsyncStream<WebSocketEvent>.makeStream()
        let server = try await Self.badFrameServer(report)
        defer { server.close(promise: nil) }
        var configuration = Self.patient
        configuration.webSocket.closingTimeout = .milliseconds(200)
        let client = try WebSocketClient(url: "ws://127.0.0.1:\(try #require(server.localAddress?.port))/", configuration: configuration)
        var atServer = seen.makeAsyncIterator()
        let (first, next) = try await client.withConnection { connection in
            var events = connection.events.makeAsyncIterator()
            let first = try await events.next()
            // Slower than the closing timeout: the server hears the close before anything else.
            let atServerFirst = await atServer.next()
            guard case .closed(let serverSide)? = atServerFirst else {
                Issue.record("the server's first event: \(String(describing: atServerFirst))")
                return (first, try await events.next())
            }
            #expect(serverSide.received?.code == .protocolError)
            return (first, try await events.next())
        }
        #expect(first == .text("Hello"))
        guard case .closed(let closure)? = next, case .protocolError(let error) = closure.cause else {
            Issue.record("the event after the message: \(String(describing: next))")
            return
        }
        #expect(error.code == .reservedBitsSet)
    }
}

/// Accepts the Upgrade with our sans-I/O connection, then writes a text message "Hello", a text
/// frame with RSV2 set and a ping in one write; reports every event it receives after that.
private final class BadFrameServer: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var connection = WebSocketConnection(server: WebSocketServerPolicy())
    private let report: AsyncStream<WebSocketEvent>.Continuation

    init(_ report: AsyncStream<WebSocketEvent>.Continuation) {
        self.report = report
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = Array(unwrapInboundIn(data).readableBytesView)
        connection.receive(bytes.span)
        var out: [UInt8] = []
        while true {
            let event: WebSocketEvent?
            do {
                event = try connection.nextEvent()
            } catch {
                report.yield(.closed(WebSocketClosure(cause: .protocolError(error))))
                continue
            }
            guard let event else { break }
            if case .upgradeRequest = event {
                try? connection.accept()
                out += connection.takeOutbound()
                out += [0x81, 0x05] + Array("Hello".utf8) + [0xA1, 0x00, 0x89, 0x00]
            } else {
                report.yield(event)
                if case .closed = event { report.finish() }
            }
        }
        out += connection.takeOutbound()
        if !out.isEmpty { context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: out)), promise: nil) }
        if connection.transport == .closeNow { context.close(promise: nil) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        report.finish()
    }
}
