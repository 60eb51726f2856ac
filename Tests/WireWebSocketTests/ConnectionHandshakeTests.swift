import HTTPTypes
import TestSupport
import Testing
import WireCore
import WireHTTP1
import WireWebSocket

private let goodResponse = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"

/// Connections that run the opening handshake from bytes.
@Suite struct ConnectionHandshakeTests {
    @Test func clientSendsTheRequestFirst() {
        var client = WebSocketConnection(client: clientHandshake())
        #expect(client.state == .connecting(.awaitingResponse))
        #expect(client.negotiation == nil)
        #expect(client.takeOutbound() == clientHandshake().requestBytes)
    }

    /// Each cut of the 101 plus a frame gives the same events.
    @Test func clientReadsTheAnswerSplitAnywhere() {
        let input = bytes(goodResponse) + frame(.text, bytes("hi"), masked: false)
        for chunking in Chunkings.standard(of: input, randomCount: 8) {
            var client = WebSocketConnection(client: clientHandshake())
            let seen = feed(&client, chunking)
            #expect(seen == [.event(.accepted(WebSocketNegotiation())), .event(.text("hi"))])
        }
    }

    @Test func informationalAnswersBefore101AreSkipped() {
        var client = WebSocketConnection(client: clientHandshake())
        let seen = feed(&client, bytes("HTTP/1.1 100 Continue\r\n\r\n" + goodResponse))
        #expect(seen == [.event(.accepted(WebSocketNegotiation()))])
    }

    @Test func rejectionIsHandedBackWithItsBody() {
        let answer = "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"x\"\r\nContent-Length: 5\r\n\r\nnope!"
        var client = WebSocketConnection(client: clientHandshake())
        var rng = SplitMix64(seed: 42)
        let seen = feed(&client, Chunkings.random(of: bytes(answer), maxPiece: 9, using: &rng))
        var fields = HTTPFields()
        fields.append(HTTPField(name: .wwwAuthenticate, value: "Basic realm=\"x\""))
        fields.append(HTTPField(name: .contentLength, value: "5"))
        let rejection = WebSocketHandshakeRejection(
            response: HTTPResponse(status: .init(code: 401, reasonPhrase: "Unauthorized"), headerFields: fields), body: bytes("nope!"))
        #expect(seen == [.event(.closed(WebSocketClosure(cause: .handshakeRejected(rejection))))])
        #expect(client.transport == .closeNow)
        #expect(client.negotiation == nil)
    }

    @Test func rejectionReadUntilCloseAndTruncated() {
        var client = WebSocketConnection(
            client: WebSocketClientUpgrade(clientHandshake(), maxRejectionBodySize: 4), configuration: .testing(seed: 1))
        client.receive(bytes("HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\n\r\nmoved here").span)
        #expect(drain(&client).isEmpty)
        client.receiveEOF()
        let seen = drain(&client)
        guard case .event(.closed(let closure))? = seen.first, case .handshakeRejected(let rejection) = closure.cause else {
            Issue.record("\(seen)")
            return
        }
        #expect(rejection.response.status.code == 302)
        #expect(rejection.response.headerFields[.location] == "/elsewhere")
        #expect(rejection.body == bytes("move"))
        #expect(rejection.bodyIsTruncated)
    }

