public import WireHTTP1
import HTTPTypes
public import WireCore

/// An `EventSource` client, sans I/O: WHATWG HTML §9.2.2–9.2.3's processing model driven by
/// bytes and the caller's clock. It says which connection to open, writes the request, reads
/// the response and its `text/event-stream` body, and decides when to reconnect and when to
/// stop.
///
/// ```swift
/// var client = EventSourceClient(url: try WireURL("https://example.com/feed"))
/// while true {
///     while let event = client.nextEvent() { handle(event) }      // .open, .message, .reconnecting, .failed...
///     switch client.transport {
///     case .connect(let url): open(url) ; client.connectionOpened()  // or connectionFailed(...)
///     case .keepOpen: write(client.takeOutbound()); read → client.receive(bytes) / receiveEOF()
///     case .wait: closeAnyConnection()
///     case .closed: return
///     }
///     let wakeUp = client.tick(now: monotonicNow())               // when to call tick again
/// }
/// ```
///
/// The model (WHATWG HTML §9.2):
/// - Each attempt sends `GET` with `Accept: text/event-stream`, `Cache-Control: no-store` (the
///   request's cache mode is no-store) and, when the last event ID string is not empty,
///   `Last-Event-ID` (§9.2.4). A client resuming from an ID given at creation sends it at once.
/// - A 200 whose `Content-Type` essence is `text/event-stream` opens the stream (`.open`);
///   the body is parsed by ``SSEParser`` (events, `retry`, ids; any split of the bytes).
/// - 204 stops the client (`.failed(.noContent)`); any other status, or a 200 of another
///   type, fails it: no reconnection (§9.2.3 "fail the connection").
/// - The end of the body, a network error, a malformed response or a timeout reconnects:
///   `.reconnecting(cause, delay)`, then after the reconnection time (`retry`, else
///   ``EventSourceConfiguration/defaultReconnectionTime``) a new attempt with
///   `Last-Event-ID`. What was pending of an unfinished event is discarded (§9.2.5).
/// - Redirects (301, 302, 303, 307, 308 with `Location`) are followed, up to
///   ``EventSourceConfiguration/maxRedirects`` per attempt, as Fetch does; every reconnection
///   starts again from the original URL (§9.2.3 reuses the original request). An HTTPS stream
///   is never redirected to plain HTTP (`insecure-redirect`), and credentials set in
///   ``EventSourceConfiguration/headerFields`` are not sent to another origin.
/// - ``close()`` stops everything (no event, as `EventSource.close()` fires none).
///
/// No clock inside: ``tick(now:)`` arms and checks the deadlines (reconnection delay,
/// response timeout, idle timeout) and returns when it wants to be called again.
public struct EventSourceClient: Sendable {
    /// The stream's URL (reconnections always start here).
    public let url: WireURL
    public let configuration: EventSourceConfiguration

    enum Phase: Sendable {
        case connecting(WireURL, redirects: Int, crossedOrigin: Bool)
        case awaitingResponse(WireURL, redirects: Int, crossedOrigin: Bool)
        case streaming
        case waiting(delay: UInt64)
        case closed(EventSourceFailure)
    }

    var phase: Phase
    var parser: SSEParser
    var http: HTTP1Connection? = nil
    var body: [UInt8] = []
    var bodyOffset = 0
    var pending: [EventSourceEvent] = []
    var sawEOF = false
    /// The deadline of the current phase (reconnection, response or idle), once armed.
    var deadline: WireInstant? = nil
    /// Bytes arrived since the idle deadline was armed.
    var activity = false

    /// A client for `url`, connecting at once.
    ///
    /// - Parameter lastEventID: the last event ID string to resume from (sent as
    ///   `Last-Event-ID` from the first request on).
    public init(url: WireURL, configuration: EventSourceConfiguration = .init(), lastEventID: String = "") {
        self.url = url
        self.configuration = configuration
        self.parser = SSEParser(configuration: configuration.parser, lastEventID: lastEventID)
        self.phase = .connecting(url, redirects: 0, crossedOrigin: false)
    }

    // MARK: State

    /// WHATWG's `readyState`.
    public var readyState: EventSourceReadyState {
        switch phase {
        case .connecting, .awaitingResponse, .waiting: .connecting
        case .streaming: .open
        case .closed: .closed
        }
    }

