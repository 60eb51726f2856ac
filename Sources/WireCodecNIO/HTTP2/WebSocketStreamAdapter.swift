public import NIOCore
public import NIOHTTP2

/// Carries a WebSocket's bytes on an HTTP/2 stream channel (RFC 8441 §5), below a
/// ``WebSocketHandler`` made with `overStream: true`: the stream's DATA become the byte
/// stream TCP would carry, and the stream's two ends stand for TCP's close.
///
/// - Inbound: DATA payloads are passed on as `ByteBuffer`s; the peer's `END_STREAM` (on DATA or
///   trailers) is `ChannelEvent.inputClosed`, as a half-closed TCP connection reports it.
///   Its `RST_STREAM` closes the stream channel (`channelInactive`).
/// - Outbound: `ByteBuffer`s become DATA frames. `close(mode: .output)` — what the handler
///   asks after the closing handshake — sends `END_STREAM` (an empty DATA frame carrying it)
///   instead of closing; the stream channel closes once the peer's `END_STREAM` has arrived
///   too. If it has not within `endStreamTimeout`, the stream is reset. A close of the channel
///   after our `END_STREAM` waits for the stream to end the same way (bounded by the same
///   timeout); any other close resets the stream with `CANCEL` (what NIO's stream channel does
///   for a stream still open).
/// - Flow control and backpressure are the stream channel's: WINDOW_UPDATEs go out as data is
///   read (so a handler that stops reading stops the peer, stream by stream), and the channel
///   is writable only while the stream's window and buffer allow.
public final class WebSocketStreamAdapter: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = HTTP2Frame.FramePayload
    public typealias InboundOut = ByteBuffer
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = HTTP2Frame.FramePayload

    private let endStreamTimeout: TimeAmount
    private var sentEndStream = false
    private var receivedEndStream = false
    private var resetTimer: Scheduled<Void>?
    /// The reset timer fired: the close it makes resets the stream.
    private var resetting = false

    /// - Parameter endStreamTimeout: how long to wait for the peer's `END_STREAM` after ours
    ///   before resetting the stream (default 10 s, the WebSocket closing timeout's default).
    public init(endStreamTimeout: TimeAmount = .seconds(10)) {
        self.endStreamTimeout = endStreamTimeout
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .data(let frame):
            if case .byteBuffer(let buffer) = frame.data, buffer.readableBytes > 0 {
                context.fireChannelRead(wrapInboundOut(buffer))
            }
            if frame.endStream { peerEnded(context: context) }
        case .headers(let headers):
            // Trailers: nothing for the WebSocket, but they may end the stream.
            if headers.endStream { peerEnded(context: context) }
        default:
            break
        }
    }

    private func peerEnded(context: ChannelHandlerContext) {
        guard !receivedEndStream else { return }
        receivedEndStream = true
        context.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard !sentEndStream else {
            promise?.fail(ChannelError.outputClosed)
            return
        }
        let frame = HTTP2Frame.FramePayload.Data(data: .byteBuffer(unwrapOutboundIn(data)))
        context.write(wrapOutboundOut(.data(frame)), promise: promise)
    }

    public func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        guard mode == .output else {
            if mode == .all && sentEndStream && !resetting {
                // Our END_STREAM is out (the closing handshake is over on our side): the stream
                // ends when the peer's has arrived too and the stream channel closes, as a TCP
                // close after our FIN; the reset timer bounds the wait. Resetting it now would
                // cancel a stream that is ending cleanly (an application that closes its channel
                // once it saw `.closed`, before NIO has closed the stream).
                if resetTimer == nil { scheduleReset(context: context) }
                if let promise { context.channel.closeFuture.cascade(to: promise) }
                return
            }
            resetTimer?.cancel()
            resetTimer = nil
            context.close(mode: mode, promise: promise)
            return
        }
        guard !sentEndStream else {
            promise?.succeed(())
            return
        }
        sentEndStream = true
        let end = HTTP2Frame.FramePayload.Data(data: .byteBuffer(context.channel.allocator.buffer(capacity: 0)), endStream: true)
        context.writeAndFlush(wrapOutboundOut(.data(end)), promise: promise)
        guard !receivedEndStream else { return }
        scheduleReset(context: context)
    }

    /// Resets the stream if it has not closed within `endStreamTimeout`.
    private func scheduleReset(context: ChannelHandlerContext) {
        let channel = context.channel
        let adapter = NIOLoopBound(self, eventLoop: context.eventLoop)
        resetTimer = context.eventLoop.scheduleTask(in: endStreamTimeout) {
            adapter.value.resetting = true
            channel.close(promise: nil)
        }
    }

    public func channelInactive(context: ChannelHandlerContext) {
        resetTimer?.cancel()
        resetTimer = nil
        context.fireChannelInactive()
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        resetTimer?.cancel()
        resetTimer = nil
    }
}
