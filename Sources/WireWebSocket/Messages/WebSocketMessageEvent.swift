/// What ``WebSocketReceiver/nextEvent()`` reports: messages and control frames, checked
/// (sequence, limits, UTF-8), unmasked and inflated.
public enum WebSocketMessageEvent: Sendable, Hashable {
    /// A whole text message, valid UTF-8 (``WebSocketConfiguration/Delivery/wholeMessages``).
    case text(String)
    /// A whole binary message (``WebSocketConfiguration/Delivery/wholeMessages``).
    case binary([UInt8])
    /// Streaming delivery: a message begins.
    case messageStart(WebSocketMessageKind)
    /// Streaming delivery: the next `byteCount` bytes of the current message (unmasked,
    /// inflated, checked against the limits and, for text, valid UTF-8 so far; a character may
    /// be split across fragments). Read them with ``WebSocketReceiver/withFragment(_:)``
    /// before the next call that changes the receiver.
    case fragment(WebSocketMessageKind, byteCount: Int)
    /// Streaming delivery: the current message ended (text: a valid UTF-8 whole).
    case messageEnd(WebSocketMessageKind)
    /// A ping with its application data (§5.5.2), delivered as soon as it ends, even in the
    /// middle of a fragmented message.
    case ping([UInt8])
    /// A pong (§5.5.3).
    case pong([UInt8])
    /// A close frame, checked (§5.5.1, §7.4).
    case close(WebSocketClose)
    /// A frame header as it arrived, before the message layer sees it (only with
    /// ``WebSocketReceiver/reportsFrames``, for tracing tools), with its stream offset.
    case frame(WebSocketFrameHeader, offset: Int)
}
