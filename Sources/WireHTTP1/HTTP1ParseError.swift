/// A violation of the HTTP/1.1 message syntax (RFC 9112, RFC 9110) or of a configured limit,
/// found while parsing.
///
/// Errors are data: ``code`` says what went wrong (with a stable kebab-case ``Code/name`` that
/// the CLI prints), ``offset`` says where, and ``statusHint`` says which status a server should
/// answer with before closing the connection. After an error the parser is failed: every later
/// call rethrows the same error. Caller misuse is not reported with this type.
public struct HTTP1ParseError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong.
    public var code: Code

    /// The absolute position of the offending byte in the stream, counted in bytes from the
    /// first byte ever given to this parser (0-based). For errors found at end of stream it is
    /// the total number of bytes received; for errors found while converting a head to
    /// `HTTPTypes` it is the offset of the head's first byte.
    public var offset: Int

    public init(_ code: Code, offset: Int) {
        self.code = code
        self.offset = offset
    }

    /// The status a server should send for this error (RFC 9110 §15): 400 for malformed
    /// messages, 413/414/431 for exceeded limits, 501 for an unknown transfer coding, 505 for
    /// an unsupported version. Meaningful for requests; a client just closes the connection.
    public var statusHint: Int { code.statusHint }

    public var description: String { "HTTP1ParseError(\(code.name) at offset \(offset))" }
}

extension HTTP1ParseError {
    /// A growable set of error codes: new codes may be added in any release, so switch over
    /// them with a `default` (or compare with `==`).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        @usableFromInline
        enum Base: UInt8, Sendable, CaseIterable {
            case invalidMethod, invalidTarget, invalidTargetForm, targetTooLong, startLineTooLong
            case invalidVersion, unsupportedVersion, invalidRequestLine
            case invalidStatusLine, invalidStatusCode, invalidReasonPhrase
            case invalidFieldName, whitespaceBeforeColon, missingColon, invalidFieldValue
            case whitespaceAfterStartLine, obsFold, bareCR, bareLF
            case headerTooLarge, tooManyHeaders
            case missingHost, multipleHost, invalidHost
            case invalidContentLength, conflictingContentLength, contentLengthAndTransferEncoding
            case transferEncodingInHTTP10, invalidTransferEncoding, unknownTransferCoding
            case repeatedTransferCoding, chunkedNotFinal
            case invalidChunkSize, chunkSizeOverflow, invalidChunkExtension, chunkExtensionTooLarge
            case invalidChunkTerminator, trailerTooLarge
            case bodyTooLarge, unexpectedEOF
            case invalidAuthority
            case unsolicitedResponse
        }

        @usableFromInline let base: Base

        @usableFromInline
        init(_ base: Base) { self.base = base }

