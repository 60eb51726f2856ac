public import WireCore

/// One step of ``WebSocketFrameParser/parse(_:from:)``: how many bytes were consumed (from
/// `start`) and the event, if any (as `HTTP1ParseStep` is for HTTP/1.1).
public struct WebSocketParseStep: Sendable, Hashable {
    /// How many bytes of the input were used, from the `start` given to `parse`.
    public var consumed: Int
    /// The event, or `nil` when all the input was consumed and more is needed.
    public var event: WebSocketParseEvent?

    @inlinable
    public init(consumed: Int, event: WebSocketParseEvent?) {
        self.consumed = consumed
        self.event = event
    }
}

/// What ``WebSocketFrameParser/parse(_:from:)`` found.
public enum WebSocketParseEvent: Sendable, Hashable {
    /// A frame header, validated. Its payload follows as zero or more ``payload(_:)`` events,
    /// then ``end``.
    case head(WebSocketFrameHeader)
    /// The next piece of the current frame's payload: a range of the input given to this call,
    /// still masked as it was received. Unmask it with ``WebSocketPayloadPiece/unmask(_:appendingTo:)``
    /// (copying) or ``WebSocketPayloadPiece/unmask(inPlace:)``; the piece knows its mask phase.
    case payload(WebSocketPayloadPiece)
    /// The current frame's payload is complete.
    case end
}

/// Where a piece of payload lies in the parser's input, and how to unmask it.
///
/// The parser never touches payload bytes: it hands out ranges of the caller's buffer, and the
/// caller unmasks them straight into their destination (one pass, no intermediate copy, no
/// allocation). `phase` is the payload offset of the piece's first byte, so pieces of one frame
/// split anywhere unmask correctly.
public struct WebSocketPayloadPiece: Sendable, Hashable {
    /// The piece's bytes: indices into the span passed to `parse`.
    public var range: Range<Int>
    /// The frame's masking key, or `nil` for an unmasked (server-to-client) frame.
    public var maskingKey: WebSocketMaskingKey?
    /// Offset of `range.lowerBound` from the start of the frame's payload.
    public var payloadOffset: Int

    @inlinable
    public init(range: Range<Int>, maskingKey: WebSocketMaskingKey?, payloadOffset: Int) {
        self.range = range
        self.maskingKey = maskingKey
        self.payloadOffset = payloadOffset
    }

    /// Appends the piece's unmasked bytes, taken from `input` (the span given to `parse`), to `out`.
    @inlinable
    public func unmask(_ input: Span<UInt8>, appendingTo out: inout [UInt8]) {
        let bytes = input.extracting(range)
        if let key = maskingKey {
            key.apply(bytes, phase: payloadOffset, appendingTo: &out)
        } else {
            bytes.withUnsafeBytes { out.append(contentsOf: $0) }
        }
    }

    /// Unmasks the piece in place in `buffer` (the same bytes that were given to `parse`, now
    /// mutable: e.g. a transport's read buffer); afterwards `buffer[range]` holds the payload.
    @inlinable
    public func unmask(inPlace buffer: inout MutableSpan<UInt8>) {
        guard let key = maskingKey else { return }
        precondition(range.upperBound <= buffer.count, "range out of bounds")
        let (range, phase) = (self.range, payloadOffset)
        buffer.withUnsafeMutableBytes { raw in
            guard let base = raw.baseAddress else { return }
            key.xor(from: base + range.lowerBound, to: base + range.lowerBound, count: range.count, phase: phase)
        }
    }

    /// Unmasks the piece in place in `buffer` (an array holding the bytes given to `parse`).
    @inlinable
    public func unmask(inPlace buffer: inout [UInt8]) {
        guard let key = maskingKey else { return }
        key.apply(to: &buffer, range: range, phase: payloadOffset)
    }
}

