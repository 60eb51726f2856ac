/// The kind of a data message (RFC 6455 §5.6).
public enum WebSocketMessageKind: Sendable, Hashable {
    case text
    case binary
}

/// What the message assembler delivers.
public enum WebSocketMessageEvent: Sendable, Hashable {
    /// A whole text message, validated UTF-8 (``WebSocketMessageAssembler/Delivery/wholeMessages``).
    case text(String)
    /// A whole binary message (``WebSocketMessageAssembler/Delivery/wholeMessages``).
    case binary([UInt8])
    /// The first frame of a message began (``WebSocketMessageAssembler/Delivery/streaming``):
    /// the payload pieces that follow belong to it. `compressed` is RSV1 on that frame.
    case messageStart(WebSocketMessageKind, compressed: Bool)
    /// The last frame of the message ended (``WebSocketMessageAssembler/Delivery/streaming``).
    case messageEnd(WebSocketMessageKind)
    /// A ping with its application data (§5.5.2), delivered as soon as it ends, even in the
    /// middle of a fragmented message.
    case ping([UInt8])
    /// A pong (§5.5.3).
    case pong([UInt8])
    /// A close frame, validated (§5.5.1, §7.4).
    case close(WebSocketClose)
}

/// Turns frames into messages (RFC 6455 §5.4–§5.6), strictly:
///
/// - A continuation frame with no message started, or a text/binary frame while a message is
///   unfinished, fails with 1002. Control frames in between fragments are delivered at once.
/// - Frame and message limits (``WebSocketLimits``) fail with 1009 before the memory is spent:
///   an uncompressed frame whose announced length would overflow the message limit fails at its
///   header; pieces of a compressed message are counted after decompression, before appending.
/// - Text is validated incrementally: the error (1007) comes with the first invalid byte, not at
///   the end of the message; a message ending inside a UTF-8 sequence fails too.
/// - RSV1 marks the first frame of a compressed message when `perMessageCompression` is on
///   (RFC 7692 §6.1); RSV1 on a continuation or control frame fails with 1002.
///
/// ## Feeding it
///
/// The assembler is streaming: it takes a frame's header (``frameStarted(_:at:)``), then its
/// payload in any number of pieces (``payload(_:at:)``), then ``frameEnded(at:)``. Each returns an
/// event or `nil`. `at` is the stream offset used in errors. ``append(_:at:)`` does all three for
/// a whole ``WebSocketFrame``.
///
/// ## The seam for permessage-deflate (RFC 7692)
///
/// The pieces given to ``payload(_:at:)`` are the message's *application data*: unmasked, and
/// for a compressed message already inflated. A compression layer sits between the frame parser
/// and the assembler: after ``frameStarted(_:at:)``, ``currentMessageIsCompressed`` tells whether
/// to inflate; the inflater hands the assembler its output pieces (the assembler counts them
/// against `maxMessageSize` and validates UTF-8), and at the final frame's end it flushes the
/// inflater (appending the `00 00 ff ff` tail of §7.2.2) and passes that output before
/// ``frameEnded(at:)``.
public struct WebSocketMessageAssembler: Sendable {
    /// How data messages are delivered.
    public enum Delivery: Sendable, Hashable {
        /// Collect each message (at most `maxMessageSize` bytes) and deliver `.text`/`.binary` at its end.
        case wholeMessages
        /// Keep nothing: deliver `.messageStart` at the first frame's header and `.messageEnd`
        /// after the last frame; in between, every piece passed to ``payload(_:at:)`` that returns
        /// without throwing has been checked (sequence, limits, UTF-8) and is the caller's to
        /// forward as the next fragment of the message.
        case streaming
    }

    // Stored properties are declared widest first so that the assembler packs into 80 bytes
    // (a connection holds one per peer).

    public let limits: WebSocketLimits
    // Current frame and message: sizes and buffers.
    private var frameRemaining = 0
    private var framePayloadOffset = 0
    private var messageSize = 0
    private var control: [UInt8] = []
    private var buffer: [UInt8] = []
    private var failure: WebSocketProtocolError? = nil
    private var utf8 = UTF8Validator()
    public let delivery: Delivery
    /// Whether a negotiated extension (permessage-deflate) owns RSV1 as "compressed".
    public let perMessageCompression: Bool
    // Current frame.
    private var frameOpcode: WebSocketOpcode? = nil
    private var frameFin = false
    // Current message.
    private var messageKind: WebSocketMessageKind? = nil
    private var compressed = false

    public init(limits: WebSocketLimits = .init(), delivery: Delivery = .wholeMessages, perMessageCompression: Bool = false) {
        self.limits = limits
        self.delivery = delivery
        self.perMessageCompression = perMessageCompression
    }

    /// The kind of the message in progress, if any.
    public var currentMessageKind: WebSocketMessageKind? { messageKind }

    /// Whether the message in progress is compressed (RSV1 on its first frame, with
    /// `perMessageCompression` on): payload pieces must be inflated before ``payload(_:at:)``.
    public var currentMessageIsCompressed: Bool { messageKind != nil && compressed }

    /// Whether the frame in progress (between ``frameStarted(_:at:)`` and ``frameEnded(at:)``) is a control frame.
    public var currentFrameIsControl: Bool { frameOpcode?.isControl ?? false }

    /// Whether no frame and no message is in progress.
    public var isAtMessageBoundary: Bool { frameOpcode == nil && messageKind == nil }

    private mutating func fail(_ code: WebSocketProtocolError.Code, _ closeCode: WebSocketCloseCode, at offset: Int) -> WebSocketProtocolError {
        let error = WebSocketProtocolError(code, closeCode: closeCode, offset: offset)
        failure = error
        return error
    }

