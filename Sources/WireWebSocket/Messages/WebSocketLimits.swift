/// Size limits for received frames and messages. Exceeding one fails the connection with 1009
/// ("message too big", RFC 6455 §7.4.1), and the check happens before the memory is spent: a
/// frame header announcing too long a payload is rejected as soon as its length is read (the
/// frame parser's check), a message as soon as a piece would overflow it (the message layer's,
/// which also budgets the inflater of a compressed message).
public struct WebSocketLimits: Sendable, Hashable {
    /// The longest frame payload accepted, in bytes. Default 16 MiB.
    public var maxFrameSize: Int
    /// The longest message accepted (all its fragments' payloads, after decompression when an
    /// extension compresses them), in bytes. Default 64 MiB.
    public var maxMessageSize: Int

    public init(maxFrameSize: Int = 16 << 20, maxMessageSize: Int = 64 << 20) {
        precondition(maxFrameSize >= 125, "control frames may carry 125 bytes (RFC 6455 §5.5)")
        precondition(maxMessageSize >= 0)
        self.maxFrameSize = maxFrameSize
        self.maxMessageSize = maxMessageSize
    }
}
