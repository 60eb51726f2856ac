/// Why a parser stopped reading: ``HTTP1Parser/parse(_:)`` returns `consumed: 0` and no event
/// until the pause is lifted (if it can be).
public enum HTTP1ParserPause: Sendable, Hashable {
    /// A server's parser read a whole request that asks to leave HTTP/1.1 (CONNECT, or an
    /// upgrade request: see ``HTTP1RequestHead/isUpgradeRequest``). Whatever follows may be
    /// another protocol, so the parser waits for ``HTTP1Parser/acceptProtocolSwitch()`` or
    /// ``HTTP1Parser/declineProtocolSwitch()`` (h11's "might switch protocol").
    case awaitingProtocolDecision
    /// The connection now speaks another protocol: after a `101 Switching Protocols`
    /// response, a 2xx response to CONNECT, or an accepted switch. The bytes after the last
    /// consumed one are the new protocol's.
    case switchedProtocols
    /// ``HTTP1Parser/finish()`` was called.
    case endOfStream
}

/// Where the parser is inside a message (RFC 9112 §2.1: start-line, field lines, body).
enum HTTP1ParserState: Sendable, Hashable {
    /// Expecting a start line (empty lines before a request line are skipped).
    case startLine
    /// In the header section.
    case fieldLines
    /// In a Content-Length body with this many bytes to go (> 0).
    case contentLength(remaining: Int)
    /// Expecting a chunk-size line.
    case chunkSize
    /// Inside chunk data with this many bytes to go (> 0).
    case chunkData(remaining: Int)
    /// After chunk data: expecting CR (or a bare LF when allowed).
    case chunkDataCR
    /// After chunk data and CR: expecting LF.
    case chunkDataLF
    /// In the trailer section.
    case trailerLines
    /// In a body that ends when the connection closes.
    case untilClose
    /// The message ended; the next call reports `.end(trailers: nil)`.
    case end
    /// Stopped (see ``HTTP1ParserPause``).
    case paused(HTTP1ParserPause)
    /// An error was thrown; it is thrown again.
    case failed
}

/// What the start line said, in offsets into the head storage.
struct HTTP1StartLine: Sendable {
    var methodEnd: Int32 = 0
    var targetStart: Int32 = 0
    var targetEnd: Int32 = 0
    var reasonStart: Int32 = 0
    var reasonEnd: Int32 = 0
    var status: Int = 0
    var version: HTTP1Version = .http1_1
    var targetForm: HTTP1RequestTargetForm = .origin
    var flags: HTTP1HeadFlags = []
}

/// Progress through a head or trailer section whose lines may arrive split.
struct HTTP1SectionProgress: Sendable {
    /// Storage offset where an incomplete line starts, or -1.
    var pendingLineStart: Int = -1
    /// The stream offset of storage offset 0.
    var streamBase: Int = 0
    /// Bytes of empty lines skipped before a request line.
    var leadingEmptyBytes: Int = 0
}

/// What a complete line asks the section loop to do.
enum HTTP1LineAction {
    /// Nothing: go on with the next line.
    case next
    /// An empty line before the request line: drop it.
    case skip
    /// An obs-fold continuation line to merge into the previous field (lenient mode). The
    /// previous value now ends at this storage offset (or is unchanged if `nil`).
    case fold(valueEnd: Int?)
    /// The empty line ending the section.
    case complete
}

/// What the response parser needs to know about the request being answered.
enum HTTP1ExpectedRequest: UInt8, Sendable {
    case other, head, connect
}
