import NIOCore
public import WireWebSocket
import Synchronization

/// WebSockets that receive the same messages: a feed's subscribers, a chat room.
///
/// A broadcast is handed to each member's connection on the member's own event loop, in one
/// task per event loop (not one per connection, and no task of the application wakes up), as
/// one ``WebSocketPreparedMessage`` that every connection sends as its negotiated parameters
/// require. Each member's send queue and slow-consumer policy apply
/// (``WebSocketSendQueueConfiguration``); a broadcast never waits for a slow member, so a
/// member that waits for room (``WebSocketSlowConsumerPolicy/waitForRoom``) and is full is
/// closed with 1013.
///
/// Calls dispatch at once, in order: ``add(_:sendingFirst:)``, ``remove(_:)`` and
/// ``broadcast(_:)`` made one after the other (under the application's own lock, say) reach
/// every member in that order. So a subscriber can join with its backlog and miss nothing:
///
/// ```swift
/// let group = WebSocketBroadcastGroup()
/// // publishing:  lock { append(item); group.broadcast(item.prepared) }
/// // subscribing: lock { group.add(webSocket, sendingFirst: items(after: cursor).map(\.prepared)) }
/// ```
///
/// A member leaves when its connection closes, or by ``remove(_:)``.
public final class WebSocketBroadcastGroup: Sendable {
    private let shards = EventLoopShards<WebSocketHandler>()

    public init() {}

    /// Members now (approximate while adds and removes are on their way).
    public var count: Int { shards.count }

    /// Adds `webSocket`, after sending it `first` (its backlog), in order with the group's
    /// broadcasts. A WebSocket already closed is not added, nor one that does not run on a
    /// ``WebSocketHandler`` the group can reach (``WebSocketClient/connect(_:)``'s).
    public func add(_ webSocket: WebSocket, sendingFirst first: [WebSocketPreparedMessage] = []) {
        guard let reference = webSocket.outbound.reference else { return }
        add(reference, sendingFirst: first)
    }

    /// Adds a WebSocket served from its event loop, after sending it `first`, as
    /// the `WebSocket` variant does (also when called on its event loop, in its `onOpen`
    /// say: the add then runs after the broadcasts already on their way to that loop).
    public func add(_ webSocket: EventLoopWebSocket, sendingFirst first: [WebSocketPreparedMessage] = []) {
        add(webSocket.reference, sendingFirst: first)
    }

    /// Removes a WebSocket served from its event loop (it also leaves when it closes).
    public func remove(_ webSocket: EventLoopWebSocket) {
        remove(webSocket.reference)
    }

    // Adds and removes are queued on the member's event loop even when called there, as
    // broadcasts are: the loop runs them in the order they were made. (Run at once on the
    // loop, an add would come before a broadcast made earlier but not run yet, which would
    // then reach the new member after its backlog: that item twice.)
    private func add(_ reference: WebSocketHandlerReference, sendingFirst first: [WebSocketPreparedMessage]) {
        let shard = shards.shard(for: reference.eventLoop)
        reference.enqueue { handler in
            guard handler.isOpenForBroadcast else { return }
            for message in first {
                var frames = WebSocketBroadcastFrames(message)
                _ = handler.submitBroadcast(&frames)
            }
            handler.flushBroadcast()
            shard.add(handler)
        }
    }

    /// Removes `webSocket` (broadcasts made after this call do not reach it).
    public func remove(_ webSocket: WebSocket) {
        guard let reference = webSocket.outbound.reference else { return }
        remove(reference)
    }

    private func remove(_ reference: WebSocketHandlerReference) {
        let shard = shards.shard(for: reference.eventLoop)
        reference.enqueue { handler in shard.remove(handler) }
    }

    /// Sends `message` to every member. Returns at once; ``WebSocketBroadcast/report()`` waits
    /// until every member's connection has it (sent, queued, dropped or closed).
    @discardableResult
    public func broadcast(_ message: WebSocketPreparedMessage) -> WebSocketBroadcast {
        broadcast([message])
    }

    /// Sends `messages`, in order, to every member (each connection flushed once after the
    /// last). Returns at once, as ``broadcast(_:)-(WebSocketPreparedMessage)`` does.
    @discardableResult
    public func broadcast(_ messages: [WebSocketPreparedMessage]) -> WebSocketBroadcast {
        WebSocketBroadcast(reports: shards.submitToEach { shard in
            var report = WebSocketBroadcastReport()
            // The frames of each class as one buffer of this event loop, shared by its members.
            var frames = messages.map(WebSocketBroadcastFrames.init)
            // A member may close (and leave) while we send: this iterates over a copy.
            for member in shard.members {
                for index in frames.indices { report.add(member.submitBroadcast(&frames[index])) }
                member.flushBroadcast()
            }
            return report
        })
    }
}

/// A broadcast on its way to a group's members.
public struct WebSocketBroadcast: Sendable {
    let reports: [EventLoopFuture<WebSocketBroadcastReport>]

    /// What the broadcast did, once every member's connection has it.
    public func report() async -> WebSocketBroadcastReport {
        var total = WebSocketBroadcastReport()
        for future in reports {
            if let report = try? await future.get() { total.add(report) }
        }
        return total
    }
}

/// A broadcast's message with its frames as buffers, one per class of negotiated parameters,
/// for the members of one event loop: made at the first member of each class, then written
/// to every member of that class as the same buffer (its storage touched by this event
/// loop only), without asking the message for them again.
struct WebSocketBroadcastFrames {
    let message: WebSocketPreparedMessage
    /// Usually one or two classes (deflate or not): a short list.
    private var buffers: [(frameClass: WebSocketFrameClass, buffer: ByteBuffer)] = []

    init(_ message: WebSocketPreparedMessage) {
        self.message = message
    }

    /// The frames of `frameClass`.
    mutating func buffer(for frameClass: WebSocketFrameClass, allocator: ByteBufferAllocator) -> ByteBuffer {
        for made in buffers where made.frameClass == frameClass { return made.buffer }
        let bytes = message.frames(for: frameClass)
        var buffer = allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        buffers.append((frameClass, buffer))
        return buffer
    }
}

extension WebSocketHandler {
    /// Whether a broadcast may still reach this connection.
    var isOpenForBroadcast: Bool {
        if case .open = connectionState { return true }
        return false
    }

    /// A broadcast's message for this member: never waits; the policy applies when full.
    func submitBroadcast(_ message: WebSocketPreparedMessage, flush: Bool = true) -> WebSocketSendResult {
        do {
            switch try submit(.prepared(message), canWait: false, flush: flush) {
            case .done(let result): return result
            case .waiting: preconditionFailure("a broadcast never waits")
            }
        } catch {
            return .notOpen
        }
    }

}

extension WebSocketHandler: EventLoopShardMember {}
