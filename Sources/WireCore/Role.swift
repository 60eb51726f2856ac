/// Which end of a connection a codec speaks for.
///
/// HTTP/1.1 machines use it to decide whether they send requests or responses; WebSocket
/// machines use it for the masking rule of RFC 6455 §5.1 (a client masks every frame it sends,
/// a server never masks).
public enum Role: Sendable, Hashable, CaseIterable {
    case client
    case server

    /// The role of the peer on the other end.
    @inlinable
    public var peer: Role {
        switch self {
        case .client: .server
        case .server: .client
        }
    }
}
