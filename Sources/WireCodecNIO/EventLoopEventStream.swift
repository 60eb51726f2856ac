public import HTTPTypes
public import NIOCore
import Synchronization
import WireHTTP1
import WireSSE

/// A Server-Sent Events stream served from its connection's event loop: no task waits on it.
///
/// ``HTTPResponseWriter/startEventStreamOnEventLoop(headerFields:maxBytesBehind:heartbeat:onClose:)``
/// gives one. It is the lightweight counterpart of ``ServerSentEventWriter`` for streams that
/// mostly wait (a feed's subscribers): once the request handler has returned, the connection
/// holds no suspended task and no async frames, only its channel, the response's state and
/// the callback; the events reach it from the application (or a
/// ``ServerSentEventBroadcastGroup``) as writes on its event loop.
///
/// Sending: from any thread, with the non-waiting ``send(data:event:id:)``,
/// ``send(serialized:)``, ``send(_:)``, ``comment(_:)``, ``retry(milliseconds:)`` and
/// ``finish()``; each write goes out at once, in order. A stream cannot drop events without a
/// gap, so the bound on a slow reader is its connection: once more than `maxBytesBehind` bytes
/// have been written while the connection was not writable, the stream is closed (its
/// `EventSource` reconnects with `Last-Event-ID`, WHATWG HTML §9.2.4), as the broadcast group
/// does.
///
/// Order with a ``ServerSentEventBroadcastGroup``: from another thread, a call is queued on the
/// stream's event loop behind the group's calls made before it, so it reaches the client after
/// them. On the event loop itself (in a callback, or in a handler's task, which runs on the
/// connection's loop unless ``WireServer/Configuration/runsTasksOnEventLoop`` is off) it runs at
/// once, as a channel's write does: before a broadcast (or an add's backlog) made just before,
/// whose task the loop has not run yet. To write (or ``finish()``) after those, call from
/// `eventLoop.execute { }`, which the loop runs after them
/// (EventLoopResponseTests/aSendOnTheLoopGoesOutBeforeABroadcastStillQueued).
///
/// It is `Hashable` by stream: two values for the same response are equal.
public struct EventLoopEventStream: Sendable, Hashable {
    let core: EventLoopStreamCore

    /// The event loop the stream is written on (where `onClose` is called).
    public var eventLoop: any EventLoop { core.eventLoop }

    /// Sends one event: its data (line breaks become `data:` lines), type and id. The future
    /// fails with `SSEUsageError` for an id or type with a line break, with
    /// ``HTTPServerError`` once the stream has ended.
    @discardableResult
    public func send(data: String, event: String? = nil, id: String? = nil) -> EventLoopFuture<Void> {
        var bytes: [UInt8] = []
        do {
            try SSESerializer.writeEvent(data: data, type: event, id: id, into: &bytes)
        } catch {
            return eventLoop.makeFailedFuture(error)
        }
        return submit(HTTPPreparedBody(bytes: bytes))
    }

    /// Sends bytes already serialized as events.
    @discardableResult
    public func send(serialized: ByteBuffer) -> EventLoopFuture<Void> {
        submit(HTTPPreparedBody(serialized))
    }

    /// Sends events serialized once for every stream (their buffer is shared, not copied).
    @discardableResult
    public func send(_ events: HTTPPreparedBody) -> EventLoopFuture<Void> {
        submit(events)
    }

    /// A comment line (`:` alone when empty): a heartbeat that dispatches nothing.
    @discardableResult
    public func comment(_ text: String = "") -> EventLoopFuture<Void> {
        var bytes: [UInt8] = []
        do {
            try SSESerializer.writeComment(text, into: &bytes)
        } catch {
            return eventLoop.makeFailedFuture(error)
        }
        return submit(HTTPPreparedBody(bytes: bytes))
    }

    /// Sets the client's reconnection delay.
    @discardableResult
    public func retry(milliseconds: UInt64) -> EventLoopFuture<Void> {
        var bytes: [UInt8] = []
        SSESerializer.writeRetry(milliseconds: milliseconds, into: &bytes)
        return submit(HTTPPreparedBody(bytes: bytes))
    }

