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
/// message is worth it), pings, and the close. Writes wait while the peer is slow to read
/// (the channel's write buffer is the bound); after the close, sends throw the codec's
/// ``WebSocketUsageError`` (`close-already-sent`, `connection-closed`).
public struct WebSocketOutbound: Sendable {
    let sink: WebSocketEventSink

    init(sink: WebSocketEventSink) {
        self.sink = sink
    }

    /// Sends a message.
    public func send(_ message: WebSocketMessage) async throws {
        switch message {
        case .text(let text): try await sink.write(.text(text))
        case .binary(let buffer): try await sink.write(.binary([UInt8](buffer.readableBytesView)))
        }
    }

    /// Sends a text message.
    public func send(text: String) async throws {
        try await sink.write(.text(text))
    }

    /// Sends a binary message.
    public func send(binary: ByteBuffer) async throws {
        try await sink.write(.binary([UInt8](binary.readableBytesView)))
    }

    /// Sends a ping (at most 125 bytes); its pong is consumed by the connection.
    public func ping(_ payload: ByteBuffer = ByteBuffer()) async throws {
        try await sink.write(.ping([UInt8](payload.readableBytesView)))
    }

    /// Starts the closing handshake (RFC 6455 §7.1.2): nothing more is sent; ``WebSocket/inbound``
    /// ends when the peer answers (or the closing timeout passes).
    public func close(code: WebSocketCloseCode = .normalClosure, reason: String = "") async throws {
        try await sink.write(.close(code, reason: reason))
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
    /// Runs `handler` over an open WebSocket whose events come from `next` and go to `write`,
    /// then completes the closing handshake: 1000 if the handler returned with the connection
    /// open, 1011 if it threw. Returns how the connection closed.
    static func run(
        request: HTTPRequest, negotiation: WebSocketNegotiation,
        next: @escaping () async throws -> WebSocketEvent?,
        write: @escaping @Sendable (WebSocketOutboundEvent) async throws -> Void,
        handler: @Sendable (WebSocket) async throws -> Void
    ) async -> (WebSocketClosure, (any Error)?) {
        let source = WebSocketEventSource(next: next)
        let webSocket = WebSocket(
            request: request, negotiation: negotiation, inbound: WebSocketInbound(source: source),
            outbound: WebSocketOutbound(sink: WebSocketEventSink(write: write)))
        var failure: (any Error)?
        do {
            try await handler(webSocket)
        } catch {
            failure = error
        }
        if source.closure == nil {
            let code: WebSocketCloseCode = failure == nil || failure is CancellationError ? .normalClosure : .internalServerError
            try? await write(.close(code, reason: ""))
            try? await source.drain()
        }
        return (source.closure ?? WebSocketClosure(cause: .endOfStream), failure)
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
        try await channel.executeThenClose { inbound, outbound in
            let reader = IteratorBox(inbound.makeAsyncIterator())
            let (closure, failure) = await run(
                request: request, negotiation: negotiation, next: { try await reader.next() },
                write: { try await outbound.write($0) }, handler: handler)
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
