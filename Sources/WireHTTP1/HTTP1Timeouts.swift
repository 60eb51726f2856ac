public import WireCore

/// How long a server connection waits for its client (RFC 9112 §9.5 lets either side close
/// a connection at any time; these are the moments a server usually does).
///
/// ``HTTP1Connection`` keeps the deadlines without a clock: ``HTTP1Connection/tick(now:)``
/// takes the caller's monotonic time and says when to call again and what to do. `nil`
/// turns a timeout off. The defaults follow nginx (`client_header_timeout`,
/// `keepalive_timeout`, `client_body_timeout`), tightened where a slow client costs a
/// server more than a fast one gains:
///
/// | timeout | default | runs while | on expiry |
/// |---|---|---|---|
/// | ``requestHead`` | 30 s | a request head is incomplete (from its first byte) | `408` + close |
/// | ``idle`` | 60 s | no request is in progress (from the connection's start, or the end of the last response) | close |
/// | ``bodyProgress`` | 60 s | a request body is being received: the longest gap without a byte | `408` + close, or close once a response began |
///
/// What no timeout covers: a request that has been read whole and waits for the
/// application's answer (a held long poll, a slow handler) is the application's business,
/// bounded by its own timeout; a streamed response is bounded by the client reading it.
/// The deadlines stop while the transport stops reading for the application's sake
/// (``HTTP1Connection/receivePaused()``): a client is only timed while we listen to it.
/// A client connection has no timeouts here.
public struct HTTP1Timeouts: Sendable, Hashable {
    /// The longest time from the first byte of a request head to its end: a slow client
    /// (slowloris, one byte at a time) cannot hold a connection with an unfinished head.
    /// Default 30 s, half of nginx's `client_header_timeout`: a real client sends its head
    /// in one write. Expiry: `408 Request Timeout` with `Connection: close`, then close.
    public var requestHead: Duration?
    /// The longest time a connection may sit with no request in progress: from its start, or
    /// from the end of the last response of a keep-alive connection, to the next request's
    /// first byte. Default 60 s (nginx's `keepalive_timeout` is 75 s; browsers reuse a
    /// connection within seconds or never). Expiry: close, with nothing sent: a 408 here could
    /// cross a request the client is sending at that moment (RFC 9112 §9.5), and clients
    /// retry a request on a connection closed while idle.
    public var idle: Duration?
    /// The longest gap between two reads of a request body. Default 60 s (nginx's
    /// `client_body_timeout`). Not running while the client waits for `100 Continue`.
    /// Expiry: `408` with `Connection: close` when no response has begun, then close; a
    /// close alone otherwise.
    public var bodyProgress: Duration?

    public init(
        requestHead: Duration? = .seconds(30),
        idle: Duration? = .seconds(60),
        bodyProgress: Duration? = .seconds(60)
    ) {
        self.requestHead = requestHead
        self.idle = idle
        self.bodyProgress = bodyProgress
    }

    /// No timeouts at all.
    public static let none = HTTP1Timeouts(requestHead: nil, idle: nil, bodyProgress: nil)
}

/// A deadline of ``HTTP1Timeouts`` passed: the connection is over.
///
/// ``HTTP1Connection/tick(now:)`` returns it in ``HTTP1TimerAction/close(_:)``; a transport
/// hands it to whoever was reading the request (its body will not complete).
public struct HTTP1Timeout: Error, Sendable, Hashable, CustomStringConvertible {
    /// Which deadline.
    public struct Kind: Sendable, Hashable, CustomStringConvertible {
        private enum Base: Sendable, Hashable { case requestHead, idle, bodyProgress }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// ``HTTP1Timeouts/requestHead``.
        public static let requestHead = Kind(.requestHead)
        /// ``HTTP1Timeouts/idle``.
        public static let idle = Kind(.idle)
        /// ``HTTP1Timeouts/bodyProgress``.
        public static let bodyProgress = Kind(.bodyProgress)

        /// A stable kebab-case name: `request-head`, `idle`, `body-progress`.
        public var name: String {
            switch base {
            case .requestHead: "request-head"
            case .idle: "idle"
            case .bodyProgress: "body-progress"
            }
        }

        public var description: String { name }
    }

    public var kind: Kind
    /// Whether a `408 Request Timeout` (with `Connection: close`) was queued in the outbound
    /// bytes before the close (RFC 9110 §15.5.9): only while no response had begun.
    public var sent408: Bool

    public init(_ kind: Kind, sent408: Bool) {
        self.kind = kind
        self.sent408 = sent408
    }

    public var description: String { "HTTP1Timeout(\(kind.name)\(sent408 ? ", 408 sent" : ""))" }
}

/// What ``HTTP1Connection/tick(now:)`` asks of the transport.
public enum HTTP1TimerAction: Sendable, Hashable {
    /// Nothing is due: call again at this instant (`nil`: no deadline is running; call again
    /// after the next input).
    case wait(until: WireInstant?)
    /// A deadline passed: write ``HTTP1Connection/takeOutbound()`` (a 408 when
    /// ``HTTP1Timeout/sent408``), then close the transport. Nothing more is read or sent.
    case close(HTTP1Timeout)
}
