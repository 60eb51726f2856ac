/// The message layer of the receive pipeline (RFC 6455 §5.4–§5.6): frames from the frame
/// parser in, messages out.
///
/// - A continuation frame with no message started, or a text/binary frame while a message is
///   unfinished, fails with 1002. Control frames in between fragments are delivered at once.
/// - The message limit fails with 1009 before the memory is spent: an uncompressed frame whose
///   announced length would overflow it fails at its header; pieces of a compressed message
///   are counted after decompression, before they are kept, and ``messageRoom`` is the
///   inflater's budget (one budget for both).
/// - Text is validated incrementally: the error (1007) comes with the first invalid byte, not at
///   the end of the message; a message ending inside a UTF-8 sequence fails too.
/// - RSV1 marks the first frame of a compressed message (RFC 7692 §6.1); on a continuation or
///   control frame it fails with 1002.
///
/// Frame-level rules (reserved opcodes and bits, control frames' FIN and length, masking, the
/// frame limit) are the frame parser's, which always runs first: they are not checked again.
///
/// It is fed a frame's header (``frameStarted(_:at:)``), then its payload in any number of
/// pieces (``payload(_:at:)``: unmasked, and for a compressed message already inflated), then
/// ``frameEnded(at:)``. `at` is the stream offset used in errors. After an error every call
/// throws it again.
package struct WebSocketMessageAssembler: Sendable {
    // Stored properties are declared widest first so that the assembler packs (a connection
    // holds one).

    /// The longest message accepted, after decompression.
    package let maxMessageSize: Int
    /// Payload bytes of the current frame still to come (uncompressed messages).
    private var frameRemaining = 0
    /// The stream offset of the current frame's first payload byte (close payload errors).
    private var framePayloadOffset = 0
    /// Bytes of the current message so far (inflated, for a compressed one).
    private var messageSize = 0
    private var control: [UInt8] = []
    /// The message in progress (whole-message delivery). After a text message it keeps its
    /// capacity up to what ``frameEnded(at:retainingCapacity:)`` is told; a binary message hands it out.
    private var buffer: [UInt8] = []
    package private(set) var failure: WebSocketProtocolError? = nil
    private var utf8 = UTF8Validator()
    package let delivery: WebSocketConfiguration.Delivery
    // Current frame.
    private var frameOpcode: WebSocketOpcode? = nil
    private var frameFin = false
    // Current message.
    private var messageKind: WebSocketMessageKind? = nil
    private var compressed = false

    package init(limits: WebSocketLimits = .init(), delivery: WebSocketConfiguration.Delivery = .wholeMessages) {
        maxMessageSize = limits.maxMessageSize
        self.delivery = delivery
    }

    /// The capacity of the message buffer (memory held between messages).
    package var bufferCapacity: Int { buffer.capacity }

    /// The kind of the message in progress, if any.
    package var currentMessageKind: WebSocketMessageKind? { messageKind }

    /// Whether the message in progress is compressed (RSV1 on its first frame): payload pieces
    /// are inflated before ``payload(_:at:)``.
    package var currentMessageIsCompressed: Bool { messageKind != nil && compressed }

    /// Whether the frame in progress (between ``frameStarted(_:at:)`` and ``frameEnded(at:)``)
    /// is a control frame.
    package var currentFrameIsControl: Bool { frameOpcode?.isControl ?? false }

    /// Whether no frame and no message is in progress.
    package var isIdle: Bool { frameOpcode == nil && messageKind == nil }

    /// The bytes the current message may still grow by: the inflater's budget.
    package var messageRoom: Int { maxMessageSize &- messageSize }

    /// Records a failure found beside the assembler (by the inflater): later calls throw it.
    package mutating func recordFailure(_ error: WebSocketProtocolError) {
        if failure == nil { failure = error }
    }

    private mutating func fail(_ code: WebSocketProtocolError.Code, at offset: Int) -> WebSocketProtocolError {
        let error = WebSocketProtocolError(code, offset: offset)
        failure = error
        return error
    }

    /// A frame's header (validated by the frame parser): checks sequencing, RSV1's place and
    /// the message limit.
    package mutating func frameStarted(_ header: WebSocketFrameHeader, at offset: Int) throws(WebSocketProtocolError) -> WebSocketMessageEvent? {
        if let failure { throw failure }
        precondition(frameOpcode == nil, "frameStarted before the previous frame ended")
        let rsv1 = header.reserved.contains(.rsv1)
        var event: WebSocketMessageEvent? = nil
        switch header.opcode {
        case .close, .ping, .pong:
            if rsv1 { throw fail(.misplacedReservedBit, at: offset) }
            control.removeAll(keepingCapacity: true)
        case .continuation:
            guard messageKind != nil else { throw fail(.unexpectedContinuation, at: offset) }
            if rsv1 { throw fail(.misplacedReservedBit, at: offset) }
        case .text, .binary:
            guard messageKind == nil else { throw fail(.expectedContinuation, at: offset) }
            let kind: WebSocketMessageKind = header.opcode == .text ? .text : .binary
            messageKind = kind
            compressed = rsv1
            messageSize = 0
            if delivery == .streaming { event = .messageStart(kind) }
        }
        if header.opcode.isData && !compressed && header.payloadLength > messageRoom {
            throw fail(.messageTooLarge, at: offset)
        }
        frameOpcode = header.opcode
        frameFin = header.fin
        frameRemaining = header.payloadLength
        framePayloadOffset = offset &+ header.encodedSize
        return event
    }

    /// The next piece of the current frame's application data (unmasked; inflated when the
    /// message is compressed). For data frames in streaming delivery, a piece that returns
    /// without throwing is valid and is the caller's to forward.
    package mutating func payload(_ bytes: Span<UInt8>, at offset: Int) throws(WebSocketProtocolError) {
        if let failure { throw failure }
        guard let opcode = frameOpcode else { preconditionFailure("payload outside a frame") }
        if opcode.isControl {
            precondition(control.count &+ bytes.count <= 125, "more control payload than announced")
            bytes.withUnsafeBytes { control.append(contentsOf: $0) }
            return
        }
        if !compressed {
            precondition(bytes.count <= frameRemaining, "more payload than announced")
            frameRemaining &-= bytes.count
        }
        let room = messageRoom
        if bytes.count > room {
            // Report the first violation in the message: invalid UTF-8 within the room comes
            // before the byte that overflows it (as it would if the piece had been split).
            if messageKind == .text, let bad = utf8.validate(bytes.extracting(0..<room)) {
                throw fail(.invalidUTF8, at: offset &+ bad)
            }
            throw fail(.messageTooLarge, at: offset &+ room)
        }
        messageSize &+= bytes.count
        if messageKind == .text, let bad = utf8.validate(bytes) {
            throw fail(.invalidUTF8, at: offset &+ bad)
        }
        if delivery == .wholeMessages {
            bytes.withUnsafeBytes { buffer.append(contentsOf: $0) }
        }
    }

    /// The current frame ended: delivers a control frame, or the message when this was its
    /// last frame. After a text message the message buffer keeps up to `retained` bytes of
    /// capacity (``WebSocketConfiguration/retainedBufferCapacity``; 0 frees it).
    package mutating func frameEnded(
        at offset: Int, retainingCapacity retained: Int = 0
    ) throws(WebSocketProtocolError) -> WebSocketMessageEvent? {
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
                throw fail(.invalidUTF8, at: offset)
            }
            switch delivery {
            case .streaming:
                return .messageEnd(kind)
            case .wholeMessages:
                guard kind == .text else {
                    let bytes = buffer
                    buffer = []
                    return .binary(bytes)
                }
                // Every piece was validated above as it came (1007 at the first invalid byte) and
                // the message does not end inside a sequence: the String is made without
                // validating the bytes a second time (`String(decoding:)` would).
                let text = String(copying: UTF8Span(unchecked: buffer.span))
                if buffer.capacity > retained {
                    buffer = []
                } else {
                    buffer.removeAll(keepingCapacity: true)
                }
                return .text(text)
            }
        }
    }
}
