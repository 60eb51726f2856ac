// The receive side of an open or closing connection: the receive pipeline's events, turned
// into the connection's, with the automatic answers and the closing handshake's receiving
// side (RFC 6455 §5.5, §7).

extension WebSocketConnection {
    mutating func nextFrameEvent() throws(WebSocketProtocolError) -> WebSocketEvent? {
        while true {
            let received: WebSocketMessageEvent?
            do {
                received = try receiver.nextEvent()
            } catch {
                try fail(error)
            }
            guard let received else {
                return flags.contains(.receivedEOF) ? endOfStream() : nil
            }
            switch received {
            case .text(let text):
                return .text(text)
            case .binary(let bytes):
                return .binary(bytes)
            case .messageStart(let kind):
                return .messageStart(kind)
            case .fragment(let kind, let byteCount):
                return .fragment(kind, byteCount: byteCount)
            case .messageEnd(let kind):
                return .messageEnd(kind)
            case .ping(let payload):
                // §5.5.2: a ping is answered unless the peer's close was received, so also
                // after our close while theirs is awaited (a pong is a control frame, not the
                // data §5.5.1 stops); it is delivered only while open (the application can no
                // longer send after its close).
                if configuration.values.automaticPong {
                    if pongsSinceTake < Self.pongsPerBatch {
                        pongsSinceTake &+= 1
                        writeControl(.pong, payload)
                    } else {
                        pendingPong = payload
                    }
                }
                guard phase == .open else { continue }
                return .ping(payload)
            case .pong(let payload):
                guard phase == .open else { continue }
                if var timer = keepAlive, timer.pongDeadline != Timers.unarmed, timer.matchesPong(payload) {
                    timer.pongDeadline = Timers.unarmed
                    keepAlive = timer
                    continue
                }
                return .pong(payload)
            case .close(let close):
                return closeReceived(close)
            case .frame:
                continue    // the connection does not trace frames
            }
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
            writeOwnClose(echo)
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
            writeOwnClose(close)
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
