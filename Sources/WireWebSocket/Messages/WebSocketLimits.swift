/// Size limits for received frames and messages. Exceeding one fails the connection with 1009
/// ("message too big", RFC 6455 §7.4.1), and the check happens before the memory is spent: a
/// frame header announcing too long a payload is rejected as soon as its length is read.
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

/// Departures from RFC 6455 a receiver may opt into, each named.
public struct WebSocketLeniencies: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Accept payload lengths encoded in more bytes than needed (e.g. 5 sent as `126, 0x0005`).
    /// RFC 6455 §5.2 says "the minimal number of bytes MUST be used"; off by default.
    public static let allowNonMinimalLengths = WebSocketLeniencies(rawValue: 1 << 0)
}
