import HTTPTypes
import TestSupport
import Testing
import WireCore
import WireWebSocket

/// One end of a simulated HTTP/2 stream carrying a WebSocket (RFC 8441 §5): the connection,
/// and what the transport did with the stream as the connection's `streamDirective` asked.
struct StreamEnd: ~Copyable {
    var connection: WebSocketConnection
    /// This end sent END_STREAM (its half is closed).
    var sentEndStream = false
    /// This end reset the stream (RST_STREAM CANCEL).
    var sentReset = false

    /// Takes what the connection wrote and applies its directive, as a transport would.
    mutating func takeData() -> (bytes: [UInt8], endStream: Bool, reset: Bool) {
        guard !sentEndStream, !sentReset else { return ([], false, false) }
        let bytes = connection.takeOutbound()
        switch connection.streamDirective {
        case .keepOpen: return (bytes, false, false)
        case .endStream:
            sentEndStream = true
            return (bytes, true, false)
        case .resetStream:
            sentReset = true
            return (bytes, false, true)
        }
    }
}

/// A client and a server connection over one simulated stream: DATA moves the bytes (cut into
/// DATA frames of `frameSize`), END_STREAM and RST_STREAM become `receiveEOF()`.
struct StreamPair: ~Copyable {
    var client: StreamEnd
    var server: StreamEnd
    var frameSize: Int? = nil

    init(negotiation: WebSocketNegotiation, clientConfiguration: WebSocketConfiguration = .testing(seed: 1),
         serverConfiguration: WebSocketConfiguration = .testing(seed: 2), frameSize: Int? = nil) throws {
        let clientConnection = try WebSocketConnection(role: .client, negotiation: negotiation, configuration: clientConfiguration)
        let serverConnection = try WebSocketConnection(role: .server, negotiation: negotiation, configuration: serverConfiguration)
        client = StreamEnd(connection: clientConnection)
        server = StreamEnd(connection: serverConnection)
        self.frameSize = frameSize
    }

    private func dataFrames(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        guard let size = frameSize, !bytes.isEmpty else { return [bytes[...]] }
        return stride(from: 0, to: bytes.count, by: size).map { bytes[$0..<min(bytes.count, $0 + size)] }
    }

    /// The client's DATA (and END_STREAM / RST_STREAM) to the server; what the server saw.
    mutating func toServer() -> [Seen] {
        let (bytes, end, reset) = client.takeData()
        var seen = feed(&server.connection, dataFrames(bytes))
        if end || reset {
            server.connection.receiveEOF()
            seen += drain(&server.connection)
        }
        return seen
    }

    /// The server's DATA (and END_STREAM / RST_STREAM) to the client; what the client saw.
    mutating func toClient() -> [Seen] {
        let (bytes, end, reset) = server.takeData()
        var seen = feed(&client.connection, dataFrames(bytes))
        if end || reset {
            client.connection.receiveEOF()
            seen += drain(&client.connection)
        }
        return seen
    }
}

