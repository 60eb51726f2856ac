public import WireCore
import HTTPTypes
import WireHTTP1

/// One end of a WebSocket connection, sans I/O (RFC 6455): bytes in, events out; messages in,
/// bytes out. No sockets, no clock, no threads: the caller reads and writes the transport,
/// and passes the time in when it wants timers.
///
/// ```swift
/// var connection = WebSocketConnection(server: WebSocketServerPolicy())
/// // for each read:
/// connection.receive(bytes)
/// while let event = try connection.nextEvent() {
///     switch event {
///     case .upgradeRequest(let request): try connection.accept()      // or reject(status:)
///     case .text(let text): try connection.send(.text(text))           // echo
///     case .binary(let bytes): try connection.send(.binary(bytes))
///     case .closed: break
///     default: break
///     }
/// }
/// write(connection.takeOutbound())
/// if connection.transport == .closeNow { close() }
/// ```
///
/// - Handshake: a connection made with ``init(client:configuration:)`` or
///   ``init(server:scheme:configuration:)`` runs the opening handshake itself (§4) and then
///   reads the frames that came in the same read; one made with
///   ``init(role:negotiation:configuration:)`` starts open, after a handshake done elsewhere
///   (pass it the HTTP layer's leftover bytes first).
/// - Receiving: ``receive(_:)`` buffers, ``nextEvent()`` parses. Protocol errors are thrown
///   once, with the close frame of their code already queued; later input is ignored and the
///   next call returns ``WebSocketEvent/closed(_:)``. ``receiveEOF()`` is the transport's end.
/// - Sending: ``send(_:)`` serializes into the outbound buffer, or throws a
///   ``WebSocketUsageError`` when the state forbids it (nothing is written then);
///   ``takeOutbound()`` hands the bytes over.
/// - Closing (§7): the peer's close is answered once with its code; after our close, data is
///   discarded until the peer's close arrives. ``transport`` says when to close the transport
///   (a server at once, a client after the server did).
/// - Timers: ``tick(now:)`` sends keep-alive pings, notices an overdue peer, and ends closing
///   and opening handshakes that take too long.
///
/// It is built from the two pipelines every endpoint of the package uses, ``WebSocketReceiver``
/// and ``WebSocketSender``; what it adds is the connection's state (§4–§7), the automatic
/// answers (pongs, the echo of a close), the closing handshake and the timers.
///
/// `~Copyable` because it owns the zlib state of permessage-deflate.
public struct WebSocketConnection: ~Copyable, Sendable {
    // Stored properties are ordered to pack (the idle connection's target is 256 bytes):
    // the pipelines first, the small fields in the sender's tail padding, then the words.
    /// The receive pipeline (it also holds the configuration and the receive buffer).
    var receiver: WebSocketReceiver
    /// The send pipeline.
    var sender: WebSocketSender
    /// Our role: a client masks what it sends and expects unmasked frames (§5.1).
    public let role: Role
    /// Automatic pongs written since the outbound bytes were last taken. Up to
    /// `pongsPerBatch` are written at once; beyond that only the latest ping is answered
    /// (§5.5.3), from `pendingPong`, so a ping flood cannot grow the outbound buffer.
    var pongsSinceTake: UInt8 = 0
    var phase: WebSocketConnectionState
    var outbound: [UInt8] = []
    /// The opening handshake's machine while connecting; then the negotiation results, when
    /// there is something to hold (a subprotocol or deflate): an idle connection without
    /// either holds nothing.
    var side: Side = .none
    /// What few connections need at a time (a deferred pong, armed timers), boxed and freed
    /// once it holds nothing: an idle connection without keep-alive holds no heap.
    var rare: Rare? = nil
    var flags: Flags = []
    static let pongsPerBatch: UInt8 = 16

    /// The settings this connection was made with.
    public var configuration: WebSocketConfiguration { receiver.configuration }

