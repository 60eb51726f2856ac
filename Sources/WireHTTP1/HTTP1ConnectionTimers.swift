public import WireCore
import HTTPTypes

// Receive deadlines without a clock (HTTP1Timeouts): the caller passes its monotonic time to
// `tick(now:)`; a deadline is armed by the first tick that sees the state needing it, as in
// WebSocketConnection. Which deadline runs depends only on the two peers' states:
//
//   client (their) state   server (our) state   timer
//   idle, nothing received  idle                 idle
//   idle, a head begun      idle                 requestHead (fixed from its first tick)
//   sendBody                any still open       bodyProgress (re-armed by every read)
//   anything else                                none (the application's turn, or over)

/// The timer state of an ``HTTP1Connection`` (server role).
struct HTTP1TimerState: Sendable {
    var timeouts: HTTP1Timeouts
    /// The running deadline, if any.
    var armed: HTTP1Timeout.Kind?
    var deadline = WireInstant(nanoseconds: .max)
    /// Bytes arrived since the last tick (a body made progress).
    var receivedSinceTick = false
    /// The transport is not reading (backpressure from the application).
    var paused = false
    /// Server: bytes of the next request head arrived (the head timer runs, not the idle one).
    var headStarted = false
    /// The deadline that ended the connection.
    var expired: HTTP1Timeout?

    init(timeouts: HTTP1Timeouts) {
        self.timeouts = timeouts
    }
}

extension HTTP1Connection {
    /// The receive deadlines (server role). Changing them re-arms the running one at the next
    /// ``tick(now:)``.
    public var timeouts: HTTP1Timeouts {
        get { timers.timeouts }
        set {
            timers.timeouts = newValue
            timers.armed = nil
        }
    }

    /// The deadline that ended the connection, once ``tick(now:)`` returned
    /// ``HTTP1TimerAction/close(_:)``.
    public var timedOut: HTTP1Timeout? { timers.expired }

    /// Advances the deadlines to `now`, the caller's monotonic time (RFC 9112 §9.5).
    ///
    /// Call it after each batch of ``receive(_:)``/``nextEvent()``/``send(_:)`` (that arms
    /// the deadline the new state needs) and when the returned instant passes. On
    /// ``HTTP1TimerAction/close(_:)``, write ``takeOutbound()`` and close the transport:
    /// ``nextEvent()`` returns `nil` and ``send(_:)`` refuses from then on. See
    /// ``HTTP1Timeouts`` for which deadline runs when.
    public mutating func tick(now: WireInstant) -> HTTP1TimerAction {
        if let expired = timers.expired { return .close(expired) }
        let wanted = runningTimer
        // Paused: nothing fires, and the running deadline keeps its instant while the state
        // still calls for it.
        if timers.paused {
            if timers.armed != wanted { timers.armed = nil }
            return .wait(until: nil)
        }
        guard let wanted, let duration = duration(of: wanted) else {
            timers.armed = nil
            timers.receivedSinceTick = false
            return .wait(until: nil)
        }
        let progressed = wanted == .bodyProgress && timers.receivedSinceTick
        timers.receivedSinceTick = false
        if timers.armed != wanted || progressed {
            timers.armed = wanted
            timers.deadline = now + duration
            return .wait(until: timers.deadline)
        }
        guard now >= timers.deadline else { return .wait(until: timers.deadline) }
        return .close(expire(wanted))
    }

    /// The running deadline (`nil`: none armed; a state that needs one arms it at the next
    /// ``tick(now:)``).
    public var nextDeadline: WireInstant? {
        timers.expired == nil && timers.armed != nil ? timers.deadline : nil
    }

    /// The transport stopped reading so that the application can catch up (backpressure):
    /// the client is not to blame for silence now, so no deadline fires until
    /// ``receiveResumed()``.
    public mutating func receivePaused() {
        timers.paused = true
    }

    /// The transport reads again: the body deadline starts afresh; the head and idle
    /// deadlines keep their instant (and fire at the next tick if it passed).
    public mutating func receiveResumed() {
        guard timers.paused else { return }
        timers.paused = false
        if timers.armed == .bodyProgress { timers.armed = nil }
    }

    /// Whether nothing is in progress: no request begun, none being answered, no byte
    /// waiting. A server shutting down gracefully closes such a connection at once.
    public var isIdle: Bool {
        state.client == .idle && state.server == .idle && !timers.headStarted && inboundStart == inbound.count
    }

    /// Ends keep-alive: the connection closes after the current request and response (whose
    /// head gets `Connection: close` if not sent yet). For a graceful shutdown.
    public mutating func disableKeepAlive() {
        state.disableKeepAlive()
    }

    // MARK: Internals

    /// Which deadline the states call for (server role only).
    private var runningTimer: HTTP1Timeout.Kind? {
        guard role == .server else { return nil }
        switch (state.client, state.server) {
        case (.idle, .idle):
            return timers.headStarted ? .requestHead : .idle
        case (.sendBody, .idle), (.sendBody, .sendResponse), (.sendBody, .sendBody), (.sendBody, .done), (.sendBody, .mustClose):
            // A client waiting for 100 Continue is waiting for us.
            return clientIsWaitingFor100Continue ? nil : .bodyProgress
        default:
            return nil
        }
    }

    private func duration(of kind: HTTP1Timeout.Kind) -> Duration? {
        switch kind {
        case .requestHead: timers.timeouts.requestHead
        case .idle: timers.timeouts.idle
        default: timers.timeouts.bodyProgress
        }
    }

    /// Ends the connection for `kind`: a 408 with `Connection: close` when no response has
    /// begun and a request has (RFC 9110 §15.5.9), nothing for an idle connection.
    private mutating func expire(_ kind: HTTP1Timeout.Kind) -> HTTP1Timeout {
        var sent408 = false
        if kind != .idle && (ourState == .idle || ourState == .sendResponse) {
            var fields = HTTPFields()
            fields[.connection] = "close"
            fields[.contentLength] = "0"
            if (try? send(.response(HTTPResponse(status: .requestTimeout, headerFields: fields)))) != nil {
                sent408 = (try? send(.end(trailers: nil))) != nil
            }
        }
        let timeout = HTTP1Timeout(kind, sent408: sent408)
        timers.expired = timeout
        timers.armed = nil
        return timeout
    }
}
