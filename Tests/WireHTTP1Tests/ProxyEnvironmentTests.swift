import Testing
import WireHTTP1

/// `HTTPProxyEnvironment`: which proxy a URL takes, as curl documents it (`curl(1)`
/// ENVIRONMENT, `--proxy`, `--noproxy`; `libcurl-env(3)`, `CURLOPT_PROXY(3)`,
/// `CURLOPT_NOPROXY(3)`). Each row names the documented rule it checks.
struct ProxyEnvironmentTests {
    /// What a row expects.
    enum Expect: Hashable, CustomStringConvertible {
        case direct
        case excluded
        /// `kind://host:port` from `variable` (`nil`: explicit).
        case proxy(String, variable: String?)
        case error(String)

        var description: String {
            switch self {
            case .direct: "direct"
            case .excluded: "excluded by no_proxy"
            case .proxy(let p, let v): "\(p) from \(v ?? "--proxy")"
            case .error(let e): "error \(e)"
            }
        }
    }

    struct Row: CustomTestStringConvertible, Sendable {
        var rule: String
        var url: String
        var env: [String: String]
        var explicitProxy: String? = nil
        var explicitNoProxy: String? = nil
        var expect: Expect
        var testDescription: String { "\(rule): \(url) → \(expect)" }
    }

    static let p1 = "http://p1.example:3128"
    static let p2 = "http://p2.example:3128"

