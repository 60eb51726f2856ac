/// Keep-alive by ping (RFC 6455 §5.5.2): a ping every `interval`; the peer is overdue when
/// its pong has not arrived `timeout` after the ping.
public struct WebSocketKeepAlive: Sendable, Hashable {
    /// Time between keep-alive pings (from one ping to the next; the first goes `interval`
    /// after the first ``WebSocketConnection/tick(now:)`` in the open state).
    public var interval: Duration
    /// How long a ping may go unanswered.
    public var timeout: Duration

    public init(interval: Duration = .seconds(20), timeout: Duration = .seconds(20)) {
        self.interval = interval
        self.timeout = timeout
    }
}

/// Where a client's masking keys come from (RFC 6455 §5.3: "derived from a strong source of
/// entropy").
public struct WebSocketMaskingKeySource: Sendable, Hashable {
    enum Kind: Sendable, Hashable {
        case system
        case deterministic(seed: UInt64)
        case fixed(WebSocketMaskingKey)
    }

    let kind: Kind

    /// `SystemRandomNumberGenerator` (the default).
    public static let system = WebSocketMaskingKeySource(kind: .system)

    /// A fixed pseudo-random sequence, for tests and reproducible captures only: predictable
    /// keys defeat the purpose of masking (§10.3).
    public static func deterministic(seed: UInt64) -> WebSocketMaskingKeySource {
        WebSocketMaskingKeySource(kind: .deterministic(seed: seed))
    }

    /// One key for every frame, for tools that write captures (`wirecodec ws encode
    /// --mask-key`) only: predictable keys defeat the purpose of masking (§10.3).
    public static func fixed(_ key: WebSocketMaskingKey) -> WebSocketMaskingKeySource {
        WebSocketMaskingKeySource(kind: .fixed(key))
    }
}

/// How a ``WebSocketConnection`` behaves: limits, delivery, automatic answers, timeouts.
///
/// The settings live in one shared, immutable storage: connections made from the same
/// configuration value share it, so a server's many connections hold one copy. Changing a
/// setting gives the value a storage of its own (one allocation per change).
public struct WebSocketConfiguration: Sendable, Hashable {
    /// How data messages are delivered.
    public enum Delivery: Sendable, Hashable {
        /// Collect each message (at most ``WebSocketLimits/maxMessageSize`` bytes) and deliver
        /// it whole, as `.text` or `.binary`, at its last frame.
        case wholeMessages
        /// Keep nothing: `.messageStart` at the first frame's header, `.messageEnd` after the
        /// last frame, and in between each piece as a `.fragment` once it is checked (sequence,
        /// limits, UTF-8), lent from the receive buffer or the inflater.
        case streaming
    }

    struct Values: Sendable, Hashable {
        var limits = WebSocketLimits()
        var allowNonMinimalLengths = false
        var delivery: Delivery = .wholeMessages
        var automaticPong = true
        var fragmentSize = Int.max
        var keepAlive: WebSocketKeepAlive? = nil
        var closingTimeout: Duration = .seconds(10)
        var handshakeTimeout: Duration? = .seconds(10)
        var deflate = PerMessageDeflateConfiguration()
        var retainedBufferCapacity = 0
        var maskingKeys = WebSocketMaskingKeySource.system
    }

    final class Storage: Sendable {
        let values: Values
        init(_ values: Values) { self.values = values }

        /// The defaults, shared by every configuration left at them.
        static let defaults = Storage(Values())
    }

    private var storage: Storage

    var values: Values {
        get { storage.values }
        set { storage = Storage(newValue) }
    }

