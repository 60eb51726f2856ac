import HTTPTypes
import NIOCore
import ServiceLifecycle
import WireCodec
import WireCodecNIO

extension HTTPField.Name {
    /// The id to pass as `since` next time (on every poll and long-poll answer).
    static let feedCursor = HTTPField.Name("Feed-Cursor")!
    static let lastEventID = HTTPField.Name("Last-Event-ID")!
    static let allow = HTTPField.Name("Allow")!
    static let xAccelBuffering = HTTPField.Name("X-Accel-Buffering")!
}

/// The feed server's application on ``WireServer``:
///
/// - `GET /poll?since=N` (short polling): at once, `200` with the items after N as JSON, or
///   `204` when there are none.
/// - `GET /long-poll?since=N[&timeout=MS]`: the same answer, but held until an item arrives
///   or the timeout passes (then `204`). A client that goes away while waiting is forgotten
///   (the server cancels the handler); a graceful shutdown answers it at once (`204`).
/// - `GET /events[?since=N][&ready=1]` (Server-Sent Events): a chunked `text/event-stream`
///   that ends only with the connection or a shutdown, resuming after `Last-Event-ID` (or
///   `since`), with comment heartbeats; `ready=1` starts it with a `feed-ready` event.
/// - `GET /ws?since=N` (Upgrade): the backlog, then one text message per item.
/// - `POST /publish`: the body (UTF-8 text, at most 64 KiB) becomes the next item of the
///   log (``FeedSource``: this instance's memory, or the PostgreSQL table several instances
///   share); `503` with `Retry-After` while the log cannot be reached.
/// - `GET /stats`: counters as JSON. `GET /`: the browser page.
///
/// Every poll answer carries `Feed-Cursor` (the id to pass as `since` next) and
/// `Cache-Control: no-store`, so that no cache or proxy answers a poll with a stale copy
/// (RFC 9111 §5.2.2.5).
struct FeedServer: Sendable {
    static let maxPublishBytes = 64 * 1024

    let feed: Feed
    let source: any FeedSource

