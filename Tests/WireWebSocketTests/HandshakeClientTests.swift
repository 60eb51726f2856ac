import HTTPTypes
import TestSupport
import Testing
import WireCore
import WireHTTP1
import WireWebSocket

/// The RFC 6455 §1.3 example: key `dGhlIHNhbXBsZSBub25jZQ==`, accept `s3pPLMBiTxaQ9kYGzzhZRbK+xOo=`.
private let exampleAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

private func response(_ fields: [(String, String)], status: HTTPResponse.Status = .switchingProtocols) -> HTTPResponse {
    var headerFields = HTTPFields()
    for (name, value) in fields { headerFields.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
    return HTTPResponse(status: status, headerFields: headerFields)
}

private let validFields: [(String, String)] = [
    ("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Accept", exampleAccept),
]

@Suite struct HandshakeClientRequestTests {
    @Test func acceptValueOfTheRFCExample() {
        #expect(WebSocketHandshake.acceptValue(forKey: exampleKey) == exampleAccept)
        #expect(clientHandshake().expectedAccept == exampleAccept)
    }

    @Test func requestBytesAreTheRFCShape() {
        let handshake = clientHandshake()
        let text = String(decoding: handshake.requestBytes, as: UTF8.self)
        #expect(text == "GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    }

    @Test func requestCarriesOriginSubprotocolsOffersAndExtraFields() throws {
        var extra = HTTPFields()
        extra[.cookie] = "session=1"
        extra[.secWebSocketKey] = "overridden?"      // replaced by the handshake's own
        let handshake = try WebSocketClientHandshake(
            authority: "example.com:8080", path: "/chat?room=1", origin: "http://example.com",
            subprotocols: ["chat.v2", "chat"], deflate: PerMessageDeflateClientOffer(), headerFields: extra, key: exampleKey)
        let text = String(decoding: handshake.requestBytes, as: UTF8.self)
        #expect(text == "GET /chat?room=1 HTTP/1.1\r\nHost: example.com:8080\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: http://example.com\r\n"
            + "Sec-WebSocket-Protocol: chat.v2, chat\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
            + "Cookie: session=1\r\n\r\n")
        // The request parses back as a valid upgrade for our own server.
        let server = try WebSocketServerHandshake(validating: handshake.request, policy: .init(origins: .allowAll))
        #expect(server.offeredSubprotocols == ["chat.v2", "chat"])
        #expect(server.key == exampleKey)
    }

    @Test func keyComesFromTheInjectedSource() throws {
        var a = SplitMix64(seed: 1)
        var b = SplitMix64(seed: 1)
        var c = SplitMix64(seed: 2)
        let first = try WebSocketClientHandshake(authority: "h", random: &a)
        let same = try WebSocketClientHandshake(authority: "h", random: &b)
        let other = try WebSocketClientHandshake(authority: "h", random: &c)
        #expect(first.key == same.key)
        #expect(first.key != other.key)
        #expect(try Base64.decode(first.key.utf8).count == 16)
        #expect(WebSocketHandshake.isValidKey(first.key))
        let system1 = try WebSocketClientHandshake(authority: "h")
        let system2 = try WebSocketClientHandshake(authority: "h")
        #expect(system1.key != system2.key)
    }

    @Test(arguments: [["bad token"], ["a,b"], [""], ["x", "x"]])
    func invalidSubprotocolsAreRefused(subprotocols: [String]) {
        #expect(throws: WebSocketUsageError(.invalidSubprotocol)) {
            try WebSocketClientHandshake(authority: "h", subprotocols: subprotocols, key: exampleKey)
        }
    }

    @Test(arguments: ["", "short", "dGhlIHNhbXBsZSBub25jZQ", "dGhlIHNhbXBsZSBub25jZQ==x", "AAAAAAAAAAAAAAAAAAAAAAAAAAA="])
    func invalidKeysAreRefused(key: String) {
        #expect(throws: WebSocketUsageError(.invalidKey)) { try WebSocketClientHandshake(authority: "h", key: key) }
    }

    @Test func unwritablePathIsRefused() {
        #expect(throws: WebSocketUsageError(.invalidHeaderField)) {
            try WebSocketClientHandshake(authority: "h", path: "/a b", key: exampleKey)
        }
    }
}

@Suite struct HandshakeClientValidationTests {
    @Test func validAnswerIsAccepted() throws {
        #expect(try clientHandshake().validate(response(validFields)) == .accepted(WebSocketNegotiation()))
    }

