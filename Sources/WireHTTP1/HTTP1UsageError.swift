/// A caller asked the HTTP/1.1 serializer or connection for something the protocol forbids:
/// an octet that would allow header injection, a body where none may be sent, a second
/// response to one request, sending after close.
///
/// Usage errors are about the caller's own output, never about received bytes (those are
/// ``HTTP1ParseError``s). Nothing is written when one is thrown: the output buffer is left as it
/// was before the call, so the caller may fix the message and retry.
public struct HTTP1UsageError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong. A struct wrapping a private enum, so new codes can be added without
    /// breaking anyone's exhaustive `switch`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Value: Hashable, Sendable {
            case invalidMethod, invalidTarget, missingTarget
            case invalidFieldName, invalidFieldValue, invalidReasonPhrase, invalidStatus
            case invalidChunkExtension
            case conflictingHost
            case invalidContentLength, conflictingFraming, requestCodingNotChunked
            case framingNotAllowed, fieldNotAllowedInTrailers
            case wrongRole, messageInProgress, noMessageInProgress
            case bodyNotAllowed, bodyLongerThanContentLength, bodyShorterThanContentLength
            case trailersNotAllowed
            case unexpectedResponse, unexpectedInformational, connectionClosed
            case switchedProtocols, notDone, invalidState
            case transferCodingToHTTP10, invalidTE
            case missingUpgrade, upgradeWithoutConnectionOption, protocolNotOffered, continueBeforeSwitch
            case expectationWithoutContent
        }

        fileprivate let value: Value
        fileprivate init(_ value: Value) { self.value = value }

        /// The method is not a token (RFC 9110 §9.1).
        public static let invalidMethod = Code(.invalidMethod)
        /// The request target is empty or holds an octet outside VCHAR (RFC 9112 §3.2): a SP,
        /// CR, LF or NUL would let the caller inject a second request line.
        public static let invalidTarget = Code(.invalidTarget)
        /// The `HTTPRequest` has no path (nor an authority for CONNECT) to put on the request line.
        public static let missingTarget = Code(.missingTarget)
        /// A field name is not a token (RFC 9110 §5.1).
        public static let invalidFieldName = Code(.invalidFieldName)
        /// A field value holds CR, LF, NUL or another CTL, or starts or ends with whitespace
        /// (RFC 9110 §5.5).
        public static let invalidFieldValue = Code(.invalidFieldValue)
        /// The reason phrase holds a CTL other than HTAB (RFC 9112 §4).
        public static let invalidReasonPhrase = Code(.invalidReasonPhrase)
        /// The status code is not three digits, 100 to 999 (RFC 9110 §15).
        public static let invalidStatus = Code(.invalidStatus)
        /// A chunk extension name is not a token, or its value cannot be written as a token or
        /// quoted-string (RFC 9112 §7.1.1).
        public static let invalidChunkExtension = Code(.invalidChunkExtension)
        /// The request has an `:authority` and also a `Host` field (RFC 9110 §7.2: the two
        /// must agree; we write Host from the authority and refuse a second one).
        public static let conflictingHost = Code(.conflictingHost)
        /// A Content-Length value is not digits, or two Content-Length fields differ (RFC 9110 §8.6).
        public static let invalidContentLength = Code(.invalidContentLength)
        /// Content-Length together with Transfer-Encoding (RFC 9112 §6.2: a sender MUST NOT).
        public static let conflictingFraming = Code(.conflictingFraming)
        /// A request's Transfer-Encoding does not end with `chunked` (RFC 9112 §6.1).
        public static let requestCodingNotChunked = Code(.requestCodingNotChunked)
        /// Content-Length or Transfer-Encoding on a 1xx or 204 response, or on a 2xx answer to
        /// CONNECT (RFC 9110 §8.6, RFC 9112 §6.1).
        public static let framingNotAllowed = Code(.framingNotAllowed)
        /// Content-Length, Transfer-Encoding, Host or Trailer in a trailer section (RFC 9110 §6.5.1).
        public static let fieldNotAllowedInTrailers = Code(.fieldNotAllowedInTrailers)
        /// A request written by a server, or a response by a client.
        public static let wrongRole = Code(.wrongRole)
        /// A new head while the previous message's body is still open.
        public static let messageInProgress = Code(.messageInProgress)
        /// Body or end without a head first.
        public static let noMessageInProgress = Code(.noMessageInProgress)
        /// Body bytes for a message that has none: 1xx, 204, 304, an answer to HEAD, a 2xx
        /// answer to CONNECT, a request without Content-Length or Transfer-Encoding.
        public static let bodyNotAllowed = Code(.bodyNotAllowed)
        /// More body bytes than Content-Length announced.
        public static let bodyLongerThanContentLength = Code(.bodyLongerThanContentLength)
        /// The message ended before Content-Length bytes were written.
        public static let bodyShorterThanContentLength = Code(.bodyShorterThanContentLength)
        /// Trailers on a message that is not chunked (RFC 9112 §7.1.2).
        public static let trailersNotAllowed = Code(.trailersNotAllowed)
        /// A response with no request waiting for it (a second final response, or a response
        /// before any request).
        public static let unexpectedResponse = Code(.unexpectedResponse)
        /// A 1xx response after the final response began, or a 1xx to an HTTP/1.0 client.
        public static let unexpectedInformational = Code(.unexpectedInformational)
        /// Sending after our side closed (or must close) the connection.
        public static let connectionClosed = Code(.connectionClosed)
        /// Sending HTTP after the connection switched to another protocol.
        public static let switchedProtocols = Code(.switchedProtocols)
        /// `startNextCycle()` before both sides finished their messages.
        public static let notDone = Code(.notDone)
        /// Any other event the connection's state does not allow.
        public static let invalidState = Code(.invalidState)
        /// A response to an HTTP/1.0 request with a transfer coding other than `chunked`
        /// (RFC 9112 §6.1: no Transfer-Encoding unless the request was HTTP/1.1; a lone
        /// `chunked` is removed instead and the response is sent until close).
        public static let transferCodingToHTTP10 = Code(.transferCodingToHTTP10)
        /// A `TE` field naming `chunked`, or sent without the `TE` connection option
        /// (RFC 9112 §7.4).
        public static let invalidTE = Code(.invalidTE)
        /// A 101 or 426 response without an `Upgrade` field (RFC 9110 §7.8, §15.2.2).
        public static let missingUpgrade = Code(.missingUpgrade)
        /// An `Upgrade` field without the `upgrade` connection option (RFC 9110 §7.8).
        public static let upgradeWithoutConnectionOption = Code(.upgradeWithoutConnectionOption)
        /// A 101 naming a protocol the request's `Upgrade` did not offer (RFC 9110 §7.8).
        public static let protocolNotOffered = Code(.protocolNotOffered)
        /// A 101 while the client waits for its 100 (Continue) (RFC 9110 §7.8).
        public static let continueBeforeSwitch = Code(.continueBeforeSwitch)
        /// `Expect: 100-continue` on a request without content (RFC 9110 §10.1.1).
        public static let expectationWithoutContent = Code(.expectationWithoutContent)

        /// A stable short kebab-case name (the CLI and logs print it).
        public var name: String {
            switch value {
            case .invalidMethod: "invalid-method"
            case .invalidTarget: "invalid-target"
            case .missingTarget: "missing-target"
            case .invalidFieldName: "invalid-field-name"
            case .invalidFieldValue: "invalid-field-value"
            case .invalidReasonPhrase: "invalid-reason-phrase"
            case .invalidStatus: "invalid-status"
            case .invalidChunkExtension: "invalid-chunk-extension"
            case .conflictingHost: "conflicting-host"
            case .invalidContentLength: "invalid-content-length"
            case .conflictingFraming: "conflicting-framing"
            case .requestCodingNotChunked: "request-coding-not-chunked"
            case .framingNotAllowed: "framing-not-allowed"
            case .fieldNotAllowedInTrailers: "field-not-allowed-in-trailers"
            case .wrongRole: "wrong-role"
            case .messageInProgress: "message-in-progress"
            case .noMessageInProgress: "no-message-in-progress"
            case .bodyNotAllowed: "body-not-allowed"
            case .bodyLongerThanContentLength: "body-longer-than-content-length"
            case .bodyShorterThanContentLength: "body-shorter-than-content-length"
            case .trailersNotAllowed: "trailers-not-allowed"
            case .unexpectedResponse: "unexpected-response"
            case .unexpectedInformational: "unexpected-informational"
            case .connectionClosed: "connection-closed"
            case .switchedProtocols: "switched-protocols"
            case .notDone: "not-done"
            case .invalidState: "invalid-state"
            case .transferCodingToHTTP10: "transfer-coding-to-http10"
            case .invalidTE: "invalid-te"
            case .missingUpgrade: "missing-upgrade"
            case .upgradeWithoutConnectionOption: "upgrade-without-connection-option"
            case .protocolNotOffered: "protocol-not-offered"
            case .continueBeforeSwitch: "continue-before-switch"
            case .expectationWithoutContent: "expectation-without-content"
            }
        }

        public var description: String { name }
    }

    /// What went wrong.
    public var code: Code

    public init(_ code: Code) { self.code = code }

    public var description: String { "HTTP1UsageError(\(code.name))" }
}
