/// A close status code (RFC 6455 §7.4), as sent in the first two bytes of a close frame's
/// payload and carried by every ``WebSocketProtocolError``.
///
/// Any 16-bit value can be represented (a peer may send anything); ``isValidOnWire`` tells
/// whether a received code is acceptable and ``mayBeSent`` whether we may put it on the wire.
public struct WebSocketCloseCode: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: UInt16

    @inlinable
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    @inlinable
    public init(_ rawValue: UInt16) { self.rawValue = rawValue }

    /// 1000: the purpose of the connection has been fulfilled.
    public static let normalClosure = Self(1000)
    /// 1001: the endpoint is going away (server shutdown, page navigation).
    public static let goingAway = Self(1001)
    /// 1002: the peer violated the protocol.
    public static let protocolError = Self(1002)
    /// 1003: a data type the endpoint cannot accept (e.g. binary when only text is understood).
    public static let unsupportedData = Self(1003)
    /// 1005: reserved; stands for "no status code was present". Never sent (§7.4.1).
    public static let noStatusReceived = Self(1005)
    /// 1006: reserved; stands for "closed without a close frame". Never sent (§7.4.1).
    public static let abnormalClosure = Self(1006)
    /// 1007: data inconsistent with the message type (e.g. invalid UTF-8 in a text message).
    public static let invalidFramePayloadData = Self(1007)
    /// 1008: a message violates the endpoint's policy.
    public static let policyViolation = Self(1008)
    /// 1009: a message or frame is too big to process.
    public static let messageTooBig = Self(1009)
    /// 1010: (client) the server did not negotiate a required extension.
    public static let mandatoryExtension = Self(1010)
    /// 1011: (server) an unexpected condition prevented fulfilling the request.
    public static let internalServerError = Self(1011)
    /// 1012: service restart (IANA registry).
    public static let serviceRestart = Self(1012)
    /// 1013: try again later (IANA registry).
    public static let tryAgainLater = Self(1013)
    /// 1014: bad gateway (IANA registry).
    public static let badGateway = Self(1014)
    /// 1015: reserved; stands for "TLS handshake failed". Never sent (§7.4.1).
    public static let tlsHandshakeFailure = Self(1015)

    /// Whether a close frame received with this code is acceptable: 1000–1003, 1007–1014
    /// (RFC 6455 §7.4.1 and the IANA registry of §11.7), 3000–3999 (registered by libraries and
    /// frameworks) and 4000–4999 (private use, §7.4.2). Every other code (0–999, 1004–1006,
    /// 1015, 1016–2999, 5000 and above) fails the connection with 1002.
    @inlinable
    public var isValidOnWire: Bool {
        switch rawValue {
        case 1000...1003, 1007...1014, 3000...4999: true
        default: false
        }
    }

    /// Whether an endpoint may put this code in a close frame it sends. The same set as
    /// ``isValidOnWire``: 1005, 1006 and 1015 are "designated for use in applications expecting
    /// a status code" and MUST NOT be sent (§7.4.1); codes a receiver must reject are refused too.
    @inlinable
    public var mayBeSent: Bool { isValidOnWire }

    public var description: String { String(rawValue) }
}