@Suite struct ExtendedConnectStreamTests {
    /// The whole path: extended CONNECT → 200 → messages both ways over DATA (text, binary up
    /// to 1 MiB, with and without permessage-deflate) → closing handshake → END_STREAM from
    /// both ends, for either end closing first.
    @Test(arguments: [false, true], [Role.client, Role.server])
    func handshakeMessagesAndOrderlyClose(deflate: Bool, closer: Role) throws {
        let client = try WebSocketExtendedConnectClientHandshake(
            authority: "localhost:8443", path: "/echo?room=1", subprotocols: ["echo"], deflate: deflate ? .init() : nil)
        let server = try WebSocketExtendedConnectServerHandshake(
            validating: client.request, policy: .init(subprotocols: ["echo"], deflate: .init()))
        let acceptance = try server.accept()
        let outcome = try client.validate(acceptance.response)
        #expect(outcome == .accepted(acceptance.negotiation))
        #expect(acceptance.negotiation.subprotocol == "echo")
        #expect((acceptance.negotiation.deflate != nil) == deflate)

        var pair = try StreamPair(negotiation: acceptance.negotiation, frameSize: 16_384)
        let big = payload(1 << 20)
        try pair.client.connection.send(.text("hello"))
        try pair.client.connection.send(.binary(big))
        #expect(pair.toServer() == [.event(.text("hello")), .event(.binary(big))])
        try pair.server.connection.send(.binary(big))
        try pair.server.connection.send(.text("héllo"))
        #expect(pair.toClient() == [.event(.binary(big)), .event(.text("héllo"))])

        if closer == .client {
            try pair.client.connection.close(code: WebSocketCloseCode(rawValue: 4001), reason: "bye")
            #expect(pair.client.connection.streamDirective == .keepOpen)      // waiting for the answer
            let serverSeen = pair.toServer()
            #expect(pair.server.connection.streamDirective == .endStream)
            guard case .event(.closed(let serverClosure))? = serverSeen.last else {
                Issue.record("\(serverSeen)")
                return
            }
            #expect(serverClosure.cause == .closeReceived && serverClosure.code.rawValue == 4001 && serverClosure.reason == "bye")
            let clientSeen = pair.toClient()                                   // answer + END_STREAM
            #expect(pair.server.sentEndStream == true)
            guard case .event(.closed(let closure))? = clientSeen.last else {
                Issue.record("\(clientSeen)")
                return
            }
            #expect(closure.cause == .closeAnswered && closure.code.rawValue == 4001 && closure.wasClean)   // the code echoed
            // Over TCP the client would wait for the server's close (§7.1.1); over a stream it
            // ends its half at once.
            #expect(pair.client.connection.transport == .closeNow)
            #expect(pair.client.connection.streamDirective == .endStream)
            _ = pair.toServer()
            #expect(pair.client.sentEndStream == true)
        } else {
            try pair.server.connection.close(code: .goingAway, reason: "restart")
            let clientSeen = pair.toClient()
            guard case .event(.closed(let closure))? = clientSeen.last else {
                Issue.record("\(clientSeen)")
                return
            }
            #expect(closure.cause == .closeReceived && closure.code == .goingAway && closure.reason == "restart")
            #expect(pair.client.connection.transport == .waitForPeerToClose)   // TCP: wait
            #expect(pair.client.connection.streamDirective == .endStream)      // stream: end now
            let serverSeen = pair.toServer()
            #expect(pair.client.sentEndStream == true)
            guard case .event(.closed(let serverClosure))? = serverSeen.last else {
                Issue.record("\(serverSeen)")
                return
            }
            #expect(serverClosure.cause == .closeAnswered && serverClosure.wasClean)
            #expect(pair.server.connection.streamDirective == .endStream)
            _ = pair.toClient()
            #expect(pair.server.sentEndStream == true)
        }
        #expect(pair.client.sentReset == false && pair.server.sentReset == false)
    }

    /// RFC 8441 §5.1's last frame: the close frame and END_STREAM arrive together. The server
    /// answers the close, ends its half, and the closure is clean (code 1000).
    @Test func closeFrameWithEndStream() throws {
        var pair = try StreamPair(negotiation: .init())
        try pair.client.connection.close(code: .normalClosure)
        let bytes = pair.client.connection.takeOutbound()
        pair.server.connection.receive(bytes.span)
        pair.server.connection.receiveEOF()
        let seen = drain(&pair.server.connection)
        guard case .event(.closed(let closure))? = seen.last else {
            Issue.record("\(seen)")
            return
        }
        #expect(closure.cause == .closeReceived && closure.code == .normalClosure)
        #expect(pair.server.connection.streamDirective == .endStream)
        #expect(pair.server.takeData().endStream)
    }

    /// The peer ending its half before the closing handshake is TCP's EOF: code 1006 for the
    /// application, and we end our half too.
    @Test func endStreamBeforeTheClosingHandshake() throws {
        var pair = try StreamPair(negotiation: .init())
        try pair.client.connection.send(.text("last"))
        let bytes = pair.client.connection.takeOutbound()
        pair.server.connection.receive(bytes.span)
        pair.server.connection.receiveEOF()
        let seen = drain(&pair.server.connection)
        #expect(seen.first == .event(.text("last")))
        guard case .event(.closed(let closure))? = seen.last else {
            Issue.record("\(seen)")
            return
        }
        #expect(closure.cause == .endOfStream && closure.code == .abnormalClosure)
        #expect(pair.server.connection.streamDirective == .endStream)
    }

