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

/// Settings every client of a run shares.
struct ClientSettings: Sendable {
    var authority: String
    var pollInterval: TimeAmount
    var longPollTimeoutMs: Int
    var deflate: Bool
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

    private let stats: LoadStats
    private let settings: ClientSettings
    private var cursor = FeedCursor(lastId: 0)
    private var status = 0
    private var body: [UInt8] = []
    private var next: Int?
    private var isReady = false

    init(stats: LoadStats, settings: ClientSettings) {
        self.stats = stats
        self.settings = settings
    }

    func channelActive(context: ChannelHandlerContext) {
        let first = TimeAmount.nanoseconds(Int64.random(in: 0...max(1, settings.pollInterval.nanoseconds)))
        context.eventLoop.assumeIsolated().scheduleTask(in: first) { [self] in request(context) }
        context.fireChannelActive()
    }

    private func request(_ context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        if stats.counting { stats.value.requests += 1 }
        let path = "/poll?since=\(cursor.lastId)"
        context.write(wrapOutboundOut(.request(HTTPRequest(method: .get, scheme: nil, authority: settings.authority, path: path))), promise: nil)
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
                    cursor.receive(id: item.id, stamp: publishStamp(item.data), stats: stats)
                }
            } else if status != 204 {
                stats.noteError("poll: status \(status)")
            }
            if let next { cursor.lastId = next }
            if !isReady {
                isReady = true
                stats.value.ready += 1
            }
            context.eventLoop.assumeIsolated().scheduleTask(in: settings.pollInterval) { [self] in request(context) }
        default:
            break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        stats.noteError("poll: \(error)")
        context.close(promise: nil)
    }
}

/// Long polling: `GET /long-poll?since=N&timeout=MS`, asked again as soon as each answer
/// (200 with items, or 204 at the timeout) is read.
final class LongPollClient: ChannelInboundHandler {
    typealias InboundIn = HTTP1Event
    typealias OutboundOut = HTTP1OutboundEvent

    private let stats: LoadStats
    private let settings: ClientSettings
    private var cursor = FeedCursor(lastId: 0)
    private var status = 0
    private var body: [UInt8] = []
    private var next: Int?
    private var isReady = false

    init(stats: LoadStats, settings: ClientSettings) {
        self.stats = stats
        self.settings = settings
    }

    func channelActive(context: ChannelHandlerContext) {
        request(context)
        context.fireChannelActive()
    }

    private func request(_ context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        if stats.counting { stats.value.requests += 1 }
        let path = "/long-poll?since=\(cursor.lastId)&timeout=\(settings.longPollTimeoutMs)"
        context.write(wrapOutboundOut(.request(HTTPRequest(method: .get, scheme: nil, authority: settings.authority, path: path))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(trailers: nil))).assumeIsolated().whenSuccess { [self] in
            // Ready once the first long poll is on its way (the server holds it).
            if !isReady {
                isReady = true
                stats.value.ready += 1
            }
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
                    cursor.receive(id: item.id, stamp: publishStamp(item.data), stats: stats)
                }
            } else if status != 204 {
                stats.noteError("long-poll: status \(status)")
            }
            if let next { cursor.lastId = next }
            // The HTTP handler starts the next cycle once this call returns.
            context.eventLoop.assumeIsolated().execute { [self] in request(context) }
        default:
            break
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        stats.noteError("long-poll: \(error)")
        context.close(promise: nil)
    }
}

/// Server-Sent Events: one `GET /events` whose body is parsed as it streams (``SSEParser``).
final class EventStreamClient: ChannelInboundHandler {
    typealias InboundIn = HTTP1Event
    typealias OutboundOut = HTTP1OutboundEvent

    private let stats: LoadStats
    private let settings: ClientSettings
    private var cursor = FeedCursor(lastId: 0)
    private var parser = SSEParser()

    init(stats: LoadStats, settings: ClientSettings) {
        self.stats = stats
        self.settings = settings
    }

    func channelActive(context: ChannelHandlerContext) {
        if stats.counting { stats.value.requests += 1 }
        var fields = HTTPFields()
        fields[.accept] = "text/event-stream"
        let request = HTTPRequest(method: .get, scheme: nil, authority: settings.authority, path: "/events?since=0", headerFields: fields)
        context.write(wrapOutboundOut(.request(request)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(trailers: nil)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .response(let head):
            if head.status == 200 {
                stats.value.ready += 1
            } else {
                stats.noteError("sse: status \(head.status)")
            }
        case .body(let bytes):
            do throws(SSEParseError) {
                try parser.parse(bytes.span) { event in
                    guard case .event(let event) = event, let id = Int(event.lastEventID) else { return }
                    cursor.receive(id: id, stamp: publishStamp(event.data), stats: stats)
                }
            } catch {
                stats.noteError("sse: \(error)")
                context.close(promise: nil)
            }
        case .end:
            stats.noteError("sse: the stream ended")
        default:
            break
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        stats.noteError("sse: \(error)")
        context.close(promise: nil)
    }
}

/// WebSocket: `GET /ws` upgraded (permessage-deflate offered), then one text message per item.
final class WebSocketFeedClient: ChannelInboundHandler {
    typealias InboundIn = WebSocketEvent
    typealias OutboundOut = WebSocketOutboundEvent

    private let stats: LoadStats
    private var cursor = FeedCursor(lastId: 0)

    init(stats: LoadStats) {
        self.stats = stats
    }

    func handlerAdded(context: ChannelHandlerContext) {
        stats.value.ready += 1
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .text(let text):
            for item in FeedJSON.items(Array(text.utf8)) ?? [] {
                cursor.receive(id: item.id, stamp: publishStamp(item.data), stats: stats)
            }
        case .closed(let closure):
            stats.noteError("ws: closed \(closure.code.rawValue)")
        default:
            break
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        stats.noteError("ws: \(error)")
    }
}

/// The handlers of one client connection of `technique`, after the byte counter.
func clientHandlers(_ technique: Technique, stats: LoadStats, settings: ClientSettings) throws -> [any ChannelHandler] {
    switch technique {
    case .poll:
        return [HTTP1Handler(role: .client), ShortPollClient(stats: stats, settings: settings)]
    case .longPoll:
        return [HTTP1Handler(role: .client), LongPollClient(stats: stats, settings: settings)]
    case .sse:
        return [HTTP1Handler(role: .client), EventStreamClient(stats: stats, settings: settings)]
    case .webSocket:
        let handshake = try WebSocketClientHandshake(
            authority: settings.authority, path: "/ws?since=0",
            deflate: settings.deflate ? PerMessageDeflateClientOffer() : nil)
        return [
            HTTP1Handler(role: .client),
            WebSocketClientUpgrader(handshake: handshake) { _ in [WebSocketFeedClient(stats: stats)] },
        ]
    }
}
