/// Which kind of message a parser reads.
public enum HTTP1MessageKind: Sendable, Hashable, CaseIterable {
    /// Requests: what a server parses.
    case request
    /// Responses: what a client parses.
    case response
}

/// An HTTP/1.x protocol version (RFC 9112 §2.3). The parser accepts only 1.0 and 1.1.
public struct HTTP1Version: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var major: Int
    public var minor: Int

    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    public static let http1_0 = HTTP1Version(major: 1, minor: 0)
    public static let http1_1 = HTTP1Version(major: 1, minor: 1)

    public static func < (lhs: HTTP1Version, rhs: HTTP1Version) -> Bool {
        (lhs.major, lhs.minor) < (rhs.major, rhs.minor)
    }

    /// `HTTP/1.1`, as on the wire.
    public var description: String { "HTTP/\(major).\(minor)" }
}

/// How the end of a message's body is found (RFC 9112 §6.3).
public enum HTTP1BodyFraming: Sendable, Hashable {
    /// No body: a request without Content-Length or Transfer-Encoding; a response to HEAD,
    /// a 1xx, 204 or 304 response; a 2xx response to CONNECT.
    case none
    /// Exactly this many bytes follow (Content-Length).
    case contentLength(Int)
    /// The chunked transfer coding (RFC 9112 §7.1).
    case chunked
    /// A response without framing, or whose final transfer coding is not chunked: the body
    /// ends when the connection closes (``HTTP1Parser/finish()``).
    case untilClose
}

/// The form of a request-target (RFC 9112 §3.2).
public enum HTTP1RequestTargetForm: Sendable, Hashable {
    /// `/path?query`: the usual form.
    case origin
    /// `scheme://authority/path?query`: requests to proxies (and any server must accept it).
    case absolute
    /// `host:port`: CONNECT only.
    case authority
    /// `*`: server-wide OPTIONS only.
    case asterisk
}
