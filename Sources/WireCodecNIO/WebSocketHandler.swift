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
///   already queued and the connection's ``WebSocketEvent/closed(_:)`` follows. The messages
///   that arrived before the bad frame are delivered first, and the failure takes effect only
///   after the next handlers' `channelRead` calls for them returned, so a handler that answers
///   a message there answers it before the close frame goes out (Autobahn's strict
///   behaviour). Behind `WireServer`'s async API, where the application takes the messages
///   later from its own task, the failure is held until the application asks for the next
///   message after them, reading stops meanwhile, and the wait is bounded by the closing
///   timeout (``WebSocketConfiguration/closingTimeout``, 10 s by default): then the close
///   frame goes out and the connection closes even if the application never reads.
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
    /// The last write has no future (shared frames of a prepared message, written without a
    /// promise): a close first writes an empty buffer and waits for that one.
    private var lastWriteUnobserved = false
    private var timer: Scheduled<Void>?
    private var timerDeadline: UInt64 = .max
    /// Bytes were written since the last flush.
    private var unflushed = false
    /// Inside `channelRead`: events fired now reach the next handlers' `channelReadComplete`.
    private var inRead = false
    /// Data messages held while the channel is not writable.
    private var sendQueue: WebSocketSendQueue
    /// Senders waiting for room in the queue (``WebSocketSlowConsumerPolicy/waitForRoom``);
    /// rare, so made small (16 slots held about 670 bytes per idle connection).
    private var roomWaiters = CircularBuffer<(item: WebSocketSendQueue.Item, promise: EventLoopPromise<WebSocketSendResult>)>(
        initialCapacity: 1)
    /// The application queued its close behind data: nothing more may be sent.
    private var closeQueued = false
    /// Our context while we are in a pipeline (for sends that come from outside it).
    private var context: ChannelHandlerContext?
    /// Our channel while we are in a pipeline (a broadcast asks every member whether it is
    /// writable: one hop fewer than through the context's pipeline).
    private var channel: (any Channel)?
    /// Broadcast groups this connection belongs to (left when it closes).
    var memberships: [EventLoopShards<WebSocketHandler>.Shard] = []
    /// The next handlers hand the events to an application that takes them later (the
    /// server's async API): a protocol error is held (``WebSocketConnection/heldFailure``)
    /// until ``releaseHeldFailure()``, announced by ``FailureHeld`` after the events before it.
    var holdsFailureForConsumer = false
    /// The held failure was released (or the transport is gone): act on it.
    private var failureReleased = false
    /// Ends the wait for the consumer (the closing timeout after the failure was held).
    private var failureTimer: Scheduled<Void>?

    /// Fired as a user inbound event after the messages that came before a held protocol
    /// error: the consumer calls `release` (or ``releaseHeldFailure()`` on the event loop)
    /// once it has taken them.
    struct FailureHeld: Sendable {
        /// Acts on the failure, from any task (it hops to the event loop).
        let release: @Sendable () -> Void
    }

    /// - Parameters:
    ///   - connection: the sans-I/O connection, open or driving its own handshake.
    ///   - leftover: bytes received after the opening handshake's head (from
    ///     ``HTTP1Handler/ProtocolSwitched``), parsed as soon as the handler is added.
    ///   - overStream: the channel is an HTTP/2 stream (below a ``WebSocketStreamAdapter``),
    ///     not TCP: the closing handshake ends with `close(mode: .output)` (END_STREAM) for
    ///     either role, a failure with `close()` (RST_STREAM), as
    ///     ``WebSocketConnection/streamDirective`` says (RFC 8441 §5).
    ///   - sendQueue: the bound on data messages held for a slow reader, and what happens
    ///     when it is reached.
    public init(
        connection: consuming WebSocketConnection, leftover: [UInt8] = [], overStream: Bool = false,
        sendQueue: WebSocketSendQueueConfiguration = .init()
    ) {
        precondition(connection.configuration.delivery == .wholeMessages, "WebSocketHandler delivers whole messages")
        self.connection = connection
        self.leftover = leftover
        self.overStream = overStream
        self.sendQueue = WebSocketSendQueue(configuration: sendQueue)
    }

    /// What the send queue holds and has done so far.
    public var sendQueueStatistics: WebSocketSendQueueStatistics { sendQueue.statistics }

    // MARK: Lifecycle

    public func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        self.channel = context.channel
        guard context.channel.isActive else { return }
        if !leftover.isEmpty {
            let bytes = leftover
            leftover = []
            connection.receive(bytes.span)
        }
        process(context: context)
    }

    /// Bytes that followed the opening handshake, given after the handler was added (once the
    /// application has the WebSocket): parsed as if they had just been read.
    func receiveLeftover(_ bytes: [UInt8]) {
        guard let context, !bytes.isEmpty, context.channel.isActive else { return }
        connection.receive(bytes.span)
        process(context: context)
    }

    public func channelActive(context: ChannelHandlerContext) {
        context.fireChannelActive()
        process(context: context)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        connection.receiveEOF()
        // Nobody is left to answer: a held failure takes effect now.
        failureReleased = true
        failureTimer?.cancel()
        failureTimer = nil
        deliverEvents(context: context)
        timer?.cancel()
        timer = nil
        discardQueueIfClosed()
        leaveShards()
        context.fireChannelInactive()
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        failureTimer?.cancel()
        failureTimer = nil
        leaveShards()
        self.context = nil
        self.channel = nil
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
            // Graceful shutdown (RFC 6455 §7.4.1: 1001, the endpoint is going away): what
            // waits in the send queue is dropped.
            discardQueue(closedWith: nil)
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
        discardQueueIfClosed()
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
                let next = holdsFailureForConsumer && !failureReleased
                    ? connection.nextEventHoldingFailure() : try connection.nextEvent()
                guard let event = next else {
                    if connection.heldFailure != nil { announceHeldFailure(context: context) }
                    return
                }
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

    /// A protocol error is held behind the messages already delivered: the consumer hears of
    /// it after them; the closing timeout bounds its wait.
    private func announceHeldFailure(context: ChannelHandlerContext) {
        guard failureTimer == nil else { return }
        let timeout = connection.configuration.closingTimeout
        failureTimer = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(timeout)) { [self] in
            failureTimer = nil
            releaseHeldFailure()
        }
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        let loop = context.eventLoop
        context.fireUserInboundEventTriggered(FailureHeld(release: {
            loop.execute { handler.value.releaseHeldFailure() }
        }))
    }

    /// The consumer took the messages before a held protocol error (or its time is up): the
    /// failure takes effect (the close frame goes out after what was sent meanwhile).
    func releaseHeldFailure() {
        guard !failureReleased else { return }
        failureReleased = true
        failureTimer?.cancel()
        failureTimer = nil
        if let context { process(context: context) }
    }

    // MARK: Outbound

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let event = unwrapOutboundIn(data)
        if !sendQueue.isEmpty, let item = Self.queueItem(event) {
            // Behind queued data: in order (the writer above this handler is the backpressure).
            do {
                try checkCanQueue(event)
            } catch {
                promise?.fail(error)
                return
            }
            if case .close = event { closeQueued = true }
            sendQueue.append(item)
            promise?.succeed(())
            return
        }
        do {
            try connection.send(event)
        } catch {
            promise?.fail(error)
            return
        }
        if !writeOutbound(context: context, promise: promise) { promise?.succeed(()) }
        closeIfDone(context: context)
    }

    // MARK: The send queue

    /// How an application's send went, on the event loop.
    enum Submission {
        case done(WebSocketSendResult)
        /// The queue is full and the sender waits for room (``WebSocketSlowConsumerPolicy/waitForRoom``).
        case waiting(EventLoopFuture<WebSocketSendResult>)
    }

    /// An application's send, from outside the pipeline (``WebSocketOutbound``, a broadcast):
    /// to the connection at once when nothing waits and the channel is writable; otherwise
    /// into the send queue under its policy. Control frames go at once, except a close that
    /// follows queued data. Flushes when `flush`.
    ///
    /// - Parameter canWait: the sender can wait for room (an application's task; a
    ///   broadcast cannot).
    /// - Throws: the codec's ``WebSocketUsageError`` for a send the connection refuses (after
    ///   our close, once closed, an oversized control payload).
    func submit(_ item: WebSocketSendQueue.Item, canWait: Bool, flush: Bool = true) throws(WebSocketUsageError) -> Submission {
        guard let context else { throw WebSocketUsageError(.connectionClosed) }
        defer { if flush { flushIfNeeded(context: context) } }
        if closeQueued { throw WebSocketUsageError(.closeAlreadySent) }
        switch item {
        case .ordered(let event) where !Self.isData(event):
            if case .close = event, !sendQueue.isEmpty {
                try checkCanQueue(event)
                closeQueued = true
                sendQueue.append(item)
                return .done(.queued(dropped: 0))
            }
            try sendNow(item, context: context)
            return .done(.sent)
        default:
            break
        }
        if sendQueue.isEmpty && roomWaiters.isEmpty && context.channel.isWritable {
            try sendNow(item, context: context)
            return .done(.sent)
        }
        try checkCanQueue(nil)
        if !roomWaiters.isEmpty && canWait && item.isDroppable {
            // Others wait already: in line behind them.
            return .waiting(wait(item, context: context))
        }
        switch sendQueue.admit(item, canWait: canWait) {
        case .queued(let dropped):
            return .done(.queued(dropped: dropped))
        case .wait:
            return .waiting(wait(item, context: context))
        case .close(let code):
            closeForSlowness(code, context: context)
            return .done(.closedSlowConsumer(code))
        }
    }

    private func wait(_ item: WebSocketSendQueue.Item, context: ChannelHandlerContext) -> EventLoopFuture<WebSocketSendResult> {
        let promise = context.eventLoop.makePromise(of: WebSocketSendResult.self)
        roomWaiters.append((item, promise))
        return promise.futureResult
    }

    /// Sends one held or fresh item through the connection.
    private func sendNow(_ item: WebSocketSendQueue.Item, context: ChannelHandlerContext) throws(WebSocketUsageError) {
        switch item {
        case .message(let event), .ordered(let event):
            try connection.send(event)
        case .prepared(let message):
            if let frameClass = try connection.send(message) {
                // The connection's own bytes first, then the frames every connection of this
                // class shares: one buffer, written as is.
                writeOutbound(context: context, promise: nil)
                writeShared(message.transportForm(for: frameClass) { ByteBuffer(bytes: $0) }, context: context)
                closeIfDone(context: context)
                return
            }
        }
        writeOutbound(context: context, promise: nil)
        closeIfDone(context: context)
    }

    /// Writes frames shared with other connections, without a promise (a broadcast writes to
    /// every member: no future is made and dropped per member).
    private func writeShared(_ frames: ByteBuffer, context: ChannelHandlerContext) {
        context.write(wrapOutboundOut(frames), promise: nil)
        lastWriteUnobserved = true
        unflushed = true
    }

    /// A broadcast's message for this member, with its frames taken from `frames` (made once
    /// per class for the members of one event loop): what ``submitBroadcast(_:flush:)`` does,
    /// without looking the frames up in the message for every member. Never waits; the
    /// policy applies when full. Does not flush.
    func submitBroadcast(_ frames: inout WebSocketBroadcastFrames) -> WebSocketSendResult {
        guard let context, let channel, !closeQueued else { return .notOpen }
        guard sendQueue.isEmpty && roomWaiters.isEmpty && channel.isWritable else {
            return submitBroadcast(frames.message, flush: false)
        }
        do {
            guard let frameClass = try connection.send(frames.message) else {
                // Encoded by the connection itself (context takeover).
                writeOutbound(context: context, promise: nil)
                closeIfDone(context: context)
                return .sent
            }
            writeOutbound(context: context, promise: nil)
            writeShared(frames.buffer(for: frameClass, allocator: channel.allocator), context: context)
            closeIfDone(context: context)
            return .sent
        } catch {
            return .notOpen
        }
    }

    /// The refusal the connection would give to a send now (state only).
    private func checkCanQueue(_ event: WebSocketOutboundEvent?) throws(WebSocketUsageError) {
        switch connection.state {
        case .open: break
        case .connecting: throw WebSocketUsageError(.notOpen)
        case .closing: throw WebSocketUsageError(.closeAlreadySent)
        case .closed: throw WebSocketUsageError(.connectionClosed)
        }
        if closeQueued { throw WebSocketUsageError(.closeAlreadySent) }
        if case .close(_, let reason)? = event, reason.utf8.count > 123 { throw WebSocketUsageError(.closeReasonTooLong) }
    }

    /// Sends what the queue holds while the channel is writable, then lets waiting senders in.
    private func drainQueue(context: ChannelHandlerContext) {
        while context.channel.isWritable, let item = sendQueue.popFirst() {
            do {
                try sendNow(item, context: context)
            } catch {
                // The connection closed meanwhile: nothing more can go.
                discardQueue(closedWith: nil)
                return
            }
        }
        while let waiter = roomWaiters.first, sendQueue.hasRoom(for: waiter.item.size) {
            roomWaiters.removeFirst()
            if sendQueue.isEmpty && context.channel.isWritable {
                do {
                    try sendNow(waiter.item, context: context)
                    waiter.promise.succeed(.sent)
                } catch {
                    waiter.promise.fail(error)
                }
            } else {
                sendQueue.append(waiter.item)
                waiter.promise.succeed(.queued(dropped: 0))
            }
        }
        flushIfNeeded(context: context)
    }

    /// The consumer fell behind and the policy closes: the queue is dropped and our close
    /// goes out now (the closing handshake, or the closing timeout, ends the connection).
    private func closeForSlowness(_ code: WebSocketCloseCode, context: ChannelHandlerContext) {
        sendQueue.removeAll(closedWith: code)
        closeQueued = false
        failWaiters(with: .closedSlowConsumer(code))
        try? connection.close(code: code, reason: "")
        process(context: context)
    }

    /// Drops what waits (the connection is closing or gone).
    private func discardQueue(closedWith code: WebSocketCloseCode?) {
        guard !sendQueue.isEmpty || !roomWaiters.isEmpty else { return }
        sendQueue.removeAll(closedWith: code)
        failWaiters(with: .notOpen)
    }

    private func discardQueueIfClosed() {
        if case .open = connection.state { return }
        if closeQueued, case .closing = connection.state { return }
        discardQueue(closedWith: nil)
    }

    private func failWaiters(with result: WebSocketSendResult) {
        while let waiter = roomWaiters.popFirst() { waiter.promise.succeed(result) }
    }

    /// The connection's state (for broadcasts).
    var connectionState: WebSocketConnectionState { connection.state }

    /// Flushes what a broadcast's backlog wrote.
    func flushBroadcast() {
        if let context { flushIfNeeded(context: context) }
    }

    private func flushIfNeeded(context: ChannelHandlerContext) {
        if unflushed {
            unflushed = false
            context.flush()
        }
    }

    /// The queue item for an event written through the pipeline.
    private static func queueItem(_ event: WebSocketOutboundEvent) -> WebSocketSendQueue.Item? {
        switch event {
        case .text, .binary: .message(event)
        case .fragment, .close: .ordered(event)
        case .ping, .pong: nil
        }
    }

    private static func isData(_ event: WebSocketOutboundEvent) -> Bool {
        switch event {
        case .text, .binary, .fragment: true
        case .ping, .pong, .close: false
        }
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
        lastWriteUnobserved = false
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
        if context.channel.isWritable && !closing && connection.heldFailure == nil {
            context.read()
        } else {
            readPending = true
        }
    }

    public func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { drainQueue(context: context) }
        readIfPossible(context: context)
        context.fireChannelWritabilityChanged()
    }

    private func readIfPossible(context: ChannelHandlerContext) {
        guard readPending, context.channel.isWritable, !closing, connection.heldFailure == nil else { return }
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
        if lastWriteUnobserved {
            // Writes complete in order: this empty one completes after the last real one.
            lastWriteUnobserved = false
            let barrier = context.eventLoop.makePromise(of: Void.self)
            context.write(wrapOutboundOut(context.channel.allocator.buffer(capacity: 0)), promise: barrier)
            lastWrite = barrier.futureResult
        }
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