    /// Ends the stream (the client's `EventSource` then reconnects); `onClose` is called with
    /// ``EventLoopEventStreamEnd/finished``. Once the handler has returned, the connection
    /// closes after the stream's end is written (an event stream served from the event loop is
    /// its connection's last response). The future succeeds once the end is written.
    @discardableResult
    public func finish() -> EventLoopFuture<Void> {
        let core = self.core
        if eventLoop.inEventLoop { return core.finish(.finished) }
        return eventLoop.flatSubmit { core.finish(.finished) }
    }

    private func submit(_ body: HTTPPreparedBody) -> EventLoopFuture<Void> {
        let core = self.core
        if eventLoop.inEventLoop { return core.write(body) }
        return eventLoop.flatSubmit { core.write(body) }
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.core === rhs.core }

    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(core)) }
}

/// How an ``EventLoopEventStream`` ended.
public enum EventLoopEventStreamEnd: Sendable, Hashable, CustomStringConvertible {
    /// The application finished it (``EventLoopEventStream/finish()``).
    case finished
    /// The connection closed: the client went away, a transport error, the end of a shutdown's
    /// grace period.
    case connectionClosed
    /// A graceful shutdown of the server ended it (cleanly: the chunked body finished), so that
    /// the client reconnects elsewhere.
    case shutdown
    /// It fell more than its bound behind (bytes written while the connection was not
    /// writable) and was closed.
    case slowConsumer

    public var description: String {
        switch self {
        case .finished: "finished"
        case .connectionClosed: "connection-closed"
        case .shutdown: "shutdown"
        case .slowConsumer: "slow-consumer"
        }
    }
}

extension HTTPResponseWriter {
    /// Starts a Server-Sent Events stream served from the connection's event loop: the head is
    /// sent as by ``startEventStream(headerFields:)`` (`200`, `Content-Type: text/event-stream`,
    /// `Cache-Control: no-store`, your fields), and the returned stream is written without a
    /// task. Return from the handler after this (join a ``ServerSentEventBroadcastGroup``, send
    /// the backlog): over HTTP/1.1 the connection's task then ends and the connection is the
    /// stream's until it ends (about 25 KB less memory per idle stream than a handler that
    /// waits); over HTTP/2 the stream's task waits for it.
    ///
    /// The stream ends when the application finishes it, when its connection closes, when a
    /// graceful shutdown begins (at once, cleanly: the chunked body is finished and the
    /// connection closed, so that clients reconnect elsewhere), or when it falls more than
    /// `maxBytesBehind` behind. Then `onClose` is called once, on the event loop. The server
    /// tracks the connection until it closes: ``WireServer/run()`` returns after it.
    ///
    /// - Parameters:
    ///   - headerFields: fields for the head.
    ///   - maxBytesBehind: bytes written while the connection was not writable before the
    ///     stream is closed as a slow consumer. Default 256 KiB.
    ///   - heartbeat: when set, a comment line (`:`) is written after each interval in which
    ///     nothing else was, so that proxies (nginx's `proxy_read_timeout`, 60 s) keep an idle
    ///     stream open. Default `nil` (the application sends its own, a broadcast group's say).
    ///   - onClose: called once on the event loop when the stream has ended, with how.
    public func startEventStreamOnEventLoop(
        headerFields: HTTPFields = [:], maxBytesBehind: Int = 256 * 1024, heartbeat: Duration? = nil,
        onClose: @escaping @Sendable (EventLoopEventStream, EventLoopEventStreamEnd) -> Void = { _, _ in }
    ) async throws -> EventLoopEventStream {
        precondition(maxBytesBehind >= 1)
        precondition(heartbeat.map { $0 > .zero } ?? true, "a positive heartbeat interval")
        var fields = headerFields
        fields[.contentType] = "text/event-stream"
        if fields[.cacheControl] == nil { fields[.cacheControl] = "no-store" }
        try await state.start(HTTPResponse(status: .ok, headerFields: fields), eventStream: true)
        let core = EventLoopStreamCore(state: state, maxBytesBehind: maxBytesBehind, onClose: onClose)
        let quiescing = state.serveOnEventLoop(core)
        // After the head (written through the same event loop, in order).
        try await core.eventLoop.submit { core.start(heartbeat: heartbeat) }.get()
        if quiescing { core.quiesce() }
        return EventLoopEventStream(core: core)
    }
}

