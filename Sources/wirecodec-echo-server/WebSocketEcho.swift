import NIOCore
import WireCodec

/// Echoes every message: text as text, binary as binary. Pings are answered by the
/// connection itself, and so is the peer's close.
final class WebSocketEchoHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketEvent
    typealias OutboundOut = WebSocketOutboundEvent

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .text(let text):
            context.writeAndFlush(wrapOutboundOut(.text(text)), promise: nil)
        case .binary(let bytes):
            context.writeAndFlush(wrapOutboundOut(.binary(bytes)), promise: nil)
        default:
            break
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A protocol error: the connection has queued its close frame and closes by itself.
    }
}
