import Testing
import WireCore
import WireWebSocket
import TestSupport

func text(_ s: String, fin: Bool = true, opcode: WebSocketOpcode = .text, reserved: ReservedBits = []) -> WebSocketFrame {
    WebSocketFrame(fin: fin, reserved: reserved, opcode: opcode, payload: Array(s.utf8))
}

@Suite struct MessageAssemblerTests {
    @Test func fragmentedTextWithInterleavedPing() {
        let frames = [text("Hel", fin: false), WebSocketFrame(opcode: .ping, payload: [1, 2]),
                      text("", fin: false, opcode: .continuation), text("lo", opcode: .continuation)]
        let result = assemble(frames)
        #expect(result.error == nil)
        #expect(result.events == [.ping([1, 2]), .text("Hello")])
    }

    @Test func streamingDeliveryMarksMessageBoundaries() {
        let frames = [WebSocketFrame(fin: false, opcode: .binary, payload: [1]), WebSocketFrame(opcode: .pong, payload: []),
                      WebSocketFrame(opcode: .continuation, payload: [2])]
        let result = assemble(frames, delivery: .streaming)
        #expect(result.events == [.messageStart(.binary, ), .pong([]), .messageEnd(.binary)])
        #expect(result.error == nil)
    }

    @Test func continuationWithoutStart() {
        let result = assemble([text("x", opcode: .continuation)])
        #expect(result.error == WebSocketProtocolError(.unexpectedContinuation, offset: 0))
    }

    @Test func newMessageWhileUnfinished() {
        let result = assemble([text("a", fin: false), text("b")])
        #expect(result.error == WebSocketProtocolError(.expectedContinuation, offset: 3))
        let binary = assemble([text("a", fin: false), WebSocketFrame(opcode: .binary, payload: [])])
        #expect(binary.error?.code == .expectedContinuation)
    }

    @Test func messageLimitIsEnforcedAtTheHeader() {
        let limits = WebSocketLimits(maxFrameSize: 1000, maxMessageSize: 10)
        let result = assemble([WebSocketFrame(fin: false, opcode: .binary, payload: Array(repeating: 0, count: 6)),
                               WebSocketFrame(opcode: .continuation, payload: Array(repeating: 0, count: 6))], limits: limits)
        // Fails at the second frame's header (offset 8), before any of its payload is taken.
        #expect(result.error == WebSocketProtocolError(.messageTooLarge, offset: 8))
        let exact = assemble([WebSocketFrame(fin: false, opcode: .binary, payload: Array(repeating: 0, count: 5)),
                              WebSocketFrame(opcode: .continuation, payload: Array(repeating: 0, count: 5))], limits: limits)
        #expect(exact.error == nil && exact.events == [.binary(Array(repeating: 0, count: 10))])
    }

    @Test func frameLimit() {
        let limits = WebSocketLimits(maxFrameSize: 200, maxMessageSize: 1000)
        let result = assemble([WebSocketFrame(opcode: .binary, payload: Array(repeating: 0, count: 201))], limits: limits)
        #expect(result.error?.code == .frameTooLarge)
        #expect(result.error?.closeCode == .messageTooBig)
    }

    @Test func compressedPiecesAreCountedAfterInflation() throws {
        // A compressed message's pieces are the inflated bytes: the limit applies to them.
        var assembler = WebSocketMessageAssembler(limits: WebSocketLimits(maxFrameSize: 1000, maxMessageSize: 8))
        let header = WebSocketFrameHeader(reserved: .rsv1, opcode: .binary, payloadLength: 3)
        _ = try assembler.frameStarted(header, at: 0)
        #expect(assembler.messageRoom == 8)     // the inflater's budget
        #expect(assembler.currentMessageIsCompressed)
        try assembler.payload(Array(repeating: 1, count: 8).span, at: 2)
        #expect(throws: WebSocketProtocolError(.messageTooLarge, offset: 10)) {
            try assembler.payload([1].span, at: 10)
        }
    }

    @Test func invalidUTF8FailsAtTheByteNotAtTheEnd() {
        // The invalid byte is in the first fragment: the error comes before the message ends.
        let frames = [WebSocketFrame(fin: false, opcode: .text, payload: [0x41, 0xC0, 0x80]),
                      WebSocketFrame(opcode: .continuation, payload: [0x41])]
        var assembler = WebSocketMessageAssembler()
        #expect(throws: WebSocketProtocolError(.invalidUTF8, offset: 3)) {
            _ = try append(frames[0], to: &assembler)
        }
    }

    @Test func utf8SplitAcrossFramesIsValid() {
        let euro = Array("€".utf8)
        let frames = [WebSocketFrame(fin: false, opcode: .text, payload: [euro[0]]),
                      WebSocketFrame(fin: false, opcode: .continuation, payload: [euro[1]]),
                      WebSocketFrame(opcode: .continuation, payload: [euro[2]])]
        #expect(assemble(frames).events == [.text("€")])
    }

    @Test func messageEndingMidSequence() {
        let result = assemble([WebSocketFrame(opcode: .text, payload: [0x41, 0xE2, 0x82])])
        #expect(result.error == WebSocketProtocolError(.invalidUTF8, offset: 5))
    }

    @Test func reservedBitRules() {
        // RSV1 with no extension owning it.
        #expect(assemble([text("a", reserved: .rsv1)]).error?.code == .reservedBitsSet)
        // With permessage-deflate: fine on the first frame...
        #expect(assemble([text("a", reserved: .rsv1)], compression: true).error == nil)
        // ...but not on a continuation or a control frame.
        #expect(assemble([text("a", fin: false, reserved: .rsv1), text("b", opcode: .continuation, reserved: .rsv1)],
                         compression: true).error?.code == .misplacedReservedBit)
        #expect(assemble([WebSocketFrame(reserved: .rsv1, opcode: .ping)], compression: true).error?.code == .misplacedReservedBit)
        #expect(assemble([text("a", reserved: .rsv2)], compression: true).error?.code == .reservedBitsSet)
    }

    @Test func errorsAreSticky() throws {
        var assembler = WebSocketMessageAssembler()
        #expect(throws: WebSocketProtocolError.self) { _ = try append(text("a", opcode: .continuation), to: &assembler) }
        #expect(throws: WebSocketProtocolError.self) { _ = try append(text("a"), to: &assembler) }
    }
}

