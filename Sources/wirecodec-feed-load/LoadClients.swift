import Foundation
import HTTPTypes
import NIOCore
import WireCodec
import WireCodecNIO

/// The four kinds of simulated client. Each runs on the load tool's event loop, over
/// WireCodec's HTTP/1.1 and WebSocket machines (through ``WireCodecNIO``).
enum Technique: String, CaseIterable, Sendable {
    case poll = "short-polling"
    case longPoll = "long-polling"
    case sse = "sse"
    case webSocket = "websocket"
}

/// What a group of clients runs: one technique, or `auto` — WebSocket, falling back to
/// Server-Sent Events and then long polling where the path does not carry them
/// (``ClientSession``).
enum ClientKind: Sendable, Hashable {
    case fixed(Technique)
    case auto

    init?(rawValue: String) {
        if rawValue == "auto" {
            self = .auto
        } else if let technique = Technique(rawValue: rawValue) {
            self = .fixed(technique)
        } else {
            return nil
        }
    }

    var rawValue: String {
        switch self {
        case .fixed(let technique): technique.rawValue
        case .auto: "auto"
        }
    }

    var ladder: [Technique] {
        switch self {
        case .fixed(let technique): [technique]
        case .auto: [.webSocket, .sse, .longPoll]
        }
    }
}

/// Settings every client of a run shares.
struct ClientSettings: Sendable {
    var pollInterval: TimeAmount
    var longPollTimeoutMs: Int
    var deflate: Bool
    /// How long an event stream may stay silent after its head before a client that can fall
    /// back takes it for buffered (a working stream sends `feed-ready` at once). Default 2 s.
    var streamProbe: TimeAmount = .seconds(2)
}

/// Items of a poll answer or a WebSocket message: `{"id":N,"data":"..."}`, or
/// `{"items":[...],"next":N}`.
enum FeedJSON {
    static func items(_ body: [UInt8]) -> [(id: Int, data: String)]? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else { return nil }
        if let list = object["items"] as? [[String: Any]] {
            return list.compactMap(item)
        }
        return item(object).map { [$0] }
    }

    private static func item(_ object: [String: Any]) -> (id: Int, data: String)? {
        guard let id = object["id"] as? Int, let data = object["data"] as? String else { return nil }
        return (id, data)
    }
}

/// Short polling: `GET /poll?since=N` every `pollInterval` (the first after a random part of
/// it, so that the clients do not poll in step), on one keep-alive connection.
final class ShortPollClient: ChannelInboundHandler {
    typealias InboundIn = HTTP1Event
    typealias OutboundOut = HTTP1OutboundEvent

    private let session: ClientSession
    private let authority: String
    private var status = 0
    private var body: [UInt8] = []
    private var next: Int?

    init(session: ClientSession, authority: String) {
        self.session = session
        self.authority = authority
    }

    func channelActive(context: ChannelHandlerContext) {
        let interval = session.settings.pollInterval
        let first = TimeAmount.nanoseconds(Int64.random(in: 0...max(1, interval.nanoseconds)))
        context.eventLoop.assumeIsolated().scheduleTask(in: first) { [self] in request(context) }
        context.fireChannelActive()
    }

