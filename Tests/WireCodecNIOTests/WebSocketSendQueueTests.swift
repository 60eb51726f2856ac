import NIOCore
import NIOEmbedded
import Testing
import WireCodec
@testable import WireCodecNIO

/// The send queue of a WebSocket whose peer reads slowly: the bound, each slow-consumer
/// policy, control frames that are never dropped, and the order of what goes out once the
/// channel is writable again.
@Suite struct WebSocketSendQueueTests {
    static func text(_ s: String) -> WebSocketSendQueue.Item { .message(.text(s)) }

    // MARK: The bookkeeping alone

    @Test func dropOldestDropsFromTheFrontUntilTheNewMessageFits() {
        var queue = WebSocketSendQueue(configuration: .init(maxBytes: 10, whenFull: .dropOldest))
        #expect(queue.admit(Self.text("aaaa"), canWait: false) == .queued(dropped: 0))
        #expect(queue.admit(Self.text("bbbb"), canWait: false) == .queued(dropped: 0))
        #expect(queue.admit(Self.text("cccc"), canWait: false) == .queued(dropped: 1))
        #expect(queue.bytes == 8)
        #expect(queue.statistics.droppedMessages == 1)
        guard case .message(.text(let first))? = queue.popFirst() else {
            Issue.record("expected a text message")
            return
        }
        #expect(first == "bbbb")
    }

    @Test func coalesceKeepsOnlyTheLatestDataMessageAndEveryOrderedOne() {
        var queue = WebSocketSendQueue(configuration: .init(maxBytes: 6, whenFull: .coalesceToLatest))
        _ = queue.admit(Self.text("aaa"), canWait: false)
        _ = queue.admit(.ordered(.fragment(.binary, [1], isFinal: true)), canWait: false)
        _ = queue.admit(Self.text("bb"), canWait: false)
        #expect(queue.admit(Self.text("cccc"), canWait: false) == .queued(dropped: 2))
        #expect(queue.items.count == 2)
        #expect(queue.bytes == 5)
    }

    @Test func closePolicyAndWaitingSendersAndBroadcasts() {
        var closing = WebSocketSendQueue(configuration: .init(maxBytes: 4, whenFull: .close(.policyViolation)))
        _ = closing.admit(Self.text("aaaa"), canWait: true)
        #expect(closing.admit(Self.text("b"), canWait: true) == .close(.policyViolation))
        var waiting = WebSocketSendQueue(configuration: .init(maxBytes: 4, whenFull: .waitForRoom))
        _ = waiting.admit(Self.text("aaaa"), canWait: true)
        #expect(waiting.admit(Self.text("b"), canWait: true) == .wait)
        // A broadcast cannot wait for one slow member.
        #expect(waiting.admit(Self.text("b"), canWait: false) == .close(.tryAgainLater))
    }

    @Test func anEmptyQueueTakesOneMessageLargerThanTheBound() {
        var queue = WebSocketSendQueue(configuration: .init(maxBytes: 4, whenFull: .dropOldest))
        #expect(queue.admit(Self.text("0123456789"), canWait: false) == .queued(dropped: 0))
        #expect(queue.bytes == 10)
        #expect(queue.admit(Self.text("x"), canWait: false) == .queued(dropped: 1))
        #expect(queue.bytes == 1)
    }

    // MARK: On a channel

    /// A handler on an embedded channel, open as a server.
    final class Harness {
        let channel = EmbeddedChannel()
        let handler: WebSocketHandler

        init(_ configuration: WebSocketSendQueueConfiguration) throws {
            let connection = try WebSocketConnection(role: .server)
            handler = WebSocketHandler(connection: connection, sendQueue: configuration)
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
            try channel.pipeline.syncOperations.addHandler(handler)
        }

        func send(_ text: String) throws -> WebSocketSendResult {
            guard case .done(let result) = try handler.submit(.message(.text(text)), canWait: false) else {
                throw WebSocketUsageError(.notOpen)
            }
            return result
        }

