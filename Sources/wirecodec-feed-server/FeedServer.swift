import HTTPTypes
import NIOCore
import NIOPosix
import WireCodec
import WireCodecNIO

/// How the feed server's connections are put together: HTTP/1.1 on every connection
/// (``HTTP1Handler``), an Upgrade on `/ws` becomes a ``FeedWebSocketHandler``, and everything
/// else goes to the ``FeedHTTPResponder``.
enum FeedServer {
    static func bootstrap(group: any EventLoopGroup, feed: Feed) -> ServerBootstrap {
        var policy = WebSocketServerPolicy()
        if feed.options.deflate { policy.deflate = PerMessageDeflateServerPolicy() }
        var configuration = WebSocketConfiguration()
        let ping = Duration.nanoseconds(feed.options.webSocketPing.nanoseconds)
        configuration.keepAlive = WebSocketKeepAlive(interval: ping, timeout: ping)
        return ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 4096)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [policy, configuration] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        HTTP1Handler(role: .server),
                        WebSocketServerUpgrader(
                            policy: policy, configuration: configuration,
                            decide: { handshake in
                                let target = FeedTarget(handshake.request.path ?? "")
                                guard target.path == "/ws" else { return .reject(.notFound) }
                                if case .failure(let error) = target.decimal("since") {
                                    // The handshake answer has no body: the reason goes in the status line.
                                    return .reject(HTTPResponse.Status(code: 400, reasonPhrase: "Bad Request: " + error.reason))
                                }
                                return .accept()
                            },
                            makeHandlers: { handshake, _ in
                                let since = handshake.request.path.flatMap { FeedTarget($0).integer("since") }
                                return [FeedWebSocketHandler(feed: feed, since: since)]
                            }),
                        FeedHTTPResponder(feed: feed),
                    ])
                }
            }
    }
}
