/// Misuse of the API by the caller (not a fault of the peer): sending in a state that forbids
/// it, a close code that may not be sent, text that is not UTF-8... A refused call changes
/// nothing and writes nothing. Separate from ``WebSocketProtocolError`` because it has no
/// close code: nothing was received wrong.
public struct WebSocketUsageError: Error, Hashable, Sendable, CustomStringConvertible {
    public var code: Code

    public init(_ code: Code) { self.code = code }

    public var description: String { "WebSocketUsageError(\(code.name))" }
}

extension WebSocketUsageError {
    /// What was misused: a growable set of codes with stable kebab-case names.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Base: UInt8, Sendable, CaseIterable {
            case closeCodeNotSendable, closeReasonTooLong, closeReasonWithoutCode
            case controlPayloadTooLong, fragmentedControlFrame
            case invalidKey, invalidSubprotocol, subprotocolNotOffered, invalidHeaderField
            case unsupportedDeflateParameters, invalidScheme
            case noUpgradeRequestPending, notOpen, closeAlreadySent, connectionClosed
            case messageInProgress, invalidUTF8Text, unsupportedDelivery
        }

        let base: Base

        init(_ base: Base) { self.base = base }

        // MARK: Frames (RFC 6455 §5.5, §7.4)

        /// 1005, 1006, 1015 and codes receivers must reject may not be sent (§7.4.1).
        public static let closeCodeNotSendable = Code(.closeCodeNotSendable)
        /// A close reason longer than 123 bytes (125 minus the 2-byte code, §5.5).
        public static let closeReasonTooLong = Code(.closeReasonTooLong)
        /// A close reason without a code (§5.5.1: the reason follows the code).
        public static let closeReasonWithoutCode = Code(.closeReasonWithoutCode)
        /// A control frame payload over 125 bytes (§5.5).
        public static let controlPayloadTooLong = Code(.controlPayloadTooLong)
        /// A control frame with FIN clear (§5.5).
        public static let fragmentedControlFrame = Code(.fragmentedControlFrame)

        // MARK: Handshake (RFC 6455 §4)

        /// A `Sec-WebSocket-Key` that is not base64 of 16 bytes.
        public static let invalidKey = Code(.invalidKey)
        /// A subprotocol that is not a token, or offered twice (§4.1 item 10).
        public static let invalidSubprotocol = Code(.invalidSubprotocol)
        /// A server accepting with a subprotocol the client did not offer (§4.2.2).
        public static let subprotocolNotOffered = Code(.subprotocolNotOffered)
        /// A request or response field, authority or path that HTTP/1.1 cannot carry.
        public static let invalidHeaderField = Code(.invalidHeaderField)
        /// Permessage-deflate parameters our compressor cannot honour (an 8-bit window for the
        /// side we compress, see `Spec/permessage-deflate.md`).
        public static let unsupportedDeflateParameters = Code(.unsupportedDeflateParameters)
        /// A scheme other than `http`, `https`, `ws` or `wss` for an extended CONNECT (RFC 8441 §5).
        public static let invalidScheme = Code(.invalidScheme)

        // MARK: Connection state (RFC 6455 §5.4, §5.6, §7.1)

        /// Accepting or rejecting when no Upgrade request waits for a decision.
        public static let noUpgradeRequestPending = Code(.noUpgradeRequestPending)
        /// Sending before the opening handshake completed.
        public static let notOpen = Code(.notOpen)
        /// Sending after our close frame was sent (§5.5.1: no data after close).
        public static let closeAlreadySent = Code(.closeAlreadySent)
        /// Sending after the connection closed.
        public static let connectionClosed = Code(.connectionClosed)
        /// Starting a message while a fragmented one we send is unfinished, or continuing it
        /// with another kind (§5.4).
        public static let messageInProgress = Code(.messageInProgress)
        /// Text that is not valid UTF-8 (§5.6): fragments given as bytes are checked as they go.
        public static let invalidUTF8Text = Code(.invalidUTF8Text)
        /// A transport that delivers whole messages was given a configuration with streaming
        /// delivery (``WebSocketConfiguration/Delivery/streaming``).
        public static let unsupportedDelivery = Code(.unsupportedDelivery)

        /// The stable kebab-case name, e.g. `close-code-not-sendable`.
        public var name: String {
            switch base {
            case .closeCodeNotSendable: "close-code-not-sendable"
            case .closeReasonTooLong: "close-reason-too-long"
            case .closeReasonWithoutCode: "close-reason-without-code"
            case .controlPayloadTooLong: "control-payload-too-long"
            case .fragmentedControlFrame: "fragmented-control-frame"
            case .invalidKey: "invalid-key"
            case .invalidSubprotocol: "invalid-subprotocol"
            case .subprotocolNotOffered: "subprotocol-not-offered"
            case .invalidHeaderField: "invalid-header-field"
            case .unsupportedDeflateParameters: "unsupported-deflate-parameters"
            case .invalidScheme: "invalid-scheme"
            case .noUpgradeRequestPending: "no-upgrade-request-pending"
            case .notOpen: "not-open"
            case .closeAlreadySent: "close-already-sent"
            case .connectionClosed: "connection-closed"
            case .messageInProgress: "message-in-progress"
            case .invalidUTF8Text: "invalid-utf8-text"
            case .unsupportedDelivery: "unsupported-delivery"
            }
        }

        public var description: String { name }
    }
}
