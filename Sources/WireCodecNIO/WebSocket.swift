public import HTTPTypes
public import NIOCore
public import WireWebSocket
import Synchronization

/// A data message of a WebSocket (RFC 6455 §5.6): text is valid UTF-8 (checked on receipt),
/// binary is any bytes.
public enum WebSocketMessage: Sendable, Hashable {
    case text(String)
    case binary(ByteBuffer)
}

/// An open WebSocket, for the application: the messages that arrive (``inbound``), a writer
/// for those it sends (``outbound``), and what was agreed in the handshake.
///
/// Pings are answered, keep-alive pings sent (``WebSocketConfiguration/keepAlive``), and the
/// closing handshake done for you; iterating ``inbound`` is what reads them, so iterate it to
/// its end even when you only send. It ends when the connection closes; ``closure`` then
/// says how (code, reason, whether cleanly). Returning from the handler closes with 1000 if
/// the connection is still open; throwing closes with 1011.
///
/// ```swift
/// for try await message in webSocket.inbound {
///     try await webSocket.outbound.send(message)          // echo
/// }
/// print(webSocket.closure?.code ?? .abnormalClosure)
/// ```
public struct WebSocket: Sendable {
    /// The Upgrade request (path, query, cookies).
    public let request: HTTPRequest
    /// The subprotocol and permessage-deflate parameters agreed.
    public let negotiation: WebSocketNegotiation
    public let inbound: WebSocketInbound
    public let outbound: WebSocketOutbound

    init(request: HTTPRequest, negotiation: WebSocketNegotiation, inbound: WebSocketInbound, outbound: WebSocketOutbound) {
        self.request = request
        self.negotiation = negotiation
        self.inbound = inbound
        self.outbound = outbound
    }

    /// How the connection closed, once ``inbound`` has ended (`nil` before).
    public var closure: WebSocketClosure? { inbound.closure }
}

/// The messages a WebSocket receives, in order, as an `AsyncSequence` with backpressure: the
/// connection reads from the socket only as fast as you iterate. Iterate it once.
///
/// It ends (returns `nil`) when the connection closes, whoever closed it; ``closure`` is set
/// then. It throws only for a transport failure.
public struct WebSocketInbound: AsyncSequence, Sendable {
    public typealias Element = WebSocketMessage
    public typealias Failure = any Error

    let source: WebSocketEventSource

    init(source: WebSocketEventSource) {
        self.source = source
    }

    /// How the connection closed (`nil` while it is open).
    public var closure: WebSocketClosure? { source.closure }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let source: WebSocketEventSource

        public mutating func next() async throws -> WebSocketMessage? {
            try await source.nextMessage()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(source: source)
    }
}

/// Sends on a WebSocket: whole messages (compressed when permessage-deflate was agreed and the
/// message is worth it), prepared messages, pings, and the close. After the close, sends throw
/// the codec's ``WebSocketUsageError`` (`close-already-sent`, `connection-closed`).
///
/// Slow readers: while the peer does not keep up, data messages wait in the connection's send
/// queue, bounded by ``WebSocketSendQueueConfiguration`` (the server's
/// ``WireServer/Configuration/webSocketSendQueue``, or the upgrade's); when a message does not
/// fit, its ``WebSocketSlowConsumerPolicy`` applies: the send waits for room (the default), the
/// oldest queued messages are dropped, the queue is coalesced to the latest message, or the
/// connection is closed with 1008 or 1013. Each send says what became of its message
/// (``WebSocketSendResult``); ``statistics()`` sums it up. Control frames are never dropped.
public struct WebSocketOutbound: Sendable {
    enum Target: Sendable {
        /// Straight to the connection's handler on its event loop (with the send queue).
        case handler(WebSocketHandlerReference)
        /// Through an outbound writer (the channel's write buffer is the bound).
        case sink(WebSocketEventSink)
    }

    let target: Target

    init(target: Target) {
        self.target = target
    }

    init(sink: WebSocketEventSink) {
        self.target = .sink(sink)
    }

    var reference: WebSocketHandlerReference? {
        if case .handler(let reference) = target { return reference }
        return nil
    }

    /// Sends a message.
    @discardableResult
    public func send(_ message: WebSocketMessage) async throws -> WebSocketSendResult {
        switch message {
        case .text(let text): try await send(.message(.text(text)))
        case .binary(let buffer): try await send(.message(.binary([UInt8](buffer.readableBytesView))))
        }
    }

