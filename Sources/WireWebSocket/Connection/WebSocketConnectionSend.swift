import WireCore

// The send path: messages and control frames into the outbound buffer, with the state's
// permission checked first (RFC 6455 §5.4, §5.5, §7.1.2; RFC 7692 §6.1). A refused send
// writes nothing and changes nothing.

extension WebSocketConnection {
    /// Serializes `event` into the outbound buffer (``takeOutbound()``).
    ///
    /// - Throws: ``WebSocketUsageError``: `not-open` during the opening handshake,
    ///   `close-already-sent` after our close, `connection-closed` once closed,
    ///   `message-in-progress` for a new message while a fragmented one is unfinished,
    ///   `invalid-utf8-text` for text fragments that are not UTF-8, and the frame rules
    ///   (`control-payload-too-long`, `close-code-not-sendable`, `close-reason-too-long`).
    public mutating func send(_ event: WebSocketOutboundEvent) throws(WebSocketUsageError) {
        switch event {
        case .text(let text):
            // A String is valid UTF-8 already.
            try checkOpen()
            guard sending == nil else { throw WebSocketUsageError(.messageInProgress) }
            writeMessage(.text, text.utf8.span)
        case .binary(let bytes):
            try sendMessage(.binary, bytes.span)
        case .fragment(let kind, let bytes, let isFinal):
            try sendFragment(kind, bytes.span, isFinal: isFinal)
        case .ping(let payload):
            try sendControl(.ping, payload.span)
        case .pong(let payload):
            try sendControl(.pong, payload.span)
        case .close(let code, let reason):
            try close(code: code, reason: reason)
        }
    }

    /// Sends a whole message from borrowed bytes (text must be UTF-8: it is checked).
    public mutating func sendMessage(_ kind: WebSocketMessageKind, _ payload: Span<UInt8>) throws(WebSocketUsageError) {
        try checkOpen()
        guard sending == nil else { throw WebSocketUsageError(.messageInProgress) }
        if kind == .text {
            var validator = UTF8Validator()
            guard validator.validate(payload) == nil, validator.finish() else { throw WebSocketUsageError(.invalidUTF8Text) }
        }
        writeMessage(kind, payload)
    }

    /// Writes a whole message, compressed when permessage-deflate is on and its per-message
    /// policy says so (RSV1 on the first frame, RFC 7692 §6.1).
    private mutating func writeMessage(_ kind: WebSocketMessageKind, _ payload: Span<UInt8>) {
        let opcode: WebSocketOpcode = kind == .text ? .text : .binary
        if let box = extras?.deflate {
            if box.compressMessage(payload) {
                let compressed = box.compressed
                writeData(opcode, reserved: .rsv1, compressed.span, fin: true)
                return
            }
        }
        writeData(opcode, reserved: [], payload, fin: true)
    }

    /// Sends the next fragment of a streamed message from borrowed bytes (§5.4): the first
    /// call starts a message of `kind`, `isFinal` ends it. With permessage-deflate, a streamed
    /// message is always compressed (its size is not known in advance).
    public mutating func sendFragment(_ kind: WebSocketMessageKind, _ payload: Span<UInt8>, isFinal: Bool) throws(WebSocketUsageError) {
        try checkOpen()
        var next = sending ?? Sending(kind: kind)
        guard next.kind == kind else { throw WebSocketUsageError(.messageInProgress) }
        if kind == .text {
            guard next.utf8.validate(payload) == nil else { throw WebSocketUsageError(.invalidUTF8Text) }
            if isFinal && !next.utf8.isComplete { throw WebSocketUsageError(.invalidUTF8Text) }
        }
        let first = sending == nil
        let opcode: WebSocketOpcode = first ? (kind == .text ? .text : .binary) : .continuation
        if let box = extras?.deflate {
            box.compress(payload, fin: isFinal)
            let compressed = box.compressed
            writeData(opcode, reserved: first ? .rsv1 : [], compressed.span, fin: isFinal)
        } else {
            writeData(opcode, reserved: [], payload, fin: isFinal)
        }
        sending = isFinal ? nil : next
    }

    /// Sends a ping or an unsolicited pong (at most 125 bytes).
    private mutating func sendControl(_ opcode: WebSocketOpcode, _ payload: Span<UInt8>) throws(WebSocketUsageError) {
        try checkOpen()
        guard payload.count <= 125 else { throw WebSocketUsageError(.controlPayloadTooLong) }
        writeFrame(opcode, fin: true, reserved: [], payload)
    }

    /// Starts the closing handshake (§7.1.2): our close frame goes out (after a pending pong),
    /// no data follows, and what the peer sends is discarded until its close arrives.
    public mutating func close(code: WebSocketCloseCode? = .normalClosure, reason: String = "") throws(WebSocketUsageError) {
        try checkOpen()
        let payload = try WebSocketFrameSerializer<SystemRandomNumberGenerator>.closePayload(code: code, reason: reason)
        flushPendingPong()
        writeFrame(.close, fin: true, reserved: [], payload.span)
        sending = nil
        enter(.closing(sent: WebSocketClose(code: code, reason: reason)))
    }

    private func checkOpen() throws(WebSocketUsageError) {
        switch phase {
        case .open: return
        case .connecting: throw WebSocketUsageError(.notOpen)
        case .closing: throw WebSocketUsageError(.closeAlreadySent)
        case .closed: throw WebSocketUsageError(.connectionClosed)
        }
    }

    // MARK: Writing frames

    /// Writes a message's (or fragment's) payload as frames of at most `fragmentSize` bytes:
    /// the first with `opcode` and `reserved`, the rest continuations; the last has FIN when
    /// `fin`.
    private mutating func writeData(_ opcode: WebSocketOpcode, reserved: ReservedBits, _ payload: Span<UInt8>, fin: Bool) {
        let size = configuration.values.fragmentSize
        if payload.count <= size {
            writeFrame(opcode, fin: fin, reserved: reserved, payload)
            return
        }
        var start = 0
        while start < payload.count {
            let end = payload.count &- start <= size ? payload.count : start &+ size
            writeFrame(
                start == 0 ? opcode : .continuation, fin: fin && end == payload.count, reserved: start == 0 ? reserved : [],
                payload.extracting(start..<end))
            start = end
        }
    }

    /// Writes one frame, masked with a fresh key when we are a client (§5.3).
    mutating func writeFrame(_ opcode: WebSocketOpcode, fin: Bool, reserved: ReservedBits, _ payload: Span<UInt8>) {
        let header = WebSocketFrameHeader(
            fin: fin, reserved: reserved, opcode: opcode, maskingKey: role == .client ? nextMaskingKey() : nil,
            payloadLength: payload.count)
        do {
            try WebSocketFrameSerializer<SystemRandomNumberGenerator>.write(header: header, payload: payload, into: &outbound)
        } catch {
            preconditionFailure("control frames were checked before writing: \(error)")
        }
    }

    /// Writes a close frame we decided on ourselves (an echo, a failure, a timeout).
    mutating func writeClose(_ close: WebSocketClose) {
        var payload: [UInt8] = []
        if let code = close.code {
            payload = [UInt8(code.rawValue >> 8), UInt8(truncatingIfNeeded: code.rawValue)]
            payload.append(contentsOf: close.reason.utf8.prefix(123))
        }
        writeFrame(.close, fin: true, reserved: [], payload.span)
    }

    /// Writes the answer to the last ping, if one is pending.
    mutating func flushPendingPong() {
        guard let payload = pendingPong else { return }
        pendingPong = nil
        writeFrame(.pong, fin: true, reserved: [], payload.span)
    }
}
