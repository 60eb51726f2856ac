import HTTPTypes
import TestSupport
import Testing
import WireCore
import WireHTTP1
import WireWebSocket

/// Parses one request head from text.
private func head(_ text: String) throws -> HTTP1RequestHead {
    var parser = HTTP1Parser(parsing: .request)
    let bytes = Array(text.utf8)
    let step = try parser.parse(bytes.span)
    guard case .requestHead(let head)? = step.event else { throw HTTP1ParseError(.invalidRequestLine, offset: 0) }
    return head
}

private let validHead = "GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"

@Suite struct HandshakeServerTests {
    /// RFC 6455 §1.3: the example request and its answer, byte for byte.
    @Test func rfcExampleAnswer() throws {
        let request = try head(validHead + "Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n\r\n")
        let handshake = try WebSocketServerHandshake(
            validating: request, scheme: "http", policy: .init(subprotocols: ["chat"]))
        #expect(handshake.offeredSubprotocols == ["chat", "superchat"])
        #expect(handshake.origin == "http://example.com")
        #expect(handshake.selectedSubprotocol == "chat")
        let acceptance = try handshake.accept()
        #expect(acceptance.negotiation == WebSocketNegotiation(subprotocol: "chat"))
        #expect(String(decoding: acceptance.responseBytes, as: UTF8.self)
            == "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\r\n")
    }

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var text: String
        var code: WebSocketHandshakeError.Code
        var status: Int
        var testDescription: String { name }
    }

    static let key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    static let upgrade = "Upgrade: websocket\r\nConnection: Upgrade\r\n"
    static let failures: [Case] = [
        Case(name: "POST", text: "POST /chat HTTP/1.1\r\nHost: a\r\n\(upgrade)\(key)Sec-WebSocket-Version: 13\r\n\r\n", code: .methodNotGET, status: 400),
        Case(name: "HTTP/1.0", text: "GET /chat HTTP/1.0\r\nHost: a\r\n\(upgrade)\(key)Sec-WebSocket-Version: 13\r\n\r\n", code: .httpVersionTooOld, status: 400),
        Case(name: "empty Host", text: "GET /chat HTTP/1.1\r\nHost:\r\n\(upgrade)\(key)Sec-WebSocket-Version: 13\r\n\r\n", code: .missingHost, status: 400),
        Case(name: "a body", text: validHead + "Content-Length: 3\r\n\r\nabc", code: .unexpectedBody, status: 400),
        Case(name: "chunked body", text: validHead + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", code: .unexpectedBody, status: 400),
        Case(name: "no Upgrade", text: "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\n\(key)Sec-WebSocket-Version: 13\r\n\r\n", code: .missingUpgrade, status: 426),
        Case(name: "Upgrade h2c", text: "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\(key)Sec-WebSocket-Version: 13\r\n\r\n", code: .missingUpgrade, status: 426),
        Case(name: "no Connection upgrade", text: "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: keep-alive\r\n\(key)Sec-WebSocket-Version: 13\r\n\r\n", code: .missingConnectionUpgrade, status: 426),
        Case(name: "plain GET", text: "GET / HTTP/1.1\r\nHost: a\r\n\r\n", code: .missingUpgrade, status: 426),
        Case(name: "no key", text: "GET / HTTP/1.1\r\nHost: a\r\n\(upgrade)Sec-WebSocket-Version: 13\r\n\r\n", code: .missingKey, status: 400),
        Case(name: "key of 15 bytes", text: "GET / HTTP/1.1\r\nHost: a\r\n\(upgrade)Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAA\r\nSec-WebSocket-Version: 13\r\n\r\n", code: .invalidKey, status: 400),
        Case(name: "key of 17 bytes", text: "GET / HTTP/1.1\r\nHost: a\r\n\(upgrade)Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAA=\r\nSec-WebSocket-Version: 13\r\n\r\n", code: .invalidKey, status: 400),
        Case(name: "key not base64", text: "GET / HTTP/1.1\r\nHost: a\r\n\(upgrade)Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ!=\r\nSec-WebSocket-Version: 13\r\n\r\n", code: .invalidKey, status: 400),
        Case(name: "two keys", text: "GET / HTTP/1.1\r\nHost: a\r\n\(upgrade)\(key)\(key)Sec-WebSocket-Version: 13\r\n\r\n", code: .invalidKey, status: 400),
        Case(name: "no version", text: "GET / HTTP/1.1\r\nHost: a\r\n\(upgrade)\(key)\r\n", code: .unsupportedVersion, status: 426),
        Case(name: "version 8", text: "GET / HTTP/1.1\r\nHost: a\r\n\(upgrade)\(key)Sec-WebSocket-Version: 8\r\n\r\n", code: .unsupportedVersion, status: 426),
        Case(name: "versions 13, 8", text: "GET / HTTP/1.1\r\nHost: a\r\n\(upgrade)\(key)Sec-WebSocket-Version: 13, 8\r\n\r\n", code: .unsupportedVersion, status: 426),
        Case(name: "cross origin", text: validHead + "Origin: https://evil.example\r\n\r\n", code: .originNotAllowed, status: 403),
        Case(name: "null origin", text: validHead + "Origin: null\r\n\r\n", code: .originNotAllowed, status: 403),
        Case(name: "two origins", text: validHead + "Origin: http://example.com\r\nOrigin: http://example.com\r\n\r\n", code: .originNotAllowed, status: 403),
        Case(name: "subprotocol list with a space", text: validHead + "Sec-WebSocket-Protocol: chat v2\r\n\r\n", code: .invalidSubprotocolList, status: 400),
    ]

    @Test(arguments: failures)
    func invalidRequestIsRejected(_ test: Case) throws {
        let request = try head(test.text)
        do throws(WebSocketHandshakeError) {
            let handshake = try WebSocketServerHandshake(validating: request)
            Issue.record("accepted: \(handshake)")
        } catch {
            #expect(error.code == test.code)
            #expect(error.statusHint?.code == test.status)
            #expect(error.response.status.code == test.status)
            #expect(error.response.headerFields[.connection]?.contains("close") == true)
            let text = String(decoding: error.responseBytes, as: UTF8.self)
            #expect(text.hasPrefix("HTTP/1.1 \(test.status) "))
            #expect(text.contains("Content-Length: 0\r\n"))
            if test.code == .unsupportedVersion {
                #expect(text.contains("Sec-WebSocket-Version: 13\r\n"))
            }
            if test.status == 426 {
                #expect(text.contains("Upgrade: websocket\r\n"))
            }
        }
    }

    /// The same checks on an `HTTPRequest` from any HTTP layer.
    @Test func httpRequestFromAnotherLayer() throws {
        var fields = HTTPFields()
        fields[.upgrade] = "WebSocket"
        fields[.connection] = "keep-alive, Upgrade"
        fields[.secWebSocketKey] = exampleKey
        fields[.secWebSocketVersion] = "13"
        let request = HTTPRequest(method: .get, scheme: "https", authority: "example.com", path: "/", headerFields: fields)
        let handshake = try WebSocketServerHandshake(validating: request)
        #expect(handshake.key == exampleKey)
        var noHost = request
        noHost.authority = nil
        #expect(throws: WebSocketHandshakeError(.missingHost, statusHint: .badRequest)) {
            try WebSocketServerHandshake(validating: noHost)
        }
    }

    @Test func subprotocolPolicyAndExplicitChoice() throws {
        let request = try head(validHead + "Sec-WebSocket-Protocol: a, b,c\r\n\r\n")
        let policy = WebSocketServerPolicy(subprotocols: ["c", "b"])
        let handshake = try WebSocketServerHandshake(validating: request, policy: policy)
        #expect(handshake.offeredSubprotocols == ["a", "b", "c"])
        #expect(handshake.selectedSubprotocol == "c")            // our preference order
        #expect(try handshake.accept(subprotocol: "a").negotiation.subprotocol == "a")
        #expect(try handshake.accept(subprotocol: nil).response.headerFields[.secWebSocketProtocol] == nil)
        #expect(throws: WebSocketUsageError(.subprotocolNotOffered)) { try handshake.accept(subprotocol: "d") }
        let none = try WebSocketServerHandshake(validating: request, policy: .init(subprotocols: ["x"]))
        #expect(none.selectedSubprotocol == nil)
    }

    @Test func extraResponseFieldsAndRefusedOnes() throws {
        let handshake = try WebSocketServerHandshake(validating: try head(validHead + "\r\n"))
        var extra = HTTPFields()
        extra[.setCookie] = "a=b"
        extra[.secWebSocketAccept] = "forged"
        let acceptance = try handshake.accept(headerFields: extra)
        #expect(acceptance.response.headerFields[values: .secWebSocketAccept] == ["s3pPLMBiTxaQ9kYGzzhZRbK+xOo="])
        #expect(acceptance.response.headerFields[.setCookie] == "a=b")
        // HTTPTypes neutralises control characters in values: nothing can be injected.
        var bad = HTTPFields()
        bad.append(HTTPField(name: .setCookie, value: "a\r\nX-Injected: 1"))
        let text = String(decoding: try handshake.accept(headerFields: bad).responseBytes, as: UTF8.self)
        #expect(!text.contains("\r\nX-Injected"))
    }

    @Test func deflateIsNegotiatedOnlyWhenThePolicyHasIt() throws {
        let text = validHead + "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, permessage-deflate\r\n\r\n"
        let off = try WebSocketServerHandshake(validating: try head(text))
        #expect(off.deflate == nil)
        #expect(try off.accept().response.headerFields[.secWebSocketExtensions] == nil)

        let policy = WebSocketServerPolicy(deflate: PerMessageDeflateServerPolicy(maxClientWindowBits: 12))
        let on = try WebSocketServerHandshake(validating: try head(text), policy: policy)
        let acceptance = try on.accept()
        #expect(acceptance.negotiation.deflate == PerMessageDeflateParameters(clientMaxWindowBits: 12))
        #expect(acceptance.response.headerFields[.secWebSocketExtensions] == "permessage-deflate; client_max_window_bits=12")

        // A malformed offer is declined, not an error.
        let malformed = try WebSocketServerHandshake(
            validating: try head(validHead + "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=7\r\n\r\n"),
            policy: policy)
        #expect(malformed.deflate == nil)
        #expect(malformed.deflateOutcome?.declined.count == 1)
    }

    @Test func applicationRejection() {
        let response = WebSocketServerHandshake.rejection(status: .unauthorized, headerFields: [.wwwAuthenticate: "Bearer"])
        #expect(response.status == .unauthorized)
        #expect(response.headerFields[.connection] == "close")
        #expect(response.headerFields[.contentLength] == "0")
        #expect(response.headerFields[.wwwAuthenticate] == "Bearer")
    }
}

