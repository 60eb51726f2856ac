import HTTPTypes
import NIOCore
import WireCodec

extension HTTPField.Name {
    /// The id to pass as `since` next time (on every poll and long-poll answer).
    static let feedCursor = HTTPField.Name("Feed-Cursor")!
    static let lastEventID = HTTPField.Name("Last-Event-ID")!
    static let allow = HTTPField.Name("Allow")!
    static let xAccelBuffering = HTTPField.Name("X-Accel-Buffering")!
}

/// The feed server's HTTP/1.1 side, one per connection, after an ``HTTP1Handler`` (which
/// does the framing, keep-alive and pipelining) and the WebSocket upgrader:
///
/// - `GET /poll?since=N` (short polling): at once, `200` with the items after N as JSON, or
///   `204` when there are none.
/// - `GET /long-poll?since=N[&timeout=MS]`: the same answer, but held until an item arrives
///   or the timeout passes (then `204`). A client that goes away while waiting is forgotten.
/// - `GET /events[?since=N]` (Server-Sent Events): a chunked `text/event-stream` that never
///   ends, resuming after `Last-Event-ID` (or `since`), with comment heartbeats.
/// - `POST /publish`: the body (UTF-8 text, at most 64 KiB) becomes the next item.
/// - `GET /stats`: counters as JSON. `GET /`: the browser page.
///
/// Every poll answer carries `Feed-Cursor` (the id to pass as `since` next) and
/// `Cache-Control: no-store`, so that no cache or proxy answers a poll with a stale copy
/// (RFC 9111 §5.2.2.5).
final class FeedHTTPResponder: ChannelInboundHandler, FeedSubscriber {
    typealias InboundIn = HTTP1Event
    typealias OutboundOut = HTTP1OutboundEvent

    static let maxPublishBytes = 64 * 1024

    private enum Route {
        case page(head: Bool)
        case poll(since: Int?)
        case longPoll(since: Int?, timeout: TimeAmount)
        case events(since: Int?)
        case publish
        case stats
        case upgradeRequired
        case methodNotAllowed(allow: String)
        case notFound(head: Bool)
        case badRequest(String)
    }

    private enum State {
        case idle
        case reading(Route)
        case waiting(cursor: Int, timeout: Scheduled<Void>)
        case streaming
    }

    private let feed: Feed
    private var state = State.idle
    private var body: [UInt8] = []
    private var bodyTooLarge = false
    private var context: ChannelHandlerContext?

    init(feed: Feed) {
        self.feed = feed
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { feed.counters.connections += 1 }
    }

    func channelActive(context: ChannelHandlerContext) {
        feed.counters.connections += 1
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        feed.counters.connections -= 1
        leave()
        self.context = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // HTTP1Handler answered a malformed request already and closes the channel.
    }

