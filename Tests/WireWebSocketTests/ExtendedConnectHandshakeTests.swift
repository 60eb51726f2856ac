import HTTPTypes
import Testing
import WireWebSocket

/// The RFC 8441 §5.1 example request, as the HTTP/2 layer hands it over.
private func exampleRequest(
    extra: [(String, String)] = [], removing: [String] = [], method: HTTPRequest.Method = .connect,
    protocol name: String? = "websocket", scheme: String? = "https", path: String? = "/chat",
    authority: String? = "server.example.com"
) -> HTTPRequest {
    var fields = HTTPFields()
    let base: [(String, String)] = [
        ("sec-websocket-protocol", "chat, superchat"),
        ("sec-websocket-extensions", "permessage-deflate"),
        ("sec-websocket-version", "13"),
        ("origin", "http://www.example.com"),
    ]
    for (name, value) in base.filter({ !removing.contains($0.0) }) + extra {
        fields.append(HTTPField(name: HTTPField.Name(name)!, value: value))
    }
    var request = HTTPRequest(method: method, scheme: scheme, authority: authority, path: path, headerFields: fields)
    request.extendedConnectProtocol = name
    return request
}

@Suite struct ExtendedConnectClientTests {
    /// RFC 8441 §5.1: the example request, field for field.
    @Test func requestIsTheRFCExample() throws {
        let handshake = try WebSocketExtendedConnectClientHandshake(
            authority: "server.example.com", path: "/chat", origin: "http://www.example.com",
            subprotocols: ["chat", "superchat"], deflate: PerMessageDeflateClientOffer([.init(clientMaxWindowBits: .notOffered)]))
        let request = handshake.request
        #expect(request.method == .connect)
        #expect(request.extendedConnectProtocol == "websocket")
        #expect(request.scheme == "https")
        #expect(request.path == "/chat")
        #expect(request.authority == "server.example.com")
        #expect(request.headerFields.map { "\($0.name.canonicalName): \($0.value)" } == [
            "sec-websocket-version: 13", "origin: http://www.example.com",
            "sec-websocket-protocol: chat, superchat", "sec-websocket-extensions: permessage-deflate",
        ])
        // Nothing HTTP/2 forbids and no key: `:protocol` replaces it (RFC 8441 §5).
        for name in ["connection", "upgrade", "sec-websocket-key", "host"] {
            #expect(request.headerFields[HTTPField.Name(name)!] == nil)
        }
        // The request is what our own server accepts.
        let server = try WebSocketExtendedConnectServerHandshake(
            validating: request, policy: .init(origins: .allowAll, subprotocols: ["superchat"], deflate: .init()))
        #expect(server.selectedSubprotocol == "superchat")
        #expect(server.deflate != nil)
    }

    /// `ws`/`wss` are spelled `http`/`https` in `:scheme`; other schemes are refused.
    @Test(arguments: [("wss", "https"), ("https", "https"), ("ws", "http"), ("HTTP", "http")])
    func schemeIsHTTPOrHTTPS(given: String, sent: String) throws {
        let handshake = try WebSocketExtendedConnectClientHandshake(authority: "a.example", scheme: given)
        #expect(handshake.request.scheme == sent)
    }

    @Test func invalidInputsAreRefused() {
        #expect(throws: WebSocketUsageError(.invalidScheme)) {
            try WebSocketExtendedConnectClientHandshake(authority: "a.example", scheme: "ftp")
        }
        for authority in ["", "user@a.example", "a.example/x", "a example"] {
            #expect(throws: WebSocketUsageError(.invalidHeaderField), "\(authority)") {
                try WebSocketExtendedConnectClientHandshake(authority: authority)
            }
        }
        for path in ["", "chat", "/a b", "/\u{e9}", "*"] {
            #expect(throws: WebSocketUsageError(.invalidHeaderField), "\(path)") {
                try WebSocketExtendedConnectClientHandshake(authority: "a.example", path: path)
            }
        }
        #expect(throws: WebSocketUsageError(.invalidSubprotocol)) {
            try WebSocketExtendedConnectClientHandshake(authority: "a.example", subprotocols: ["a b"])
        }
        #expect(throws: WebSocketUsageError(.invalidSubprotocol)) {
            try WebSocketExtendedConnectClientHandshake(authority: "a.example", subprotocols: ["a", "a"])
        }
        for (name, value) in [("connection", "close"), ("upgrade", "websocket"), ("keep-alive", "5"), ("te", "gzip")] {
            var fields = HTTPFields()
            fields[HTTPField.Name(name)!] = value
            #expect(throws: WebSocketUsageError(.invalidHeaderField), "\(name)") {
                try WebSocketExtendedConnectClientHandshake(authority: "a.example", headerFields: fields)
            }
        }
    }

    /// The caller's fields follow ours and cannot replace them; `host` is dropped (`:authority`).
    @Test func extraFieldsFollowAndCannotReplaceOurs() throws {
        var fields = HTTPFields()
        fields[.cookie] = "session=1"
        fields[.secWebSocketVersion] = "8"
        fields[.secWebSocketKey] = "forged"
        fields[HTTPField.Name("host")!] = "elsewhere.example"
        fields[.te] = "trailers"
        let request = try WebSocketExtendedConnectClientHandshake(authority: "a.example", headerFields: fields).request
        #expect(request.headerFields[values: .secWebSocketVersion] == ["13"])
        #expect(request.headerFields[.secWebSocketKey] == nil)
        #expect(request.headerFields[HTTPField.Name("host")!] == nil)
        #expect(request.headerFields[.cookie] == "session=1")
        #expect(request.headerFields[.te] == "trailers")
    }

    @Test func answersAreValidated() throws {
        let handshake = try WebSocketExtendedConnectClientHandshake(
            authority: "a.example", subprotocols: ["chat", "superchat"], deflate: .init())
        #expect(try handshake.validate(HTTPResponse(status: .ok)) == .accepted(WebSocketNegotiation()))
        var fields = HTTPFields()
        fields[.secWebSocketProtocol] = "superchat"
        fields[.secWebSocketExtensions] = "permessage-deflate; server_no_context_takeover"
        fields[.secWebSocketAccept] = "ignored"
        let outcome = try handshake.validate(HTTPResponse(status: .ok, headerFields: fields))
        guard case .accepted(let negotiation) = outcome else {
            Issue.record("\(outcome)")
            return
        }
        #expect(negotiation.subprotocol == "superchat")
        #expect(negotiation.deflate?.serverNoContextTakeover == true)
        // Any status but 200 is a rejection handed back whole; 1xx are interim.
        for status: HTTPResponse.Status in [.noContent, .accepted, .notFound, .unauthorized, .notImplemented, .found] {
            let response = HTTPResponse(status: status, headerFields: fields)
            #expect(try handshake.validate(response) == .rejected(response))
        }
        #expect(try handshake.validate(HTTPResponse(status: .earlyHints)) == .interim)
    }

    struct BadAnswer: Sendable, CustomTestStringConvertible {
        var name: String
        var fields: [(String, String)]
        var code: WebSocketHandshakeError.Code
        var testDescription: String { name }
    }

    static let badAnswers: [BadAnswer] = [
        BadAnswer(name: "subprotocol not offered", fields: [("sec-websocket-protocol", "other")], code: .subprotocolNotOffered),
        BadAnswer(name: "two subprotocols", fields: [("sec-websocket-protocol", "chat, superchat")], code: .subprotocolNotOffered),
        BadAnswer(name: "unknown extension", fields: [("sec-websocket-extensions", "x-custom")], code: .extensionNotOffered),
        BadAnswer(name: "malformed extensions", fields: [("sec-websocket-extensions", "permessage-deflate; =")], code: .malformedExtensions),
        BadAnswer(
            name: "client window not offered", fields: [("sec-websocket-extensions", "permessage-deflate; client_max_window_bits=10")],
            code: .extensionNegotiationFailed),
    ]

    @Test(arguments: badAnswers)
    func invalidAnswerFails(_ answer: BadAnswer) throws {
        let handshake = try WebSocketExtendedConnectClientHandshake(
            authority: "a.example", subprotocols: ["chat", "superchat"],
            deflate: PerMessageDeflateClientOffer([.init(clientMaxWindowBits: .notOffered)]))
        var fields = HTTPFields()
        for (name, value) in answer.fields { fields.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
        #expect(throws: WebSocketHandshakeError.self) { try handshake.validate(HTTPResponse(status: .ok, headerFields: fields)) }
        do throws(WebSocketHandshakeError) {
            _ = try handshake.validate(HTTPResponse(status: .ok, headerFields: fields))
        } catch {
            #expect(error.code == answer.code)
            #expect(error.statusHint == nil)
        }
    }

    /// An extension answer when we offered none fails, as over HTTP/1.1.
    @Test func extensionAnswerWithoutOffer() throws {
        let handshake = try WebSocketExtendedConnectClientHandshake(authority: "a.example")
        var fields = HTTPFields()
        fields[.secWebSocketExtensions] = "permessage-deflate"
        #expect(throws: WebSocketHandshakeError(.extensionNotOffered)) {
            try handshake.validate(HTTPResponse(status: .ok, headerFields: fields))
        }
    }
}

