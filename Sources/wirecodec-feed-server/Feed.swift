import NIOCore
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

/// What a subscriber (a waiting long poll, an event stream, a WebSocket) is told.
protocol FeedSubscriber: AnyObject {
    /// New items, in order (ids continue where the subscriber's cursor was).
    func feed(_ feed: Feed, published items: ArraySlice<FeedItem>)
    /// The heartbeat interval passed (event streams write a comment).
    func feedHeartbeat(_ feed: Feed)
}

extension FeedSubscriber {
    func feedHeartbeat(_ feed: Feed) {}
}

/// The live feed: an append-only log of items with a bounded history, and its subscribers.
///
/// Everything happens on one event loop (the server runs one), so there are no locks; every
/// entry point checks it is on that loop.
final class Feed: @unchecked Sendable {
    struct Options: Sendable {
        /// Items kept for clients that come back with an old cursor.
        var historyLimit = 100_000
        /// The most items one poll answer carries (the client asks again for the rest).
        var maxBatch = 500
        /// Event-stream heartbeat comments, so proxies do not drop an idle stream.
        var heartbeat: TimeAmount = .seconds(15)
        /// The longest a long poll is held before a 204.
        var longPollTimeout: TimeAmount = .seconds(25)
        /// WebSocket keep-alive pings (and the time a pong may take).
        var webSocketPing: TimeAmount = .seconds(30)
        /// Publish `{"tick":N}` this often (nil: only `POST /publish` publishes).
        var publishEvery: TimeAmount? = nil
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

    let loop: any EventLoop
    let options: Options
    private(set) var items: [FeedItem] = []
    /// Id of `items[0]` (ids before it were dropped from the history).
    private(set) var firstId = 1
    var counters = Counters()
    private var subscribers: [ObjectIdentifier: any FeedSubscriber] = [:]
    private var heartbeatTask: RepeatedTask?
    private var publishTask: RepeatedTask?
    private var ticks = 0

    init(loop: any EventLoop, options: Options) {
        self.loop = loop
        self.options = options
    }

    /// Starts the heartbeat and the optional publisher.
    func start() {
        loop.execute { [self] in
            heartbeatTask = loop.scheduleRepeatedTask(initialDelay: options.heartbeat, delay: options.heartbeat) { [self] _ in
                for subscriber in Array(subscribers.values) { subscriber.feedHeartbeat(self) }
            }
            if let every = options.publishEvery {
                publishTask = loop.scheduleRepeatedTask(initialDelay: every, delay: every) { [self] _ in
                    ticks += 1
                    publish(#"{"tick":\#(ticks)}"#)
                }
            }
        }
    }

    func stop() {
        heartbeatTask?.cancel()
        publishTask?.cancel()
    }

    /// The id of the newest item (0 before the first).
    var lastId: Int { firstId + items.count - 1 }

    /// Items after `cursor`, at most `limit` of them (the oldest first).
    func items(after cursor: Int, limit: Int = .max) -> ArraySlice<FeedItem> {
        loop.preconditionInEventLoop()
        let start = max(cursor + 1, firstId) - firstId
        guard start < items.count else { return [] }
        return items[start..<(items.count - start <= limit ? items.count : start + limit)]
    }

    /// Appends an item and tells every subscriber.
    @discardableResult
    func publish(_ data: String) -> FeedItem {
        loop.preconditionInEventLoop()
        let item = FeedItem(id: lastId + 1, data: data)
        items.append(item)
        if items.count > options.historyLimit {
            let drop = items.count - options.historyLimit
            items.removeFirst(drop)
            firstId += drop
        }
        let published = items[(items.count - 1)...]
        for subscriber in Array(subscribers.values) { subscriber.feed(self, published: published) }
        return item
    }

    func subscribe(_ subscriber: any FeedSubscriber) {
        loop.preconditionInEventLoop()
        subscribers[ObjectIdentifier(subscriber)] = subscriber
    }

    func unsubscribe(_ subscriber: any FeedSubscriber) {
        loop.preconditionInEventLoop()
        subscribers.removeValue(forKey: ObjectIdentifier(subscriber))
    }

    /// `GET /stats`: what the server holds now (tests check that a client that went away
    /// left nothing behind).
    var statsJSON: String {
        let c = counters
        return #"{"last_id":\#(lastId),"history":\#(items.count),"connections":\#(c.connections),"requests":\#(c.requests),"long_poll_waiters":\#(c.longPollWaiters),"event_streams":\#(c.eventStreams),"websockets":\#(c.webSockets),"subscribers":\#(subscribers.count)}"#
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

/// A request target split into its path and query parameters.
struct FeedTarget {
    var path: Substring
    var query: [(name: Substring, value: Substring)]

    init(_ target: String) {
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        path = parts[0]
        query = parts.count > 1
            ? parts[1].split(separator: "&").map { item in
                let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                return (pair[0], pair.count > 1 ? pair[1] : "")
            }
            : []
    }

    /// A non-negative decimal query parameter (nil when absent or malformed).
    func integer(_ name: String) -> Int? {
        guard case .success(let value) = decimal(name) else { return nil }
        return value
    }

    /// A non-negative decimal query parameter: `nil` when absent; a malformed one (`since=abc`,
    /// an empty value, a sign, more than 18 digits) is an error whose text a 400 carries.
    func decimal(_ name: String) -> Result<Int?, FeedQueryError> {
        guard let value = query.first(where: { $0.name == name })?.value else { return .success(nil) }
        guard !value.isEmpty, value.count <= 18, value.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let n = Int(value) else {
            let shown = value.count > 40 ? value.prefix(40) + "..." : value
            return .failure(FeedQueryError(reason: "\(name) must be a decimal number of at most 18 digits, not \"\(shown)\""))
        }
        return .success(n)
    }
}

/// A malformed query parameter: answered with 400 and this reason.
struct FeedQueryError: Error {
    var reason: String
}
