/// Which proxy a URL goes through, from the environment variables curl reads — a pure
/// function of the variables you pass (the codec never reads the process environment:
/// pass `ProcessInfo.processInfo.environment` or your own dictionary).
///
/// The rules are curl's, as its manual (`ENVIRONMENT`, `--proxy`, `--noproxy`) and
/// `libcurl-env`/`CURLOPT_PROXY`/`CURLOPT_NOPROXY` document them (curl 8.x):
///
/// 1. `no_proxy` (else `NO_PROXY`) is checked first; when it matches the URL's host, no proxy
///    is used — even one given explicitly (`--proxy`). See ``noProxyMatches(host:list:)``.
/// 2. An explicit proxy string wins over the environment; an explicit empty string means
///    "no proxy" and stops the environment lookup.
/// 3. Otherwise the scheme's variable: `http://` reads `http_proxy` **only in lower case**
///    (an upper-case `HTTP_PROXY` may be set by a CGI request's `Proxy:` header, so curl
///    never reads it); `https://` reads `https_proxy`, else `HTTPS_PROXY`; `ws://` reads
///    `ws_proxy`, `WS_PROXY`, then falls back to `http_proxy` (lower case only); `wss://`
///    reads `wss_proxy`, `WSS_PROXY`, then `https_proxy`, `HTTPS_PROXY`. Any other scheme
///    reads `<scheme>_proxy`, then its upper case.
/// 4. Then `all_proxy`, else `ALL_PROXY`.
///
/// Lower case wins over upper case. A variable set to the empty string counts as unset
/// (curl's `curl_getenv`).
public struct HTTPProxyEnvironment: Sendable, Hashable {
    /// The environment variables, by exact (case-sensitive) name.
    public var variables: [String: String]

    public init(_ variables: [String: String]) {
        self.variables = variables
    }

    /// Where a URL's connection goes, and why.
    public enum Selection: Sendable, Hashable {
        /// Straight to the host: no proxy is configured for the scheme.
        case direct
        /// Straight to the host: the host matches this `no_proxy` list (named by `variable`,
        /// or `nil` for an explicit list).
        case excluded(variable: String?)
        /// Through this proxy, from `variable` (`nil` for an explicit proxy string).
        case proxy(HTTPProxy, variable: String?)

        /// The proxy, if any.
        public var proxy: HTTPProxy? {
            if case .proxy(let proxy, _) = self { proxy } else { nil }
        }
    }

    /// Chooses the proxy for `url`.
    ///
    /// - Parameters:
    ///   - explicitProxy: a proxy string given by the user (curl's `--proxy`); `""` disables
    ///     proxies and the environment lookup; `nil` reads the environment.
    ///   - explicitNoProxy: a `no_proxy` list given by the user (curl's `--noproxy`); it
    ///     replaces the variables. `""` excludes nothing.
    /// - Throws: ``HTTPProxyError`` when the chosen proxy string is unusable
    ///   (`invalid-proxy-url`, `unsupported-proxy-scheme`).
    public func selection(
        for url: WireURL, explicitProxy: String? = nil, explicitNoProxy: String? = nil
    ) throws(HTTPProxyError) -> Selection {
        let noProxy: (list: String, variable: String?)?
        if let explicitNoProxy {
            noProxy = (explicitNoProxy, nil)
        } else if let value = value(of: "no_proxy") {
            noProxy = (value, "no_proxy")
        } else if let value = value(of: "NO_PROXY") {
            noProxy = (value, "NO_PROXY")
        } else {
            noProxy = nil
        }
        if let noProxy, Self.noProxyMatches(host: url.host, list: noProxy.list) {
            return .excluded(variable: noProxy.variable)
        }
        if let explicitProxy {
            if explicitProxy.isEmpty { return .direct }
            return .proxy(try HTTPProxy(parsing: explicitProxy), variable: nil)
        }
        guard let (name, value) = proxyVariable(forScheme: url.scheme) else { return .direct }
        return .proxy(try HTTPProxy(parsing: value), variable: name)
    }

    /// The proxy for `url`, or `nil` to connect directly (``selection(for:explicitProxy:explicitNoProxy:)``).
    public func proxy(
        for url: WireURL, explicitProxy: String? = nil, explicitNoProxy: String? = nil
    ) throws(HTTPProxyError) -> HTTPProxy? {
        try selection(for: url, explicitProxy: explicitProxy, explicitNoProxy: explicitNoProxy).proxy
    }

    /// The variable (name and value) that sets the proxy for `scheme`, in curl's order.
    public func proxyVariable(forScheme scheme: String) -> (name: String, value: String)? {
        var names: [String] = []
        switch scheme {
        case "http":
            names = ["http_proxy"]
        case "https":
            names = ["https_proxy", "HTTPS_PROXY"]
        case "ws":
            names = ["ws_proxy", "WS_PROXY", "http_proxy"]
        case "wss":
            names = ["wss_proxy", "WSS_PROXY", "https_proxy", "HTTPS_PROXY"]
        default:
            names = [scheme + "_proxy", Self.uppercased(scheme) + "_PROXY"]
        }
        names += ["all_proxy", "ALL_PROXY"]
        for name in names {
            if let value = value(of: name) { return (name, value) }
        }
        return nil
    }

    /// A variable's value; empty counts as unset.
    func value(of name: String) -> String? {
        guard let value = variables[name], !value.isEmpty else { return nil }
        return value
    }

    static func uppercased(_ text: String) -> String {
        String(decoding: text.utf8.map { $0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z") ? $0 - 32 : $0 }, as: UTF8.self)
    }
}
