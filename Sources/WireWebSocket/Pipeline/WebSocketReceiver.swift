public import WireCore

/// The receive pipeline of a WebSocket endpoint (RFC 6455 §5, RFC 7692 §6.2): bytes in,
/// checked messages out. Every receiving path of the package runs through it: the connection,
/// the CLI's `ws decode`, the NIO adapter (through the connection), the fuzzers and the
/// benchmark.
///
/// ```
/// bytes ─▶ frame parser ─▶ unmask in place ─▶ [inflate, within the message's budget] ─▶ message layer ─▶ events
///          (§5.2 rules,     (in the receive    (RSV1 messages: zlib never gets more      (sequence §5.4, limits,
///           frame limit)     buffer)            room than the message has left)           UTF-8 §5.6, close §5.5.1)
/// ```
///
/// ``receive(_:)`` buffers bytes, ``nextEvent()`` parses them: `nil` means everything was
/// consumed (a partial frame header is kept by the parser) and more is needed. A read that
/// starts or continues a masked payload (everything before it consumed) is unmasked while it
/// is copied into the receive buffer, one pass; what it did not cover is unmasked in place. In streaming
/// delivery each checked piece is lent through ``withFragment(_:)`` — unmasked in place in
/// the receive buffer, or from the inflater's output — and nothing is kept. A protocol error is
/// thrown with its close code; after it every call throws it again.
///
/// `~Copyable` because it owns the zlib state of the inflater.
public struct WebSocketReceiver: ~Copyable, Sendable {
    // Stored properties are ordered to pack (a connection holds one): the flags fill the
    // parser's tail padding.
    var parser: WebSocketFrameParser
    var flags: Flags = []
    var assembler: WebSocketMessageAssembler
    /// The settings it was made with (the limits, the delivery, the buffer policy).
    public let configuration: WebSocketConfiguration
    var inbound: [UInt8] = []
    var inboundStart = 0
    /// Masked payload bytes of the current frame that ``receive(_:)`` unmasked while copying
    /// them in (one pass instead of a copy, then an unmask): those below this index in
    /// `inbound` are plain already; 0 when there are none.
    var unmaskedEnd = 0
    /// The length of the current `.fragment` event's bytes: the last `lentCount` bytes consumed
    /// from the receive buffer (unmasked in place), or the inflater's output (`.lentInflated`).
    var lentCount = 0
    /// The inflater and frame tracing, when either is used (an endpoint without them holds
    /// nothing here).
    var extras: Extras? = nil

    /// - Parameters:
    ///   - role: our role, the receiver of the frames (a server requires them masked, §5.1).
    ///   - deflate: the agreed permessage-deflate parameters, or `nil` when not negotiated
    ///     (RSV1 then fails with 1002).
    ///   - configuration: limits, delivery, `allowNonMinimalLengths`,
    ///     `retainedBufferCapacity`, and the inflater's memory policy.
    ///   - reportsFrames: report each frame header as ``WebSocketMessageEvent/frame(_:offset:)``
    ///     before the message layer sees it (for tracing tools).
    /// - Throws: `unsupported-deflate-parameters` when `deflate` is out of range.
    public init(
        role: Role, deflate: PerMessageDeflateParameters? = nil, configuration: WebSocketConfiguration = .init(),
        reportsFrames: Bool = false
    ) throws(WebSocketUsageError) {
        let values = configuration.values
        parser = WebSocketFrameParser(
            role: role, limits: values.limits, allowedReservedBits: deflate == nil ? [] : .rsv1,
            allowNonMinimalLengths: values.allowNonMinimalLengths)
        assembler = WebSocketMessageAssembler(limits: values.limits, delivery: values.delivery)
        self.configuration = configuration
        if deflate != nil || reportsFrames {
            // Tracing alone gets an idle inflater (no zlib state is made until it inflates).
            let inflater: PerMessageDeflateDecompressor
            do {
                inflater = try PerMessageDeflateDecompressor(
                    parameters: deflate ?? .init(), role: role, configuration: values.deflate)
            } catch {
                throw WebSocketUsageError(.unsupportedDeflateParameters)
            }
            extras = Extras(inflater: inflater, inflates: deflate != nil, reportsFrames: reportsFrames)
        }
    }

