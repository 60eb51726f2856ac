public import HTTPTypes

/// The result of one ``HTTP1Parser/parse(_:)`` call.
public struct HTTP1ParseStep: Sendable, Hashable {
    /// How many bytes of the input were used. The caller passes `input[consumed...]` (plus any
    /// newer bytes) to the next call; consumed bytes are never needed again.
    public var consumed: Int
    /// The event, or `nil` when more input is needed (everything was consumed) or the parser
    /// is paused (``HTTP1Parser/pause``).
    public var event: HTTP1ParseEvent?

    public init(consumed: Int, event: HTTP1ParseEvent?) {
        self.consumed = consumed
        self.event = event
    }
}

/// What the parser found. A message is a head, any body/extension events, then `end`;
/// informational (1xx) responses are a head alone.
public enum HTTP1ParseEvent: Sendable, Hashable {
    /// A complete request head.
    case requestHead(HTTP1RequestHead)
    /// A complete response head (also each 1xx).
    case responseHead(HTTP1ResponseHead)
    /// Body bytes: offsets into the input of *this* call (no copy), never empty.
    case body(Range<Int>)
    /// The extensions of a chunk-size line (RFC 9112 §7.1.1), as name/value pairs (a value is
    /// empty when absent; quoted-string values are unquoted). Comes before the chunk's body
    /// bytes, or before `end` for the last chunk. Only chunks with extensions produce it.
    case chunkExtensions(HTTP1FieldBlock)
    /// The message is complete; `trailers` holds the trailer section of a chunked body if it
    /// had any field lines.
    case end(trailers: HTTP1FieldBlock?)
}

/// An incremental, zero-copy HTTP/1.1 parser for requests or responses (RFC 9112).
///
/// Feed it bytes as they arrive; each call returns at most one event and how many bytes it
/// consumed. Any split of the same bytes gives the same events. Partial heads are kept in the
/// parser's own storage (reused from message to message when you no longer hold the previous
/// head), so the caller never keeps unconsumed bytes for it; body bytes are reported as
/// ranges of the input and never copied.
///
/// ```swift
/// var parser = HTTP1Parser(parsing: .request)
/// var input = bytes[...]
/// while true {
///     let step = try input.withUnsafeBufferPointer { try parser.parse($0.span) }
///     input = input.dropFirst(step.consumed)
///     guard let event = step.event else { break }   // need more bytes (or paused)
///     ...
/// }
/// ```
///
/// The parser never consumes bytes past the end of a message that hands the connection to
/// another protocol (101, 2xx to CONNECT, or a server's upgrade/CONNECT request until
/// ``acceptProtocolSwitch()``/``declineProtocolSwitch()``): see ``pause``.
///
/// Errors are thrown as ``HTTP1ParseError`` with the absolute stream offset; after one, the
/// parser is failed and rethrows it.
public struct HTTP1Parser: Sendable {
    /// Whether this parser reads requests or responses.
    public let kind: HTTP1MessageKind
    /// Limits and leniencies.
    public let configuration: HTTP1ParserConfiguration

    var state: HTTP1ParserState = .startLine
    var failure: HTTP1ParseError? = nil
    /// Bytes consumed since creation: the stream offset of the next input's first byte.
    public internal(set) var streamOffset: Int = 0

    var storage: HTTP1HeadStorage
    var trailerStorage: HTTP1HeadStorage? = nil
    var extensionStorage: HTTP1HeadStorage? = nil
    var lineBuffer: HTTP1HeadStorage? = nil
    var lineBufferStreamStart: Int = 0
    var needsFreshStorage = true
    var needsFreshTrailers = true
    var section = HTTP1SectionProgress()
    var start = HTTP1StartLine()
    var bodyBytes = 0
    var pauseAfterEnd: HTTP1ParserPause? = nil
    var expected: [HTTP1ExpectedRequest] = []
    var expectedIndex = 0

    /// A parser for requests (a server) or responses (a client).
    public init(parsing kind: HTTP1MessageKind, configuration: HTTP1ParserConfiguration = .init()) {
        self.kind = kind
        self.configuration = configuration
        self.storage = HTTP1HeadStorage()
    }

    /// Why the parser is not reading, or `nil` when it is.
    public var pause: HTTP1ParserPause? {
        if case .paused(let p) = state { return p }
        return nil
    }

    /// Whether the parser is between messages with nothing of the next one received.
    public var isIdle: Bool {
        if case .startLine = state { return section.pendingLineStart < 0 }
        return false
    }

    /// Parses the next event from `input`.
    ///
    /// - Returns: the bytes consumed and at most one event. With no event, either all of
    ///   `input` was consumed (feed more), or the parser is paused and consumed nothing.
    /// - Throws: ``HTTP1ParseError`` for malformed input or exceeded limits.
    public mutating func parse(_ input: Span<UInt8>) throws(HTTP1ParseError) -> HTTP1ParseStep {
        try input.withUnsafeBufferPointer { (buffer) throws(HTTP1ParseError) -> HTTP1ParseStep in
            try self.parse(buffer)
        }
    }

