public import NIOCore
public import WireWebSocket

/// Adapts a ``WebSocketConnection`` (sans I/O) to a SwiftNIO channel, for either role.
///
/// Bytes read from the channel go into the connection; each ``WebSocketEvent`` it returns goes
/// to the next handler. ``WebSocketOutboundEvent``s written to this handler go into the
/// connection, and the bytes it produces (including automatic pongs and close answers) go to
/// the channel. The transport decisions are the connection's:
///
/// - Timers: after each batch the handler passes the event loop's clock to
///   ``WebSocketConnection/tick(now:)`` and schedules a task for the deadline it returns
///   (keep-alive pings, closing and handshake timeouts).
/// - Closing: the channel is closed when ``WebSocketConnection/transport`` says
///   ``WebSocketTransportDirective/closeNow``, after the last bytes were written; a client
///   waiting for the server to close keeps reading.
/// - Backpressure: `read()` is forwarded only while the channel is writable (an echoing peer
///   cannot make us queue without bound); each read is consumed whole before the next.
/// - Pongs: the automatic pong of each ping is written as soon as the ping is delivered, so
///   every ping is answered, in order with the messages around it.
/// - Errors: a ``WebSocketProtocolError`` goes through `errorCaught` once; its close frame is
///   already queued and the connection's ``WebSocketEvent/closed(_:)`` follows.
///
/// - Graceful shutdown: on `ChannelShouldQuiesceEvent` an open connection sends a close
///   frame with 1001 (going away) and finishes the closing handshake.
///
/// Messages are delivered whole (``WebSocketConfiguration/Delivery/wholeMessages``).
///
/// Two ways in: after an HTTP/1.1 upgrade (``WebSocketServerUpgrader``,
/// ``WebSocketClientUpgrader``), with the connection made open and the bytes that followed
/// the handshake as `leftover`; or as the first handler, with a connection that drives its
/// own opening handshake (``WebSocketConnection/init(client:configuration:)``), whose request
/// is written when the channel becomes active.
public final class WebSocketHandler: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = WebSocketEvent
    public typealias OutboundIn = WebSocketOutboundEvent
    public typealias OutboundOut = ByteBuffer

    private var connection: WebSocketConnection
    private var leftover: [UInt8]
    /// The transport is an HTTP/2 stream (RFC 8441): close by ``WebSocketConnection/streamDirective``.
    private let overStream: Bool
    private var readPending = false
    private var closing = false
    private var lastWrite: EventLoopFuture<Void>?
    private var timer: Scheduled<Void>?
    private var timerDeadline: UInt64 = .max
    /// Bytes were written since the last flush.
    private var unflushed = false
    /// Inside `channelRead`: events fired now reach the next handlers' `channelReadComplete`.
    private var inRead = false

    /// - Parameters:
    ///   - connection: the sans-I/O connection, open or driving its own handshake.
    ///   - leftover: bytes received after the opening handshake's head (from
    ///     ``HTTP1Handler/ProtocolSwitched``), parsed as soon as the handler is added.
    ///   - overStream: the channel is an HTTP/2 stream (below a ``WebSocketStreamAdapter``),
    ///     not TCP: the closing handshake ends with `close(mode: .output)` (END_STREAM) for
    ///     either role, a failure with `close()` (RST_STREAM), as
    ///     ``WebSocketConnection/streamDirective`` says (RFC 8441 §5).
    public init(connection: consuming WebSocketConnection, leftover: [UInt8] = [], overStream: Bool = false) {
        precondition(connection.configuration.delivery == .wholeMessages, "WebSocketHandler delivers whole messages")
        self.connection = connection
        self.leftover = leftover
        self.overStream = overStream
    }

    // MARK: Lifecycle

    public func handlerAdded(context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        if !leftover.isEmpty {
            let bytes = leftover
            leftover = []
            connection.receive(bytes.span)
        }
        process(context: context)
    }

    public func channelActive(context: ChannelHandlerContext) {
        context.fireChannelActive()
        process(context: context)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        connection.receiveEOF()
        deliverEvents(context: context)
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    // MARK: Inbound

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        connection.receive(buffer.readableBytesUInt8Span)
        inRead = true
        process(context: context)
        inRead = false
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent, case .open = connection.state {
            // Graceful shutdown (RFC 6455 §7.4.1: 1001, the endpoint is going away).
            try? connection.send(.close(.goingAway, reason: ""))
            process(context: context)
        }
        if case .inputClosed? = event as? ChannelEvent { inputClosed(context: context) }
        context.fireUserInboundEventTriggered(event)
    }

    /// Delivers the events the buffered bytes hold, writes what the connection queued, runs
    /// the timers, and closes the transport when told to.
    private func process(context: ChannelHandlerContext) {
        deliverEvents(context: context)
        _ = connection.tick(now: Self.now(context.eventLoop))
        // A tick may queue a ping or close the connection (its `.closed` event is pending).
        deliverEvents(context: context)
        writeOutbound(context: context, promise: nil)
        if unflushed {
            unflushed = false
            context.flush()
        }
        schedule(context: context)
        closeIfDone(context: context)
        readIfPossible(context: context)
    }

    private func deliverEvents(context: ChannelHandlerContext) {
        var delivered = false
        defer {
            // Events fired outside a read (the leftover of the handshake, a timer's close)
            // need their own read-complete: NIOAsyncChannel hands its buffer over only then.
            if delivered && !inRead { context.fireChannelReadComplete() }
        }
        while true {
            do {
                guard let event = try connection.nextEvent() else { return }
                delivered = true
                context.fireChannelRead(wrapInboundOut(event))
                if case .ping = event {
                    // Take the pong now: it goes out before anything sent after it, and every
                    // ping gets its own (the connection keeps only the latest pending pong,
                    // as RFC 6455 §5.5.3 allows, when several arrive between two takes).
                    writeOutbound(context: context, promise: nil)
                }
            } catch {
                // The close frame for the error is queued; `.closed` comes next.
                context.fireErrorCaught(error)
            }
        }
    }

    // MARK: Outbound

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        do {
            try connection.send(unwrapOutboundIn(data))
        } catch {
            promise?.fail(error)
            return
        }
        if !writeOutbound(context: context, promise: promise) { promise?.succeed(()) }
        closeIfDone(context: context)
    }

    /// Writes what the connection has queued, if anything (without flushing).
    @discardableResult
    private func writeOutbound(context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) -> Bool {
        guard connection.outboundByteCount > 0 else { return false }
        let allocator = context.channel.allocator
        let buffer = connection.withOutbound { bytes in
            var buffer = allocator.buffer(capacity: bytes.count)
            buffer.writeBytes(bytes.bytes)
            return buffer
        }
        let future = context.write(wrapOutboundOut(buffer))
        if let promise { future.cascade(to: promise) }
        lastWrite = future
        unflushed = true
        return true
    }

    // MARK: Timers

    /// The connection's clock: the event loop's (monotonic uptime; virtual time on an
    /// `EmbeddedEventLoop`), in nanoseconds.
    static func now(_ loop: any EventLoop) -> WebSocketInstant {
        WebSocketInstant(nanoseconds: loop.now.uptimeNanoseconds)
    }

    private func schedule(context: ChannelHandlerContext) {
        let deadline = connection.nextDeadline?.nanoseconds ?? .max
        guard deadline != timerDeadline else { return }
        timer?.cancel()
        timer = nil
        timerDeadline = deadline
        guard deadline != .max else { return }
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: .uptimeNanoseconds(deadline)) { [self] in
            timer = nil
            timerDeadline = .max
            process(context: context)
        }
    }

    public func flush(context: ChannelHandlerContext) {
        unflushed = false
        context.flush()
    }

    // MARK: Backpressure and closing

    public func read(context: ChannelHandlerContext) {
        if context.channel.isWritable && !closing {
            context.read()
        } else {
            readPending = true
        }
    }

    public func channelWritabilityChanged(context: ChannelHandlerContext) {
        readIfPossible(context: context)
        context.fireChannelWritabilityChanged()
    }

    private func readIfPossible(context: ChannelHandlerContext) {
        guard readPending, context.channel.isWritable, !closing else { return }
        readPending = false
        context.read()
    }

    /// Closes the transport when the connection says so: TCP by ``WebSocketConnection/transport``,
    /// an HTTP/2 stream by ``WebSocketConnection/streamDirective``.
    private func closeIfDone(context: ChannelHandlerContext) {
        if overStream {
            switch connection.streamDirective {
            case .keepOpen: break
            case .endStream: close(context: context, mode: .output)
            case .resetStream: close(context: context, mode: .all)
            }
        } else if connection.transport == .closeNow {
            close(context: context, mode: .all)
        }
    }

    private func close(context: ChannelHandlerContext, mode: CloseMode) {
        guard !closing else { return }
        closing = true
        context.flush()
        let channel = context.channel
        if let lastWrite {
            lastWrite.whenComplete { _ in channel.close(mode: mode, promise: nil) }
        } else {
            context.close(mode: mode, promise: nil)
        }
    }

    /// The peer closed its side (TCP half-close, an HTTP/2 stream's END_STREAM): the
    /// connection's end of stream.
    private func inputClosed(context: ChannelHandlerContext) {
        connection.receiveEOF()
        process(context: context)
    }
}
