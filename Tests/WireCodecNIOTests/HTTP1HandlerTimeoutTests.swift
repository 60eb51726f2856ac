import HTTPTypes
import NIOCore
import NIOEmbedded
import Testing
import WireCodec
import WireCodecNIO

/// ``HTTP1Handler``'s timers on an `EmbeddedChannel` with virtual time: the codec's deadlines
/// (`HTTP1Timeouts`) scheduled on the event loop, the 408 written, the channel closed, and the
/// graceful-shutdown event.
@Suite struct HTTP1HandlerTimeoutTests {
    static let request408 = "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"

    /// The transport reads as a socket with auto-read does: a `read()` after every read.
    static func receiveAndReadAgain(_ t: Harness, _ text: String) throws {
        try t.receive(text)
        t.channel.read()
    }

    @Test func aSlowHeadGets408AndTheConnectionClosesAtTheDeadline() throws {
        let t = try Harness(role: .server)
        t.channel.read()
        let loop = t.channel.embeddedEventLoop
        for byte in "GET /poll HTTP/1.1\r\nHost: x\r\n".unicodeScalars.prefix(29) {
            try Self.receiveAndReadAgain(t, String(byte))
            loop.advanceTime(by: .seconds(1))
        }
        // 29 bytes, one a second: the head began 29 s ago.
        #expect(t.channel.isActive)
        loop.advanceTime(by: .milliseconds(999))
        #expect(t.channel.isActive)
        loop.advanceTime(by: .milliseconds(1))
        loop.run()
        #expect(!t.channel.isActive)
        #expect(try t.outbound() == Self.request408)
        let timeout = try #require(t.recorder.errors.first as? HTTP1Timeout)
        #expect(timeout == HTTP1Timeout(.requestHead, sent408: true))
        #expect(t.recorder.kinds.isEmpty)
    }

    @Test func anIdleConnectionClosesSilently() throws {
        let t = try Harness(role: .server)
        t.channel.read()
        let loop = t.channel.embeddedEventLoop
        loop.advanceTime(by: .seconds(59))
        #expect(t.channel.isActive)
        loop.advanceTime(by: .seconds(1))
        loop.run()
        #expect(!t.channel.isActive)
        #expect(try t.outbound() == "")
        #expect((t.recorder.errors.first as? HTTP1Timeout)?.kind == .idle)
    }

    /// After a response, the keep-alive deadline runs from its end; a held request (the
    /// application's turn) has none.
    @Test func aHeldRequestIsNotTimedButTheIdleConnectionAfterItIs() throws {
        let t = try Harness(role: .server)
        t.channel.read()
        let loop = t.channel.embeddedEventLoop
        try Self.receiveAndReadAgain(t, "GET /long-poll HTTP/1.1\r\nHost: x\r\n\r\n")
        loop.advanceTime(by: .seconds(600))
        #expect(t.channel.isActive, "a long poll is the application's business")
        try t.respond(body: "late")
        loop.advanceTime(by: .seconds(59))
        #expect(t.channel.isActive)
        loop.advanceTime(by: .seconds(1))
        loop.run()
        #expect(!t.channel.isActive)
    }

    /// Keep-alive: each response restarts the idle deadline from its end, though the tick
    /// scheduled for an earlier one is not moved (it fires early and schedules the next).
    @Test func theIdleDeadlineRunsFromTheLastResponse() throws {
        let t = try Harness(role: .server)
        t.channel.read()
        let loop = t.channel.embeddedEventLoop
        for path in ["/a", "/b", "/c"] {
            try Self.receiveAndReadAgain(t, "GET \(path) HTTP/1.1\r\nHost: x\r\n\r\n")
            try t.respond(body: path)
            loop.advanceTime(by: .seconds(50))
            #expect(t.channel.isActive, "50 s after the response to \(path)")
        }
        loop.advanceTime(by: .seconds(9))
        loop.run()
        #expect(t.channel.isActive)
        loop.advanceTime(by: .seconds(1))
        loop.run()
        #expect(!t.channel.isActive, "60 s after the last response")
        #expect((t.recorder.errors.first as? HTTP1Timeout)?.kind == .idle)
    }

