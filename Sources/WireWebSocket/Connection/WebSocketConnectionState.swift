/// Where a ``WebSocketConnection`` is (RFC 6455 §4, §7): connecting → open → closing → closed.
///
/// ```
/// connecting ──101 sent/validated──▶ open ──our close──▶ closing ──their close──▶ closed
///      │                              │                     │
///      └─rejected/failed/timeout─▶ closed ◀─their close, error, EOF, peer overdue─┘
/// ```
///
/// `Spec/connection.md` has the full transition table.
public enum WebSocketConnectionState: Sendable, Hashable {
    /// The opening handshake is in progress (only for connections that drive it).
    public enum Connecting: Sendable, Hashable {
        /// Client: the Upgrade request is out; waiting for the server's answer.
        case awaitingResponse
        /// Server: waiting for (the rest of) the Upgrade request.
        case awaitingRequest
        /// Server: a valid Upgrade request was delivered as ``WebSocketEvent/upgradeRequest(_:)``;
        /// waiting for ``WebSocketConnection/accept(_:)`` or ``WebSocketConnection/reject(status:headerFields:)``.
        case awaitingDecision
    }

    case connecting(Connecting)
    /// Messages flow both ways.
    case open
    /// We sent this close frame; data from the peer is discarded until its close frame
    /// arrives (§7.1.2, §1.4).
    indirect case closing(sent: WebSocketClose)
    /// Over. Nothing more is read or sent; see ``WebSocketConnection/transport`` for what to
    /// do with the transport.
    indirect case closed(WebSocketClosure)

    /// Whether messages may be sent.
    public var isOpen: Bool { self == .open }

    /// Whether the connection is over.
    public var isClosed: Bool {
        if case .closed = self { return true }
        return false
    }
}

/// How and why a connection closed: the browser's `CloseEvent` (code, reason, wasClean) with
/// the cause spelled out.
public struct WebSocketClosure: Sendable, Hashable, CustomStringConvertible {
    /// What ended the connection.
    public enum Cause: Sendable, Hashable {
        /// The peer's close frame came first; we answered it with the same code (§5.5.1).
        case closeReceived
        /// We closed first and the peer answered (§7.1.2).
        case closeAnswered
        /// The peer broke the protocol: we sent a close frame with the error's close code and
        /// stopped reading (§7.1.7).
        case protocolError(WebSocketProtocolError)
        /// The transport ended before the closing handshake did (application code 1006, §7.1.5).
        case endOfStream
        /// The keep-alive ping went unanswered past its timeout: we sent a close frame with
        /// 1001 (going away) and stopped waiting (the application sees 1006: no close frame
        /// was received).
        case peerOverdue
        /// Our close frame went unanswered past the closing timeout (1006).
        case closingTimedOut
        /// The opening handshake ended with a non-101 answer: received (client) or sent
        /// (server, after ``WebSocketConnection/reject(status:headerFields:)``).
        case handshakeRejected(WebSocketHandshakeRejection)
        /// The opening handshake was invalid (bad request, bad 101, timeout, early EOF). A
        /// server has the rejection (400/403/426) in its outbound bytes.
        case handshakeFailed(WebSocketHandshakeError)
    }

    public var cause: Cause
    /// The peer's close frame, if one arrived.
    public var received: WebSocketClose?
    /// The close frame we sent, if any.
    public var sent: WebSocketClose?

    public init(cause: Cause, received: WebSocketClose? = nil, sent: WebSocketClose? = nil) {
        self.cause = cause
        self.received = received
        self.sent = sent
    }

    /// The status for the application (§7.1.5, §7.4.1): the peer's code; 1005 when its close
    /// frame had none; 1006 when no close frame was received.
    public var code: WebSocketCloseCode {
        guard let received else { return .abnormalClosure }
        return received.code ?? .noStatusReceived
    }

    /// The peer's reason (empty when none was received).
    public var reason: String { received?.reason ?? "" }

    /// Whether both close frames were exchanged (the browser's `wasClean`; §7.1.4 "the
    /// WebSocket Connection is Closed cleanly" also needs the TCP close, which is the
    /// transport's).
    public var wasClean: Bool { received != nil && sent != nil }

    public var description: String {
        "closed (\(cause)) code \(code.rawValue)\(reason.isEmpty ? "" : " \"\(reason)\"")\(wasClean ? " clean" : "")"
    }
}