    /// The answer to the latest ping beyond `pongsPerBatch`, written at ``takeOutbound()``.
    var pendingPong: [UInt8]? {
        get { rare?.pendingPong }
        set {
            if rare == nil && newValue == nil { return }
            updateRare { $0.pendingPong = newValue }
        }
    }

    /// The state's own deadline (opening handshake, closing handshake, a client's wait for
    /// the server's TCP close), in caller nanoseconds; `Timers.unarmed` when not running.
    var deadline: UInt64 {
        get { rare?.deadline ?? Timers.unarmed }
        set {
            if rare == nil && newValue == Timers.unarmed { return }
            updateRare { $0.deadline = newValue }
        }
    }

    /// Keep-alive timers, made at the first tick when keep-alive is configured.
    var keepAlive: KeepAliveTimer? {
        get { rare?.keepAlive }
        set {
            if rare == nil && newValue == nil { return }
            updateRare { $0.keepAlive = newValue }
        }
    }

    /// Changes the rare state, making the box when needed and dropping it once it holds
    /// nothing (a ping flood leaves no heap behind).
    private mutating func updateRare(_ change: (Rare) -> Void) {
        let box = rare ?? Rare()
        change(box)
        rare = box.isEmpty ? nil : box
    }

    // MARK: Making one

    /// An open connection, after an opening handshake done elsewhere (your HTTP stack and
    /// ``WebSocketClientHandshake``/``WebSocketServerHandshake``). Feed it the bytes that came
    /// after the handshake's head first (e.g. ``HTTP1Connection/takeLeftover()``).
    ///
    /// - Throws: `unsupported-deflate-parameters` when `negotiation.deflate` would make our
    ///   compressor use an 8-bit window (our negotiation never agrees to that).
    public init(role: Role, negotiation: WebSocketNegotiation = .init(), configuration: WebSocketConfiguration = .init())
        throws(WebSocketUsageError)
    {
        self.init(role: role, configuration: configuration, phase: .open)
        try setUpPipelines(for: negotiation)
        recordNegotiation(negotiation)
    }

    /// An open connection from what an opening handshake machine handed over
    /// (``WebSocketClientUpgrade``, ``WebSocketServerUpgrade``): the agreement, and the bytes
    /// after the handshake's head, read first.
    ///
    /// - Throws: `unsupported-deflate-parameters` (see ``init(role:negotiation:configuration:)``).
    public init(role: Role, handover: WebSocketHandover, configuration: WebSocketConfiguration = .init())
        throws(WebSocketUsageError)
    {
        try self.init(role: role, negotiation: handover.negotiation, configuration: configuration)
        receiver.receive(handover.leftover.span)
    }

    init(role: Role, configuration: WebSocketConfiguration, phase: WebSocketConnectionState) {
        self.role = role
        self.phase = phase
        do {
            receiver = try WebSocketReceiver(role: role, configuration: configuration)
            sender = try WebSocketSender(role: role, configuration: configuration)
        } catch {
            preconditionFailure("pipelines without deflate always set up: \(error)")
        }
    }

    /// Sets up both pipelines for the negotiated parameters (bytes already received stay in the
    /// receive buffer).
    ///
    /// - Throws: `unsupported-deflate-parameters` (nothing changed then).
    mutating func setUpPipelines(for negotiation: WebSocketNegotiation) throws(WebSocketUsageError) {
        guard let parameters = negotiation.deflate else { return }
        let sender = try WebSocketSender(role: role, deflate: parameters, configuration: configuration)
        try receiver.reconfigure(deflate: parameters)
        self.sender = sender
    }

    /// Keeps what the handshake settled, once the connection is open (a box only when there is
    /// something to hold).
    mutating func recordNegotiation(_ negotiation: WebSocketNegotiation) {
        if negotiation.deflate != nil || negotiation.subprotocol != nil {
            side = .negotiation(NegotiationBox(negotiation))
        } else {
            side = .none
        }
        flags.insert(.opened)
    }