    /// A frame's header: checks sequencing, reserved bits and limits.
    public mutating func frameStarted(_ header: WebSocketFrameHeader, at offset: Int = 0) throws(WebSocketProtocolError) -> WebSocketMessageEvent? {
        if let failure { throw failure }
        precondition(frameOpcode == nil, "frameStarted before the previous frame ended")
        if header.reserved.contains(.rsv2) || header.reserved.contains(.rsv3)
            || (header.reserved.contains(.rsv1) && !perMessageCompression) {
            throw fail(.reservedBitsSet, .protocolError, at: offset)
        }
        if header.payloadLength > limits.maxFrameSize {
            throw fail(.frameTooLarge, .messageTooBig, at: offset)
        }
        let rsv1 = header.reserved.contains(.rsv1)
        var event: WebSocketMessageEvent? = nil
        switch header.opcode {
        case .close, .ping, .pong:
            if rsv1 { throw fail(.misplacedReservedBit, .protocolError, at: offset) }
            if !header.fin { throw fail(.fragmentedControlFrame, .protocolError, at: offset) }
            if header.payloadLength > 125 { throw fail(.controlFrameTooLong, .protocolError, at: offset) }
            control.removeAll(keepingCapacity: true)
        case .continuation:
            guard messageKind != nil else { throw fail(.unexpectedContinuation, .protocolError, at: offset) }
            if rsv1 { throw fail(.misplacedReservedBit, .protocolError, at: offset) }
        case .text, .binary:
            guard messageKind == nil else { throw fail(.expectedContinuation, .protocolError, at: offset) }
            let kind: WebSocketMessageKind = header.opcode == .text ? .text : .binary
            messageKind = kind
            compressed = rsv1
            messageSize = 0
            if delivery == .streaming { event = .messageStart(kind, compressed: rsv1) }
        }
        if header.opcode.isData && !compressed && header.payloadLength > limits.maxMessageSize - messageSize {
            throw fail(.messageTooLarge, .messageTooBig, at: offset)
        }
        frameOpcode = header.opcode
        frameFin = header.fin
        frameRemaining = header.payloadLength
        framePayloadOffset = offset + header.encodedSize
        return event
    }

    /// The next piece of the current frame's application data (unmasked; inflated when the
    /// message is compressed). For data frames in ``Delivery/streaming``, a piece that returns
    /// without throwing is valid and is the caller's to forward.
    public mutating func payload(_ bytes: Span<UInt8>, at offset: Int = 0) throws(WebSocketProtocolError) {
        if let failure { throw failure }
        guard let opcode = frameOpcode else { preconditionFailure("payload outside a frame") }
        if opcode.isControl {
            precondition(control.count + bytes.count <= 125, "more control payload than announced")
            bytes.withUnsafeBytes { control.append(contentsOf: $0) }
            return
        }
        if !compressed {
            precondition(bytes.count <= frameRemaining, "more payload than announced")
            frameRemaining -= bytes.count
        }
        let room = limits.maxMessageSize - messageSize
        if bytes.count > room {
            // Report the first violation in the message: invalid UTF-8 within the room comes
            // before the byte that overflows it (as it would if the piece had been split).
            if messageKind == .text, let bad = utf8.validate(bytes.extracting(0..<room)) {
                throw fail(.invalidUTF8, .invalidFramePayloadData, at: offset + bad)
            }
            throw fail(.messageTooLarge, .messageTooBig, at: offset + room)
        }
        messageSize += bytes.count
        if messageKind == .text, let bad = utf8.validate(bytes) {
            throw fail(.invalidUTF8, .invalidFramePayloadData, at: offset + bad)
        }
        if delivery == .wholeMessages {
            bytes.withUnsafeBytes { buffer.append(contentsOf: $0) }
        }
    }

    /// The current frame ended: delivers a control frame, or the message when this was its last frame.
    public mutating func frameEnded(at offset: Int = 0) throws(WebSocketProtocolError) -> WebSocketMessageEvent? {
        if let failure { throw failure }
        guard let opcode = frameOpcode else { preconditionFailure("frameEnded outside a frame") }
        frameOpcode = nil
        switch opcode {
        case .ping: return .ping(control)
        case .pong: return .pong(control)
        case .close:
            do throws(WebSocketProtocolError) {
                return .close(try WebSocketClose.parse(control.span, offset: framePayloadOffset))
            } catch {
                failure = error
                throw error
            }
        case .text, .binary, .continuation:
            guard frameFin, let kind = messageKind else { return nil }
            messageKind = nil
            if kind == .text && !utf8.finish() {
                throw fail(.invalidUTF8, .invalidFramePayloadData, at: offset)
            }
            switch delivery {
            case .streaming:
                return .messageEnd(kind)
            case .wholeMessages:
                let bytes = buffer
                buffer = []
                return kind == .text ? .text(String(decoding: bytes, as: UTF8.self)) : .binary(bytes)
            }
        }
    }

    /// Convenience: a whole frame (payload unmasked) in one call. In ``Delivery/streaming`` a
    /// data frame's payload is only checked, and the `.messageStart` of a single-frame message
    /// is returned only if no `.messageEnd` follows in the same frame (use the three-step API
    /// there).
    public mutating func append(_ frame: WebSocketFrame, at offset: Int = 0) throws(WebSocketProtocolError) -> WebSocketMessageEvent? {
        let header = frame.header
        let start = try frameStarted(header, at: offset)
        try payload(frame.payload.span, at: offset + header.encodedSize)
        return try frameEnded(at: offset + header.encodedSize + frame.payload.count) ?? start
    }
}