/// What to do with the transport (TCP, TLS) under the connection.
public enum WebSocketTransportDirective: Sendable, Hashable {
    /// Keep reading and writing.
    case keepOpen
    /// Write what ``WebSocketConnection/takeOutbound()`` returns, then close the transport:
    /// a server after the closing handshake (§7.1.1: "the server MUST close the underlying TCP
    /// connection immediately"), either side after a failure, a timeout or the peer's EOF.
    case closeNow
    /// Client after the closing handshake: write what is pending, keep reading, and let the
    /// server close first (§7.1.1); becomes ``closeNow`` at the peer's EOF or when the
    /// closing timeout passes (``WebSocketConnection/tick(now:)``).
    case waitForPeerToClose
}

/// A point on the caller's monotonic clock, in nanoseconds from any fixed origin (for
/// example `DispatchTime.now().uptimeNanoseconds` or NIO's `NIODeadline.now()`). The
/// connection never reads a clock: the caller passes instants to
/// ``WebSocketConnection/tick(now:)``.
public struct WebSocketInstant: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var nanoseconds: UInt64

    public init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.nanoseconds < rhs.nanoseconds }

    /// `lhs` moved forward by `rhs` (negative durations count as zero; saturating).
    public static func + (lhs: Self, rhs: Duration) -> Self {
        let (seconds, attoseconds) = rhs.components
        guard seconds >= 0 && (seconds > 0 || attoseconds > 0) else { return lhs }
        let (secondsPart, overflow1) = UInt64(clamping: seconds).multipliedReportingOverflow(by: 1_000_000_000)
        let nanos = UInt64(clamping: attoseconds / 1_000_000_000)
        let (delta, overflow2) = secondsPart.addingReportingOverflow(nanos)
        let (sum, overflow3) = lhs.nanoseconds.addingReportingOverflow(delta)
        return Self(nanoseconds: overflow1 || overflow2 || overflow3 ? .max : sum)
    }

    public var description: String { "\(nanoseconds) ns" }
}

/// What ``WebSocketConnection/nextEvent()`` reports.
public enum WebSocketEvent: Sendable, Hashable {
    /// Server (driving the handshake): a valid Upgrade request. Inspect it (path, cookies,
    /// subprotocols), then ``WebSocketConnection/accept(_:)`` or
    /// ``WebSocketConnection/reject(status:headerFields:)``.
    case upgradeRequest(WebSocketServerHandshake)
    /// Client (driving the handshake): the server's 101 was valid; the connection is open.
    case accepted(WebSocketNegotiation)
    /// A whole text message (``WebSocketConfiguration/Delivery/wholeMessages``).
    case text(String)
    /// A whole binary message (``WebSocketConfiguration/Delivery/wholeMessages``).
    case binary([UInt8])
    /// Streaming delivery: a message begins.
    case messageStart(WebSocketMessageKind)
    /// Streaming delivery: the next `byteCount` bytes of the current message (unmasked,
    /// inflated, checked against the limits and, for text, valid UTF-8 so far; a character may
    /// be split across fragments). Read them with ``WebSocketConnection/withFragment(_:)``
    /// before the next call that changes the connection.
    case fragment(WebSocketMessageKind, byteCount: Int)
    /// Streaming delivery: the current message ended (text: a valid UTF-8 whole).
    case messageEnd(WebSocketMessageKind)
    /// A ping with its application data (§5.5.2). With automatic pongs on, the answer is
    /// already queued (beyond 16 pings between two takes of the outbound bytes, only the
    /// latest is answered).
    case ping([UInt8])
    /// A pong the keep-alive did not ask for (an answer to the application's own ping, or an
    /// unsolicited heartbeat, §5.5.3). Keep-alive pongs are consumed silently.
    case pong([UInt8])
    /// The connection is over (always the last event, exactly once): after the closing
    /// handshake in either order, a protocol error, EOF, a timeout or a failed handshake.
    case closed(WebSocketClosure)
}

/// What ``WebSocketConnection/send(_:)`` takes.
public enum WebSocketOutboundEvent: Sendable, Hashable {
    /// A whole text message.
    case text(String)
    /// A whole binary message.
    case binary([UInt8])
    /// The next fragment of a message we stream (§5.4): the first one starts the message,
    /// `isFinal` ends it. Text fragments are checked for UTF-8 as they go.
    case fragment(WebSocketMessageKind, [UInt8], isFinal: Bool)
    /// A ping (at most 125 bytes).
    case ping([UInt8])
    /// An unsolicited pong (at most 125 bytes); answers to pings are automatic by default.
    case pong([UInt8])
    /// Start the closing handshake (§7.1.2): `nil` sends an empty close frame.
    case close(WebSocketCloseCode?, reason: String = "")
}