    // MARK: Inspecting

    /// Where the connection is.
    public var state: WebSocketConnectionState { phase }

    /// What to do with the transport now.
    public var transport: WebSocketTransportDirective {
        guard case .closed(let closure) = phase else { return .keepOpen }
        if role == .client && !flags.contains(.receivedEOF) && !flags.contains(.peerCloseWaitExpired) {
            switch closure.cause {
            case .closeReceived, .closeAnswered: return .waitForPeerToClose
            default: break
            }
        }
        return .closeNow
    }

    /// What the opening handshake settled, once the connection has opened (`nil` before, and
    /// when it never opened).
    public var negotiation: WebSocketNegotiation? {
        guard flags.contains(.opened) else { return nil }
        if case .negotiation(let box) = side { return box.negotiation }
        return WebSocketNegotiation()
    }

    /// The zlib memory permessage-deflate holds now (`nil` without it).
    package var deflateMemory: PerMessageDeflateMemory? {
        guard negotiation?.deflate != nil else { return nil }
        return PerMessageDeflateMemory(compressor: sender.compressorMemory, decompressor: receiver.inflaterMemory)
    }

    /// The capacity of the buffers the open connection keeps (receive, outbound, and
    /// permessage-deflate's inflated and compressed output), zlib's state not counted: at most
    /// ``WebSocketConfiguration/retainedBufferCapacity`` each between messages.
    package var bufferCapacity: Int {
        outbound.capacity &+ receiver.bufferCapacity &+ sender.bufferCapacity
    }

    /// Bytes received and not yet parsed.
    public var bufferedByteCount: Int {
        guard let box = handshake else { return receiver.bufferedByteCount }
        switch box.machine {
        case .client(let upgrade): return upgrade.http.bufferedByteCount
        case .server(let upgrade): return upgrade.http.bufferedByteCount
        }
    }

    /// Bytes waiting in the outbound buffer (a pending automatic pong included).
    public var outboundByteCount: Int {
        outbound.count &+ (pendingPong.map { $0.count &+ (role == .client ? 6 : 2) } ?? 0)
    }

    // MARK: Receiving

    /// Buffers bytes read from the transport; ``nextEvent()`` parses them. Bytes received
    /// after the connection closed are dropped. Invalidates the current fragment's bytes.
    ///
    /// The buffer holds what you give it until ``nextEvent()`` returns `nil`, which means
    /// everything was consumed: read again only then, and the buffer never exceeds one read
    /// (plus, while a server decides on an Upgrade request, the frames that came with it).
    public mutating func receive(_ bytes: Span<UInt8>) {
        guard !phase.isClosed, !flags.contains(.receivedEOF) else { return }
        if case .connecting = phase { receiveDuringHandshake(bytes) } else { receiver.receive(bytes) }
    }

    /// The transport ended (the peer closed its side). Buffered bytes are still parsed; then,
    /// unless the closing handshake completed, the connection closes with
    /// ``WebSocketClosure/Cause/endOfStream`` (application code 1006, §7.1.5).
    public mutating func receiveEOF() {
        flags.insert(.receivedEOF)
    }

    /// The next event, or `nil` when more bytes are needed (or a server's decision on an
    /// Upgrade request is awaited, or the connection is closed and its last event delivered).
    ///
    /// Events that complete a frame also queue the automatic answers (pong, the echo of a
    /// close): call ``takeOutbound()`` after a batch.
    ///
    /// - Throws: the peer's ``WebSocketProtocolError``, once. The close frame with its
    ///   ``WebSocketProtocolError/closeCode`` is queued, later input is ignored, the state is
    ///   ``WebSocketConnectionState/closed(_:)``, and the next call returns ``WebSocketEvent/closed(_:)``.
    public mutating func nextEvent() throws(WebSocketProtocolError) -> WebSocketEvent? {
        switch phase {
        case .connecting:
            return nextHandshakeEvent()
        case .open, .closing:
            return try nextFrameEvent()
        case .closed:
            return takeClosedEvent()
        }
    }

