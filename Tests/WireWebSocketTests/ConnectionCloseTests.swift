import TestSupport
import Testing
import WireCore
import WireWebSocket

@Suite struct ConnectionCloseTests {
    @Test func serverClosesFirst() throws {
        var pair = ConnectionPair()
        try pair.server.send(.close(.goingAway, reason: "restart"))
        #expect(pair.server.transport == .keepOpen)
        let atClient = pair.toClient()
        let clientClosure = WebSocketClosure(
            cause: .closeReceived, received: WebSocketClose(code: .goingAway, reason: "restart"),
            sent: WebSocketClose(code: .goingAway))
        #expect(atClient == [.event(.closed(clientClosure))])
        #expect(pair.client.transport == .waitForPeerToClose)        // §7.1.1: the server closes TCP first
        let atServer = pair.toServer()
        #expect(atServer == [.event(.closed(WebSocketClosure(
            cause: .closeAnswered, received: WebSocketClose(code: .goingAway),
            sent: WebSocketClose(code: .goingAway, reason: "restart"))))])
        #expect(pair.server.transport == .closeNow)
        pair.client.receiveEOF()
        #expect(pair.client.transport == .closeNow)
        #expect(drain(&pair.client).isEmpty)
    }

    /// Both ends send close at once: each receives the other's while closing; both clean.
    @Test func simultaneousClose() throws {
        var pair = ConnectionPair()
        try pair.client.send(.close(.normalClosure, reason: "c"))
        try pair.server.send(.close(.normalClosure, reason: "s"))
        let atServer = pair.toServer()
        let atClient = pair.toClient()
        #expect(atServer == [.event(.closed(WebSocketClosure(
            cause: .closeAnswered, received: WebSocketClose(code: .normalClosure, reason: "c"),
            sent: WebSocketClose(code: .normalClosure, reason: "s"))))])
        #expect(atClient == [.event(.closed(WebSocketClosure(
            cause: .closeAnswered, received: WebSocketClose(code: .normalClosure, reason: "s"),
            sent: WebSocketClose(code: .normalClosure, reason: "c"))))])
        #expect(pair.server.takeOutbound().isEmpty && pair.client.takeOutbound().isEmpty)
    }

    /// An empty close is answered with an empty close; the application sees 1005.
    @Test func emptyCloseIsEchoedEmpty() throws {
        var server = openConnection(.server)
        let seen = feed(&server, frame(.close, masked: true))
        #expect(seen == [.event(.closed(WebSocketClosure(cause: .closeReceived, received: WebSocketClose(code: nil),
                                                         sent: WebSocketClose(code: nil))))])
        let closure = try #require(server.state.closure)
        #expect(closure.code == .noStatusReceived && closure.wasClean)
        let out = frames(server.takeOutbound(), sentBy: .server)
        #expect(out == [WebSocketFrame(opcode: .close, payload: [])])
    }

    /// After our close, data is discarded and pings are not answered until the peer's close.
    @Test func dataAfterOurCloseIsDiscarded() throws {
        var server = openConnection(.server)
        try server.send(.close(.normalClosure, reason: ""))
        _ = server.takeOutbound()
        // Data is discarded; the ping is still answered (§5.5.2: until the peer's close).
        var input = frame(.text, bytes("late"), masked: true)
        input += frame(.binary, [1, 2], fin: false, masked: true)
        input += frame(.ping, [9], masked: true)
        input += frame(.continuation, [3], masked: true)
        input += frame(.close, closePayload(1000), masked: true)
        input += frame(.text, bytes("after close"), masked: true)
        let seen = feed(&server, input)
        #expect(seen == [.event(.closed(WebSocketClosure(
            cause: .closeAnswered, received: WebSocketClose(code: .normalClosure), sent: WebSocketClose(code: .normalClosure))))])
        #expect(frames(server.takeOutbound(), sentBy: .server) == [WebSocketFrame(opcode: .pong, payload: [9])])
        #expect(throws: WebSocketUsageError(.connectionClosed)) { try server.send(.text("x")) }
    }

    /// A close that interrupts a fragmented message is answered at once.
    @Test func closeInTheMiddleOfAMessage() throws {
        var client = openConnection(.client)
        var input = frame(.text, bytes("par"), fin: false, masked: false)
        input += frame(.close, closePayload(4000, "app"), masked: false)
        let seen = feed(&client, input)
        #expect(seen == [.event(.closed(WebSocketClosure(
            cause: .closeReceived, received: WebSocketClose(code: WebSocketCloseCode(4000), reason: "app"),
            sent: WebSocketClose(code: WebSocketCloseCode(4000)))))])
        let out = frames(client.takeOutbound(), sentBy: .client)
        #expect(out == [WebSocketFrame(opcode: .close, payload: closePayload(4000))])
    }

    struct ErrorCase: Sendable, CustomTestStringConvertible {
        var name: String
        var input: [UInt8]
        var code: WebSocketProtocolError.Code
        var closeCode: WebSocketCloseCode
        var testDescription: String { name }
    }

    static let errors: [ErrorCase] = [
        ErrorCase(name: "invalid UTF-8 in the second fragment",
                  input: frame(.text, bytes("ok "), fin: false, masked: true) + frame(.continuation, [0xC3, 0x28], masked: true),
                  code: .invalidUTF8, closeCode: .invalidFramePayloadData),
        ErrorCase(name: "unmasked frame", input: frame(.text, bytes("x"), masked: false), code: .unmaskedFrame, closeCode: .protocolError),
        ErrorCase(name: "continuation without start", input: frame(.continuation, [1], masked: true),
                  code: .unexpectedContinuation, closeCode: .protocolError),
        ErrorCase(name: "new message mid-message",
                  input: frame(.binary, [1], fin: false, masked: true) + frame(.binary, [2], masked: true),
                  code: .expectedContinuation, closeCode: .protocolError),
        ErrorCase(name: "RSV1 without deflate", input: frame(.text, bytes("x"), reserved: .rsv1, masked: true),
                  code: .reservedBitsSet, closeCode: .protocolError),
        ErrorCase(name: "message over the limit mid-message",
                  input: frame(.binary, [UInt8](repeating: 1, count: 600), fin: false, masked: true)
                      + frame(.continuation, [UInt8](repeating: 2, count: 600), masked: true),
                  code: .messageTooLarge, closeCode: .messageTooBig),
        ErrorCase(name: "close code 1005 on the wire", input: frame(.close, closePayload(1005), masked: true),
                  code: .invalidCloseCode, closeCode: .protocolError),
        ErrorCase(name: "close reason not UTF-8", input: frame(.close, closePayload(1000) + [0xFF], masked: true),
                  code: .invalidCloseReason, closeCode: .invalidFramePayloadData),
    ]

    /// §7.1.7: the error is thrown once with its close code, the close frame is queued, later
    /// input is ignored, and `.closed` comes next.
    @Test(arguments: errors)
    func protocolErrorFailsTheConnection(_ test: ErrorCase) throws {
        var server = openConnection(.server, .init(), .testing(seed: 3, limits: .init(maxFrameSize: 1000, maxMessageSize: 1000)))
        try server.send(.text("before"))
        let seen = feed(&server, test.input + frame(.text, bytes("ignored"), masked: true))
        #expect(seen.count == 2)
        guard case .error(let error)? = seen.first else {
            Issue.record("no error: \(seen)")
            return
        }
        #expect(error.code == test.code)
        #expect(error.closeCode == test.closeCode)
        let closure = WebSocketClosure(cause: .protocolError(error), sent: WebSocketClose(code: test.closeCode))
        #expect(seen.last == .event(.closed(closure)))
        #expect(closure.code == .abnormalClosure && !closure.wasClean)
        #expect(server.transport == .closeNow)
        let out = frames(server.takeOutbound(), sentBy: .server)
        #expect(out == [WebSocketFrame(opcode: .text, payload: bytes("before")),
                        WebSocketFrame(opcode: .close, payload: closePayload(test.closeCode.rawValue))])
        server.receive(frame(.text, bytes("more"), masked: true).span)
        #expect(drain(&server).isEmpty)
        #expect(server.bufferedByteCount == 0)
    }

    /// An error while closing does not send a second close frame.
    @Test func errorWhileClosing() throws {
        var client = openConnection(.client)
        try client.send(.close(.normalClosure, reason: ""))
        _ = client.takeOutbound()
        let seen = feed(&client, frame(.ping, [], masked: true))
        guard case .error(let error)? = seen.first else {
            Issue.record("no error: \(seen)")
            return
        }
        #expect(error.code == .maskedFrame)
        #expect(seen.last == .event(.closed(WebSocketClosure(
            cause: .protocolError(error), sent: WebSocketClose(code: .normalClosure)))))
        #expect(client.takeOutbound().isEmpty)
        #expect(client.transport == .closeNow)
    }

    @Test(arguments: [Role.client, .server])
    func endOfStreamMidMessage(role: Role) throws {
        var connection = openConnection(role)
        var input = frame(.text, bytes("a"), masked: role == .server)
        input += frame(.text, bytes("unfinished"), fin: false, masked: role == .server)
        input += frame(.continuation, bytes("xyz"), masked: role == .server).prefix(3)
        connection.receive(input.span)
        connection.receiveEOF()
        let seen = drain(&connection)
        #expect(seen == [.event(.text("a")), .event(.closed(WebSocketClosure(cause: .endOfStream)))])
        let closure = try #require(connection.state.closure)
        #expect(closure.code == .abnormalClosure)
        #expect(connection.transport == .closeNow)
        #expect(connection.takeOutbound().isEmpty)
    }

    @Test func endOfStreamWhileClosingKeepsOurClose() throws {
        var server = openConnection(.server)
        try server.send(.close(.normalClosure, reason: ""))
        server.receiveEOF()
        #expect(drain(&server) == [.event(.closed(WebSocketClosure(cause: .endOfStream, sent: WebSocketClose(code: .normalClosure))))])
    }

    // MARK: The messages before a bad frame (Autobahn 3.2, 4.1.3, 5.15: strict)

    /// A valid message and a frame with RSV2 set arrive in one read: the message comes out
    /// first and the application can answer it; only the next call fails the connection, so
    /// its close frame follows the answer.
    @Test func aMessageBeforeABadFrameIsAnsweredBeforeTheClose() throws {
        var server = openConnection(.server)
        server.receive((frame(.text, bytes("Hello"), masked: true) + frame(.text, bytes("bad"), reserved: .rsv2, masked: true)).span)
        #expect(try server.nextEvent() == .text("Hello"))
        try server.send(.text("Hello"))
        #expect(throws: WebSocketProtocolError.self) { try server.nextEvent() }
        #expect(server.state.isClosed)
        #expect(frames(server.takeOutbound(), sentBy: .server) == [
            WebSocketFrame(opcode: .text, payload: bytes("Hello")),
            WebSocketFrame(opcode: .close, payload: closePayload(1002)),
        ])
    }

    /// An adapter whose application takes the messages later (the NIO server's async API)
    /// holds the failure: the messages before it are returned, then nothing, with the state
    /// unchanged and nothing queued, until a plain `nextEvent()` acts on it.
    @Test func aHeldFailureTakesEffectAtThePlainNextEvent() throws {
        var server = openConnection(.server)
        // Reserved opcode 0x3 (masked, empty), then a ping that must stay unanswered.
        var input = frame(.text, bytes("one"), masked: true) + frame(.binary, [1, 2], masked: true)
        input += [0x83, 0x80, 1, 2, 3, 4] + frame(.ping, bytes("after"), masked: true)
        server.receive(input.span)
        #expect(server.nextEventHoldingFailure() == .text("one"))
        #expect(server.nextEventHoldingFailure() == .binary([1, 2]))
        #expect(server.nextEventHoldingFailure() == nil)
        #expect(server.heldFailure?.code == .reservedOpcode)
        #expect(server.state == .open)
        #expect(server.takeOutbound().isEmpty)
        #expect(server.nextEventHoldingFailure() == nil, "held until a plain nextEvent()")
        try server.send(.text("one"))
        try server.send(.binary([1, 2]))
        let seen = drain(&server)
        guard case .error(let error)? = seen.first else {
            Issue.record("no error: \(seen)")
            return
        }
        #expect(error.code == .reservedOpcode)
        #expect(seen.last == .event(.closed(WebSocketClosure(cause: .protocolError(error), sent: WebSocketClose(code: .protocolError)))))
        #expect(server.heldFailure == nil)
        #expect(frames(server.takeOutbound(), sentBy: .server) == [
            WebSocketFrame(opcode: .text, payload: bytes("one")),
            WebSocketFrame(opcode: .binary, payload: [1, 2]),
            WebSocketFrame(opcode: .close, payload: closePayload(1002)),
        ], "the ping after the bad frame is not answered")
    }

    /// A close the application sends while the failure is held is the one that goes out; the
    /// failure then closes without a second close frame.
    @Test func aCloseSentWhileTheFailureIsHeldIsTheOnlyClose() throws {
        var server = openConnection(.server)
        server.receive((frame(.text, bytes("x"), masked: true) + frame(.text, [], reserved: .rsv3, masked: true)).span)
        #expect(server.nextEventHoldingFailure() == .text("x"))
        #expect(server.nextEventHoldingFailure() == nil)
        try server.send(.close(.goingAway, reason: ""))
        #expect(throws: WebSocketProtocolError.self) { try server.nextEvent() }
        #expect(frames(server.takeOutbound(), sentBy: .server) == [WebSocketFrame(opcode: .close, payload: closePayload(1001))])
        #expect(server.transport == .closeNow)
    }
}
