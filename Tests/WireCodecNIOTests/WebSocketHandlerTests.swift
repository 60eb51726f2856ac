import Foundation
import HTTPTypes
import NIOCore
import NIOEmbedded
import Testing
import WireCodec
import WireCodecNIO

/// The WebSocket side of the adapter on an `EmbeddedChannel`: the upgrade paths (leftover
/// bytes handed over), pongs, the closing handshake closing the transport, timers on the event
/// loop's clock, and read gating.
@Suite struct WebSocketHandlerTests {
    static let upgradeRequest = "GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"

    /// A masked client frame (key 0x01020304).
    static func clientFrame(_ opcode: UInt8, _ payload: [UInt8], fin: Bool = true) -> [UInt8] {
        precondition(payload.count < 126)
        let key: [UInt8] = [1, 2, 3, 4]
        return [(fin ? 0x80 : 0) | opcode, 0x80 | UInt8(payload.count)] + key
            + payload.enumerated().map { $0.element ^ key[$0.offset % 4] }
    }

    @Test func serverUpgradeHandsTheFramesOfTheSameReadToTheConnection() throws {
        let t = try WebSocketHarness()
        try t.channel.pipeline.syncOperations.addHandlers([
            HTTP1Handler(role: .server),
            WebSocketServerUpgrader(policy: .init()) { [recorder = t.recorder] _, _ in [recorder] },
        ])
        try t.connect()
        try t.receive(latin1(Self.upgradeRequest) + Self.clientFrame(0x1, Array("hi".utf8)))
        t.channel.embeddedEventLoop.run()
        #expect(try t.outboundText().hasPrefix(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"))
        #expect(t.recorder.events == [.text("hi")])
        #expect((try? t.channel.pipeline.syncOperations.handler(type: HTTP1Handler.self)) == nil)
        try t.channel.writeOutbound(WebSocketOutboundEvent.text("yo"))
        #expect(try t.outboundBytes() == [0x81, 0x02] + Array("yo".utf8))
    }

    @Test func badUpgradeRequestIsAnsweredAndClosed() throws {
        let t = try WebSocketHarness()
        try t.channel.pipeline.syncOperations.addHandlers([
            HTTP1Handler(role: .server),
            WebSocketServerUpgrader(policy: .init()) { [recorder = t.recorder] _, _ in [recorder] },
        ])
        try t.connect()
        try t.receive(latin1(Self.upgradeRequest.replacingOccurrences(of: "Version: 13", with: "Version: 8")))
        t.channel.embeddedEventLoop.run()
        let out = try t.outboundText()
        #expect(out.hasPrefix("HTTP/1.1 426 Upgrade Required\r\n"), "\(out)")
        #expect(out.contains("Sec-WebSocket-Version: 13\r\n"))
        #expect(!t.channel.isActive)
        #expect(t.recorder.events.isEmpty)
    }

    @Test func clientUpgradeSendsTheRequestAndReadsFramesAfterThe101() throws {
        let t = try WebSocketHarness()
        let handshake = try WebSocketClientHandshake(authority: "example.com", path: "/chat", key: "dGhlIHNhbXBsZSBub25jZQ==")
        let upgraded = t.channel.embeddedEventLoop.makePromise(of: WebSocketNegotiation.self)
        try t.channel.pipeline.syncOperations.addHandlers([
            HTTP1Handler(role: .client),
            WebSocketClientUpgrader(handshake: handshake, upgraded: upgraded) { [recorder = t.recorder] _ in [recorder] },
        ])
        try t.connect()
        #expect(try t.outboundText() == "GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        try t.receive(latin1("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n") + [0x81, 0x02] + Array("hi".utf8))
        #expect(t.recorder.events == [.text("hi")])
        #expect(try upgraded.futureResult.wait() == WebSocketNegotiation())
        try t.channel.writeOutbound(WebSocketOutboundEvent.text("yo"))
        let frame = try t.outboundBytes()
        #expect(frame.count == 8 && frame[0] == 0x81 && frame[1] == 0x82, "masked: \(frame)")
    }

    @Test func clientUpgradeRejectedFailsThePromise() throws {
        let t = try WebSocketHarness()
        let handshake = try WebSocketClientHandshake(authority: "example.com", key: "dGhlIHNhbXBsZSBub25jZQ==")
        let upgraded = t.channel.embeddedEventLoop.makePromise(of: WebSocketNegotiation.self)
        try t.channel.pipeline.syncOperations.addHandlers([
            HTTP1Handler(role: .client),
            WebSocketClientUpgrader(handshake: handshake, upgraded: upgraded) { [recorder = t.recorder] _ in [recorder] },
        ])
        try t.connect()
        try t.receive(latin1("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"))
        #expect(throws: WebSocketClientUpgradeError.self) { try upgraded.futureResult.wait() }
        #expect(!t.channel.isActive)
    }