    static let selectionRows: [Row] = [
        // ENVIRONMENT: "http_proxy ... Sets the proxy server to use for HTTP."
        Row(rule: "http_proxy for http", url: "http://example.com/", env: ["http_proxy": p1],
            expect: .proxy("http://p1.example:3128", variable: "http_proxy")),
        // "http_proxy is an exception as it is only available in lower case."
        Row(rule: "HTTP_PROXY upper case is not read for http", url: "http://example.com/", env: ["HTTP_PROXY": p1],
            expect: .direct),
        Row(rule: "HTTP_PROXY ignored, ALL_PROXY used", url: "http://example.com/", env: ["HTTP_PROXY": p1, "ALL_PROXY": p2],
            expect: .proxy("http://p2.example:3128", variable: "ALL_PROXY")),
        // "HTTPS_PROXY ... Sets the proxy server to use for HTTPS."
        Row(rule: "https_proxy for https", url: "https://example.com/", env: ["https_proxy": p1],
            expect: .proxy("http://p1.example:3128", variable: "https_proxy")),
        Row(rule: "HTTPS_PROXY upper case is read", url: "https://example.com/", env: ["HTTPS_PROXY": p1],
            expect: .proxy("http://p1.example:3128", variable: "HTTPS_PROXY")),
        // "The lower case version has precedence."
        Row(rule: "lower case wins over upper case", url: "https://example.com/", env: ["https_proxy": p1, "HTTPS_PROXY": p2],
            expect: .proxy("http://p1.example:3128", variable: "https_proxy")),
        Row(rule: "http_proxy is not for https", url: "https://example.com/", env: ["http_proxy": p1], expect: .direct),
        Row(rule: "https_proxy is not for http", url: "http://example.com/", env: ["https_proxy": p1], expect: .direct),
        // "ALL_PROXY: Sets the proxy server to use if no protocol-specific proxy is set."
        Row(rule: "all_proxy for http", url: "http://example.com/", env: ["all_proxy": p2],
            expect: .proxy("http://p2.example:3128", variable: "all_proxy")),
        Row(rule: "all_proxy for https", url: "https://example.com/", env: ["all_proxy": p2],
            expect: .proxy("http://p2.example:3128", variable: "all_proxy")),
        Row(rule: "ALL_PROXY upper case", url: "https://example.com/", env: ["ALL_PROXY": p2],
            expect: .proxy("http://p2.example:3128", variable: "ALL_PROXY")),
        Row(rule: "all_proxy wins over ALL_PROXY", url: "http://example.com/", env: ["all_proxy": p1, "ALL_PROXY": p2],
            expect: .proxy("http://p1.example:3128", variable: "all_proxy")),
        // "Note that the scheme specific variables overrides this one if set."
        Row(rule: "scheme variable wins over all_proxy", url: "http://example.com/", env: ["http_proxy": p1, "all_proxy": p2],
            expect: .proxy("http://p1.example:3128", variable: "http_proxy")),
        Row(rule: "HTTPS_PROXY wins over all_proxy", url: "https://example.com/", env: ["HTTPS_PROXY": p1, "all_proxy": p2],
            expect: .proxy("http://p1.example:3128", variable: "HTTPS_PROXY")),
        // libcurl-env: "An exception exists for the WebSocket ws and wss URL schemes, where libcurl
        // first checks ws_proxy or wss_proxy but if they are not set, it falls back and tries the
        // http and https versions instead if set."
        Row(rule: "ws_proxy for ws", url: "ws://example.com/chat", env: ["ws_proxy": p1, "http_proxy": p2],
            expect: .proxy("http://p1.example:3128", variable: "ws_proxy")),
        Row(rule: "WS_PROXY upper case for ws", url: "ws://example.com/chat", env: ["WS_PROXY": p1, "http_proxy": p2],
            expect: .proxy("http://p1.example:3128", variable: "WS_PROXY")),
        Row(rule: "ws falls back to http_proxy", url: "ws://example.com/chat", env: ["http_proxy": p2],
            expect: .proxy("http://p2.example:3128", variable: "http_proxy")),
        Row(rule: "ws fallback keeps http_proxy lower case only", url: "ws://example.com/chat", env: ["HTTP_PROXY": p2],
            expect: .direct),
        Row(rule: "ws then all_proxy", url: "ws://example.com/chat", env: ["HTTP_PROXY": p1, "all_proxy": p2],
            expect: .proxy("http://p2.example:3128", variable: "all_proxy")),
        Row(rule: "wss_proxy for wss", url: "wss://example.com/chat", env: ["wss_proxy": p1, "https_proxy": p2],
            expect: .proxy("http://p1.example:3128", variable: "wss_proxy")),
        Row(rule: "WSS_PROXY upper case for wss", url: "wss://example.com/chat", env: ["WSS_PROXY": p1],
            expect: .proxy("http://p1.example:3128", variable: "WSS_PROXY")),
        Row(rule: "wss falls back to https_proxy", url: "wss://example.com/chat", env: ["https_proxy": p2],
            expect: .proxy("http://p2.example:3128", variable: "https_proxy")),
        Row(rule: "wss falls back to HTTPS_PROXY", url: "wss://example.com/chat", env: ["HTTPS_PROXY": p2],
            expect: .proxy("http://p2.example:3128", variable: "HTTPS_PROXY")),
        Row(rule: "wss does not read http_proxy", url: "wss://example.com/chat", env: ["http_proxy": p2], expect: .direct),
        Row(rule: "wss then ALL_PROXY", url: "wss://example.com/chat", env: ["ALL_PROXY": p2],
            expect: .proxy("http://p2.example:3128", variable: "ALL_PROXY")),
        // "[url-protocol]_PROXY ... where the protocol is a protocol that curl supports"
        Row(rule: "other schemes read <scheme>_proxy", url: "ftp://example.com/", env: ["ftp_proxy": p1],
            expect: .proxy("http://p1.example:3128", variable: "ftp_proxy")),
        Row(rule: "other schemes read <SCHEME>_PROXY", url: "ftp://example.com/", env: ["FTP_PROXY": p1],
            expect: .proxy("http://p1.example:3128", variable: "FTP_PROXY")),
        // curl_getenv: an empty variable is an unset one.
        Row(rule: "empty variable counts as unset", url: "http://example.com/", env: ["http_proxy": "", "all_proxy": p2],
            expect: .proxy("http://p2.example:3128", variable: "all_proxy")),
        Row(rule: "no variable: direct", url: "https://example.com/", env: ["PATH": "/usr/bin"], expect: .direct),
        // --proxy: "This option overrides existing environment variables that set the proxy to
        // use. If there is an environment variable setting a proxy, you can set proxy to "" to
        // override it."
        Row(rule: "explicit proxy overrides the environment", url: "http://example.com/", env: ["http_proxy": p1],
            explicitProxy: p2, expect: .proxy("http://p2.example:3128", variable: nil)),
        Row(rule: "explicit empty proxy disables the environment", url: "http://example.com/", env: ["http_proxy": p1],
            explicitProxy: "", expect: .direct),
        // ENVIRONMENT, NO_PROXY: "This environment variable disables use of the proxy even when
        // specified with the --proxy option": the manual's two examples.
        Row(rule: "NO_PROXY beats --proxy", url: "https://direct.example.com", env: ["NO_PROXY": "direct.example.com"],
            explicitProxy: "http://proxy.example.com", expect: .excluded),
        Row(rule: "NO_PROXY other host keeps --proxy", url: "https://somewhere.example.com", env: ["NO_PROXY": "direct.example.com"],
            explicitProxy: "http://proxy.example.com", expect: .proxy("http://proxy.example.com:1080", variable: nil)),
        Row(rule: "no_proxy excludes an environment proxy", url: "http://intra.example/", env: ["http_proxy": p1, "no_proxy": "intra.example"],
            expect: .excluded),
        Row(rule: "no_proxy wins over NO_PROXY", url: "http://a.example/", env: ["http_proxy": p1, "no_proxy": "b.example", "NO_PROXY": "a.example"],
            expect: .proxy("http://p1.example:3128", variable: "http_proxy")),
        Row(rule: "NO_PROXY upper case is read", url: "http://a.example/", env: ["http_proxy": p1, "NO_PROXY": "a.example"],
            expect: .excluded),
        // --noproxy: "This option overrides the environment variables that disable the proxy ...
        // you can set the no proxy list to "" to override it."
        Row(rule: "explicit empty no-proxy list overrides NO_PROXY", url: "http://a.example/", env: ["http_proxy": p1, "NO_PROXY": "a.example"],
            explicitNoProxy: "", expect: .proxy("http://p1.example:3128", variable: "http_proxy")),
        Row(rule: "explicit no-proxy list replaces no_proxy", url: "http://b.example/", env: ["http_proxy": p1, "no_proxy": "a.example"],
            explicitNoProxy: "b.example", expect: .excluded),
        Row(rule: "no_proxy ignores the URL's port", url: "ws://example.com:8080/x", env: ["http_proxy": p1, "no_proxy": "example.com"],
            expect: .excluded),
        Row(rule: "no_proxy with an IPv6 URL host", url: "http://[::1]:8080/", env: ["http_proxy": p1, "no_proxy": "::1"],
            expect: .excluded),
        // --proxy: proxy strings. "No protocol specified or http:// it is treated as an HTTP
        // proxy"; "If the port number is not specified in the proxy string, it is assumed to be
        // 1080"; CURLOPT_PROXY: https:// is an HTTPS proxy (port 443 by default, as curl does);
        // "Unrecognized and unsupported proxy protocol schemes cause an error."
        Row(rule: "proxy without scheme is HTTP", url: "http://example.com/", env: ["http_proxy": "proxy.example:8080"],
            expect: .proxy("http://proxy.example:8080", variable: "http_proxy")),
        Row(rule: "proxy without port: 1080", url: "http://example.com/", env: ["http_proxy": "proxy.example"],
            expect: .proxy("http://proxy.example:1080", variable: "http_proxy")),
        Row(rule: "http:// proxy without port: 1080", url: "http://example.com/", env: ["http_proxy": "http://proxy.example"],
            expect: .proxy("http://proxy.example:1080", variable: "http_proxy")),
        Row(rule: "https:// proxy without port: 443", url: "http://example.com/", env: ["http_proxy": "https://proxy.example"],
            expect: .proxy("https://proxy.example:443", variable: "http_proxy")),
        Row(rule: "proxy scheme and host in any case", url: "http://example.com/", env: ["http_proxy": "HTTP://Proxy.Example:8080/"],
            expect: .proxy("http://proxy.example:8080", variable: "http_proxy")),
        Row(rule: "IPv6 proxy in brackets", url: "http://example.com/", env: ["http_proxy": "http://[::1]:3128"],
            expect: .proxy("http://[::1]:3128", variable: "http_proxy")),
        Row(rule: "SOCKS proxies are refused", url: "http://example.com/", env: ["http_proxy": "socks5://proxy.example:1080"],
            expect: .error("unsupported-proxy-scheme")),
        Row(rule: "unknown proxy schemes are refused", url: "http://example.com/", env: ["http_proxy": "ftp://proxy.example"],
            expect: .error("unsupported-proxy-scheme")),
        Row(rule: "a bad proxy port is an error", url: "http://example.com/", env: ["http_proxy": "http://proxy.example:99999"],
            expect: .error("invalid-proxy-url")),
        Row(rule: "no_proxy is checked before the proxy string", url: "http://example.com/", env: ["http_proxy": "socks5://x", "no_proxy": "*"],
            expect: .excluded),
    ]