/// A response the event loop completes without the handler's task: an event stream
/// (``EventLoopStreamCore``) or a held long poll (``HTTPHeldResponses/holdOnEventLoop(_:timeout:onEnd:answer:)``).
protocol EventLoopServedResponse: AnyObject, Sendable {
    /// Succeeds (on the event loop) when the response is over: written to its end, or its
    /// connection closed.
    var done: EventLoopFuture<Void> { get }
    /// An event stream (the connection closes when it ends), not a held response (once it is
    /// done, the connection serves its next request).
    var isEventStream: Bool { get }
    /// A graceful shutdown reached the connection: end (a stream) or answer (a held poll) now.
    func quiesce()
}

/// The state of an ``EventLoopEventStream``; its variable fields are touched on its event loop
/// only.
final class EventLoopStreamCore: EventLoopServedResponse, @unchecked Sendable {
    let state: ResponseState
    let eventLoop: any EventLoop
    private let channel: any Channel
    private let member: HTTPStreamMember
    private let maxBytesBehind: Int
    private let ended: EventLoopPromise<Void>
    private var onClose: (@Sendable (EventLoopEventStream, EventLoopEventStreamEnd) -> Void)?
    private var heartbeatTask: RepeatedTask?
    /// The connection's task has ended: the connection closes with the stream.
    private var detached = false
    private var over = false

    init(
        state: ResponseState, maxBytesBehind: Int,
        onClose: @escaping @Sendable (EventLoopEventStream, EventLoopEventStreamEnd) -> Void
    ) {
        self.state = state
        self.channel = state.connectionChannel
        self.eventLoop = channel.eventLoop
        self.member = state.streamMember()
        self.maxBytesBehind = maxBytesBehind
        self.onClose = onClose
        self.ended = channel.eventLoop.makePromise(of: Void.self)
    }

    var done: EventLoopFuture<Void> { ended.futureResult }
    var isEventStream: Bool { true }

    private static let heartbeatComment = HTTPPreparedBody(":\n\n")

    /// On the event loop, after the head: binds the stream, watches its connection, starts the
    /// heartbeat.
    func start(heartbeat: Duration?) {
        guard member.bind(), channel.isActive else {
            end(.connectionClosed)
            return
        }
        channel.closeFuture.whenComplete { [self] _ in
            end(member.closedAsSlowConsumer ? .slowConsumer : .connectionClosed)
        }
        if let heartbeat {
            let interval = TimeAmount.nanoseconds(heartbeat.nanosecondsClamped)
            heartbeatTask = eventLoop.scheduleRepeatedTask(
                initialDelay: interval, delay: interval
            ) { [self] _ in
                guard !over else { return }
                if !member.takeWroteSinceCheck() { _ = write(Self.heartbeatComment) }
            }
        }
    }

    /// On the event loop.
    func write(_ body: HTTPPreparedBody) -> EventLoopFuture<Void> {
        guard !over else { return eventLoop.makeFailedFuture(HTTPServerError(.responseFinished)) }
        if state.isHEADRequest || body.count == 0 { return eventLoop.makeSucceededVoidFuture() }
        switch member.write(body, maxBytesBehind: maxBytesBehind, flush: true) {
        case .written:
            return eventLoop.makeSucceededVoidFuture()
        case .closedSlowConsumer:
            end(.slowConsumer)
            return eventLoop.makeFailedFuture(HTTPServerError(.connectionClosed))
        case .ended:
            end(.connectionClosed)
            return eventLoop.makeFailedFuture(HTTPServerError(.connectionClosed))
        }
    }

