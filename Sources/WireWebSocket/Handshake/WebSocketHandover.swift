/// What an opening handshake hands over to the WebSocket connection (RFC 6455 §4): what was
/// agreed, and the bytes that came after the handshake's head in the same reads, which are the
/// first frames. Make the connection with ``WebSocketConnection/init(role:handover:configuration:)``.
public struct WebSocketHandover: Sendable, Hashable {
    /// The subprotocol and the permessage-deflate parameters agreed.
    public var negotiation: WebSocketNegotiation
    /// Bytes received after the handshake's head: the connection reads them first.
    public var leftover: [UInt8]

    public init(negotiation: WebSocketNegotiation, leftover: [UInt8] = []) {
        self.negotiation = negotiation
        self.leftover = leftover
    }
}
