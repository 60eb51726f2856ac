public import HTTPTypes

// Conversion of parsed heads to swift-http-types values, following the HTTP/1 rules of
// swift-nio-extras' NIOHTTPTypesHTTP1: Host becomes the authority, the request-target gives
// the path (or the authority for CONNECT).

extension HTTP1RequestHead {
    /// The request as an `HTTPRequest`.
    ///
    /// - origin-form: `scheme` as given, authority from Host (`nil` if absent or empty), path
    ///   = the target;
    /// - absolute-form: scheme, authority and path from the target (Host is ignored,
    ///   RFC 9112 §3.2.2), an empty path becomes `/`;
    /// - authority-form (CONNECT): authority = the target, no scheme or path;
    /// - asterisk-form: path `*`.
    ///
    /// Host field lines are not copied into `headerFields` (they are the authority); all
    /// other field lines are, names and values as received.
    /// - Throws: `invalid-method` or `invalid-authority` if HTTPTypes refuses a part.
    public func httpRequest(scheme: String?) throws(HTTP1ParseError) -> HTTPRequest {
        guard let method = HTTPRequest.Method(self.method) else {
            throw HTTP1ParseError(.invalidMethod, offset: streamOffset)
        }
        let fields = try self.fields.httpFields(skippingHost: true)
        let target = self.target
        switch targetForm {
        case .authority:
            return HTTPRequest(method: method, scheme: nil, authority: target, path: nil, headerFields: fields)
        case .origin, .asterisk:
            let host = self.fields.firstValue(named: "host")
            return HTTPRequest(
                method: method, scheme: scheme, authority: host?.isEmpty == false ? host : nil, path: target,
                headerFields: fields)
        case .absolute:
            let utf8 = Array(target.utf8)
            let colon = utf8.firstIndex(of: UInt8(ascii: ":"))!
            let targetScheme = String(decoding: utf8[..<colon], as: UTF8.self)
            var rest = utf8[(colon + 1)...]
            var authority: String? = nil
            if rest.starts(with: "//".utf8) {
                rest = rest.dropFirst(2)
                let authorityEnd =
                    rest.firstIndex { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }
                    ?? rest.endIndex
                authority = String(decoding: rest[..<authorityEnd], as: UTF8.self)
                rest = rest[authorityEnd...]
            }
            var path = String(decoding: rest, as: UTF8.self)
            if path.isEmpty || path.first == "?" { path = "/" + path }
            return HTTPRequest(
                method: method, scheme: targetScheme, authority: authority, path: path, headerFields: fields)
        }
    }

    /// The header section as `HTTPFields` (every field line, Host included).
    public func httpFields() throws(HTTP1ParseError) -> HTTPFields {
        try fields.httpFields()
    }
}

extension HTTP1ResponseHead {
    /// The response as an `HTTPResponse`: status, reason phrase and every field line.
    public func httpResponse() throws(HTTP1ParseError) -> HTTPResponse {
        HTTPResponse(
            status: HTTPResponse.Status(code: status, reasonPhrase: reason),
            headerFields: try fields.httpFields())
    }

    /// The header section as `HTTPFields`.
    public func httpFields() throws(HTTP1ParseError) -> HTTPFields {
        try fields.httpFields()
    }
}
