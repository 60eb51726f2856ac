/// Size limits the parser enforces, so that no input makes it use unbounded memory or work.
///
/// Exceeding a limit is an ``HTTP1ParseError`` whose code names the limit and whose
/// ``HTTP1ParseError/statusHint`` is the status to answer (414, 431 or 413). The head defaults
/// are in the range servers built on NIOHTTP1/llhttp use (80 KiB header section).
public struct HTTP1Limits: Sendable, Hashable {
    /// Bytes of the request line or status line, without CRLF, plus any empty lines ignored
    /// before a request line. Default 8 KiB. Exceeding it: `start-line-too-long` (414).
    public var maxStartLineLength: Int
    /// Bytes of the request-target. Default 8 KiB. Exceeding it: `target-too-long` (414).
    public var maxTargetLength: Int
    /// Bytes of the whole head: start line, field lines and their line endings.
    /// Default 80 KiB. Exceeding it: `header-too-large` (431).
    public var maxHeaderSectionBytes: Int
    /// Field lines in the header section, and separately in a trailer section. Default 256.
    /// Exceeding it: `too-many-headers` (431).
    public var maxFieldCount: Int
    /// Bytes of content of one message (after removing the chunked coding). The parser never
    /// buffers a body, so the default is unlimited (`Int.max`); set it to refuse large uploads
    /// early (a Content-Length above it fails at the head). Exceeding it: `body-too-large` (413).
    public var maxBodyBytes: Int
    /// Bytes of one chunk-size line after the size (its extensions and whitespace).
    /// Default 4 KiB. Exceeding it: `chunk-extension-too-large`.
    public var maxChunkExtensionBytes: Int
    /// Bytes of the trailer section, field lines and line endings. Default 16 KiB.
    /// Exceeding it: `trailer-too-large` (431).
    public var maxTrailerSectionBytes: Int

    public init(
        maxStartLineLength: Int = 8 * 1024,
        maxTargetLength: Int = 8 * 1024,
        maxHeaderSectionBytes: Int = 80 * 1024,
        maxFieldCount: Int = 256,
        maxBodyBytes: Int = .max,
        maxChunkExtensionBytes: Int = 4 * 1024,
        maxTrailerSectionBytes: Int = 16 * 1024
    ) {
        self.maxStartLineLength = maxStartLineLength
        self.maxTargetLength = maxTargetLength
        self.maxHeaderSectionBytes = maxHeaderSectionBytes
        self.maxFieldCount = maxFieldCount
        self.maxBodyBytes = maxBodyBytes
        self.maxChunkExtensionBytes = maxChunkExtensionBytes
        self.maxTrailerSectionBytes = maxTrailerSectionBytes
    }
}

/// How a parser reads: its limits and the leniencies it allows.
///
/// Every leniency is off by default; each one names the RFC rule it relaxes. `Spec/http1.md`
/// lists their risks.
public struct HTTP1ParserConfiguration: Sendable, Hashable {
    public var limits: HTTP1Limits

    /// Accept a bare LF as a line terminator in the start line, field lines, chunk lines and
    /// after chunk data (RFC 9112 §2.2 allows a recipient to do so). Off: `bare-lf`.
    /// Risk: a front end that splits lines differently may see another message.
    public var allowBareLF: Bool

    /// What to do with obs-fold (a field line continued on a line starting with SP or HTAB,
    /// RFC 9112 §5.2). Default ``HTTP1ObsFoldHandling/byRole``: refused in requests, replaced
    /// with SP in responses, as the RFC makes each role do.
    public var obsFold: HTTP1ObsFoldHandling

    public init(
        limits: HTTP1Limits = .init(),
        allowBareLF: Bool = false,
        obsFold: HTTP1ObsFoldHandling = .byRole
    ) {
        self.limits = limits
        self.allowBareLF = allowBareLF
        self.obsFold = obsFold
    }
}

/// What a parser does with obs-fold, the obsolete continuation of a field value on a line
/// starting with SP or HTAB (RFC 9112 §5.2).
///
/// The RFC gives each role its own rule outside a `message/http` body: a server either refuses
/// the request (400) or replaces each fold with SP; a user agent reading a response *must*
/// replace each fold with SP before it interprets the value; a proxy or gateway either
/// replaces it or discards the response (answering 502 downstream).
public enum HTTP1ObsFoldHandling: Sendable, Hashable {
    /// The default, per role: in a request, the strict choice a server may make (`obs-fold`,
    /// 400); in a response, the replacement a user agent must make.
    case byRole
    /// Refuse obs-fold in any message (`obs-fold`): a server's choice for requests, a proxy's
    /// or gateway's for responses (it then answers 502 Bad Gateway). Not allowed for a user
    /// agent reading responses.
    case reject
    /// Replace each fold, and the whitespace around it, with SP octets in the previous field's
    /// value before the framing rules read it; the folded text is still validated. Also the
    /// server's other option for requests. Risk there: a peer that does not unfold sees a
    /// different value.
    case replaceWithSpace
}
