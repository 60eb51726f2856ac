public import NIOCore
public import WireHTTP1

/// Opens a `CONNECT` tunnel through an HTTP proxy on a fresh client channel, with an
/// ``HTTP1ProxyTunnel`` (sans I/O): writes the request when the channel is active, reads the
/// proxy's answer, and on a 2xx calls `established` (which adds the handlers for the tunnelled
/// protocol after this one: TLS, WebSocket, ...), removes itself and passes on the bytes that
/// followed the answer. A refusal or a malformed answer fires the ``HTTPProxyError`` through
/// `errorCaught` and closes the channel.
public final class ClientProxyTunnelHandler: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    private var tunnel: HTTP1ProxyTunnel
    private let established: (ChannelHandlerContext) throws -> Void
    private var requestSent = false
    private var done = false

    /// - Parameter established: adds the next handlers, at `.after(context.handler)`.
    public init(tunnel: HTTP1ProxyTunnel, established: @escaping (ChannelHandlerContext) throws -> Void) {
        self.tunnel = tunnel
        self.established = established
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { sendRequest(context: context) }
    }

    public func channelActive(context: ChannelHandlerContext) {
        sendRequest(context: context)
        context.fireChannelActive()
    }

    private func sendRequest(context: ChannelHandlerContext) {
        guard !requestSent else { return }
        requestSent = true
        let bytes = tunnel.takeOutbound()
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes)), promise: nil)
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !done else {
            context.fireChannelRead(data)
            return
        }
        let buffer = unwrapInboundIn(data)
        tunnel.receive(buffer.readableBytesUInt8Span)
        advance(context: context)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        if !done {
            tunnel.receiveEOF()
            advance(context: context)
        }
        context.fireChannelInactive()
    }

    private func advance(context: ChannelHandlerContext) {
        do {
            guard let tunnelled = try tunnel.nextEvent() else { return }
            done = true
            try established(context)
            let leftover = tunnelled.leftover
            if !leftover.isEmpty {
                context.fireChannelRead(wrapInboundOut(context.channel.allocator.buffer(bytes: leftover)))
                context.fireChannelReadComplete()
            }
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        } catch {
            done = true
            context.fireErrorCaught(error)
            context.close(promise: nil)
        }
    }
}