    /// Our role.
    public var role: Role { parser.role }

    /// Whether frame headers are reported as ``WebSocketMessageEvent/frame(_:offset:)``.
    public var reportsFrames: Bool { extras?.reportsFrames ?? false }

    /// Bytes received and not yet parsed.
    public var bufferedByteCount: Int { inbound.count &- inboundStart }

    /// Bytes parsed since creation: the stream offset of the next byte (error offsets count
    /// from the first byte received).
    public var streamOffset: Int { parser.streamOffset }

    /// Whether no frame and no message is in progress (an input that ends here is complete).
    public var isIdle: Bool { parser.isIdle && assembler.isIdle && extras?.pendingHead == nil }

    /// The capacity of the receive buffer, of the inflated output and of the message buffer.
    package var bufferCapacity: Int {
        inbound.capacity &+ (extras?.inflated.capacity ?? 0) &+ assembler.bufferCapacity
    }

    /// The zlib memory the inflater holds (zero without permessage-deflate).
    package var inflaterMemory: ZlibMemory { extras?.inflater.memory ?? ZlibMemory(held: 0, peak: 0) }

    // MARK: Receiving

    /// Buffers bytes read from the transport; ``nextEvent()`` parses them. Invalidates the
    /// current fragment's bytes.
    ///
    /// The buffer holds what you give it until ``nextEvent()`` returns `nil`, which means
    /// everything was consumed: read again only then, and the buffer never exceeds one read.
    public mutating func receive(_ bytes: Span<UInt8>) {
        guard !bytes.isEmpty else { return }
        lentCount = 0
        if inboundStart == inbound.count {
            inbound.removeAll(keepingCapacity: true)
            inboundStart = 0
            unmaskedEnd = 0
            if let fused = fusedUnmask(bytes) {
                // Everything buffered was parsed: the payload of the frame these bytes start
                // (or continue) is unmasked on its way in.
                bytes.withUnsafeBytes { inbound.append(contentsOf: fused.copying(from: $0)) }
                unmaskedEnd = fused.payload.upperBound
                return
            }
        } else if inboundStart >= 4096 && inboundStart &* 2 >= inbound.count {
            inbound.removeSubrange(..<inboundStart)
            unmaskedEnd = unmaskedEnd > inboundStart ? unmaskedEnd &- inboundStart : 0
            inboundStart = 0
        }
        bytes.withUnsafeBufferPointer { inbound.append(contentsOf: $0) }
    }
    /// Payloads shorter than this are copied, then unmasked in place (the plan costs more than
    /// the second pass over so few bytes).
    static var fusedUnmaskMinimum: Int { 64 }