    /// Sends a text message.
    @discardableResult
    public func send(text: String) async throws -> WebSocketSendResult {
        try await send(.message(.text(text)))
    }

    /// Sends a binary message.
    @discardableResult
    public func send(binary: ByteBuffer) async throws -> WebSocketSendResult {
        try await send(.message(.binary([UInt8](binary.readableBytesView))))
    }

    /// Sends a message prepared once for many connections (see ``WebSocketBroadcastGroup``
    /// to send it to all of them in one step).
    @discardableResult
    public func send(_ message: WebSocketPreparedMessage) async throws -> WebSocketSendResult {
        try await send(.prepared(message))
    }

    /// Sends a ping (at most 125 bytes); its pong is consumed by the connection.
    public func ping(_ payload: ByteBuffer = ByteBuffer()) async throws {
        _ = try await send(.ordered(.ping([UInt8](payload.readableBytesView))))
    }

    /// Starts the closing handshake (RFC 6455 §7.1.2) after the messages already queued:
    /// nothing more is sent; ``WebSocket/inbound`` ends when the peer answers (or the closing
    /// timeout passes).
    public func close(code: WebSocketCloseCode = .normalClosure, reason: String = "") async throws {
        _ = try await send(.ordered(.close(code, reason: reason)))
    }

    /// What the send queue holds and has done (zeros for a WebSocket without one).
    public func statistics() async -> WebSocketSendQueueStatistics {
        guard let reference else { return WebSocketSendQueueStatistics() }
        return (try? await reference.eventLoop.submit { reference.handler.value.sendQueueStatistics }.get())
            ?? WebSocketSendQueueStatistics()
    }

    private func send(_ item: WebSocketSendQueue.Item) async throws -> WebSocketSendResult {
        switch target {
        case .handler(let reference):
            return try await reference.submit(item)
        case .sink(let sink):
            switch item {
            case .message(let event), .ordered(let event):
                try await sink.write(event)
            case .prepared(let message):
                switch message.kind {
                case .text: try await sink.write(.text(String(decoding: message.payload, as: UTF8.self)))
                case .binary: try await sink.write(.binary(message.payload))
                }
            }
            return .sent
        }
    }
}

/// A connection's ``WebSocketHandler``, reached from any task through its event loop.
final class WebSocketHandlerReference: Sendable {
    let eventLoop: any EventLoop
    let handler: NIOLoopBound<WebSocketHandler>

    init(handler: WebSocketHandler, eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
        self.handler = NIOLoopBound(handler, eventLoop: eventLoop)
    }

    /// Runs `body` with the handler on its event loop (at once when already there).
    func execute(_ body: @escaping @Sendable (WebSocketHandler) -> Void) {
        if eventLoop.inEventLoop {
            body(handler.value)
        } else {
            eventLoop.execute { [handler] in body(handler.value) }
        }
    }

    /// Runs `body` with the handler on its event loop, queued even when already there: after
    /// every task already queued on the loop (a broadcast's, say), in the order of the calls.
    func enqueue(_ body: @escaping @Sendable (WebSocketHandler) -> Void) {
        eventLoop.execute { [handler] in body(handler.value) }
    }

    /// An application's send: at once, queued, or after waiting for room.
    func submit(_ item: WebSocketSendQueue.Item) async throws -> WebSocketSendResult {
        let handler = self.handler
        let submission: EventLoopFuture<WebSocketSendResult> = eventLoop.flatSubmit {
            do {
                switch try handler.value.submit(item, canWait: true) {
                case .done(let result): return handler.eventLoop.makeSucceededFuture(result)
                case .waiting(let future): return future
                }
            } catch {
                return handler.eventLoop.makeFailedFuture(error)
            }
        }
        return try await submission.get()
    }
}

/// Where a WebSocket's events come from: a connection's inbound stream, read by one task at a
/// time (the application's, then the server's to finish the closing handshake).
final class WebSocketEventSource: @unchecked Sendable {
    private let next: () async throws -> WebSocketEvent?
    private let closed = Mutex<WebSocketClosure?>(nil)
    private var ended = false

    init(next: @escaping () async throws -> WebSocketEvent?) {
        self.next = next
    }

    var closure: WebSocketClosure? { closed.withLock { $0 } }

