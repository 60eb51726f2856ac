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
/// `~Copyable` because it owns the zlib state of permessage-deflate.
public struct WebSocketConnection: ~Copyable, Sendable {
    // Stored properties are ordered to pack (the idle connection's target is 256 bytes):
    // the frame layers first, then the word-sized fields, then the small ones.
    var parser: WebSocketFrameParser
    var assembler: WebSocketMessageAssembler
    /// The settings this connection was made with.
    public let configuration: WebSocketConfiguration
    var phase: WebSocketConnectionState
    var inbound: [UInt8] = []
    var inboundStart = 0
    var outbound: [UInt8] = []
    /// The opening handshake's HTTP state while connecting; then the negotiation results and
    /// permessage-deflate state, when there is something to hold (a subprotocol or deflate):
    /// an idle connection without either holds nothing.
    var side: Side = .none
    /// The length of the current `.fragment` event's bytes: the last `lentCount` bytes consumed
    /// from the receive buffer (unmasked in place), or the inflater's output (`.lentInflated`).
    var lentCount = 0
    /// State that few connections need (a deferred pong, deterministic masking keys).
    var rare: Rare? = nil
    /// The state's own deadline (opening handshake, closing handshake, a client's wait for
    /// the server's TCP close), in caller nanoseconds; `Timers.unarmed` when not running.
    var deadline = Timers.unarmed
    /// Keep-alive timers, made at the first tick when keep-alive is configured.
    var keepAlive: KeepAliveTimer? = nil
    /// Our role: a client masks what it sends and expects unmasked frames (§5.1).
    public let role: Role
    /// Automatic pongs written since the outbound bytes were last taken. Up to
    /// `pongsPerBatch` are written at once; beyond that only the latest ping is answered
    /// (§5.5.3), from `pendingPong`, so a ping flood cannot grow the outbound buffer.
    var pongsSinceTake: UInt8 = 0
    var flags: Flags = []
    /// The fragmented message we are sending, if any.
    var sending: Sending? = nil
    static let pongsPerBatch: UInt8 = 16

    /// The opening handshake's HTTP state, present while connecting.
    var handshake: HandshakeDriver? {
        get { if case .handshake(let driver) = side { driver } else { nil } }
        set {
            if let newValue { side = .handshake(newValue) } else if case .handshake = side { side = .none }
        }
    }

    /// Negotiation results and permessage-deflate state, once open.
    var extras: Extras? {
        get { if case .extras(let extras) = side { extras } else { nil } }
        set {
            if let newValue { side = .extras(newValue) } else if case .extras = side { side = .none }
        }
    }

    /// The answer to the latest ping beyond `pongsPerBatch`, written at ``takeOutbound()``.
    var pendingPong: [UInt8]? {
        get { rare?.pendingPong }
        set {
            if let rare {
                // The box goes once it holds nothing (a ping flood leaves no heap behind).
                if newValue == nil && !flags.contains(.seededKeys) { self.rare = nil } else { rare.pendingPong = newValue }
            } else if let newValue {
                rare = Rare(pendingPong: newValue)
            }
        }
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
        try open(negotiation)
    }

    /// A client that runs the opening handshake: the Upgrade request is in the outbound
    /// buffer; the server's answer ends in ``WebSocketEvent/accepted(_:)`` (the connection is
    /// open) or ``WebSocketEvent/closed(_:)`` (rejected or invalid).
    public init(client handshake: WebSocketClientHandshake, configuration: WebSocketConfiguration = .init()) {
        self.init(role: .client, configuration: configuration, phase: .connecting(.awaitingResponse))
        var parser = HTTP1Parser(parsing: .response, configuration: configuration.http)
        parser.expectResponse(to: .get)
        self.handshake = HandshakeDriver(parser: parser, client: handshake, policy: .init(), scheme: nil)
        handshake.writeRequest(into: &outbound)
    }

    /// A server that runs the opening handshake: a valid Upgrade request is delivered as
    /// ``WebSocketEvent/upgradeRequest(_:)`` for ``accept(_:)`` or ``reject(status:headerFields:)``;
    /// an invalid one is answered (400, 403 or 426) and ends in ``WebSocketEvent/closed(_:)``.
    ///
    /// - Parameter scheme: `"http"` or `"https"` when known (for the same-origin check).
    public init(server policy: WebSocketServerPolicy = .init(), scheme: String? = nil, configuration: WebSocketConfiguration = .init()) {
        self.init(role: .server, configuration: configuration, phase: .connecting(.awaitingRequest))
        self.handshake = HandshakeDriver(
            parser: HTTP1Parser(parsing: .request, configuration: configuration.http), client: nil, policy: policy,
            scheme: scheme)
    }

