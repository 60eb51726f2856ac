public import HTTPTypes
public import WireCore

/// Writes HTTP/1.1 messages (RFC 9112) into a caller-provided byte array: a head, then body
/// bytes, then the end (with trailers when chunked).
///
/// The serializer refuses, with an ``HTTP1UsageError``, everything that would put a second
/// message on the wire or make the framing lie: CR, LF, NUL and other control octets in the
/// method, target, field names and values and the reason phrase; non-token methods and field
/// names; body bytes where the message has none (1xx, 204, 304, answers to HEAD, 2xx answers to
/// CONNECT); more or fewer bytes than Content-Length; Content-Length with Transfer-Encoding.
/// When it throws, `out` is exactly as it was before the call.
///
/// The framing comes from the head's own fields, as a parser would read them
/// (RFC 9112 §6.3): `Transfer-Encoding` ending in `chunked` → chunked, `Content-Length` →
/// that many bytes, neither → no body for a request, read-until-close for a response.
///
/// ```swift
/// var serializer = HTTP1Serializer(role: .server)
/// var out: [UInt8] = []
/// try serializer.writeHead(HTTPResponse(status: .ok, headerFields: [.contentLength: "2"]), into: &out)
/// try serializer.writeBody([0x68, 0x69].span, into: &out)
/// try serializer.writeEnd(into: &out)
/// ```
public struct HTTP1Serializer: Sendable {
    /// How the body of the message being written is delimited.
    public enum Framing: Sendable, Hashable {
        /// No body at all: a request without framing fields, 1xx/204/304, an answer to HEAD, a
        /// 2xx answer to CONNECT.
        case none
        /// Exactly this many bytes (Content-Length, RFC 9112 §6.2).
        case contentLength(Int)
        /// Chunked transfer coding (RFC 9112 §7.1).
        case chunked
        /// A response whose body ends when the connection closes (RFC 9112 §6.3 rule 8).
        case untilClose
    }

    /// A chunk extension (RFC 9112 §7.1.1): `;name` or `;name=value`. A value that is not a
    /// token is written as a quoted-string.
    public struct ChunkExtension: Sendable, Hashable {
        public var name: String
        public var value: String?
        public init(name: String, value: String? = nil) {
            self.name = name
            self.value = value
        }
    }

    /// Whether this serializer writes requests (client) or responses (server).
    public let role: Role

    /// The framing of the message whose body is being written, or `nil` between messages.
    public internal(set) var framing: Framing?

    /// Body bytes still owed under Content-Length.
    public internal(set) var remainingContentLength: Int = 0

    public init(role: Role) {
        self.role = role
    }

    // MARK: Heads from HTTPTypes

    /// How a request's target is written (RFC 9112 §3.2).
    public enum TargetForm: Sendable, Hashable {
        /// `path` (origin-form; `*` for OPTIONS is asterisk-form). CONNECT always uses its
        /// authority (authority-form).
        case origin
        /// `scheme://authority path` (absolute-form, to a proxy).
        case absolute
    }

    /// Writes a request head: the request line, `Host` first (from `:authority`; an empty Host
    /// when there is none, RFC 9112 §3.2), then the fields in order. Pseudo-header fields are
    /// never written as fields, and several `Cookie` fields are joined into one with `; `
    /// (RFC 6265 §5.4).
    public mutating func writeHead(
        _ request: HTTPRequest, targetForm: TargetForm = .origin, into out: inout [UInt8]
    ) throws(HTTP1UsageError) {
        guard role == .client else { throw HTTP1UsageError(.wrongRole) }
        guard framing == nil else { throw HTTP1UsageError(.messageInProgress) }
        let start = out.count
        do {
            let framing = try Self.writeRequestHead(request, targetForm: targetForm, into: &out)
            begin(framing)
        } catch {
            out.removeSubrange(start...)
            throw error
        }
    }

    /// Writes a response head: the status line (`HTTP/1.1`), then the fields in order.
    ///
    /// - Parameter requestMethod: the method of the request this answers; `.head` and `.connect`
    ///   change the framing (no body, RFC 9110 §9.3.2 and §9.3.6).
    ///
    /// A 1xx response is complete once its head is written: no `writeEnd` follows.
    public mutating func writeHead(
        _ response: HTTPResponse, respondingTo requestMethod: HTTPRequest.Method? = nil,
        into out: inout [UInt8]
    ) throws(HTTP1UsageError) {
        guard role == .server else { throw HTTP1UsageError(.wrongRole) }
        guard framing == nil else { throw HTTP1UsageError(.messageInProgress) }
        let start = out.count
        do {
            let status = response.status
            try Self.writeStatusLine(code: status.code, reasonPhrase: status.reasonPhrase, into: &out)
            var scan = FieldScan()
            try Self.writeResponseFields(response.headerFields, into: &out, scan: &scan)
            Self.appendCRLF(&out)
            let framing = try scan.responseFraming(status: status.code, requestMethod: requestMethod)
            if let framing { begin(framing) }
        } catch {
            out.removeSubrange(start...)
            throw error
        }
    }

    // MARK: Heads from raw parts

    /// Writes a request head from raw parts: `method target HTTP/1.1`, then `fields` exactly in
    /// the given order and spelling (nothing added: include `Host` yourself).
    public mutating func writeRequestHead(
        method: String, target: String, fields: [(name: String, value: String)],
        into out: inout [UInt8]
    ) throws(HTTP1UsageError) {
        guard role == .client else { throw HTTP1UsageError(.wrongRole) }
        guard framing == nil else { throw HTTP1UsageError(.messageInProgress) }
        let start = out.count
        do {
            try Self.writeRequestLine(method: method, target: target, into: &out)
            var scan = FieldScan()
            for field in fields {
                try Self.writeField(name: field.name, value: field.value, into: &out, scan: &scan)
            }
            Self.appendCRLF(&out)
            begin(try scan.requestFraming())
        } catch {
            out.removeSubrange(start...)
            throw error
        }
    }

