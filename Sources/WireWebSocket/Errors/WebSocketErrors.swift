/// A violation of RFC 6455 by the peer, found while parsing frames or assembling messages.
///
/// Every failure carries the close code to send in the close frame that fails the connection
/// (§7.1.7), and the byte offset in the received stream where it was detected. The `code`
/// is a growable set of stable kebab-case names (the CLI prints ``Code/name``).
public struct WebSocketProtocolError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong. New codes are added as static members (in any file of the module),
    /// so switching over codes never has to be exhaustive and adding one breaks no one.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// An index into ``names``: one byte keeps the error small and trivially copyable, so
        /// the parsers that hold one stay compact and free of reference counting.
        private let id: UInt8

        /// Every code's stable name, indexed by `id`. A new code appends its name here.
        private static let names: [StaticString] = [
            "reserved-opcode", "reserved-bits-set", "control-frame-too-long", "fragmented-control-frame",
            "payload-length-high-bit", "non-minimal-length", "unmasked-frame", "masked-frame", "frame-too-large",
            "unexpected-continuation", "expected-continuation", "message-too-large", "invalid-utf8",
            "misplaced-reserved-bit", "close-payload-too-short", "invalid-close-code", "invalid-close-reason",
            "invalid-compressed-data",
        ]

        /// The stable kebab-case name, e.g. `reserved-opcode`.
        public var name: String { Code.names[Int(id)].description }

        /// Codes are created only inside WireWebSocket (one static member per violation).
        init(_ id: UInt8, _ name: StaticString) {
            self.id = id
        }

        public var description: String { name }

        // MARK: Frame layer (RFC 6455 §5.2, §5.5)

        /// An opcode RFC 6455 reserves (0x3–0x7, 0xB–0xF) (§5.2).
        public static let reservedOpcode = Code(0, "reserved-opcode")
        /// RSV1, RSV2 or RSV3 set although no negotiated extension owns the bit (§5.2).
        public static let reservedBitsSet = Code(1, "reserved-bits-set")
        /// A control frame with a payload longer than 125 bytes (§5.5).
        public static let controlFrameTooLong = Code(2, "control-frame-too-long")
        /// A control frame with FIN clear: control frames must not be fragmented (§5.5).
        public static let fragmentedControlFrame = Code(3, "fragmented-control-frame")
        /// A 64-bit payload length with its most significant bit set (§5.2).
        public static let payloadLengthHighBit = Code(4, "payload-length-high-bit")
        /// A length encoded in more bytes than needed (§5.2: "the minimal number of bytes MUST be used").
        public static let nonMinimalLength = Code(5, "non-minimal-length")
        /// A server received a frame without a mask (§5.1).
        public static let unmaskedFrame = Code(6, "unmasked-frame")
        /// A client received a masked frame (§5.1).
        public static let maskedFrame = Code(7, "masked-frame")
        /// A frame longer than the configured maximum (1009).
        public static let frameTooLarge = Code(8, "frame-too-large")

        // MARK: Message layer (RFC 6455 §5.4, §5.6, §5.5.1, §7.4)

        /// A continuation frame with no message in progress (§5.4).
        public static let unexpectedContinuation = Code(9, "unexpected-continuation")
        /// A text or binary frame while a fragmented message is unfinished (§5.4).
        public static let expectedContinuation = Code(10, "expected-continuation")
        /// A message longer than the configured maximum (1009).
        public static let messageTooLarge = Code(11, "message-too-large")
        /// A text message that is not valid UTF-8 (§5.6, §8.1) (1007).
        public static let invalidUTF8 = Code(12, "invalid-utf8")
        /// RSV1 on a continuation frame or on a control frame: only the first frame of a data
        /// message may mark it compressed (RFC 7692 §6.1).
        public static let misplacedReservedBit = Code(13, "misplaced-reserved-bit")
        /// A close frame whose payload is 1 byte long (§5.5.1: code is 2 bytes).
        public static let closePayloadTooShort = Code(14, "close-payload-too-short")
        /// A close code that may not appear on the wire (§7.4).
        public static let invalidCloseCode = Code(15, "invalid-close-code")
        /// A close reason that is not valid UTF-8 (§5.5.1) (1007).
        public static let invalidCloseReason = Code(16, "invalid-close-reason")
    }

    // Stored widest first, so the error takes 12 bytes.
    /// Offset in the received byte stream (from the first byte given to the parser or
    /// assembler) of the byte where the violation was detected.
    public var offset: Int
    /// What went wrong.
    public var code: Code
    /// The close code to send when failing the connection because of this error.
    public var closeCode: WebSocketCloseCode

    public init(_ code: Code, closeCode: WebSocketCloseCode, offset: Int) {
        self.code = code
        self.closeCode = closeCode
        self.offset = offset
    }

    public var description: String {
        "WebSocketProtocolError(\(code.name), close code \(closeCode.rawValue), at byte \(offset))"
    }
}

/// Misuse of the API by the caller (not a fault of the peer): e.g. asking to send a close code
/// that may not be sent. Separate from ``WebSocketProtocolError`` because it has no close code.
public struct WebSocketUsageError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What was misused; a growable set of stable kebab-case names.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let staticName: StaticString
        public var name: String { staticName.description }
        init(_ name: StaticString) { self.staticName = name }
        public var description: String { name }
        public static func == (lhs: Code, rhs: Code) -> Bool { lhs.name == rhs.name }
        public func hash(into hasher: inout Hasher) { hasher.combine(name) }

        /// 1005, 1006, 1015 and codes receivers must reject may not be sent (§7.4.1).
        public static let closeCodeNotSendable = Code("close-code-not-sendable")
        /// A close reason longer than 123 bytes (125 minus the 2-byte code, §5.5).
        public static let closeReasonTooLong = Code("close-reason-too-long")
        /// A close reason without a code (§5.5.1: the reason follows the code).
        public static let closeReasonWithoutCode = Code("close-reason-without-code")
        /// A control frame payload over 125 bytes (§5.5).
        public static let controlPayloadTooLong = Code("control-payload-too-long")
        /// A control frame with FIN clear (§5.5).
        public static let fragmentedControlFrame = Code("fragmented-control-frame")
        /// A fragment size below 1.
        public static let invalidFragmentSize = Code("invalid-fragment-size")
        /// A client frame without a masking key, or a server frame with one (§5.1).
        public static let wrongMasking = Code("wrong-masking")
    }

    public var code: Code
    public init(_ code: Code) { self.code = code }
    public var description: String { "WebSocketUsageError(\(code.name))" }
}
