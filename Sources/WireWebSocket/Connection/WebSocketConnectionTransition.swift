// The connection's state machine as one pure function, blind to the role (in the spirit of
// h11's `_state.py`): (state, input) → (state, actions). Every row of the transition table in
// `Spec/connection.md` is one `case` below, and `ConnectionTransitionTests` checks the table
// against this function row by row. `WebSocketConnection` feeds it every input — what the
// pipelines and the handshake machine report, what the application asks, what the timers see —
// and then does what the actions say; it decides nothing about states itself.

/// What happened to a ``WebSocketConnection``: the inputs of its state machine.
package enum WebSocketConnectionInput: Sendable, Hashable {
    // MARK: The opening handshake (connections that run it)

    /// Server: the handshake machine delivered a valid Upgrade request.
    case upgradeRequest
    /// Client: the handshake machine validated the server's 101.
    case accepted
    /// Client: the server answered with another final status.
    case rejected(WebSocketHandshakeRejection)
    /// The handshake failed: an invalid request (a server's answer is queued by the machine)
    /// or answer, malformed HTTP, an early end of stream.
    case handshakeFailed(WebSocketHandshakeError)
    /// Server: the application accepts the pending request.
    case accept
    /// Server: the application refuses the pending request.
    case reject(WebSocketHandshakeRejection)

    // MARK: From the peer (the receive pipeline)

    /// A data message or a piece of one (whole, start, fragment, end).
    case data
    /// A ping.
    case ping
    /// A pong; `answersKeepAlive` when it carries the outstanding keep-alive ping's payload.
    case pong(answersKeepAlive: Bool)
    /// The peer's close frame.
    case close(WebSocketClose)
    /// The peer broke the protocol.
    case protocolError(WebSocketProtocolError)
    /// The transport ended, every received byte consumed.
    case endOfStream

    // MARK: From the application

    /// A message, a fragment, a ping or a pong to send.
    case send
    /// Our close frame (its payload already checked).
    case sendClose(WebSocketClose)

    // MARK: From the timers (`tick(now:)`)

    /// The opening handshake took longer than `handshakeTimeout`.
    case handshakeTimedOut
    /// A keep-alive ping is due.
    case keepAlivePingDue
    /// The keep-alive ping's pong is overdue.
    case keepAlivePongOverdue
    /// Our close frame went unanswered past `closingTimeout`.
    case closingTimedOut
    /// Client: the server did not close the transport within `closingTimeout` of the closing
    /// handshake.
    case peerCloseWaitExpired
}

/// What the connection does after an input.
package struct WebSocketConnectionActions: OptionSet, Sendable, Hashable, CustomStringConvertible {
    package var rawValue: UInt16
    package init(rawValue: UInt16) { self.rawValue = rawValue }

    /// Return the input's event to the application (a `.closed` when the state became closed).
    package static let deliver = Self(rawValue: 1 << 0)
    /// Queue a pong with the ping's payload (when `automaticPong` is on).
    package static let answerPing = Self(rawValue: 1 << 1)
    /// Write a pending pong before what follows.
    package static let flushPendingPong = Self(rawValue: 1 << 2)
    /// Drop a pending pong (nothing goes out after a failure's close frame).
    package static let dropPendingPong = Self(rawValue: 1 << 3)
    /// Write the close frame the new state says we sent.
    package static let writeClose = Self(rawValue: 1 << 4)
    /// Write what the application sends.
    package static let write = Self(rawValue: 1 << 5)
    /// Write a keep-alive ping.
    package static let writePing = Self(rawValue: 1 << 6)
    /// Queue the handshake machine's bytes (the 101, or a rejection).
    package static let writeHandshake = Self(rawValue: 1 << 7)
    /// The pong answers the keep-alive ping: clear its deadline, deliver nothing.
    package static let clearKeepAlive = Self(rawValue: 1 << 8)
    /// Skip the peer's data frames from now on (§7.1.2: after our close, data is discarded).
    package static let discardData = Self(rawValue: 1 << 9)
    /// Throw the protocol error (the next `nextEvent()` returns `.closed`).
    package static let throwError = Self(rawValue: 1 << 10)
    /// Return `.closed` from the next `nextEvent()` (the state changed outside it).
    package static let reportClosedLater = Self(rawValue: 1 << 11)
    /// Client: stop waiting for the server to close the transport (`transport` is `.closeNow`).
    package static let stopWaitingForPeer = Self(rawValue: 1 << 12)

    package var description: String {
        let names: [(Self, String)] = [
            (.deliver, "deliver"), (.answerPing, "answerPing"), (.flushPendingPong, "flushPendingPong"),
            (.dropPendingPong, "dropPendingPong"), (.writeClose, "writeClose"), (.write, "write"),
            (.writePing, "writePing"), (.writeHandshake, "writeHandshake"), (.clearKeepAlive, "clearKeepAlive"),
            (.discardData, "discardData"), (.throwError, "throwError"), (.reportClosedLater, "reportClosedLater"),
            (.stopWaitingForPeer, "stopWaitingForPeer"),
        ]
        let present = names.filter { contains($0.0) }.map(\.1)
        return present.isEmpty ? "nothing" : present.joined(separator: ", ")
    }
}

