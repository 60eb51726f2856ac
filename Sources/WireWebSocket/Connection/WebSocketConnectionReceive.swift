// The receive side of an open or closing connection: the receive pipeline's events become
// inputs of the state machine (WebSocketConnectionTransition.swift), whose actions say what is
// delivered, answered or written (RFC 6455 §5.5, §7).

extension WebSocketConnection {
    /// - Parameter holdingFailure: a protocol error is kept in ``heldFailure`` (nothing
    ///   changes, `nil` is returned) instead of failing the connection now.
    mutating func nextFrameEvent(holdingFailure: Bool = false) throws(WebSocketProtocolError) -> WebSocketEvent? {
        if let held = heldFailure {
            if holdingFailure { return nil }
            heldFailure = nil
            _ = apply(phase.transition(on: .protocolError(held)))
            throw held
        }
        while true {
            let received: WebSocketMessageEvent?
            do {
                received = try receiver.nextEvent()
            } catch {
                if holdingFailure {
                    heldFailure = error
                    return nil
                }
                _ = apply(phase.transition(on: .protocolError(error)))
                throw error
            }
            guard let received else {
                guard flags.contains(.receivedEOF) else { return nil }
                return closedEvent(apply(phase.transition(on: .endOfStream)))
            }
            let event: WebSocketEvent
            let input: WebSocketConnectionInput
            var ping: [UInt8] = []
            switch received {
            case .text(let text):
                input = .data
                event = .text(text)
            case .binary(let bytes):
                input = .data
                event = .binary(bytes)
            case .messageStart(let kind):
                input = .data
                event = .messageStart(kind)
            case .fragment(let kind, let byteCount):
                input = .data
                event = .fragment(kind, byteCount: byteCount)
            case .messageEnd(let kind):
                input = .data
                event = .messageEnd(kind)
            case .ping(let payload):
                input = .ping
                ping = payload
                event = .ping(payload)
            case .pong(let payload):
                input = .pong(answersKeepAlive: keepAlive.map { $0.pongDeadline != Timers.unarmed && $0.matchesPong(payload) } ?? false)
                event = .pong(payload)
            case .close(let close):
                return closedEvent(apply(phase.transition(on: .close(close))))
            case .frame:
                continue    // the connection does not trace frames
            }
            if apply(phase.transition(on: input), ping: ping).contains(.deliver) { return event }
        }
    }

    /// `.closed` with the closure of the state just entered, when the actions say to deliver.
    func closedEvent(_ actions: WebSocketConnectionActions) -> WebSocketEvent? {
        guard actions.contains(.deliver), case .closed(let closure) = phase else { return nil }
        return .closed(closure)
    }
}
