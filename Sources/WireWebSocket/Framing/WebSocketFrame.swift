/// A whole frame with its payload copied out of the input and unmasked
/// (the convenience form; the streaming parser never copies payloads).
public struct WebSocketFrame: Sendable, Hashable {
    public var fin: Bool
    public var reserved: ReservedBits
    public var opcode: WebSocketOpcode
    /// The key the frame was (or will be) masked with; `payload` is always unmasked.
    public var maskingKey: WebSocketMaskingKey?
    /// The application (or extension) data, unmasked.
    public var payload: [UInt8]

    public init(fin: Bool = true, reserved: ReservedBits = [], opcode: WebSocketOpcode,
                maskingKey: WebSocketMaskingKey? = nil, payload: [UInt8] = []) {
        self.fin = fin
        self.reserved = reserved
        self.opcode = opcode
        self.maskingKey = maskingKey
        self.payload = payload
    }

    /// The frame's header (its payload length is `payload.count`).
    public var header: WebSocketFrameHeader {
        WebSocketFrameHeader(fin: fin, reserved: reserved, opcode: opcode, maskingKey: maskingKey, payloadLength: payload.count)
    }

    /// Appends the frame exactly as given (its masking key, or none, whatever the role), for
    /// tools and tests that write frames by hand.
    ///
    /// - Throws: `fragmented-control-frame` or `control-payload-too-long` (§5.5).
    public func write(into out: inout [UInt8]) throws(WebSocketUsageError) {
        try header.write(payload: payload.span, into: &out)
    }
}
