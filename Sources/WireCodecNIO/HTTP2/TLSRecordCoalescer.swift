public import NIOCore

/// Joins the small writes of one flush into one buffer before they reach TLS, so that an
/// HTTP/2 frame goes out as one TLS record instead of two.
///
/// swift-nio-http2 writes a DATA frame as two buffers (its 9-byte header, then the payload)
/// and swift-nio-ssl encrypts every write as a record of its own, so each DATA frame cost a
/// second record: 22 more bytes with TLS 1.3 and AES-GCM (5 of header, 16 of tag, 1 of type)
/// and one more encryption. A WebSocket message of 100 bytes echoed over HTTP/2 took 155
/// bytes down instead of 133 (Spec/realtime/http2.md). Between the TLS handler and the HTTP/2
/// handler, this handler copies consecutive buffers smaller than `limit` into one buffer of
/// at most `limit` bytes (a TLS record carries at most 16 KiB); larger buffers, file regions
/// and anything after them go through unchanged and in order. Nothing is held past a flush.
///
/// `WireServer` and ``HTTP2ClientConnection`` put it in their HTTP/2 pipelines; add it between
/// your own TLS handler and `NIOHTTP2Handler` for the same effect.
public final class TLSRecordCoalescer: ChannelOutboundHandler, RemovableChannelHandler {
    public typealias OutboundIn = IOData
    public typealias OutboundOut = IOData

    /// The largest buffer built here: TLS's maximum record payload (RFC 8446 §5.1).
    public static let defaultLimit = 16 << 10

    private let limit: Int
    private var pending: ByteBuffer?
    private var pendingPromise: EventLoopPromise<Void>?

    /// - Parameter limit: the largest buffer built by joining writes (at least 1).
    public init(limit: Int = TLSRecordCoalescer.defaultLimit) {
        self.limit = max(1, limit)
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .byteBuffer(let buffer) = unwrapOutboundIn(data), buffer.readableBytes < limit else {
            writePending(context: context)
            context.write(data, promise: promise)
            return
        }
        if let pending, pending.readableBytes + buffer.readableBytes > limit {
            writePending(context: context)
        }
        if pending == nil {
            pending = context.channel.allocator.buffer(capacity: min(limit, max(buffer.readableBytes, 256)))
        }
        pending!.writeImmutableBuffer(buffer)
        if let promise {
            if let pendingPromise {
                pendingPromise.futureResult.cascade(to: promise)
            } else {
                pendingPromise = promise
            }
        }
    }

    public func flush(context: ChannelHandlerContext) {
        writePending(context: context)
        context.flush()
    }

    public func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        writePending(context: context)
        context.close(mode: mode, promise: promise)
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        writePending(context: context)
    }

    private func writePending(context: ChannelHandlerContext) {
        guard let buffer = pending else { return }
        let promise = pendingPromise
        pending = nil
        pendingPromise = nil
        context.write(wrapOutboundOut(.byteBuffer(buffer)), promise: promise)
    }
}

@available(*, unavailable)
extension TLSRecordCoalescer: Sendable {}