/// The outcome of one input: the new state (`nil`: unchanged), what to do, or the usage error
/// that refuses the input (then nothing changes and nothing is done).
package struct WebSocketConnectionTransition: Sendable, Hashable {
    package var next: WebSocketConnectionState?
    package var actions: WebSocketConnectionActions
    package var refusal: WebSocketUsageError.Code?

    package init(_ next: WebSocketConnectionState? = nil, _ actions: WebSocketConnectionActions = [], refusal: WebSocketUsageError.Code? = nil) {
        self.next = next
        self.actions = actions
        self.refusal = refusal
    }

    static func refuse(_ code: WebSocketUsageError.Code) -> Self { Self(refusal: code) }
}

extension WebSocketConnectionState {
    /// The transition for `input` in this state (RFC 6455 §4, §5.5, §7). Pure: the caller
    /// applies it.
    @inline(__always)
    package func transition(on input: WebSocketConnectionInput) -> WebSocketConnectionTransition {
        typealias T = WebSocketConnectionTransition
        switch (self, input) {
        // MARK: Open: the common case first.
        case (.open, .data):
            return T(nil, .deliver)
        case (.open, .send):
            return T(nil, .write)
        case (.open, .ping):
            return T(nil, [.deliver, .answerPing])
        case (.open, .pong(answersKeepAlive: false)):
            return T(nil, .deliver)
        case (.open, .pong(answersKeepAlive: true)):
            return T(nil, .clearKeepAlive)
        case (.open, .close(let received)):
            // §5.5.1: answered once with the same code (an empty close with an empty one).
            let echo = WebSocketClose(code: received.code)
            return T(.closed(WebSocketClosure(cause: .closeReceived, received: received, sent: echo)),
                     [.flushPendingPong, .writeClose, .deliver])
        case (.open, .protocolError(let error)):
            // §7.1.7: the close frame with the error's code; nothing after it.
            return T(.closed(WebSocketClosure(cause: .protocolError(error), sent: WebSocketClose(code: error.closeCode))),
                     [.dropPendingPong, .writeClose, .throwError])
        case (.open, .endOfStream):
            return T(.closed(WebSocketClosure(cause: .endOfStream)), .deliver)
        case (.open, .sendClose(let ours)):
            // §7.1.2: our close after a pending pong; no data follows; theirs is awaited.
            return T(.closing(sent: ours), [.flushPendingPong, .writeClose, .discardData])
        case (.open, .keepAlivePingDue):
            return T(nil, .writePing)
        case (.open, .keepAlivePongOverdue):
            // 1001 on the wire (we are going away); the application sees 1006.
            return T(.closed(WebSocketClosure(cause: .peerOverdue, sent: WebSocketClose(code: .goingAway))),
                     [.dropPendingPong, .writeClose, .reportClosedLater])

        // MARK: Opening handshake
        case (.connecting(.awaitingRequest), .upgradeRequest):
            return T(.connecting(.awaitingDecision), .deliver)
        case (.connecting(.awaitingResponse), .accepted):
            return T(.open, .deliver)
        case (.connecting(.awaitingDecision), .accept):
            return T(.open, .writeHandshake)
        case (.connecting(.awaitingResponse), .rejected(let rejection)):
            return T(.closed(WebSocketClosure(cause: .handshakeRejected(rejection))), .deliver)
        case (.connecting(.awaitingDecision), .reject(let rejection)):
            return T(.closed(WebSocketClosure(cause: .handshakeRejected(rejection))), [.writeHandshake, .reportClosedLater])
        case (.connecting, .handshakeFailed(let error)):
            // A server's answer to an invalid request (400, 403, 426) goes out.
            return T(.closed(WebSocketClosure(cause: .handshakeFailed(error))), [.writeHandshake, .deliver])
        case (.connecting, .handshakeTimedOut):
            return T(.closed(WebSocketClosure(cause: .handshakeFailed(WebSocketHandshakeError(.timedOut)))), .reportClosedLater)
        case (.connecting, .send), (.connecting, .sendClose):
            return .refuse(.notOpen)

        // MARK: Closing: our close is out, theirs awaited.
        case (.closing, .data), (.closing, .pong):
            return T()    // discarded unread
        case (.closing, .ping):
            // §5.5.2: answered until the peer's close arrives, not delivered (the application
            // can no longer send).
            return T(nil, .answerPing)
        case (.closing(let ours), .close(let received)):
            return T(.closed(WebSocketClosure(cause: .closeAnswered, received: received, sent: ours)), .deliver)
        case (.closing(let ours), .protocolError(let error)):
            return T(.closed(WebSocketClosure(cause: .protocolError(error), sent: ours)), [.dropPendingPong, .throwError])
        case (.closing(let ours), .endOfStream):
            return T(.closed(WebSocketClosure(cause: .endOfStream, sent: ours)), .deliver)
        case (.closing(let ours), .closingTimedOut):
            return T(.closed(WebSocketClosure(cause: .closingTimedOut, sent: ours)), .reportClosedLater)
        case (.closing, .send), (.closing, .sendClose):
            return .refuse(.closeAlreadySent)

        // MARK: Closed: over.
        case (.closed, .send), (.closed, .sendClose):
            return .refuse(.connectionClosed)
        case (.closed, .peerCloseWaitExpired):
            return T(nil, .stopWaitingForPeer)

        // MARK: A decision with no request waiting for one.
        case (_, .accept), (_, .reject):
            return .refuse(.noUpgradeRequestPending)

        // MARK: Everything else: nothing happens (input after the close, a timer of another
        // state, a handshake event outside the handshake).
        default:
            return T()
        }
    }
}
