import Logging
import NIOCore
import WireCore
import WireHTTP1
import NIOHTTP2
import NIOHTTPTypesHTTP2
import WireWebSocket

extension WireServer {
    /// HTTP/2 for a ``WireServer`` whose TLS offers `h2` by ALPN (RFC 9113 §3.2): its SETTINGS,
    /// windows and buffers. Every bound here is per connection or per stream.
    ///
    /// The connection's SETTINGS carry `SETTINGS_ENABLE_CONNECT_PROTOCOL = 1` (RFC 8441 §3)
    /// only when the server has a WebSocket handler: a server that would refuse every
    /// extended CONNECT does not advertise it.
    public struct HTTP2Configuration: Sendable, Hashable {
        /// `SETTINGS_MAX_CONCURRENT_STREAMS`: requests and WebSockets open at once on one
        /// connection. Default 256 (RFC 9113 §6.5.2 recommends no fewer than 100; a page with
        /// its polls, event streams and a hundred WebSockets fits).
        public var maxConcurrentStreams: Int
        /// `SETTINGS_INITIAL_WINDOW_SIZE`, kept open as the application reads: the bytes a
        /// client may send on a stream the application is not reading (its inbound buffer
        /// bound). Default 256 KiB.
        public var streamWindowSize: Int
        /// The connection's receive window, kept open as frames arrive. Default 1 MiB.
        public var connectionWindowSize: Int
        /// `SETTINGS_MAX_HEADER_LIST_SIZE` (decoded field bytes of one header block; a larger
        /// one is refused). Default 64 KiB.
        public var maxHeaderListSize: Int
        /// Bytes a stream may queue for sending before its writes wait (its outbound buffer
        /// bound: the application's writes suspend until the client's window lets them go).
        /// Default 64 KiB.
        public var streamOutboundBufferSize: Int

        public init(
            maxConcurrentStreams: Int = 256, streamWindowSize: Int = 256 << 10, connectionWindowSize: Int = 1 << 20,
            maxHeaderListSize: Int = 64 << 10, streamOutboundBufferSize: Int = 64 << 10
        ) {
            self.maxConcurrentStreams = maxConcurrentStreams
            self.streamWindowSize = streamWindowSize
            self.connectionWindowSize = connectionWindowSize
            self.maxHeaderListSize = maxHeaderListSize
            self.streamOutboundBufferSize = streamOutboundBufferSize
        }

        /// NIO's handler configuration for these settings.
        func handlerConfiguration(acceptsWebSockets: Bool) -> NIOHTTP2Handler.Configuration {
            var configuration = NIOHTTP2Handler.Configuration()
            var settings: HTTP2Settings = [
                HTTP2Setting(parameter: .maxConcurrentStreams, value: maxConcurrentStreams),
                HTTP2Setting(parameter: .initialWindowSize, value: streamWindowSize),
                HTTP2Setting(parameter: .maxHeaderListSize, value: maxHeaderListSize),
            ]
            if acceptsWebSockets { settings.append(HTTP2Setting(parameter: .enableConnectProtocol, value: 1)) }
            configuration.connection.initialSettings = settings
            configuration.connection.targetWindowSize = connectionWindowSize
            configuration.stream.targetWindowSize = streamWindowSize
            configuration.stream.outboundBufferSizeHighWatermark = streamOutboundBufferSize
            configuration.stream.outboundBufferSizeLowWatermark = streamOutboundBufferSize / 2
            return configuration
        }
    }