    /// The last event ID string (sent as `Last-Event-ID` on reconnection).
    public var lastEventID: String { parser.lastEventID }

    /// The reconnection time in milliseconds: the stream's `retry`, else the default.
    public var reconnectionTime: UInt64 { parser.reconnectionTime ?? configuration.defaultReconnectionTime }

    /// What the transport should do now.
    public var transport: EventSourceTransportDirective {
        switch phase {
        case .connecting(let url, _, _): .connect(url)
        case .awaitingResponse, .streaming: .keepOpen
        case .waiting: .wait
        case .closed: .closed
        }
    }

    /// Why the client stopped, once ``readyState`` is closed.
    public var failure: EventSourceFailure? {
        if case .closed(let failure) = phase { failure } else { nil }
    }

    // MARK: Transport inputs

    /// The connection asked for by ``EventSourceTransportDirective/connect(_:)`` is open (TLS
    /// and any proxy tunnel done): the request is queued for ``takeOutbound()``.
    public mutating func connectionOpened() {
        guard case .connecting(let target, let redirects, let crossed) = phase else { return }
        var connection = HTTP1Connection(role: .client, configuration: configuration.http)
        do {
            try connection.send(.request(request(for: target, crossedOrigin: crossed)))
            try connection.send(.end(trailers: nil))
        } catch {
            fail(.fatalNetworkError("cannot write the request to \(target): \(error)"))
            return
        }
        http = connection
        sawEOF = false
        deadline = nil
        phase = .awaitingResponse(target, redirects: redirects, crossedOrigin: crossed)
    }

    /// The connection attempt or the open connection failed. `fatal` failures (a certificate
    /// that does not verify, say) stop the client; others reconnect (§9.2.3: "reestablish the
    /// connection, unless the user agent knows that to be futile").
    public mutating func connectionFailed(_ message: String, fatal: Bool = false) {
        switch phase {
        case .connecting, .awaitingResponse, .streaming:
            if fatal {
                fail(.fatalNetworkError(message))
            } else {
                reestablish(.networkError(message))
            }
        case .waiting, .closed:
            break
        }
    }

    /// Bytes read from the open connection.
    public mutating func receive(_ bytes: Span<UInt8>) {
        switch phase {
        case .awaitingResponse, .streaming:
            http?.receive(bytes)
            if !bytes.isEmpty { activity = true }
        default:
            break
        }
    }

    /// The server closed the connection.
    public mutating func receiveEOF() {
        switch phase {
        case .awaitingResponse, .streaming:
            sawEOF = true
            http?.receiveEOF()
        default:
            break
        }
    }

    /// The bytes to write (the request of the current attempt).
    public mutating func takeOutbound() -> [UInt8] {
        http?.takeOutbound() ?? []
    }

    /// Stops the client for good (WHATWG `close()`): no event, no reconnection.
    public mutating func close() {
        if case .closed = phase { return }
        release()
        phase = .closed(.closedByClient)
    }

    // MARK: Time

    /// Arms and checks the deadlines with the caller's monotonic `now`; returns when to call
    /// again (`nil`: no deadline now).
    ///
    /// - Waiting to reconnect: the delay starts at the first tick after the connection ended;
    ///   when it has passed, ``transport`` becomes ``EventSourceTransportDirective/connect(_:)``.
    /// - Awaiting the response: ``EventSourceConfiguration/responseTimeoutMilliseconds`` from
    ///   the first tick after ``connectionOpened()``.
    /// - Streaming: ``EventSourceConfiguration/idleTimeoutMilliseconds`` after the last tick
    ///   that saw bytes arrive.
    @discardableResult
    public mutating func tick(now: WireInstant) -> WireInstant? {
        switch phase {
        case .waiting(let delay):
            let due = deadline ?? now + .milliseconds(Int64(clamping: delay))
            if now >= due {
                deadline = nil
                phase = .connecting(url, redirects: 0, crossedOrigin: false)
                return nil
            }
            deadline = due
            return due
        case .awaitingResponse:
            let due = deadline ?? now + .milliseconds(Int64(clamping: configuration.responseTimeoutMilliseconds))
            if now >= due {
                reestablish(.responseTimeout)
                return tick(now: now)
            }
            deadline = due
            return due
        case .streaming:
            guard let idle = configuration.idleTimeoutMilliseconds else { return nil }
            if activity || deadline == nil {
                activity = false
                deadline = now + .milliseconds(Int64(clamping: idle))
            }
            if let due = deadline, now >= due {
                reestablish(.idleTimeout)
                return tick(now: now)
            }
            return deadline
        case .connecting, .closed:
            return nil
        }
    }

