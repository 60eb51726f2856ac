public import WireWebSocket
import NIOCore

/// What a WebSocket does with the data messages its peer is too slow to take.
///
/// A message the application sends goes to the connection at once while the channel is
/// writable (NIO's write buffer is under its high watermark). When it is not, the message
/// waits in the connection's send queue, still unframed and uncompressed (so that dropping
/// one never breaks a compression context), and goes out as the peer reads. The queue holds
/// at most ``maxBytes`` bytes of payload (or one message, if that message alone is larger);
/// a message that does not fit means the consumer has fallen behind, and ``whenFull``
/// decides what happens. Control frames (pings, pongs, the close) are never dropped and
/// never wait for room.
///
/// Memory a slow consumer can hold on the server is then bounded by `maxBytes`, NIO's high
/// watermark (64 KiB by default) and one message.
public struct WebSocketSendQueueConfiguration: Sendable, Hashable {
    /// Payload bytes the queue holds at most. Default 256 KiB.
    public var maxBytes: Int
    /// What happens when a message does not fit. Default ``WebSocketSlowConsumerPolicy/waitForRoom``.
    public var whenFull: WebSocketSlowConsumerPolicy

    /// - Parameters:
    ///   - maxBytes: payload bytes held at most (at least 1).
    ///   - whenFull: the policy once the consumer has fallen behind.
    public init(maxBytes: Int = 256 * 1024, whenFull: WebSocketSlowConsumerPolicy = .waitForRoom) {
        precondition(maxBytes >= 1, "maxBytes must be at least 1")
        self.maxBytes = maxBytes
        self.whenFull = whenFull
    }
}

/// The application's choice for a consumer that has fallen behind (its send queue is full).
public struct WebSocketSlowConsumerPolicy: Sendable, Hashable, CustomStringConvertible {
    enum Base: Sendable, Hashable {
        case waitForRoom
        case dropOldest
        case coalesceToLatest
        case close(WebSocketCloseCode)
    }

    let base: Base

    /// The sender waits until the queue has room (backpressure: what an echo or a file
    /// transfer wants). A broadcast cannot wait for one connection: a connection with this
    /// policy that a broadcast finds full is closed with 1013 (try again later).
    public static let waitForRoom = Self(base: .waitForRoom)
    /// The oldest queued data messages are dropped until the new one fits (a feed of
    /// independent events where the newest matter most).
    public static let dropOldest = Self(base: .dropOldest)
    /// Every queued data message is dropped and the new one kept: the consumer gets the
    /// latest state when it catches up (a price ticker, a cursor position).
    public static let coalesceToLatest = Self(base: .coalesceToLatest)

    /// The queued messages are dropped and the connection is closed with `code`: typically
    /// ``WebSocketCloseCode/policyViolation`` (1008) or ``WebSocketCloseCode/tryAgainLater``
    /// (1013, so that the client reconnects later and resumes).
    public static func close(_ code: WebSocketCloseCode) -> Self {
        Self(base: .close(code))
    }

    public var description: String {
        switch base {
        case .waitForRoom: "wait-for-room"
        case .dropOldest: "drop-oldest"
        case .coalesceToLatest: "coalesce-to-latest"
        case .close(let code): "close-\(code.rawValue)"
        }
    }
}

/// What became of one message sent on a WebSocket.
public enum WebSocketSendResult: Sendable, Hashable {
    /// Handed to the connection: on the wire or in the channel's write buffer.
    case sent
    /// Held in the send queue (the peer reads slowly); `dropped` older data messages were
    /// discarded to make room for it (``WebSocketSlowConsumerPolicy/dropOldest`` or
    /// ``WebSocketSlowConsumerPolicy/coalesceToLatest``).
    case queued(dropped: Int)
    /// Not sent: the consumer had fallen behind and the connection was closed with this code
    /// (``WebSocketSlowConsumerPolicy/close(_:)``, or a broadcast to a connection that waits
    /// for room).
    case closedSlowConsumer(WebSocketCloseCode)
    /// Not sent: the connection was already closing or closed.
    case notOpen
}

/// A connection's send queue, counted since it opened.
public struct WebSocketSendQueueStatistics: Sendable, Hashable {
    /// Messages and payload bytes waiting now.
    public var queuedMessages = 0
    public var queuedBytes = 0
    /// The most payload bytes that ever waited at once.
    public var peakQueuedBytes = 0
    /// Data messages dropped by the policy.
    public var droppedMessages = 0
    /// Data messages sent that had to wait in the queue.
    public var delayedMessages = 0
    /// The close code, if the policy closed the connection.
    public var closedWith: WebSocketCloseCode?

    public init() {}
}

/// What one broadcast did, summed over the group's members.
public struct WebSocketBroadcastReport: Sendable, Hashable {
    /// Members the message was handed to.
    public var recipients = 0
    /// Written to the connection at once.
    public var sent = 0
    /// Queued behind a slow reader.
    public var queued = 0
    /// Older messages dropped to make room (drop oldest, coalesce).
    public var droppedMessages = 0
    /// Connections closed because they had fallen behind.
    public var closedSlowConsumers = 0
    /// Members already closing or closed.
    public var notOpen = 0

    public init() {}

    mutating func add(_ result: WebSocketSendResult) {
        recipients += 1
        switch result {
        case .sent: sent += 1
        case .queued(let dropped):
            queued += 1
            droppedMessages += dropped
        case .closedSlowConsumer: closedSlowConsumers += 1
        case .notOpen: notOpen += 1
        }
    }

