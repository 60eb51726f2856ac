public import WireCore

/// Writes frames (RFC 6455 §5.2) into caller-provided buffers.
///
/// A client masks every frame with a fresh key from `random` (§5.3; the default source is
/// `SystemRandomNumberGenerator`, injectable for tests); a server never masks. Every `write`
/// appends to `out` without intermediate buffers. For gather writes, ``header(opcode:fin:reserved:payloadLength:)``
/// gives the header alone: write its bytes, then the payload (masked with its key, if any).
public struct WebSocketFrameSerializer<Random: RandomNumberGenerator & Sendable>: Sendable {
    /// Our role: clients mask, servers do not (§5.1).
    public let role: Role
    /// The source of masking keys.
    public var random: Random

    public init(role: Role, random: Random) {
        self.role = role
        self.random = random
    }

    /// The header of the next frame, with a fresh masking key when we are a client.
    public mutating func header(opcode: WebSocketOpcode, fin: Bool = true, reserved: ReservedBits = [],
                                payloadLength: Int) -> WebSocketFrameHeader {
        WebSocketFrameHeader(fin: fin, reserved: reserved, opcode: opcode,
                             maskingKey: role == .client ? .random(using: &random) : nil,
                             payloadLength: payloadLength)
    }

    /// Appends one frame: header, then `payload` masked when we are a client.
    /// Control frames must have FIN set and at most 125 bytes (§5.5).
    public mutating func writeFrame(opcode: WebSocketOpcode, fin: Bool = true, reserved: ReservedBits = [],
                                    payload: Span<UInt8>, into out: inout [UInt8]) throws(WebSocketUsageError) {
        let header = self.header(opcode: opcode, fin: fin, reserved: reserved, payloadLength: payload.count)
        try Self.write(header: header, payload: payload, into: &out)
    }

    /// Appends a data message as frames of at most `fragmentSize` payload bytes (§5.4): the first
    /// frame carries `opcode` and `reserved` (RSV1 marks a compressed message, RFC 7692 §6), the
    /// rest are continuations, the last has FIN. An empty payload is one empty frame.
    public mutating func writeMessage(opcode: WebSocketOpcode, reserved: ReservedBits = [], payload: Span<UInt8>,
                                      fragmentSize: Int = .max, into out: inout [UInt8]) throws(WebSocketUsageError) {
        guard fragmentSize >= 1 else { throw WebSocketUsageError(.invalidFragmentSize) }
        precondition(opcode.isData && opcode != .continuation, "a message starts with text or binary")
        var start = 0
        repeat {
            let n = Swift.min(fragmentSize, payload.count - start)
            let last = start + n == payload.count
            let header = self.header(opcode: start == 0 ? opcode : .continuation, fin: last,
                                     reserved: start == 0 ? reserved : [], payloadLength: n)
            try Self.write(header: header, payload: payload.extracting(start..<(start + n)), into: &out)
            start += n
        } while start < payload.count
    }

    /// Appends a close frame (§5.5.1): empty when `code` is `nil`, else the code and a UTF-8 reason.
    /// Refuses codes that may not be sent (1005, 1006, 1015 and those receivers must reject) and
    /// reasons over 123 bytes.
    public mutating func writeClose(code: WebSocketCloseCode?, reason: String = "", into out: inout [UInt8]) throws(WebSocketUsageError) {
        let payload = try Self.closePayload(code: code, reason: reason)
        try writeFrame(opcode: .close, payload: payload.span, into: &out)
    }

    /// The payload of a close frame: the code in network order then the reason's UTF-8 bytes.
    public static func closePayload(code: WebSocketCloseCode?, reason: String) throws(WebSocketUsageError) -> [UInt8] {
        guard let code else {
            if !reason.isEmpty { throw WebSocketUsageError(.closeReasonWithoutCode) }
            return []
        }
        guard code.mayBeSent else { throw WebSocketUsageError(.closeCodeNotSendable) }
        guard reason.utf8.count <= 123 else { throw WebSocketUsageError(.closeReasonTooLong) }
        var payload: [UInt8] = [UInt8(code.rawValue >> 8), UInt8(truncatingIfNeeded: code.rawValue)]
        payload.append(contentsOf: reason.utf8)
        return payload
    }

    /// Appends `header` and `payload` (masked with the header's key, if any). The header's
    /// length must equal `payload.count`; control frames must be FIN with ≤ 125 bytes.
    public static func write(header: WebSocketFrameHeader, payload: Span<UInt8>, into out: inout [UInt8]) throws(WebSocketUsageError) {
        precondition(header.payloadLength == payload.count, "header length differs from the payload")
        if header.opcode.isControl {
            guard header.fin else { throw WebSocketUsageError(.fragmentedControlFrame) }
            guard payload.count <= 125 else { throw WebSocketUsageError(.controlPayloadTooLong) }
        }
        header.write(into: &out)
        if let key = header.maskingKey {
            key.apply(payload, appendingTo: &out)
        } else {
            payload.withUnsafeBytes { out.append(contentsOf: $0) }
        }
    }

    /// Appends `frame` exactly as given (its masking key, or none), whatever our role.
    public static func write(_ frame: WebSocketFrame, into out: inout [UInt8]) throws(WebSocketUsageError) {
        try write(header: frame.header, payload: frame.payload.span, into: &out)
    }
}

extension WebSocketFrameSerializer where Random == SystemRandomNumberGenerator {
    /// A serializer drawing masking keys from the system's secure generator.
    public init(role: Role) {
        self.init(role: role, random: SystemRandomNumberGenerator())
    }
}
