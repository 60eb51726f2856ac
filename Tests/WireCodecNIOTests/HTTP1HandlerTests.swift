import HTTPTypes
import NIOCore
import NIOEmbedded
import Testing
import WireCodec
import WireCodecNIO

/// ``HTTP1Handler`` on an `EmbeddedChannel`: bytes in, events out, events in, bytes out, and the
/// transport decisions the adapter makes (reading, closing, handing over after a switch).
@Suite struct HTTP1HandlerTests {
    @Test func serverAnswersTwoRequestsOnOneConnection() throws {
        let t = try Harness(role: .server)
        try t.receive("GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(t.recorder.kinds == ["request GET /a", "end"])
        try t.respond(body: "A")
        try t.receive("GET /b HTTP/1.1\r\nHost: x\r\n\r\n")
        try t.respond(body: "B")
        let out = try t.outbound()
        #expect(out == "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA" + "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nB")
        #expect(t.channel.isActive)
    }

    /// Pipelining: the second request waits in the connection until the first is answered,
    /// and no read is asked of the transport in between.
    @Test func pipelinedRequestWaitsForTheAnswerAndHoldsReads() throws {
        let t = try Harness(role: .server)
        try t.receive("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(t.recorder.kinds == ["request GET /a", "end"])
        let before = t.reads.count
        t.channel.read()
        #expect(t.reads.count == before, "read held while an answer is owed")
        try t.respond(body: "A")
        #expect(t.recorder.kinds == ["request GET /a", "end", "request GET /b", "end"])
        #expect(t.reads.count == before, "still held: /b is owed an answer")
        try t.respond(body: "B")
        #expect(t.reads.count == before + 1, "the held read goes out once nothing is owed")
    }

    @Test func readsWaitForWritability() throws {
        let t = try Harness(role: .server)
        let before = t.reads.count
        t.channel.isWritable = false
        t.channel.pipeline.fireChannelWritabilityChanged()
        t.channel.read()
        #expect(t.reads.count == before)
        t.channel.isWritable = true
        t.channel.pipeline.fireChannelWritabilityChanged()
        #expect(t.reads.count == before + 1)
    }

    @Test func connectionCloseClosesAfterTheAnswer() throws {
        let t = try Harness(role: .server)
        try t.receive("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(t.channel.isActive)
        try t.respond(body: "bye")
        t.channel.embeddedEventLoop.run()
        #expect(!t.channel.isActive)
        #expect(try t.outbound() == "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nbye")
    }

    @Test func malformedRequestIsAnsweredWithItsStatusAndClosed() throws {
        let t = try Harness(role: .server)
        try t.receive("GET / HTTP/1.1\r\nHost: x\r\nBad Name: y\r\n\r\n")
        t.channel.embeddedEventLoop.run()
        let out = try t.outbound()
        #expect(out.hasPrefix("HTTP/1.1 400 Bad Request\r\n"), "\(out) \(t.recorder.errors)")
        #expect(t.recorder.errors.count == 1)
        #expect(!t.channel.isActive)
    }

    /// Server: after the 101 goes out, the bytes that followed the Upgrade request (here in
    /// the same read) are handed over, and nothing is parsed as HTTP any more.
    @Test func serverHandsOverTheBytesAfterTheUpgradeRequest() throws {
        let t = try Harness(role: .server)
        try t.receive("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\u{81}\u{0}GET")
        #expect(t.recorder.kinds == ["request GET /ws", "end"])
        var fields = HTTPFields()
        fields[.upgrade] = "websocket"
        fields[.connection] = "Upgrade"
        try t.channel.writeOutbound(HTTP1OutboundEvent.response(HTTPResponse(status: .switchingProtocols, headerFields: fields)))
        #expect(t.recorder.switched == nil, "handed over after the write returns")
        try t.receive("more")
        t.channel.embeddedEventLoop.run()
        #expect(t.recorder.switched == latin1("\u{81}\u{0}GETmore"))
        #expect(t.recorder.kinds == ["request GET /ws", "end"])
        #expect(try t.outbound() == "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
    }

    @Test func clientReadsAResponseInPiecesAndKeepsTheConnection() throws {
        let t = try Harness(role: .client)
        try t.channel.writeOutbound(HTTP1OutboundEvent.request(HTTPRequest(method: .get, scheme: nil, authority: "x", path: "/")))
        try t.channel.writeOutbound(HTTP1OutboundEvent.end(trailers: nil))
        #expect(try t.outbound() == "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        for piece in ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n", "\r\n3\r\nabc\r\n", "0\r\n\r\n"] {
            try t.receive(piece)
        }
        #expect(t.recorder.kinds == ["response 200", "body abc", "end"])
        #expect(t.channel.isActive)
        try t.channel.writeOutbound(HTTP1OutboundEvent.request(HTTPRequest(method: .get, scheme: nil, authority: "x", path: "/2")))
        #expect(try t.outbound() == "GET /2 HTTP/1.1\r\nHost: x\r\n\r\n")
    }

    /// Client: the 101 and the first frames may arrive in one read; the frames are handed over.
    @Test func clientHandsOverTheBytesAfterThe101() throws {
        let t = try Harness(role: .client)
        var fields = HTTPFields()
        fields[.upgrade] = "websocket"
        fields[.connection] = "Upgrade"
        try t.channel.writeOutbound(
            HTTP1OutboundEvent.request(HTTPRequest(method: .get, scheme: nil, authority: "x", path: "/", headerFields: fields)))
        try t.channel.writeOutbound(HTTP1OutboundEvent.end(trailers: nil))
        try t.receive("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\u{81}\u{2}hi")
        #expect(t.recorder.kinds == ["informational 101"])
        #expect(t.recorder.switched == latin1("\u{81}\u{2}hi"))
    }

    /// A response written as head, body and end goes to the channel as one buffer at the
    /// flush, and each event's promise completes once that buffer is written.
    @Test func aResponseGoesOutAsOneBufferAtTheFlush() throws {
        let t = try Harness(role: .server)
        try t.receive("GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
        let loop = t.channel.embeddedEventLoop
        let promises = (0..<3).map { _ in loop.makePromise(of: Void.self) }
        let completions = Completions()
        for (i, promise) in promises.enumerated() { promise.futureResult.whenSuccess { completions.done[i] = true } }
        t.channel.write(HTTP1OutboundEvent.response(HTTPResponse(status: .ok, headerFields: [.contentLength: "2"])), promise: promises[0])
        t.channel.write(HTTP1OutboundEvent.body(Array("hi".utf8)), promise: promises[1])
        t.channel.write(HTTP1OutboundEvent.end(trailers: nil), promise: promises[2])
        #expect(try t.channel.readOutbound(as: ByteBuffer.self) == nil, "nothing before the flush")
        #expect(completions.done == [false, false, false])
        t.channel.flush()
        let buffer = try #require(try t.channel.readOutbound(as: ByteBuffer.self))
        #expect(String(buffer: buffer) == "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi")
        #expect(try t.channel.readOutbound(as: ByteBuffer.self) == nil, "one buffer")
        #expect(completions.done == [true, true, true])
        // The next request is read once the answer is complete.
        try t.receive("GET /b HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(t.recorder.kinds == ["request GET /a", "end", "request GET /b", "end"])
    }

    /// An event that adds no bytes (the end of a Content-Length body), written when nothing
    /// is held, completes at once, as before.
    @Test func aWriteWithoutBytesCompletesAtOnce() throws {
        let t = try Harness(role: .server)
        try t.receive("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        try t.respondHead(contentLength: 0)
        let promise = t.channel.embeddedEventLoop.makePromise(of: Void.self)
        t.channel.write(HTTP1OutboundEvent.end(trailers: nil), promise: promise)
        #expect(throws: Never.self) { try promise.futureResult.wait() }
    }

    /// Held bytes that never reach a flush fail their promises when the channel closes
    /// (no promise is left behind).
    @Test func heldBytesFailTheirPromisesWhenTheChannelCloses() throws {
        let t = try Harness(role: .server)
        try t.receive("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        let promise = t.channel.embeddedEventLoop.makePromise(of: Void.self)
        t.channel.write(HTTP1OutboundEvent.response(HTTPResponse(status: .ok, headerFields: [.contentLength: "0"])), promise: promise)
        _ = try? t.channel.finish()
        #expect(throws: (any Error).self) { try promise.futureResult.wait() }
    }

    @Test func sendingWhatTheProtocolForbidsFailsTheWrite() throws {
        let t = try Harness(role: .server)
        let promise = t.channel.embeddedEventLoop.makePromise(of: Void.self)
        t.channel.write(HTTP1OutboundEvent.body(Array("x".utf8)), promise: promise)
        #expect(throws: HTTP1UsageError.self) { try promise.futureResult.wait() }
    }
}

// MARK: - Harness

/// Which promises completed (written and read on the embedded event loop's thread).
final class Completions: @unchecked Sendable {
    var done = [false, false, false]
}

/// Counts the `read()` calls that reach the transport.
final class ReadCounter: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
    var count = 0
    func read(context: ChannelHandlerContext) {
        count += 1
        context.read()
    }
}

/// Records what the HTTP1Handler delivers.
final class EventRecorder: ChannelInboundHandler {
    typealias InboundIn = HTTP1Event
    var kinds: [String] = []
    var errors: [any Error] = []
    var switched: [UInt8]?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .request(let head): kinds.append("request \(head.method) \(head.target)")
        case .informationalResponse(let head): kinds.append("informational \(head.status)")
        case .response(let head): kinds.append("response \(head.status)")
        case .body(let bytes): kinds.append("body \(String(decoding: bytes, as: UTF8.self))")
        case .end: kinds.append("end")
        case .connectionClosed: kinds.append("closed")
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        errors.append(error)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? HTTP1Handler.ProtocolSwitched { switched = event.leftover }
    }
}

/// A string's code points as bytes (ISO-8859-1), for raw frame bytes in test strings.
func latin1(_ text: String) -> [UInt8] {
    text.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) }
}

struct Harness {
    let channel: EmbeddedChannel
    let reads = ReadCounter()
    let recorder = EventRecorder()

    init(role: Role) throws {
        channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandlers([reads, HTTP1Handler(role: role), recorder])
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
    }

    func receive(_ text: String) throws {
        var buffer = channel.allocator.buffer(capacity: text.utf8.count)
        buffer.writeBytes(latin1(text))
        try channel.writeInbound(buffer)
    }

    func respond(body: String) throws {
        var fields = HTTPFields()
        fields[.contentLength] = String(body.utf8.count)
        try channel.writeOutbound(HTTP1OutboundEvent.response(HTTPResponse(status: .ok, headerFields: fields)))
        try channel.writeOutbound(HTTP1OutboundEvent.body(Array(body.utf8)))
        try channel.writeOutbound(HTTP1OutboundEvent.end(trailers: nil))
    }

    func respondHead(contentLength: Int) throws {
        try channel.writeOutbound(
            HTTP1OutboundEvent.response(HTTPResponse(status: .ok, headerFields: [.contentLength: String(contentLength)])))
    }

    /// Everything written to the transport so far, as ISO-8859-1 text.
    func outbound() throws -> String {
        var text = ""
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) {
            text += String(buffer.readableBytesView.map { Character(Unicode.Scalar($0)) })
        }
        return text
    }
}