    /// ``nextEvent()`` for an adapter whose application takes the events later than they are
    /// returned (the NIO server hands them to an async task): a protocol error in the bytes
    /// after the events returned so far is held instead of failing the connection. It returns
    /// `nil` from then on, ``heldFailure`` holds the error, the state does not change and
    /// nothing is queued, so the application can still answer the messages that came before
    /// the bad frame (Autobahn's strict behaviour: the echo of a valid message precedes the
    /// close of a bad frame sent right after it). The next plain ``nextEvent()`` acts on it:
    /// the close frame is queued after what was sent meanwhile, and the error is thrown.
    ///
    /// The adapter stops reading while a failure is held, and bounds the wait with a deadline
    /// of its own (a consumer that never reads must not keep a failed connection alive).
    package mutating func nextEventHoldingFailure() -> WebSocketEvent? {
        switch phase {
        case .connecting:
            return nextHandshakeEvent()
        case .open, .closing:
            // Never throws while holding.
            return (try? nextFrameEvent(holdingFailure: true)) ?? nil
        case .closed:
            return takeClosedEvent()
        }
    }

    /// `.closed`, once, after the connection closed.
    private mutating func takeClosedEvent() -> WebSocketEvent? {
        guard case .closed(let closure) = phase, flags.contains(.closedEventPending) else { return nil }
        flags.remove(.closedEventPending)
        return .closed(closure)
    }

    /// The peer's protocol error held by ``nextEventHoldingFailure()``, not acted on yet.
    package var heldFailure: WebSocketProtocolError? {
        get { rare?.heldFailure }
        set {
            if rare == nil && newValue == nil { return }
            updateRare { $0.heldFailure = newValue }
        }
    }

    /// Lends the bytes of the current ``WebSocketEvent/fragment(_:byteCount:)`` event (an
    /// empty span when the last event was not a fragment). Valid until the next call that
    /// changes the connection.
    public func withFragment<R, E: Error>(_ body: (Span<UInt8>) throws(E) -> R) throws(E) -> R {
        try receiver.withFragment(body)
    }

    /// Copies the bytes of the current ``WebSocketEvent/fragment(_:byteCount:)`` event.
    public var fragmentBytes: [UInt8] {
        withFragment { span in span.withUnsafeBufferPointer { Array($0) } }
    }

    // MARK: Outbound bytes

    /// The bytes to write to the transport, taken out of the connection.
    public mutating func takeOutbound() -> [UInt8] {
        flushPendingPong()
        pongsSinceTake = 0
        let bytes = outbound
        outbound = []
        return bytes
    }

    /// Lends the bytes to write (for copying into a transport's own buffer), then empties
    /// the outbound buffer, keeping up to ``WebSocketConfiguration/retainedBufferCapacity``.
    public mutating func withOutbound<R, E: Error>(_ body: (Span<UInt8>) throws(E) -> R) throws(E) -> R {
        flushPendingPong()
        pongsSinceTake = 0
        defer {
            if outbound.capacity > configuration.values.retainedBufferCapacity {
                outbound = []
            } else {
                outbound.removeAll(keepingCapacity: true)
            }
        }
        return try body(outbound.span)
    }

    // MARK: State changes shared by the files of the connection

    /// Moves to `state`, disarming the state's timer; a closed connection drops its buffers
    /// and zlib state.
    mutating func enter(_ state: WebSocketConnectionState) {
        phase = state
        deadline = Timers.unarmed
        if case .closed = state {
            keepAlive = nil
            heldFailure = nil
            receiver.release()
            sender.abandonMessage()
            sender.release()
            if case .handshake = side { side = .none }
        }
    }