    /// Three pings and a message in one read: three pongs, then the echo, in that order.
    @Test func everyPingIsAnsweredBeforeWhatFollows() throws {
        let t = try WebSocketHarness()
        try t.addOpenServer()
        let pings = [Array("1".utf8), Array("2".utf8), Array("3".utf8)]
        try t.receive(pings.flatMap { Self.clientFrame(0x9, $0) } + Self.clientFrame(0x1, Array("m".utf8)))
        let out = try t.outboundBytes()
        #expect(out == [0x8A, 1, 0x31, 0x8A, 1, 0x32, 0x8A, 1, 0x33, 0x81, 1, 0x6D])
    }

    /// The peer's close is answered with its code and the transport closes after the write.
    @Test func closingHandshakeClosesTheTransport() throws {
        let t = try WebSocketHarness()
        try t.addOpenServer()
        try t.receive(Self.clientFrame(0x8, [0x0F, 0xA0] + Array("bye".utf8)))
        t.channel.embeddedEventLoop.run()
        #expect(try t.outboundBytes() == [0x88, 0x02, 0x0F, 0xA0])
        #expect(!t.channel.isActive)
        guard case .closed(let closure)? = t.recorder.events.last else {
            Issue.record("no closed event: \(t.recorder.events)")
            return
        }
        #expect(closure.code.rawValue == 4000 && closure.reason == "bye" && closure.wasClean)
    }

    /// Keep-alive on the event loop's clock: a ping after the interval, then, with no pong,
    /// a 1001 close and the transport closed.
    @Test func keepAliveRunsOnTheEventLoopClock() throws {
        let t = try WebSocketHarness()
        var configuration = WebSocketConfiguration()
        configuration.keepAlive = WebSocketKeepAlive(interval: .seconds(5), timeout: .seconds(3))
        try t.addOpenServer(configuration: configuration)
        t.channel.embeddedEventLoop.advanceTime(by: .seconds(4))
        #expect(try t.outboundBytes().isEmpty)
        t.channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        let ping = try t.outboundBytes()
        #expect(ping.first == 0x89 && ping.count == 10, "\(ping)")
        t.channel.embeddedEventLoop.advanceTime(by: .seconds(3))
        #expect(try t.outboundBytes() == [0x88, 0x02, 0x03, 0xE9])
        t.channel.embeddedEventLoop.run()
        #expect(!t.channel.isActive)
    }

    @Test func protocolErrorSendsItsCloseCodeAndCloses() throws {
        let t = try WebSocketHarness()
        try t.addOpenServer()
        try t.receive([0x81, 0x02, 0x68, 0x69])  // unmasked from a client: 1002
        t.channel.embeddedEventLoop.run()
        #expect(try t.outboundBytes() == [0x88, 0x02, 0x03, 0xEA])
        #expect(t.recorder.errors.count == 1)
        #expect(!t.channel.isActive)
    }

    @Test func readsWaitForWritability() throws {
        let t = try WebSocketHarness()
        try t.addOpenServer()
        let before = t.reads.count
        t.channel.isWritable = false
        t.channel.read()
        #expect(t.reads.count == before)
        t.channel.isWritable = true
        t.channel.pipeline.fireChannelWritabilityChanged()
        #expect(t.reads.count == before + 1)
    }
}

/// Records WebSocket events and errors; echoes text and binary when asked to.
final class WebSocketRecorder: ChannelInboundHandler {
    typealias InboundIn = WebSocketEvent
    typealias OutboundOut = WebSocketOutboundEvent
    var events: [WebSocketEvent] = []
    var errors: [any Error] = []
    var echo = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let event = unwrapInboundIn(data)
        events.append(event)
        guard echo else { return }
        switch event {
        case .text(let text): context.write(wrapOutboundOut(.text(text)), promise: nil)
        case .binary(let bytes): context.write(wrapOutboundOut(.binary(bytes)), promise: nil)
        default: break
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        errors.append(error)
    }
}

struct WebSocketHarness {
    let channel = EmbeddedChannel()
    let reads = ReadCounter()
    let recorder = WebSocketRecorder()

    init() throws {
        try channel.pipeline.syncOperations.addHandler(reads)
    }

    func connect() throws {
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
    }

    /// An open server connection (as after an upgrade) whose recorder echoes.
    func addOpenServer(configuration: WebSocketConfiguration = .init()) throws {
        try connect()
        recorder.echo = true
        let connection = try WebSocketConnection(role: .server, configuration: configuration)
        try channel.pipeline.syncOperations.addHandlers([WebSocketHandler(connection: connection), recorder])
    }

    func receive(_ bytes: [UInt8]) throws {
        var buffer = channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        try channel.writeInbound(buffer)
    }

    func outboundBytes() throws -> [UInt8] {
        var bytes: [UInt8] = []
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) {
            bytes += buffer.readableBytesView
        }
        return bytes
    }

    func outboundText() throws -> String {
        String(try outboundBytes().map { Character(Unicode.Scalar($0)) })
    }
}
