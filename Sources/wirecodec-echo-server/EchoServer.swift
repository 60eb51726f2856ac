import NIOCore
import NIOPosix
import WireCodec
import WireCodecNIO

/// How the echo server's connections are put together.
enum EchoServer {
    struct Options: Sendable {
        /// Accept permessage-deflate offers (every parameter honoured).
        var deflate = true
        /// Where to write each WebSocket connection's bytes, if anywhere.
        var captureDirectory: String?
    }

    static func bootstrap(group: any EventLoopGroup, options: Options) -> ServerBootstrap {
        ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        HTTP1Handler(role: .server),
                        EchoHTTPResponder(),
                    ])
                }
            }
    }
}