    /// Where the masked payload bytes of the frame in progress lie in `bytes`, the next input of
    /// a parser that consumed everything before it: either the parser is inside a masked
    /// payload, or it is between frames and `bytes` starts with a whole masked header. `nil`
    /// when no such payload of at least ``fusedUnmaskMinimum`` bytes is there. A header read
    /// here is only a plan: the parser reads and checks it again, and throws before any of its
    /// payload is used if it is wrong.
    private func fusedUnmask(_ bytes: Span<UInt8>) -> FusedUnmask? {
        let count = bytes.count
        guard count >= Self.fusedUnmaskMinimum else { return nil }
        switch parser.state {
        case .payload:
            guard let key = parser.maskingKey else { return nil }
            let n = parser.remaining < count ? parser.remaining : count
            guard n >= Self.fusedUnmaskMinimum else { return nil }
            return FusedUnmask(payload: 0..<n, key: key, phase: parser.payloadOffset)
        case .header:
            guard parser.pendingCount == 0, count >= 2 else { return nil }
            return bytes.withUnsafeBytes { raw -> FusedUnmask? in
                let b1 = raw[1]
                guard b1 & 0x80 != 0 else { return nil }
                let len7 = Int(b1 & 0x7F)
                let size = 6 &+ (len7 < 126 ? 0 : (len7 == 126 ? 2 : 8))
                guard count >= size else { return nil }
                let length: Int
                if len7 < 126 {
                    length = len7
                } else if len7 == 126 {
                    length = Int(UInt16(bigEndian: raw.loadUnaligned(fromByteOffset: 2, as: UInt16.self)))
                } else {
                    let wide = UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 2, as: UInt64.self))
                    guard wide >> 63 == 0 else { return nil }
                    length = Int(wide)
                }
                let available = count &- size
                let n = length < available ? length : available
                guard n >= Self.fusedUnmaskMinimum else { return nil }
                let key = WebSocketMaskingKey(networkOrder: UInt32(bigEndian: raw.loadUnaligned(fromByteOffset: size &- 4, as: UInt32.self)))
                return FusedUnmask(payload: size..<(size &+ n), key: key, phase: 0)
            }
        case .end, .failed:
            return nil
        }
    }

    /// Unmasks a payload piece in the receive buffer, except the bytes ``receive(_:)`` unmasked
    /// already.
    private mutating func unmask(_ piece: WebSocketPayloadPiece) {
        let range = piece.range
        let plain = unmaskedEnd
        if range.upperBound >= plain { unmaskedEnd = 0 }
        guard let key = piece.maskingKey else { return }
        let from = plain <= range.lowerBound ? range.lowerBound : (plain < range.upperBound ? plain : range.upperBound)
        guard from < range.upperBound else { return }
        let phase = piece.payloadOffset &+ (from &- range.lowerBound)
        inbound.withUnsafeMutableBytes { raw in
            let base = raw.baseAddress! + from
            key.xor(from: base, to: base, count: range.upperBound &- from, phase: phase)
        }
    }


    /// The next event, or `nil` when every buffered byte was consumed and more are needed.
    ///
    /// - Throws: the peer's ``WebSocketProtocolError`` (its ``WebSocketProtocolError/closeCode``
    ///   is the close frame to fail the connection with, §7.1.7); every later call throws it
    ///   again.
    public mutating func nextEvent() throws(WebSocketProtocolError) -> WebSocketMessageEvent? {
        lentCount = 0
        if let failure = assembler.failure { throw failure }
        if flags.contains(.frameEndPending) {
            flags.remove(.frameEndPending)
            if let event = try endFrame(at: parser.streamOffset) { return event }
        }
        if let extras, let (header, offset) = extras.pendingHead {
            extras.pendingHead = nil
            if let event = try startFrame(header, at: offset) { return event }
        }
        while true {
            let start = inboundStart
            let step = try inbound.withUnsafeBufferPointer { (buffer) throws(WebSocketProtocolError) in
                try parser.parse(buffer.span, from: start)
            }
            inboundStart &+= step.consumed
            guard let event = step.event else {
                // Everything was consumed (a partial header is kept by the parser).
                releaseConsumedInbound()
                return nil
            }
            switch event {
            case .head(let header):
                if flags.contains(.discardingData) && header.opcode.isData {
                    // §1.4, §7.1.2: after our close, data is discarded unread.
                    flags.insert(.skippingFrame)
                    continue
                }
                flags.remove(.skippingFrame)
                let offset = parser.streamOffset &- header.encodedSize
                if let extras, extras.reportsFrames {
                    extras.pendingHead = (header, offset)
                    return .frame(header, offset: offset)
                }
                if let event = try startFrame(header, at: offset) { return event }

            case .payload(let piece):
                if flags.contains(.skippingFrame) {
                    if piece.range.upperBound >= unmaskedEnd { unmaskedEnd = 0 }
                    continue
                }
                unmask(piece)
                let range = piece.range
                if isInflating {
                    let produced = try inflate(range, fin: false)
                    if produced > 0, let kind = streamingKind {
                        lentCount = produced
                        flags.insert(.lentInflated)
                        return .fragment(kind, byteCount: produced)
                    }
                } else {
                    let offset = parser.streamOffset &- range.count
                    try inbound.withUnsafeBufferPointer { (buffer) throws(WebSocketProtocolError) in
                        try assembler.payload(buffer.span.extracting(range), at: offset)
                    }
                    if !range.isEmpty, let kind = streamingKind {
                        // The piece ends where the parser stopped: `withFragment` finds it there.
                        lentCount = range.count
                        flags.remove(.lentInflated)
                        return .fragment(kind, byteCount: range.count)
                    }
                }

            case .end:
                if flags.contains(.skippingFrame) {
                    flags.remove(.skippingFrame)
                    continue
                }
                if flags.contains(.frameFin) && isInflating {
                    // RFC 7692 §7.2.2: the final frame's end appends 00 00 ff ff.
                    let produced = try inflate(nil, fin: true)
                    if produced > 0, let kind = streamingKind {
                        lentCount = produced
                        flags.insert(.lentInflated)
                        flags.insert(.frameEndPending)
                        return .fragment(kind, byteCount: produced)
                    }
                }
                if let event = try endFrame(at: parser.streamOffset) { return event }
            }
        }
    }

    /// Lends the bytes of the current ``WebSocketMessageEvent/fragment(_:byteCount:)`` event (an
    /// empty span when the last event was not a fragment). Valid until the next call that
    /// changes the receiver.
    public func withFragment<R, E: Error>(_ body: (Span<UInt8>) throws(E) -> R) throws(E) -> R {
        if lentCount == 0 { return try body(Span()) }
        if flags.contains(.lentInflated) {
            let bytes = extras?.inflated ?? []
            return try body(bytes.span)
        }
        return try body(inbound.span.extracting((inboundStart &- lentCount)..<inboundStart))
    }

    // MARK: For the connection

    /// From now on, data frames are skipped unread (a connection after its close frame went
    /// out, §7.1.2); control frames are still read.
    mutating func discardDataFrames() {
        flags.insert(.discardingData)
    }

    /// Sets the receiver up for the negotiated permessage-deflate, keeping the bytes already
    /// buffered (a connection that ran its own handshake opens with the frames that came with it).
    mutating func reconfigure(deflate: PerMessageDeflateParameters) throws(WebSocketUsageError) {
        var fresh = try WebSocketReceiver(role: role, deflate: deflate, configuration: configuration, reportsFrames: reportsFrames)
        swap(&fresh.inbound, &inbound)
        fresh.inboundStart = inboundStart
        fresh.unmaskedEnd = unmaskedEnd
        self = fresh
    }

    /// Drops the buffers and the zlib state (a closed connection keeps nothing).
    mutating func release() {
        inbound = []
        inboundStart = 0
        unmaskedEnd = 0
        lentCount = 0
        extras = nil
        assembler = WebSocketMessageAssembler(limits: .init(), delivery: .wholeMessages)
    }

    /// Frees the receive buffer and the inflated output once everything in the receive buffer
    /// was consumed (each keeping up to ``WebSocketConfiguration/retainedBufferCapacity``).
    mutating func releaseConsumedInbound() {
        guard inboundStart == inbound.count else { return }
        let retained = configuration.values.retainedBufferCapacity
        if inbound.capacity > retained {
            inbound = []
        } else {
            inbound.removeAll(keepingCapacity: true)
        }
        inboundStart = 0
        unmaskedEnd = 0
        // Nothing is lent any more (`nextEvent()` returned `nil`).
        if let extras, extras.inflated.capacity > retained { extras.inflated = [] }
    }

    // MARK: The stages

    /// A frame header into the message layer.
    private mutating func startFrame(_ header: WebSocketFrameHeader, at offset: Int) throws(WebSocketProtocolError) -> WebSocketMessageEvent? {
        if header.fin { flags.insert(.frameFin) } else { flags.remove(.frameFin) }
        let event = try assembler.frameStarted(header, at: offset)
        if let extras { extras.framePayloadOffset = offset &+ header.encodedSize }
        return event
    }

    /// The message layer's verdict at a frame's end.
    private mutating func endFrame(at offset: Int) throws(WebSocketProtocolError) -> WebSocketMessageEvent? {
        try assembler.frameEnded(at: offset, retainingCapacity: configuration.values.retainedBufferCapacity)
    }

    /// Whether the current data frame's payload goes through the inflater.
    private var isInflating: Bool {
        extras?.inflates == true && assembler.currentMessageIsCompressed && !assembler.currentFrameIsControl
    }

    /// The kind of the current message when pieces are delivered as fragments.
    private var streamingKind: WebSocketMessageKind? {
        guard assembler.delivery == .streaming, !assembler.currentFrameIsControl else { return nil }
        return assembler.currentMessageKind
    }

    /// Inflates `inbound[range]` (or nothing, with the trailer, when `range` is `nil`) into the
    /// inflated buffer, within the message's room (one budget: the message layer's), and hands
    /// the output to the message layer.
    ///
    /// Errors found in inflated data (corrupt deflate data, the limit, invalid UTF-8 in inflated
    /// text) have no exact byte in the compressed stream: they are reported at the first payload
    /// byte of the frame being inflated, so the offset does not depend on how the input was
    /// split. What zlib produced before failing came first in the message and is checked first,
    /// as a split that had inflated it in an earlier call would have.
    private mutating func inflate(_ range: Range<Int>?, fin: Bool) throws(WebSocketProtocolError) -> Int {
        let box = extras!
        let offset = box.framePayloadOffset
        box.inflated.removeAll(keepingCapacity: true)
        let budget = assembler.messageRoom
        var failure: WebSocketProtocolError? = nil
        var produced = 0
        do throws(WebSocketProtocolError) {
            if let range {
                produced = try inbound.withUnsafeBufferPointer { (buffer) throws(WebSocketProtocolError) in
                    try box.decompress(buffer.span.extracting(range), fin: fin, limit: budget, offset: offset)
                }
            } else {
                produced = try box.decompress(Span(), fin: fin, limit: budget, offset: offset)
            }
        } catch {
            failure = error
            produced = box.inflated.count
        }
        if produced > 0 {
            let output = box.inflated
            do throws(WebSocketProtocolError) {
                try assembler.payload(output.span, at: offset)
            } catch {
                let located = WebSocketProtocolError(error.code, offset: offset)
                assembler.recordFailure(located)
                throw located
            }
        }
        if let failure {
            assembler.recordFailure(failure)
            throw failure
        }
        return produced
    }
}