    /// The next data message; `nil` once the connection closed.
    func nextMessage() async throws -> WebSocketMessage? {
        while !ended {
            guard let event = try await next() else {
                // The stream ended without `.closed` (the channel went away under us).
                ended = true
                closed.withLock { if $0 == nil { $0 = WebSocketClosure(cause: .endOfStream) } }
                return nil
            }
            switch event {
            case .text(let text):
                return .text(text)
            case .binary(let bytes):
                return .binary(ByteBuffer(bytes: bytes))
            case .closed(let closure):
                ended = true
                closed.withLock { $0 = closure }
                return nil
            case .upgradeRequest, .accepted, .messageStart, .fragment, .messageEnd, .ping, .pong:
                continue
            }
        }
        return nil
    }

    /// Reads (and drops) messages until the connection closed: the end of the closing handshake.
    func drain() async throws {
        while try await nextMessage() != nil {}
    }
}

/// Where a WebSocket's outbound events go.
struct WebSocketEventSink: Sendable {
    let write: @Sendable (WebSocketOutboundEvent) async throws -> Void
}

extension WebSocket {
    /// Runs `handler` over an open WebSocket whose events come from `next` and go to
    /// `outbound`, then completes the closing handshake: 1000 if the handler returned with the
    /// connection open, 1011 if it threw. Returns how the connection closed.
    static func run(
        request: HTTPRequest, negotiation: WebSocketNegotiation,
        next: @escaping () async throws -> WebSocketEvent?,
        outbound: WebSocketOutbound,
        handler: @Sendable (WebSocket) async throws -> Void
    ) async -> (WebSocketClosure, (any Error)?) {
        let source = WebSocketEventSource(next: next)
        let webSocket = WebSocket(
            request: request, negotiation: negotiation, inbound: WebSocketInbound(source: source),
            outbound: outbound)
        var failure: (any Error)?
        do {
            try await handler(webSocket)
        } catch {
            failure = error
        }
        if source.closure == nil {
            await finishClosingHandshake(source: source, outbound: outbound, handlerFailed: failure != nil && !(failure is CancellationError))
        }
        return (source.closure ?? WebSocketClosure(cause: .endOfStream), failure)
    }

    /// The close (1000, or 1011 when the handler threw) and the rest of the closing handshake,
    /// after a handler that returned with the connection open. Never inlined: its state would
    /// otherwise be part of ``run(request:negotiation:next:outbound:handler:)``'s async frame,
    /// which an idle WebSocket's task holds for as long as its handler waits for a message.
    @inline(never)
    static func finishClosingHandshake(source: WebSocketEventSource, outbound: WebSocketOutbound, handlerFailed: Bool) async {
        try? await outbound.close(code: handlerFailed ? .internalServerError : .normalClosure)
        try? await source.drain()
    }
}

extension WebSocket {
    /// Runs `handler` over a WebSocket on `channel`, an `NIOAsyncChannel` whose pipeline ends
    /// with a ``WebSocketHandler`` (a client after ``WebSocketClientUpgrader``, say), then
    /// finishes the closing handshake (1000 when the handler returned with the connection
    /// open, 1011 when it threw) and closes the channel. Returns how the connection closed;
    /// rethrows the handler's error after the close.
    public static func run(
        on channel: NIOAsyncChannel<WebSocketEvent, WebSocketOutboundEvent>,
        request: HTTPRequest, negotiation: WebSocketNegotiation,
        handler: @Sendable (WebSocket) async throws -> Void
    ) async throws -> WebSocketClosure {
        // Sends go straight to the handler (its send queue) when it is in the pipeline.
        let reference = try? await channel.channel.pipeline.handler(type: WebSocketHandler.self).map {
            WebSocketHandlerReference(handler: $0, eventLoop: channel.channel.eventLoop)
        }.get()
        return try await channel.executeThenClose { inbound, outbound in
            let reader = IteratorBox(inbound.makeAsyncIterator())
            let target: WebSocketOutbound.Target = reference.map { .handler($0) }
                ?? .sink(WebSocketEventSink(write: { try await outbound.write($0) }))
            let (closure, failure) = await run(
                request: request, negotiation: negotiation, next: { try await reader.next() },
                outbound: WebSocketOutbound(target: target), handler: handler)
            if let failure { throw failure }
            return closure
        }
    }
}

/// An async iterator lent to one reader at a time.
final class IteratorBox<Base: AsyncIteratorProtocol>: @unchecked Sendable {
    private var base: Base

    init(_ base: Base) {
        self.base = base
    }

    func next() async throws -> Base.Element? {
        try await base.next()
    }
}
