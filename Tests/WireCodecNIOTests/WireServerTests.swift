import HTTPTypes
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle
import Synchronization
import Testing
import WireCodec
@testable import WireCodecNIO
import WireCodecTLS

/// ``WireServer``'s async API in-process, over real loopback sockets: what a handler sees and
/// what the client gets back, for requests, streamed and event-stream responses, failures,
/// WebSocket upgrades and their closing handshakes, graceful shutdown in a `ServiceGroup`, and
/// TLS with the client configuration `client` uses.
@Suite(.serialized, .timeLimit(.minutes(2))) struct WireServerTests {
    static let configuration = WireServer.Configuration(host: "127.0.0.1", port: 0)

    /// `eventLoopGroup`: one of a single loop forces the interleavings of calls made from
    /// inside the loop (the ordering tests); the caller shuts it down after `stop()`.
    static func start(
        _ configuration: WireServer.Configuration = configuration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        http: @escaping WireServer.HTTPHandler = { _, response in try await response.send(HTTPResponse(status: .noContent)) },
        webSocket: WireServer.WebSocketUpgradeHandler? = nil
    ) async throws -> RunningServer {
        try await RunningServer.start { onListening in
            WireServer(
                configuration: configuration, eventLoopGroup: eventLoopGroup, onListening: onListening,
                http: http, webSocket: webSocket)
        }
    }

    // MARK: HTTP

    @Test func wholeStreamedAndEventStreamResponses() async throws {
        let running = try await Self.start { request, response in
            switch request.path {
            case "/whole":
                try await response.send(HTTPResponse(status: .ok), body: "whole\n")
            case "/streamed":
                let body = try await response.start(HTTPResponse(status: .ok))
                for part in ["a", "b", "c"] { try await body.write(part) }
                try await body.finish(trailers: [.init("Digest")!: "x"])
            default:
                let events = try await response.startEventStream()
                try await events.send(data: "one\ntwo", event: "add", id: "7")
                try await events.comment()
                try await events.finish()
            }
        }
        let client = try await RawConnection(port: running.port)
        try await client.send("GET /whole HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try await client.read(through: "whole\n") == "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nwhole\n")
        _ = client.takeReceived()
        try await client.send("GET /streamed HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try await client.read(through: "Digest: x\r\n\r\n") == ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n1\r\nb\r\n1\r\nc\r\n0\r\nDigest: x\r\n\r\n"))
        _ = client.takeReceived()
        try await client.send("GET /events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        let events = try await client.readToEnd()
        #expect(events.hasPrefix("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"), "\(events)")
        #expect(events.contains("event: add\nid: 7\ndata: one\ndata: two\n\n"))
        #expect(events.hasSuffix(":\n\r\n0\r\n\r\n"))
        try await running.stop()
    }

    @Test func theBodyArrivesAsItIsSentWithItsTrailers() async throws {
        let running = try await Self.start { request, response in
            var pieces: [String] = []
            for try await buffer in request.body { pieces.append(String(buffer: buffer)) }
            let trailer = request.body.trailers?[.init("Checksum")!] ?? "-"
            try await response.send(HTTPResponse(status: .ok), body: pieces.joined(separator: "|") + " " + trailer)
        }
        let client = try await RawConnection(port: running.port)
        try await client.send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")
        try await Task.sleep(for: .milliseconds(100))
        try await client.send("2\r\nde\r\n0\r\nChecksum: 5\r\n\r\n")
        #expect(try await client.read(through: " 5").hasSuffix("\r\n\r\nabc|de 5"))
        try await running.stop()
    }

    /// Nothing sent: 500, and the connection serves the next request. A body too large for
    /// `collect(upTo:)`, left to the server: 413 and close. A failure after the head: the
    /// connection closes without the last chunk, so the client knows the body is truncated.
    @Test func whatTheServerDoesWhenAHandlerDoesNotFinish() async throws {
        struct Failure: Error {}
        let running = try await Self.start { request, response in
            switch request.path {
            case "/nothing":
                return
            case "/upload":
                _ = try await request.body.collect(upTo: 4)
                try await response.send(HTTPResponse(status: .ok))
            case "/half":
                let body = try await response.start(HTTPResponse(status: .ok))
                try await body.write("half")
                throw Failure()
            default:
                try await response.send(HTTPResponse(status: .ok), body: "fine")
            }
        }
        let client = try await RawConnection(port: running.port)
        try await client.send("GET /nothing HTTP/1.1\r\nHost: x\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try await client.read(through: "fine") == "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nfine")

        let upload = try await RawConnection(port: running.port)
        try await upload.send("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789")
        #expect(try await upload.readToEnd() == "HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

        let half = try await RawConnection(port: running.port)
        try await half.send("GET /half HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try await half.readToEnd() == "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nhalf\r\n")
        try await running.stop()
    }

    /// A response the codec refuses (more body than its Content-Length) is recorded and closes
    /// the connection: nothing of it is sent; other connections go on.
    @Test func aResponseTheCodecRefusesClosesTheConnection() async throws {
        let running = try await Self.start { request, response in
            guard request.path == "/lie" else {
                try await response.send(HTTPResponse(status: .ok), body: "fine")
                return
            }
            try await response.send(HTTPResponse(status: .ok, headerFields: [.contentLength: "2"]), body: "hello")
        }
        let liar = try await RawConnection(port: running.port)
        try await liar.send("GET /lie HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try await liar.readToEnd() == "")
        let client = try await RawConnection(port: running.port)
        try await client.send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(try await client.readToEnd() == "HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\nfine")
        try await running.stop()
    }

    /// A client waiting for `100 Continue` that gets a final answer instead (the handler did not
    /// want the body) may never send the body: the connection closes after the answer.
    @Test func anUnreadBodyBehind100ContinueClosesTheConnection() async throws {
        let running = try await Self.start { _, response in
            try await response.send(HTTPResponse(status: .unauthorized), body: "no\n")
        }
        let client = try await RawConnection(port: running.port)
        try await client.send("PUT /big HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 100000\r\n\r\n")
        #expect(try await client.readToEnd() == "HTTP/1.1 401 Unauthorized\r\nContent-Length: 3\r\n\r\nno\n")
        try await running.stop()
    }

    @Test func headAnswersCarryNoBodyAndPipelinedRequestsAreAnsweredInOrder() async throws {
        let running = try await Self.start { request, response in
            try await response.send(HTTPResponse(status: .ok), body: String(request.path))
        }
        let client = try await RawConnection(port: running.port)
        try await client.send("HEAD /a HTTP/1.1\r\nHost: x\r\n\r\nGET /bb HTTP/1.1\r\nHost: x\r\n\r\nGET /ccc HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(try await client.readToEnd() == "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"
            + "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n/bb"
            + "HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\n/ccc")
        try await running.stop()
    }

    /// A client that goes away while its request is held: the handler is cancelled.
    @Test func aHeldRequestIsCancelledWhenTheClientGoesAway() async throws {
        let (cancelled, signal) = AsyncStream<Bool>.makeStream()
        let (started, start) = AsyncStream<Void>.makeStream()
        let running = try await Self.start { _, response in
            start.yield()
            do {
                try await Task.sleep(for: .seconds(60))
                try await response.send(HTTPResponse(status: .noContent))
            } catch {
                signal.yield(error is CancellationError)
                signal.finish()
            }
        }
        let client = try await RawConnection(port: running.port)
        try await client.send("GET /long-poll HTTP/1.1\r\nHost: x\r\n\r\n")
        // The handler runs (not a fixed wait a loaded machine could outlast), then the client goes.
        var handlers = started.makeAsyncIterator()
        _ = await handlers.next()
        await client.close()
        var iterator = cancelled.makeAsyncIterator()
        #expect(await iterator.next() == true)
        try await running.stop()
    }

    // MARK: WebSocket

    /// Accepted with a subprotocol; messages echoed; the client's close code and reason are
    /// visible to the handler at the end of `inbound`.
    @Test func anAcceptedWebSocketEchoesAndSeesTheClosure() async throws {
        let (closures, report) = AsyncStream<WebSocketClosure?>.makeStream()
        var configuration = Self.configuration
        configuration.webSocketPolicy.subprotocols = ["chat.v2", "chat.v1"]
        let running = try await Self.start(configuration) { _, response in
            try await response.send(HTTPResponse(status: .notFound))
        } webSocket: { upgrade in
            guard upgrade.path == "/chat" else { return .reject(.notFound) }
            return .accept { webSocket in
                for try await message in webSocket.inbound { try await webSocket.outbound.send(message) }
                report.yield(webSocket.closure)
                report.finish()
            }
        }
        let client = try await WebSocketTestClient(port: running.port, path: "/chat", subprotocols: ["chat.v1", "chat.v2"])
        #expect(try await client.next() == .accepted(WebSocketNegotiation(subprotocol: "chat.v2")))
        try await client.send(.text("hello"))
        #expect(try await client.next() == .text("hello"))
        let big = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try await client.send(.binary(big))
        #expect(try await client.next() == .binary(big))
        try await client.send(.close(WebSocketCloseCode(4321), reason: "bye"))
        guard case .closed(let clientSide)? = try await client.next() else { Issue.record("no close"); return }
        #expect(clientSide.code == WebSocketCloseCode(4321), "the close is echoed")
        var iterator = closures.makeAsyncIterator()
        let serverSide = try #require(await iterator.next() ?? nil)
        #expect(serverSide.code == WebSocketCloseCode(4321))
        #expect(serverSide.reason == "bye")
        #expect(serverSide.wasClean)
        try await running.stop()
    }

    /// A WebSocket accepted with `.accept` runs its handler in a task of its own: the
    /// connection's task (and what it held from the HTTP phase) ends once the handler runs,
    /// the connection staying tracked; messages still flow both ways; when the client closes,
    /// the handler sees the closure and the connection is forgotten once the handler is done.
    @Test func anAcceptedWebSocketOutlivesItsConnectionsTask() async throws {
        let (closures, report) = AsyncStream<WebSocketClosure?>.makeStream()
        let running = try await Self.start(webSocket: { _ in
            .accept { webSocket in
                for try await message in webSocket.inbound { try await webSocket.outbound.send(message) }
                report.yield(webSocket.closure)
                report.finish()
            }
        })
        let client = try await WebSocketTestClient(port: running.port, path: "/ws")
        #expect(try await client.next() == .accepted(WebSocketNegotiation()))
        try await client.send(.text("hello"))
        #expect(try await client.next() == .text("hello"))
        try await waitUntil { running.server.runningConnectionTasks == 0 }
        #expect(running.server.trackedConnections == 1)
        try await client.send(.text("after the connection's task"))
        #expect(try await client.next() == .text("after the connection's task"))
        try await client.send(.close(WebSocketCloseCode(4321), reason: "bye"))
        guard case .closed(let clientSide)? = try await client.next() else { Issue.record("no close"); return }
        #expect(clientSide.code == WebSocketCloseCode(4321), "the close is echoed")
        var iterator = closures.makeAsyncIterator()
        let serverSide = try #require(await iterator.next() ?? nil)
        #expect(serverSide.code == WebSocketCloseCode(4321) && serverSide.wasClean)
        try await waitUntil { running.server.trackedConnections == 0 }
        try await running.stop()
    }

    /// A graceful shutdown reaches `.accept` WebSockets whose connection's task has ended: both
    /// clients get 1001; the one that answers is closed, and its handler, which goes on after
    /// its messages end (waiting until it is cancelled), is cancelled when its channel closes;
    /// the one that never answers is closed at the end of the grace period, ending its handler.
    /// `run()` returns only after every handler is done. A client that drops its TCP connection
    /// without a close ends its handler earlier, and its connection is forgotten.
    @Test func aShutdownReachesAnAcceptedWebSocketWithoutItsConnectionsTask() async throws {
        let handlersDone = Mutex(0)
        var configuration = Self.configuration
        configuration.shutdownGracePeriod = .milliseconds(300)
        let running = try await Self.start(configuration, webSocket: { upgrade in
            .accept { webSocket in
                // Counted however the handler ends: a closed or cancelled connection may end
                // the `for try await` by throwing (the forced close at the grace period's end
                // cancels the handler), a clean close by ending it.
                defer { handlersDone.withLock { $0 += 1 } }
                for try await message in webSocket.inbound { try await webSocket.outbound.send(message) }
                if upgrade.path == "/lingering" {
                    // Returns when cancelled, not before.
                    try? await Task.sleep(for: .seconds(3600))
                }
            }
        })
        let dropping = try await WebSocketTestClient(port: running.port, path: "/dropping")
        #expect(try await dropping.next() == .accepted(WebSocketNegotiation()))
        try await dropping.send(.text("one"))
        #expect(try await dropping.next() == .text("one"))
        let lingering = try await WebSocketTestClient(port: running.port, path: "/lingering")
        #expect(try await lingering.next() == .accepted(WebSocketNegotiation()))
        let silent = try await RawConnection(port: running.port)
        try await silent.send(RawConnection.webSocketUpgrade("/silent"))
        _ = try await silent.read(through: "\r\n\r\n")
        try await waitUntil { running.server.runningConnectionTasks == 0 && running.server.trackedConnections == 3 }
        try await dropping.raw.channel.close()
        try await waitUntil { handlersDone.withLock { $0 } == 1 && running.server.trackedConnections == 2 }
        let stopping = Task { try await running.stop() }
        guard case .closed(let closure)? = try await lingering.next() else { Issue.record("no close"); return }
        #expect(closure.received?.code == .goingAway)
        _ = try await silent.readToEnd()
        #expect(silent.received.suffix(4) == [0x88, 2, 0x03, 0xE9], "a close with 1001, then the end")
        try await stopping.value
        #expect(handlersDone.withLock { $0 } == 3, "run() returned after every handler was done")
        #expect(running.server.trackedConnections == 0)
    }

    /// Autobahn 3.2/4.1.3/5.15 (strict): a valid message and a bad frame (RSV2 set) arrive in
    /// one write; the handler echoes the message from its own task, and the echo goes out
    /// before the close with 1002. The ping after the bad frame is not answered.
    @Test func aMessageBeforeABadFrameIsEchoedBeforeTheClose() async throws {
        let (closures, report) = AsyncStream<WebSocketClosure?>.makeStream()
        let running = try await Self.start(webSocket: { _ in
            .accept { webSocket in
                for try await message in webSocket.inbound { try await webSocket.outbound.send(message) }
                report.yield(webSocket.closure)
                report.finish()
            }
        })
        let client = try await WebSocketTestClient(port: running.port)
        #expect(try await client.next() == .accepted(WebSocketNegotiation()))
        // Masked with the key 0 0 0 0: text "Hello", an empty text frame with RSV2, a ping.
        try await client.raw.send([0x81, 0x85, 0, 0, 0, 0] + Array("Hello".utf8) + [0xA1, 0x80, 0, 0, 0, 0, 0x89, 0x80, 0, 0, 0, 0])
        #expect(try await client.next() == .text("Hello"))
        let event = try await client.next()
        guard case .closed(let closure)? = event else {
            Issue.record("no close after the echo: \(String(describing: event))")
            return
        }
        #expect(closure.received?.code == .protocolError)
        var iterator = closures.makeAsyncIterator()
        let serverSide = try #require(await iterator.next() ?? nil)
        guard case .protocolError(let error) = serverSide.cause else {
            Issue.record("server closure: \(serverSide)")
            return
        }
        #expect(error.code == .reservedBitsSet)
        try await running.stop()
    }

    /// A handler that never asks for the next message cannot keep a failed connection open:
    /// the close with 1002 goes out after the closing timeout.
    @Test func aHeldFailureEndsAfterTheClosingTimeout() async throws {
        var configuration = Self.configuration
        configuration.webSocket.closingTimeout = .milliseconds(300)
        let running = try await Self.start(configuration, webSocket: { _ in
            .accept { webSocket in
                var messages = webSocket.inbound.makeAsyncIterator()
                _ = try await messages.next()
                try await Task.sleep(for: .seconds(30))
            }
        })
        let client = try await WebSocketTestClient(port: running.port)
        #expect(try await client.next() == .accepted(WebSocketNegotiation()))
        let start = ContinuousClock.now
        try await client.raw.send([0x81, 0x81, 0, 0, 0, 0, 0x61, 0x83, 0x80, 0, 0, 0, 0])
        let event = try await client.next()
        guard case .closed(let closure)? = event else {
            Issue.record("no close: \(String(describing: event))")
            return
        }
        #expect(closure.received?.code == .protocolError)
        let elapsed = ContinuousClock.now - start
        // The closing timeout, not the handler's end (30 s): a bound a loaded machine keeps.
        #expect(elapsed >= .milliseconds(250) && elapsed < .seconds(25), "\(elapsed)")
        await client.raw.close()
        try await running.stop()
    }

    @Test func upgradesRejectedByTheApplicationOrInvalid() async throws {
        let running = try await Self.start { _, response in
            try await response.send(HTTPResponse(status: .ok), body: "plain")
        } webSocket: { upgrade in
            upgrade.path == "/private" ? .reject(.unauthorized, body: "who are you\n") : .reject(.notFound)
        }
        let rejected = try await RawConnection(port: running.port)
        try await rejected.send("GET /private HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        let answer = try await rejected.readToEnd()
        #expect(answer.hasPrefix("HTTP/1.1 401 Unauthorized\r\n") && answer.contains("Connection: close\r\n") && answer.hasSuffix("\r\n\r\nwho are you\n"), "\(answer)")
        let badVersion = try await RawConnection(port: running.port)
        try await badVersion.send("GET /x HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n")
        let refused = try await badVersion.readToEnd()
        #expect(refused.hasPrefix("HTTP/1.1 426 Upgrade Required\r\n") && refused.contains("Sec-WebSocket-Version: 13\r\n"), "\(refused)")
        // Another protocol (h2c) is an ordinary request, answered without switching.
        let other = try await RawConnection(port: running.port)
        try await other.send("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n")
        #expect(try await other.read(through: "plain").hasSuffix("\r\n\r\nplain"))
        try await running.stop()
    }

    /// The handler returns with the connection open: 1000; it throws: 1011. Deflate is
    /// negotiated by policy and can be turned off per upgrade.
    @Test func theServerClosesWhatTheHandlerLeavesOpen() async throws {
        struct Failure: Error {}
        var configuration = Self.configuration
        configuration.webSocketPolicy.deflate = PerMessageDeflateServerPolicy()
        let running = try await Self.start(configuration) { _, response in
            try await response.send(HTTPResponse(status: .notFound))
        } webSocket: { upgrade in
            if upgrade.path == "/fail" { return .accept(deflate: .off) { _ in throw Failure() } }
            return .accept { webSocket in try await webSocket.outbound.send(text: "only this") }
        }
        let done = try await WebSocketTestClient(port: running.port, path: "/done", deflate: true)
        guard case .accepted(let negotiation)? = try await done.next() else { Issue.record("not accepted"); return }
        #expect(negotiation.deflate != nil)
        #expect(try await done.next() == .text("only this"))
        guard case .closed(let closure)? = try await done.next() else { Issue.record("no close"); return }
        #expect(closure.code == .normalClosure)
        let failing = try await WebSocketTestClient(port: running.port, path: "/fail", deflate: true)
        guard case .accepted(let plain)? = try await failing.next() else { Issue.record("not accepted"); return }
        #expect(plain.deflate == nil, "deflate turned off for this upgrade")
        guard case .closed(let failure)? = try await failing.next() else { Issue.record("no close"); return }
        #expect(failure.code == .internalServerError)
        try await running.stop()
    }

    // MARK: Lifecycle

    /// In a `ServiceGroup`: a graceful shutdown lets the response in flight finish (with
    /// `Connection: close`), closes an idle connection at once, and `run()` returns.
    @Test func aServiceGroupShutsTheServerDownGracefully() async throws {
        let (ports, listening) = AsyncStream<Int>.makeStream()
        let (started, start) = AsyncStream<Void>.makeStream()
        let server = WireServer(configuration: Self.configuration, onListening: { listening.yield($0.port ?? 0) }) { _, response in
            start.yield()
            try await Task.sleep(for: .milliseconds(500))
            try await response.send(HTTPResponse(status: .ok), body: "finished")
        }
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let group = ServiceGroup(services: [server], logger: logger)
        let running = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())
        let busy = try await RawConnection(port: port)
        try await busy.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        let idle = try await RawConnection(port: port)
        // The request in flight reached its handler (a fixed 100 ms wait could end before a
        // loaded machine had read it: the busy connection was then idle too, and closed with
        // nothing sent).
        var handlers = started.makeAsyncIterator()
        _ = await handlers.next()
        // Both connections accepted (tracked) before the shutdown: one the kernel had
        // connected but NIO had not accepted yet is another case (accepted while the listener closes).
        try await waitUntil { server.trackedConnections == 2 }
        await group.triggerGracefulShutdown()
        #expect(try await idle.readToEnd() == "", "the idle connection is closed with nothing sent")
        #expect(try await busy.readToEnd() == "HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nfinished")
        try await running.value
    }

    /// What the grace period does not wait for: once it is over, handlers still running are
    /// cancelled and their connections closed.
    @Test func theGracePeriodBoundsTheShutdown() async throws {
        var configuration = Self.configuration
        configuration.shutdownGracePeriod = .milliseconds(300)
        let running = try await Self.start(configuration) { _, response in
            try await Task.sleep(for: .seconds(60))
            try await response.send(HTTPResponse(status: .ok))
        }
        let client = try await RawConnection(port: running.port)
        try await client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        try await Task.sleep(for: .milliseconds(100))
        let start = ContinuousClock.now
        try await running.stop()
        // The grace period, not the handler's 60 s: a bound a loaded machine keeps.
        #expect(ContinuousClock.now - start < .seconds(40))
        let answer = try await client.readToEnd()
        #expect(answer == "", "\(answer)")
    }

    // MARK: TLS

    /// `TLSServerConfiguration` from PEM files on the server; `TLSClientConfiguration` on the
    /// client: the test CA trusted, the name verified; an unknown name, an untrusted CA fail;
    /// `.noneForTestingOnly` accepts anything.
    @Test func tlsServerAndClientConfigurations() async throws {
        guard let certificate = TestCertificate.require() else { return }
        var configuration = Self.configuration
        configuration.tls = try TLSServerConfiguration(certificateChainPEMFile: certificate.chain, privateKeyPEMFile: certificate.key)
        #expect(configuration.scheme == "https")
        let running = try await Self.start(configuration) { request, response in
            try await response.send(HTTPResponse(status: .ok), body: "\(request.head.scheme ?? "?")")
        }
        /// The answer, or the error the handshake failed with (the write's, or the one the
        /// pipeline reported when the handshake ended before the write).
        func get(_ tls: TLSClientConfiguration, hostname: String) async throws -> String {
            let client = try await RawConnection(port: running.port, tls: (tls, hostname))
            do {
                try await client.send("GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            } catch {
                throw client.errors.first ?? error
            }
            let answer = try await client.readToEnd()
            if let error = client.errors.first { throw error }
            // The handlers after TLS (an ALPN handler, say) see the handshake end, also
            // behind the name check.
            #expect(client.handshakes == ["http/1.1"])
            return answer
        }
        let trusted = try TLSClientConfiguration(additionalTrustRootsPEMFiles: [certificate.ca])
        #expect(try await get(trusted, hostname: "localhost").hasSuffix("\r\n\r\nhttps"))
        // The certificate also names 127.0.0.1, the address connected to: another host name
        // must fail all the same.
        await #expect(throws: TLSServerIdentityError.self) { try await get(trusted, hostname: "elsewhere.example") }
        #expect(try await get(trusted, hostname: "127.0.0.1").hasSuffix("\r\n\r\nhttps"), "an address is checked against the IP names")
        await #expect(throws: (any Error).self) { try await get(.systemDefault, hostname: "localhost") }
        let unverified = TLSClientConfiguration(additionalTrustRoots: [], verification: .noneForTestingOnly)
        #expect(try await get(unverified, hostname: "elsewhere.example").hasSuffix("\r\n\r\nhttps"))
        try await running.stop()
    }
}

/// RFC 9525 name matching of ``TLSClientConfiguration``'s server identity check.
@Suite struct ServerIdentityTests {
    @Test(arguments: [
        ("localhost", ["localhost"], true),
        ("LocalHost.", ["localhost"], true),
        ("a.example.com", ["*.example.com"], true),
        ("example.com", ["*.example.com"], false),
        ("a.b.example.com", ["*.example.com"], false),
        ("a.com", ["*.com"], false),
        ("other.example", ["localhost", "www.example"], false),
        ("localhost", [], false),
    ])
    func names(host: String, names: [String], matches: Bool) {
        #expect(TLSClientConfiguration.certificateNames(names, match: host) == matches)
    }
}
