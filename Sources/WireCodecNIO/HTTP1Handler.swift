import HTTPTypes
public import NIOCore
public import WireCore
public import WireHTTP1

/// Adapts an ``HTTP1Connection`` (sans I/O) to a SwiftNIO channel, for either role.
///
/// Bytes read from the channel go into the connection; the events it parses go to the next
/// handler as ``HTTP1Event``s. ``HTTP1OutboundEvent``s written to this handler go into the
/// connection, and the bytes it produces go to the channel. That is all: framing, keep-alive,
/// pipelining, 100-continue and the protocol switch are the codec's.
///
/// - Keep-alive: when both sides are `done`, the next cycle starts by itself.
/// - Pipelining and backpressure: the handler forwards `read()` only while the connection can
///   parse more (not while it waits for our answer to a complete request, or for a switch
///   decision) and while the channel is writable, so a pipelining client or a slow reader
///   cannot make us buffer without bound.
/// - Closing: when neither side will send again (`mustClose`/`closed`), the channel is closed
///   once the last write completed.
/// - Malformed input: a server answers with the error's `statusHint` and closes; either role
///   then fires the ``HTTP1ParseError`` through `errorCaught`.
/// - Timeouts (server): after each batch the handler passes the event loop's clock to
///   ``HTTP1Connection/tick(now:)`` and schedules a task for the deadline it returns (the
///   ``HTTP1Timeouts``: request head, idle keep-alive, body progress). When one passes, the
///   408 the connection queued (if any) is written, the ``HTTP1Timeout`` goes through
///   `errorCaught`, and the channel closes. While the next handler holds reads back
///   (backpressure), the deadlines are paused: a client is only timed while we read.
/// - Graceful shutdown: on `ChannelShouldQuiesceEvent` (NIO's quiescing event) an idle
///   connection closes at once; one with a request in progress closes after its response,
///   which says `Connection: close`.
/// - Protocol switch (a `101` sent or received, or a 2xx to CONNECT): the handler stops
///   parsing and fires ``ProtocolSwitched`` with the bytes that came after the last HTTP/1.1
///   message; the handler that receives it replaces this one (``WebSocketServerUpgrader``,
///   ``WebSocketClientUpgrader``).
public final class HTTP1Handler: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = HTTP1Event
    public typealias OutboundIn = HTTP1OutboundEvent
    public typealias OutboundOut = ByteBuffer

    /// Fired (as a user inbound event) once HTTP/1.1 is over on this channel: the bytes that
    /// followed the last message belong to the new protocol.
    public struct ProtocolSwitched: Sendable, Hashable {
        public var leftover: [UInt8]
    }

    /// Writes body bytes prepared once for many messages (``HTTPPreparedBody``), sent with
    /// `triggerUserOutboundEvent`: the connection accounts for them and the shared buffer of
    /// the form it needs (plain or one chunk) goes to the channel as it is.
    public struct WritePreparedBody: Sendable {
        public var body: HTTPPreparedBody
        public init(_ body: HTTPPreparedBody) { self.body = body }
    }

    private var connection: HTTP1Connection
    /// A `read()` we held back; forwarded when the connection can take more.
    private var readPending = false
    /// A `read()` went to the transport and no bytes answered it yet: the client is timed.
    private var reading = false
    /// Inside `channelRead`: events fired now reach the next handlers' `channelReadComplete`.
    private var inRead = false
    /// The scheduled tick, and when it fires. It may fire before the connection's deadline
    /// (which moves with every request): it then ticks and schedules the next one, so that
    /// a keep-alive connection does not cancel and schedule a task per request.
    private var timer: Scheduled<Void>?
    private var timerDeadline: UInt64 = .max
    private var switchFired = false
    private var failed = false
    private var closing = false
    /// The last write's future, so that a close waits for it.
    private var lastWrite: EventLoopFuture<Void>?
    /// The promises of the events whose bytes the connection holds until the next flush
    /// (chained: the first one completes the others).
    private var heldPromise: EventLoopPromise<Void>?

    /// - Parameters:
    ///   - configuration: the parser's limits and leniencies.
    ///   - timeouts: the server's receive deadlines (``HTTP1Timeouts``: request head 30 s,
    ///     idle 60 s, body progress 60 s by default); a client has none.
    public init(role: Role, configuration: HTTP1ParserConfiguration = .init(), timeouts: HTTP1Timeouts = .init()) {
        connection = HTTP1Connection(role: role, configuration: configuration, timeouts: timeouts)
    }

    /// The sans-I/O connection's view of both peers (for tests and diagnostics).
    public var ourState: HTTP1PeerState { connection.ourState }
    public var theirState: HTTP1PeerState { connection.theirState }

    // MARK: Lifecycle

    public func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { runTimers(context: context) }
    }

    public func channelActive(context: ChannelHandlerContext) {
        context.fireChannelActive()
        runTimers(context: context)
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimer()
        writeOutbound(context: context)
        // Whoever follows us reads now.
        if readPending {
            readPending = false
            context.read()
        }
    }

    // MARK: Inbound

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        // This read is answered; until the next `read()` the client is not timed.
        reading = false
        connection.receivePaused()
        connection.receive(buffer.readableBytesUInt8Span)
        inRead = true
        deliverEvents(context: context)
        inRead = false
    }

    public func channelInactive(context: ChannelHandlerContext) {
        connection.receiveEOF()
        deliverEvents(context: context)
        cancelTimer()
        // Bytes still held cannot go out: their promises fail, as writes to a closed channel do.
        connection.drainOutbound { _ in }
        heldPromise?.fail(ChannelError.ioOnClosedChannel)
        heldPromise = nil
        context.fireChannelInactive()
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent, connection.role == .server, !switchFired {
            // Graceful shutdown: no new request on this connection.
            if connection.isIdle {
                close(context: context)
            } else {
                connection.disableKeepAlive()
                closeIfFinished(context: context)
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// Parses and forwards every event the buffered bytes hold, then starts the next cycle,
    /// switches protocols or closes as the states say.
    private func deliverEvents(context: ChannelHandlerContext) {
        var delivered = false
        defer {
            // Events fired outside a read (a pipelined request released by our answer) need
            // their own read-complete: NIOAsyncChannel hands its buffer over only then.
            if delivered && !inRead { context.fireChannelReadComplete() }
        }
        while !switchFired && !failed && !timedOut {
            let event: HTTP1Event?
            do {
                event = try connection.nextEvent()
            } catch {
                fail(context: context, error)
                return
            }
            if let event {
                delivered = true
                context.fireChannelRead(wrapInboundOut(event))
                continue
            }
            // Nothing more to parse now. Both done: start the next cycle and look again (a
            // pipelined request may wait in the buffer).
            if connection.ourState == .done && connection.theirState == .done {
                do {
                    try connection.startNextCycle()
                } catch {
                    preconditionFailure("both peers are done: \(error)")
                }
                continue
            }
            break
        }
        if connection.role == .client && connection.theirState == .switchedProtocol {
            fireProtocolSwitched(context: context)
            return
        }
        closeIfFinished(context: context)
        readIfPossible(context: context)
        runTimers(context: context)
    }

    /// A parse error: the server answers with the error's status and closes; both roles report it.
    private func fail(context: ChannelHandlerContext, _ error: HTTP1ParseError) {
        failed = true
        if connection.role == .server && (connection.ourState == .idle || connection.ourState == .sendResponse) {
            var fields = HTTPFields()
            fields[.connection] = "close"
            fields[.contentLength] = "0"
            let status = Self.status(error.statusHint)
            if (try? connection.send(.response(HTTPResponse(status: status, headerFields: fields)))) != nil {
                try? connection.send(.end(trailers: nil))
            }
            writeOutbound(context: context)
            context.flush()
        }
        context.fireErrorCaught(error)
        close(context: context)
    }

    /// The status for a parse error's hint, with its reason phrase.
    static func status(_ code: Int) -> HTTPResponse.Status {
        switch code {
        case 413: .contentTooLarge
        case 414: .uriTooLong
        case 431: .requestHeaderFieldsTooLarge
        case 501: .notImplemented
        case 505: HTTPResponse.Status(code: 505, reasonPhrase: "HTTP Version Not Supported")
        default: .badRequest
        }
    }

    // MARK: Outbound

    /// The event's bytes stay in the connection until the next flush, so that a response
    /// written as head, body and end reaches the channel as one buffer in one write.
    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let event = unwrapOutboundIn(data)
        do {
            try connection.send(event)
        } catch {
            promise?.fail(error)
            return
        }
        hold(promise)
        if connection.ourState == .switchedProtocol {
            // The 101 goes to the channel now: this handler leaves before the next flush.
            writeOutbound(context: context)
            cancelTimer()
            // Server: the 101 is written. Hand over once this call has returned, so that the
            // handler that replaces us is not added from inside our own write.
            context.eventLoop.assumeIsolated().execute { [self] in
                fireProtocolSwitched(context: context)
            }
            return
        }
        if connection.ourState == .done && connection.theirState == .done {
            // The answer is complete: a pipelined request may be waiting.
            deliverEvents(context: context)
        } else {
            closeIfFinished(context: context)
            runTimers(context: context)
        }
    }

    public func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard let prepared = event as? WritePreparedBody else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        let form: HTTP1PreparedBodyForm
        do {
            form = try connection.sendPreparedBody(count: prepared.body.count)
        } catch {
            promise?.fail(error)
            return
        }
        // The connection's own bytes (a head not yet written) go first.
        writeOutbound(context: context)
        if let buffer = prepared.body.buffer(for: form) {
            let future = context.write(wrapOutboundOut(buffer))
            if let promise { future.cascade(to: promise) }
            lastWrite = future
        } else {
            promise?.succeed(())
        }
        closeIfFinished(context: context)
        runTimers(context: context)
    }

    public func flush(context: ChannelHandlerContext) {
        writeOutbound(context: context)
        context.flush()
    }

    /// Joins `promise` to the bytes the connection holds (it completes when they are
    /// written); with nothing held, there is nothing to wait for.
    private func hold(_ promise: EventLoopPromise<Void>?) {
        guard let promise else { return }
        if let held = heldPromise {
            held.futureResult.cascade(to: promise)
        } else if connection.outboundByteCount > 0 {
            heldPromise = promise
        } else {
            promise.succeed(())
        }
    }

    /// Writes the bytes the connection holds to the channel, as one buffer.
    private func writeOutbound(context: ChannelHandlerContext) {
        let count = connection.outboundByteCount
        guard count > 0 else {
            heldPromise?.succeed(())
            heldPromise = nil
            return
        }
        var buffer = context.channel.allocator.buffer(capacity: count)
        connection.drainOutbound { buffer.writeBytes($0) }
        let promise = heldPromise ?? context.eventLoop.makePromise(of: Void.self)
        heldPromise = nil
        context.write(wrapOutboundOut(buffer), promise: promise)
        lastWrite = promise.futureResult
    }

    /// Frees the buffers the connection keeps for the next message while nothing is buffered
    /// (``HTTP1Connection/releaseIdleBuffers()``): for a connection that stays quiet for long,
    /// an event stream or a held long poll served from the event loop.
    func releaseIdleBuffers() {
        connection.releaseIdleBuffers()
    }

    // MARK: Backpressure

    public func read(context: ChannelHandlerContext) {
        if canRead(context: context) {
            forwardRead(context: context)
        } else {
            readPending = true
        }
    }

    /// Asks the transport for bytes: from now on, silence is the client's.
    private func forwardRead(context: ChannelHandlerContext) {
        reading = true
        connection.receiveResumed()
        context.read()
        runTimers(context: context)
    }

    public func channelWritabilityChanged(context: ChannelHandlerContext) {
        readIfPossible(context: context)
        context.fireChannelWritabilityChanged()
    }

    private func canRead(context: ChannelHandlerContext) -> Bool {
        guard context.channel.isWritable, !closing else { return false }
        switch connection.theirState {
        case .idle, .sendResponse, .sendBody:
            return true
        case .done, .mustClose, .mightSwitchProtocol, .switchedProtocol, .closed, .error:
            // Their message is complete: anything more waits for our answer (or the switch).
            return false
        }
    }

    private func readIfPossible(context: ChannelHandlerContext) {
        guard readPending, canRead(context: context) else { return }
        readPending = false
        forwardRead(context: context)
    }

    // MARK: Timers

    private var timedOut: Bool { connection.timedOut != nil }

    /// Ticks the connection's deadlines with the event loop's clock and schedules the next
    /// tick; closes the channel when one passed.
    private func runTimers(context: ChannelHandlerContext) {
        guard !closing, !switchFired, connection.role == .server, context.channel.isActive else { return }
        if !reading { connection.receivePaused() }
        switch connection.tick(now: WireInstant(nanoseconds: context.eventLoop.now.uptimeNanoseconds)) {
        case .wait(let until):
            schedule(context: context, at: until?.nanoseconds ?? .max)
        case .close(let timeout):
            cancelTimer()
            writeOutbound(context: context)
            context.fireErrorCaught(timeout)
            close(context: context)
        }
    }

    /// Makes sure a tick runs by `deadline` (`.max`: none needed). A tick already scheduled
    /// for that instant or earlier stays: when it fires, `runTimers` schedules the next.
    private func schedule(context: ChannelHandlerContext, at deadline: UInt64) {
        guard deadline < timerDeadline else { return }
        cancelTimer()
        timerDeadline = deadline
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: .uptimeNanoseconds(deadline)) { [self] in
            timer = nil
            timerDeadline = .max
            runTimers(context: context)
        }
    }

    private func cancelTimer() {
        timer?.cancel()
        timer = nil
        timerDeadline = .max
    }

    // MARK: Switching and closing

    private func fireProtocolSwitched(context: ChannelHandlerContext) {
        guard !switchFired else { return }
        switchFired = true
        let leftover = connection.takeLeftover()
        context.fireUserInboundEventTriggered(ProtocolSwitched(leftover: leftover))
    }

    private func closeIfFinished(context: ChannelHandlerContext) {
        switch (connection.ourState, connection.theirState) {
        case (.mustClose, .mustClose), (.mustClose, .closed), (.mustClose, .error),
            (.closed, .mustClose), (.closed, .closed), (.closed, .error):
            close(context: context)
        default:
            break
        }
    }

    private func close(context: ChannelHandlerContext) {
        guard !closing else { return }
        closing = true
        cancelTimer()
        writeOutbound(context: context)
        context.flush()
        let channel = context.channel
        if let lastWrite {
            lastWrite.whenComplete { _ in channel.close(promise: nil) }
        } else {
            context.close(promise: nil)
        }
    }
}