    private func request(_ context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        if session.stats.counting { session.stats.value.requests += 1 }
        let path = "/poll?since=\(session.cursor.lastId)"
        context.write(wrapOutboundOut(.request(HTTPRequest(method: .get, scheme: nil, authority: authority, path: path))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(trailers: nil)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .response(let head):
            status = head.status
            next = head.fields.firstValue(named: "feed-cursor").flatMap { Int($0) }
            body.removeAll(keepingCapacity: true)
        case .body(let bytes):
            body += bytes
        case .end:
            if status == 200 {
                for item in FeedJSON.items(body) ?? [] {
                    session.deliver(id: item.id, stamp: publishStamp(item.data))
                }
            } else if status != 204 {
                session.stats.noteError("poll: status \(status)")
            }
            if let next { session.cursor.lastId = next }
            if status == 200 || status == 204 { session.working() }
            context.eventLoop.assumeIsolated().scheduleTask(in: session.settings.pollInterval) { [self] in request(context) }
        default:
            break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        session.ended(.lost)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        session.stats.noteError("poll: \(error)")
        context.close(promise: nil)
    }
}

/// Long polling: `GET /long-poll?since=N&timeout=MS`, asked again as soon as each answer
/// (200 with items, or 204 at the timeout) is read.
final class LongPollClient: ChannelInboundHandler {
    typealias InboundIn = HTTP1Event
    typealias OutboundOut = HTTP1OutboundEvent

    private let session: ClientSession
    private let authority: String
    private var status = 0
    private var body: [UInt8] = []
    private var next: Int?

    init(session: ClientSession, authority: String) {
        self.session = session
        self.authority = authority
    }

    func channelActive(context: ChannelHandlerContext) {
        request(context)
        context.fireChannelActive()
    }

    private func request(_ context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        if session.stats.counting { session.stats.value.requests += 1 }
        let path = "/long-poll?since=\(session.cursor.lastId)&timeout=\(session.settings.longPollTimeoutMs)"
        context.write(wrapOutboundOut(.request(HTTPRequest(method: .get, scheme: nil, authority: authority, path: path))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(trailers: nil))).assumeIsolated().whenSuccess { [session] in
            // Working once the first long poll is on its way (the server holds it).
            session.working()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .response(let head):
            status = head.status
            next = head.fields.firstValue(named: "feed-cursor").flatMap { Int($0) }
            body.removeAll(keepingCapacity: true)
        case .body(let bytes):
            body += bytes
        case .end:
            if status == 200 {
                for item in FeedJSON.items(body) ?? [] {
                    session.deliver(id: item.id, stamp: publishStamp(item.data))
                }
            } else if status != 204 {
                // A proxy's 502/504 while instances restart: ask again after a pause.
                session.stats.noteError("long-poll: status \(status)")
                context.close(promise: nil)
                return
            }
            if let next { session.cursor.lastId = next }
            // The HTTP handler starts the next cycle once this call returns.
            context.eventLoop.assumeIsolated().execute { [self] in request(context) }
        default:
            break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        session.ended(.lost)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        session.stats.noteError("long-poll: \(error)")
        context.close(promise: nil)
    }
}

/// Server-Sent Events: one `GET /events` whose body is parsed as it streams (``SSEParser``),
/// resumed after a reconnection with `Last-Event-ID`, as `EventSource` does (WHATWG HTML
/// §9.2.3). A client that can fall back asks for `ready=1` and watches for the stream's
/// first event.
final class EventStreamClient: ChannelInboundHandler {
    typealias InboundIn = HTTP1Event
    typealias OutboundOut = HTTP1OutboundEvent

    private let session: ClientSession
    private let authority: String
    private let probe: Bool
    private var parser = SSEParser()
    private var outcome = ConnectionOutcome.lost
    private var probeTimer: Scheduled<Void>?

    init(session: ClientSession, authority: String, probe: Bool) {
        self.session = session
        self.authority = authority
        self.probe = probe
    }

    func channelActive(context: ChannelHandlerContext) {
        if session.stats.counting { session.stats.value.requests += 1 }
        var fields = HTTPFields()
        fields[.accept] = "text/event-stream"
        fields[.cacheControl] = "no-store"
        // The cursor goes in the URL the first time and, as EventSource does, in
        // Last-Event-ID when reconnecting (the server prefers the header).
        let lastId = session.cursor.lastId
        if lastId > 0 { fields[HTTPField.Name("Last-Event-ID")!] = String(lastId) }
        let path = "/events?since=\(lastId)" + (probe ? "&ready=1" : "")
        let request = HTTPRequest(method: .get, scheme: nil, authority: authority, path: path, headerFields: fields)
        context.write(wrapOutboundOut(.request(request)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(trailers: nil)), promise: nil)
        if probe {
            probeTimer = context.eventLoop.assumeIsolated().scheduleTask(in: session.settings.streamProbe) { [self] in
                outcome = .stalled
                context.close(promise: nil)
            }
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .response(let head):
            let type = head.fields.firstValue(named: "content-type") ?? ""
            if head.status != 200 || !type.lowercased().hasPrefix("text/event-stream") {
                // EventSource fails the connection (WHATWG HTML §9.2.3): another technique, or later.
                outcome = .rejected("event stream answered \(head.status) \(type)")
                context.close(promise: nil)
            } else if !probe {
                session.working()
            }
        case .body(let bytes):
            do throws(SSEParseError) {
                try parser.parse(bytes.span) { event in
                    switch event {
                    case .event(let event) where event.type == "feed-ready":
                        probeTimer?.cancel()
                        probeTimer = nil
                        session.working()
                    case .event(let event) where event.type == "message":
                        guard let id = Int(event.lastEventID) else { return }
                        session.deliver(id: id, stamp: publishStamp(event.data))
                    case .retry(let ms):
                        session.streamRetry = .milliseconds(Int64(min(ms, 60_000)))
                    default:
                        break
                    }
                }
            } catch {
                session.stats.noteError("sse: \(error)")
                context.close(promise: nil)
            }
        case .end:
            // The server ended the stream: EventSource reconnects after its reconnection time.
            context.close(promise: nil)
        default:
            break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        probeTimer?.cancel()
        session.ended(outcome)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        session.stats.noteError("sse: \(error)")
        context.close(promise: nil)
    }
}

/// WebSocket: `GET /ws?since=N` upgraded (permessage-deflate offered), then one text message
/// per item.
final class WebSocketFeedClient: ChannelInboundHandler {
    typealias InboundIn = WebSocketEvent
    typealias OutboundOut = WebSocketOutboundEvent

    private let session: ClientSession

    init(session: ClientSession) {
        self.session = session
    }

    func handlerAdded(context: ChannelHandlerContext) {
        session.working()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .text(let text):
            for item in FeedJSON.items(Array(text.utf8)) ?? [] {
                session.deliver(id: item.id, stamp: publishStamp(item.data))
            }
        case .closed(let closure):
            // 1001 from a server shutting down, 1006 when an instance dies: reconnect.
            if closure.code.rawValue != 1001 && closure.code.rawValue != 1006 {
                session.stats.noteError("ws: closed \(closure.code.rawValue)")
            }
        default:
            break
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        session.stats.noteError("ws: \(error)")
    }
}

/// Watches a WebSocket connection from its first byte: a refused handshake falls back, a
/// connection lost before or after the upgrade reconnects.
final class WebSocketConnectionWatcher: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let session: ClientSession
    private let upgraded: EventLoopPromise<WebSocketNegotiation>
    private var outcome = ConnectionOutcome.lost
    private var settled = false

    init(session: ClientSession, upgraded: EventLoopPromise<WebSocketNegotiation>) {
        self.session = session
        self.upgraded = upgraded
    }

    func handlerAdded(context: ChannelHandlerContext) {
        upgraded.futureResult.assumeIsolated().whenComplete { [self] result in
            settled = true
            if case .failure(let error as WebSocketClientUpgradeError) = result, error.code == .rejected {
                outcome = .rejected("WebSocket handshake answered \(error.response?.status.code ?? 0)")
            }
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        // A connection that never became active (refused) leaves the promise to us.
        if !settled { upgraded.fail(WebSocketClientUpgradeError(.connectionClosed)) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        session.ended(outcome)
        context.fireChannelInactive()
    }
}

/// The handlers of one connection of `session` for `technique`, after the byte counter.
func clientHandlers(_ technique: Technique, session: ClientSession, target: Target) throws -> [any ChannelHandler] {
    let authority = target.authority
    switch technique {
    case .poll:
        return [HTTP1Handler(role: .client), ShortPollClient(session: session, authority: authority)]
    case .longPoll:
        return [HTTP1Handler(role: .client), LongPollClient(session: session, authority: authority)]
    case .sse:
        let probe = session.ladder.last != .sse
        return [HTTP1Handler(role: .client), EventStreamClient(session: session, authority: authority, probe: probe)]
    case .webSocket:
        let handshake = try WebSocketClientHandshake(
            authority: authority, path: "/ws?since=\(session.cursor.lastId)",
            deflate: session.settings.deflate ? PerMessageDeflateClientOffer() : nil)
        let upgraded = session.loop.makePromise(of: WebSocketNegotiation.self)
        return [
            WebSocketConnectionWatcher(session: session, upgraded: upgraded),
            HTTP1Handler(role: .client),
            WebSocketClientUpgrader(handshake: handshake, upgraded: upgraded) { _ in [WebSocketFeedClient(session: session)] },
        ]
    }
}
