/// Size limits and options of an ``SSEParser``.
///
/// The format itself has no limits (WHATWG HTML §9.2.5); a client that buffers whatever a
/// server sends can be made to use any amount of memory, so the parser bounds what it keeps.
public struct SSELimits: Sendable, Hashable {
    /// Bytes of one line, without its line end. Only lines split across reads are buffered,
    /// but the limit applies to every line so that the result does not depend on the reads.
    /// Default 1 MiB. Exceeding it: `line-too-long`.
    public var maxLineLength: Int
    /// Bytes of one event's data: the `data` values plus one LF after each (the data buffer
    /// of §9.2.6). Default 1 MiB. Exceeding it: `event-too-large`.
    public var maxEventSize: Int

    public init(maxLineLength: Int = 1 << 20, maxEventSize: Int = 1 << 20) {
        self.maxLineLength = maxLineLength
        self.maxEventSize = maxEventSize
    }
}

/// How an ``SSEParser`` reads.
public struct SSEParserConfiguration: Sendable, Hashable {
    public var limits: SSELimits
    /// Report comment lines (those starting with `:`, such as heartbeats) as
    /// ``SSEParseEvent/comment(_:)``. Off by default: clients ignore them (§9.2.6).
    public var reportsComments: Bool

    public init(limits: SSELimits = .init(), reportsComments: Bool = false) {
        self.limits = limits
        self.reportsComments = reportsComments
    }
}
