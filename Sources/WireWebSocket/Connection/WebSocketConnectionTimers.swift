// Timers without a clock: the caller passes the current instant to `tick(now:)`; deadlines are
// armed by the first tick that sees the state needing them (RFC 6455 §5.5.2 keep-alive,
// §7.1.1 waiting for the server's TCP close, closing and opening handshake timeouts).

extension WebSocketConnection {
    /// Advances the timers to `now` and returns the next instant at which to call again
    /// (`nil`: no timer is running).
    ///
    /// Call it after a batch of ``receive(_:)``/``nextEvent()``/``send(_:)`` (deadlines are
    /// armed by the first tick that sees a state needing them) and when the returned instant
    /// passes. What it can do:
    ///
    /// - open, with ``WebSocketConfiguration/keepAlive``: queue a ping every `interval`; if its
    ///   pong has not come `timeout` after it, the peer is overdue: a close frame with 1001
    ///   (going away) is queued and the connection closes with
    ///   ``WebSocketClosure/Cause/peerOverdue`` (the application sees 1006: no close frame
    ///   was received) and ``WebSocketTransportDirective/closeNow``;
    /// - closing: after ``WebSocketConfiguration/closingTimeout`` without the peer's close,
    ///   close with ``WebSocketClosure/Cause/closingTimedOut`` (1006);
    /// - closed client waiting for the server to close the transport: after the closing
    ///   timeout, ``transport`` becomes ``WebSocketTransportDirective/closeNow``;
    /// - connecting: after ``WebSocketConfiguration/handshakeTimeout``, close with
    ///   ``WebSocketClosure/Cause/handshakeFailed(_:)`` (`handshake-timed-out`);
    /// - open, with permessage-deflate and ``PerMessageDeflateHibernation/afterIdle(_:)``: a
    ///   side (compressor, inflater) with context takeover idle that long frees its zlib state,
    ///   keeping its window.
    ///
    /// A close caused here is reported by the next ``nextEvent()`` as ``WebSocketEvent/closed(_:)``.
    @discardableResult
    public mutating func tick(now: WebSocketInstant) -> WebSocketInstant? {
        let values = configuration.values
        switch phase {
        case .connecting:
            guard let timeout = values.handshakeTimeout else { break }
            if deadline == Timers.unarmed {
                deadline = (now + timeout).nanoseconds
            } else if now.nanoseconds >= deadline {
                _ = apply(phase.transition(on: .handshakeTimedOut))
            }
        case .open:
            guard let settings = values.keepAlive else { break }
            var timer = keepAlive ?? KeepAliveTimer()
            if timer.pongDeadline != Timers.unarmed {
                if now.nanoseconds >= timer.pongDeadline {
                    _ = apply(phase.transition(on: .keepAlivePongOverdue))
                }
            } else if timer.nextPing == Timers.unarmed {
                timer.nextPing = (now + settings.interval).nanoseconds
                keepAlive = timer
            } else if now.nanoseconds >= timer.nextPing {
                keepAlive = timer
                _ = apply(phase.transition(on: .keepAlivePingDue))
                timer = keepAlive ?? timer
                timer.pongDeadline = (now + settings.timeout).nanoseconds
                timer.nextPing = (now + settings.interval).nanoseconds
                keepAlive = timer
            }
        case .closing:
            if deadline == Timers.unarmed {
                deadline = (now + values.closingTimeout).nanoseconds
            } else if now.nanoseconds >= deadline {
                _ = apply(phase.transition(on: .closingTimedOut))
            }
        case .closed:
            if transport == .waitForPeerToClose {
                if deadline == Timers.unarmed {
                    deadline = (now + values.closingTimeout).nanoseconds
                } else if now.nanoseconds >= deadline {
                    _ = apply(phase.transition(on: .peerCloseWaitExpired))
                }
            }
        }
        // permessage-deflate with hibernation after an idle time: a side idle that long sleeps.
        if phase == .open { hibernateIdleCompression(now: now.nanoseconds) }
        return nextDeadline
    }

    /// The earliest armed deadline (`nil`: none). A state that needs a timer but has not seen
    /// a ``tick(now:)`` yet has none armed: tick after every batch of input.
    public var nextDeadline: WebSocketInstant? {
        var next = deadline
        if phase == .open, let timer = keepAlive {
            next = Swift.min(next, timer.pongDeadline == Timers.unarmed ? timer.nextPing : timer.pongDeadline)
        }
        if phase == .open { next = Swift.min(next, compressionIdleDeadline) }
        return next == Timers.unarmed ? nil : WebSocketInstant(nanoseconds: next)
    }
}

/// Deadline arithmetic in caller nanoseconds.
enum Timers {
    /// A deadline that is not running.
    static let unarmed = UInt64.max
}

/// Keep-alive state (only for connections configured with keep-alive).
struct KeepAliveTimer: Sendable, Hashable {
    /// When the next keep-alive ping is due.
    var nextPing = Timers.unarmed
    /// When the outstanding ping's pong is overdue (`unarmed`: no ping outstanding).
    var pongDeadline = Timers.unarmed
    /// Numbers the pings (their payload), so that only the latest one's pong counts.
    var pingCounter: UInt64 = 0

    /// The payload of the latest ping: 8 bytes, the counter in network order.
    var payload: [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: pingCounter >> UInt64(56 - 8 * $0)) }
    }

    func matchesPong(_ pong: [UInt8]) -> Bool { pong == payload }
}
