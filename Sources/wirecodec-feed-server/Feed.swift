import ServiceLifecycle
import Synchronization
import WireCodec

/// One update of the live feed. Its wire forms are encoded once, when it is published, and
/// shared by every client that receives it.
struct FeedItem: Sendable {
    /// Ids count from 1 without gaps: a client's cursor is the last id it has seen.
    var id: Int
    var data: String
    /// `{"id":N,"data":"..."}`: the body element of a poll answer and a WebSocket message.
    var json: String
    /// `id: N` and `data: ...` lines and the blank line: one Server-Sent Event.
    var sse: [UInt8]

    init(id: Int, data: String) {
        self.id = id
        self.data = data
        json = #"{"id":\#(id),"data":\#(JSONText.quoted(data))}"#
        var sse: [UInt8] = []
        // `data` may hold line breaks: the serializer writes one `data:` line per line.
        try! SSESerializer.writeEvent(data: data, id: String(id), into: &sse)
        self.sse = sse
    }
}

/// The live feed: an append-only log of items with a bounded history, and its subscribers
/// (held long polls, event streams, WebSockets), each an `AsyncStream` of updates.
///
/// A `Service`: in the server's `ServiceGroup` it sends the event streams' heartbeats and the
/// optional periodic items until the group shuts down (after the server, which comes later in
/// the group and is shut down first).
final class Feed: Service, Sendable {
    struct Options: Sendable {
        /// Items kept for clients that come back with an old cursor.
        var historyLimit = 100_000
        /// The most items one poll answer carries (the client asks again for the rest).
        var maxBatch = 500
        /// Event-stream heartbeat comments, so proxies do not drop an idle stream.
        var heartbeat: Duration = .seconds(15)
        /// The longest a long poll is held before a 204.
        var longPollTimeout: Duration = .seconds(25)
        /// WebSocket keep-alive pings (and the time a pong may take).
        var webSocketPing: Duration = .seconds(30)
        /// Publish `{"tick":N}` this often (nil: only `POST /publish` publishes).
        var publishEvery: Duration? = nil
        /// Accept permessage-deflate on WebSocket connections.
        var deflate = true
    }

    struct Counters: Sendable {
        var connections = 0
        var requests = 0
        var longPollWaiters = 0
        var eventStreams = 0
        var webSockets = 0
    }

    /// What a subscriber receives.
    enum Update: Sendable {
        /// New items, in order (ids continue where the subscriber's cursor was).
        case items([FeedItem])
        /// The heartbeat interval passed (event streams write a comment).
        case heartbeat
    }

    /// A subscription: its updates, and its place in the feed (ended by ``Feed/unsubscribe(_:)``).
    struct Subscription: Sendable {
        let id: Int
        let updates: AsyncStream<Update>
    }

    private struct State: Sendable {
        var items: [FeedItem] = []
        /// Id of `items[0]` (ids before it were dropped from the history).
        var firstId = 1
        var counters = Counters()
        var subscribers: [Int: AsyncStream<Update>.Continuation] = [:]
        var nextSubscriber = 0
        var ticks = 0

        var lastId: Int { firstId + items.count - 1 }

        func items(after cursor: Int, limit: Int) -> ArraySlice<FeedItem> {
            let start = max(cursor + 1, firstId) - firstId
            guard start < items.count else { return [] }
            return items[start..<(items.count - start <= limit ? items.count : start + limit)]
        }
    }

    let options: Options
    private let state = Mutex(State())

    init(options: Options) {
        self.options = options
    }