    @Test(arguments: selectionRows)
    func selection(_ row: Row) throws {
        let url = try WireURL(row.url)
        let environment = HTTPProxyEnvironment(row.env)
        let got: Expect
        do {
            switch try environment.selection(for: url, explicitProxy: row.explicitProxy, explicitNoProxy: row.explicitNoProxy) {
            case .direct: got = .direct
            case .excluded: got = .excluded
            case .proxy(let proxy, let variable):
                got = .proxy("\(proxy.kind == .http ? "http" : "https")://\(proxy.authority)", variable: variable)
            }
        } catch {
            got = .error(error.code.name)
        }
        #expect(got == row.expect)
    }

    /// `--proxy`: "User and password that might be provided in the proxy string are URL decoded
    /// by curl. This allows you to pass in special characters such as @ by using %40 or pass in
    /// a colon with %3a."
    @Test func credentialsAreURLDecoded() throws {
        let proxy = try HTTPProxy(parsing: "http://us%3aer:p%40ss@proxy.example:3128")
        #expect(proxy.credentials == HTTPBasicCredentials(username: "us:er", password: "p@ss"))
        #expect(proxy.credentials?.authorizationValue == "Basic " + "dXM6ZXI6cEBzcw==")
        let userOnly = try HTTPProxy(parsing: "alice@proxy.example")
        #expect(userOnly.credentials == HTTPBasicCredentials(username: "alice", password: ""))
        #expect(userOnly.port == 1080)
        #expect(!"\(proxy)".contains("p@ss") && !"\(proxy.credentials!)".contains("p@ss"))
    }

    /// RFC 7617 §2's example: Aladdin / open sesame.
    @Test func basicCredentialsRFCExample() {
        #expect(HTTPBasicCredentials(username: "Aladdin", password: "open sesame").authorizationValue
            == "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")
    }
}