/// An incremental RFC 6455 §5.2 frame parser: bytes in, header/payload/end events out.
///
/// - Any split of the input gives the same events (payload pieces are cut differently, but
///   their concatenation is the same).
/// - Streaming and zero-copy: payload is reported as ranges of the caller's input; nothing is
///   buffered except the bytes of a header split across calls (at most 14, one header).
/// - Strict: reserved opcodes, unnegotiated RSV bits, fragmented or long control frames, wrong
///   masking for the role, non-minimal lengths and the 64-bit length's high bit fail with 1002;
///   frames over ``WebSocketLimits/maxFrameSize`` fail with 1009 as soon as the length is read.
///
/// It is the first stage of ``WebSocketReceiver``, which unmasks, assembles, inflates and
/// validates after it; use it alone to look at frames (a proxy, a tracer).
///
/// ```swift
/// var offset = 0
/// while true {
///     let step = try parser.parse(input, from: offset)
///     offset += step.consumed
///     guard let event = step.event else { break }     // need more data
///     ...
/// }
/// ```
public struct WebSocketFrameParser: Sendable {
    @usableFromInline
    enum State: Sendable {
        /// Between frames, or inside a header (`pendingCount` bytes of it buffered).
        case header
        /// Inside a payload.
        case payload
        /// Payload complete; `.end` is next.
        case end
        /// A protocol error was thrown; every later call throws it again.
        case failed
    }

    // Stored properties are declared widest first so that the parser packs into 80 bytes
    // (a connection holds one per peer).

    /// Frames with a longer payload fail with 1009 (`frame-too-large`).
    public let maxFrameSize: Int
    @usableFromInline var remaining: Int = 0
    @usableFromInline var payloadOffset: Int = 0
    @usableFromInline var position: Int = 0
    /// The bytes of a header split across calls (at most 14).
    @usableFromInline var pending: (UInt64, UInt64) = (0, 0)
    @usableFromInline var failure: WebSocketProtocolError? = nil
    @usableFromInline var maskingKey: WebSocketMaskingKey? = nil
    /// The role of the endpoint receiving these frames (us): a server requires masked frames,
    /// a client requires unmasked ones (§5.1).
    public let role: Role
    /// RSV bits owned by negotiated extensions; any other set bit fails with 1002.
    public let allowedReservedBits: ReservedBits
    /// Accept payload lengths encoded in more bytes than needed (5 sent as `126, 0x0005`).
    /// RFC 6455 §5.2: "the minimal number of bytes MUST be used". Off: `non-minimal-length`.
    public let allowNonMinimalLengths: Bool
    @usableFromInline var state: State = .header
    /// How many bytes of `pending` are filled (at most 14).
    @usableFromInline var pendingCount: UInt8 = 0

    /// - Parameters:
    ///   - role: our role, the receiver of the frames.
    ///   - limits: ``WebSocketLimits/maxFrameSize`` is the longest payload accepted (the
    ///     message limit is the message layer's).
    ///   - allowedReservedBits: RSV bits a negotiated extension owns (`.rsv1` for permessage-deflate).
    ///   - allowNonMinimalLengths: the one leniency (off by default).
    public init(role: Role, limits: WebSocketLimits = .init(), allowedReservedBits: ReservedBits = [],
                allowNonMinimalLengths: Bool = false) {
        self.role = role
        self.maxFrameSize = limits.maxFrameSize
        self.allowedReservedBits = allowedReservedBits
        self.allowNonMinimalLengths = allowNonMinimalLengths
    }

    /// Bytes consumed since creation: the stream offset of the next input's first byte (error
    /// offsets count from the parser's first byte).
    public var streamOffset: Int { position }

    /// Whether the parser is between frames with nothing of the next one received.
    public var isIdle: Bool { state == .header && pendingCount == 0 }

