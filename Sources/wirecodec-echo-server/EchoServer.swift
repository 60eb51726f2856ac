import NIOCore
import NIOPosix
import Synchronization
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
        let connections = ManagedAtomicCounter()
        var policy = WebSocketServerPolicy()
        if options.deflate { policy.deflate = PerMessageDeflateServerPolicy() }
        return ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [policy] channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let directory = options.captureDirectory {
                        try pipeline.addHandler(CaptureTap(directory: directory, connection: connections.next()))
                    }
                    try pipeline.addHandlers([
                        HTTP1Handler(role: .server),
                        // Upgrade requests on any path become WebSocket echo connections;
                        // everything else goes on to the HTTP responder.
                        WebSocketServerUpgrader(policy: policy) { _, _ in [WebSocketEchoHandler()] },
                        EchoHTTPResponder(),
                    ])
                }
            }
    }
}

/// Numbers the connections for `--capture` (accepted on one event loop, but the initializer
/// is `@Sendable`).
final class ManagedAtomicCounter: Sendable {
    private let value = Mutex(0)
    func next() -> Int {
        value.withLock {
            $0 += 1
            return $0
        }
    }
}
