public import HTTPTypes
public import NIOCore
public import WireWebSocket
import Synchronization

/// An open WebSocket served from its event loop: no task waits on it while it is idle.
///
/// ``WebSocketUpgradeDecision/acceptOnEventLoop(subprotocol:deflate:headerFields:configuration:sendQueue:onOpen:onMessage:onClose:)``
/// gives one to its callbacks. It is the lightweight counterpart of ``WebSocket`` for
/// connections that mostly wait (a feed's subscribers, a chat room's members): the connection
/// holds no suspended task and no async frames, only its channel, its codec state and the
/// callbacks, and its messages reach the application as calls on the event loop. Join it to a
/// ``WebSocketBroadcastGroup`` to send it what everyone gets.
///
/// Sending: from the event loop (in a callback) or from any thread, with the non-waiting
/// ``send(_:)-(WebSocketMessage)``, ``send(_:)-(WebSocketPreparedMessage)``, ``ping(_:)`` and
/// ``close(code:reason:)`` (they apply the send queue's policy at once: a full queue whose
/// policy is ``WebSocketSlowConsumerPolicy/waitForRoom`` closes the connection with 1013, as a
/// broadcast does); or from a task with ``outbound``, whose sends wait for room.
///
/// Order with a ``WebSocketBroadcastGroup``: from another thread, a send is queued on the
/// connection's event loop behind the group's calls made before it. On the event loop itself
/// (in a callback, or in a task of the connection, which runs on its loop unless
/// ``WireServer/Configuration/runsTasksOnEventLoop`` is off) it runs at once, as a channel's
/// write does: before a broadcast (or an add's backlog) made just before, whose task the loop
/// has not run yet. To send (or close) after those, call from `eventLoop.execute { }`, which the
/// loop runs after them.
///
/// It is `Hashable` by connection: two values for the same connection are equal.
public struct EventLoopWebSocket: Sendable, Hashable {
    let reference: WebSocketHandlerReference

    /// The subprotocol and permessage-deflate parameters agreed.
    public let negotiation: WebSocketNegotiation

    init(reference: WebSocketHandlerReference, negotiation: WebSocketNegotiation) {
        self.reference = reference
        self.negotiation = negotiation
    }

    /// The event loop the connection runs on (where the callbacks are called).
    public var eventLoop: any EventLoop { reference.eventLoop }

    /// Sends from a task, as a ``WebSocket``'s ``WebSocket/outbound`` does (a send waits for
    /// room under ``WebSocketSlowConsumerPolicy/waitForRoom``).
    public var outbound: WebSocketOutbound { WebSocketOutbound(target: .handler(reference)) }

    /// Sends a message now (or queues it, under the send queue's policy); never waits.
    /// The future fails with the codec's ``WebSocketUsageError`` for a send the connection
    /// refuses (after its close).
    @discardableResult
    public func send(_ message: WebSocketMessage) -> EventLoopFuture<WebSocketSendResult> {
        switch message {
        case .text(let text): submit(.message(.text(text)))
        case .binary(let buffer): submit(.message(.binary([UInt8](buffer.readableBytesView))))
        }
    }

    /// Sends a message prepared once for many connections; never waits.
    @discardableResult
    public func send(_ message: WebSocketPreparedMessage) -> EventLoopFuture<WebSocketSendResult> {
        submit(.prepared(message))
    }

    /// Sends a ping (at most 125 bytes); its pong is consumed by the connection.
    @discardableResult
    public func ping(_ payload: ByteBuffer = ByteBuffer()) -> EventLoopFuture<WebSocketSendResult> {
        submit(.ordered(.ping([UInt8](payload.readableBytesView))))
    }

    /// Starts the closing handshake (RFC 6455 §7.1.2) after the messages already queued;
    /// `onClose` is called when it is over (or the closing timeout has passed).
    @discardableResult
    public func close(code: WebSocketCloseCode = .normalClosure, reason: String = "") -> EventLoopFuture<WebSocketSendResult> {
        submit(.ordered(.close(code, reason: reason)))
    }

    /// What the send queue holds and has done.
    public func statistics() -> EventLoopFuture<WebSocketSendQueueStatistics> {
        let handler = reference.handler
        if eventLoop.inEventLoop { return eventLoop.makeSucceededFuture(handler.value.sendQueueStatistics) }
        return eventLoop.submit { handler.value.sendQueueStatistics }
    }

    private func submit(_ item: WebSocketSendQueue.Item) -> EventLoopFuture<WebSocketSendResult> {
        let handler = reference.handler
        if eventLoop.inEventLoop { return Self.submit(item, to: handler.value, on: eventLoop) }
        let loop = eventLoop
        return loop.flatSubmit { Self.submit(item, to: handler.value, on: loop) }
    }

