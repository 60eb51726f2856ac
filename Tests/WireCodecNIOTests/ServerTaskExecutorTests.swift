import HTTPTypes
import NIOCore
import NIOHTTPTypes
import NIOPosix
import Synchronization
import Testing
import WireCodec
import WireCodecNIO
import WireCodecTLS

/// ``WireServer/Configuration/runsTasksOnEventLoop``: with it (the default) every task serving
/// a connection — the HTTP handler, the child tasks it makes, the WebSocket upgrade decision,
/// the WebSocket handler, the handler of a request after a held long poll, an HTTP/2 stream's
/// handler — runs on the connection's own event loop, before and after each await; without it
/// none runs on an event loop. Each check compares the thread's current event loop with the
/// loop the connection was accepted on (recorded by `configureConnection`, keyed by the
/// client's address); no timing is involved.
@Suite(.serialized, .timeLimit(.minutes(2))) struct ServerTaskExecutorTests {
    /// Where each labelled point of the handlers ran: on the connection's loop, on another
    /// loop, or on no loop at all.
    enum Place: Sendable, Equatable, CustomStringConvertible {
        case connectionLoop, otherLoop, noLoop
        var description: String {
            switch self {
            case .connectionLoop: "connection's loop"
            case .otherLoop: "another loop"
            case .noLoop: "no loop"
            }
        }
    }

    final class Places: Sendable {
        private let loops = Mutex<[String: ObjectIdentifier]>([:])
        private let seen = Mutex<[(String, Place)]>([])

        /// `configureConnection`: the loop a client's connection runs on.
        func accepted(_ channel: any Channel) {
            guard let address = channel.remoteAddress else { return }
            loops.withLock { $0["\(address)"] = ObjectIdentifier(channel.eventLoop) }
        }

        /// Records where `label` runs, for the connection of `remoteAddress`.
        func record(_ label: String, _ remoteAddress: SocketAddress?) {
            let connection = remoteAddress.flatMap { address in loops.withLock { $0["\(address)"] } }
            let place: Place
            if let current = MultiThreadedEventLoopGroup.currentEventLoop {
                place = ObjectIdentifier(current) == connection ? .connectionLoop : .otherLoop
            } else {
                place = .noLoop
            }
            seen.withLock { $0.append((label, place)) }
        }

        var all: [(String, Place)] { seen.withLock { $0 } }
        var labels: [String] { all.map(\.0) }
    }

    /// A server on a group of two loops (so that "another loop" is possible): `/body` reads
    /// the body and streams an answer, `/hold` holds the request on the event loop until the
    /// held responses are answered, anything else answers at once; WebSockets echo.
    static func start(
        _ places: Places, onEventLoop: Bool, group: any EventLoopGroup, held: HTTPHeldResponses
    ) async throws -> RunningServer {
        var configuration = WireServer.Configuration(host: "127.0.0.1", port: 0)
        configuration.runsTasksOnEventLoop = onEventLoop
        configuration.configureConnection = { channel in places.accepted(channel) }
        return try await WireServerTests.start(configuration, eventLoopGroup: group) { request, response in
            let address = request.remoteAddress
            let path = request.path
            places.record("\(path) handler", address)
            switch path {
            case "/hold":
                held.holdOnEventLoop(response, timeout: .seconds(60)) { _ in
                    (HTTPResponse(status: .noContent), HTTPPreparedBody(ByteBuffer()))
                }
            case "/body":
                let body = try await request.body.collect(upTo: 1 << 20)
                places.record("\(path) after reading the body", address)
                async let child: Void = places.record("\(path) async let", address)
                await child
                await withTaskGroup(of: Void.self) { group in
                    group.addTask { places.record("\(path) task group child", address) }
                }
                let writer = try await response.start(HTTPResponse(status: .ok))
                try await writer.write(body)
                places.record("\(path) after a write", address)
                try await writer.finish()
            default:
                try await response.send(HTTPResponse(status: .ok), body: "ok")
            }
        } webSocket: { upgrade in
            let address = upgrade.remoteAddress
            places.record("upgrade decision", address)
            return .accept { webSocket in
                places.record("WebSocket handler", address)
                for try await message in webSocket.inbound {
                    places.record("WebSocket after a message", address)
                    try await webSocket.outbound.send(message)
                }
            }
        }
    }

    /// The labels every scenario records, in order.
    static let labels = [
        "/body handler", "/body after reading the body", "/body async let", "/body task group child", "/body after a write",
        "/hold handler", "/after-hold handler", "upgrade decision", "WebSocket handler", "WebSocket after a message",
    ]

    /// One connection: a request with a body answered by a streamed response, a long poll
    /// held on the event loop and answered (the connection's task ends meanwhile and a new one
    /// takes it up), the next request, then a WebSocket upgrade and one echoed message.
    static func exercise(_ places: Places, onEventLoop: Bool) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let held = HTTPHeldResponses()
        let running = try await start(places, onEventLoop: onEventLoop, group: group, held: held)
        let client = try await RawConnection(port: running.port)
        try await client.send("POST /body HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n\r\nhello")
        #expect(try await client.read(through: "\r\n0\r\n\r\n").hasSuffix("5\r\nhello\r\n0\r\n\r\n"))
        _ = client.takeReceived()
        try await client.send("GET /hold HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        try await waitUntil { held.count == 1 }
        #expect(await held.answerAll(HTTPResponse(status: .noContent), body: HTTPPreparedBody(ByteBuffer())).answered() == 1)
        #expect(try await client.read(through: "\r\n\r\n").hasPrefix("HTTP/1.1 204 No Content\r\n"))
        _ = client.takeReceived()
        try await client.send("GET /after-hold HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        #expect(try await client.read(through: "ok").hasSuffix("\r\n\r\nok"))
        _ = client.takeReceived()
        try await client.send(RawConnection.webSocketUpgrade())
        #expect(try await client.read(through: "\r\n\r\n").hasPrefix("HTTP/1.1 101 Switching Protocols\r\n"))
        _ = client.takeReceived()
        try await client.send([0x81, 0x82, 0, 0, 0, 0] + Array("hi".utf8))
        #expect(try await client.read(until: { $0.count >= 4 }) == [0x81, 2] + Array("hi".utf8))
        await client.close()
        try await running.stop()
        try await group.shutdownGracefully()
    }

    @Test func everyTaskOfAConnectionRunsOnItsEventLoop() async throws {
        let places = Places()
        try await Self.exercise(places, onEventLoop: true)
        #expect(places.labels == Self.labels)
        for (label, place) in places.all {
            #expect(place == .connectionLoop, "\(label) ran on \(place)")
        }
    }

    @Test func withTheOptOutNoTaskRunsOnAnEventLoop() async throws {
        let places = Places()
        try await Self.exercise(places, onEventLoop: false)
        #expect(places.labels == Self.labels)
        for (label, place) in places.all {
            #expect(place == .noLoop, "\(label) ran on \(place)")
        }
    }

    /// Over HTTP/2 (TLS, ALPN `h2`), a stream's handler runs on its connection's loop, and a
    /// WebSocket opened by extended CONNECT too.
    @Test func http2StreamsRunOnTheirConnectionsEventLoop() async throws {
        guard requirePeer(TestCertificates.opensslAvailable, "openssl") else { return }
        let places = Places()
        try await H2TestServer.with(
            configure: { $0.configureConnection = { channel in places.accepted(channel) } },
            http: { request, response in
                places.record("stream handler", request.remoteAddress)
                let body = try await request.body.collect(upTo: 1 << 20)
                places.record("stream after reading the body", request.remoteAddress)
                try await response.send(HTTPResponse(status: .ok), body: body)
                places.record("stream after the response", request.remoteAddress)
            },
            webSocket: { upgrade in
                let address = upgrade.remoteAddress
                places.record("upgrade decision", address)
                return .accept { webSocket in
                    for try await message in webSocket.inbound {
                        places.record("WebSocket after a message", address)
                        try await webSocket.outbound.send(message)
                    }
                }
            }
        ) { server in
            let connection = try await server.connect()
            let stream = try await connection.openRequestStream()
            try await stream.executeThenClose { inbound, outbound in
                try await outbound.write(.head(HTTPRequest(method: .post, scheme: "https", authority: "localhost", path: "/")))
                try await outbound.write(.body(ByteBuffer(string: "hello")))
                try await outbound.write(.end(nil))
                var parts = inbound.makeAsyncIterator()
                guard case .head(let head)? = try await parts.next() else { throw HTTP2ClientError(.noAnswer) }
                #expect(head.status == .ok)
                // The whole response, so that the handler's write is done before the stream closes.
                while let part = try await parts.next() {
                    if case .end = part { break }
                }
            }
            let webSocket = try await server.webSocket(connection, path: "/ws")
            try await webSocket.executeThenClose { inbound, outbound in
                try await outbound.write(.text("hi"))
                var events = inbound.makeAsyncIterator()
                while let event = try await events.next() {
                    if case .text(let text) = event {
                        #expect(text == "hi")
                        break
                    }
                }
                try await outbound.write(.close(.normalClosure, reason: ""))
            }
            try? await connection.channel.close()
        }
        #expect(Set(places.labels).isSuperset(of: [
            "stream handler", "stream after reading the body", "stream after the response", "upgrade decision",
            "WebSocket after a message",
        ]))
        for (label, place) in places.all {
            #expect(place == .connectionLoop, "\(label) ran on \(place)")
        }
    }
}