    /// A protocol error is TCP's abortive close: the close frame with the error's code (1002
    /// for an unmasked client frame), then RST_STREAM(CANCEL).
    @Test func protocolErrorResetsTheStream() throws {
        var server = try WebSocketConnection(role: .server, negotiation: .init(), configuration: .testing(seed: 2))
        let unmasked: [UInt8] = [0x81, 0x01, 0x61]
        let seen = feed(&server, unmasked)
        guard case .error(let error)? = seen.first else {
            Issue.record("\(seen)")
            return
        }
        #expect(error.closeCode == .protocolError)
        #expect(server.streamDirective == .resetStream)
        let written = server.takeOutbound()
        #expect(written.prefix(4) == [0x88, 0x02, 0x03, 0xEA])               // close 1002
        #expect(WebSocketExtendedConnect.resetErrorCode == 0x8)              // CANCEL
    }

    /// Timeouts are failures too: an unanswered close and an overdue peer reset the stream.
    @Test func timeoutsResetTheStream() throws {
        var configuration = WebSocketConfiguration.testing(seed: 1)
        configuration.closingTimeout = .seconds(5)
        var closing = try WebSocketConnection(role: .client, negotiation: .init(), configuration: configuration)
        try closing.close(code: .normalClosure)
        _ = closing.tick(now: WebSocketInstant(nanoseconds: 0))
        _ = closing.tick(now: WebSocketInstant(nanoseconds: 6_000_000_000))
        #expect(closing.state.isClosed)
        #expect(closing.streamDirective == .resetStream)

        configuration.keepAlive = WebSocketKeepAlive(interval: .seconds(1), timeout: .seconds(1))
        var overdue = try WebSocketConnection(role: .server, negotiation: .init(), configuration: configuration)
        for second in 0...5 { _ = overdue.tick(now: WebSocketInstant(nanoseconds: UInt64(second) * 1_000_000_000)) }
        #expect(overdue.state.isClosed)
        #expect(overdue.streamDirective == .resetStream)
    }

    /// DATA frames cut WebSocket frames anywhere (HTTP/2 framing knows nothing of them): the
    /// events are the same for every cut.
    @Test(arguments: [false, true])
    func dataFramesCutAnywhere(deflate: Bool) throws {
        let negotiation = WebSocketNegotiation(deflate: deflate ? PerMessageDeflateParameters() : nil)
        var client = try WebSocketConnection(role: .client, negotiation: negotiation, configuration: .testing(seed: 1))
        try client.send(.text("one"))
        try client.send(.binary(payload(300)))
        try client.send(.ping([1, 2]))
        try client.close(code: .normalClosure, reason: "done")
        let bytes = client.takeOutbound()
        var expected: [Seen]? = nil
        for pieces in Chunkings.standard(of: bytes, randomCount: 8) {
            var server = try WebSocketConnection(role: .server, negotiation: negotiation, configuration: .testing(seed: 2))
            let seen = feed(&server, pieces)
            if let expected { #expect(seen == expected) } else { expected = seen }
            #expect(server.streamDirective == .endStream)
        }
        #expect(expected?.count == 4)
    }

    /// Many WebSockets on one connection are independent streams: each has its own
    /// connection, negotiation and closing.
    @Test func independentStreams() throws {
        var first = try StreamPair(negotiation: WebSocketNegotiation(deflate: PerMessageDeflateParameters()))
        var second = try StreamPair(negotiation: WebSocketNegotiation(subprotocol: "chat"))
        try first.client.connection.send(.text("a"))
        try second.client.connection.send(.text("b"))
        try first.client.connection.close(code: .normalClosure)
        #expect(first.toServer().contains(.event(.text("a"))))
        #expect(second.toServer() == [.event(.text("b"))])
        #expect(first.server.connection.streamDirective == .endStream)
        #expect(second.server.connection.streamDirective == .keepOpen)
    }
}
