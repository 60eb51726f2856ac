public import HTTPTypes
public import WireHTTP1

/// Settings of an ``EventSourceClient``. Every bound has a default.
public struct EventSourceConfiguration: Sendable, Hashable {
    /// The reconnection time until the stream sets one with `retry` (WHATWG HTML §9.2.2: "a
    /// user-agent-defined value, probably in the region of a few seconds"). Default 3000 ms,
    /// what Chromium, Firefox and Safari use.
    public var defaultReconnectionTime: UInt64
    /// How long to wait for the response head once the request is written before treating the
    /// attempt as a network error (and reconnecting). Default 30 s.
    public var responseTimeoutMilliseconds: UInt64
    /// How long the open stream may stay silent (no byte at all, comments included) before it
    /// is treated as a network error (and reconnected). Default `nil`: no limit, as in
    /// browsers; servers usually send comment heartbeats, and a client that knows their
    /// period should set a few times that.
    public var idleTimeoutMilliseconds: UInt64?
    /// Redirects followed per attempt (Fetch's limit is 20). `0` refuses every redirect.
    public var maxRedirects: Int
    /// More request fields (`Authorization`, `Cookie`, `User-Agent`, ...). `Host`, `Accept`,
    /// `Cache-Control` and `Last-Event-ID` are the client's. `Authorization`, `Cookie` and
    /// `Proxy-Authorization` are dropped after a redirect to another origin.
    public var headerFields: HTTPFields
    /// Limits of the response head.
    public var http: HTTP1ParserConfiguration
    /// Limits of the event stream, and whether comments are reported.
    public var parser: SSEParserConfiguration

    public init(
        defaultReconnectionTime: UInt64 = 3000, responseTimeoutMilliseconds: UInt64 = 30_000,
        idleTimeoutMilliseconds: UInt64? = nil, maxRedirects: Int = 20, headerFields: HTTPFields = [:],
        http: HTTP1ParserConfiguration = .init(), parser: SSEParserConfiguration = .init()
    ) {
        self.defaultReconnectionTime = defaultReconnectionTime
        self.responseTimeoutMilliseconds = responseTimeoutMilliseconds
        self.idleTimeoutMilliseconds = idleTimeoutMilliseconds
        self.maxRedirects = maxRedirects
        self.headerFields = headerFields
        self.http = http
        self.parser = parser
    }
}

/// The `readyState` of WHATWG's `EventSource`.
public enum EventSourceReadyState: Sendable, Hashable {
    /// Connecting, or waiting to reconnect.
    case connecting
    /// The response was accepted; events are being read.
    case open
    /// Failed or closed: the client will not reconnect.
    case closed
}

/// What the transport under an ``EventSourceClient`` should do now.
public enum EventSourceTransportDirective: Sendable, Hashable {
    /// Open a connection to this URL's host and effective port (TLS for `https`), then call
    /// ``EventSourceClient/connectionOpened()`` — or ``EventSourceClient/connectionFailed(_:)``.
    case connect(WireURL)
    /// Keep the open connection: write ``EventSourceClient/takeOutbound()``, read into
    /// ``EventSourceClient/receive(_:)``.
    case keepOpen
    /// Close any open connection and call ``EventSourceClient/tick(now:)`` at the returned
    /// deadline (waiting to reconnect).
    case wait
    /// Close any open connection: the client is done (failed, stopped by 204, or closed).
    case closed
}

/// Why a connection attempt or an open stream ended and the client will reconnect.
public enum EventSourceReconnectCause: Sendable, Hashable {
    /// The response body ended (the server closed the stream): the normal way a server asks
    /// for a reconnection.
    case endOfStream
    /// The transport failed (refused, reset, TLS, DNS, ...): the transport's message.
    case networkError(String)
    /// The response was not HTTP/1.x, or its body framing broke (a network error in Fetch).
    case malformedResponse(HTTP1ParseError)
    /// No response head within ``EventSourceConfiguration/responseTimeoutMilliseconds``.
    case responseTimeout
    /// The open stream was silent for ``EventSourceConfiguration/idleTimeoutMilliseconds``.
    case idleTimeout
}

/// Why the client stopped for good (WHATWG "fail the connection", or the user's `close()`).
public enum EventSourceFailure: Sendable, Hashable, CustomStringConvertible {
    /// `204 No Content`: the server's way of telling a client to stop reconnecting.
    case noContent
    /// A final status other than 200 (and 204), after redirects.
    case status(Int, reason: String)
    /// A 200 whose `Content-Type` is not `text/event-stream` (`nil`: none).
    case contentType(String?)
    /// A redirect we could not follow: the reason (`too-many-redirects`,
    /// `missing-location`, `invalid-location`, `unsupported-scheme`, `insecure-redirect`).
    case redirect(String, status: Int)
    /// The stream broke one of our limits (``SSELimits``): reconnecting would repeat it.
    case limitExceeded(SSEParseError)
    /// The transport reported a failure that retrying cannot fix (a certificate that does
    /// not verify, a URL it cannot connect to).
    case fatalNetworkError(String)
    /// ``EventSourceClient/close()``.
    case closedByClient

    public var description: String {
        switch self {
        case .noContent: "the server answered 204 No Content: stop"
        case .status(let code, let reason): "the server answered \(code)\(reason.isEmpty ? "" : " " + reason), not 200"
        case .contentType(let type): "the response's Content-Type is \(type.map { "'\($0)'" } ?? "missing"), not text/event-stream"
        case .redirect(let reason, let status): "cannot follow the \(status) redirect: \(reason)"
        case .limitExceeded(let error): "the event stream exceeded a limit: \(error.code.name) at offset \(error.offset)"
        case .fatalNetworkError(let message): message
        case .closedByClient: "closed by the client"
        }
    }
}

/// What an ``EventSourceClient`` reports, in order.
public enum EventSourceEvent: Sendable, Hashable {
    /// The response was accepted (200, `text/event-stream`): `readyState` is open (WHATWG
    /// "announce the connection", the `open` event).
    case open(HTTPResponse)
    /// A dispatched event (the `message` event, or the named type's).
    case message(SSEEvent)
    /// A valid `retry` field set the reconnection time (milliseconds).
    case retry(UInt64)
    /// A comment line, when ``SSEParserConfiguration/reportsComments`` is on.
    case comment(String)
    /// A redirect is followed to this URL (status 301, 302, 303, 307 or 308).
    case redirected(to: WireURL, status: Int)
    /// The connection ended and the client reconnects after `delay` milliseconds, sending the
    /// last event ID (WHATWG "reestablish the connection": the `error` event with `readyState`
    /// connecting).
    case reconnecting(EventSourceReconnectCause, delay: UInt64)
    /// The client stopped for good (WHATWG "fail the connection": the `error` event with
    /// `readyState` closed). Not reported for ``EventSourceClient/close()``.
    case failed(EventSourceFailure)
}
