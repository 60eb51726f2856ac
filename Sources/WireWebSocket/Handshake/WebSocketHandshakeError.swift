public import HTTPTypes
public import WireHTTP1
import WireCore

/// Why an opening handshake failed (RFC 6455 §4.1 for the client's checks of the response,
/// §4.2.1 for the server's checks of the request).
///
/// One code per reason, each with a stable kebab-case name. On the server side
/// ``statusHint`` is the status to answer with (400, 403 or 426) and ``response`` the whole
/// rejection (with `Sec-WebSocket-Version: 13` on a 426 for a wrong version, `Upgrade:
/// websocket` on a 426 for a request that is not a WebSocket upgrade). On the client side the
/// connection must be failed (§4.1: "the client MUST _Fail the WebSocket Connection_").
public struct WebSocketHandshakeError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What was wrong: a growable set of codes with stable kebab-case names, stored as the
    /// package's other error codes are (a case of `Base`; a new code adds a case, its name and
    /// a static member, which may live in another file of the module).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Base: UInt8, Sendable, CaseIterable {
            case methodNotGET, httpVersionTooOld, missingHost, unexpectedBody, missingKey
            case invalidKey, unsupportedVersion, originNotAllowed, invalidSubprotocolList
            case malformedHTTP, missingUpgrade, missingConnectionUpgrade, missingAccept
            case acceptMismatch, subprotocolNotOffered, extensionNotOffered
            case extensionNegotiationFailed, malformedExtensions, timedOut, endOfStream
            case methodNotCONNECT, missingProtocol, unsupportedProtocol, missingScheme
            case invalidScheme, missingPath, connectionSpecificField
        }

        let base: Base

        init(_ base: Base) { self.base = base }

        /// The stable kebab-case name, e.g. `missing-key`.
        public var name: String {
            switch base {
            case .methodNotGET: "method-not-get"
            case .httpVersionTooOld: "http-version-too-old"
            case .missingHost: "missing-host"
            case .unexpectedBody: "unexpected-body"
            case .missingKey: "missing-key"
            case .invalidKey: "invalid-key"
            case .unsupportedVersion: "unsupported-version"
            case .originNotAllowed: "origin-not-allowed"
            case .invalidSubprotocolList: "invalid-subprotocol-list"
            case .malformedHTTP: "malformed-http"
            case .missingUpgrade: "missing-upgrade"
            case .missingConnectionUpgrade: "missing-connection-upgrade"
            case .missingAccept: "missing-accept"
            case .acceptMismatch: "accept-mismatch"
            case .subprotocolNotOffered: "subprotocol-not-offered"
            case .extensionNotOffered: "extension-not-offered"
            case .extensionNegotiationFailed: "extension-negotiation-failed"
            case .malformedExtensions: "malformed-extensions"
            case .timedOut: "handshake-timed-out"
            case .endOfStream: "end-of-stream"
            case .methodNotCONNECT: "method-not-connect"
            case .missingProtocol: "missing-protocol"
            case .unsupportedProtocol: "unsupported-protocol"
            case .missingScheme: "missing-scheme"
            case .invalidScheme: "invalid-scheme"
            case .missingPath: "missing-path"
            case .connectionSpecificField: "connection-specific-field"
            }
        }

        public var description: String { name }

        // MARK: Server: the request (§4.2.1)

        /// The method is not GET (400).
        public static let methodNotGET = Code(.methodNotGET)
        /// The request is older than HTTP/1.1 (400).
        public static let httpVersionTooOld = Code(.httpVersionTooOld)
        /// No Host field, or an empty one (400).
        public static let missingHost = Code(.missingHost)
        /// The request announces a body; an upgrade request has none (400).
        public static let unexpectedBody = Code(.unexpectedBody)
        /// No `Sec-WebSocket-Key` (400).
        public static let missingKey = Code(.missingKey)
        /// A key that is not base64 of exactly 16 bytes, or more than one key (400).
        public static let invalidKey = Code(.invalidKey)
        /// `Sec-WebSocket-Version` missing or not 13 (426, answered with
        /// `Sec-WebSocket-Version: 13`, §4.4).
        public static let unsupportedVersion = Code(.unsupportedVersion)
        /// The Origin is not allowed by the server's ``WebSocketOriginPolicy`` (403, §10.2).
        public static let originNotAllowed = Code(.originNotAllowed)
        /// `Sec-WebSocket-Protocol` holds something other than a list of tokens (400).
        public static let invalidSubprotocolList = Code(.invalidSubprotocolList)
        /// The bytes were not a valid HTTP/1.1 message (``http`` has the parse error; its
        /// status hint is answered).
        public static let malformedHTTP = Code(.malformedHTTP)

        // MARK: Both: the upgrade fields

        /// No `Upgrade` field with the token `websocket` (server: 426 with `Upgrade:
        /// websocket`; client: the 101 does not switch to WebSocket).
        public static let missingUpgrade = Code(.missingUpgrade)
        /// No `Connection` field with the token `upgrade` (server: 426; client: invalid 101).
        public static let missingConnectionUpgrade = Code(.missingConnectionUpgrade)

        // MARK: Client: the 101 response (§4.1)

        /// No `Sec-WebSocket-Accept`, or more than one.
        public static let missingAccept = Code(.missingAccept)
        /// `Sec-WebSocket-Accept` is not base64(SHA-1(key + GUID)).
        public static let acceptMismatch = Code(.acceptMismatch)
        /// The server selected a subprotocol we did not offer, or more than one.
        public static let subprotocolNotOffered = Code(.subprotocolNotOffered)
        /// The server answered `Sec-WebSocket-Extensions` although we offered none, or named
        /// an extension we did not offer.
        public static let extensionNotOffered = Code(.extensionNotOffered)
        /// The server's permessage-deflate answer does not fit our offer (``deflate`` says how).
        public static let extensionNegotiationFailed = Code(.extensionNegotiationFailed)
        /// A `Sec-WebSocket-Extensions` offer (server: 400) or answer (client) that does not
        /// follow the §9.1 grammar.
        public static let malformedExtensions = Code(.malformedExtensions)

        // MARK: Either side, driven by a ``WebSocketConnection``

        /// The handshake did not complete before the configured deadline.
        public static let timedOut = Code(.timedOut)
        /// The transport ended before the handshake completed.
        public static let endOfStream = Code(.endOfStream)
    }

    public var code: Code
    /// Server side: the status to answer with; `nil` for the client's checks.
    public var statusHint: HTTPResponse.Status?
    /// The permessage-deflate reason behind ``Code-swift.struct/extensionNegotiationFailed``.
    public var deflate: PerMessageDeflateNegotiationError?
    /// The HTTP/1.1 parse error behind ``Code-swift.struct/malformedHTTP``.
    public var http: HTTP1ParseError?

    public init(
        _ code: Code, statusHint: HTTPResponse.Status? = nil,
        deflate: PerMessageDeflateNegotiationError? = nil, http: HTTP1ParseError? = nil
    ) {
        self.code = code
        self.statusHint = statusHint
        self.deflate = deflate
        self.http = http
    }

    /// The server's rejection for this error: the status hint (400 if none), `Connection:
    /// close` and an empty body (`Content-Length: 0`); a 426 also carries `Upgrade: websocket`
    /// and, for a version mismatch, `Sec-WebSocket-Version: 13` (RFC 6455 §4.4, RFC 9110
    /// §15.5.22).
    public var response: HTTPResponse {
        let status = statusHint ?? .badRequest
        var fields = HTTPFields()
        if status == .upgradeRequired {
            fields[.upgrade] = "websocket"
            fields[.connection] = "Upgrade, close"
            if code == .unsupportedVersion { fields[.secWebSocketVersion] = WebSocketHandshake.version }
        } else {
            fields[.connection] = "close"
        }
        fields[.contentLength] = "0"
        return HTTPResponse(status: status, headerFields: fields)
    }

    /// ``response`` as HTTP/1.1 bytes, ready to write before closing the transport.
    public var responseBytes: [UInt8] {
        var out: [UInt8] = []
        var serializer = HTTP1Serializer(role: .server)
        do {
            try serializer.writeHead(response, respondingTo: .get, into: &out)
        } catch {
            preconditionFailure("a rejection head is always serializable: \(error)")
        }
        return out
    }

    public var description: String {
        var text = "WebSocketHandshakeError(\(code.name)"
        if let statusHint { text += ", status \(statusHint.code)" }
        if let deflate { text += ", \(deflate)" }
        if let http { text += ", \(http)" }
        return text + ")"
    }
}
