import HTTPTypes
import NIOCore
import NIOHTTPTypes
import NIOPosix
import Synchronization
import Testing
import WireCodec
@testable import WireCodecNIO
import WireCodecTLS

/// Server-Sent Event streams and held long polls served from their connection's event loop
/// (``HTTPResponseWriter/startEventStreamOnEventLoop(headerFields:maxBytesBehind:heartbeat:onClose:)``,
/// ``HTTPHeldResponses/holdOnEventLoop(_:timeout:onEnd:answer:)``), in-process over loopback:
/// the events in order from the handler, the event loop, another task and a broadcast group;
/// the client going away; a reader that stops reading; a graceful shutdown; a long poll
/// answered (or expired) from the event loop, then the next request on the same connection.
@Suite(.serialized, .timeLimit(.minutes(2))) struct EventLoopResponseTests {
    /// What the callbacks saw.
    enum Seen: Sendable, Equatable {
        case handlerReturned
        case streamClosed(EventLoopEventStreamEnd, onEventLoop: Bool)
        case holdEnded(HTTPHeldResponses.HeldEnd, onEventLoop: Bool)
    }

    final class Shared: Sendable {
        let group = ServerSentEventBroadcastGroup(maxBytesBehind: 1 << 30)
        let streams = Mutex<[EventLoopEventStream]>([])
        let held = Mutex(HTTPHeldResponses())
        let seen: AsyncStream<Seen>
        let report: AsyncStream<Seen>.Continuation
        init() { (seen, report) = AsyncStream<Seen>.makeStream() }
    }

    /// `/events`: an event stream served from the event loop (backlog sent by the handler, then
    /// the group's broadcasts); `/slow`: the same with a 64 KiB bound and no group; `/hold`: a
    /// long poll held on the event loop (`204` when it expires after `timeout` ms); anything
    /// else: `200` with the path as body.
    static func start(_ shared: Shared, configuration: WireServer.Configuration = WireServerTests.configuration) async throws
        -> RunningServer
    {
        try await WireServerTests.start(configuration, http: { request, response in
            switch request.path {
            case "/events", "/slow":
                let slow = request.path == "/slow"
                let stream = try await response.startEventStreamOnEventLoop(
                    maxBytesBehind: slow ? 64 * 1024 : 256 * 1024,
                    heartbeat: request.queryItem("heartbeat").flatMap { Int($0) }.map { .milliseconds($0) },
                    onClose: { stream, end in shared.report.yield(.streamClosed(end, onEventLoop: stream.eventLoop.inEventLoop)) })
                stream.send(data: "first", id: "1")
                if !slow { shared.group.add(stream, sendingFirst: [HTTPPreparedBody("id: 2\ndata: backlog\n\n")]) }
                shared.streams.withLock { $0.append(stream) }
            case "/hold":
                let timeout = request.queryItem("timeout").flatMap { Int($0) } ?? 10_000
                shared.held.withLock { $0 }.holdOnEventLoop(
                    response, timeout: .milliseconds(timeout),
                    onEnd: { end in shared.report.yield(.holdEnded(end, onEventLoop: MultiThreadedEventLoopGroup.currentEventLoop != nil)) },
                    answer: { expiry in
                        var fields = HTTPFields()
                        fields[.init("Expiry")!] = expiry == .timedOut ? "timed-out" : "shutting-down"
                        return (HTTPResponse(status: .noContent, headerFields: fields), HTTPPreparedBody(ByteBuffer()))
                    })
            default:
                try await response.send(HTTPResponse(status: .ok), body: String(request.path))
                return
            }
            shared.report.yield(.handlerReturned)
        })
    }

    static func get(_ path: String) -> String {
        "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    }

    /// Sends `GET /hold` on `client` and returns the held responses the poll joined, once its
    /// handler has returned and the poll is held there.
    static func hold(
        on client: RawConnection, _ shared: Shared, _ seen: inout AsyncStream<Seen>.Iterator,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> HTTPHeldResponses {
        try await client.send(get("/hold"))
        #expect(await seen.next() == .handlerReturned, sourceLocation: sourceLocation)
        let held = shared.held.withLock { $0 }
        try await waitUntil(sourceLocation: sourceLocation) { held.count == 1 }
        return held
    }

    /// Events from the handler, from the event loop's broadcast group and from another task
    /// reach the client in the order they were sent, as chunks of one `text/event-stream`
    /// response, after the handler has returned (no task waits on the stream); `finish()` ends
    /// the chunked body and then the connection; `onClose` once, on the event loop; the
    /// connection tracked until it closed.
    @Test func eventsInOrderAfterTheHandlerReturnedThenFinish() async throws {
        let shared = Shared()
        let running = try await Self.start(shared)
        var seen = shared.seen.makeAsyncIterator()
        let client = try await RawConnection(port: running.port)
        try await client.send(Self.get("/events"))
        let head = try await client.read(through: "data: backlog\n\n")
        #expect(head.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(head)")
        #expect(head.lowercased().contains("content-type: text/event-stream\r\n"))
        #expect(head.lowercased().contains("transfer-encoding: chunked\r\n"))
        #expect(await seen.next() == .handlerReturned)
        try await waitUntil { shared.group.count == 1 }
        _ = client.takeReceived()
        #expect(await shared.group.broadcast(HTTPPreparedBody("id: 3\ndata: broadcast\n\n")).report().written == 1)
        let stream = try #require(shared.streams.withLock { $0.first })
        try await Task.detached { try await stream.send(data: "from a task", event: "note", id: "4").get() }.value
        try await stream.comment("still here").get()
        let body = try await client.read(through: ": still here\n")
        #expect(body.contains("id: 3\ndata: broadcast\n\n"))
        let order = ["data: broadcast", "from a task", ": still here"].map { marker in
            body.utf8.firstRange(of: Array(marker.utf8)).map { body.utf8.distance(from: body.utf8.startIndex, to: $0.lowerBound) } ?? -1
        }
        #expect(order[0] >= 0 && order[0] < order[1] && order[1] < order[2], "in the order sent: \(body.debugDescription)")
        #expect(running.server.trackedConnections == 1)
        try await stream.finish().get()
        let rest = try await client.readToEnd()
        #expect(rest.hasSuffix("0\r\n\r\n"), "the chunked body ends, then the connection: \(rest.debugDescription)")
        #expect(await seen.next() == .streamClosed(.finished, onEventLoop: true))
        try await waitUntil { running.server.trackedConnections == 0 && shared.group.count == 0 }
        // Sends after the end fail; the server serves other connections as before.
        await #expect(throws: HTTPServerError.self) { try await stream.send(data: "late").get() }
        let other = try await RawConnection(port: running.port)
        try await other.send(Self.get("/plain"))
        #expect(try await other.read(through: "/plain").hasPrefix("HTTP/1.1 200 OK"))
        try await running.stop()
    }

    /// The client goes away: `onClose` says so, the stream leaves its group, the connection is
    /// forgotten; a heartbeat comment keeps an idle stream's bytes flowing before that.
    @Test func theClientGoesAwayAndHeartbeats() async throws {
        let shared = Shared()
        let running = try await Self.start(shared)
        var seen = shared.seen.makeAsyncIterator()
        let client = try await RawConnection(port: running.port)
        try await client.send(Self.get("/events?heartbeat=50"))
        _ = try await client.read(through: "data: backlog\n\n")
        #expect(await seen.next() == .handlerReturned)
        _ = client.takeReceived()
        let beat = try await client.read(through: ":\n\n")
        #expect(beat.hasSuffix("3\r\n:\n\n\r\n") || beat.contains(":\n\n"), "\(beat.debugDescription)")
        try await waitUntil { shared.group.count == 1 && running.server.trackedConnections == 1 }
        await client.close()
        #expect(await seen.next() == .streamClosed(.connectionClosed, onEventLoop: true))
        try await waitUntil { shared.group.count == 0 && running.server.trackedConnections == 0 }
        let report = await shared.group.broadcast(HTTPPreparedBody("data: nobody\n\n")).report()
        #expect(report.written == 0)
        try await running.stop()
    }

    /// A client that stops reading: the stream is closed once more than its bound was written
    /// while the connection was not writable (the server holds no more than that), and
    /// `onClose` says it was a slow consumer.
    @Test func aReaderThatStopsReadingIsClosedAtItsBound() async throws {
        let shared = Shared()
        var configuration = WireServerTests.configuration
        configuration.configureConnection = { channel in
            try channel.syncOptions?.setOption(ChannelOptions.socketOption(.so_sndbuf), value: 16 * 1024)
        }
        let running = try await Self.start(shared, configuration: configuration)
        var seen = shared.seen.makeAsyncIterator()
        let stalled = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(ChannelOptions.autoRead, value: false)
            .channelOption(ChannelOptions.socketOption(.so_rcvbuf), value: 4096)
            .connect(host: "127.0.0.1", port: running.port).get()
        defer { stalled.close(promise: nil) }
        try await stalled.writeAndFlush(ByteBuffer(string: Self.get("/slow"))).get()
        #expect(await seen.next() == .handlerReturned)
        let stream = try #require(shared.streams.withLock { $0.first })
        let event = HTTPPreparedBody("data: " + String(repeating: "x", count: 8 * 1024) + "\n\n")
        var sent = 0
        var failed = false
        while sent < 64 * 1024 * 1024 && !failed {
            do {
                try await stream.send(event).get()
                sent += event.count
            } catch {
                failed = true
            }
        }
        #expect(failed, "the stream was closed")
        #expect(sent < 4 * 1024 * 1024, "closed after \(sent) bytes")
        #expect(await seen.next() == .streamClosed(.slowConsumer, onEventLoop: true))
        try await waitUntil { running.server.trackedConnections == 0 }
        try await running.stop()
    }

    /// A graceful shutdown ends streams served from the event loop at once and cleanly (the
    /// chunked body finished, then the connection closed): `run()` returns well before the
    /// grace period, and `onClose` says why.
    @Test func aGracefulShutdownEndsTheStreamAtOnce() async throws {
        let shared = Shared()
        var configuration = WireServerTests.configuration
        // Far longer than any delay a loaded machine makes: the stop returns long before only
        // if the shutdown ended the stream at once.
        configuration.shutdownGracePeriod = .seconds(600)
        let running = try await Self.start(shared, configuration: configuration)
        var seen = shared.seen.makeAsyncIterator()
        let client = try await RawConnection(port: running.port)
        try await client.send(Self.get("/events"))
        _ = try await client.read(through: "data: backlog\n\n")
        #expect(await seen.next() == .handlerReturned)
        try await waitUntil { running.server.trackedConnections == 1 }
        let start = ContinuousClock.now
        try await running.stop()
        #expect(ContinuousClock.now - start < .seconds(100), "run() returned without waiting for the grace period")
        let rest = try await client.readToEnd()
        #expect(rest.hasSuffix("0\r\n\r\n"), "\(rest.debugDescription)")
        #expect(await seen.next() == .streamClosed(.shutdown, onEventLoop: true))
    }

    /// A long poll held on the event loop: answered by `answerAll` (after the handler has
    /// returned), then the next request on the same connection is served; a second hold
    /// expires and gets the `answer` callback's response, and the connection goes on again; a
    /// client that goes away is forgotten at once.
    @Test func aHeldLongPollIsAnsweredThenTheConnectionGoesOn() async throws {
        let shared = Shared()
        let running = try await Self.start(shared)
        var seen = shared.seen.makeAsyncIterator()
        let client = try await RawConnection(port: running.port)
        let held = try await Self.hold(on: client, shared, &seen)
        let answered = await held.answerAll(
            HTTPResponse(status: .ok, headerFields: [.contentType: "text/plain"]), body: HTTPPreparedBody("news\n")
        ).answered()
        #expect(answered == 1)
        let answer = try await client.read(through: "news\n")
        #expect(answer.hasPrefix("HTTP/1.1 200 OK\r\n") && answer.lowercased().contains("content-length: 5\r\n"), "\(answer)")
        #expect(await seen.next() == .holdEnded(.answered, onEventLoop: true))
        _ = client.takeReceived()

        // The same connection: a plain request, then a hold that expires.
        try await client.send(Self.get("/next"))
        #expect(try await client.read(through: "/next").hasPrefix("HTTP/1.1 200 OK"))
        _ = client.takeReceived()
        shared.held.withLock { $0 = HTTPHeldResponses() }
        try await client.send(Self.get("/hold?timeout=100"))
        #expect(await seen.next() == .handlerReturned)
        let expired = try await client.read(through: "\r\n\r\n")
        #expect(expired.hasPrefix("HTTP/1.1 204 No Content\r\n") && expired.lowercased().contains("expiry: timed-out"), "\(expired)")
        #expect(await seen.next() == .holdEnded(.timedOut, onEventLoop: true))
        _ = client.takeReceived()
        try await client.send(Self.get("/again"))
        #expect(try await client.read(through: "/again").hasPrefix("HTTP/1.1 200 OK"))

        // A client that goes away while held.
        let leaving = try await RawConnection(port: running.port)
        let held2 = try await Self.hold(on: leaving, shared, &seen)
        await leaving.close()
        #expect(await seen.next() == .holdEnded(.connectionClosed, onEventLoop: true))
        #expect(held2.count == 0)
        try await running.stop()
    }

    /// `answerAll` frames its body as every whole response is framed: `Content-Length` is
    /// added for a status that may have a body, never to a `204` (RFC 9110 §8.6: a server
    /// must not send it there).
    @Test func answerAllAddsNoContentLengthToA204() async throws {
        let shared = Shared()
        let running = try await Self.start(shared)
        var seen = shared.seen.makeAsyncIterator()
        let client = try await RawConnection(port: running.port)
        let held = try await Self.hold(on: client, shared, &seen)
        #expect(await held.answerAll(HTTPResponse(status: .noContent), body: HTTPPreparedBody(ByteBuffer())).answered() == 1)
        let answer = try await client.read(through: "\r\n\r\n")
        #expect(answer.hasPrefix("HTTP/1.1 204 No Content\r\n"), "\(answer)")
        #expect(!answer.lowercased().contains("content-length"), "\(answer)")
        await client.close()
        try await running.stop()
    }

    /// A connection taken up by a new task after a held poll serves what any connection does:
    /// a request body read by the handler, a streamed response written through the pipeline
    /// (200 KB, more than the socket takes at once), pipelined requests in order, then a
    /// WebSocket upgrade whose handler echoes.
    @Test func aConnectionTakenUpAfterAHeldPollServesBodiesStreamsAndAWebSocket() async throws {
        let shared = Shared()
        let running = try await WireServerTests.start(
            http: { request, response in
                switch request.path {
                case "/hold":
                    shared.held.withLock { $0 }.holdOnEventLoop(response, timeout: .milliseconds(50)) { _ in
                        (HTTPResponse(status: .noContent), HTTPPreparedBody(ByteBuffer()))
                    }
                default:
                    let body = try await request.body.collect(upTo: 1 << 20)
                    let writer = try await response.start(HTTPResponse(status: .ok))
                    try await writer.write("echo: ")
                    try await writer.write(body)
                    try await writer.finish()
                }
            },
            webSocket: { _ in
                .accept { webSocket in
                    for try await message in webSocket.inbound { try await webSocket.outbound.send(message) }
                }
            })
        let client = try await RawConnection(port: running.port)
        try await client.send(Self.get("/hold"))
        #expect(try await client.read(through: "\r\n\r\n").hasPrefix("HTTP/1.1 204 No Content\r\n"))
        _ = client.takeReceived()
        let big = String(repeating: "0123456789", count: 20_000)
        try await client.send("POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: \(big.utf8.count)\r\n\r\n\(big)")
        let echoed = try await client.read(through: "\r\n0\r\n\r\n")
        #expect(echoed.hasPrefix("HTTP/1.1 200 OK\r\n") && echoed.lowercased().contains("transfer-encoding: chunked"))
        #expect(echoed.contains("echo: ") && echoed.utf8.count > big.utf8.count, "\(echoed.utf8.count) bytes")
        _ = client.takeReceived()
        // Two pipelined requests, answered in order; then the held poll again on this connection.
        try await client.send(
            "POST /a HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1\r\n\r\nA"
                + "POST /b HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1\r\n\r\nB" + Self.get("/hold"))
        let answers = try await client.read(through: "204 No Content\r\n")
        let a = try #require(answers.utf8.firstRange(of: Array("\r\n1\r\nA\r\n".utf8)))
        let b = try #require(answers.utf8.firstRange(of: Array("\r\n1\r\nB\r\n".utf8)))
        #expect(a.lowerBound < b.lowerBound, "\(answers.debugDescription)")
        _ = try await client.read(through: "\r\n\r\n")
        _ = client.takeReceived()
        // A WebSocket on the connection a new task took up.
        try await client.send(RawConnection.webSocketUpgrade())
        #expect(try await client.read(through: "\r\n\r\n").hasPrefix("HTTP/1.1 101 Switching Protocols\r\n"))
        _ = client.takeReceived()
        try await client.send([0x81, 0x82, 0, 0, 0, 0] + Array("hi".utf8))
        let frame = try await client.read(until: { $0.count >= 4 })
        #expect(frame == [0x81, 2] + Array("hi".utf8))
        await client.close()
        try await running.stop()
    }

    /// Over HTTP/2 the same calls serve a stream (the stream's task waits for them): an event
    /// stream's events from the handler and a broadcast group, its `finish()` as END_STREAM; a
    /// held poll's expiry answer.
    @Test func overHTTP2() async throws {
        guard requirePeer(TestCertificates.opensslAvailable, "openssl") else { return }
        let group = ServerSentEventBroadcastGroup()
        let streams = Mutex<[EventLoopEventStream]>([])
        let held = HTTPHeldResponses()
        try await H2TestServer.with(
            http: { request, response in
                if request.path == "/hold" {
                    held.holdOnEventLoop(response, timeout: .milliseconds(100)) { _ in
                        (HTTPResponse(status: .noContent), HTTPPreparedBody(ByteBuffer()))
                    }
                    return
                }
                let stream = try await response.startEventStreamOnEventLoop()
                stream.send(data: "first")
                group.add(stream)
                streams.withLock { $0.append(stream) }
            }, webSocket: nil
        ) { server in
            let connection = try await server.connect()
            let events = try await connection.openRequestStream()
            try await events.executeThenClose { inbound, outbound in
                try await outbound.write(.head(HTTPRequest(method: .get, scheme: "https", authority: "localhost", path: "/events")))
                try await outbound.write(.end(nil))
                var parts = inbound.makeAsyncIterator()
                guard case .head(let head)? = try await parts.next() else { throw HTTP2ClientError(.noAnswer) }
                #expect(head.status == .ok && head.headerFields[.contentType] == "text/event-stream")
                guard case .body(let first)? = try await parts.next() else { throw HTTP2ClientError(.noAnswer) }
                #expect(String(buffer: first) == "data: first\n\n")
                try await waitUntil { group.count == 1 }
                #expect(await group.broadcast(HTTPPreparedBody("data: two\n\n")).report().written == 1)
                guard case .body(let second)? = try await parts.next() else { throw HTTP2ClientError(.noAnswer) }
                #expect(String(buffer: second) == "data: two\n\n")
                let stream = try #require(streams.withLock { $0.first })
                try await stream.finish().get()
                var ended = false
                while let part = try await parts.next() {
                    if case .end = part { ended = true }
                }
                #expect(ended, "END_STREAM after finish()")
            }
            let poll = try await connection.openRequestStream()
            try await poll.executeThenClose { inbound, outbound in
                try await outbound.write(.head(HTTPRequest(method: .get, scheme: "https", authority: "localhost", path: "/hold")))
                try await outbound.write(.end(nil))
                var parts = inbound.makeAsyncIterator()
                guard case .head(let head)? = try await parts.next() else { throw HTTP2ClientError(.noAnswer) }
                #expect(head.status == .noContent)
            }
            try? await connection.channel.close()
        }
    }

    /// A graceful shutdown answers a held poll at once with the `answer` callback's response
    /// (`Connection: close`), then the connection closes and `run()` returns.
    @Test func aGracefulShutdownAnswersAHeldPoll() async throws {
        let shared = Shared()
        var configuration = WireServerTests.configuration
        // Far longer than any delay a loaded machine makes (and than the test's time limit):
        // the stop returns long before only if the shutdown answered the poll at once.
        configuration.shutdownGracePeriod = .seconds(600)
        let running = try await Self.start(shared, configuration: configuration)
        var seen = shared.seen.makeAsyncIterator()
        let client = try await RawConnection(port: running.port)
        _ = try await Self.hold(on: client, shared, &seen)
        let start = ContinuousClock.now
        try await running.stop()
        #expect(ContinuousClock.now - start < .seconds(100))
        let answer = try await client.readToEnd()
        #expect(answer.hasPrefix("HTTP/1.1 204 No Content\r\n"), "\(answer)")
        #expect(answer.lowercased().contains("expiry: shutting-down") && answer.lowercased().contains("connection: close"), "\(answer)")
        #expect(await seen.next() == .holdEnded(.shuttingDown, onEventLoop: true))
    }

    /// An event stream added to a group from its own event loop, with a backlog that holds an
    /// item broadcast just before (that broadcast's task not run yet on the loop), gets the
    /// item once: the group's calls reach the loop in the order they were made, as a feed
    /// needs (append and broadcast, then a subscriber joins with its backlog). The interleaving
    /// is forced: one event loop, both calls made from inside it. (The WebSocket group's add
    /// once ran at once there: EventLoopWebSocketTests/anAddOnTheMembersLoopComesAfterTheBroadcastsBeforeIt.)
    @Test func anAddOnTheStreamsLoopComesAfterTheBroadcastsBeforeIt() async throws {
        let group = ServerSentEventBroadcastGroup()
        let opened = Atomic<Int>(0)
        var configuration = WireServerTests.configuration
        configuration.shutdownGracePeriod = .milliseconds(300)
        let loop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let item1 = HTTPPreparedBody("id: 1\ndata: item 1\n\n")
        let running = try await WireServerTests.start(configuration, eventLoopGroup: loop) { _, response in
            let stream = try await response.startEventStreamOnEventLoop()
            if opened.add(1, ordering: .relaxed).newValue == 1 {
                group.add(stream)
            } else {
                try await stream.eventLoop.submit {
                    group.broadcast(item1)
                    group.add(stream, sendingFirst: [item1])
                }.get()
            }
        }
        let first = try await RawConnection(port: running.port)
        try await first.send(Self.get("/events"))
        _ = try await first.read(through: "\r\n\r\n")
        try await waitUntil { group.count == 1 }
        let second = try await RawConnection(port: running.port)
        try await second.send(Self.get("/events"))
        _ = try await first.read(through: "data: item 1\n\n")
        try await waitUntil { group.count == 2 }
        _ = await group.broadcast(HTTPPreparedBody("id: 2\ndata: item 2\n\n")).report()
        let body = try await second.read(through: "data: item 2\n\n")
        let item1Count = body.utf8.split(separator: UInt8(ascii: "\n")).filter { $0.elementsEqual("data: item 1".utf8) }.count
        #expect(item1Count == 1, "item 1 once, then item 2: \(body.debugDescription)")
        _ = try await first.read(through: "data: item 2\n\n")
        try await running.stop()
        try await loop.shutdownGracefully()
    }

    /// A stream's own writes and its group's broadcasts (the order `EventLoopEventStream`
    /// documents): a write made on the stream's event loop goes out at once, before a broadcast
    /// made just before that the loop has not run yet; a write made through
    /// `eventLoop.execute` goes out after it, as one from another thread does.
    @Test func aSendOnTheLoopGoesOutBeforeABroadcastStillQueued() async throws {
        let shared = Shared()
        let running = try await Self.start(shared)
        let client = try await RawConnection(port: running.port)
        try await client.send(Self.get("/events"))
        _ = try await client.read(through: "data: backlog\n\n")
        try await waitUntil { shared.group.count == 1 }
        _ = client.takeReceived()
        let stream = try #require(shared.streams.withLock { $0.first })
        try await stream.eventLoop.submit {
            shared.group.broadcast(HTTPPreparedBody("data: A\n\n"))
            stream.send(data: "B")
            stream.eventLoop.execute { stream.send(data: "C") }
        }.get()
        let body = try await client.read(through: "data: C\n\n")
        let order = ["data: A", "data: B", "data: C"].map { marker in
            body.utf8.firstRange(of: Array(marker.utf8)).map { body.utf8.distance(from: body.utf8.startIndex, to: $0.lowerBound) } ?? -1
        }
        #expect(order.allSatisfy { $0 >= 0 } && order[1] < order[0] && order[0] < order[2], "B, A, C: \(body.debugDescription)")
        await client.close()
        try await running.stop()
    }

    /// A handler's own event stream (`startEventStream`, its task waits) joins a group with
    /// its backlog, then sends an event itself: the client gets the backlog first, as the calls
    /// were made. With the handler's task on the connection's event loop (the server's default)
    /// its write goes out at once on the loop, while the add is queued there.
    @Test func aTaskStreamsSendAfterItsJoinComesAfterItsBacklog() async throws {
        let group = ServerSentEventBroadcastGroup()
        var configuration = WireServerTests.configuration
        configuration.shutdownGracePeriod = .milliseconds(300)
        let running = try await WireServerTests.start(configuration, http: { _, response in
            let stream = try await response.startEventStream()
            group.add(stream, sendingFirst: [HTTPPreparedBody("data: backlog\n\n")])
            try await stream.send(data: "after the join")
            try? await Task.sleep(for: .seconds(600))
        })
        let client = try await RawConnection(port: running.port)
        try await client.send(Self.get("/events"))
        let body = try await client.read(through: "data: after the join\n\n")
        _ = try await client.read(through: "data: backlog\n\n")
        let text = client.text
        let order = ["data: backlog", "data: after the join"].map { marker in
            text.utf8.firstRange(of: Array(marker.utf8)).map { text.utf8.distance(from: text.utf8.startIndex, to: $0.lowerBound) } ?? -1
        }
        #expect(order[0] >= 0 && order[0] < order[1], "the backlog, then the handler's event: \(body.debugDescription)")
        await client.close()
        try await running.stop()
    }

    /// A poll that decided to wait on a set of held responses, and reaches the event loop after
    /// that set was answered (a feed's poll found no news, then an append answered the set it
    /// was joining and replaced it), gets the same answer at once: it neither waits for the
    /// next news (the item it asked for would come late, or twice) nor misses it. The
    /// interleaving is forced: one event loop, a poll already held there, and `answerAll`
    /// called just before the hold.
    @Test func aHoldThatComesAfterTheAnswerGetsItAtOnce() async throws {
        let held = HTTPHeldResponses()
        let (ended, report) = AsyncStream<HTTPHeldResponses.HeldEnd>.makeStream()
        let loop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let running = try await WireServerTests.start(eventLoopGroup: loop) { request, response in
            if request.path == "/late" {
                held.answerAll(HTTPResponse(status: .ok), body: HTTPPreparedBody("news\n"))
            }
            held.holdOnEventLoop(
                response, timeout: .seconds(600), onEnd: { report.yield($0) },
                answer: { _ in (HTTPResponse(status: .noContent), HTTPPreparedBody(ByteBuffer())) })
        }
        let waiting = try await RawConnection(port: running.port)
        try await waiting.send(Self.get("/hold"))
        try await waitUntil { held.count == 1 }
        let late = try await RawConnection(port: running.port)
        try await late.send(Self.get("/late"))
        for client in [waiting, late] {
            let answer = try await client.read(through: "news\n")
            #expect(answer.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(answer)")
        }
        var ends = ended.makeAsyncIterator()
        #expect(await ends.next() == .answered)
        #expect(await ends.next() == .answered)
        #expect(held.count == 0)
        await waiting.close()
        await late.close()
        try await running.stop()
        try await loop.shutdownGracefully()
    }
}
