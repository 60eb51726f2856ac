import WireCore

// The send side: the state's permission first, then the send pipeline into the outbound
// buffer (RFC 6455 §5.4, §5.5, §7.1.2). A refused send writes nothing and changes nothing.

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
            try allowSend()
            try sender.writeText(text, into: &outbound)
        case .binary(let bytes):
            try sendMessage(.binary, bytes.span)
        case .fragment(let kind, let bytes, let isFinal):
            try sendFragment(kind, bytes.span, isFinal: isFinal)
        case .ping(let payload):
            try allowSend()
            try sender.writeControl(.ping, payload.span, into: &outbound)
        case .pong(let payload):
            try allowSend()
            try sender.writeControl(.pong, payload.span, into: &outbound)
        case .close(let code, let reason):
            try close(code: code, reason: reason)
        }
    }

    /// Sends a whole message from borrowed bytes (text must be UTF-8: it is checked).
    public mutating func sendMessage(_ kind: WebSocketMessageKind, _ payload: Span<UInt8>) throws(WebSocketUsageError) {
        try allowSend()
        try sender.writeMessage(kind, payload, into: &outbound)
    }

    /// Sends the next fragment of a streamed message from borrowed bytes (§5.4): the first
    /// call starts a message of `kind`, `isFinal` ends it. With permessage-deflate, a streamed
    /// message is always compressed (its size is not known in advance).
    public mutating func sendFragment(_ kind: WebSocketMessageKind, _ payload: Span<UInt8>, isFinal: Bool) throws(WebSocketUsageError) {
        try allowSend()
        try sender.writeFragment(kind, payload, isFinal: isFinal, into: &outbound)
    }

    /// Starts the closing handshake (§7.1.2): our close frame goes out (after a pending pong),
    /// no data follows, and what the peer sends is discarded until its close arrives.
    public mutating func close(code: WebSocketCloseCode? = .normalClosure, reason: String = "") throws(WebSocketUsageError) {
        let close = WebSocketClose(code: code, reason: reason)
        let transition = phase.transition(on: .sendClose(close))
        if let refusal = transition.refusal { throw WebSocketUsageError(refusal) }
        _ = try close.payload()    // refused before anything, the pending pong included, is written
        _ = apply(transition)      // the pending pong, our close frame, closing
    }

    /// Whether the state lets the application send (the transition of `.send`): `not-open`,
    /// `close-already-sent`, `connection-closed` otherwise.
    @inline(__always)
    private func allowSend() throws(WebSocketUsageError) {
        if let refusal = phase.transition(on: .send).refusal { throw WebSocketUsageError(refusal) }
    }

    // MARK: Frames the connection decides on

    /// Writes a ping or pong the connection decided on (an automatic pong, a keep-alive ping).
    mutating func writeControl(_ opcode: WebSocketOpcode, _ payload: [UInt8]) {
        do {
            try sender.writeControl(opcode, payload.span, into: &outbound)
        } catch {
            preconditionFailure("a received ping's payload fits a pong: \(error)")
        }
    }

    /// Writes a close frame we decided on ourselves (an echo, a failure, a timeout).
    mutating func writeOwnClose(_ close: WebSocketClose) {
        sender.writeOwnClose(close, into: &outbound)
    }

    /// Writes the answer to the last ping, if one is pending.
    mutating func flushPendingPong() {
        guard let payload = pendingPong else { return }
        pendingPong = nil
        writeControl(.pong, payload)
    }
}