    /// A request head begun after an idle tick was scheduled gets its own, earlier, deadline.
    @Test func aHeadDeadlineEarlierThanTheScheduledTickIsScheduled() throws {
        let t = try Harness(role: .server)
        t.channel.read()
        let loop = t.channel.embeddedEventLoop
        try Self.receiveAndReadAgain(t, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        try t.respond(body: "ok")
        // Idle tick at 60 s; a head begins at 10 s: its deadline is 40 s.
        loop.advanceTime(by: .seconds(10))
        try Self.receiveAndReadAgain(t, "GET /slow HTTP/1.1\r\n")
        loop.advanceTime(by: .seconds(29))
        #expect(t.channel.isActive)
        loop.advanceTime(by: .seconds(1))
        loop.run()
        #expect(!t.channel.isActive)
        #expect((t.recorder.errors.first as? HTTP1Timeout)?.kind == .requestHead)
    }

    /// Nobody asked for a read (the application is applying backpressure): the client is
    /// not blamed for the silence.
    @Test func noDeadlineFiresWhileTheApplicationHoldsReads() throws {
        let t = try Harness(role: .server)
        t.channel.read()
        try t.receive("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n01234")
        // No read() follows: the next handler is not reading.
        t.channel.embeddedEventLoop.advanceTime(by: .seconds(300))
        #expect(t.channel.isActive)
        t.channel.read()
        t.channel.embeddedEventLoop.advanceTime(by: .seconds(60))
        t.channel.embeddedEventLoop.run()
        #expect(!t.channel.isActive)
        #expect(try t.outbound() == Self.request408)
        #expect((t.recorder.errors.first as? HTTP1Timeout)?.kind == .bodyProgress)
    }

    @Test func timeoutsAreConfigurable() throws {
        let channel = EmbeddedChannel()
        let recorder = EventRecorder()
        try channel.pipeline.syncOperations.addHandlers([
            HTTP1Handler(role: .server, timeouts: HTTP1Timeouts(requestHead: .milliseconds(1500), idle: .milliseconds(2500))),
            recorder,
        ])
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        channel.read()
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(2499))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        channel.embeddedEventLoop.run()
        #expect(!channel.isActive)
    }

    /// Graceful shutdown: an idle connection closes at once.
    @Test func quiescingClosesAnIdleConnection() throws {
        let t = try Harness(role: .server)
        t.channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        t.channel.embeddedEventLoop.run()
        #expect(!t.channel.isActive)
        #expect(try t.outbound() == "")
    }

    /// Graceful shutdown: the request in progress is answered with `Connection: close`, then
    /// the connection closes.
    @Test func quiescingLetsTheResponseInProgressFinish() throws {
        let t = try Harness(role: .server)
        try t.receive("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        t.channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        t.channel.embeddedEventLoop.run()
        #expect(t.channel.isActive)
        try t.respond(body: "ok")
        t.channel.embeddedEventLoop.run()
        #expect(!t.channel.isActive)
        #expect(try t.outbound() == "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
    }

    /// A WebSocket on shutdown: a close frame with 1001, then the closing handshake.
    @Test func quiescingAWebSocketSendsGoingAway() throws {
        let channel = EmbeddedChannel()
        let connection = try WebSocketConnection(role: .server)
        try channel.pipeline.syncOperations.addHandler(WebSocketHandler(connection: connection))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        channel.embeddedEventLoop.run()
        let frame = try #require(try channel.readOutbound(as: ByteBuffer.self))
        #expect(Array(frame.readableBytesView) == [0x88, 0x02, 0x03, 0xE9])
        #expect(channel.isActive, "waiting for the peer's close")
    }
}