    /// Parses the next event from raw memory (same contract as ``parse(_:)-(Span<UInt8>)``).
    public mutating func parse(_ buffer: UnsafeBufferPointer<UInt8>) throws(HTTP1ParseError) -> HTTP1ParseStep {
        if case .failed = state { throw failure! }
        do {
            let step = try dispatch(buffer)
            streamOffset &+= step.consumed
            return step
        } catch {
            state = .failed
            failure = error
            throw error
        }
    }

    /// Tells the parser that the peer closed its side (end of stream).
    ///
    /// Completes a body delimited by close with `.end`; returns no event when the stream
    /// ends between messages or while paused.
    /// - Throws: `unexpected-eof` when the stream ends inside a message.
    public mutating func finish() throws(HTTP1ParseError) -> HTTP1ParseStep {
        switch state {
        case .failed:
            throw failure!
        case .paused:
            return HTTP1ParseStep(consumed: 0, event: nil)
        case .untilClose, .end:
            state = .paused(.endOfStream)
            return HTTP1ParseStep(consumed: 0, event: .end(trailers: nil))
        case .startLine where section.pendingLineStart < 0:
            state = .paused(.endOfStream)
            return HTTP1ParseStep(consumed: 0, event: nil)
        default:
            let error = HTTP1ParseError(.unexpectedEOF, offset: streamOffset)
            state = .failed
            failure = error
            throw error
        }
    }

    /// Tells a response parser the method of the next request sent on this connection, in
    /// order (pipelining): a response to HEAD has no body, a 2xx response to CONNECT ends
    /// HTTP/1.1 on the connection. Responses without a queued method are read as answers
    /// to a GET.
    public mutating func expectResponse(to method: HTTPRequest.Method) {
        let kind: HTTP1ExpectedRequest =
            switch method {
            case .head: .head
            case .connect: .connect
            default: .other
            }
        if expectedIndex == expected.count {
            expected.removeAll(keepingCapacity: true)
            expectedIndex = 0
        }
        expected.append(kind)
    }

    /// After a request that paused the parser with ``HTTP1ParserPause/awaitingProtocolDecision``:
    /// the server switched protocols (sent 101, or 2xx to CONNECT). The parser stays paused
    /// (``HTTP1ParserPause/switchedProtocols``). No effect in other states.
    public mutating func acceptProtocolSwitch() {
        if case .paused(.awaitingProtocolDecision) = state { state = .paused(.switchedProtocols) }
    }

    /// After a request that paused the parser with ``HTTP1ParserPause/awaitingProtocolDecision``:
    /// the server answered normally and stays on HTTP/1.1; parsing resumes with the next
    /// request. No effect in other states.
    public mutating func declineProtocolSwitch() {
        if case .paused(.awaitingProtocolDecision) = state { beginNextMessage() }
    }

    // MARK: - Dispatch

    @inline(__always)
    mutating func dispatch(_ buffer: UnsafeBufferPointer<UInt8>) throws(HTTP1ParseError) -> HTTP1ParseStep {
        let count = buffer.count
        switch state {
        case .end:
            endMessage()
            return HTTP1ParseStep(consumed: 0, event: .end(trailers: nil))
        case .paused, .failed:
            return HTTP1ParseStep(consumed: 0, event: nil)
        default:
            break
        }
        guard count > 0, let p = buffer.baseAddress else { return HTTP1ParseStep(consumed: 0, event: nil) }
        switch state {
        case .startLine:
            if section.pendingLineStart < 0, let step = try parseWholeHead(p, count) { return step }
            return try parseSection(p, count, from: 0, trailers: false)
        case .fieldLines:
            return try parseSection(p, count, from: 0, trailers: false)
        case .contentLength(let remaining):
            let n = Swift.min(remaining, count)
            state = n == remaining ? .end : .contentLength(remaining: remaining &- n)
            return HTTP1ParseStep(consumed: n, event: .body(0..<n))
        case .untilClose:
            // Deliver what the limit allows first, so the events do not depend on the split.
            let allowed = configuration.limits.maxBodyBytes &- bodyBytes
            if allowed == 0 { throw HTTP1ParseError(.bodyTooLarge, offset: streamOffset) }
            let n = Swift.min(allowed, count)
            bodyBytes &+= n
            return HTTP1ParseStep(consumed: n, event: .body(0..<n))
        default:
            return try parseChunked(p, count)
        }
    }

    /// Resets per-message state after `end` and moves to the next message or a pause.
    mutating func endMessage() {
        if let pause = pauseAfterEnd {
            pauseAfterEnd = nil
            state = .paused(pause)
        } else {
            beginNextMessage()
        }
    }

    /// Between messages with nothing of the next one received: frees the head storage kept
    /// for the next message (1,024 bytes and 32 field slots, about 1.6 KB) and the trailer
    /// storage; the next message allocates them again. Otherwise nothing changes.
    package mutating func releaseIdleStorage() {
        guard isIdle, needsFreshStorage else { return }
        storage = HTTP1HeadStorage.released
        if needsFreshTrailers { trailerStorage = nil }
    }

    mutating func beginNextMessage() {
        state = .startLine
        section = HTTP1SectionProgress()
        start = HTTP1StartLine()
        bodyBytes = 0
        needsFreshStorage = true
        pauseAfterEnd = nil
    }
}