    /// Parses from `input[start...]`. Ranges in payload events are indices into `input`.
    @inlinable
    public mutating func parse(_ input: Span<UInt8>, from start: Int = 0) throws(WebSocketProtocolError) -> WebSocketParseStep {
        precondition(start >= 0 && start <= input.count, "start out of bounds")
        switch state {
        case .payload:
            let available = input.count &- start
            if available == 0 { return WebSocketParseStep(consumed: 0, event: nil) }
            let n = remaining < available ? remaining : available
            let piece = WebSocketPayloadPiece(range: start..<(start &+ n), maskingKey: maskingKey, payloadOffset: payloadOffset)
            remaining &-= n
            payloadOffset &+= n
            position &+= n
            if remaining == 0 { state = .end }
            return WebSocketParseStep(consumed: n, event: .payload(piece))
        case .end:
            state = .header
            return WebSocketParseStep(consumed: 0, event: .end)
        case .header:
            return try parseHeader(input, from: start)
        case .failed:
            throw failure!
        }
    }

    @usableFromInline
    mutating func parseHeader(_ input: Span<UInt8>, from start: Int) throws(WebSocketProtocolError) -> WebSocketParseStep {
        let available = input.count &- start
        // Fast path: the whole header is in the input.
        if pendingCount == 0 && available >= 2 {
            let result: Result<WebSocketParseStep?, WebSocketProtocolError> = input.withUnsafeBytes { raw in
                let p = raw.baseAddress! + start
                let needed = headerSize(p.load(as: UInt8.self), p.load(fromByteOffset: 1, as: UInt8.self))
                guard available >= needed else { return .success(nil) }
                do throws(WebSocketProtocolError) {
                    let header = try decodeHeader(p, streamOffset: position)
                    return .success(WebSocketParseStep(consumed: needed, event: .head(header)))
                } catch {
                    return .failure(error)
                }
            }
            switch result {
            case .success(let step?):
                position &+= step.consumed
                if case .head(let header) = step.event { begin(header) }
                return step
            case .success(nil):
                break
            case .failure(let error):
                state = .failed
                failure = error
                throw error
            }
        }
        // Slow path: gather the header in `pending` across calls.
        var consumed = 0
        while consumed < available {
            let byte = input[start &+ consumed]
            withUnsafeMutableBytes(of: &pending) { $0[Int(pendingCount)] = byte }
            pendingCount &+= 1
            consumed &+= 1
            if pendingCount >= 2 {
                let needed = withUnsafeBytes(of: pending) { headerSize($0[0], $0[1]) }
                if pendingCount == 2 {
                    // Validate the first two bytes as soon as they arrive.
                    do {
                        try withUnsafeBytes(of: pending) { raw throws(WebSocketProtocolError) in
                            try checkFirstBytes(raw[0], raw[1], frameOffset: position &+ consumed &- 2)
                        }
                    } catch {
                        state = .failed
                        failure = error
                        throw error
                    }
                }
                if Int(pendingCount) == needed {
                    let frameOffset = position &+ consumed &- needed
                    let header: WebSocketFrameHeader
                    do {
                        header = try withUnsafeBytes(of: pending) { raw throws(WebSocketProtocolError) in
                            try decodeHeader(raw.baseAddress!, streamOffset: frameOffset)
                        }
                    } catch {
                        state = .failed
                        failure = error
                        throw error
                    }
                    pendingCount = 0
                    position &+= consumed
                    begin(header)
                    return WebSocketParseStep(consumed: consumed, event: .head(header))
                }
            }
        }
        position &+= consumed
        return WebSocketParseStep(consumed: consumed, event: nil)
    }

    @inlinable @inline(__always)
    mutating func begin(_ header: WebSocketFrameHeader) {
        remaining = header.payloadLength
        payloadOffset = 0
        maskingKey = header.maskingKey
        state = remaining == 0 ? .end : .payload
    }

    /// The header length announced by its first two bytes.
    @inlinable @inline(__always)
    func headerSize(_ b0: UInt8, _ b1: UInt8) -> Int {
        let len7 = b1 & 0x7F
        let ext = len7 < 126 ? 0 : (len7 == 126 ? 2 : 8)
        return 2 &+ ext &+ (b1 & 0x80 == 0 ? 0 : 4)
    }

