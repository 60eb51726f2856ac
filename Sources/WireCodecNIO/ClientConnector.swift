import NIOCore
import NIOPosix
import WireHTTP1

/// Opens client channels: TCP to the server (or to its proxy), the `CONNECT` tunnel
/// (``ClientProxyTunnelHandler``), TLS for secure URLs, then the protocol's handlers, and wraps
/// the channel (in an `NIOAsyncChannel`) on its event loop.
enum ClientConnector {
    /// - Parameters:
    ///   - protocolHandlers: the handlers of the protocol spoken to the origin (made on the
    ///     channel's event loop); they go after TLS, and are added only once a proxy tunnel
    ///     is open.
    ///   - wrap: wraps the channel (its handlers go last, after the protocol's).
    ///   - applicationProtocols: offered by ALPN to the origin (TLS only); empty: none.
    static func connect<Output: Sendable>(
        to url: WireURL, configuration: ClientConnectionConfiguration, group: any EventLoopGroup,
        applicationProtocols: [String] = [],
        protocolHandlers: @escaping @Sendable () throws -> [any ChannelHandler],
        wrap: @escaping @Sendable (any Channel) throws -> Output
    ) async throws -> Output {
        guard let port = url.effectivePort else { throw ClientConnectionError(.noPort, url.description) }
        let proxy = try configuration.proxy(for: url)
        let security = configuration.security
        if (url.isSecure || proxy?.kind == .https) && security == nil {
            throw ClientConnectionError(.tlsNotConfigured, url.isSecure ? url.description : "proxy \(proxy!)")
        }
        let tunnel = try proxy.map { proxy throws(HTTPProxyError) in try HTTP1ProxyTunnel(to: url, through: proxy) }
        let host = proxy?.host ?? url.host
        let connectPort = proxy?.port ?? port
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(.nanoseconds(Int64(clamping: configuration.connectTimeout.nanoseconds)))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
        return try await bootstrap.connect(host: host, port: connectPort) { channel in
            channel.eventLoop.makeCompletedFuture {
                let sync = channel.pipeline.syncOperations
                @Sendable func originHandlers() throws -> [any ChannelHandler] {
                    var handlers: [any ChannelHandler] = []
                    if url.isSecure, let security {
                        handlers += applicationProtocols.isEmpty
                            ? try security.makeClientHandlers(serverHostname: url.host)
                            : try security.makeClientHandlers(serverHostname: url.host, applicationProtocols: applicationProtocols)
                    }
                    return handlers + (try protocolHandlers())
                }
                if let proxy, let tunnel {
                    if proxy.kind == .https, let security {
                        try sync.addHandlers(security.makeClientHandlers(serverHostname: proxy.host))
                    }
                    try sync.addHandler(ClientProxyTunnelHandler(tunnel: tunnel) { context in
                        // One at a time, in order: a handler added to an active channel may write
                        // at once (a TLS ClientHello, an Upgrade request), and that must go
                        // through the handlers before it, which must be there already.
                        var previous: any ChannelHandler = context.handler
                        for handler in try originHandlers() {
                            try context.pipeline.syncOperations.addHandler(handler, position: .after(previous))
                            previous = handler
                        }
                    })
                } else {
                    try sync.addHandlers(originHandlers())
                }
                return try wrap(channel)
            }
        }
    }
}

extension Duration {
    /// Whole nanoseconds, saturating at the bounds of `Int64`.
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        let (sum, overflow2) = product.addingReportingOverflow(attoseconds / 1_000_000_000)
        return overflow2 ? .max : sum
    }
}
