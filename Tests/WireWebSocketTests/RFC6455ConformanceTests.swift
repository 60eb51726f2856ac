import HTTPTypes
import Testing
import WireCore
import WireHTTP1
import WireWebSocket

/// RFC 6455 duties the issue-14 audit found uncovered (Spec/rfc6455.md), each a gap fixed.
@Suite struct RFC6455ConformanceTests {
    static let accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

    static func answer(upgrade: [String]) -> HTTPResponse {
        var fields = HTTPFields()
        for value in upgrade { fields.append(HTTPField(name: .upgrade, value: value)) }
        fields[.connection] = "Upgrade"
        fields[.secWebSocketAccept] = accept
        return HTTPResponse(status: .switchingProtocols, headerFields: fields)
    }

    /// §4.1: a 101 whose Upgrade is anything but `websocket` (any case) fails the client.
    @Test func theClientFailsA101WhoseUpgradeIsNotExactlyWebsocket() throws {
        let handshake = clientHandshake()
        #expect(try handshake.validate(Self.answer(upgrade: ["WebSocket"])) == .accepted(WebSocketNegotiation()))
        for upgrade in [["foo, websocket"], ["websocket, h2c"], ["websocket", "websocket"], ["websocket/13"]] {
            #expect(throws: WebSocketHandshakeError(.missingUpgrade), "\(upgrade)") {
                try handshake.validate(Self.answer(upgrade: upgrade))
            }
        }
    }

    /// §3: a WebSocket URI has no fragment; the resource name never holds "#".
    @Test func theClientRefusesAFragmentInThePath() {
        #expect(throws: WebSocketUsageError(.invalidHeaderField)) {
            try WebSocketClientHandshake(authority: "example.com", path: "/chat#top")
        }
    }

    /// §4.2.1, §9.1: a Sec-WebSocket-Extensions offer outside the grammar fails the handshake
    /// with 400 (well-formed offers with bad parameters are only declined: RFC 7692 §5).
    @Test func theServerAnswers400ToMalformedExtensionOffers() throws {
        let base = "GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        let policy = WebSocketServerPolicy(deflate: PerMessageDeflateServerPolicy())
        for offer in ["permessage-deflate; =1", "permessage-deflate; server_max_window_bits=\"1 0\"", ";", "permessage-deflate;;"] {
            var parser = HTTP1Parser(parsing: .request)
            let bytes = Array((base + "Sec-WebSocket-Extensions: \(offer)\r\n\r\n").utf8)
            guard case .requestHead(let head)? = try parser.parse(bytes.span).event else {
                Issue.record("no head for \(offer)")
                continue
            }
            #expect(throws: WebSocketHandshakeError(.malformedExtensions, statusHint: .badRequest), "\(offer)") {
                try WebSocketServerHandshake(validating: head, scheme: "http", policy: policy)
            }
        }
        // A well-formed offer with an unknown parameter is declined, not an error.
        var parser = HTTP1Parser(parsing: .request)
        let bytes = Array((base + "Sec-WebSocket-Extensions: permessage-deflate; foo=1\r\n\r\n").utf8)
        guard case .requestHead(let head)? = try parser.parse(bytes.span).event else { Issue.record("no head"); return }
        let handshake = try WebSocketServerHandshake(validating: head, scheme: "http", policy: policy)
        #expect(try handshake.accept().negotiation == WebSocketNegotiation())
    }

    /// §5.5.2: a ping is answered unless the peer's close was received — also after our own
    /// close (§5.5.1 stops data frames only). Gap: such pings went unanswered.
    @Test func pingsAfterOurCloseAreAnsweredUntilThePeersClose() throws {
        var client = openConnection(.client)
        try client.send(.close(.goingAway, reason: ""))
        _ = client.takeOutbound()
        let input = frame(.ping, [1, 2], masked: false) + frame(.close, closePayload(1001), masked: false)
            + frame(.ping, [3], masked: false)
        _ = feed(&client, input)
        #expect(frames(client.takeOutbound(), sentBy: .client) == [WebSocketFrame(opcode: .pong, payload: [1, 2])])
    }
}
