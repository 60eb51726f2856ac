import TestSupport
import Testing
import WireCore
import WireWebSocket

@Suite struct ConnectionPingTests {
    @Test func pingIsAnsweredWithItsPayload() throws {
        var server = openConnection(.server)
        let seen = feed(&server, frame(.ping, bytes("are you there"), masked: true))
        #expect(seen == [.event(.ping(bytes("are you there")))])
        #expect(server.outboundByteCount == 15)
        #expect(frames(server.takeOutbound(), sentBy: .server) == [WebSocketFrame(opcode: .pong, payload: bytes("are you there"))])
    }

    /// Every ping of a batch is answered, up to 16 between two takes of the outbound bytes
    /// (Autobahn 2.10 sends 10 at once); beyond that only the latest (§5.5.3), so a flood holds
    /// at most 17 pongs.
    @Test func pingFloodIsBounded() throws {
        var client = openConnection(.client)
        var input: [UInt8] = []
        for i in 0..<1000 { input += frame(.ping, [UInt8(i & 0xFF), UInt8(i >> 8)], masked: false) }
        let seen = feed(&client, input)
        #expect(seen.count == 1000)
        #expect(client.outboundByteCount == 17 * (2 + 4 + 2))
        let pongs = frames(client.takeOutbound(), sentBy: .client)
        #expect(pongs.map(\.payload) == (0..<16).map { [UInt8($0), 0] } + [[0xE7, 0x03]])
        #expect(pongs.allSatisfy { $0.opcode == .pong })
        // The count starts again after the bytes are taken.
        _ = feed(&client, frame(.ping, [1], masked: false) + frame(.ping, [2], masked: false))
        #expect(frames(client.takeOutbound(), sentBy: .client).map(\.payload) == [[1], [2]])
    }

    @Test func automaticPongCanBeTurnedOff() throws {
        var configuration = WebSocketConfiguration.testing(seed: 1)
        configuration.automaticPong = false
        var server = openConnection(.server, .init(), configuration)
        #expect(feed(&server, frame(.ping, [1], masked: true)) == [.event(.ping([1]))])
        #expect(server.takeOutbound().isEmpty)
        try server.send(.pong([1]))
        #expect(frames(server.takeOutbound(), sentBy: .server) == [WebSocketFrame(opcode: .pong, payload: [1])])
    }

    /// Pings between the fragments of a message are answered while the message goes on.
    @Test func pingBetweenFragments() throws {
        var pair = ConnectionPair()
        try pair.client.send(.fragment(.text, bytes("he"), isFinal: false))
        try pair.client.send(.ping(bytes("mid")))
        try pair.client.send(.fragment(.text, bytes("llo"), isFinal: true))
        #expect(pair.toServer() == [.event(.ping(bytes("mid"))), .event(.text("hello"))])
        #expect(pair.toClient() == [.event(.pong(bytes("mid")))])
    }

    @Test func pongsAreDeliveredAndUnsolicitedOnesToo() throws {
        var pair = ConnectionPair()
        try pair.server.send(.pong(bytes("heartbeat")))
        #expect(pair.toClient() == [.event(.pong(bytes("heartbeat")))])
        #expect(pair.client.takeOutbound().isEmpty)       // a pong is never answered
    }
}

@Suite struct ConnectionSendTests {
    @Test func fragmentsAndFragmentSize() throws {
        var pair = ConnectionPair(clientConfiguration: .testing(seed: 1, fragmentSize: 4))
        try pair.client.send(.binary(payload(10)))
        let out = pair.client.takeOutbound()
        let sent = frames(out, sentBy: .client)
        #expect(sent.map(\.opcode) == [.binary, .continuation, .continuation])
        #expect(sent.map(\.fin) == [false, false, true])
        #expect(sent.map(\.payload.count) == [4, 4, 2])
        #expect(feed(&pair.server, out) == [.event(.binary(payload(10)))])
        try pair.client.send(.binary([]))
        #expect(frames(pair.client.takeOutbound(), sentBy: .client) == [WebSocketFrame(opcode: .binary, payload: [])])
    }

    @Test func clientMasksWithKeysFromItsSource() throws {
        var a = openConnection(.client, .init(), .testing(seed: 5))
        var b = openConnection(.client, .init(), .testing(seed: 5))
        var c = openConnection(.client, .init(), .testing(seed: 6))
        try a.send(.text("same"))
        try b.send(.text("same"))
        try c.send(.text("same"))
        let (x, y, z) = (a.takeOutbound(), b.takeOutbound(), c.takeOutbound())
        #expect(x == y)
        #expect(x != z)
        #expect(x[1] & 0x80 != 0)            // MASK bit
        var server = openConnection(.server)
        try server.send(.text("same"))
        #expect(server.takeOutbound() == [0x81, 4] + bytes("same"))
    }

    struct RefusalCase: Sendable, CustomTestStringConvertible {
        var name: String
        var event: WebSocketOutboundEvent
        var code: WebSocketUsageError.Code
        var testDescription: String { name }
    }