    /// Every setting, each with its default (see the properties below).
    public init(
        limits: WebSocketLimits = .init(),
        allowNonMinimalLengths: Bool = false,
        delivery: Delivery = .wholeMessages,
        automaticPong: Bool = true,
        fragmentSize: Int = .max,
        keepAlive: WebSocketKeepAlive? = nil,
        closingTimeout: Duration = .seconds(10),
        handshakeTimeout: Duration? = .seconds(10),
        deflate: PerMessageDeflateConfiguration = .init(),
        retainedBufferCapacity: Int = 0,
        maskingKeys: WebSocketMaskingKeySource = .system
    ) {
        precondition(fragmentSize >= 1, "fragmentSize must be at least 1")
        var values = Values()
        values.limits = limits
        values.allowNonMinimalLengths = allowNonMinimalLengths
        values.delivery = delivery
        values.automaticPong = automaticPong
        values.fragmentSize = fragmentSize
        values.keepAlive = keepAlive
        values.closingTimeout = closingTimeout
        values.handshakeTimeout = handshakeTimeout
        values.deflate = deflate
        values.retainedBufferCapacity = retainedBufferCapacity
        values.maskingKeys = maskingKeys
        storage = values == Values() ? Storage.defaults : Storage(values)
    }

    /// Frame and message size limits for what we receive (exceeding one fails with 1009).
    public var limits: WebSocketLimits {
        get { values.limits }
        set { values.limits = newValue }
    }

    /// Accept payload lengths encoded in more bytes than needed (RFC 6455 §5.2 says "the
    /// minimal number of bytes MUST be used"). Off by default: `non-minimal-length` (1002).
    public var allowNonMinimalLengths: Bool {
        get { values.allowNonMinimalLengths }
        set { values.allowNonMinimalLengths = newValue }
    }

    /// Whole messages (default) or streaming fragments.
    public var delivery: Delivery {
        get { values.delivery }
        set { values.delivery = newValue }
    }

    /// Answer every ping with a pong carrying its payload (default `true`, §5.5.2). Up to 16
    /// pings are answered between two ``WebSocketConnection/takeOutbound()`` calls; beyond
    /// that only the latest is (§5.5.3 allows it), so a ping flood cannot grow the outbound
    /// buffer.
    public var automaticPong: Bool {
        get { values.automaticPong }
        set { values.automaticPong = newValue }
    }

    /// The largest payload of a data frame we send (`Int.max`, the default: one frame per
    /// message). Smaller values fragment messages (§5.4).
    public var fragmentSize: Int {
        get { values.fragmentSize }
        set {
            precondition(newValue >= 1, "fragmentSize must be at least 1")
            values.fragmentSize = newValue
        }
    }

    /// Keep-alive pings, or `nil` (the default) for none.
    public var keepAlive: WebSocketKeepAlive? {
        get { values.keepAlive }
        set { values.keepAlive = newValue }
    }

    /// How long to wait for the peer's close frame after ours, and (client) for the server to
    /// close the transport after the closing handshake. Default 10 s.
    public var closingTimeout: Duration {
        get { values.closingTimeout }
        set { values.closingTimeout = newValue }
    }

    /// How long the opening handshake may take, or `nil` for no limit. Default 10 s.
    public var handshakeTimeout: Duration? {
        get { values.handshakeTimeout }
        set { values.handshakeTimeout = newValue }
    }

    /// Compression level, memory level, per-message policy and memory release of
    /// permessage-deflate, when negotiated.
    public var deflate: PerMessageDeflateConfiguration {
        get { values.deflate }
        set { values.deflate = newValue }
    }

    /// The receive and outbound buffers, permessage-deflate's inflated and compressed output,
    /// and the buffer a text message is assembled in (whole-message delivery) keep up to this
    /// capacity when they empty (default 0: freed, so an idle connection holds no buffer, only
    /// zlib's state). A value around the transport's read size makes the receive path
    /// allocation-free per read, at that cost per idle connection; one around the usual message
    /// size leaves a text message one allocation (its `String`).
    public var retainedBufferCapacity: Int {
        get { values.retainedBufferCapacity }
        set { values.retainedBufferCapacity = newValue }
    }

    /// Where a client's masking keys come from (default ``WebSocketMaskingKeySource/system``).
    public var maskingKeys: WebSocketMaskingKeySource {
        get { values.maskingKeys }
        set { values.maskingKeys = newValue }
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.storage === rhs.storage || lhs.storage.values == rhs.storage.values
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(storage.values) }
}
