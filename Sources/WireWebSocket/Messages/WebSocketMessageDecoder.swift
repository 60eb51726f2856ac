public import WireCore

/// The receive path of a WebSocket connection: frame parser → (unmask) → inflater for
/// compressed messages → message assembler, with the message size budget handed to the
/// inflater (RFC 6455 §5, RFC 7692 §6.2).
///
/// Bytes in, message events out, as with the frame parser: call ``decode(_:from:)`` until it
/// returns a step without an event (all input consumed, more needed). Fragments of a
/// compressed message are inflated as they arrive; the `00 00 ff ff` tail is appended at the
/// end of the last frame. A message over `maxMessageSize` fails with 1009 after at most that
/// many bytes were produced, corrupt deflate data with 1007, RSV1 on a control or
/// continuation frame with 1002 (the assembler's check). After an error every call throws it
/// again.
///
/// `~Copyable` because it owns the zlib state of the connection's inflater.
public struct WebSocketMessageDecoder: ~Copyable, Sendable {
    /// What ``decode(_:from:)`` reports.
    public enum Event: Sendable, Hashable {
        /// A frame header and its stream offset (only with `reportsFrames`).
        case frame(WebSocketFrameHeader, offset: Int)
        /// A message, control frame or close (``WebSocketMessageEvent``).
        case message(WebSocketMessageEvent)
    }

    public struct Step: Sendable, Hashable {
        /// Bytes consumed from `start`.
        public var consumed: Int
        /// `nil`: everything was consumed and more input is needed.
        public var event: Event?
    }

    public let role: Role
    public let limits: WebSocketLimits
    /// Whether frame headers are reported as `.frame` events (for tracing tools).
    public let reportsFrames: Bool

    private var parser: WebSocketFrameParser
    private var assembler: WebSocketMessageAssembler
    /// Present in both cases (its zlib state is created on first use only); used when
    /// `deflateEnabled`.
    private var deflate: PerMessageDeflate
    private let deflateEnabled: Bool
    private var scratch: [UInt8] = []
    private var inflated: [UInt8] = []
    private var frameFin = false
    /// The stream offset of the current frame's first payload byte.
    private var framePayloadOffset = 0
    private var inflatedInMessage = 0
    private var failure: WebSocketProtocolError?
    /// With `reportsFrames`, a header already reported but not yet given to the assembler
    /// (so a trace shows the frame before the error it causes).
    private var pendingHead: (header: WebSocketFrameHeader, offset: Int)?

    /// - Parameters:
    ///   - role: our role (the receiver of the frames).
    ///   - deflate: the agreed permessage-deflate parameters, or `nil` when not negotiated
    ///     (RSV1 then fails with 1002).
    ///   - deflateConfiguration: memory release between messages (compression settings do
    ///     not matter here).
    public init(
        role: Role, limits: WebSocketLimits = .init(),
        deflate: PerMessageDeflateParameters? = nil,
        deflateConfiguration: PerMessageDeflateConfiguration = .init(),
        reportsFrames: Bool = false, leniencies: WebSocketLeniencies = []
    ) throws(PerMessageDeflateNegotiationError) {
        self.role = role
        self.limits = limits
        self.reportsFrames = reportsFrames
        parser = WebSocketFrameParser(
            role: role, maxFrameSize: limits.maxFrameSize,
            allowedReservedBits: deflate == nil ? [] : .rsv1, leniencies: leniencies)
        assembler = WebSocketMessageAssembler(limits: limits, perMessageCompression: deflate != nil)
        deflateEnabled = deflate != nil
        self.deflate = try PerMessageDeflate(parameters: deflate ?? .init(), role: role, configuration: deflateConfiguration)
    }

    /// Whether no frame or message is partly received.
    public var isAtMessageBoundary: Bool { pendingHead == nil && parser.isAtFrameBoundary && assembler.isAtMessageBoundary }

    /// The zlib memory held (the inflater's; zero without permessage-deflate).
    public var deflateMemory: PerMessageDeflateMemory { deflate.memory }