    /// Tokens are case-insensitive; Connection's may sit in lists (RFC 9110 §5.6.1), Upgrade's
    /// value is `websocket` alone (RFC 6455 §4.1, `RFC6455ConformanceTests`).
    @Test(arguments: [
        [("Upgrade", "WebSocket"), ("Connection", "upgrade")],
        [("Upgrade", "websocket"), ("Connection", "keep-alive, Upgrade")],
        [("Upgrade", "websocket"), ("Connection", "close"), ("Connection", "UPGRADE")],
    ])
    func upgradeTokensInListsAnyCase(fields: [(String, String)]) throws {
        let all = fields + [("Sec-WebSocket-Accept", exampleAccept)]
        #expect(try clientHandshake().validate(response(all)) == .accepted(WebSocketNegotiation()))
    }

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var fields: [(String, String)]
        var subprotocols: [String] = []
        var deflate: PerMessageDeflateClientOffer? = nil
        var code: WebSocketHandshakeError.Code
        var testDescription: String { name }
    }

    static let failures: [Case] = [
        Case(name: "no Upgrade", fields: [("Connection", "Upgrade"), ("Sec-WebSocket-Accept", exampleAccept)], code: .missingUpgrade),
        Case(name: "Upgrade h2c", fields: [("Upgrade", "h2c"), ("Connection", "Upgrade"), ("Sec-WebSocket-Accept", exampleAccept)], code: .missingUpgrade),
        Case(name: "Upgrade websockets", fields: [("Upgrade", "websockets"), ("Connection", "Upgrade"), ("Sec-WebSocket-Accept", exampleAccept)], code: .missingUpgrade),
        Case(name: "no Connection", fields: [("Upgrade", "websocket"), ("Sec-WebSocket-Accept", exampleAccept)], code: .missingConnectionUpgrade),
        Case(name: "Connection keep-alive", fields: [("Upgrade", "websocket"), ("Connection", "keep-alive"), ("Sec-WebSocket-Accept", exampleAccept)], code: .missingConnectionUpgrade),
        Case(name: "no accept", fields: [("Upgrade", "websocket"), ("Connection", "Upgrade")], code: .missingAccept),
        Case(name: "two accepts", fields: validFields + [("Sec-WebSocket-Accept", exampleAccept)], code: .missingAccept),
        Case(name: "wrong accept", fields: [("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOO=")], code: .acceptMismatch),
        Case(name: "accept of the key itself", fields: [("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Accept", exampleKey)], code: .acceptMismatch),
        Case(name: "subprotocol not offered", fields: validFields + [("Sec-WebSocket-Protocol", "chat")], code: .subprotocolNotOffered),
        Case(name: "subprotocol other than offered", fields: validFields + [("Sec-WebSocket-Protocol", "superchat")], subprotocols: ["chat"], code: .subprotocolNotOffered),
        Case(name: "two subprotocols", fields: validFields + [("Sec-WebSocket-Protocol", "chat, v2")], subprotocols: ["chat", "v2"], code: .subprotocolNotOffered),
        Case(name: "subprotocol case differs", fields: validFields + [("Sec-WebSocket-Protocol", "Chat")], subprotocols: ["chat"], code: .subprotocolNotOffered),
        Case(name: "extension not offered", fields: validFields + [("Sec-WebSocket-Extensions", "permessage-deflate")], code: .extensionNotOffered),
        Case(name: "other extension", fields: validFields + [("Sec-WebSocket-Extensions", "x-webkit-deflate-frame")], deflate: .init(), code: .extensionNotOffered),
        Case(name: "unknown deflate parameter", fields: validFields + [("Sec-WebSocket-Extensions", "permessage-deflate; foo")], deflate: .init(), code: .extensionNegotiationFailed),
        Case(name: "client window not offered", fields: validFields + [("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits=10")], deflate: .init([.init(clientMaxWindowBits: .notOffered)]), code: .extensionNegotiationFailed),
        Case(name: "deflate twice", fields: validFields + [("Sec-WebSocket-Extensions", "permessage-deflate, permessage-deflate")], deflate: .init(), code: .extensionNegotiationFailed),
        Case(name: "malformed extensions", fields: validFields + [("Sec-WebSocket-Extensions", "permessage-deflate; =")], deflate: .init(), code: .malformedExtensions),
    ]

    @Test(arguments: failures)
    func invalidAnswerFails(_ test: Case) throws {
        let handshake = try WebSocketClientHandshake(
            authority: "example.com", subprotocols: test.subprotocols, deflate: test.deflate, key: exampleKey)
        do throws(WebSocketHandshakeError) {
            let outcome = try handshake.validate(response(test.fields))
            Issue.record("accepted: \(outcome)")
        } catch {
            #expect(error.code == test.code)
            #expect(error.statusHint == nil)
        }
    }

    @Test func offeredSubprotocolIsChosen() throws {
        let handshake = clientHandshake(subprotocols: ["chat.v2", "chat"])
        let outcome = try handshake.validate(response(validFields + [("Sec-WebSocket-Protocol", "chat")]))
        #expect(outcome == .accepted(WebSocketNegotiation(subprotocol: "chat")))
        // The server may pick none of them (§4.1: the client may then fail, its choice).
        #expect(try handshake.validate(response(validFields)) == .accepted(WebSocketNegotiation()))
    }

    @Test func deflateAnswerGivesParameters() throws {
        let handshake = clientHandshake(deflate: PerMessageDeflateClientOffer())
        let outcome = try handshake.validate(response(validFields + [
            ("Sec-WebSocket-Extensions", "permessage-deflate; server_no_context_takeover; client_max_window_bits=12"),
        ]))
        let expected = PerMessageDeflateParameters(serverNoContextTakeover: true, clientMaxWindowBits: 12)
        #expect(outcome == .accepted(WebSocketNegotiation(deflate: expected)))
        // Declined by the server: no extension.
        #expect(try handshake.validate(response(validFields)) == .accepted(WebSocketNegotiation()))
    }

    @Test(arguments: [
        (HTTPResponse.Status.unauthorized, [("WWW-Authenticate", "Basic realm=\"chat\""), ("Content-Length", "0")]),
        (HTTPResponse.Status.found, [("Location", "wss://elsewhere.example/chat")]),
        (HTTPResponse.Status.ok, [("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Accept", exampleAccept)]),
    ])
    func otherStatusesAreHandedBackIntact(status: HTTPResponse.Status, fields: [(String, String)]) throws {
        let answer = response(fields, status: status)
        #expect(try clientHandshake().validate(answer) == .rejected(answer))
    }

    @Test func parsedHeadIsValidatedToo() throws {
        let bytes = Array(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Accept: \(exampleAccept)\r\n\r\n").utf8)
        var parser = HTTP1Parser(parsing: .response)
        parser.expectResponse(to: .get)
        let step = try parser.parse(bytes.span)
        guard case .responseHead(let head)? = step.event else {
            Issue.record("no head")
            return
        }
        #expect(try clientHandshake().validate(head) == .accepted(WebSocketNegotiation()))
    }
}
