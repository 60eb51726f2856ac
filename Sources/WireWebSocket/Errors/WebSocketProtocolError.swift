/// A violation of RFC 6455 (or RFC 7692) by the peer, found while receiving.
///
/// Errors are data: ``code`` says what went wrong (with a stable kebab-case ``Code/name`` that
/// the CLI prints), ``offset`` where, and ``closeCode`` the close code to send in the close
/// frame that fails the connection (§7.1.7), which follows from the code. After an error the
/// receiving layers stay failed: every later call throws it again.
public struct WebSocketProtocolError: Error, Hashable, Sendable, CustomStringConvertible {
    // Stored widest first, so the error takes 9 bytes and the layers that keep one stay small.

    /// Offset in the received byte stream (from the first byte given to the parser or
    /// receiver) of the byte where the violation was detected.
    public var offset: Int
    /// What went wrong.
    public var code: Code

    public init(_ code: Code, offset: Int) {
        self.code = code
        self.offset = offset
    }

    /// The close code to send when failing the connection because of this error: 1002 for
    /// protocol violations, 1007 for data inconsistent with its type, 1009 for limits.
    public var closeCode: WebSocketCloseCode { code.closeCode }

    public var description: String {
        "WebSocketProtocolError(\(code.name), close code \(closeCode.rawValue), at byte \(offset))"
    }
}

extension WebSocketProtocolError {
    /// What went wrong: a growable set of codes (new ones may be added in any release, so
    /// switch over them with a `default`, or compare with `==`).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        @usableFromInline
        enum Base: UInt8, Sendable, CaseIterable {
            case reservedOpcode, reservedBitsSet, controlFrameTooLong, fragmentedControlFrame
            case payloadLengthHighBit, nonMinimalLength, unmaskedFrame, maskedFrame, frameTooLarge
            case unexpectedContinuation, expectedContinuation, messageTooLarge, invalidUTF8
            case misplacedReservedBit, closePayloadTooShort, invalidCloseCode, invalidCloseReason
            case invalidCompressedData
        }

        @usableFromInline let base: Base

        @usableFromInline
        init(_ base: Base) { self.base = base }

        // MARK: Frame layer (RFC 6455 §5.1–§5.5)

        /// An opcode RFC 6455 reserves (0x3–0x7, 0xB–0xF) (§5.2). 1002.
        public static let reservedOpcode = Code(.reservedOpcode)
        /// RSV1, RSV2 or RSV3 set although no negotiated extension owns the bit (§5.2). 1002.
        public static let reservedBitsSet = Code(.reservedBitsSet)
        /// A control frame with a payload longer than 125 bytes (§5.5). 1002.
        public static let controlFrameTooLong = Code(.controlFrameTooLong)
        /// A control frame with FIN clear: control frames must not be fragmented (§5.5). 1002.
        public static let fragmentedControlFrame = Code(.fragmentedControlFrame)
        /// A 64-bit payload length with its most significant bit set (§5.2). 1002.
        public static let payloadLengthHighBit = Code(.payloadLengthHighBit)
        /// A length encoded in more bytes than needed (§5.2: "the minimal number of bytes MUST
        /// be used"). 1002.
        public static let nonMinimalLength = Code(.nonMinimalLength)
        /// A server received a frame without a mask (§5.1). 1002.
        public static let unmaskedFrame = Code(.unmaskedFrame)
        /// A client received a masked frame (§5.1). 1002.
        public static let maskedFrame = Code(.maskedFrame)
        /// A frame longer than ``WebSocketLimits/maxFrameSize``. 1009.
        public static let frameTooLarge = Code(.frameTooLarge)

        // MARK: Message layer (RFC 6455 §5.4, §5.5.1, §5.6, §7.4; RFC 7692 §6)

        /// A continuation frame with no message in progress (§5.4). 1002.
        public static let unexpectedContinuation = Code(.unexpectedContinuation)
        /// A text or binary frame while a fragmented message is unfinished (§5.4). 1002.
        public static let expectedContinuation = Code(.expectedContinuation)
        /// A message longer than ``WebSocketLimits/maxMessageSize`` (after decompression). 1009.
        public static let messageTooLarge = Code(.messageTooLarge)
        /// A text message that is not valid UTF-8 (§5.6, §8.1). 1007.
        public static let invalidUTF8 = Code(.invalidUTF8)
        /// RSV1 on a continuation frame or on a control frame: only the first frame of a data
        /// message may mark it compressed (RFC 7692 §6.1). 1002.
        public static let misplacedReservedBit = Code(.misplacedReservedBit)
        /// A close frame whose payload is 1 byte long (§5.5.1: the code is 2 bytes). 1002.
        public static let closePayloadTooShort = Code(.closePayloadTooShort)
        /// A close code that may not appear on the wire (§7.4). 1002.
        public static let invalidCloseCode = Code(.invalidCloseCode)
        /// A close reason that is not valid UTF-8 (§5.5.1). 1007.
        public static let invalidCloseReason = Code(.invalidCloseReason)
        /// A compressed message whose deflate data is invalid, or that does not end on a block
        /// boundary (RFC 7692 §7.2.2). 1007: the payload is inconsistent with its (compressed)
        /// type; see Spec/permessage-deflate.md for the choice.
        public static let invalidCompressedData = Code(.invalidCompressedData)

        /// The stable kebab-case name, e.g. `reserved-opcode`.
        public var name: String {
            switch base {
            case .reservedOpcode: "reserved-opcode"
            case .reservedBitsSet: "reserved-bits-set"
            case .controlFrameTooLong: "control-frame-too-long"
            case .fragmentedControlFrame: "fragmented-control-frame"
            case .payloadLengthHighBit: "payload-length-high-bit"
            case .nonMinimalLength: "non-minimal-length"
            case .unmaskedFrame: "unmasked-frame"
            case .maskedFrame: "masked-frame"
            case .frameTooLarge: "frame-too-large"
            case .unexpectedContinuation: "unexpected-continuation"
            case .expectedContinuation: "expected-continuation"
            case .messageTooLarge: "message-too-large"
            case .invalidUTF8: "invalid-utf8"
            case .misplacedReservedBit: "misplaced-reserved-bit"
            case .closePayloadTooShort: "close-payload-too-short"
            case .invalidCloseCode: "invalid-close-code"
            case .invalidCloseReason: "invalid-close-reason"
            case .invalidCompressedData: "invalid-compressed-data"
            }
        }

        /// The close code that fails the connection for this violation (RFC 6455 §7.4.1).
        public var closeCode: WebSocketCloseCode {
            switch base {
            case .frameTooLarge, .messageTooLarge: .messageTooBig
            case .invalidUTF8, .invalidCloseReason, .invalidCompressedData: .invalidFramePayloadData
            default: .protocolError
            }
        }

        public var description: String { name }
    }
}
