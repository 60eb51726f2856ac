/// The kind of a data message (RFC 6455 §5.6).
public enum WebSocketMessageKind: Sendable, Hashable {
    /// UTF-8 text (opcode 0x1), checked as it arrives.
    case text
    /// Any bytes (opcode 0x2).
    case binary
}