// MARK: Storage

extension WebSocketReceiver {
    struct Flags: OptionSet, Sendable {
        var rawValue: UInt8
        /// Discarding the data frame in progress (``discardDataFrames()``).
        static let skippingFrame = Flags(rawValue: 1 << 0)
        /// The frame in progress has FIN set.
        static let frameFin = Flags(rawValue: 1 << 1)
        /// A `.fragment` was returned for an inflated tail; the frame's end is still to process.
        static let frameEndPending = Flags(rawValue: 1 << 2)
        /// The current fragment's bytes are the inflater's output.
        static let lentInflated = Flags(rawValue: 1 << 3)
        /// Data frames are skipped (after our close).
        static let discardingData = Flags(rawValue: 1 << 4)
    }

    /// The inflater with its output buffer, and frame tracing. Reached only through the
    /// `~Copyable` receiver, so never shared.
    final class Extras: @unchecked Sendable {
        var inflater: PerMessageDeflateDecompressor
        /// Whether permessage-deflate was negotiated (else the inflater is idle: tracing only).
        let inflates: Bool
        /// Inflated output of the current piece (lent as a fragment in streaming delivery).
        var inflated: [UInt8] = []
        /// The stream offset of the current frame's first payload byte (for inflation errors).
        var framePayloadOffset = 0
        let reportsFrames: Bool
        /// A header reported as `.frame` and not yet given to the message layer.
        var pendingHead: (WebSocketFrameHeader, Int)? = nil
        /// Idle hibernation's timer (``PerMessageDeflateHibernation/afterIdle(_:)``).
        var idleWatch = DeflateIdleWatch()