    private init(role: Role, configuration: WebSocketConfiguration, phase: WebSocketConnectionState) {
        self.role = role
        self.configuration = configuration
        self.phase = phase
        let values = configuration.values
        parser = WebSocketFrameParser(role: role, maxFrameSize: values.limits.maxFrameSize, leniencies: values.leniencies)
        assembler = WebSocketMessageAssembler(limits: values.limits, delivery: values.delivery)
        if let seed = values.maskingKeys.seed {
            rare = Rare(maskingState: seed)
            flags.insert(.seededKeys)
        }
    }

    /// Sets up the frame layers for the negotiated parameters and enters `open`.
    mutating func open(_ negotiation: WebSocketNegotiation) throws(WebSocketUsageError) {
        let values = configuration.values
        var box: Extras? = nil
        if let parameters = negotiation.deflate {
            let deflate: PerMessageDeflate
            do {
                deflate = try PerMessageDeflate(parameters: parameters, role: role, configuration: values.deflate)
            } catch {
                throw WebSocketUsageError(.unsupportedDeflateParameters)
            }
            box = Extras(negotiation: negotiation, deflate: DeflateState(deflate))
        } else if negotiation.subprotocol != nil {
            box = Extras(negotiation: negotiation, deflate: nil)
        }
        let compressed = negotiation.deflate != nil
        parser = WebSocketFrameParser(
            role: role, maxFrameSize: values.limits.maxFrameSize, allowedReservedBits: compressed ? .rsv1 : [],
            leniencies: values.leniencies)
        assembler = WebSocketMessageAssembler(limits: values.limits, delivery: values.delivery, perMessageCompression: compressed)
        extras = box
        handshake = nil
        flags.insert(.opened)
        enter(.open)
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
        return extras?.negotiation ?? WebSocketNegotiation()
    }

    /// The zlib memory permessage-deflate holds now (zero without it).
    public var deflateMemory: PerMessageDeflateMemory? {
        extras?.deflate?.deflate.memory
    }

    /// Bytes received and not yet parsed.
    public var bufferedByteCount: Int { inbound.count &- inboundStart }

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
        guard !phase.isClosed, !flags.contains(.receivedEOF), !bytes.isEmpty else { return }
        lentCount = 0
        if inboundStart == inbound.count {
            inbound.removeAll(keepingCapacity: true)
            inboundStart = 0
        } else if inboundStart >= 4096 && inboundStart &* 2 >= inbound.count {
            inbound.removeSubrange(..<inboundStart)
            inboundStart = 0
        }
        bytes.withUnsafeBufferPointer { inbound.append(contentsOf: $0) }
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
        case .closed(let closure):
            guard flags.contains(.closedEventPending) else { return nil }
            flags.remove(.closedEventPending)
            return .closed(closure)
        }
    }

    /// Lends the bytes of the current ``WebSocketEvent/fragment(_:byteCount:)`` event (an
    /// empty span when the last event was not a fragment). Valid until the next call that
    /// changes the connection.
    public func withFragment<R, E: Error>(_ body: (Span<UInt8>) throws(E) -> R) throws(E) -> R {
        if lentCount == 0 { return try body(Span()) }
        if flags.contains(.lentInflated) {
            let bytes = extras?.deflate?.inflated ?? []
            return try body(bytes.span)
        }
        return try body(inbound.span.extracting((inboundStart &- lentCount)..<inboundStart))
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
            inbound = []
            inboundStart = 0
            lentCount = 0
            sending = nil
            handshake = nil
            extras?.deflate = nil
            assembler = WebSocketMessageAssembler(limits: .init(), delivery: .wholeMessages)
        }
    }

    /// Frees the receive buffer once everything in it was consumed (keeping up to
    /// ``WebSocketConfiguration/retainedBufferCapacity``).
    mutating func releaseConsumedInbound() {
        guard inboundStart == inbound.count else { return }
        if inbound.capacity > configuration.values.retainedBufferCapacity {
            inbound = []
        } else {
            inbound.removeAll(keepingCapacity: true)
        }
        inboundStart = 0
    }
}

// MARK: Internal storage types

