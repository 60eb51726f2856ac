// Hibernation of permessage-deflate streams with context takeover (issue 19): the zlib state
// of an idle side is freed and only its last window of bytes kept, restored by
// `deflateSetDictionary`/`inflateSetDictionary` when the next message comes
// (``PerMessageDeflateHibernation``). After every message it happens in the compressor and the
// decompressor themselves; after an idle time the connection's `tick(now:)` does it.

/// When an idle side falls asleep: the messages counted when its idle time started, and its
/// deadline (caller nanoseconds, `Timers.unarmed` when not running).
struct DeflateIdleWatch: Sendable, Hashable {
    var messages: UInt64 = 0
    var deadline = Timers.unarmed

    /// Advances the watch to `now`; true when the side has been idle long enough and can
    /// hibernate. A side that cannot (mid-message, asleep already, nothing kept) is not timed.
    mutating func isDue(now: UInt64, idle: UInt64, messages count: UInt64, canHibernate: Bool) -> Bool {
        guard canHibernate else {
            deadline = Timers.unarmed
            return false
        }
        if deadline == Timers.unarmed || count != messages {
            messages = count
            deadline = now &+ idle
            return false
        }
        guard now >= deadline else { return false }
        deadline = Timers.unarmed
        return true
    }
}

extension WebSocketConnection {
    /// Puts both deflate streams to sleep now, if they are between messages: zlib's state
    /// freed, the window kept (context takeover) or nothing (no context takeover). What the
    /// connection sends and accepts does not change; the next message wakes the stream up.
    /// For a transport's own idle timer (``PerMessageDeflateHibernation/afterIdle(_:)`` does
    /// it through ``tick(now:)``).
    public mutating func hibernateCompression() {
        sender.deflate?.compressor.hibernate()
        receiver.extras?.hibernateInflater()
    }

    /// Whether a side's zlib state is asleep (compressor, decompressor).
    package var compressionHibernating: (compressor: Bool, decompressor: Bool) {
        (sender.deflate?.compressor.isHibernating ?? false, receiver.extras?.inflaterHibernating ?? false)
    }

    /// `tick(now:)`'s part: each side idle for the configured time falls asleep.
    mutating func hibernateIdleCompression(now: UInt64) {
        guard let idle = configuration.deflate.hibernation.idleDuration else { return }
        let nanoseconds = UInt64(clamping: idle.components.seconds) &* 1_000_000_000
            &+ UInt64(clamping: idle.components.attoseconds / 1_000_000_000)
        if let box = sender.deflate,
            box.idleWatch.isDue(
                now: now, idle: nanoseconds, messages: box.compressor.messageCount, canHibernate: box.compressor.canHibernate)
        {
            box.compressor.hibernate()
        }
        receiver.extras?.hibernateIfIdle(now: now, idle: nanoseconds)
    }

    /// The earliest idle deadline of the two sides (`Timers.unarmed`: none).
    var compressionIdleDeadline: UInt64 {
        Swift.min(sender.deflate?.idleWatch.deadline ?? Timers.unarmed, receiver.extras?.idleWatch.deadline ?? Timers.unarmed)
    }
}

extension WebSocketReceiver.Extras {
    func hibernateInflater() {
        if inflates { inflater.hibernate() }
    }

    var inflaterHibernating: Bool { inflater.isHibernating }

    func hibernateIfIdle(now: UInt64, idle: UInt64) {
        guard inflates else { return }
        if idleWatch.isDue(now: now, idle: idle, messages: inflater.messageCount, canHibernate: inflater.canHibernate) {
            inflater.hibernate()
        }
    }
}