    // MARK: Requests

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .request(let head):
            feed.counters.requests += 1
            body.removeAll()
            bodyTooLarge = false
            state = .reading(route(head))
        case .body(let bytes):
            guard case .reading(.publish) = state else { return }
            if body.count + bytes.count > Self.maxPublishBytes {
                bodyTooLarge = true
            } else {
                body += bytes
            }
        case .end:
            guard case .reading(let route) = state else { return }
            state = .idle
            respond(context, route)
        case .informationalResponse, .response, .connectionClosed:
            break
        }
    }

    private func route(_ head: HTTP1RequestHead) -> Route {
        let target = FeedTarget(head.target)
        let method = head.method
        let readOnly = method == "GET" || method == "HEAD"
        switch target.path {
        case "/", "/index.html":
            return readOnly ? .page(head: method == "HEAD") : .methodNotAllowed(allow: "GET, HEAD")
        case "/poll":
            guard method == "GET" else { return .methodNotAllowed(allow: "GET") }
            switch target.decimal("since") {
            case .success(let since): return .poll(since: since)
            case .failure(let error): return .badRequest(error.reason)
            }
        case "/long-poll":
            guard method == "GET" else { return .methodNotAllowed(allow: "GET") }
            let cap = feed.options.longPollTimeout
            switch (target.decimal("since"), target.decimal("timeout")) {
            case (.failure(let error), _), (_, .failure(let error)):
                return .badRequest(error.reason)
            case (.success(let since), .success(let timeout)):
                let asked = timeout.map { TimeAmount.milliseconds(Int64(min($0, 86_400_000))) } ?? cap
                return .longPoll(since: since, timeout: min(asked, cap))
            }
        case "/events":
            guard method == "GET" else { return .methodNotAllowed(allow: "GET") }
            // A reconnecting EventSource sends the last id it saw (WHATWG HTML §9.2.4); an id
            // that is not one of ours (another server's) resumes nothing, as if absent.
            let resume = head.fields.firstValue(named: "last-event-id").flatMap { Int($0) }
            switch target.decimal("since") {
            case .success(let since): return .events(since: resume ?? since)
            case .failure(let error): return .badRequest(error.reason)
            }
        case "/publish":
            return method == "POST" ? .publish : .methodNotAllowed(allow: "POST")
        case "/stats":
            return method == "GET" ? .stats : .methodNotAllowed(allow: "GET")
        case "/ws":
            return .upgradeRequired
        default:
            return .notFound(head: method == "HEAD")
        }
    }

    private func respond(_ context: ChannelHandlerContext, _ route: Route) {
        switch route {
        case .page(let head):
            answer(context, .ok, type: "text/html; charset=utf-8", Array(FeedPage.html.utf8), head: head)
        case .poll(let since):
            answerPoll(context, since: since ?? feed.lastId)
        case .longPoll(let since, let timeout):
            let cursor = since.map { $0 > feed.lastId ? 0 : $0 } ?? feed.lastId
            if !feed.items(after: cursor, limit: 1).isEmpty {
                answerPoll(context, since: cursor)
                return
            }
            let task = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
                guard case .waiting(let cursor, _) = state, let context = self.context else { return }
                leave()
                answerPoll(context, since: cursor)
            }
            state = .waiting(cursor: cursor, timeout: task)
            feed.counters.longPollWaiters += 1
            feed.subscribe(self)
        case .events(let since):
            startEventStream(context, since: since)
        case .publish:
            if bodyTooLarge {
                answer(context, .contentTooLarge, type: "text/plain; charset=utf-8", Array("at most 64 KiB\n".utf8))
            } else if let text = String(validating: body, as: UTF8.self) {
                let item = feed.publish(text)
                answer(context, .ok, type: "application/json", Array(#"{"id":\#(item.id)}"#.utf8))
            } else {
                answer(context, .badRequest, type: "text/plain; charset=utf-8", Array("the body must be UTF-8 text\n".utf8))
            }
        case .stats:
            answer(context, .ok, type: "application/json", Array(feed.statsJSON.utf8))
        case .upgradeRequired:
            var fields = HTTPFields()
            fields[.upgrade] = "websocket"
            fields[.connection] = "Upgrade"
            answer(context, .upgradeRequired, type: "text/plain; charset=utf-8", Array("a WebSocket endpoint\n".utf8), fields: fields)
        case .methodNotAllowed(let allow):
            var fields = HTTPFields()
            fields[.allow] = allow
            answer(context, .methodNotAllowed, type: "text/plain; charset=utf-8", Array("method not allowed\n".utf8), fields: fields)
        case .notFound(let head):
            answer(context, .notFound, type: "text/plain; charset=utf-8", Array("not found\n".utf8), head: head)
        case .badRequest(let reason):
            answer(context, .badRequest, type: "text/plain; charset=utf-8", Array((reason + "\n").utf8))
        }
    }

    // MARK: Polling

    /// `200` with the items after `since` (at most a batch), or `204`; `Feed-Cursor` either way.
    /// A cursor from the future (the server restarted) starts over from the oldest item.
    private func answerPoll(_ context: ChannelHandlerContext, since: Int) {
        let cursor = since > feed.lastId ? 0 : since
        let items = feed.items(after: cursor, limit: feed.options.maxBatch)
        var fields = HTTPFields()
        fields[.cacheControl] = "no-store"
        guard let last = items.last else {
            fields[.feedCursor] = String(since > feed.lastId ? feed.lastId : cursor)
            write(context, .response(HTTPResponse(status: .noContent, headerFields: fields)))
            write(context, .end(trailers: nil))
            context.flush()
            return
        }
        fields[.feedCursor] = String(last.id)
        var json = #"{"items":["#
        for (index, item) in items.enumerated() {
            if index > 0 { json += "," }
            json += item.json
        }
        json += #"],"next":\#(last.id)}"#
        answer(context, .ok, type: "application/json", Array(json.utf8), fields: fields)
    }

    // MARK: Server-Sent Events

    private func startEventStream(_ context: ChannelHandlerContext, since: Int?) {
        var fields = HTTPFields()
        fields[.contentType] = "text/event-stream"
        fields[.cacheControl] = "no-store"
        // Tells nginx-style proxies not to buffer the stream.
        fields[.xAccelBuffering] = "no"
        write(context, .response(HTTPResponse(status: .ok, headerFields: fields)))
        var bytes: [UInt8] = []
        SSESerializer.writeRetry(milliseconds: 1000, into: &bytes)
        if let since {
            for item in feed.items(after: since > feed.lastId ? 0 : since) { bytes += item.sse }
        }
        write(context, .body(bytes))
        context.flush()
        state = .streaming
        feed.counters.eventStreams += 1
        feed.subscribe(self)
    }

    // MARK: FeedSubscriber

    func feed(_ feed: Feed, published items: ArraySlice<FeedItem>) {
        guard let context else { return }
        switch state {
        case .waiting(let cursor, _):
            leave()
            answerPoll(context, since: cursor)
        case .streaming:
            var bytes: [UInt8] = []
            for item in items { bytes += item.sse }
            write(context, .body(bytes))
            context.flush()
        case .idle, .reading:
            break
        }
    }

    func feedHeartbeat(_ feed: Feed) {
        guard case .streaming = state, let context else { return }
        var bytes: [UInt8] = []
        try! SSESerializer.writeComment("", into: &bytes)
        write(context, .body(bytes))
        context.flush()
    }

    /// Stops waiting or streaming (answered, timed out, or the client went away).
    private func leave() {
        switch state {
        case .waiting(_, let timeout):
            timeout.cancel()
            feed.counters.longPollWaiters -= 1
            feed.unsubscribe(self)
        case .streaming:
            feed.counters.eventStreams -= 1
            feed.unsubscribe(self)
        case .idle, .reading:
            break
        }
        state = .idle
    }

    // MARK: Writing

    private func answer(
        _ context: ChannelHandlerContext, _ status: HTTPResponse.Status, type: String, _ body: [UInt8],
        head: Bool = false, fields: HTTPFields = [:]
    ) {
        var fields = fields
        fields[.contentType] = type
        fields[.contentLength] = String(body.count)
        if fields[.cacheControl] == nil { fields[.cacheControl] = "no-store" }
        write(context, .response(HTTPResponse(status: status, headerFields: fields)))
        if !head && !body.isEmpty { write(context, .body(body)) }
        write(context, .end(trailers: nil))
        context.flush()
    }

    private func write(_ context: ChannelHandlerContext, _ event: HTTP1OutboundEvent) {
        context.write(wrapOutboundOut(event), promise: nil)
    }
}
