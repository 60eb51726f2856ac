/// The content of a close frame (RFC 6455 §5.5.1): no status code when the payload is empty,
/// else a code and a (possibly empty) UTF-8 reason. Received ones are checked by
/// ``parse(_:offset:)``; ours are written from ``payload()``, the one place a close payload is
/// made.
public struct WebSocketClose: Sendable, Hashable {
    /// The status code, or `nil` when the close frame was empty (applications see 1005).
    public var code: WebSocketCloseCode?
    /// The reason, valid UTF-8 (at most 123 bytes).
    public var reason: String

    public init(code: WebSocketCloseCode?, reason: String = "") {
        self.code = code
        self.reason = reason
    }

    /// Parses and validates a close payload: a 1-byte payload or a code that may not appear on
    /// the wire fails with 1002; a reason that is not UTF-8 fails with 1007. `offset` is the
    /// stream offset of the payload's first byte (for the error).
    public static func parse(_ payload: Span<UInt8>, offset: Int = 0) throws(WebSocketProtocolError) -> WebSocketClose {
        switch payload.count {
        case 0:
            return WebSocketClose(code: nil)
        case 1:
            throw WebSocketProtocolError(.closePayloadTooShort, offset: offset)
        default:
            let code = WebSocketCloseCode(UInt16(payload[0]) << 8 | UInt16(payload[1]))
            guard code.isValidOnWire else {
                throw WebSocketProtocolError(.invalidCloseCode, offset: offset)
            }
            let reason = payload.extracting(2..<payload.count)
            var validator = UTF8Validator()
            if let bad = validator.validate(reason) {
                throw WebSocketProtocolError(.invalidCloseReason, offset: offset + 2 + bad)
            }
            guard validator.finish() else {
                throw WebSocketProtocolError(.invalidCloseReason, offset: offset + payload.count)
            }
            let text = reason.withUnsafeBufferPointer { String(decoding: $0, as: UTF8.self) }
            return WebSocketClose(code: code, reason: text)
        }
    }

    /// The payload of a close frame carrying this close: the code in network order, then the
    /// reason's UTF-8 bytes (empty when there is no code).
    ///
    /// - Throws: `close-code-not-sendable` for 1005, 1006, 1015 and the codes a receiver must
    ///   reject (§7.4.1); `close-reason-too-long` for a reason over 123 bytes (§5.5: 125 minus
    ///   the code); `close-reason-without-code` (§5.5.1: the reason follows a code).
    public func payload() throws(WebSocketUsageError) -> [UInt8] {
        try payload(truncatingReason: false)
    }

    /// The payload, the reason cut to 123 bytes at a character boundary when `truncatingReason`
    /// (for closes we decide on ourselves: the peer must never see a split UTF-8 sequence).
    func payload(truncatingReason: Bool) throws(WebSocketUsageError) -> [UInt8] {
        guard let code else {
            if !reason.isEmpty { throw WebSocketUsageError(.closeReasonWithoutCode) }
            return []
        }
        guard code.mayBeSent else { throw WebSocketUsageError(.closeCodeNotSendable) }
        var payload: [UInt8] = [UInt8(code.rawValue >> 8), UInt8(truncatingIfNeeded: code.rawValue)]
        let utf8 = Array(reason.utf8)
        var length = utf8.count
        if length > Self.maxReasonLength {
            guard truncatingReason else { throw WebSocketUsageError(.closeReasonTooLong) }
            // Back up to the first byte of a sequence: `reason` is valid UTF-8, so the bytes
            // before it end on a scalar boundary.
            length = Self.maxReasonLength
            while utf8[length] & 0xC0 == 0x80 { length -= 1 }
        }
        payload.append(contentsOf: utf8[..<length])
        return payload
    }

    /// The longest reason a close frame holds: 125 bytes of control payload minus the code.
    public static let maxReasonLength = 123
}
