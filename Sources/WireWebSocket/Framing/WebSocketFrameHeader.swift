/// The header of one frame (RFC 6455 §5.2): everything before the payload.
public struct WebSocketFrameHeader: Sendable, Hashable {
    /// FIN: this is the final fragment of a message (always set on control frames).
    public var fin: Bool
    /// RSV1–RSV3.
    public var reserved: ReservedBits
    public var opcode: WebSocketOpcode
    /// The masking key when the MASK bit is set (client-to-server frames, §5.3).
    public var maskingKey: WebSocketMaskingKey?
    /// The payload length in bytes (at most 2^63 - 1 on the wire; limited by ``WebSocketLimits``).
    public var payloadLength: Int

    @inlinable
    public init(fin: Bool = true, reserved: ReservedBits = [], opcode: WebSocketOpcode,
                maskingKey: WebSocketMaskingKey? = nil, payloadLength: Int) {
        precondition(payloadLength >= 0, "negative payload length")
        self.fin = fin
        self.reserved = reserved
        self.opcode = opcode
        self.maskingKey = maskingKey
        self.payloadLength = payloadLength
    }

    /// The number of header bytes on the wire: 2, plus 2 or 8 for the extended length, plus 4
    /// for the masking key. The minimal length encoding is always used (§5.2).
    @inlinable
    public var encodedSize: Int {
        let lengthBytes = payloadLength <= 125 ? 0 : (payloadLength <= 0xFFFF ? 2 : 8)
        return 2 &+ lengthBytes &+ (maskingKey == nil ? 0 : 4)
    }

    /// The longest header: 2 + 8 + 4 bytes.
    public static let maxEncodedSize = 14

    /// Appends the header and `payload` (masked with ``maskingKey``, if any) to `out`: one
    /// frame on the wire. The header's length must equal `payload.count`.
    ///
    /// - Throws: `fragmented-control-frame` or `control-payload-too-long` for a control frame
    ///   that breaks §5.5 (nothing is written then).
    @inlinable
    public func write(payload: Span<UInt8>, into out: inout [UInt8]) throws(WebSocketUsageError) {
        precondition(payloadLength == payload.count, "header length differs from the payload")
        if opcode.isControl {
            guard fin else { throw WebSocketUsageError(.fragmentedControlFrame) }
            guard payload.count <= 125 else { throw WebSocketUsageError(.controlPayloadTooLong) }
        }
        write(into: &out)
        if let key = maskingKey {
            key.apply(payload, appendingTo: &out)
        } else {
            payload.withUnsafeBytes { out.append(contentsOf: $0) }
        }
    }

    /// Appends the header bytes alone to `out`, for gather writes: the payload follows
    /// separately, masked with ``maskingKey`` when there is one.
    @inlinable
    public func write(into out: inout [UInt8]) {
        var bytes = (UInt64(0), UInt64(0))
        let n = withUnsafeMutableBytes(of: &bytes) { raw in write(to: raw.baseAddress!) }
        withUnsafeBytes(of: bytes) { raw in out.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[..<n])) }
    }

    /// Stores the header at `destination` (at least ``maxEncodedSize`` writable bytes) and
    /// returns its length.
    @inlinable
    public func write(to destination: UnsafeMutableRawPointer) -> Int {
        destination.storeBytes(of: (fin ? 0x80 : 0) | reserved.rawValue | opcode.rawValue, as: UInt8.self)
        let maskBit: UInt8 = maskingKey == nil ? 0 : 0x80
        var n: Int
        if payloadLength <= 125 {
            destination.storeBytes(of: maskBit | UInt8(payloadLength), toByteOffset: 1, as: UInt8.self)
            n = 2
        } else if payloadLength <= 0xFFFF {
            destination.storeBytes(of: maskBit | 126, toByteOffset: 1, as: UInt8.self)
            destination.storeBytes(of: UInt16(payloadLength).bigEndian, toByteOffset: 2, as: UInt16.self)
            n = 4
        } else {
            destination.storeBytes(of: maskBit | 127, toByteOffset: 1, as: UInt8.self)
            destination.storeBytes(of: UInt64(payloadLength).bigEndian, toByteOffset: 2, as: UInt64.self)
            n = 10
        }
        if let key = maskingKey {
            destination.storeBytes(of: key.storage, toByteOffset: n, as: UInt32.self)
            n &+= 4
        }
        return n
    }
}