        /// Method is not a token (RFC 9110 §9.1, §5.6.2).
        public static let invalidMethod = Code(.invalidMethod)
        /// A byte not allowed in a request-target (RFC 9112 §3.2, RFC 3986).
        public static let invalidTarget = Code(.invalidTarget)
        /// The request-target form does not fit the method: authority-form is for CONNECT only,
        /// asterisk-form for OPTIONS only, CONNECT needs authority-form (RFC 9112 §3.2).
        public static let invalidTargetForm = Code(.invalidTargetForm)
        /// The request-target is longer than ``HTTP1Limits/maxTargetLength`` (414).
        public static let targetTooLong = Code(.targetTooLong)
        /// The request line or status line is longer than ``HTTP1Limits/maxStartLineLength``
        /// (414 for a request line).
        public static let startLineTooLong = Code(.startLineTooLong)
        /// HTTP-version is not `HTTP/` DIGIT `.` DIGIT (RFC 9112 §2.3).
        public static let invalidVersion = Code(.invalidVersion)
        /// A well-formed version other than HTTP/1.0 or HTTP/1.1 (505).
        public static let unsupportedVersion = Code(.unsupportedVersion)
        /// The request line is not `method SP request-target SP HTTP-version` (RFC 9112 §3).
        public static let invalidRequestLine = Code(.invalidRequestLine)
        /// The status line is not `HTTP-version SP status-code SP [reason-phrase]` (RFC 9112 §4).
        public static let invalidStatusLine = Code(.invalidStatusLine)
        /// The status code is not three digits from 100 to 599 (RFC 9110 §15).
        public static let invalidStatusCode = Code(.invalidStatusCode)
        /// A control character in the reason phrase (RFC 9112 §4).
        public static let invalidReasonPhrase = Code(.invalidReasonPhrase)
        /// A field name that is empty or not a token (RFC 9110 §5.1).
        public static let invalidFieldName = Code(.invalidFieldName)
        /// Whitespace between a field name and its colon (RFC 9112 §5.1).
        public static let whitespaceBeforeColon = Code(.whitespaceBeforeColon)
        /// A field line without a colon (RFC 9112 §5).
        public static let missingColon = Code(.missingColon)
        /// NUL or another control character in a field value (RFC 9110 §5.5).
        public static let invalidFieldValue = Code(.invalidFieldValue)
        /// Whitespace between the start line and the first field line (RFC 9112 §2.2).
        public static let whitespaceAfterStartLine = Code(.whitespaceAfterStartLine)
        /// A line folded with obs-fold (RFC 9112 §5.2) while
        /// obs-fold is refused (``HTTP1ParserConfiguration/obsFold``: requests by default).
        public static let obsFold = Code(.obsFold)
        /// A CR not followed by LF (RFC 9112 §2.2).
        public static let bareCR = Code(.bareCR)
        /// An LF not preceded by CR while ``HTTP1ParserConfiguration/allowBareLF`` is off
        /// (RFC 9112 §2.2).
        public static let bareLF = Code(.bareLF)
        /// The header section is larger than ``HTTP1Limits/maxHeaderSectionBytes`` (431).
        public static let headerTooLarge = Code(.headerTooLarge)
        /// More field lines than ``HTTP1Limits/maxFieldCount`` (431).
        public static let tooManyHeaders = Code(.tooManyHeaders)
        /// An HTTP/1.1 request without Host (RFC 9112 §3.2).
        public static let missingHost = Code(.missingHost)
        /// A request with more than one Host field line (RFC 9112 §3.2).
        public static let multipleHost = Code(.multipleHost)
        /// A Host value that is not `uri-host [":" port]` (RFC 9112 §3.2, RFC 3986 §3.2).
        public static let invalidHost = Code(.invalidHost)
        /// A Content-Length that is not a decimal number or overflows (RFC 9110 §8.6).
        public static let invalidContentLength = Code(.invalidContentLength)
        /// Several Content-Length values that differ (RFC 9110 §8.6, RFC 9112 §6.3).
        public static let conflictingContentLength = Code(.conflictingContentLength)
        /// Both Transfer-Encoding and Content-Length (RFC 9112 §6.1, §6.3): a smuggling risk.
        public static let contentLengthAndTransferEncoding = Code(.contentLengthAndTransferEncoding)
        /// Transfer-Encoding in an HTTP/1.0 message (RFC 9112 §6.1).
        public static let transferEncodingInHTTP10 = Code(.transferEncodingInHTTP10)
        /// A Transfer-Encoding value that is not a list of codings, or a coding with
        /// parameters (RFC 9112 §6.1).
        public static let invalidTransferEncoding = Code(.invalidTransferEncoding)
        /// A transfer coding we do not know (501, RFC 9112 §6.1).
        public static let unknownTransferCoding = Code(.unknownTransferCoding)
        /// The same transfer coding listed twice (RFC 9112 §6.1, §7).
        public static let repeatedTransferCoding = Code(.repeatedTransferCoding)
        /// `chunked` is not the final coding of a request, or appears before another coding
        /// (RFC 9112 §6.1, §6.3).
        public static let chunkedNotFinal = Code(.chunkedNotFinal)
        /// A chunk-size line that is not `1*HEXDIG [chunk-ext] CRLF` (RFC 9112 §7.1).
        public static let invalidChunkSize = Code(.invalidChunkSize)
        /// A chunk size that does not fit in 63 bits (RFC 9112 §7.1).
        public static let chunkSizeOverflow = Code(.chunkSizeOverflow)
        /// A chunk extension that is not `;name[=token/quoted-string]` (RFC 9112 §7.1.1).
        public static let invalidChunkExtension = Code(.invalidChunkExtension)
        /// Chunk extensions longer than ``HTTP1Limits/maxChunkExtensionBytes``.
        public static let chunkExtensionTooLarge = Code(.chunkExtensionTooLarge)
        /// Chunk data not followed by CRLF (RFC 9112 §7.1).
        public static let invalidChunkTerminator = Code(.invalidChunkTerminator)
        /// The trailer section is larger than ``HTTP1Limits/maxTrailerSectionBytes`` (431).
        public static let trailerTooLarge = Code(.trailerTooLarge)
        /// The body is larger than ``HTTP1Limits/maxBodyBytes`` (413).
        public static let bodyTooLarge = Code(.bodyTooLarge)
        /// The stream ended in the middle of a message (RFC 9112 §8).
        public static let unexpectedEOF = Code(.unexpectedEOF)
        /// The request's authority cannot be represented as an `HTTPRequest` (conversion only).
        public static let invalidAuthority = Code(.invalidAuthority)
        /// A client received bytes (other than empty lines) while no request was outstanding:
        /// they are not a response to anything (RFC 9112 §9.2), e.g. a 408 before the server
        /// closed an idle connection, or bytes after the last response.
        public static let unsolicitedResponse = Code(.unsolicitedResponse)

