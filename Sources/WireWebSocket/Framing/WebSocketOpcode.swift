/// A frame's opcode (RFC 6455 §5.2, §11.8).
///
/// Only the six opcodes RFC 6455 defines exist as values: the reserved ones (0x3–0x7 and
/// 0xB–0xF) are a protocol error when received (§5.2: "MUST _Fail the WebSocket Connection_"),
/// so a parsed frame can never carry one.
public enum WebSocketOpcode: UInt8, Sendable, Hashable, CaseIterable {
    /// 0x0: a continuation of a fragmented data message (§5.4).
    case continuation = 0x0
    /// 0x1: the first frame of a text message (UTF-8, §5.6).
    case text = 0x1
    /// 0x2: the first frame of a binary message.
    case binary = 0x2
    /// 0x8: connection close (§5.5.1).
    case close = 0x8
    /// 0x9: ping (§5.5.2).
    case ping = 0x9
    /// 0xA: pong (§5.5.3).
    case pong = 0xA

    /// Control frames have the high bit of the 4-bit opcode set (§5.5).
    @inlinable
    public var isControl: Bool { rawValue & 0x8 != 0 }

    /// Data frames: continuation, text and binary (§5.6).
    @inlinable
    public var isData: Bool { rawValue & 0x8 == 0 }

    /// The lower-case name used by the CLI and in diagnostics.
    public var name: String {
        switch self {
        case .continuation: "continuation"
        case .text: "text"
        case .binary: "binary"
        case .close: "close"
        case .ping: "ping"
        case .pong: "pong"
        }
    }
}
