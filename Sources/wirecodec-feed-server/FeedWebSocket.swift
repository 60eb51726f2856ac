import NIOCore
import WireCodec

/// A WebSocket client of the feed (`GET /ws?since=N` with an Upgrade): each item goes out as
/// one text message, `{"id":N,"data":"..."}`, compressed when permessage-deflate was agreed.
/// Keep-alive pings are the connection's (``WebSocketConfiguration/keepAlive``); what the
/// client sends is ignored (its pongs and close are answered by the connection).
final class FeedWebSocketHandler: ChannelInboundHandler, FeedSubscriber {
    typealias InboundIn = WebSocketEvent
    typealias OutboundOut = WebSocketOutboundEvent

    private let feed: Feed
    private let since: Int?
    private var context: ChannelHandlerContext?
    private var subscribed = false

    init(feed: Feed, since: Int?) {
        self.feed = feed
        self.since = since
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        feed.counters.webSockets += 1
        subscribed = true
        // The WebSocketHandler is put in front of us after we are added: write (the backlog)
        // and subscribe once the pipeline is complete, in one step, so that nothing published
        // in between is missed or sent out of order.
        context.eventLoop.assumeIsolated().execute { [self] in
            guard subscribed else { return }
            feed.subscribe(self)
            if let since {
                let backlog = feed.items(after: since > feed.lastId ? 0 : since)
                if !backlog.isEmpty { feed(feed, published: backlog) }
            }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .closed = unwrapInboundIn(data) { leave() }
    }

    func channelInactive(context: ChannelHandlerContext) {
        leave()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        leave()
        self.context = nil
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A protocol error: the connection has queued its close frame and closes by itself.
    }

    func feed(_ feed: Feed, published items: ArraySlice<FeedItem>) {
        guard let context, subscribed else { return }
        for item in items {
            context.write(wrapOutboundOut(.text(item.json)), promise: nil)
        }
        context.flush()
    }

    private func leave() {
        guard subscribed else { return }
        subscribed = false
        feed.counters.webSockets -= 1
        feed.unsubscribe(self)
    }
}