    /// Writes a response head from raw parts: `HTTP/1.1 status reason`, then `fields` exactly in
    /// the given order and spelling.
    public mutating func writeResponseHead(
        status: Int, reason: String, fields: [(name: String, value: String)],
        respondingTo requestMethod: HTTPRequest.Method? = nil, into out: inout [UInt8]
    ) throws(HTTP1UsageError) {
        guard role == .server else { throw HTTP1UsageError(.wrongRole) }
        guard framing == nil else { throw HTTP1UsageError(.messageInProgress) }
        let start = out.count
        do {
            try Self.writeStatusLine(code: status, reasonPhrase: reason, into: &out)
            var scan = FieldScan()
            for field in fields {
                try Self.writeField(name: field.name, value: field.value, into: &out, scan: &scan)
            }
            Self.appendCRLF(&out)
            if let framing = try scan.responseFraming(status: status, requestMethod: requestMethod) {
                begin(framing)
            }
        } catch {
            out.removeSubrange(start...)
            throw error
        }
    }

    // MARK: Body and end

    /// Writes body bytes: as they are for Content-Length and until-close bodies, as one chunk
    /// for chunked ones (an empty `bytes` writes nothing: an empty chunk would end the body).
    public mutating func writeBody(_ bytes: Span<UInt8>, into out: inout [UInt8]) throws(HTTP1UsageError) {
        try writeChunk(bytes, extensions: [], into: &out)
    }

    /// Writes body bytes; on a chunked body, as one chunk with the given extensions
    /// (RFC 9112 §7.1.1). Extensions on another framing are a usage error.
    public mutating func writeChunk(
        _ bytes: Span<UInt8>, extensions: [ChunkExtension], into out: inout [UInt8]
    ) throws(HTTP1UsageError) {
        guard let framing else { throw HTTP1UsageError(.noMessageInProgress) }
        switch framing {
        case .none:
            guard bytes.isEmpty else { throw HTTP1UsageError(.bodyNotAllowed) }
            guard extensions.isEmpty else { throw HTTP1UsageError(.invalidChunkExtension) }
        case .contentLength:
            guard extensions.isEmpty else { throw HTTP1UsageError(.invalidChunkExtension) }
            guard bytes.count <= remainingContentLength else {
                throw HTTP1UsageError(.bodyLongerThanContentLength)
            }
            remainingContentLength &-= bytes.count
            Self.appendSpan(bytes, &out)
        case .untilClose:
            guard extensions.isEmpty else { throw HTTP1UsageError(.invalidChunkExtension) }
            Self.appendSpan(bytes, &out)
        case .chunked:
            guard !bytes.isEmpty else {
                guard extensions.isEmpty else { throw HTTP1UsageError(.invalidChunkExtension) }
                return
            }
            let start = out.count
            HTTP1Bytes.appendHex(bytes.count, to: &out)
            for ext in extensions {
                out.append(UInt8(ascii: ";"))
                let ok = HTTP1Bytes.withBytes(ext.name) { HTTP1Bytes.appendToken($0, to: &out) }
                    && (ext.value.map { value in
                        out.append(UInt8(ascii: "="))
                        return HTTP1Bytes.withBytes(value) { HTTP1Bytes.appendTokenOrQuotedString($0, to: &out) }
                    } ?? true)
                guard ok else {
                    out.removeSubrange(start...)
                    throw HTTP1UsageError(.invalidChunkExtension)
                }
            }
            Self.appendCRLF(&out)
            Self.appendSpan(bytes, &out)
            Self.appendCRLF(&out)
        }
    }

    /// Ends the message. A chunked body gets its last-chunk and `trailers` (RFC 9112 §7.1.2);
    /// trailers on any other framing are a usage error, and so is ending a Content-Length body
    /// early. An until-close body ends when the caller closes the connection.
    public mutating func writeEnd(trailers: HTTPFields? = nil, into out: inout [UInt8]) throws(HTTP1UsageError) {
        guard let framing else { throw HTTP1UsageError(.noMessageInProgress) }
        let hasTrailers = !(trailers?.isEmpty ?? true)
        switch framing {
        case .none, .untilClose:
            guard !hasTrailers else { throw HTTP1UsageError(.trailersNotAllowed) }
        case .contentLength:
            guard !hasTrailers else { throw HTTP1UsageError(.trailersNotAllowed) }
            guard remainingContentLength == 0 else { throw HTTP1UsageError(.bodyShorterThanContentLength) }
        case .chunked:
            let start = out.count
            out.append(UInt8(ascii: "0"))
            Self.appendCRLF(&out)
            if let trailers, hasTrailers {
                do {
                    try Self.writeTrailers(trailers, into: &out)
                } catch {
                    out.removeSubrange(start...)
                    throw error
                }
            }
            Self.appendCRLF(&out)
        }
        self.framing = nil
        remainingContentLength = 0
    }

    // MARK: Internals

    private mutating func begin(_ framing: Framing) {
        self.framing = framing
        if case .contentLength(let n) = framing { remainingContentLength = n } else { remainingContentLength = 0 }
    }

    @inline(__always)
    static func appendCRLF(_ out: inout [UInt8]) { HTTP1Bytes.appendCRLF(to: &out) }

    @inline(__always)
    static func appendSpan(_ bytes: Span<UInt8>, _ out: inout [UInt8]) {
        bytes.withUnsafeBufferPointer { out.append(contentsOf: $0) }
    }
}