    @inlinable @inline(__always)
    func checkFirstBytes(_ b0: UInt8, _ b1: UInt8, frameOffset: Int) throws(WebSocketProtocolError) {
        guard let opcode = WebSocketOpcode(rawValue: b0 & 0x0F) else {
            throw WebSocketProtocolError(.reservedOpcode, offset: frameOffset)
        }
        if b0 & 0x70 & ~allowedReservedBits.rawValue != 0 {
            throw WebSocketProtocolError(.reservedBitsSet, offset: frameOffset)
        }
        if opcode.isControl {
            if b0 & 0x80 == 0 {
                throw WebSocketProtocolError(.fragmentedControlFrame, offset: frameOffset)
            }
            // An extended length is too long for a control frame, unless non-minimal lengths
            // are allowed: then `decodeHeader` judges the length itself.
            if b1 & 0x7F > 125 && !allowNonMinimalLengths {
                throw WebSocketProtocolError(.controlFrameTooLong, offset: frameOffset &+ 1)
            }
        }
        let masked = b1 & 0x80 != 0
        switch role {
        case .server where !masked:
            throw WebSocketProtocolError(.unmaskedFrame, offset: frameOffset &+ 1)
        case .client where masked:
            throw WebSocketProtocolError(.maskedFrame, offset: frameOffset &+ 1)
        default:
            break
        }
    }

    /// Decodes and validates a complete header at `p`.
    @inlinable @inline(__always)
    func decodeHeader(_ p: UnsafeRawPointer, streamOffset frameOffset: Int) throws(WebSocketProtocolError) -> WebSocketFrameHeader {
        let b0 = p.load(as: UInt8.self)
        let b1 = p.load(fromByteOffset: 1, as: UInt8.self)
        try checkFirstBytes(b0, b1, frameOffset: frameOffset)
        let len7 = Int(b1 & 0x7F)
        var length: Int
        var n = 2
        if len7 < 126 {
            length = len7
        } else if len7 == 126 {
            length = Int(UInt16(bigEndian: p.loadUnaligned(fromByteOffset: 2, as: UInt16.self)))
            if length < 126 && !allowNonMinimalLengths {
                throw WebSocketProtocolError(.nonMinimalLength, offset: frameOffset &+ 2)
            }
            n = 4
        } else {
            let wide = UInt64(bigEndian: p.loadUnaligned(fromByteOffset: 2, as: UInt64.self))
            if wide >> 63 != 0 {
                throw WebSocketProtocolError(.payloadLengthHighBit, offset: frameOffset &+ 2)
            }
            if wide <= 0xFFFF && !allowNonMinimalLengths {
                throw WebSocketProtocolError(.nonMinimalLength, offset: frameOffset &+ 2)
            }
            if wide > UInt64(maxFrameSize) {
                throw WebSocketProtocolError(.frameTooLarge, offset: frameOffset &+ 2)
            }
            length = Int(wide)
            n = 10
        }
        if b0 & 0x08 != 0 && length > 125 {
            throw WebSocketProtocolError(.controlFrameTooLong, offset: frameOffset &+ 2)
        }
        if length > maxFrameSize {
            throw WebSocketProtocolError(.frameTooLarge, offset: frameOffset &+ (n == 2 ? 1 : 2))
        }
        var key: WebSocketMaskingKey? = nil
        if b1 & 0x80 != 0 {
            var k = WebSocketMaskingKey(0, 0, 0, 0)
            k.storage = p.loadUnaligned(fromByteOffset: n, as: UInt32.self)
            key = k
        }
        return WebSocketFrameHeader(
            fin: b0 & 0x80 != 0, reserved: ReservedBits(rawValue: b0), opcode: WebSocketOpcode(rawValue: b0 & 0x0F)!,
            maskingKey: key, payloadLength: length)
    }
}