        /// Every code, in declaration order.
        public static var allCases: [Code] { Base.allCases.map(Code.init) }

        /// The stable short kebab-case name (printed by the CLI).
        public var name: String {
            switch base {
            case .invalidMethod: "invalid-method"
            case .invalidTarget: "invalid-target"
            case .invalidTargetForm: "invalid-target-form"
            case .targetTooLong: "target-too-long"
            case .startLineTooLong: "start-line-too-long"
            case .invalidVersion: "invalid-version"
            case .unsupportedVersion: "unsupported-version"
            case .invalidRequestLine: "invalid-request-line"
            case .invalidStatusLine: "invalid-status-line"
            case .invalidStatusCode: "invalid-status-code"
            case .invalidReasonPhrase: "invalid-reason-phrase"
            case .invalidFieldName: "invalid-field-name"
            case .whitespaceBeforeColon: "whitespace-before-colon"
            case .missingColon: "missing-colon"
            case .invalidFieldValue: "invalid-field-value"
            case .whitespaceAfterStartLine: "whitespace-after-start-line"
            case .obsFold: "obs-fold"
            case .bareCR: "bare-cr"
            case .bareLF: "bare-lf"
            case .headerTooLarge: "header-too-large"
            case .tooManyHeaders: "too-many-headers"
            case .missingHost: "missing-host"
            case .multipleHost: "multiple-host"
            case .invalidHost: "invalid-host"
            case .invalidContentLength: "invalid-content-length"
            case .conflictingContentLength: "conflicting-content-length"
            case .contentLengthAndTransferEncoding: "content-length-and-transfer-encoding"
            case .transferEncodingInHTTP10: "transfer-encoding-in-http10"
            case .invalidTransferEncoding: "invalid-transfer-encoding"
            case .unknownTransferCoding: "unknown-transfer-coding"
            case .repeatedTransferCoding: "repeated-transfer-coding"
            case .chunkedNotFinal: "chunked-not-final"
            case .invalidChunkSize: "invalid-chunk-size"
            case .chunkSizeOverflow: "chunk-size-overflow"
            case .invalidChunkExtension: "invalid-chunk-extension"
            case .chunkExtensionTooLarge: "chunk-extension-too-large"
            case .invalidChunkTerminator: "invalid-chunk-terminator"
            case .trailerTooLarge: "trailer-too-large"
            case .bodyTooLarge: "body-too-large"
            case .unexpectedEOF: "unexpected-eof"
            case .invalidAuthority: "invalid-authority"
            case .unsolicitedResponse: "unsolicited-response"
            }
        }

        /// The status a server should answer with (see ``HTTP1ParseError/statusHint``).
        public var statusHint: Int {
            switch base {
            case .targetTooLong, .startLineTooLong: 414
            case .headerTooLarge, .tooManyHeaders, .trailerTooLarge: 431
            case .bodyTooLarge: 413
            case .unknownTransferCoding: 501
            case .unsupportedVersion: 505
            default: 400
            }
        }

        public var description: String { name }
    }
}
