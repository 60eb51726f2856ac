import HTTPTypes
import NIOCore
import NIOPosix
import Synchronization
import Testing
import WireCodec
@testable import WireCodecNIO

/// WebSockets served from their event loop
/// (``WebSocketUpgradeDecision/acceptOnEventLoop(subprotocol:deflate:headerFields:configuration:sendQueue:onOpen:onMessage:onClose:)``),
/// in-process over loopback: the callbacks and their order, sends from the event loop and
/// from a task, close codes both ways, a protocol error, broadcast groups, and what the
/// server does with connections that no task holds: tracked until they close, 1001 on a
/// graceful shutdown, closed at the end of the grace period, `run()` waiting for them.
@Suite(.serialized, .timeLimit(.minutes(2))) struct EventLoopWebSocketTests {
    /// What the callbacks saw, in order.
    enum Seen: Sendable, Equatable {
        case open(onEventLoop: Bool)
        case message(WebSocketMessage, onEventLoop: Bool)
        case close(WebSocketClosure, onEventLoop: Bool)
    }

    /// A server whose `/ws` WebSockets are served from their event loop and report to `seen`;
    /// `onOpen` sends "welcome", `onMessage` echoes (and closes with 1008 on "close please").
    static func start(
        _ configuration: WireServer.Configuration = WireServerTests.configuration,
        group: WebSocketBroadcastGroup? = nil,
        seen: AsyncStream<Seen>.Continuation
    ) async throws -> RunningServer {
        try await WireServerTests.start(configuration, webSocket: { upgrade in
            guard upgrade.path == "/ws" else { return .reject(.notFound) }
            return .acceptOnEventLoop(
                onOpen: { webSocket in
                    seen.yield(.open(onEventLoop: webSocket.eventLoop.inEventLoop))
                    webSocket.send(.text("welcome"))
                    group?.add(webSocket)
                },
                onMessage: { webSocket, message in
                    seen.yield(.message(message, onEventLoop: webSocket.eventLoop.inEventLoop))
                    if message == .text("close please") {
                        webSocket.close(code: .policyViolation, reason: "as asked")
                    } else {
                        webSocket.send(message)
                    }
                },
                onClose: { webSocket, closure in
                    seen.yield(.close(closure, onEventLoop: webSocket.eventLoop.inEventLoop))
                })
        })
    }

    /// Open, messages both ways (text and a 300 KB binary), the client's close code and
    /// reason; every callback on the event loop, once, in order; the connection tracked while
    /// open and forgotten once closed, with no task left on it.
    @Test func messagesBothWaysAndTheClientsClose() async throws {
        let (seen, report) = AsyncStream<Seen>.makeStream()
        var configuration = WireServerTests.configuration
        configuration.webSocketPolicy.subprotocols = ["chat.v2"]
        let running = try await Self.start(configuration, seen: report)
        let client = try await WebSocketTestClient(port: running.port, path: "/ws", subprotocols: ["chat.v2"])
        #expect(try await client.next() == .accepted(WebSocketNegotiation(subprotocol: "chat.v2")))
        #expect(try await client.next() == .text("welcome"))
        try await client.send(.text("hello"))
        #expect(try await client.next() == .text("hello"))
        let big = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try await client.send(.binary(big))
        #expect(try await client.next() == .binary(big))
        #expect(running.server.trackedConnections == 1)
        try await client.send(.close(WebSocketCloseCode(4321), reason: "bye"))
        guard case .closed(let clientSide)? = try await client.next() else { Issue.record("no close"); return }
        #expect(clientSide.code == WebSocketCloseCode(4321), "the close is echoed")
        var events = seen.makeAsyncIterator()
        #expect(await events.next() == .open(onEventLoop: true))
        #expect(await events.next() == .message(.text("hello"), onEventLoop: true))
        #expect(await events.next() == .message(.binary(ByteBuffer(bytes: big)), onEventLoop: true))
        guard case .close(let closure, let onEventLoop)? = await events.next() else { Issue.record("no onClose"); return }
        #expect(onEventLoop)
        #expect(closure.code == WebSocketCloseCode(4321) && closure.reason == "bye" && closure.wasClean)
        try await waitUntil { running.server.trackedConnections == 0 }
        try await running.stop()
        report.finish()
        #expect(await events.next() == nil, "onClose once, nothing after it")
    }

    /// The server closes (1008 from `onMessage`; 1000 from a task through `outbound`); a
    /// message that came in the handshake's own write reaches `onMessage` after `onOpen`;
    /// a protocol error is answered with its close code after the echo of the message
    /// before it (as with the handler API).
    @Test func closesFromTheServerEarlyBytesAndAProtocolError() async throws {
        let (seen, report) = AsyncStream<Seen>.makeStream()
        let running = try await Self.start(seen: report)
        var events = seen.makeAsyncIterator()

        let asked = try await WebSocketTestClient(port: running.port, path: "/ws")
        #expect(try await asked.next() == .accepted(WebSocketNegotiation()))
        #expect(try await asked.next() == .text("welcome"))
        try await asked.send(.text("close please"))
        guard case .closed(let byServer)? = try await asked.next() else { Issue.record("no close"); return }
        #expect(byServer.received?.code == .policyViolation && byServer.received?.reason == "as asked")
        #expect(await events.next() == .open(onEventLoop: true))
        #expect(await events.next() == .message(.text("close please"), onEventLoop: true))
        guard case .close(let closed, _)? = await events.next() else { Issue.record("no onClose"); return }
        #expect(closed.code == .policyViolation && closed.cause == .closeAnswered)

        // The handshake, a text frame and a bad frame (RSV2) in one write (masked, key 0).
        let raw = try await RawConnection(port: running.port)
        try await raw.send(Array(RawConnection.webSocketUpgrade().utf8)
            + [0x81, 0x85, 0, 0, 0, 0] + Array("Hello".utf8) + [0xA1, 0x80, 0, 0, 0, 0])
        let answer = try await raw.readToEnd()
        let bytes = raw.received
        let headEnd = try #require(bytes.firstRange(of: Array("\r\n\r\n".utf8))).upperBound
        let frames = Array(bytes[headEnd...])
        #expect(answer.hasPrefix("HTTP/1.1 101 Switching Protocols\r\n"), "\(answer)")
        #expect(frames == [0x81, 7] + Array("welcome".utf8) + [0x81, 5] + Array("Hello".utf8) + [0x88, 2, 0x03, 0xEA],
                "welcome (onOpen), the echo, then the close with 1002: \(frames)")
        #expect(await events.next() == .open(onEventLoop: true))
        #expect(await events.next() == .message(.text("Hello"), onEventLoop: true))
        guard case .close(let failed, _)? = await events.next(), case .protocolError(let error) = failed.cause else {
            Issue.record("no protocol error")
            return
        }
        #expect(error.code == .reservedBitsSet)
        try await running.stop()
    }

    /// Sends from a task (``EventLoopWebSocket/outbound``) and broadcasts to a group of
    /// WebSockets served from their event loop; a member that closed has left the group.
    @Test func broadcastsAndSendsFromATask() async throws {
        let (seen, report) = AsyncStream<Seen>.makeStream()
        let group = WebSocketBroadcastGroup()
        let handles = Mutex<[EventLoopWebSocket]>([])
        let running = try await WireServerTests.start(webSocket: { _ in
            .acceptOnEventLoop(
                onOpen: { webSocket in
                    handles.withLock { $0.append(webSocket) }
                    group.add(webSocket, sendingFirst: [WebSocketPreparedMessage(text: "backlog")])
                },
                onClose: { _, closure in report.yield(.close(closure, onEventLoop: true)) })
        })
        // One after the other, so that the first handle (`onOpen` sends the backlog) is the
        // first client's: opened together, the server may open the second one first.
        var clients: [WebSocketTestClient] = []
        for _ in 0..<2 {
            let client = try await WebSocketTestClient(port: running.port, path: "/ws")
            #expect(try await client.next() == .accepted(WebSocketNegotiation()))
            #expect(try await client.next() == .text("backlog"))
            clients.append(client)
        }
        let (first, second) = (clients[0], clients[1])
        try await waitUntil { group.count == 2 }
        let report1 = await group.broadcast(WebSocketPreparedMessage(text: "to all")).report()
        #expect(report1.recipients == 2 && report1.sent == 2)
        for client in [first, second] { #expect(try await client.next() == .text("to all")) }
        let fromTask = try #require(handles.withLock { $0.first })
        #expect(try await fromTask.outbound.send(text: "from a task") == .sent)
        #expect(try await first.next() == .text("from a task"))
        try await second.send(.close(.normalClosure, reason: ""))
        guard case .closed? = try await second.next() else { Issue.record("no close"); return }
        var events = seen.makeAsyncIterator()
        guard case .close? = await events.next() else { Issue.record("no onClose"); return }
        try await waitUntil { group.count == 1 }
        let report2 = await group.broadcast(WebSocketPreparedMessage(text: "to one")).report()
        #expect(report2.recipients == 1)
        #expect(try await first.next() == .text("to one"))
        try await first.send(.close(.normalClosure, reason: ""))
        guard case .closed? = try await first.next() else { Issue.record("no close"); return }
        try await running.stop()
    }

    /// A member added on its own event loop (in `onOpen`) with a backlog that holds an item
    /// broadcast just before, whose broadcast task has not run yet on that loop, gets the
    /// item once: the add comes after that broadcast, as the calls were made. (The add used to
    /// run at once on the member's loop, before the queued broadcast, which then sent the item
    /// again: a feed's WebSocket client saw an item twice when it joined right after an append.)
    @Test func anAddOnTheMembersLoopComesAfterTheBroadcastsBeforeIt() async throws {
        let group = WebSocketBroadcastGroup()
        let opened = Atomic<Int>(0)
        var configuration = WireServerTests.configuration
        configuration.shutdownGracePeriod = .milliseconds(300)
        let loop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let running = try await WireServerTests.start(configuration, eventLoopGroup: loop, webSocket: { _ in
            .acceptOnEventLoop(onOpen: { webSocket in
                if opened.add(1, ordering: .relaxed).newValue == 1 {
                    group.add(webSocket)
                } else {
                    // As a feed does under its lock: publish an item, then let a
                    // subscriber join with a backlog that holds it.
                    group.broadcast(WebSocketPreparedMessage(text: "item 1"))
                    group.add(webSocket, sendingFirst: [WebSocketPreparedMessage(text: "item 1")])
                }
            })
        })
        let first = try await WebSocketTestClient(port: running.port, path: "/ws")
        #expect(try await first.next() == .accepted(WebSocketNegotiation()))
        try await waitUntil { group.count == 1 }
        let second = try await WebSocketTestClient(port: running.port, path: "/ws")
        #expect(try await second.next() == .accepted(WebSocketNegotiation()))
        #expect(try await first.next() == .text("item 1"))
        try await waitUntil { group.count == 2 }
        _ = await group.broadcast(WebSocketPreparedMessage(text: "item 2")).report()
        #expect(try await second.next() == .text("item 1"))
        #expect(try await second.next() == .text("item 2"), "item 1 once, then item 2")
        #expect(try await first.next() == .text("item 2"))
        try await running.stop()
        try await loop.shutdownGracefully()
    }

    /// One broadcast of several messages reaches members of every class of negotiated
    /// parameters on one event loop, each message as its class frames it: uncompressed
    /// (shared), deflate with `server_no_context_takeover` (compressed once, shared), deflate
    /// with context takeover (each connection compresses its own), in order, several
    /// broadcasts one after the other; raw members of the two shared classes see exactly their
    /// frames whichever member comes first; a close sent right after a broadcast comes after
    /// its messages.
    @Test func broadcastsToMembersOfEveryClass() async throws {
        let group = WebSocketBroadcastGroup()
        let handles = Mutex<[String: EventLoopWebSocket]>([:])
        var configuration = WireServerTests.configuration
        // The members that stay open are closed at the end of a short grace period.
        configuration.shutdownGracePeriod = .milliseconds(300)
        // One event loop: every member in one shard, one set of buffers for all classes.
        let loop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let running = try await WireServerTests.start(configuration, eventLoopGroup: loop, webSocket: { upgrade in
            let deflate: WebSocketUpgradeDecision.Deflate = switch upgrade.path {
            case "/shared": .policy(PerMessageDeflateServerPolicy(serverNoContextTakeover: true))
            case "/own": .policy(PerMessageDeflateServerPolicy())
            default: .off
            }
            let path = String(upgrade.path)
            return .acceptOnEventLoop(deflate: deflate, onOpen: { webSocket in
                handles.withLock { $0[path] = webSocket }
                group.add(webSocket)
            })
        })
        // Raw members first and last, so that each shared class has a raw member made first
        // for it in one of the orders the shard may take.
        func rawMember(_ path: String) async throws -> RawConnection {
            let raw = try await RawConnection(port: running.port)
            try await raw.send(RawConnection.webSocketUpgrade(path, extensions: "permessage-deflate"))
            let head = try await raw.read(through: "\r\n\r\n")
            #expect(head.contains("permessage-deflate") == (path == "/shared"), "\(head)")
            _ = raw.takeReceived()
            return raw
        }
        let rawShared = try await rawMember("/shared")
        var clients: [(path: String, client: WebSocketTestClient)] = []
        for path in ["/plain", "/shared", "/own"] {
            let client = try await WebSocketTestClient(port: running.port, path: path, deflate: true)
            guard case .accepted(let negotiation)? = try await client.next() else { Issue.record("not accepted"); return }
            #expect((negotiation.deflate != nil) == (path != "/plain"), "\(path): \(negotiation)")
            #expect(negotiation.deflate?.serverNoContextTakeover ?? true == (path != "/own"), "\(path): \(negotiation)")
            clients.append((path, client))
        }
        let rawPlain = try await rawMember("/plain")
        try await waitUntil { group.count == 5 }

        let long = String(repeating: "an update that compresses well; ", count: 40)
        var sent: [String] = []
        for round in 0..<3 {
            let messages = ["\(round): \(long)", "\(round): short"]
            let report = await group.broadcast(messages.map { WebSocketPreparedMessage(text: $0) }).report()
            #expect(report.recipients == 10 && report.sent == 10, "\(report)")
            sent += messages
        }
        for (path, client) in clients {
            for text in sent { #expect(try await client.next() == .text(text), "\(path)") }
        }
        func frame(_ text: String) -> [UInt8] {
            let payload = Array(text.utf8)
            let length: [UInt8] = payload.count < 126 ? [UInt8(payload.count)] : [126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
            return [0x81] + length + payload
        }
        let plainFrames = sent.flatMap(frame)
        #expect(try await rawPlain.read(until: { $0.count >= plainFrames.count }) == plainFrames)
        // The shared deflate class: the long messages compressed (RSV1), far smaller; the short
        // ones sent plain (too small to compress).
        func completeFrames(_ bytes: [UInt8]) -> Int {
            var count = 0, offset = 0
            while offset + 2 <= bytes.count, offset + 2 + Int(bytes[offset + 1]) <= bytes.count {
                offset += 2 + Int(bytes[offset + 1])
                count += 1
            }
            return count
        }
        let sharedBytes = try await rawShared.read(until: { completeFrames($0) >= sent.count })
        var offset = 0
        for (index, text) in sent.enumerated() {
            let first = sharedBytes[offset], length = Int(sharedBytes[offset + 1])
            if index.isMultiple(of: 2) {
                #expect(first == 0xC1 && length < 126, "a compressed text frame: \(first) \(length)")
            } else {
                #expect(Array(sharedBytes[offset..<(offset + 2 + length)]) == frame(text))
            }
            offset += 2 + length
        }

        // A close right after a broadcast: the message first.
        let shared = try #require(handles.withLock { $0["/shared"] })
        group.broadcast(WebSocketPreparedMessage(text: "last"))
        shared.close(code: .goingAway)
        let closing = try #require(clients.first { $0.path == "/shared" }?.client)
        #expect(try await closing.next() == .text("last"))
        guard case .closed(let closure)? = try await closing.next() else { Issue.record("no close"); return }
        #expect(closure.received?.code == .goingAway)
        try await running.stop()
        try await loop.shutdownGracefully()
    }

    /// A graceful shutdown sends 1001 to WebSockets that no task holds; a client that answers
    /// closes cleanly; one that never answers is closed at the end of the grace period; the
    /// server's `run()` returns only after both are closed, and `onClose` saw both.
    @Test func aGracefulShutdownSends1001AndWaitsForTheClose() async throws {
        let (seen, report) = AsyncStream<Seen>.makeStream()
        var configuration = WireServerTests.configuration
        configuration.shutdownGracePeriod = .milliseconds(500)
        let running = try await Self.start(configuration, seen: report)
        let answering = try await WebSocketTestClient(port: running.port, path: "/ws")
        #expect(try await answering.next() == .accepted(WebSocketNegotiation()))
        #expect(try await answering.next() == .text("welcome"))
        let silent = try await RawConnection(port: running.port)
        try await silent.send(RawConnection.webSocketUpgrade())
        _ = try await silent.read(through: "welcome")
        try await waitUntil { running.server.trackedConnections == 2 }
        let start = ContinuousClock.now
        let stopping = Task { try await running.stop() }
        guard case .closed(let closure)? = try await answering.next() else { Issue.record("no close"); return }
        #expect(closure.received?.code == .goingAway)
        _ = try await silent.readToEnd()
        #expect(silent.received.suffix(4) == [0x88, 2, 0x03, 0xE9], "a close with 1001, then the end")
        try await stopping.value
        let elapsed = ContinuousClock.now - start
        // At least the grace period (the silent client never closes); the upper bound only
        // tells "returned" from "hung", loose enough for a loaded machine.
        #expect(elapsed >= .milliseconds(400) && elapsed < .seconds(60), "run() returned after the grace period: \(elapsed)")
        #expect(running.server.trackedConnections == 0)
        report.finish()
        var closes: [WebSocketClosure] = []
        for await event in seen { if case .close(let closure, _) = event { closes.append(closure) } }
        #expect(closes.count == 2)
        #expect(closes.contains { $0.code == .goingAway && $0.wasClean }, "\(closes)")
    }
}