    private static func submit(
        _ item: WebSocketSendQueue.Item, to handler: WebSocketHandler, on loop: any EventLoop
    ) -> EventLoopFuture<WebSocketSendResult> {
        do {
            switch try handler.submit(item, canWait: false) {
            case .done(let result): return loop.makeSucceededFuture(result)
            case .waiting: preconditionFailure("a send that cannot wait never waits")
            }
        } catch {
            return loop.makeFailedFuture(error)
        }
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.reference === rhs.reference }

    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(reference)) }
}

/// The callbacks of a WebSocket served from its event loop.
struct EventLoopWebSocketServing: Sendable {
    let onOpen: @Sendable (EventLoopWebSocket) -> Void
    let onMessage: @Sendable (EventLoopWebSocket, WebSocketMessage) -> Void
    let onClose: @Sendable (EventLoopWebSocket, WebSocketClosure) -> Void

    /// The same callbacks from a task, for a transport whose WebSocket runs as a task (an
    /// HTTP/2 stream): each is called on the connection's event loop, in order.
    func runOnTask(_ webSocket: WebSocket) async throws {
        guard let reference = webSocket.outbound.reference else {
            throw WebSocketUsageError(.notOpen)
        }
        let handle = EventLoopWebSocket(reference: reference, negotiation: webSocket.negotiation)
        let loop = reference.eventLoop
        let onMessage = self.onMessage
        let onClose = self.onClose
        loop.execute { [onOpen] in onOpen(handle) }
        defer {
            let closure = webSocket.closure ?? WebSocketClosure(cause: .endOfStream)
            loop.execute { onClose(handle, closure) }
        }
        for try await message in webSocket.inbound {
            loop.execute { onMessage(handle, message) }
        }
    }
}

extension WebSocketUpgradeDecision {
    /// Accepts, and serves the WebSocket from its event loop: no task waits on the connection
    /// (about 40 KB less memory per idle connection than ``accept(subprotocol:deflate:headerFields:configuration:sendQueue:handler:)``,
    /// whose handler task stays suspended while it waits for messages).
    ///
    /// The callbacks are called on the connection's event loop, in order, and must not block:
    /// - `onOpen` once, when the `101` is out and before any message (join a
    ///   ``WebSocketBroadcastGroup`` here, with the backlog as its first messages);
    /// - `onMessage` for each data message received (text is valid UTF-8);
    /// - `onClose` once, when the connection has closed (the closing handshake done, or the
    ///   transport gone), with how it closed.
    ///
    /// Everything else is the connection's business, as with `accept`: pings are answered,
    /// keep-alive pings sent and timed (``WebSocketConfiguration/keepAlive``), the closing
    /// handshake finished (bounded by ``WebSocketConfiguration/closingTimeout``, 10 s by
    /// default), a protocol error answered with its close code, a graceful shutdown of the
    /// server sends 1001 (and the connection is closed at the end of the grace period if the
    /// client has not answered), the send queue applies its bound and policy
    /// (``WebSocketSendQueueConfiguration``: 256 KiB, the sender waits, by default). Reading is
    /// paused while the channel is not writable. The server tracks the connection until it
    /// closes: ``WireServer/run()`` returns after it.
    ///
    /// Over HTTP/2 (RFC 8441) the stream's WebSocket runs as a task that calls the same
    /// callbacks on the stream's event loop.
    ///
    /// - Parameters: as for ``accept(subprotocol:deflate:headerFields:configuration:sendQueue:handler:)``.
    public static func acceptOnEventLoop(
        subprotocol: String? = nil, deflate: Deflate = .asConfigured, headerFields: HTTPFields = [:],
        configuration: WebSocketConfiguration? = nil, sendQueue: WebSocketSendQueueConfiguration? = nil,
        onOpen: @escaping @Sendable (EventLoopWebSocket) -> Void = { _ in },
        onMessage: @escaping @Sendable (EventLoopWebSocket, WebSocketMessage) -> Void = { _, _ in },
        onClose: @escaping @Sendable (EventLoopWebSocket, WebSocketClosure) -> Void = { _, _ in }
    ) -> Self {
        let serving = EventLoopWebSocketServing(onOpen: onOpen, onMessage: onMessage, onClose: onClose)
        var decision = accept(
            subprotocol: subprotocol, deflate: deflate, headerFields: headerFields, configuration: configuration,
            sendQueue: sendQueue, handler: { webSocket in try await serving.runOnTask(webSocket) })
        decision.eventLoopServing = serving
        return decision
    }
}

