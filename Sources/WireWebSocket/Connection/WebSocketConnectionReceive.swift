// The receive path of an open or closing connection: frame parser → unmasking in place in the
// receive buffer → inflater for compressed messages (with the message budget) → assembler,
// and the closing handshake's receiving side (RFC 6455 §5, §7; RFC 7692 §6.2).

extension WebSocketConnection {
    mutating func nextFrameEvent() throws(WebSocketProtocolError) -> WebSocketEvent? {
        lentCount = 0
        if flags.contains(.frameEndPending) {
            flags.remove(.frameEndPending)
            if let event = try endFrame(at: parser.bytesConsumed) { return event }
        }
        while true {
            let step: WebSocketFrameParser.Step
            do {
                let start = inboundStart
                step = try inbound.withUnsafeBufferPointer { (buffer) throws(WebSocketProtocolError) in
                    try parser.parse(buffer.span, from: start)
                }
            } catch {
                try fail(error)
            }
            inboundStart &+= step.consumed
            guard let event = step.event else {
                // Everything was consumed (a partial header is kept by the parser).
                releaseConsumedInbound()
                return flags.contains(.receivedEOF) ? endOfStream() : nil
            }
            switch event {
            case .head(let header):
                if case .closing = phase, header.opcode.isData {
                    // §1.4 / §7.1.2: after our close, data is discarded unread.
                    flags.insert(.skippingFrame)
                    continue
                }
                flags.remove(.skippingFrame)
                if header.fin { flags.insert(.frameFin) } else { flags.remove(.frameFin) }
                if let deflate = extras?.deflate {
                    if header.opcode == .text || header.opcode == .binary { deflate.inflatedInMessage = 0 }
                    deflate.framePayloadOffset = parser.bytesConsumed
                }
                let started: WebSocketMessageEvent?
                do {
                    started = try assembler.frameStarted(header, at: parser.bytesConsumed &- header.encodedSize)
                } catch {
                    try fail(error)
                }
                if case .messageStart(let kind, _)? = started { return .messageStart(kind) }

            case .payload(let piece):
                if flags.contains(.skippingFrame) { continue }
                piece.unmask(inPlace: &inbound)
                let range = piece.range
                let offset = parser.bytesConsumed &- (inboundStart &- range.lowerBound)
                if isInflating {
                    let produced = try inflate(range, fin: false)
                    if produced > 0, let kind = streamingKind {
                        lentCount = produced
                        flags.insert(.lentInflated)
                        return .fragment(kind, byteCount: produced)
                    }
                } else {
                    do {
                        try inbound.withUnsafeBufferPointer { (buffer) throws(WebSocketProtocolError) in
                            try assembler.payload(buffer.span.extracting(range), at: offset)
                        }
                    } catch {
                        try fail(error)
                    }
                    if !range.isEmpty, !assembler.currentFrameIsControl, let kind = streamingKind {
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
                let offset = parser.bytesConsumed
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
                if let event = try endFrame(at: offset) { return event }
            }
        }
    }

    /// Whether the current data frame's payload goes through the inflater.
    private var isInflating: Bool {
        extras?.deflate != nil && assembler.currentMessageIsCompressed && !assembler.currentFrameIsControl
    }

    /// The kind of the current message when pieces are delivered as fragments.
    private var streamingKind: WebSocketMessageKind? {
        guard assembler.delivery == .streaming, !assembler.currentFrameIsControl else { return nil }
        return assembler.currentMessageKind
    }

    /// Inflates `inbound[range]` (or nothing, with the trailer, when `range` is `nil`) into
    /// the inflated buffer, within the message budget, and hands the output to the assembler.
    ///
    /// Errors found in inflated data (corrupt deflate data, the budget, invalid UTF-8 in
    /// inflated text) have no exact byte in the compressed stream; they are reported at the
    /// first payload byte of the frame being inflated, so the offset does not depend on how
    /// the input was split (as ``WebSocketMessageDecoder`` does).
    private mutating func inflate(_ range: Range<Int>?, fin: Bool) throws(WebSocketProtocolError) -> Int {
        let box = extras!.deflate!
        let offset = box.framePayloadOffset
        box.inflated.removeAll(keepingCapacity: true)
        let budget = assembler.limits.maxMessageSize &- box.inflatedInMessage
        do throws(WebSocketProtocolError) {
            let produced: Int
            if let range {
                produced = try inbound.withUnsafeBufferPointer { (buffer) throws(WebSocketProtocolError) in
                    try box.decompress(buffer.span.extracting(range), fin: fin, limit: budget, offset: offset)
                }
            } else {
                produced = try box.decompress(Span(), fin: fin, limit: budget, offset: offset)
            }
            box.inflatedInMessage &+= produced
            if produced > 0 {
                let output = box.inflated
                do throws(WebSocketProtocolError) {
                    try assembler.payload(output.span, at: 0)
                } catch {
                    throw WebSocketProtocolError(error.code, closeCode: error.closeCode, offset: offset)
                }
            }
            return produced
        } catch {
            try fail(error)
        }
    }

    /// The assembler's verdict at a frame's end, turned into an event.
    private mutating func endFrame(at offset: Int) throws(WebSocketProtocolError) -> WebSocketEvent? {
        let ended: WebSocketMessageEvent?
        do {
            ended = try assembler.frameEnded(at: offset)
        } catch {
            try fail(error)
        }
        guard let ended else { return nil }
        switch ended {
        case .text(let text):
            return .text(text)
        case .binary(let bytes):
            return .binary(bytes)
        case .messageStart(let kind, _):
            return .messageStart(kind)
        case .messageEnd(let kind):
            return .messageEnd(kind)
        case .ping(let payload):
            if case .closing = phase {
                // §5.5.2: a ping is answered unless the peer's close was received, so also
                // after our close while theirs is awaited (a pong is a control frame, not the
                // data §5.5.1 stops). Not delivered: the application can no longer send.
                if configuration.values.automaticPong {
                    if pongsSinceTake < Self.pongsPerBatch {
                        pongsSinceTake &+= 1
                        writeFrame(.pong, fin: true, reserved: [], payload.span)
                    } else {
                        pendingPong = payload
                    }
                }
                return nil
            }
            guard phase == .open else { return nil }
            if configuration.values.automaticPong {
                if pongsSinceTake < Self.pongsPerBatch {
                    pongsSinceTake &+= 1
                    writeFrame(.pong, fin: true, reserved: [], payload.span)
                } else {
                    pendingPong = payload
                }
            }
            return .ping(payload)
        case .pong(let payload):
            guard phase == .open else { return nil }
            if let keepAlive, keepAlive.pongDeadline != Timers.unarmed, keepAlive.matchesPong(payload) {
                keepAlive.pongDeadline = Timers.unarmed
                return nil
            }
            return .pong(payload)
        case .close(let close):
            return closeReceived(close)
        }
    }

    /// The peer's close frame (§5.5.1, §7.1.2–7.1.4): answered with the same code when it
    /// comes first; ends the closing handshake when we started it.
    private mutating func closeReceived(_ close: WebSocketClose) -> WebSocketEvent {
        let closure: WebSocketClosure
        switch phase {
        case .closing(let sent):
            closure = WebSocketClosure(cause: .closeAnswered, received: close, sent: sent)
        default:
            flushPendingPong()
            let echo = WebSocketClose(code: close.code)
            writeClose(echo)
            closure = WebSocketClosure(cause: .closeReceived, received: close, sent: echo)
        }
        enter(.closed(closure))
        return .closed(closure)
    }

    /// Fails the connection (§7.1.7): the close frame with the error's code (unless ours is
    /// already out), then closed; the error is thrown now and `.closed` returned next.
    mutating func fail(_ error: WebSocketProtocolError) throws(WebSocketProtocolError) -> Never {
        var sent: WebSocketClose? = nil
        switch phase {
        case .closing(let ours):
            sent = ours
            pendingPong = nil
        case .open:
            pendingPong = nil
            let close = WebSocketClose(code: error.closeCode)
            writeClose(close)
            sent = close
        default:
            break
        }
        enter(.closed(WebSocketClosure(cause: .protocolError(error), sent: sent)))
        flags.insert(.closedEventPending)
        throw error
    }

    /// The transport ended with every received byte consumed.
    private mutating func endOfStream() -> WebSocketEvent {
        var sent: WebSocketClose? = nil
        if case .closing(let ours) = phase { sent = ours }
        let closure = WebSocketClosure(cause: .endOfStream, sent: sent)
        enter(.closed(closure))
        return .closed(closure)
    }
}