    @Test(arguments: [
        RefusalCase(name: "ping of 126 bytes", event: .ping([UInt8](repeating: 0, count: 126)), code: .controlPayloadTooLong),
        RefusalCase(name: "pong of 200 bytes", event: .pong([UInt8](repeating: 0, count: 200)), code: .controlPayloadTooLong),
        RefusalCase(name: "close 1005", event: .close(.noStatusReceived), code: .closeCodeNotSendable),
        RefusalCase(name: "close 1006", event: .close(.abnormalClosure), code: .closeCodeNotSendable),
        RefusalCase(name: "close 999", event: .close(WebSocketCloseCode(999)), code: .closeCodeNotSendable),
        RefusalCase(name: "long reason", event: .close(.normalClosure, reason: String(repeating: "r", count: 124)), code: .closeReasonTooLong),
        RefusalCase(name: "reason without code", event: .close(nil, reason: "why"), code: .closeReasonWithoutCode),
        RefusalCase(name: "invalid UTF-8 fragment", event: .fragment(.text, [0xFF], isFinal: false), code: .invalidUTF8Text),
        RefusalCase(name: "UTF-8 cut at the end", event: .fragment(.text, [0xC3], isFinal: true), code: .invalidUTF8Text),
    ])
    func refusedSendWritesNothing(_ test: RefusalCase) {
        var connection = openConnection(.server)
        #expect(throws: WebSocketUsageError(test.code)) { try connection.send(test.event) }
        #expect(connection.takeOutbound().isEmpty)
        #expect(connection.state == .open)
    }

    @Test func fragmentedSendRules() throws {
        var connection = openConnection(.server)
        try connection.send(.fragment(.text, [0xC3], isFinal: false))     // a character split across fragments
        #expect(throws: WebSocketUsageError(.messageInProgress)) { try connection.send(.text("x")) }
        #expect(throws: WebSocketUsageError(.messageInProgress)) { try connection.send(.fragment(.binary, [1], isFinal: true)) }
        #expect(throws: WebSocketUsageError(.invalidUTF8Text)) { try connection.send(.fragment(.text, [0x41], isFinal: true)) }
        try connection.send(.ping([]))                                        // control frames may interleave
        try connection.send(.fragment(.text, [0xA9], isFinal: true))
        try connection.send(.binary([1]))
        let sent = frames(connection.takeOutbound(), sentBy: .server)
        #expect(sent.map(\.opcode) == [.text, .ping, .continuation, .binary])
        #expect(sent[0].payload + sent[2].payload == bytes("é"))
        #expect(throws: WebSocketUsageError(.invalidUTF8Text)) { try connection.sendMessage(.text, [0xED, 0xA0, 0x80].span) }
    }

    @Test func stateRefusals() throws {
        var connecting = WebSocketConnection(client: clientHandshake())
        #expect(throws: WebSocketUsageError(.notOpen)) { try connecting.send(.text("x")) }
        #expect(throws: WebSocketUsageError(.notOpen)) { try connecting.send(.close(.normalClosure)) }
        #expect(throws: WebSocketUsageError(.noUpgradeRequestPending)) { try connecting.accept() }

        var closing = openConnection(.client)
        try closing.send(.close(.normalClosure))
        for event: WebSocketOutboundEvent in [.text("x"), .binary([1]), .ping([]), .pong([]), .close(.normalClosure),
                                              .fragment(.binary, [], isFinal: true)] {
            #expect(throws: WebSocketUsageError(.closeAlreadySent)) { try closing.send(event) }
        }
        var closed = openConnection(.server)
        _ = feed(&closed, frame(.close, masked: true))
        #expect(throws: WebSocketUsageError(.connectionClosed)) { try closed.send(.text("x")) }
        #expect(throws: WebSocketUsageError(.noUpgradeRequestPending)) { try closed.reject() }
    }

    /// Our close goes out after a pending pong, and cuts a fragmented message we were sending.
    @Test func closeFlushesThePendingPong() throws {
        var server = openConnection(.server)
        try server.send(.fragment(.binary, [1], isFinal: false))
        _ = feed(&server, frame(.ping, [7], masked: true))
        try server.send(.close(.normalClosure, reason: "end"))
        let sent = frames(server.takeOutbound(), sentBy: .server)
        #expect(sent.map(\.opcode) == [.binary, .pong, .close])
        #expect(sent[2].payload == closePayload(1000, "end"))
    }

    @Test func deflatedMessagesSetRSV1() throws {
        let parameters = PerMessageDeflateParameters()
        var pair = ConnectionPair(negotiation: WebSocketNegotiation(deflate: parameters))
        let text = String(repeating: "compress me ", count: 50)
        try pair.client.send(.text(text))
        try pair.client.send(.text("tiny"))                                    // below the size threshold
        let out = pair.client.takeOutbound()
        let sent = frames(out, sentBy: .client)
        #expect(sent.map(\.reserved) == [.rsv1, []])
        #expect(sent[0].payload.count < 100)
        #expect(feed(&pair.server, out) == [.event(.text(text)), .event(.text("tiny"))])
        // Streamed: RSV1 on the first frame only.
        try pair.server.send(.fragment(.binary, payload(300), isFinal: false))
        try pair.server.send(.fragment(.binary, payload(300, seed: 8), isFinal: true))
        let streamed = pair.server.takeOutbound()
        #expect(frames(streamed, sentBy: .server).map(\.reserved) == [.rsv1, []])
        #expect(feed(&pair.client, streamed) == [.event(.binary(payload(300) + payload(300, seed: 8)))])
        #expect(pair.client.deflateMemory != nil)
    }

    @Test func windowBits8ForOurCompressorIsRefused() {
        #expect(throws: WebSocketUsageError(.unsupportedDeflateParameters)) {
            _ = try WebSocketConnection(role: .client, negotiation: .init(deflate: .init(clientMaxWindowBits: 8)))
        }
        // The server inflates a window-8 client normally.
        #expect(throws: Never.self) {
            _ = try WebSocketConnection(role: .server, negotiation: .init(deflate: .init(clientMaxWindowBits: 8)))
        }
    }
}
