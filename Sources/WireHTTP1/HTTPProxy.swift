import WireCore

/// An HTTP proxy to tunnel through with `CONNECT` (RFC 9110 §9.3.6): where it is and how to
/// authenticate to it.
///
/// Made from a proxy string as curl reads one (`--proxy`, `http_proxy`, ...):
/// `[scheme://][user[:password]@]host[:port]`. No scheme means `http://`; the default port is
/// 1080 for `http://` and 443 for `https://` (curl's `CURLOPT_PROXY`); user and password are
/// percent-decoded (`%40` for `@`, `%3A` for `:`). SOCKS schemes and anything else are refused
/// with `unsupported-proxy-scheme`.
public struct HTTPProxy: Sendable, Hashable, CustomStringConvertible {
    /// How we talk to the proxy itself.
    public enum Kind: Sendable, Hashable {
        /// Plain TCP to the proxy (`http://`).
        case http
        /// TLS to the proxy (`https://`), then CONNECT inside it.
        case https
    }

    public var kind: Kind
    /// The proxy's host: a name, an IPv4 address, or an IPv6 address without brackets.
    public var host: String
    public var port: Int
    /// Credentials for `Proxy-Authorization: Basic` (RFC 7617), sent with every CONNECT.
    public var credentials: HTTPBasicCredentials?

    public init(kind: Kind = .http, host: String, port: Int, credentials: HTTPBasicCredentials? = nil) {
        self.kind = kind
        self.host = host
        self.port = port
        self.credentials = credentials
    }

    /// The default port when a proxy string names none: 1080 for HTTP proxies (curl's
    /// documented default), 443 for HTTPS proxies.
    public static func defaultPort(for kind: Kind) -> Int { kind == .http ? 1080 : 443 }

    /// Parses a proxy string the way curl does.
    ///
    /// - Throws: ``HTTPProxyError`` `unsupported-proxy-scheme` (socks4, socks5, ftp, ...) or
    ///   `invalid-proxy-url` (with the ``WireURLError``).
    public init(parsing text: String) throws(HTTPProxyError) {
        let hasScheme = text.utf8.firstIndex(of: UInt8(ascii: ":")).map { colon in
            let rest = text.utf8[colon...].dropFirst()
            return rest.starts(with: "//".utf8)
        } ?? false
        let url: WireURL
        do {
            url = try WireURL(hasScheme ? text : "http://" + text)
        } catch {
            throw HTTPProxyError(.invalidProxyURL, url: error)
        }
        switch url.scheme {
        case "http": kind = .http
        case "https": kind = .https
        default: throw HTTPProxyError(.unsupportedProxyScheme, scheme: url.scheme)
        }
        host = url.host
        port = url.port ?? Self.defaultPort(for: kind)
        if url.user != nil || url.password != nil {
            credentials = HTTPBasicCredentials(username: url.user ?? "", password: url.password ?? "")
        } else {
            credentials = nil
        }
    }

    /// `host:port` (IPv6 in brackets).
    public var authority: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// The proxy without its password.
    public var description: String {
        let user = credentials.map { "\($0.username)@" } ?? ""
        return "\(kind == .http ? "http" : "https")://\(user)\(authority)"
    }
}

/// A user name and password for the `Basic` authentication scheme (RFC 7617).
public struct HTTPBasicCredentials: Sendable, Hashable, CustomStringConvertible {
    public var username: String
    public var password: String

    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }

    /// `Basic base64(user ":" password)` with the UTF-8 octets of both (RFC 7617 §2.1: the
    /// `charset="UTF-8"` a server may ask for; what curl and browsers send).
    public var authorizationValue: String {
        "Basic " + Base64.encode(Array((username + ":" + password).utf8))
    }

    /// Never prints the password.
    public var description: String { "HTTPBasicCredentials(\(username), ***)" }
}