@Suite struct HandshakeOriginTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var origin: String?
        var host: String
        var scheme: String?
        var allowed: Bool
        var testDescription: String { "\(origin ?? "none") for \(host) (\(scheme ?? "?")) → \(allowed)" }
    }

    @Test(arguments: [
        Case(origin: nil, host: "example.com", scheme: nil, allowed: true),
        Case(origin: "http://example.com", host: "example.com", scheme: nil, allowed: true),
        Case(origin: "http://EXAMPLE.com", host: "example.COM", scheme: "http", allowed: true),
        Case(origin: "http://example.com:80", host: "example.com", scheme: "http", allowed: true),
        Case(origin: "https://example.com", host: "example.com:443", scheme: "https", allowed: true),
        Case(origin: "https://example.com", host: "example.com", scheme: nil, allowed: true),
        Case(origin: "https://example.com", host: "example.com", scheme: "http", allowed: false),
        Case(origin: "http://example.com", host: "example.com", scheme: "wss", allowed: false),
        Case(origin: "https://example.com", host: "example.com", scheme: "wss", allowed: true),
        Case(origin: "http://example.com:8080", host: "example.com", scheme: nil, allowed: false),
        Case(origin: "http://example.com:8080", host: "example.com:8080", scheme: nil, allowed: true),
        Case(origin: "http://evil.example", host: "example.com", scheme: nil, allowed: false),
        Case(origin: "http://example.com.evil.example", host: "example.com", scheme: nil, allowed: false),
        Case(origin: "http://[::1]:8080", host: "[::1]:8080", scheme: nil, allowed: true),
        Case(origin: "http://[::1]", host: "[::1]:8080", scheme: nil, allowed: false),
        Case(origin: "null", host: "example.com", scheme: nil, allowed: false),
        Case(origin: "http://example.com/path", host: "example.com", scheme: nil, allowed: false),
        Case(origin: "http://user@example.com", host: "example.com", scheme: nil, allowed: false),
        Case(origin: "example.com", host: "example.com", scheme: nil, allowed: false),
        Case(origin: "", host: "example.com", scheme: nil, allowed: false),
    ])
    func sameOriginIsTheDefault(_ test: Case) {
        #expect(WebSocketOriginPolicy.sameOrigin.allows(origin: test.origin, host: test.host, scheme: test.scheme) == test.allowed)
        #expect(WebSocketServerPolicy().origins == .sameOrigin)
    }

    @Test func allowListAndAllowAll() {
        let list = WebSocketOriginPolicy.allowList(["https://app.example.com", "http://localhost:3000"])
        #expect(list.allows(origin: "https://APP.example.com:443", host: "api.example.com"))
        #expect(list.allows(origin: "http://localhost:3000", host: "api.example.com"))
        #expect(!list.allows(origin: "http://localhost:3001", host: "api.example.com"))
        #expect(!list.allows(origin: "http://app.example.com", host: "api.example.com"))
        #expect(!list.allows(origin: "https://api.example.com", host: "api.example.com"))   // same origin not included
        let withSame = WebSocketOriginPolicy.allowList(["https://app.example.com"], includingSameOrigin: true)
        #expect(withSame.allows(origin: "https://api.example.com", host: "api.example.com"))
        #expect(WebSocketOriginPolicy.allowAll.allows(origin: "http://evil.example", host: "example.com"))
        #expect(WebSocketOriginPolicy.allowAll.allows(origin: nil, host: "example.com"))
        var strict = WebSocketOriginPolicy.sameOrigin
        strict.allowsMissingOrigin = false
        #expect(!strict.allows(origin: nil, host: "example.com"))
    }
}