@Suite struct CloseFrameTests {
    static let accepted: [UInt16] = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999]
    static let rejected: [UInt16] = [0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]

    @Test(arguments: accepted)
    func acceptedCodes(code: UInt16) throws {
        let payload = [UInt8(code >> 8), UInt8(code & 0xFF)] + Array("bye".utf8)
        #expect(try WebSocketClose.parse(payload.span) == WebSocketClose(code: WebSocketCloseCode(code), reason: "bye"))
        #expect(WebSocketCloseCode(code).mayBeSent)
        var out: [UInt8] = []
        var sender = testSender(.server)
        try sender.writeClose(WebSocketClose(code: WebSocketCloseCode(code), reason: "bye"), into: &out)
        #expect(out == [0x88, 5] + payload)
    }

    @Test(arguments: rejected)
    func rejectedCodes(code: UInt16) {
        let payload = [UInt8(code >> 8), UInt8(code & 0xFF)]
        #expect(throws: WebSocketProtocolError(.invalidCloseCode, offset: 0)) {
            try WebSocketClose.parse(payload.span)
        }
        var out: [UInt8] = []
        var sender = testSender(.server)
        #expect(throws: WebSocketUsageError(.closeCodeNotSendable)) {
            try sender.writeClose(WebSocketClose(code: WebSocketCloseCode(code)), into: &out)
        }
        #expect(out.isEmpty)
    }

    @Test func emptyShortAndBadReason() throws {
        #expect(try WebSocketClose.parse([UInt8]().span) == WebSocketClose(code: nil))
        #expect(throws: WebSocketProtocolError(.closePayloadTooShort, offset: 0)) {
            try WebSocketClose.parse([0x03].span)
        }
        #expect(throws: WebSocketProtocolError(.invalidCloseReason, offset: 3)) {
            try WebSocketClose.parse([0x03, 0xE8, 0x41, 0xFF].span)
        }
        #expect(throws: WebSocketProtocolError(.invalidCloseReason, offset: 4)) {
            try WebSocketClose.parse([0x03, 0xE8, 0x41, 0xE2].span)
        }
        // Through the assembler, the offset is the stream offset of the bad byte.
        let result = assemble([WebSocketFrame(opcode: .close, payload: [0x03, 0xE8, 0xFF])])
        #expect(result.error == WebSocketProtocolError(.invalidCloseReason, offset: 4))
        #expect(assemble([WebSocketFrame(opcode: .close, payload: [0x03])]).error?.closeCode == .protocolError)
        #expect(assemble([WebSocketFrame(opcode: .close)]).events == [.close(WebSocketClose(code: nil))])
    }

    @Test func serializerLimitsTheReason() throws {
        var sender = testSender(.client)
        var out: [UInt8] = []
        try sender.writeClose(WebSocketClose(code: .normalClosure, reason: String(repeating: "r", count: 123)), into: &out)
        #expect(out.count == 2 + 4 + 125)
        #expect(throws: WebSocketUsageError(.closeReasonTooLong)) {
            try sender.writeClose(WebSocketClose(code: .normalClosure, reason: String(repeating: "r", count: 124)), into: &out)
        }
        #expect(throws: WebSocketUsageError(.closeReasonWithoutCode)) {
            try sender.writeClose(WebSocketClose(code: nil, reason: "x"), into: &out)
        }
        // The masked close frame parses back.
        let parsed = parseStreaming(out, role: .server)
        #expect(parsed.frames.count == 1 && parsed.frames[0].payload.count == 125)
    }

    @Test func serializerRefusesBadControlFrames() {
        var out: [UInt8] = []
        #expect(throws: WebSocketUsageError(.controlPayloadTooLong)) {
            try WebSocketFrame(opcode: .ping, payload: Array(repeating: 0, count: 126)).write(into: &out)
        }
        #expect(throws: WebSocketUsageError(.fragmentedControlFrame)) {
            try WebSocketFrame(fin: false, opcode: .pong).write(into: &out)
        }
        #expect(out.isEmpty)
    }
}