/// The WebSocket phase of a connection served from its event loop: after its
/// ``WebSocketHandler``, it hands the events to the application's callbacks and keeps the
/// channel reading (the connection's `NIOAsyncChannel`, whose task has ended, reads no more).
final class EventLoopWebSocketBridge: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketEvent
    typealias InboundOut = Never
    typealias OutboundIn = Never

    private let webSocket: EventLoopWebSocket
    private var onOpen: (@Sendable (EventLoopWebSocket) -> Void)?
    private let onMessage: @Sendable (EventLoopWebSocket, WebSocketMessage) -> Void
    private let onClose: @Sendable (EventLoopWebSocket, WebSocketClosure) -> Void
    /// Events before ``open(context:)`` (the bytes that followed the handshake).
    private var early: [WebSocketEvent] = []
    private var closed = false
    private var context: ChannelHandlerContext?
    private let detachable: DetachableChannel

    init(webSocket: EventLoopWebSocket, serving: EventLoopWebSocketServing, detachable: DetachableChannel) {
        self.webSocket = webSocket
        self.detachable = detachable
        self.onOpen = serving.onOpen
        self.onMessage = serving.onMessage
        self.onClose = serving.onClose
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    /// The ``WebSocketHandler`` before this one is in place: the application hears of the
    /// WebSocket, then of what arrived meanwhile; reading starts.
    func open() {
        guard let onOpen else { return }
        self.onOpen = nil
        onOpen(webSocket)
        let events = early
        early = []
        for event in events { deliver(event) }
        context?.read()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let event = unwrapInboundIn(data)
        if onOpen != nil {
            early.append(event)
        } else {
            deliver(event)
        }
    }

    private func deliver(_ event: WebSocketEvent) {
        switch event {
        case .text(let text):
            onMessage(webSocket, .text(text))
        case .binary(let bytes):
            onMessage(webSocket, .binary(ByteBuffer(bytes: bytes)))
        case .closed(let closure):
            closeOnce(closure)
        case .upgradeRequest, .accepted, .messageStart, .fragment, .messageEnd, .ping, .pong:
            break
        }
    }

    private func closeOnce(_ closure: WebSocketClosure) {
        guard !closed else { return }
        closed = true
        onClose(webSocket, closure)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // The reads this connection makes (the WebSocketHandler before us pauses them while
        // the channel is not writable).
        if onOpen == nil { context.read() }
    }

    func channelInactive(context: ChannelHandlerContext) {
        // The WebSocketHandler delivers `.closed` before this; in case it could not:
        if onOpen == nil { closeOnce(WebSocketClosure(cause: .endOfStream)) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A protocol error: its close frame is queued and `.closed` follows.
        if error is WebSocketProtocolError { return }
        // A transport failure: nothing more can come.
        context.close(promise: nil)
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        // The one close that the end of the connection's task (`executeThenClose`) makes.
        if detachable.takeDetachedClose() {
            promise?.succeed(())
            return
        }
        context.close(mode: mode, promise: promise)
    }
}

/// The connection's channel as its `NIOAsyncChannel` sees it: the same channel, except that
/// once the connection is served from its event loop (``detach()``), `executeThenClose` at
/// the end of the connection's task neither closes it nor waits for it to close. (Its
/// `close(promise:)` is the protocol extension's, which goes to the pipeline: the
/// ``EventLoopWebSocketBridge`` at the pipeline's end lets that one close pass as done,
/// ``takeDetachedClose()``.)
final class DetachableChannel: Channel {
    let base: any Channel
    private let detached = Atomic(false)
    /// The close `executeThenClose` makes after ``detach()`` has not reached the pipeline yet.
    private let closeOutstanding = Atomic(false)

    init(_ base: any Channel) {
        self.base = base
    }

    /// From now on the channel outlives the async channel's scope; the next close that
    /// reaches the pipeline's end is the scope's, and is not made.
    func detach() {
        closeOutstanding.store(true, ordering: .sequentiallyConsistent)
        detached.store(true, ordering: .sequentiallyConsistent)
    }

    /// Whether this close is the async channel scope's (once).
    func takeDetachedClose() -> Bool {
        closeOutstanding.exchange(false, ordering: .sequentiallyConsistent)
    }

    private var isDetached: Bool { detached.load(ordering: .sequentiallyConsistent) }

    var allocator: ByteBufferAllocator { base.allocator }
    var closeFuture: EventLoopFuture<Void> {
        isDetached ? base.eventLoop.makeSucceededVoidFuture() : base.closeFuture
    }
    var pipeline: ChannelPipeline { base.pipeline }
    var localAddress: SocketAddress? { base.localAddress }
    var remoteAddress: SocketAddress? { base.remoteAddress }
    var parent: (any Channel)? { base.parent }
    var isWritable: Bool { base.isWritable }
    var isActive: Bool { base.isActive }
    var _channelCore: any ChannelCore { base._channelCore }
    var syncOptions: (any NIOSynchronousChannelOptions)? { base.syncOptions }
    var eventLoop: any EventLoop { base.eventLoop }

    func setOption<Option: ChannelOption>(_ option: Option, value: Option.Value) -> EventLoopFuture<Void> {
        base.setOption(option, value: value)
    }

    func getOption<Option: ChannelOption>(_ option: Option) -> EventLoopFuture<Option.Value> {
        base.getOption(option)
    }
}
