import HTTPTypes
import NIOCore
import NIOPosix
import Synchronization
import Testing
import WireCodec
import WireCodecNIO

/// A client that stops reading while a `WireServer` broadcasts to it and to readers that keep
/// up (issue 19): what the server holds for it stays bounded by its send queue
/// (`WebSocketSendQueueConfiguration.maxBytes`, checked by the queue's own statistics) plus
/// NIO's write buffer, the policy applies to it alone (dropped messages, or a close with
/// 1013), and every other client gets every message, in order, without waiting for it.
///
/// Deterministic on a loaded machine: the broadcasts are paced by the readers (the next one
/// goes out once every reader has the last), so a reader whose task the machine delays for a
/// while is never more than one message behind (its queue never fills), while the stalled
/// client, which reads nothing, falls further behind with every message. The readers getting
/// all of them while it reads nothing is the proof that they do not wait for it; their
/// latencies are printed, not bounded (a bound measured the machine's load: p99 under 2 s was
/// missed under a parallel test run, while every reader still got every message in order).
@Suite(.serialized) struct SlowConsumerTests {
    static let readers = 6
    static let messages = 120
    static let size = 8 * 1024
    static let queueBytes = 64 * 1024

    /// What the test reads of the server's WebSockets.
    final class Members: Sendable {
        let group = WebSocketBroadcastGroup()
        let stalled = Mutex<WebSocket?>(nil)
        /// Messages each reader has received, by reader (`.max` once it has ended).
        let received = Mutex<[Int]>(Array(repeating: 0, count: SlowConsumerTests.readers))
    }

    @Test(.timeLimit(.minutes(10)), arguments: [WebSocketSlowConsumerPolicy.dropOldest, .close(.tryAgainLater)])
    func aStalledClientHoldsBoundedMemoryAndOthersKeepUp(policy: WebSocketSlowConsumerPolicy) async throws {
        let members = Members()
        var configuration = WireServer.Configuration(host: "127.0.0.1", port: 0)
        configuration.shutdownGracePeriod = .seconds(2)
        configuration.webSocketSendQueue = WebSocketSendQueueConfiguration(maxBytes: Self.queueBytes, whenFull: policy)
        // A small kernel buffer, so that a stalled reader is felt after a few messages.
        configuration.configureConnection = { channel in
            try channel.syncOptions?.setOption(ChannelOptions.socketOption(.so_sndbuf), value: 16 * 1024)
        }
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let server = WireServer(configuration: configuration, onListening: { portContinuation.yield($0.port ?? 0) }) { _, response in
            try await response.send(HTTPResponse(status: .notFound), body: "")
        } webSocket: { upgrade in
            let stalled = upgrade.path == "/stalled"
            return .accept { webSocket in
                if stalled { members.stalled.withLock { $0 = webSocket } }
                members.group.add(webSocket)
                for try await _ in webSocket.inbound {}
            }
        }
        let running = Task { try await server.run() }
        defer { server.shutdownGracefully() }
        var portIterator = ports.makeAsyncIterator()
        let port = try #require(await portIterator.next())

        // The stalled client: a handshake, then it never reads (a tiny receive buffer).
        let stalledChannel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(ChannelOptions.autoRead, value: false)
            .channelOption(ChannelOptions.socketOption(.so_rcvbuf), value: 4096)
            .connect(host: "127.0.0.1", port: port).get()
        defer { stalledChannel.close(promise: nil) }
        let request = "GET /stalled HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        try await stalledChannel.writeAndFlush(ByteBuffer(string: request)).get()

        // Readers that keep up: each records the latency of every message and its order.
        let start = ContinuousClock.now
        let readers = (0..<Self.readers).map { reader in
            Task { () throws -> (ids: [Int], latencies: [Duration]) in
                let seen = Mutex<(ids: [Int], latencies: [Duration])>(([], []))
                // Ended (done, or failed): the broadcasts no longer wait for this reader.
                defer { members.received.withLock { $0[reader] = .max } }
                let client = try WebSocketClient(url: "ws://127.0.0.1:\(port)/reader")
                try await client.connect { webSocket in
                    for try await message in webSocket.inbound {
                        guard case .text(let text) = message else { continue }
                        let fields = text.split(separator: " ", maxSplits: 2)
                        let latency = start.duration(to: .now) - .nanoseconds(Int64(fields[1]) ?? 0)
                        let count = seen.withLock { seen in
                            seen.ids.append(Int(fields[0]) ?? -1)
                            seen.latencies.append(latency)
                            return seen.ids.count
                        }
                        members.received.withLock { $0[reader] = count }
                        if count == Self.messages { break }
                    }
                }
                return seen.withLock { $0 }
            }
        }
        // A bound against a hang only (the suite runs on its own; joining takes milliseconds).
        let deadline = ContinuousClock.now + .seconds(120)
        while members.group.count < Self.readers + 1 {
            #expect(ContinuousClock.now < deadline, "every client joined the group")
            if ContinuousClock.now >= deadline { break }
            try await Task.sleep(for: .milliseconds(20))
        }

        var total = WebSocketBroadcastReport()
        // Against a hang only: a reader that misses a message is reported below.
        let pacingDeadline = ContinuousClock.now + .seconds(300)
        let padding = String(repeating: "x", count: Self.size)
        for index in 0..<Self.messages {
            let sentAt = start.duration(to: .now)
            let nanos = sentAt.components.seconds * 1_000_000_000 + sentAt.components.attoseconds / 1_000_000_000
            let report = await members.group.broadcast(WebSocketPreparedMessage(text: "\(index) \(nanos) \(padding)")).report()
            total.add(report)
            // The next message once every reader has this one (a reader that ended early, on
            // an error, is seen below): none of them falls behind, however loaded the machine.
            while members.received.withLock({ $0.contains { $0 <= index } }) && ContinuousClock.now < pacingDeadline {
                try await Task.sleep(for: .milliseconds(1))
            }
        }

        var latencies: [Duration] = []
        for reader in readers {
            let (ids, seen) = try await reader.value
            #expect(ids == Array(0..<Self.messages), "every reader gets every message in order")
            latencies += seen
        }
        latencies.sort()
        try #require(!latencies.isEmpty, "the readers received messages")
        // Printed, not bounded: what it measures is the machine's load (see above).
        let p99 = latencies[latencies.count * 99 / 100]

        let stalled = try #require(members.stalled.withLock { $0 })
        let statistics = await stalled.outbound.statistics()
        // Bounded: the queue never held more than its bound plus the one message that came.
        #expect(statistics.peakQueuedBytes <= Self.queueBytes + Self.size + 64, "\(statistics)")
        print("SlowConsumerTests \(policy): readers' p99 \(p99); the stalled client: \(statistics)")
        switch policy {
        case .dropOldest:
            #expect(statistics.droppedMessages > 0, "\(statistics)")
            #expect(statistics.closedWith == nil)
            #expect(total.droppedMessages == statistics.droppedMessages)
        default:
            #expect(statistics.closedWith == .tryAgainLater, "\(statistics)")
            #expect(total.closedSlowConsumers == 1)
        }
        // Every reader got every message at once or from its queue: none was dropped for them.
        #expect(total.recipients >= Self.readers * Self.messages)
        server.shutdownGracefully()
        try await running.value
    }
}

extension WebSocketBroadcastReport {
    mutating func add(_ other: WebSocketBroadcastReport) {
        recipients += other.recipients
        sent += other.sent
        queued += other.queued
        droppedMessages += other.droppedMessages
        closedSlowConsumers += other.closedSlowConsumers
        notOpen += other.notOpen
    }
}
