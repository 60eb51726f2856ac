public import WireCore

/// The send pipeline of a WebSocket endpoint (RFC 6455 §5, RFC 7692 §6.1): messages and control
/// frames in, frames out. Every sending path of the package runs through it: the connection,
/// the CLI's `ws encode`, the NIO adapter (through the connection), the fuzzers and the
/// benchmark.
///
/// ```
/// message ─▶ [deflate: the whole message, or each streamed fragment] ─▶ fragment (fragmentSize) ─▶ frame (RSV1 on the first) ─▶ mask (client) ─▶ bytes
/// ```
///
/// Each `write` appends to a buffer you own and checks what it is given first: a refused call
/// (`message-in-progress`, `invalid-utf8-text`, a control frame over 125 bytes, a close code
/// that may not be sent...) writes nothing and changes nothing. It knows nothing of the
/// connection's state: the connection decides whether a send is allowed at all.
///
/// `~Copyable` because it owns the zlib state of the compressor.
public struct WebSocketSender: ~Copyable, Sendable {
    /// The largest payload of a data frame (§5.4): ``WebSocketConfiguration/fragmentSize`` at
    /// first; may be changed between messages.
    public var fragmentSize: Int {
        didSet { precondition(fragmentSize >= 1, "fragmentSize must be at least 1") }
    }
    /// The compressor and its output buffer, when permessage-deflate is in use.
    var deflate: Deflate? = nil
    /// Where masking keys come from when not from the system's generator (a deterministic
    /// sequence or a fixed key, for tests and tools).
    var keys: KeySource? = nil
    /// The fragmented message we are sending, if any (§5.4).
    var streaming: Streaming? = nil
    /// Our role: a client masks every frame (§5.3), a server never does.
    public let role: Role

    /// - Parameters:
    ///   - role: our role (a client masks every frame with a fresh key).
    ///   - deflate: the agreed permessage-deflate parameters, or `nil` when not negotiated.
    ///   - configuration: `fragmentSize`, `maskingKeys`, and `deflate` (compression level,
    ///     memory level, the per-message policy, memory release).
    /// - Throws: `unsupported-deflate-parameters` when `deflate` would make our compressor use
    ///   an 8-bit window (our negotiation never agrees to that).
    public init(
        role: Role, deflate: PerMessageDeflateParameters? = nil, configuration: WebSocketConfiguration = .init()
    ) throws(WebSocketUsageError) {
        self.role = role
        let values = configuration.values
        fragmentSize = values.fragmentSize
        if let deflate {
            do {
                self.deflate = Deflate(
                    try PerMessageDeflateCompressor(parameters: deflate, role: role, configuration: values.deflate),
                    retainedCapacity: values.retainedBufferCapacity)
            } catch {
                throw WebSocketUsageError(.unsupportedDeflateParameters)
            }
        }
        switch values.maskingKeys.kind {
        case .system: break
        case .deterministic(let seed): keys = KeySource(state: seed, fixed: nil)
        case .fixed(let key): keys = KeySource(state: 0, fixed: key)
        }
    }

    /// Whether a fragmented message is being sent (its last fragment is still to come).
    public var isSendingMessage: Bool { streaming != nil }

    /// The capacity of the compressed output buffer.
    package var bufferCapacity: Int { deflate?.compressed.capacity ?? 0 }

    /// The zlib memory the compressor holds (zero without permessage-deflate).
    package var compressorMemory: ZlibMemory { deflate?.compressor.memory ?? ZlibMemory(held: 0, peak: 0) }

    // MARK: Messages

    /// Appends a text message (valid UTF-8 already, being a `String`).
    ///
    /// - Throws: `message-in-progress` while a fragmented message is unfinished.
    public mutating func writeText(_ text: String, into out: inout [UInt8]) throws(WebSocketUsageError) {
        guard streaming == nil else { throw WebSocketUsageError(.messageInProgress) }
        writeUnchecked(.text, text.utf8.span, into: &out)
    }

    /// Appends a whole message from borrowed bytes; text is checked for UTF-8 (§5.6).
    ///
    /// With permessage-deflate the message is compressed when the per-message policy says so
    /// (RSV1 on its first frame, RFC 7692 §6.1); then cut into frames of at most
    /// ``WebSocketConfiguration/fragmentSize`` bytes (§5.4).
    ///
    /// - Throws: `message-in-progress`, `invalid-utf8-text`.
    public mutating func writeMessage(
        _ kind: WebSocketMessageKind, _ payload: Span<UInt8>, into out: inout [UInt8]
    ) throws(WebSocketUsageError) {
        try writeMessage(kind, payload, checkingText: true, into: &out)
    }