        func broadcast(_ text: String) -> WebSocketSendResult {
            handler.submitBroadcast(WebSocketPreparedMessage(text: text))
        }

        func written() throws -> [UInt8] {
            var bytes: [UInt8] = []
            while let buffer = try channel.readOutbound(as: ByteBuffer.self) { bytes += buffer.readableBytesView }
            return bytes
        }

        func setWritable(_ writable: Bool) {
            channel.isWritable = writable
            channel.pipeline.fireChannelWritabilityChanged()
        }
    }

    static func frame(_ text: String) -> [UInt8] { [0x81, UInt8(text.utf8.count)] + Array(text.utf8) }

    @Test func messagesWaitWhileTheChannelIsNotWritableAndGoInOrderAfter() throws {
        let t = try Harness(.init(maxBytes: 100, whenFull: .dropOldest))
        #expect(try t.send("a") == .sent)
        t.setWritable(false)
        #expect(try t.send("b") == .queued(dropped: 0))
        #expect(t.broadcast("c") == .queued(dropped: 0))
        // A ping jumps the queue: control frames never wait behind data.
        _ = try t.handler.submit(.ordered(.ping([7])), canWait: false)
        #expect(try t.written() == Self.frame("a") + [0x89, 1, 7])
        t.setWritable(true)
        #expect(try t.written() == Self.frame("b") + Self.frame("c"))
        #expect(t.handler.sendQueueStatistics.delayedMessages == 2)
    }

    @Test func dropOldestOnTheChannelReportsWhatWasDropped() throws {
        let t = try Harness(.init(maxBytes: 3, whenFull: .dropOldest))
        t.setWritable(false)
        for s in ["1", "2", "3"] { #expect(try t.send(s) == .queued(dropped: 0)) }
        #expect(try t.send("4") == .queued(dropped: 1))
        t.setWritable(true)
        #expect(try t.written() == Self.frame("2") + Self.frame("3") + Self.frame("4"))
        #expect(t.handler.sendQueueStatistics.droppedMessages == 1)
    }

    @Test func closePolicySendsItsCloseCodeAtOnceAndDropsTheQueue() throws {
        let t = try Harness(.init(maxBytes: 3, whenFull: .close(.tryAgainLater)))
        t.setWritable(false)
        #expect(try t.send("abc") == .queued(dropped: 0))
        #expect(try t.send("d") == .closedSlowConsumer(.tryAgainLater))
        // 1013, even though the channel is not writable: a close is never held back.
        #expect(try t.written() == [0x88, 0x02, 0x03, 0xF5])
        #expect(t.handler.sendQueueStatistics.closedWith == .tryAgainLater)
        #expect(t.handler.sendQueueStatistics.droppedMessages == 1)
        #expect(throws: WebSocketUsageError.self) { try t.send("e") }
        t.setWritable(true)
        #expect(try t.written().isEmpty)
    }

    @Test func theApplicationsCloseWaitsBehindQueuedData() throws {
        let t = try Harness(.init(maxBytes: 100, whenFull: .dropOldest))
        t.setWritable(false)
        _ = try t.send("x")
        _ = try t.handler.submit(.ordered(.close(.normalClosure, reason: "")), canWait: false)
        #expect(try t.written().isEmpty)
        #expect(throws: WebSocketUsageError.self) { try t.send("y") }
        t.setWritable(true)
        #expect(try t.written() == Self.frame("x") + [0x88, 0x02, 0x03, 0xE8])
    }

    @Test func waitingSendersGetInAsRoomAppears() throws {
        let t = try Harness(.init(maxBytes: 2, whenFull: .waitForRoom))
        t.setWritable(false)
        _ = try t.send("ab")
        guard case .waiting(let future) = try t.handler.submit(.message(.text("c")), canWait: true) else {
            Issue.record("expected to wait")
            return
        }
        t.setWritable(true)
        #expect(try future.wait() == .sent)
        #expect(try t.written() == Self.frame("ab") + Self.frame("c"))
    }
}
