import HTTPTypes
import TestSupport
import Testing
import WireCore
import WireHTTP1
import WireWebSocket

/// The opening handshake's own machines (`WebSocketServerUpgrade`, `WebSocketClientUpgrade`),
/// apart from the connection: they hand over (negotiation, leftover bytes) to a connection that
/// starts open.
@Suite struct HandshakeUpgradeTests {
    static let answer = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"

    @Test func serverHandsOverTheBytesAfterTheRequest() throws {
        let early = frame(.text, bytes("early"), masked: true)
        for chunking in Chunkings.standard(of: clientHandshake().requestBytes + early, randomCount: 4) {
            var upgrade = WebSocketServerUpgrade(policy: .init(origins: .allowAll))
            var events: [WebSocketServerUpgradeEvent] = []
            for piece in chunking {
                upgrade.receive(Array(piece).span)
                while let event = upgrade.nextEvent() { events.append(event) }
            }
            let request = try #require(upgrade.pendingRequest)
            #expect(events == [.request(request)])
            #expect(upgrade.state == .awaitingDecision(request))
            let acceptance = try request.accept()
            let handover = try upgrade.accept(acceptance)
            #expect(handover == WebSocketHandover(negotiation: WebSocketNegotiation(), leftover: early))
            #expect(upgrade.takeOutbound() == acceptance.responseBytes)
            #expect(upgrade.state == .accepted)
            #expect(upgrade.nextEvent() == nil)

            var connection = try WebSocketConnection(role: .server, handover: handover, configuration: .testing(seed: 1))
            #expect(drain(&connection) == [.event(.text("early"))])
        }
    }

    @Test func serverAnswersAnInvalidRequestItself() {
        var upgrade = WebSocketServerUpgrade()
        let request = "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n"
        upgrade.receive(bytes(request).span)
        let error = WebSocketHandshakeError(.unsupportedVersion, statusHint: .upgradeRequired)
        #expect(upgrade.nextEvent() == .failed(error))
        #expect(upgrade.state == .failed(error))
        #expect(upgrade.takeOutbound() == error.responseBytes)
        #expect(upgrade.nextEvent() == nil)
    }

    @Test func serverRejectsOnTheApplicationsWord() throws {
        var upgrade = WebSocketServerUpgrade(policy: .init(origins: .allowAll))
        #expect(throws: WebSocketUsageError(.noUpgradeRequestPending)) { try upgrade.reject(status: .unauthorized) }
        upgrade.receive(clientHandshake().requestBytes.span)
        #expect(upgrade.nextEvent() != nil)
        try upgrade.reject(status: .unauthorized, headerFields: [.wwwAuthenticate: "Basic realm=\"x\""])
        #expect(String(decoding: upgrade.takeOutbound(), as: UTF8.self)
            == "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"x\"\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
        #expect(upgrade.state == .rejected)
        #expect(throws: WebSocketUsageError(.noUpgradeRequestPending)) { _ = try upgrade.accept() }
    }

    @Test func serverEndOfStreamBeforeTheRequest() {
        var upgrade = WebSocketServerUpgrade()
        upgrade.receive(bytes("GET / HT").span)
        #expect(upgrade.nextEvent() == nil)
        upgrade.receiveEOF()
        #expect(upgrade.nextEvent() == .failed(WebSocketHandshakeError(.endOfStream)))
        #expect(upgrade.takeOutbound().isEmpty)        // nothing to answer
    }

    @Test func clientSendsTheRequestAndHandsOver() throws {
        var upgrade = WebSocketClientUpgrade(clientHandshake())
        #expect(upgrade.takeOutbound() == clientHandshake().requestBytes)
        let welcome = frame(.text, bytes("welcome"), masked: false)
        upgrade.receive(bytes("HTTP/1.1 100 Continue\r\n\r\n" + Self.answer).span)
        upgrade.receive(welcome.span)
        let event = upgrade.nextEvent()
        #expect(event == .accepted(WebSocketHandover(negotiation: WebSocketNegotiation(), leftover: welcome)))
        #expect(upgrade.state == .accepted)
        guard case .accepted(let handover)? = event else {
            Issue.record("not accepted: \(String(describing: event))")
            return
        }
        var connection = try WebSocketConnection(role: .client, handover: handover, configuration: .testing(seed: 1))
        #expect(drain(&connection) == [.event(.text("welcome"))])
    }

    @Test func clientHandsBackARejectionWithItsBody() {
        var upgrade = WebSocketClientUpgrade(clientHandshake(), maxRejectionBodySize: 3)
        upgrade.receive(bytes("HTTP/1.1 403 Forbidden\r\nContent-Length: 5\r\n\r\nnope!").span)
        guard case .rejected(let rejection)? = upgrade.nextEvent() else {
            Issue.record("no rejection")
            return
        }
        #expect(rejection.response.status.code == 403)
        #expect(rejection.body == bytes("nop"))
        #expect(rejection.bodyIsTruncated)
        #expect(upgrade.state == .rejected)
    }

    @Test func clientFailsAnInvalid101() {
        var upgrade = WebSocketClientUpgrade(clientHandshake())
        let answer = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\n"
        upgrade.receive(bytes(answer).span)
        #expect(upgrade.nextEvent() == .failed(WebSocketHandshakeError(.acceptMismatch)))
        #expect(upgrade.nextEvent() == nil)
    }

    /// A server that closes before any byte of its answer: the client's handshake fails at
    /// once with end-of-stream (found by the ws-connection-client fuzz target on empty input).
    @Test func clientFailsWhenTheServerClosesBeforeAnswering() throws {
        let handshake = try WebSocketClientHandshake(authority: "example.com", path: "/chat")
        var connection = WebSocketConnection(client: handshake, configuration: .init())
        _ = connection.takeOutbound()
        connection.receiveEOF()
        let event = try connection.nextEvent()
        guard case .closed? = event else {
            Issue.record("expected a closed event, got \(String(describing: event))")
            return
        }
        var upgrade = WebSocketClientUpgrade(handshake)
        upgrade.receiveEOF()
        guard case .failed(let error)? = upgrade.nextEvent() else {
            Issue.record("the upgrade machine did not fail")
            return
        }
        #expect(error.code == .endOfStream)
    }

}