    /// ``writeMessage(_:_:into:)``, with the UTF-8 check of text optional: the CLI builds
    /// invalid inputs on purpose.
    package mutating func writeMessage(
        _ kind: WebSocketMessageKind, _ payload: Span<UInt8>, checkingText: Bool, into out: inout [UInt8]
    ) throws(WebSocketUsageError) {
        guard streaming == nil else { throw WebSocketUsageError(.messageInProgress) }
        if checkingText && kind == .text && !UTF8Validator.isValid(payload) { throw WebSocketUsageError(.invalidUTF8Text) }
        writeUnchecked(kind, payload, into: &out)
    }

    /// Compresses (by the per-message policy), fragments and frames a message already checked.
    private mutating func writeUnchecked(_ kind: WebSocketMessageKind, _ payload: Span<UInt8>, into out: inout [UInt8]) {
        let opcode: WebSocketOpcode = kind == .text ? .text : .binary
        if let box = deflate {
            defer { box.releaseCompressed() }
            if box.compressMessage(payload) {
                let compressed = box.compressed
                writeFrames(opcode, reserved: .rsv1, compressed.span, fin: true, into: &out)
                return
            }
        }
        writeFrames(opcode, reserved: [], payload, fin: true, into: &out)
    }

    /// Appends the next fragment of a message we stream (§5.4): the first call starts a message
    /// of `kind`, `isFinal` ends it; control frames may go in between. Text fragments are
    /// checked for UTF-8 as they go, across fragment boundaries. With permessage-deflate a
    /// streamed message is always compressed (its size is not known in advance).
    ///
    /// - Throws: `message-in-progress` for another kind than the message's; `invalid-utf8-text`.
    public mutating func writeFragment(
        _ kind: WebSocketMessageKind, _ payload: Span<UInt8>, isFinal: Bool, into out: inout [UInt8]
    ) throws(WebSocketUsageError) {
        var next = streaming ?? Streaming(kind: kind)
        guard next.kind == kind else { throw WebSocketUsageError(.messageInProgress) }
        if kind == .text {
            guard next.utf8.validate(payload) == nil else { throw WebSocketUsageError(.invalidUTF8Text) }
            if isFinal && !next.utf8.isComplete { throw WebSocketUsageError(.invalidUTF8Text) }
        }
        let first = streaming == nil
        let opcode: WebSocketOpcode = first ? (kind == .text ? .text : .binary) : .continuation
        if let box = deflate {
            box.compress(payload, fin: isFinal)
            let compressed = box.compressed
            writeFrames(opcode, reserved: first ? .rsv1 : [], compressed.span, fin: isFinal, into: &out)
            if isFinal { box.releaseCompressed() }
        } else {
            writeFrames(opcode, reserved: [], payload, fin: isFinal, into: &out)
        }
        streaming = isFinal ? nil : next
    }

    /// Drops the compressor's zlib state (a closed connection keeps nothing).
    mutating func release() {
        deflate = nil
    }

    /// Forgets the message being streamed (a connection that closes mid-message).
    mutating func abandonMessage() {
        streaming = nil
    }

    // MARK: Control frames

    /// Appends a ping or a pong (never compressed, RFC 7692 §6.1).
    ///
    /// - Throws: `control-payload-too-long` over 125 bytes (§5.5).
    public mutating func writeControl(
        _ opcode: WebSocketOpcode, _ payload: Span<UInt8>, into out: inout [UInt8]
    ) throws(WebSocketUsageError) {
        precondition(opcode == .ping || opcode == .pong, "writeControl takes ping or pong; writeClose takes close")
        guard payload.count <= 125 else { throw WebSocketUsageError(.controlPayloadTooLong) }
        writeFrame(opcode, fin: true, reserved: [], payload, into: &out)
    }

    /// Appends a close frame (§5.5.1) with ``WebSocketClose/payload()``'s rules.
    ///
    /// - Throws: `close-code-not-sendable`, `close-reason-too-long`, `close-reason-without-code`.
    public mutating func writeClose(_ close: WebSocketClose, into out: inout [UInt8]) throws(WebSocketUsageError) {
        let payload = try close.payload()
        writeFrame(.close, fin: true, reserved: [], payload.span, into: &out)
    }