    /// The HTTP/2 pipeline of a connection whose ALPN chose `h2`: ``TLSRecordCoalescer``,
    /// NIO's HTTP/2 handler, its connection manager (graceful shutdown by GOAWAY on
    /// `ChannelShouldQuiesceEvent`; idle connections closed after ``HTTP1Timeouts/idle``), and
    /// per stream the HTTPTypes codec and ``HTTP2StreamBridge`` under an `NIOAsyncChannel`.
    static func configureHTTP2(
        _ channel: any Channel, configuration: Configuration, acceptsWebSockets: Bool
    ) throws -> HTTP2AcceptedConnection {
        let manager = NIOHTTP2ServerConnectionManagementHandler.Configuration(
            maxIdleTime: configuration.timeouts.idle.map(TimeAmount.init), maxAge: nil,
            maxGraceTime: TimeAmount(configuration.shutdownGracePeriod), keepalive: nil)
        // Between TLS and HTTP/2: a DATA frame's header and payload in one TLS record.
        try channel.pipeline.syncOperations.addHandler(TLSRecordCoalescer())
        let multiplexer = try channel.pipeline.syncOperations.configureAsyncHTTP2Pipeline(
            mode: .server, connectionManagerConfiguration: manager,
            http2HandlerConfiguration: configuration.http2.handlerConfiguration(acceptsWebSockets: acceptsWebSockets)
        ) { stream in
            stream.eventLoop.makeCompletedFuture {
                let failure = ServerConnectionFailure()
                let progress = HTTP2StreamProgress()
                let pipeline = stream.pipeline.syncOperations
                try pipeline.addHandler(HTTP2FramePayloadToHTTPServerCodec())
                try pipeline.addHandler(HTTP2StreamBridge(failure: failure, progress: progress))
                let asyncChannel = try NIOAsyncChannel<ServerConnectionEvent, ServerConnectionOutbound>(
                    wrappingChannelSynchronously: stream)
                return HTTP2AcceptedStream(channel: asyncChannel, failure: failure, progress: progress)
            }
        }
        return HTTP2AcceptedConnection(channel: channel, multiplexer: multiplexer)
    }

    /// Serves an HTTP/2 connection: each stream in a task of its own, until the connection
    /// closes. The connection and each stream are reached by a graceful shutdown (GOAWAY;
    /// WebSockets closed with 1001; event streams ended).
    func serveHTTP2(_ accepted: HTTP2AcceptedConnection) async {
        let context = ServerConnectionContext(channel: accepted.channel, taskExecutor: nil)
        let id = track(context)
        let remoteAddress = accepted.channel.remoteAddress
        await withDiscardingTaskGroup { group in
            do {
                for try await stream in accepted.multiplexer.inbound {
                    group.addTask(executorPreference: self.taskExecutor(for: accepted.channel.eventLoop)) {
                        await self.serveHTTP2Stream(stream, remoteAddress: remoteAddress)
                    }
                }
            } catch {
                logger.debug("HTTP/2 connection ended", metadata: ["error": "\(error)"])
            }
        }
        untrack(id)
        try? await accepted.channel.close()
    }

    private func serveHTTP2Stream(_ stream: HTTP2AcceptedStream, remoteAddress: SocketAddress?) async {
        let channel = stream.channel.channel
        let context = ServerConnectionContext(channel: channel, taskExecutor: taskExecutor(for: channel.eventLoop))
        let id = track(context)
        channel.closeFuture.whenComplete { _ in context.cancelActivity() }
        do {
            try await stream.channel.executeThenClose { inbound, outbound in
                let server = HTTP2StreamServer(
                    server: self, context: context, outbound: ServerConnectionWriter(outbound),
                    reader: ServerConnectionReader(inbound.makeAsyncIterator()), failure: stream.failure,
                    progress: stream.progress, remoteAddress: remoteAddress)
                try await server.run()
            }
        } catch {
            logger.debug("HTTP/2 stream ended", metadata: ["error": "\(error)"])
        }
        untrack(id)
    }
}

/// A connection whose ALPN chose `h2`: its channel and its streams.
struct HTTP2AcceptedConnection: Sendable {
    let channel: any Channel
    let multiplexer: NIOHTTP2Handler.AsyncStreamMultiplexer<HTTP2AcceptedStream>
}

/// One stream opened by the client.
struct HTTP2AcceptedStream: Sendable {
    let channel: NIOAsyncChannel<ServerConnectionEvent, ServerConnectionOutbound>
    let failure: ServerConnectionFailure
    let progress: HTTP2StreamProgress
}