    /// On the event loop: ends the stream, writing its end when it ends cleanly.
    func finish(_ how: EventLoopEventStreamEnd) -> EventLoopFuture<Void> {
        guard !over else { return eventLoop.makeFailedFuture(HTTPServerError(.responseFinished)) }
        guard channel.isActive, let context = ServerBridge.context(of: channel) else {
            end(.connectionClosed)
            return eventLoop.makeFailedFuture(HTTPServerError(.connectionClosed))
        }
        let written = eventLoop.makePromise(of: Void.self)
        end(how, endWritten: written.futureResult)
        ServerBridge.write(.http(.end(trailers: nil)), context: context, promise: written)
        context.flush()
        if detached {
            let channel = self.channel
            written.futureResult.whenComplete { _ in channel.close(promise: nil) }
        }
        return written.futureResult
    }

    /// On the event loop: the stream is over (once); `onClose` is told.
    private func end(_ how: EventLoopEventStreamEnd, endWritten: EventLoopFuture<Void>? = nil) {
        guard !over else { return }
        over = true
        heartbeatTask?.cancel()
        heartbeatTask = nil
        member.end()
        state.markFinished()
        if let endWritten {
            endWritten.whenComplete { [ended] _ in ended.succeed(()) }
        } else {
            ended.succeed(())
        }
        let onClose = self.onClose
        self.onClose = nil
        onClose?(EventLoopEventStream(core: self), how)
    }

    func quiesce() {
        eventLoop.execute { [self] in _ = finish(.shutdown) }
    }

    /// On the event loop, when the handler has returned: whether the connection's task may
    /// end (HTTP/1.1, the stream still open); the connection then closes with the stream. The
    /// close that the end of the task makes is kept from the channel.
    func detachIfOpen() -> Bool {
        guard !over, let context = ServerBridge.context(of: channel),
            let bridge = context.handler as? HTTPPhaseBridge, let detachable = bridge.detachable,
            DetachedCloseFilter.install(for: detachable)
        else { return false }
        detached = true
        return true
    }
}

/// At the end of a pipeline whose connection's task has ended while its channel lives on (an
/// event stream served from the event loop): the one close that the end of the task makes
/// (`executeThenClose`) passes as done.
final class DetachedCloseFilter: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = Any
    private let detachable: DetachableChannel

    init(detachable: DetachableChannel) {
        self.detachable = detachable
    }

    /// On the event loop: lets the connection's channel outlive its `NIOAsyncChannel`'s scope
    /// (the close at the scope's end passes as done), adding the filter unless the channel has
    /// one already (a connection taken up again after a held poll); false if the channel is
    /// closed already.
    static func install(for detachable: DetachableChannel) -> Bool {
        let channel = detachable.base
        guard channel.isActive else { return false }
        let pipeline = channel.pipeline.syncOperations
        if (try? pipeline.handler(type: DetachedCloseFilter.self)) == nil {
            guard (try? pipeline.addHandler(DetachedCloseFilter(detachable: detachable))) != nil else { return false }
        }
        // The connection now waits (a stream between events, a held poll): what HTTP/1.1
        // keeps for the next message is freed until it comes.
        (try? pipeline.handler(type: HTTP1Handler.self))?.releaseIdleBuffers()
        return true
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if detachable.takeDetachedClose() {
            promise?.succeed(())
            return
        }
        context.close(mode: mode, promise: promise)
    }
}

extension ServerSentEventBroadcastGroup {
    /// Adds an event stream served from its event loop, after writing it `first` (its backlog),
    /// in order with the group's broadcasts. It leaves when it ends.
    public func add(_ stream: EventLoopEventStream, sendingFirst first: [HTTPPreparedBody] = []) {
        add(stream.core.state, first)
    }

    /// Removes an event stream served from its event loop (broadcasts made after this call do
    /// not reach it).
    public func remove(_ stream: EventLoopEventStream) {
        remove(stream.core.state)
    }
}
