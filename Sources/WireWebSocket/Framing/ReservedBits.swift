/// The three reserved bits RSV1–RSV3 of the first header byte (RFC 6455 §5.2), at their
/// positions in that byte (so `rawValue` can be or-ed into it directly).
///
/// They must be 0 unless a negotiated extension gives them a meaning; permessage-deflate
/// (RFC 7692 §6) owns RSV1 and sets it on the first frame of a compressed message.
public struct ReservedBits: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8

    @inlinable
    public init(rawValue: UInt8) { self.rawValue = rawValue & 0x70 }

    /// RSV1 (0x40 in the first byte): "compressed" under permessage-deflate.
    public static let rsv1 = ReservedBits(rawValue: 0x40)
    /// RSV2 (0x20 in the first byte).
    public static let rsv2 = ReservedBits(rawValue: 0x20)
    /// RSV3 (0x10 in the first byte).
    public static let rsv3 = ReservedBits(rawValue: 0x10)
    /// All three bits.
    public static let all: ReservedBits = [.rsv1, .rsv2, .rsv3]
}