        init(inflater: consuming PerMessageDeflateDecompressor, inflates: Bool, reportsFrames: Bool) {
            self.inflater = inflater
            self.inflates = inflates
            self.reportsFrames = reportsFrames
        }

        func decompress(_ piece: Span<UInt8>, fin: Bool, limit: Int, offset: Int) throws(WebSocketProtocolError) -> Int {
            try inflater.decompress(piece, fin: fin, limit: limit, into: &inflated, offset: offset)
        }
    }
}
/// How ``WebSocketReceiver/receive(_:)`` copies an input whose `payload` bytes are masked:
/// those are XOR-ed with the key on the way into the receive buffer, the rest copied as is.
struct FusedUnmask {
    /// Indices into the input.
    var payload: Range<Int>
    var key: WebSocketMaskingKey
    /// The payload offset of the first of them.
    var phase: Int

    func copying(from source: UnsafeRawBufferPointer) -> Copy {
        Copy(source: source, plan: self)
    }

    /// The input as a sequence that writes itself straight into the array's new storage
    /// (`Array.append(contentsOf:)` hands a sequence its uninitialized capacity through
    /// `_copyContents`): one pass over the bytes, with no zero-filling first. Iterating it
    /// yields the same bytes one at a time (a correct, slow path for any other consumer).
    struct Copy: Sequence {
        let source: UnsafeRawBufferPointer
        let plan: FusedUnmask