    /// Decodes from `input[start...]` up to the next event.
    public mutating func decode(_ input: Span<UInt8>, from start: Int = 0) throws(WebSocketProtocolError) -> Step {
        if let failure { throw failure }
        do {
            return try step(input, from: start)
        } catch {
            failure = error
            throw error
        }
    }

    private mutating func step(_ input: Span<UInt8>, from start: Int) throws(WebSocketProtocolError) -> Step {
        // The stream offset of input[0], for error offsets.
        let base = parser.bytesConsumed &- start
        var index = start
        if let (header, offset) = pendingHead {
            pendingHead = nil
            if let started = try assembler.frameStarted(header, at: offset) {
                return Step(consumed: 0, event: .message(started))
            }
        }
        while true {
            let step = try parser.parse(input, from: index)
            index &+= step.consumed
            guard let event = step.event else { return Step(consumed: index &- start, event: nil) }
            switch event {
            case .head(let header):
                let offset = base &+ index &- header.encodedSize
                framePayloadOffset = base &+ index
                frameFin = header.fin
                if header.opcode == .text || header.opcode == .binary { inflatedInMessage = 0 }
                if reportsFrames {
                    pendingHead = (header, offset)
                    return Step(consumed: index &- start, event: .frame(header, offset: offset))
                }
                if let started = try assembler.frameStarted(header, at: offset) {
                    return Step(consumed: index &- start, event: .message(started))
                }
            case .payload(let piece):
                try deliver(piece, of: input, at: base &+ piece.range.lowerBound)
            case .end:
                let offset = base &+ index
                if frameFin && isInflating {
                    try inflate([UInt8]().span, fin: true)
                }
                if let ended = try assembler.frameEnded(at: offset) {
                    return Step(consumed: index &- start, event: .message(ended))
                }
            }
        }
    }

    private var isInflating: Bool {
        deflateEnabled && assembler.currentMessageIsCompressed && !assembler.currentFrameIsControl
    }

    private mutating func deliver(
        _ piece: WebSocketPayloadPiece, of input: Span<UInt8>, at offset: Int
    ) throws(WebSocketProtocolError) {
        if piece.maskingKey == nil && !isInflating {
            try assembler.payload(input.extracting(piece.range), at: offset)
            return
        }
        scratch.removeAll(keepingCapacity: true)
        piece.unmask(input, appendingTo: &scratch)
        if isInflating {
            // Swap out so the scratch buffer can be lent while self is mutated.
            let bytes = scratch
            scratch = []
            defer { scratch = bytes }
            try inflate(bytes.span, fin: false)
        } else {
            let bytes = scratch
            try assembler.payload(bytes.span, at: offset)
        }
    }

    /// Errors found in inflated data (corrupt deflate data, the budget, invalid UTF-8 in the
    /// inflated text) have no exact byte in the compressed stream, and the offset of the
    /// piece being inflated would depend on how the input was split: they are reported at
    /// the first payload byte of the frame being inflated.
    private mutating func inflate(_ bytes: Span<UInt8>, fin: Bool) throws(WebSocketProtocolError) {
        inflated.removeAll(keepingCapacity: true)
        let budget = limits.maxMessageSize &- inflatedInMessage
        let produced: Int
        do throws(WebSocketProtocolError) {
            produced = try deflate.decompress(bytes, fin: fin, limit: budget, into: &inflated, offset: framePayloadOffset)
        } catch {
            // What zlib produced before failing came first in the message: check it first, as
            // a split that had inflated it in an earlier call would have.
            try deliverInflated()
            throw error
        }
        inflatedInMessage &+= produced
        try deliverInflated()
    }

    private mutating func deliverInflated() throws(WebSocketProtocolError) {
        let output = inflated
        guard !output.isEmpty else { return }
        do throws(WebSocketProtocolError) {
            try assembler.payload(output.span, at: 0)
        } catch {
            throw WebSocketProtocolError(error.code, closeCode: error.closeCode, offset: framePayloadOffset)
        }
    }
}