    func makeServer(configuration: WireServer.Configuration, onListening: @escaping @Sendable (SocketAddress) async -> Void) -> WireServer {
        var configuration = configuration
        if feed.options.deflate {
            configuration.webSocketPolicy.deflate = PerMessageDeflateServerPolicy(
                serverNoContextTakeover: !feed.options.deflateContextTakeover)
        }
        // A broadcast never waits for one client: one too far behind is closed (1013, try
        // again later) and comes back with its cursor.
        configuration.webSocketSendQueue = WebSocketSendQueueConfiguration(
            maxBytes: feed.options.sendQueueBytes, whenFull: .close(.tryAgainLater))
        let ping = feed.options.webSocketPing
        configuration.webSocket.keepAlive = WebSocketKeepAlive(interval: ping, timeout: ping)
        let feed = self.feed
        configuration.configureConnection = { channel in
            // Reads start at 512 bytes (NIO's default: 2 KiB) and grow as reads fill them, up
            // to 64 KiB: most clients here send little, and NIO keeps each connection's receive
            // buffer between reads (1.6 KB less per idle connection, measured with 2,000).
            try channel.syncOptions?.setOption(
                .recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 65536))
            // Counted here and when the channel closes, not by a handler: a handler at the
            // pipeline's head would be on the way of every write and flush (a broadcast makes
            // one of each per connection).
            feed.count { $0.connections += 1 }
            channel.closeFuture.whenComplete { _ in feed.count { $0.connections -= 1 } }
        }
        return WireServer(configuration: configuration, onListening: onListening) { request, response in
            try await respond(to: request, with: response)
        } webSocket: { upgrade in
            guard upgrade.path == "/ws" else { return .reject(.notFound) }
            do {
                let since = try decimal("since", upgrade.queryItem("since"))
                let cursor = if let since { await source.resolve(cursor: since, in: feed) } else { Int?.none }
                // Served from the event loop: an idle subscriber holds no task.
                return .acceptOnEventLoop(
                    onOpen: { webSocket in streamItems(to: webSocket, since: cursor) },
                    onClose: { webSocket, _ in stopStreaming(to: webSocket) })
            } catch {
                // Clients see no body of a refused handshake: the reason goes in the status line.
                let reason = (error as? FeedQueryError)?.reason ?? "\(error)"
                return .reject(HTTPResponse.Status(code: 400, reasonPhrase: "Bad Request: " + reason))
            }
        }
    }

    // MARK: HTTP

    func respond(to request: HTTPServerRequest, with response: HTTPResponseWriter) async throws {
        feed.count { $0.requests += 1 }
        do {
            try await route(request, response)
        } catch let error as FeedQueryError {
            try await answer(response, .badRequest, type: "text/plain; charset=utf-8", error.reason + "\n")
        }
    }

    private func route(_ request: HTTPServerRequest, _ response: HTTPResponseWriter) async throws {
        let method = request.head.method
        let readOnly = method == .get || method == .head
        switch request.path {
        case "/", "/index.html":
            guard readOnly else { return try await methodNotAllowed(response, allow: "GET, HEAD") }
            try await answer(response, .ok, type: "text/html; charset=utf-8", FeedPage.html)
        case "/poll":
            guard method == .get else { return try await methodNotAllowed(response, allow: "GET") }
            let since = try decimal("since", request.queryItem("since"))
            let cursor = if let since { await source.resolve(cursor: since, in: feed) } else { feed.lastId }
            try await answerPoll(response, since: since ?? cursor, resolved: cursor)
        case "/long-poll":
            guard method == .get else { return try await methodNotAllowed(response, allow: "GET") }
            let cap = feed.options.longPollTimeout
            let since = try decimal("since", request.queryItem("since"))
            let asked = try decimal("timeout", request.queryItem("timeout")).map { Duration.milliseconds(min($0, 86_400_000)) } ?? cap
            try await longPoll(response, since: since, timeout: min(asked, cap))
        case "/events":
            guard method == .get else { return try await methodNotAllowed(response, allow: "GET") }
            // A reconnecting EventSource sends the last id it saw (WHATWG HTML §9.2.4); an id
            // that is not one of ours (another server's) resumes nothing, as if absent.
            let resume = request.head.headerFields[.lastEventID].flatMap { Int($0) }
            let since = try decimal("since", request.queryItem("since"))
            let cursor = if let start = resume ?? since { await source.resolve(cursor: start, in: feed) } else { Int?.none }
            try await eventStream(response, since: cursor, ready: request.queryItem("ready") == "1")
        case "/publish":
            guard method == .post else { return try await methodNotAllowed(response, allow: "POST") }
            let body: ByteBuffer
            do {
                body = try await request.body.collect(upTo: Self.maxPublishBytes)
            } catch is HTTPBodyTooLarge {
                return try await answer(response, .contentTooLarge, type: "text/plain; charset=utf-8", "at most 64 KiB\n")
            }
            guard let text = String(validating: body.readableBytesView, as: UTF8.self) else {
                return try await answer(response, .badRequest, type: "text/plain; charset=utf-8", "the body must be UTF-8 text\n")
            }
            let id: Int
            do {
                id = try await source.publish(text)
            } catch {
                var fields = HTTPFields()
                fields[.retryAfter] = "1"
                return try await answer(
                    response, .serviceUnavailable, type: "text/plain; charset=utf-8", "the feed's log is unavailable: \(error.reason)\n",
                    fields: fields)
            }
            try await answer(response, .ok, type: "application/json", #"{"id":\#(id)}"#)
        case "/stats":
            guard method == .get else { return try await methodNotAllowed(response, allow: "GET") }
            try await answer(response, .ok, type: "application/json", feed.statsJSON(source: source.statusJSON))
        case "/ws":
            var fields = HTTPFields()
            fields[.upgrade] = "websocket"
            fields[.connection] = "Upgrade"
            try await answer(response, .upgradeRequired, type: "text/plain; charset=utf-8", "a WebSocket endpoint\n", fields: fields)
        default:
            try await answer(response, .notFound, type: "text/plain; charset=utf-8", "not found\n")
        }
    }

    /// `200` with the items after the cursor (at most a batch), or `204`; `Feed-Cursor` either
    /// way. `resolved` is the client's cursor `since` as ``FeedSource/resolve(cursor:in:)``
    /// left it: 0 for a cursor from the future (the log was reset), which starts over from
    /// the oldest item; a cursor ahead of this instance that the log holds is kept.
    private func answerPoll(_ response: HTTPResponseWriter, since: Int, resolved cursor: Int) async throws {
        let items = feed.items(after: cursor, limit: feed.options.maxBatch)
        let (head, body) = feed.pollAnswer(items[...], emptyCursor: cursor == since ? since : feed.lastId)
        if head.status == .noContent { return try await response.send(head) }
        try await response.send(head, body: body)
    }

    /// Holds the request until an item after the cursor arrives, the timeout passes, or a
    /// graceful shutdown begins; the client going away cancels this task. Waiting after the
    /// newest id (the usual case) the request is held on its event loop in the feed's
    /// ``HTTPHeldResponses`` (this handler returns; only the connection waits): the next append
    /// answers every such poll from the event loops with one shared body.
    private func longPoll(_ response: HTTPResponseWriter, since: Int?, timeout: Duration) async throws {
        let cursor = if let since { await source.resolve(cursor: since, in: feed) } else { feed.lastId }
        let asked = since ?? cursor
        switch feed.longPollPlace(after: cursor) {
        case .ready:
            return try await answerPoll(response, since: asked, resolved: cursor)
        case .hold(let held):
            feed.count { $0.longPollWaiters += 1 }
            // Held on the event loop (no task waits for it): answered by the next append; else
            // the timeout or the shutdown answers it there (a 204 at once); a client that goes
            // away is forgotten.
            let feed = self.feed
            held.holdOnEventLoop(
                response, timeout: timeout,
                onEnd: { _ in feed.count { $0.longPollWaiters -= 1 } },
                answer: { _ in
                    let items = feed.items(after: cursor, limit: feed.options.maxBatch)
                    return feed.pollAnswer(items[...], emptyCursor: cursor == asked ? asked : feed.lastId)
                })
            return
        case .ahead:
            break
        }
        let subscription = feed.subscribe(after: cursor)
        feed.count { $0.longPollWaiters += 1 }
        defer {
            feed.count { $0.longPollWaiters -= 1 }
            feed.unsubscribe(subscription)
        }
        // Whichever comes first: an item, the timeout, the shutdown (then a 204 at once).
        _ = try? await cancelWhenGracefulShutdown {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await update in subscription.updates {
                        if case .items = update { return }
                    }
                }
                group.addTask { try await Task.sleep(for: timeout) }
                try await group.next()
                group.cancelAll()
            }
        }
        try Task.checkCancellation()  // the client went away: nothing to answer
        try await answerPoll(response, since: asked, resolved: cursor)
    }

    // MARK: Server-Sent Events

    /// `ready`: start with a `feed-ready` event (below).
    private func eventStream(_ response: HTTPResponseWriter, since: Int?, ready: Bool) async throws {
        var fields = HTTPFields()
        // Tells nginx-style proxies not to buffer the stream.
        fields[.xAccelBuffering] = "no"
        // Served from the event loop: once this handler returns, no task waits on the stream.
        let feed = self.feed
        let events = try await response.startEventStreamOnEventLoop(headerFields: fields) { stream, _ in
            feed.count { $0.eventStreams -= 1 }
            feed.forgetAhead(.eventLoopStream(stream))
            feed.eventStreams.remove(stream)
        }
        feed.count { $0.eventStreams += 1 }
        var first: [UInt8] = []
        SSESerializer.writeRetry(milliseconds: 1000, into: &first)
        // `?ready=1`: at once, an event of its own type, so that a client can tell a working
        // stream from one a proxy buffers (and fall back to long polling). EventSource's
        // `message` listeners never see it; it has no id, so the client's last event ID stays.
        // Its data: the newest id this instance holds.
        if ready { try! SSESerializer.writeEvent(data: String(feed.lastId), type: "feed-ready", into: &first) }
        events.send(serialized: ByteBuffer(bytes: first))
        // From here the feed's event loops write: the backlog, each new item's events (one
        // shared buffer for every stream), the heartbeats, until the client goes away or a
        // graceful shutdown ends the stream.
        feed.join(.eventLoopStream(events), after: since)
    }

    // MARK: WebSocket

    /// The backlog after `since`, then each new item as a text message; what the client sends
    /// is ignored (its pings, pongs and close are the connection's business).
    /// The items go out from the feed's broadcast group, on the connection's event loop (each
    /// a prepared message: framed, and compressed with `server_no_context_takeover`, once
    /// for every connection of its class); no task waits on the connection.
    private func streamItems(to webSocket: EventLoopWebSocket, since: Int?) {
        feed.count { $0.webSockets += 1 }
        feed.join(.webSocket(webSocket), after: since)
    }

    /// The WebSocket closed.
    private func stopStreaming(to webSocket: EventLoopWebSocket) {
        feed.count { $0.webSockets -= 1 }
        feed.forgetAhead(.webSocket(webSocket))
        feed.webSockets.remove(webSocket)
    }

    // MARK: Writing

    private func answer(
        _ response: HTTPResponseWriter, _ status: HTTPResponse.Status, type: String, _ body: String, fields: HTTPFields = [:]
    ) async throws {
        var fields = fields
        fields[.contentType] = type
        fields[.contentLength] = String(body.utf8.count)
        if fields[.cacheControl] == nil { fields[.cacheControl] = "no-store" }
        try await response.send(HTTPResponse(status: status, headerFields: fields), body: body)
    }

    private func methodNotAllowed(_ response: HTTPResponseWriter, allow: String) async throws {
        var fields = HTTPFields()
        fields[.allow] = allow
        try await answer(response, .methodNotAllowed, type: "text/plain; charset=utf-8", "method not allowed\n", fields: fields)
    }
}