    /// Appends a close frame we decided on ourselves (an echo, a failure, a timeout): its code
    /// may be sent, and a reason too long for the frame is cut at a character boundary.
    mutating func writeOwnClose(_ close: WebSocketClose, into out: inout [UInt8]) {
        let payload: [UInt8]
        do {
            payload = try close.payload(truncatingReason: true)
        } catch {
            preconditionFailure("a close we decide on has a code that may be sent: \(error)")
        }
        writeFrame(.close, fin: true, reserved: [], payload.span, into: &out)
    }

    // MARK: Frames

    /// Writes a message's (or fragment's) payload as frames of at most `fragmentSize` bytes:
    /// the first with `opcode` and `reserved`, the rest continuations; the last has FIN when
    /// `fin`. An empty payload is one empty frame.
    private mutating func writeFrames(
        _ opcode: WebSocketOpcode, reserved: ReservedBits, _ payload: Span<UInt8>, fin: Bool, into out: inout [UInt8]
    ) {
        let size = fragmentSize
        if payload.count <= size {
            writeFrame(opcode, fin: fin, reserved: reserved, payload, into: &out)
            return
        }
        var start = 0
        while start < payload.count {
            let end = payload.count &- start <= size ? payload.count : start &+ size
            writeFrame(
                start == 0 ? opcode : .continuation, fin: fin && end == payload.count, reserved: start == 0 ? reserved : [],
                payload.extracting(start..<end), into: &out)
            start = end
        }
    }

    /// Writes one frame, masked with a fresh key when we are a client (§5.3).
    private mutating func writeFrame(
        _ opcode: WebSocketOpcode, fin: Bool, reserved: ReservedBits, _ payload: Span<UInt8>, into out: inout [UInt8]
    ) {
        let header = WebSocketFrameHeader(
            fin: fin, reserved: reserved, opcode: opcode, maskingKey: role == .client ? nextMaskingKey() : nil,
            payloadLength: payload.count)
        do {
            try header.write(payload: payload, into: &out)
        } catch {
            preconditionFailure("control frames were checked before writing: \(error)")
        }
    }

    /// A fresh masking key for a frame we send as a client (§5.3): from the system's secure
    /// generator, or the configuration's deterministic or fixed source.
    package mutating func nextMaskingKey() -> WebSocketMaskingKey {
        if let keys { return keys.next() }
        var system = SystemRandomNumberGenerator()
        return .random(using: &system)
    }
}

// MARK: Storage

extension WebSocketSender {
    /// A fragmented message we are sending (§5.4).
    struct Streaming: Sendable {
        var kind: WebSocketMessageKind
        /// Text fragments are validated as they go, across fragment boundaries.
        var utf8 = UTF8Validator()
    }

    /// The negotiated compressor and its output buffer. Reached only through the `~Copyable`
    /// sender, so never shared.
    final class Deflate: @unchecked Sendable {
        var compressor: PerMessageDeflateCompressor
        /// Compressed output of the message being sent.
        var compressed: [UInt8] = []
        /// Idle hibernation's timer (``PerMessageDeflateHibernation/afterIdle(_:)``).
        var idleWatch = DeflateIdleWatch()

        /// What `compressed` keeps between messages
        /// (``WebSocketConfiguration/retainedBufferCapacity``).
        let retainedCapacity: Int

        init(_ compressor: consuming PerMessageDeflateCompressor, retainedCapacity: Int) {
            self.compressor = compressor
            self.retainedCapacity = retainedCapacity
        }

        /// After a message's last frame: the output buffer keeps at most `retainedCapacity`.
        func releaseCompressed() {
            if compressed.capacity > retainedCapacity { compressed = [] }
        }

        /// Compresses a whole message into `compressed`; `false` when it should go uncompressed.
        func compressMessage(_ payload: Span<UInt8>) -> Bool {
            compressed.removeAll(keepingCapacity: true)
            return compressor.compressMessage(payload, into: &compressed)
        }

        /// Compresses a fragment into `compressed`.
        func compress(_ payload: Span<UInt8>, fin: Bool) {
            compressed.removeAll(keepingCapacity: true)
            compressor.compress(payload, fin: fin, into: &compressed)
        }
    }

    /// Deterministic masking keys (SplitMix64) or one fixed key, for tests and tools. Reached
    /// only through the `~Copyable` sender, so never shared.
    final class KeySource: @unchecked Sendable {
        var state: UInt64
        let fixed: WebSocketMaskingKey?

        init(state: UInt64, fixed: WebSocketMaskingKey?) {
            self.state = state
            self.fixed = fixed
        }

        func next() -> WebSocketMaskingKey {
            if let fixed { return fixed }
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return WebSocketMaskingKey(networkOrder: UInt32(truncatingIfNeeded: z ^ (z >> 31)))
        }
    }
}
