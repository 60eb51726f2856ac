import HTTPTypes
import NIOCore
import ServiceLifecycle
import Synchronization
import WireCodec
import WireCodecNIO

/// One update of the live feed. Its wire forms are encoded once, when it is published, and
/// shared by every client that receives it.
struct FeedItem: Sendable {
    /// Ids count from 1 without gaps, in the order items were published (across every
    /// instance sharing the log): a client's cursor is the last id it has seen.
    var id: Int
    var data: String
    /// `{"id":N,"data":"..."}`: the body element of a poll answer and a WebSocket message.
    var json: String
    /// `id: N` and `data: ...` lines and the blank line: one Server-Sent Event.
    var sse: [UInt8]
    /// The WebSocket message, framed (and compressed) once per class of connection.
    var prepared: WebSocketPreparedMessage

    init(id: Int, data: String) {
        self.id = id
        self.data = data
        json = #"{"id":\#(id),"data":\#(JSONText.quoted(data))}"#
        var sse: [UInt8] = []
        // `data` may hold line breaks: the serializer writes one `data:` line per line.
        try! SSESerializer.writeEvent(data: data, id: String(id), into: &sse)
        self.sse = sse
        prepared = WebSocketPreparedMessage(text: json)
    }
}

/// The live feed as one instance holds it: a window of the log (the last `historyLimit` items,
/// ids contiguous) and its subscribers: WebSockets in a ``WebSocketBroadcastGroup`` (each item
/// one ``WebSocketPreparedMessage``, framed and compressed once per class of connection), event
/// streams in a ``ServerSentEventBroadcastGroup`` (the items' events serialized once, one shared
/// buffer), long polls held in ``HTTPHeldResponses`` (one answer, one shared body, for all of
/// them), and an `AsyncStream` of updates for anything else. New items reach every subscriber
/// from the connections' event loops: no task per subscriber wakes up.
///
/// Items come in only through ``append(_:startingOver:)`` — from the ``FeedSource`` that owns
/// the log and its ids (``InMemoryFeedSource`` assigns them here; ``PostgresFeedSource`` reads
/// them from the table, several instances sharing one log). Whatever comes in is in order
/// and without gaps, so a subscriber's cursor only ever moves over ids it was given.
///
/// A `Service`: in the server's `ServiceGroup` it sends the event streams' heartbeats until
/// the group shuts down (after the server, which comes later in the group and is shut down
/// first).
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
        /// Keep our compression context between messages (each connection compresses each
        /// message itself). Off: `server_no_context_takeover` is always answered (RFC 7692
        /// §7.1.1.1 lets a server add it), and each message is compressed once for all.
        var deflateContextTakeover = false
        /// A WebSocket's send queue bound: a client further behind is closed with 1013.
        var sendQueueBytes = 256 * 1024
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
        /// Subscribers whose cursor is ahead of this instance (another instance gave them
        /// items this one has not read yet): they join `subscribers` once the feed reaches
        /// their cursor, so that they get nothing twice.
        var ahead: [Int: (cursor: Int, continuation: AsyncStream<Update>.Continuation)] = [:]
        /// WebSockets and event streams whose cursor is ahead: they join their group then.
        var aheadMembers: [Int: (cursor: Int, member: Member)] = [:]
        var nextSubscriber = 0
        /// The long polls waiting for the item after ``lastId``; answered (and replaced) by
        /// the next append.
        var longPolls = HTTPHeldResponses()

        var lastId: Int { firstId + items.count - 1 }

        func items(after cursor: Int, limit: Int) -> ArraySlice<FeedItem> {
            let start = max(cursor + 1, firstId) - firstId
            guard start < items.count else { return [] }
            return items[start..<(items.count - start <= limit ? items.count : start + limit)]
        }
    }

    /// A member of a broadcast group that waits for the feed to reach its cursor.
    enum Member: Sendable, Equatable {
        case webSocket(EventLoopWebSocket)
        /// An event stream served from its event loop.
        case eventLoopStream(EventLoopEventStream)
    }

    let options: Options
    private let state = Mutex(State())
    /// Every WebSocket subscriber.
    let webSockets = WebSocketBroadcastGroup()
    /// Every event-stream subscriber.
    let eventStreams = ServerSentEventBroadcastGroup()

    init(options: Options) {
        self.options = options
    }

    /// The heartbeat, until the service group shuts down.
    func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [self] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: options.heartbeat)
                    broadcast(.heartbeat)
                    eventStreams.broadcast(Self.heartbeat)
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

    /// Appends the next item with the next id (the in-memory source: this instance is the log).
    func appendNext(_ data: String) -> FeedItem {
        state.withLock { state in
            let item = FeedItem(id: state.lastId + 1, data: data)
            append([item], to: &state)
            return item
        }
    }

    /// Appends items read from the log and tells every subscriber. Items at or below
    /// ``lastId`` (read twice) are skipped; the rest must continue the ids without a gap —
    /// an item after a gap is not taken (the source never moves past a gap: see
    /// ``PostgresFeedSource``) unless `startingOver`, when the log no longer holds the ids in
    /// between (the first load of an instance, or ids the log dropped): then the window
    /// restarts at the first new item. Returns the items taken.
    @discardableResult
    func append(_ items: [FeedItem], startingOver: Bool = false) -> Int {
        state.withLock { state in
            var fresh = items.drop { $0.id <= state.lastId }
            guard let first = fresh.first else { return 0 }
            if first.id != state.lastId + 1 {
                guard startingOver else { return 0 }
                state.items.removeAll()
                state.firstId = first.id
            }
            // Only the contiguous run.
            var expected = first.id
            let end = fresh.firstIndex { item in
                defer { expected += 1 }
                return item.id != expected
            } ?? fresh.endIndex
            fresh = fresh[..<end]
            append(Array(fresh), to: &state)
            return fresh.count
        }
    }

    /// Appends `items` and hands them to every subscriber, under the state's lock: broadcasts
    /// and joins are dispatched in the order of the log.
    private func append(_ items: [FeedItem], to state: inout State) {
        guard !items.isEmpty else { return }
        let cursor = state.lastId
        state.items += items
        if state.items.count > options.historyLimit {
            let drop = state.items.count - options.historyLimit
            state.items.removeFirst(drop)
            state.firstId += drop
        }
        webSockets.broadcast(items.map(\.prepared))
        eventStreams.broadcast(Self.events(items[...]))
        // Every held long poll waits after `cursor` (the last id before these items): one
        // answer for all of them; later polls wait on a fresh set.
        let (head, body) = pollAnswer(state.items(after: cursor, limit: options.maxBatch))
        state.longPolls.answerAll(head, body: body)
        state.longPolls = HTTPHeldResponses()
        for continuation in state.subscribers.values { continuation.yield(.items(items)) }
        let lastId = state.lastId
        for (id, waiting) in state.aheadMembers where waiting.cursor <= lastId {
            state.aheadMembers[id] = nil
            join(waiting.member, backlog: state.items(after: waiting.cursor, limit: .max))
        }
        guard !state.ahead.isEmpty else { return }
        for (id, waiting) in state.ahead where waiting.cursor <= lastId {
            state.ahead[id] = nil
            let backlog = state.items(after: waiting.cursor, limit: .max)
            if !backlog.isEmpty { waiting.continuation.yield(.items(Array(backlog))) }
            state.subscribers[id] = waiting.continuation
        }
    }

    /// Subscribes to what comes after `cursor` (`nil`: only new items): the items already
    /// here after it come first, then each new one, with nothing missed in between. A cursor
    /// ahead of this instance (resolved by ``FeedSource/resolve(cursor:in:)``) gets the items
    /// after it once they arrive.
    func subscribe(after cursor: Int?) -> Subscription {
        let (stream, continuation) = AsyncStream<Update>.makeStream()
        let id = state.withLock { state in
            state.nextSubscriber += 1
            return state.nextSubscriber
        }
        // A consumer that stops (its task cancelled: the client went away) leaves.
        continuation.onTermination = { [weak self] _ in
            self?.state.withLock { state in
                state.subscribers[id] = nil
                state.ahead[id] = nil
            }
        }
        state.withLock { state in
            if let cursor {
                if cursor > state.lastId {
                    state.ahead[id] = (cursor, continuation)
                    return
                }
                let backlog = state.items(after: cursor, limit: .max)
                if !backlog.isEmpty { continuation.yield(.items(Array(backlog))) }
            }
            state.subscribers[id] = continuation
        }
        return Subscription(id: id, updates: stream)
    }

    /// Adds a WebSocket or an event stream to its broadcast group, with the items after
    /// `cursor` first (`nil`: only new items); a cursor ahead of this instance joins once the
    /// feed reaches it (``forgetAhead(_:)`` the member if it goes away before). The member
    /// leaves when its connection closes or its response ends.
    func join(_ member: Member, after cursor: Int?) {
        state.withLock { state in
            if let cursor, cursor > state.lastId {
                state.nextSubscriber += 1
                state.aheadMembers[state.nextSubscriber] = (cursor, member)
                return
            }
            join(member, backlog: cursor.map { state.items(after: $0, limit: .max) } ?? [])
        }
    }

    /// Under the lock, in order with the broadcasts.
    private func join(_ member: Member, backlog: ArraySlice<FeedItem>) {
        switch member {
        case .webSocket(let webSocket):
            webSockets.add(webSocket, sendingFirst: backlog.map(\.prepared))
        case .eventLoopStream(let stream):
            eventStreams.add(stream, sendingFirst: backlog.isEmpty ? [] : [Self.events(backlog)])
        }
    }

    /// A member went away: it no longer waits for its cursor (if it did; there are few).
    func forgetAhead(_ member: Member) {
        state.withLock { state in
            guard !state.aheadMembers.isEmpty else { return }
            for (id, waiting) in state.aheadMembers where waiting.member == member { state.aheadMembers[id] = nil }
        }
    }

    /// Where a long poll after `cursor` stands: the answer at once (items after it), or the
    /// held responses the next append answers (the cursor is the newest id), or `nil` (a
    /// cursor ahead of this instance: it waits by subscribing).
    enum LongPollPlace {
        case ready
        case hold(HTTPHeldResponses)
        case ahead
    }

    func longPollPlace(after cursor: Int) -> LongPollPlace {
        state.withLock { state in
            if cursor < state.lastId { return .ready }
            if cursor > state.lastId { return .ahead }
            return .hold(state.longPolls)
        }
    }

    /// The answer to a poll that gets `items` (`204` when none): `Feed-Cursor`, no caching.
    /// The same for every long poll an append answers.
    func pollAnswer(_ items: ArraySlice<FeedItem>, emptyCursor: Int = 0) -> (HTTPResponse, HTTPPreparedBody) {
        var fields = HTTPFields()
        fields[.cacheControl] = "no-store"
        guard let last = items.last else {
            fields[.feedCursor] = String(emptyCursor)
            return (HTTPResponse(status: .noContent, headerFields: fields), HTTPPreparedBody(ByteBuffer()))
        }
        fields[.feedCursor] = String(last.id)
        fields[.contentType] = "application/json"
        var json = #"{"items":["#
        for (index, item) in zip(0..., items) {
            if index > 0 { json += "," }
            json += item.json
        }
        json += #"],"next":\#(last.id)}"#
        fields[.contentLength] = String(json.utf8.count)
        return (HTTPResponse(status: .ok, headerFields: fields), HTTPPreparedBody(json))
    }

    /// The items' events, serialized once for every stream.
    static func events(_ items: ArraySlice<FeedItem>) -> HTTPPreparedBody {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(items.reduce(0) { $0 + $1.sse.count })
        for item in items { bytes += item.sse }
        return HTTPPreparedBody(bytes: bytes)
    }

    /// An event stream's heartbeat: an empty comment line (dispatches nothing).
    static let heartbeat = HTTPPreparedBody(":\n")

    /// Waits until this instance holds item `id` (`true`), or `timeout` passed (`false`).
    @discardableResult
    func waitFor(id: Int, timeout: Duration) async -> Bool {
        if lastId >= id { return true }
        let subscription = subscribe(after: id - 1)
        defer { unsubscribe(subscription) }
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                for await update in subscription.updates {
                    if case .items = update { return true }
                }
                return false
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let reached = await group.next() ?? false
            group.cancelAll()
            return reached
        }
    }

    func unsubscribe(_ subscription: Subscription) {
        let continuation = state.withLock { state in
            state.subscribers.removeValue(forKey: subscription.id) ?? state.ahead.removeValue(forKey: subscription.id)?.continuation
        }
        continuation?.finish()
    }

    private func broadcast(_ update: Update) {
        state.withLock { state in
            for continuation in state.subscribers.values { continuation.yield(update) }
            for waiting in state.ahead.values { waiting.continuation.yield(update) }
        }
    }

    /// Changes the counters.
    func count(_ change: (inout Counters) -> Void) {
        state.withLock { change(&$0.counters) }
    }

    /// `GET /stats`: what the server holds now (tests check that a client that went away
    /// left nothing behind), and the source's state.
    func statsJSON(source: String) -> String {
        state.withLock { state in
            let c = state.counters
            let subscribers = state.subscribers.count + state.ahead.count + state.aheadMembers.count + webSockets.count
                + eventStreams.count
            return #"{"last_id":\#(state.lastId),"first_id":\#(state.items.isEmpty ? state.lastId + 1 : state.firstId),"history":\#(state.items.count),"connections":\#(c.connections),"requests":\#(c.requests),"long_poll_waiters":\#(c.longPollWaiters),"event_streams":\#(c.eventStreams),"websockets":\#(c.webSockets),"subscribers":\#(subscribers),"source":\#(source)}"#
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