    /// The heartbeat and the optional publisher, until the service group shuts down.
    func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [self] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: options.heartbeat)
                    broadcast(.heartbeat)
                }
            }
            if let every = options.publishEvery {
                group.addTask { [self] in
                    while !Task.isCancelled {
                        try? await Task.sleep(for: every)
                        if Task.isCancelled { break }
                        let tick = state.withLock {
                            $0.ticks += 1
                            return $0.ticks
                        }
                        publish(#"{"tick":\#(tick)}"#)
                    }
                }
            }
            try? await gracefulShutdown()
            group.cancelAll()
        }
    }

    /// The id of the newest item (0 before the first).
    var lastId: Int { state.withLock { $0.lastId } }

    /// Items after `cursor`, at most `limit` of them (the oldest first).
    func items(after cursor: Int, limit: Int = .max) -> [FeedItem] {
        state.withLock { Array($0.items(after: cursor, limit: limit)) }
    }

    /// Appends an item and tells every subscriber.
    @discardableResult
    func publish(_ data: String) -> FeedItem {
        state.withLock { state in
            let item = FeedItem(id: state.lastId + 1, data: data)
            state.items.append(item)
            if state.items.count > options.historyLimit {
                let drop = state.items.count - options.historyLimit
                state.items.removeFirst(drop)
                state.firstId += drop
            }
            for continuation in state.subscribers.values { continuation.yield(.items([item])) }
            return item
        }
    }

    /// Subscribes to what comes after `cursor` (`nil`: only new items): the items already
    /// published after it come first, then each new one, with nothing missed in between.
    func subscribe(after cursor: Int?) -> Subscription {
        let (stream, continuation) = AsyncStream<Update>.makeStream()
        let id = state.withLock { state in
            state.nextSubscriber += 1
            return state.nextSubscriber
        }
        // A consumer that stops (its task cancelled: the client went away) leaves.
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.subscribers.removeValue(forKey: id) }
        }
        state.withLock { state in
            if let cursor {
                let backlog = state.items(after: cursor > state.lastId ? 0 : cursor, limit: .max)
                if !backlog.isEmpty { continuation.yield(.items(Array(backlog))) }
            }
            state.subscribers[id] = continuation
        }
        return Subscription(id: id, updates: stream)
    }

    func unsubscribe(_ subscription: Subscription) {
        let continuation = state.withLock { $0.subscribers.removeValue(forKey: subscription.id) }
        continuation?.finish()
    }

    private func broadcast(_ update: Update) {
        state.withLock { state in
            for continuation in state.subscribers.values { continuation.yield(update) }
        }
    }

    /// Changes the counters.
    func count(_ change: (inout Counters) -> Void) {
        state.withLock { change(&$0.counters) }
    }

    /// `GET /stats`: what the server holds now (tests check that a client that went away
    /// left nothing behind).
    var statsJSON: String {
        state.withLock { state in
            let c = state.counters
            return #"{"last_id":\#(state.lastId),"history":\#(state.items.count),"connections":\#(c.connections),"requests":\#(c.requests),"long_poll_waiters":\#(c.longPollWaiters),"event_streams":\#(c.eventStreams),"websockets":\#(c.webSockets),"subscribers":\#(state.subscribers.count)}"#
        }
    }
}

/// The few JSON and query-string pieces the feed needs.
enum JSONText {
    /// `s` as a JSON string literal (RFC 8259 §7).
    static func quoted(_ s: String) -> String {
        var out = "\""
        out.reserveCapacity(s.utf8.count + 2)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

/// A non-negative decimal query parameter named `name` with this value: `nil` when absent; a
/// malformed one (`since=abc`, an empty value, a sign, more than 18 digits) is an error whose
/// text a 400 carries.
func decimal(_ name: String, _ value: Substring?) throws(FeedQueryError) -> Int? {
    guard let value else { return nil }
    guard !value.isEmpty, value.count <= 18, value.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let n = Int(value) else {
        let shown = value.count > 40 ? value.prefix(40) + "..." : value
        throw FeedQueryError(reason: "\(name) must be a decimal number of at most 18 digits, not \"\(shown)\"")
    }
    return n
}

/// A malformed query parameter: answered with 400 and this reason.
struct FeedQueryError: Error {
    var reason: String
}