    @Test(arguments: [
        ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\n",
         WebSocketHandshakeError.Code.acceptMismatch),
        ("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
         .missingUpgrade),
        ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: x\r\n\r\n",
         .subprotocolNotOffered),
        ("HTTP/1.1 1O1 Switching\r\n\r\n", .malformedHTTP),
    ])
    func invalidAnswerFailsTheClient(answer: String, code: WebSocketHandshakeError.Code) {
        var client = WebSocketConnection(client: clientHandshake())
        _ = client.takeOutbound()
        let seen = feed(&client, bytes(answer) + frame(.text, bytes("x"), masked: false))
        guard case .event(.closed(let closure))? = seen.first, case .handshakeFailed(let error) = closure.cause else {
            Issue.record("\(seen)")
            return
        }
        #expect(seen.count == 1)
        #expect(error.code == code)
        #expect(client.takeOutbound().isEmpty)
        #expect(client.transport == .closeNow)
    }

    @Test func endOfStreamDuringTheHandshake() {
        var client = WebSocketConnection(client: clientHandshake())
        client.receive(bytes("HTTP/1.1 101 Swi").span)
        client.receiveEOF()
        #expect(drain(&client) == [.event(.closed(WebSocketClosure(cause: .handshakeFailed(WebSocketHandshakeError(.endOfStream)))))])
    }

    @Test func serverAnswersAnInvalidRequestItself() {
        var server = WebSocketConnection(server: .init())
        let request = "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n"
        let seen = feed(&server, bytes(request))
        let error = WebSocketHandshakeError(.unsupportedVersion, statusHint: .upgradeRequired)
        #expect(seen == [.event(.closed(WebSocketClosure(cause: .handshakeFailed(error))))])
        #expect(server.takeOutbound() == error.responseBytes)
        #expect(String(decoding: error.responseBytes, as: UTF8.self)
            == "HTTP/1.1 426 Upgrade Required\r\nUpgrade: websocket\r\nConnection: Upgrade, close\r\n"
            + "Sec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n")
        #expect(server.transport == .closeNow)
    }

    @Test func serverAnswersMalformedHTTPWithItsStatus() {
        var server = WebSocketConnection(server: .init())
        let seen = feed(&server, bytes("GET / HTTP/1.1\r\nHost a\r\n\r\n"))
        guard case .event(.closed(let closure))? = seen.first, case .handshakeFailed(let error) = closure.cause else {
            Issue.record("\(seen)")
            return
        }
        #expect(error.code == .malformedHTTP)
        #expect(error.http != nil)
        #expect(String(decoding: server.takeOutbound(), as: UTF8.self).hasPrefix("HTTP/1.1 400 "))
    }

    @Test func crossOriginRequestGets403() {
        var server = WebSocketConnection(server: .init())           // same-origin by default
        var request = clientHandshake(origin: "https://attacker.example").requestBytes
        request += frame(.text, bytes("x"), masked: true)
        _ = feed(&server, request)
        #expect(String(decoding: server.takeOutbound(), as: UTF8.self).hasPrefix("HTTP/1.1 403 Forbidden\r\n"))
        var sameOrigin = WebSocketConnection(server: .init(), scheme: "http")
        let seen = feed(&sameOrigin, clientHandshake(origin: "http://example.com").requestBytes)
        #expect(sameOrigin.pendingUpgradeRequest != nil)
        #expect(seen.count == 1)
    }

    @Test func applicationRejectsTheRequest() throws {
        var server = WebSocketConnection(server: .init(origins: .allowAll))
        let seen = feed(&server, clientHandshake().requestBytes)
        guard case .event(.upgradeRequest(let request))? = seen.first else {
            Issue.record("\(seen)")
            return
        }
        #expect(request.request.path == "/chat")
        #expect(server.state == .connecting(.awaitingDecision))
        try server.reject(status: .notFound)
        #expect(String(decoding: server.takeOutbound(), as: UTF8.self)
            == "HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
        guard case .event(.closed(let closure))? = drain(&server).first, case .handshakeRejected(let rejection) = closure.cause else {
            Issue.record("no closed event")
            return
        }
        #expect(rejection.response.status == .notFound)
        #expect(server.transport == .closeNow)
    }

    @Test func serverAcceptsWithExtraFieldsAndDeflate() throws {
        var pair = ConnectionPair(
            client: clientHandshake(subprotocols: ["a"], deflate: .init()),
            policy: .init(origins: .allowAll, subprotocols: ["a"], deflate: .init(serverNoContextTakeover: true)))
        let (_, clientSeen) = try pair.handshake(headerFields: [.setCookie: "id=1"])
        let negotiation = WebSocketNegotiation(subprotocol: "a", deflate: .init(serverNoContextTakeover: true))
        #expect(clientSeen == [.event(.accepted(negotiation))])
        #expect(pair.server.negotiation == negotiation)
        #expect(pair.server.pendingUpgradeRequest == nil)
    }
}