    mutating func add(_ other: WebSocketBroadcastReport) {
        recipients += other.recipients
        sent += other.sent
        queued += other.queued
        droppedMessages += other.droppedMessages
        closedSlowConsumers += other.closedSlowConsumers
        notOpen += other.notOpen
    }
}

/// The send queue's bookkeeping, apart from the channel: what is held, in order, and what the
/// policy decides when a message does not fit.
struct WebSocketSendQueue {
    /// One held send.
    enum Item: Sendable {
        /// A whole data message: the policy may drop it.
        case message(WebSocketOutboundEvent)
        /// A prepared message (shared by many connections): the policy may drop it.
        case prepared(WebSocketPreparedMessage)
        /// A fragment of a streamed message or the application's close: never dropped.
        case ordered(WebSocketOutboundEvent)

        var isDroppable: Bool {
            if case .ordered = self { return false }
            return true
        }

        /// The payload bytes it holds (what the bound counts).
        var size: Int {
            switch self {
            case .message(let event), .ordered(let event): Self.size(of: event)
            case .prepared(let message): message.payloadCount
            }
        }

        static func size(of event: WebSocketOutboundEvent) -> Int {
            switch event {
            case .text(let text): text.utf8.count
            case .binary(let bytes): bytes.count
            case .fragment(_, let bytes, _): bytes.count
            case .ping(let bytes), .pong(let bytes): bytes.count
            case .close(_, let reason): 2 + reason.utf8.count
            }
        }
    }

    /// The decision for a message that comes while the queue is in use.
    enum Admission: Equatable {
        /// Queued, after dropping this many older data messages.
        case queued(dropped: Int)
        /// No room, and the sender may wait for it (``WebSocketSlowConsumerPolicy/waitForRoom``).
        case wait
        /// The consumer is behind: close with this code (the queue is emptied).
        case close(WebSocketCloseCode)
    }

    let configuration: WebSocketSendQueueConfiguration
    /// Empty on most connections most of the time: made small (NIO's default of 16 slots
    /// held about 540 bytes per idle connection), it grows when a consumer falls behind.
    private(set) var items = CircularBuffer<Item>(initialCapacity: 1)
    private(set) var statistics = WebSocketSendQueueStatistics()

    init(configuration: WebSocketSendQueueConfiguration) {
        self.configuration = configuration
    }

    var isEmpty: Bool { items.isEmpty }
    var bytes: Int { statistics.queuedBytes }

    /// Whether `size` more bytes fit (an empty queue takes any one message).
    func hasRoom(for size: Int) -> Bool {
        items.isEmpty || statistics.queuedBytes + size <= configuration.maxBytes
    }

    /// Offers `item` to the queue. `canWait`: the sender can wait for room (an application's
    /// task); a broadcast cannot, so a full queue under ``WebSocketSlowConsumerPolicy/waitForRoom``
    /// closes with 1013 for it.
    mutating func admit(_ item: Item, canWait: Bool) -> Admission {
        let size = item.size
        if !item.isDroppable || hasRoom(for: size) {
            append(item)
            return .queued(dropped: 0)
        }
        switch configuration.whenFull.base {
        case .waitForRoom:
            if canWait { return .wait }
            return .close(.tryAgainLater)
        case .close(let code):
            return .close(code)
        case .dropOldest:
            var dropped = 0
            var index = items.startIndex
            while !hasRoom(for: size), index != items.endIndex {
                if items[index].isDroppable {
                    statistics.queuedBytes -= items[index].size
                    items.remove(at: index)
                    dropped += 1
                } else {
                    index = items.index(after: index)
                }
            }
            statistics.droppedMessages += dropped
            append(item)
            return .queued(dropped: dropped)
        case .coalesceToLatest:
            let before = items.count
            var kept = CircularBuffer<Item>(initialCapacity: items.count)
            var keptBytes = 0
            for held in items where !held.isDroppable {
                kept.append(held)
                keptBytes += held.size
            }
            let dropped = before - kept.count
            items = kept
            statistics.queuedBytes = keptBytes
            statistics.droppedMessages += dropped
            append(item)
            return .queued(dropped: dropped)
        }
    }

    /// Appends without asking (a waiting sender whose turn came).
    mutating func append(_ item: Item) {
        items.append(item)
        statistics.queuedBytes += item.size
        statistics.peakQueuedBytes = max(statistics.peakQueuedBytes, statistics.queuedBytes)
        statistics.queuedMessages = items.count
    }

    /// The next held item, for the connection.
    mutating func popFirst() -> Item? {
        guard let item = items.popFirst() else { return nil }
        statistics.queuedBytes -= item.size
        statistics.queuedMessages = items.count
        if item.isDroppable { statistics.delayedMessages += 1 }
        return item
    }

    /// Empties the queue (the connection closes): returns how many data messages were dropped.
    @discardableResult
    mutating func removeAll(closedWith code: WebSocketCloseCode?) -> Int {
        let dropped = items.reduce(0) { $0 + ($1.isDroppable ? 1 : 0) }
        items.removeAll()
        statistics.queuedBytes = 0
        statistics.queuedMessages = 0
        statistics.droppedMessages += dropped
        if let code { statistics.closedWith = code }
        return dropped
    }
}
