// Usage errors of the handshake and the connection: the caller asked for something the
// protocol or the connection's state does not allow. They change nothing and write nothing.

extension WebSocketUsageError.Code {
    // MARK: Handshake

    /// A `Sec-WebSocket-Key` that is not base64 of 16 bytes.
    public static let invalidKey = Self("invalid-key")
    /// A subprotocol that is not a token, or offered twice (RFC 6455 §4.1 item 10).
    public static let invalidSubprotocol = Self("invalid-subprotocol")
    /// A server accepting with a subprotocol the client did not offer (§4.2.2).
    public static let subprotocolNotOffered = Self("subprotocol-not-offered")
    /// A request or response field, authority or path that HTTP/1.1 cannot carry.
    public static let invalidHeaderField = Self("invalid-header-field")
    /// Permessage-deflate parameters our compressor cannot honour (an 8-bit window for the
    /// side we compress, see `Spec/permessage-deflate.md`).
    public static let unsupportedDeflateParameters = Self("unsupported-deflate-parameters")

    // MARK: Connection state

    /// Accepting or rejecting when no Upgrade request waits for a decision (or as a client).
    public static let noUpgradeRequestPending = Self("no-upgrade-request-pending")
    /// Sending before the opening handshake completed.
    public static let notOpen = Self("not-open")
    /// Sending after our close frame was sent (RFC 6455 §5.5.1: no data after close).
    public static let closeAlreadySent = Self("close-already-sent")
    /// Sending after the connection closed.
    public static let connectionClosed = Self("connection-closed")
    /// Starting a message while a fragmented one we send is unfinished (§5.4).
    public static let messageInProgress = Self("message-in-progress")
    /// Continuing a fragmented message when none was started, or with another kind.
    public static let noMessageInProgress = Self("no-message-in-progress")
    /// Text that is not valid UTF-8 (§5.6): fragments given as bytes are checked as they go.
    public static let invalidUTF8Text = Self("invalid-utf8-text")
    /// A message larger than the peer could accept is still sent; this one is for lending
    /// fragment bytes when no fragment event is current.
    public static let noFragmentAvailable = Self("no-fragment-available")
}
