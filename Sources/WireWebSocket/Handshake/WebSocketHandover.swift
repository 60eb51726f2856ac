import HTTPTypes
import WireHTTP1

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

/// One step of an opening handshake machine's reading of its HTTP/1.1 connection
/// (``WebSocketClientUpgrade``, ``WebSocketServerUpgrade``).
enum WebSocketHandshakeRead {
    /// An HTTP/1.1 event for the machine.
    case event(HTTP1Event)
    /// More bytes are needed.
    case needMore
    /// The handshake failed: malformed HTTP, or the transport ended first.
    case failed(WebSocketHandshakeError)
}

extension HTTP1Connection {
    /// The next event of an opening handshake, the parse errors and the transport's end
    /// mapped the same for both sides: `end-of-stream` when the transport ended inside the
    /// message or closed (the connection's `.connectionClosed`), `malformed-http` with the
    /// parse error otherwise (and, when `answering`, its status: a server answers it).
    mutating func nextHandshakeRead(answering: Bool) -> WebSocketHandshakeRead {
        let event: HTTP1Event?
        do {
            event = try nextEvent()
        } catch {
            if error.code == .unexpectedEOF { return .failed(WebSocketHandshakeError(.endOfStream)) }
            let status = answering ? HTTPResponse.Status(code: error.statusHint) : nil
            return .failed(WebSocketHandshakeError(.malformedHTTP, statusHint: status, http: error))
        }
        switch event {
        case nil: return .needMore
        case .connectionClosed?: return .failed(WebSocketHandshakeError(.endOfStream))
        case let event?: return .event(event)
        }
    }
}
