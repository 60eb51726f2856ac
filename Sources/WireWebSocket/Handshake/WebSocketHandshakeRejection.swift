public import HTTPTypes

/// A non-101 answer to an Upgrade request, kept whole: status, fields and body.
public struct WebSocketHandshakeRejection: Sendable, Hashable {
    public var response: HTTPResponse
    /// The body, up to ``WebSocketClientUpgrade/maxRejectionBodySize`` bytes.
    public var body: [UInt8]
    /// Whether the body was longer and cut to the limit.
    public var bodyIsTruncated: Bool

    public init(response: HTTPResponse, body: [UInt8] = [], bodyIsTruncated: Bool = false) {
        self.response = response
        self.body = body
        self.bodyIsTruncated = bodyIsTruncated
    }
}