        var underestimatedCount: Int { source.count }

        func makeIterator() -> Iterator { Iterator(copy: self, index: 0) }

        /// Byte `index` of the input as it goes into the buffer (unmasked in the payload range).
        func byte(at index: Int) -> UInt8 {
            var byte = source[index]
            if plan.payload.contains(index) {
                withUnsafeMutableBytes(of: &byte) { raw in
                    plan.key.xor(from: raw.baseAddress!, to: raw.baseAddress!, count: 1,
                                 phase: plan.phase &+ (index &- plan.payload.lowerBound))
                }
            }
            return byte
        }

        struct Iterator: IteratorProtocol {
            let copy: Copy
            var index: Int

            mutating func next() -> UInt8? {
                guard index < copy.source.count else { return nil }
                defer { index &+= 1 }
                return copy.byte(at: index)
            }
        }

        func _copyContents(initializing buffer: UnsafeMutableBufferPointer<UInt8>) -> (Iterator, Int) {
            let count = source.count < buffer.count ? source.count : buffer.count
            guard count > 0, let src = source.baseAddress, let dst = buffer.baseAddress else {
                return (makeIterator(), 0)
            }
            let out = UnsafeMutableRawPointer(dst)
            let head = plan.payload.lowerBound < count ? plan.payload.lowerBound : count
            let end = plan.payload.upperBound < count ? plan.payload.upperBound : count
            if head > 0 { out.copyMemory(from: src, byteCount: head) }
            if end > head { plan.key.xor(from: src + head, to: out + head, count: end &- head, phase: plan.phase) }
            if end < count { (out + end).copyMemory(from: src + end, byteCount: count &- end) }
            return (Iterator(copy: self, index: count), count)
        }
    }
}