extension WebSocketConnection {
    struct Flags: OptionSet, Sendable {
        var rawValue: UInt16
        /// ``receiveEOF()`` was called.
        static let receivedEOF = Flags(rawValue: 1 << 0)
        /// The connection is closed and `.closed` has not been returned yet.
        static let closedEventPending = Flags(rawValue: 1 << 1)
        /// Discarding a data frame received after our close.
        static let skippingFrame = Flags(rawValue: 1 << 2)
        /// The frame in progress has FIN set.
        static let frameFin = Flags(rawValue: 1 << 3)
        /// A `.fragment` was returned for an inflated tail; the frame's end is still to process.
        static let frameEndPending = Flags(rawValue: 1 << 4)
        /// The connection reached `open` once.
        static let opened = Flags(rawValue: 1 << 5)
        /// Client: the wait for the server's close of the transport timed out.
        static let peerCloseWaitExpired = Flags(rawValue: 1 << 6)
        /// The current fragment's bytes are the inflater's output.
        static let lentInflated = Flags(rawValue: 1 << 7)
        /// Masking keys come from `maskingState` (deterministic, for tests).
        static let seededKeys = Flags(rawValue: 1 << 8)
    }

    /// A fragmented message we are sending (§5.4).
    struct Sending: Sendable {
        var kind: WebSocketMessageKind
        /// Text fragments are validated as they go, across fragment boundaries.
        var utf8 = UTF8Validator()
    }

    /// What ``side`` holds.
    enum Side: Sendable {
        case none
        case handshake(HandshakeDriver)
        case extras(Extras)
    }

    /// State that few connections need, kept out of line. Reached only through the connection,
    /// which is `~Copyable`, so never shared.
    final class Rare: @unchecked Sendable {
        /// The answer to the latest ping beyond `pongsPerBatch`.
        var pendingPong: [UInt8]?
        /// SplitMix64 state of deterministic masking keys (`.seededKeys`).
        var maskingState: UInt64

        init(pendingPong: [UInt8]? = nil, maskingState: UInt64 = 0) {
            self.pendingPong = pendingPong
            self.maskingState = maskingState
        }
    }

    /// Negotiation results and permessage-deflate state. Reached only through the connection,
    /// which is `~Copyable`, so never shared.
    final class Extras: @unchecked Sendable {
        let negotiation: WebSocketNegotiation
        /// Present while permessage-deflate is in use (dropped, with its zlib memory, at close).
        var deflate: DeflateState?

        init(negotiation: WebSocketNegotiation, deflate: DeflateState?) {
            self.negotiation = negotiation
            self.deflate = deflate
        }
    }

    /// The negotiated permessage-deflate extension and its buffers.
    final class DeflateState: @unchecked Sendable {
        var deflate: PerMessageDeflate
        /// Inflated output of the current piece (lent as a fragment in streaming delivery).
        var inflated: [UInt8] = []
        /// Compressed output of the message being sent.
        var compressed: [UInt8] = []
        /// Inflated bytes of the current message so far (the budget left for zlib).
        var inflatedInMessage = 0
        /// The stream offset of the current frame's first payload byte (for inflation errors).
        var framePayloadOffset = 0

        init(_ deflate: consuming PerMessageDeflate) {
            self.deflate = deflate
        }

        func decompress(_ piece: Span<UInt8>, fin: Bool, limit: Int, offset: Int) throws(WebSocketProtocolError) -> Int {
            try deflate.decompress(piece, fin: fin, limit: limit, into: &inflated, offset: offset)
        }

        /// Compresses a whole message into `compressed`; `false` when it should go uncompressed.
        func compressMessage(_ payload: Span<UInt8>) -> Bool {
            compressed.removeAll(keepingCapacity: true)
            return deflate.compressMessage(payload, into: &compressed)
        }

        /// Compresses a fragment into `compressed`.
        func compress(_ payload: Span<UInt8>, fin: Bool) {
            compressed.removeAll(keepingCapacity: true)
            deflate.compress(payload, fin: fin, into: &compressed)
        }
    }

    /// A fresh masking key for a frame we send as a client (§5.3).
    mutating func nextMaskingKey() -> WebSocketMaskingKey {
        guard flags.contains(.seededKeys) else {
            var system = SystemRandomNumberGenerator()
            return .random(using: &system)
        }
        // SplitMix64.
        let rare = rare!
        rare.maskingState &+= 0x9E37_79B9_7F4A_7C15
        var z = rare.maskingState
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return WebSocketMaskingKey(networkOrder: UInt32(truncatingIfNeeded: z ^ (z >> 31)))
    }
}