    /// Does what `transition` says, except what only the caller can do (`deliver`, `write`,
    /// `throwError`), which are returned. `ping` is the payload of a ping input (for its pong).
    ///
    /// This is the only place where the connection's state changes: every input goes through
    /// ``WebSocketConnectionState/transition(on:)`` and then here.
    @inline(__always)
    mutating func apply(_ transition: WebSocketConnectionTransition, ping: [UInt8] = []) -> WebSocketConnectionActions {
        let actions = transition.actions
        if actions.isEmpty && transition.next == nil { return [] }
        if actions.contains(.answerPing) && configuration.values.automaticPong {
            if pongsSinceTake < Self.pongsPerBatch {
                pongsSinceTake &+= 1
                writeControl(.pong, ping)
            } else {
                pendingPong = ping
            }
        }
        if actions.contains(.clearKeepAlive), var timer = keepAlive {
            timer.pongDeadline = Timers.unarmed
            keepAlive = timer
        }
        if actions.contains(.writePing), var timer = keepAlive {
            timer.pingCounter &+= 1
            writeControl(.ping, timer.payload)
            keepAlive = timer
        }
        if actions.contains(.dropPendingPong) { pendingPong = nil }
        if actions.contains(.flushPendingPong) { flushPendingPong() }
        if actions.contains(.writeHandshake) { outbound += takeHandshakeOutbound() }
        if actions.contains(.writeClose), let close = transition.next?.sentClose {
            writeOwnClose(close)
        }
        if actions.contains(.discardData) {
            receiver.discardDataFrames()
            sender.abandonMessage()
        }
        if actions.contains(.stopWaitingForPeer) {
            flags.insert(.peerCloseWaitExpired)
            deadline = Timers.unarmed
        }
        if let next = transition.next { enter(next) }
        if actions.contains(.reportClosedLater) || actions.contains(.throwError) { flags.insert(.closedEventPending) }
        return actions.intersection([.deliver, .write, .throwError])
    }
}

extension WebSocketConnectionState {
    /// The close frame we sent, in the states that have one.
    var sentClose: WebSocketClose? {
        switch self {
        case .closing(let sent): sent
        case .closed(let closure): closure.sent
        default: nil
        }
    }
}

// MARK: Internal storage types

extension WebSocketConnection {
    struct Flags: OptionSet, Sendable {
        var rawValue: UInt8
        /// ``receiveEOF()`` was called.
        static let receivedEOF = Flags(rawValue: 1 << 0)
        /// The connection is closed and `.closed` has not been returned yet.
        static let closedEventPending = Flags(rawValue: 1 << 1)
        /// The connection reached `open` once.
        static let opened = Flags(rawValue: 1 << 2)
        /// Client: the wait for the server's close of the transport timed out.
        static let peerCloseWaitExpired = Flags(rawValue: 1 << 3)
    }

    /// What ``side`` holds.
    enum Side: Sendable {
        case none
        case handshake(HandshakeBox)
        case negotiation(NegotiationBox)
    }

    /// The negotiation results, boxed (few connections have a subprotocol or deflate).
    final class NegotiationBox: Sendable {
        let negotiation: WebSocketNegotiation
        init(_ negotiation: WebSocketNegotiation) { self.negotiation = negotiation }
    }

    /// The deferred pong and the timers. Reached only through the `~Copyable` connection, so
    /// never shared.
    final class Rare: @unchecked Sendable {
        /// The answer to the latest ping beyond `pongsPerBatch`.
        var pendingPong: [UInt8]? = nil
        var deadline = Timers.unarmed
        var keepAlive: KeepAliveTimer? = nil
        /// A protocol error found and not yet acted on (``heldFailure``).
        var heldFailure: WebSocketProtocolError? = nil

        var isEmpty: Bool { pendingPong == nil && deadline == Timers.unarmed && keepAlive == nil && heldFailure == nil }
    }
}