    /// The deadline armed by the last ``tick(now:)``, if any.
    public var nextDeadline: WireInstant? { deadline }

    // MARK: Events

    /// The next event, or `nil` when the client needs bytes, a transport change or time.
    public mutating func nextEvent() -> EventSourceEvent? {
        if !pending.isEmpty { return pending.removeFirst() }
        while true {
            switch phase {
            case .awaitingResponse(let target, let redirects, let crossed):
                guard let event = nextHTTPEvent() else { return pending.isEmpty ? nil : pending.removeFirst() }
                switch event {
                case .response(let head):
                    respond(to: head, from: target, redirects: redirects, crossedOrigin: crossed)
                    return pending.isEmpty ? nil : pending.removeFirst()
                case .informationalResponse:
                    continue
                case .body, .end, .connectionClosed, .request:
                    reestablish(.endOfStream)
                    return pending.removeFirst()
                }
            case .streaming:
                if bodyOffset < body.count {
                    if let event = nextStreamEvent() { return event }
                    continue
                }
                guard let event = nextHTTPEvent() else { return pending.isEmpty ? nil : pending.removeFirst() }
                switch event {
                case .body(let bytes):
                    body = bytes
                    bodyOffset = 0
                case .end, .connectionClosed:
                    reestablish(.endOfStream)
                    return pending.removeFirst()
                case .response, .informationalResponse, .request:
                    continue
                }
            case .connecting, .waiting, .closed:
                return nil
            }
        }
    }

    /// The connection's next event; a parse error or the end of the connection becomes a
    /// reconnection (queued in `pending`), and then `nil`.
    private mutating func nextHTTPEvent() -> HTTP1Event? {
        do {
            if let event = try http?.nextEvent() { return event }
        } catch {
            if error.code == .unexpectedEOF {
                reestablish(.networkError("the connection closed inside the response"))
            } else {
                reestablish(.malformedResponse(error))
            }
            return nil
        }
        if sawEOF { reestablish(.endOfStream) }
        return nil
    }

    /// One event out of the body bytes at hand, or `nil` when they are used up.
    private mutating func nextStreamEvent() -> EventSourceEvent? {
        let step: SSEParseStep
        let bytes = body
        do {
            step = try parser.parse(bytes.span, from: bodyOffset)
        } catch {
            fail(.limitExceeded(error))
            return pending.removeFirst()
        }
        bodyOffset += step.consumed
        if bodyOffset == body.count {
            body.removeAll(keepingCapacity: true)
            bodyOffset = 0
        }
        switch step.event {
        case .event(let event)?: return .message(event)
        case .retry(let ms)?: return .retry(ms)
        case .comment(let text)?: return .comment(text)
        case nil: return nil
        }
    }

    // MARK: Transitions

    /// WHATWG "reestablish the connection": drop the connection, keep the last event ID and
    /// the reconnection time, wait.
    mutating func reestablish(_ cause: EventSourceReconnectCause) {
        release()
        _ = parser.finish()
        phase = .waiting(delay: reconnectionTime)
        pending.append(.reconnecting(cause, delay: reconnectionTime))
    }

    /// WHATWG "fail the connection".
    mutating func fail(_ failure: EventSourceFailure) {
        release()
        _ = parser.finish()
        phase = .closed(failure)
        pending.append(.failed(failure))
    }

    /// Forgets the current connection's state.
    private mutating func release() {
        http = nil
        body = []
        bodyOffset = 0
        sawEOF = false
        deadline = nil
        activity = false
    }

    /// Opens the stream after an accepted response head.
    mutating func open(_ response: HTTPResponse) {
        deadline = nil
        activity = false
        phase = .streaming
        pending.append(.open(response))
    }

    /// Moves to the next attempt of the same cycle (a redirect).
    mutating func follow(to target: WireURL, redirects: Int, crossedOrigin: Bool) {
        release()
        phase = .connecting(target, redirects: redirects, crossedOrigin: crossedOrigin)
    }
}