@Suite struct ExtendedConnectServerTests {
    /// RFC 8441 §5.1: the example request is accepted with a 200 that carries the subprotocol
    /// and the extension answer, and no key, accept, Upgrade or Connection.
    @Test func rfcExampleIsAnsweredWith200() throws {
        let policy = WebSocketServerPolicy(
            origins: .allowList(["http://www.example.com"]), subprotocols: ["chat"], deflate: .init())
        let handshake = try WebSocketExtendedConnectServerHandshake(validating: exampleRequest(), policy: policy)
        #expect(handshake.origin == "http://www.example.com")
        #expect(handshake.offeredSubprotocols == ["chat", "superchat"])
        let acceptance = try handshake.accept()
        #expect(acceptance.response.status == .ok)
        #expect(acceptance.response.headerFields.map { "\($0.name.canonicalName): \($0.value)" } == [
            "sec-websocket-protocol: chat", "sec-websocket-extensions: permessage-deflate",
        ])
        #expect(acceptance.negotiation.subprotocol == "chat")
        #expect(acceptance.negotiation.deflate == PerMessageDeflateParameters())
        #expect(WebSocketExtendedConnectServerHandshake.isExtendedConnect(exampleRequest()))
        #expect(!WebSocketExtendedConnectServerHandshake.isExtendedConnect(exampleRequest(protocol: nil)))
        #expect(!WebSocketExtendedConnectServerHandshake.isExtendedConnect(exampleRequest(method: .get)))
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var request: HTTPRequest
        var code: WebSocketHandshakeError.Code
        var status: Int
        var testDescription: String { name }
    }

    static let failures: [Case] = [
        Case(name: "GET", request: exampleRequest(method: .get), code: .methodNotCONNECT, status: 400),
        Case(name: "plain CONNECT", request: exampleRequest(protocol: nil, scheme: nil, path: nil), code: .missingProtocol, status: 400),
        Case(name: "protocol h2c", request: exampleRequest(protocol: "h2c"), code: .unsupportedProtocol, status: 501),
        Case(name: "protocol websockets", request: exampleRequest(protocol: "websockets"), code: .unsupportedProtocol, status: 501),
        Case(name: "no scheme", request: exampleRequest(scheme: nil), code: .missingScheme, status: 400),
        Case(name: "scheme wss", request: exampleRequest(scheme: "wss"), code: .invalidScheme, status: 400),
        Case(name: "no path", request: exampleRequest(path: nil), code: .missingPath, status: 400),
        Case(name: "empty path", request: exampleRequest(path: ""), code: .missingPath, status: 400),
        Case(name: "no authority", request: exampleRequest(authority: nil), code: .missingHost, status: 400),
        Case(name: "empty authority", request: exampleRequest(authority: ""), code: .missingHost, status: 400),
        Case(name: "Upgrade", request: exampleRequest(extra: [("upgrade", "websocket")]), code: .connectionSpecificField, status: 400),
        Case(name: "Connection", request: exampleRequest(extra: [("connection", "upgrade")]), code: .connectionSpecificField, status: 400),
        Case(name: "Transfer-Encoding", request: exampleRequest(extra: [("transfer-encoding", "chunked")]), code: .connectionSpecificField, status: 400),
        Case(name: "TE gzip", request: exampleRequest(extra: [("te", "gzip")]), code: .connectionSpecificField, status: 400),
        Case(name: "no version", request: exampleRequest(removing: ["sec-websocket-version"]), code: .unsupportedVersion, status: 400),
        Case(
            name: "version 8", request: exampleRequest(extra: [("sec-websocket-version", "8")], removing: ["sec-websocket-version"]),
            code: .unsupportedVersion, status: 400),
        Case(name: "two versions", request: exampleRequest(extra: [("sec-websocket-version", "13")]), code: .unsupportedVersion, status: 400),
        Case(
            name: "cross origin", request: exampleRequest(extra: [("origin", "https://evil.example")], removing: ["origin"]),
            code: .originNotAllowed, status: 403),
        Case(name: "two origins", request: exampleRequest(extra: [("origin", "http://www.example.com")]), code: .originNotAllowed, status: 403),
        Case(
            name: "subprotocol list with a space",
            request: exampleRequest(extra: [("sec-websocket-protocol", "chat v2")], removing: ["sec-websocket-protocol"]),
            code: .invalidSubprotocolList, status: 400),
    ]

    @Test(arguments: failures)
    func invalidRequestIsRejected(_ test: Case) {
        let policy = WebSocketServerPolicy(origins: .allowList(["http://www.example.com"]))
        do throws(WebSocketHandshakeError) {
            let handshake = try WebSocketExtendedConnectServerHandshake(validating: test.request, policy: policy)
            Issue.record("accepted: \(handshake)")
        } catch {
            #expect(error.code == test.code)
            #expect(error.statusHint?.code == test.status)
            let response = error.extendedConnectResponse
            #expect(response.status.code == test.status)
            // Nothing hop-by-hop in an HTTP/2 answer; the version is named on a mismatch.
            #expect(response.headerFields[.connection] == nil && response.headerFields[.upgrade] == nil)
            #expect(response.headerFields[.secWebSocketVersion] == (test.code == .unsupportedVersion ? "13" : nil))
        }
    }

    /// An HTTP/1.1 error's 426 becomes 400 over HTTP/2 (no `Upgrade` to name).
    @Test func upgradeRequiredBecomesBadRequest() {
        let error = WebSocketHandshakeError(.unsupportedVersion, statusHint: .upgradeRequired)
        #expect(error.response.status == .upgradeRequired)
        #expect(error.extendedConnectResponse.status == .badRequest)
        #expect(error.extendedConnectResponse.headerFields[.secWebSocketVersion] == "13")
    }

    /// `:protocol` is compared ASCII case-insensitively; a key is ignored; `TE: trailers` is allowed.
    @Test func lenientWhereTheRFCsAllow() throws {
        let request = exampleRequest(
            extra: [("sec-websocket-key", "not even base64"), ("te", "trailers")], protocol: "WebSocket")
        let handshake = try WebSocketExtendedConnectServerHandshake(validating: request, policy: .init(origins: .allowAll))
        #expect(try handshake.accept().response.headerFields[.secWebSocketAccept] == nil)
    }

    /// The Origin policy decides exactly as over HTTP/1.1, with `:authority` as `Host` and
    /// `:scheme` as the server's scheme.
    @Test(arguments: [
        ("https://server.example.com", true), ("https://server.example.com:443", true),
        ("http://server.example.com", false), ("https://server.example.com:8443", false),
        ("https://evil.example", false), ("null", false),
    ])
    func sameOriginUsesAuthorityAndScheme(origin: String, allowed: Bool) throws {
        let request = exampleRequest(extra: [("origin", origin)], removing: ["origin"])
        let policy = WebSocketServerPolicy()  // .sameOrigin
        let h2 = Result { () throws(WebSocketHandshakeError) in try WebSocketExtendedConnectServerHandshake(validating: request, policy: policy) }
        #expect(((try? h2.get()) != nil) == allowed)
        // The same answer as the HTTP/1.1 handshake for the same Host, scheme and Origin.
        var fields = HTTPFields()
        fields[.upgrade] = "websocket"
        fields[.connection] = "Upgrade"
        fields[.secWebSocketKey] = "dGhlIHNhbXBsZSBub25jZQ=="
        fields[.secWebSocketVersion] = "13"
        fields[.origin] = origin
        let h1Request = HTTPRequest(method: .get, scheme: "https", authority: "server.example.com", path: "/chat", headerFields: fields)
        #expect(((try? WebSocketServerHandshake(validating: h1Request, policy: policy)) != nil) == allowed)
        // Without Origin (not a browser): allowed by default, refused when asked.
        let none = exampleRequest(removing: ["origin"])
        #expect((try? WebSocketExtendedConnectServerHandshake(validating: none, policy: policy)) != nil)
        var strict = policy
        strict.origins.allowsMissingOrigin = false
        #expect(throws: WebSocketHandshakeError(.originNotAllowed, statusHint: .forbidden)) {
            try WebSocketExtendedConnectServerHandshake(validating: none, policy: strict)
        }
    }

    /// Permessage-deflate: the same offers under the same policy give the same outcome (agreed
    /// parameters, answer, declined offers) as the HTTP/1.1 handshake.
    @Test(arguments: [
        "permessage-deflate",
        "permessage-deflate; client_max_window_bits",
        "permessage-deflate; server_max_window_bits=10; client_no_context_takeover",
        "permessage-deflate; server_max_window_bits=8, permessage-deflate",
        "x-webkit-deflate-frame, permessage-deflate; client_max_window_bits=9",
        "permessage-deflate; unknown=1",
        "permessage-deflate; server_max_window_bits=16",
    ])
    func deflateIsNegotiatedAsOverHTTP1(offer: String) throws {
        for serverPolicy: PerMessageDeflateServerPolicy? in [
            nil, .init(), .init(maxServerWindowBits: 11, maxClientWindowBits: 12, serverNoContextTakeover: true),
            .init(clientNoContextTakeover: true),
        ] {
            let policy = WebSocketServerPolicy(origins: .allowAll, deflate: serverPolicy)
            let request = exampleRequest(extra: [("sec-websocket-extensions", offer)], removing: ["sec-websocket-extensions"])
            let h2 = try WebSocketExtendedConnectServerHandshake(validating: request, policy: policy)
            var fields = HTTPFields()
            fields[.upgrade] = "websocket"
            fields[.connection] = "Upgrade"
            fields[.secWebSocketKey] = "dGhlIHNhbXBsZSBub25jZQ=="
            fields[.secWebSocketVersion] = "13"
            fields[.secWebSocketExtensions] = offer
            let h1 = try WebSocketServerHandshake(
                validating: HTTPRequest(method: .get, scheme: "https", authority: "a", path: "/", headerFields: fields), policy: policy)
            #expect(h2.deflateOutcome == h1.deflateOutcome)
            #expect(try h2.accept().response.headerFields[.secWebSocketExtensions]
                == h1.accept().response.headerFields[.secWebSocketExtensions])
            #expect(try h2.accept().negotiation == h1.accept().negotiation)
        }
    }

    @Test func subprotocolChoiceAndExtraFields() throws {
        let handshake = try WebSocketExtendedConnectServerHandshake(
            validating: exampleRequest(), policy: .init(origins: .allowAll, subprotocols: ["superchat", "chat"]))
        #expect(handshake.selectedSubprotocol == "superchat")
        #expect(try handshake.accept(subprotocol: "chat").negotiation.subprotocol == "chat")
        #expect(try handshake.accept(subprotocol: nil).response.headerFields[.secWebSocketProtocol] == nil)
        #expect(throws: WebSocketUsageError(.subprotocolNotOffered)) { try handshake.accept(subprotocol: "other") }
        var extra = HTTPFields()
        extra[.setCookie] = "a=b"
        extra[.secWebSocketProtocol] = "forged"
        extra[.contentLength] = "5"
        let response = try handshake.accept(headerFields: extra).response
        #expect(response.headerFields[values: .secWebSocketProtocol] == ["superchat"])
        #expect(response.headerFields[.setCookie] == "a=b")
        #expect(response.headerFields[.contentLength] == nil)
        var hopByHop = HTTPFields()
        hopByHop[.connection] = "close"
        #expect(throws: WebSocketUsageError(.invalidHeaderField)) { try handshake.accept(headerFields: hopByHop) }
    }

    @Test func applicationRejection() {
        var fields = HTTPFields()
        fields[.wwwAuthenticate] = "Bearer"
        fields[.connection] = "close"
        let response = WebSocketExtendedConnectServerHandshake.rejection(status: .unauthorized, headerFields: fields)
        #expect(response.status == .unauthorized)
        #expect(response.headerFields[.wwwAuthenticate] == "Bearer")
        #expect(response.headerFields[.connection] == nil)
    }
}
