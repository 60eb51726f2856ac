import Testing
import WireCore
import WireWebSocket
import TestSupport

/// RFC 6455 §5.7 examples, byte for byte, parsed and serialized.
@Suite struct RFC6455ExampleTests {
    static let hello = Array("Hello".utf8)
    static let key = WebSocketMaskingKey(0x37, 0xFA, 0x21, 0x3D)

    @Test func singleFrameUnmaskedText() throws {
        let bytes = hex("81 05 48 65 6c 6c 6f")
        let expected = WebSocketFrame(opcode: .text, payload: Self.hello)
        for pieces in Chunkings.standard(of: bytes) {
            #expect(parseStreaming(pieces, role: .client) == ParsedFrames(frames: [expected]))
        }
        var out: [UInt8] = []
        try expected.write(into: &out)
        #expect(out == bytes)
    }

    @Test func singleFrameMaskedText() throws {
        let bytes = hex("81 85 37 fa 21 3d 7f 9f 4d 51 58")
        let expected = WebSocketFrame(opcode: .text, maskingKey: Self.key, payload: Self.hello)
        for pieces in Chunkings.standard(of: bytes) {
            #expect(parseStreaming(pieces, role: .server) == ParsedFrames(frames: [expected]))
        }
        var out: [UInt8] = []
        try expected.write(into: &out)
        #expect(out == bytes)
    }

    @Test func fragmentedUnmaskedText() throws {
        let bytes = hex("01 03 48 65 6c 80 02 6c 6f")
        let expected = [
            WebSocketFrame(fin: false, opcode: .text, payload: Array("Hel".utf8)),
            WebSocketFrame(fin: true, opcode: .continuation, payload: Array("lo".utf8)),
        ]
        for pieces in Chunkings.standard(of: bytes) {
            #expect(parseStreaming(pieces, role: .client) == ParsedFrames(frames: expected))
        }
        #expect(try sent(.text, Self.hello, by: .server, fragmentSize: 3) == bytes)
    }

    @Test func unmaskedPingAndMaskedPong() throws {
        let ping = hex("89 05 48 65 6c 6c 6f")
        let pong = hex("8a 85 37 fa 21 3d 7f 9f 4d 51 58")
        #expect(parseStreaming(ping, role: .client) == ParsedFrames(frames: [WebSocketFrame(opcode: .ping, payload: Self.hello)]))
        #expect(parseStreaming(pong, role: .server) == ParsedFrames(frames: [WebSocketFrame(opcode: .pong, maskingKey: Self.key, payload: Self.hello)]))
        var out: [UInt8] = []
        var server = testSender(.server)
        try server.writeControl(.ping, Self.hello.span, into: &out)
        #expect(out == ping)
        out = []
        try WebSocketFrame(opcode: .pong, maskingKey: Self.key, payload: Self.hello).write(into: &out)
        #expect(out == pong)
    }

    @Test(arguments: [(256, hex("82 7E 01 00")), (65536, hex("82 7F 00 00 00 00 00 01 00 00"))])
    func binaryLengthEncodings(length: Int, header: [UInt8]) throws {
        let payload = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let out = try sent(.binary, payload, by: .server)
        #expect(Array(out.prefix(header.count)) == header)
        #expect(Array(out.dropFirst(header.count)) == payload)
        #expect(out.count == header.count + length)
        #expect(parseStreaming(out, role: .client) == ParsedFrames(frames: [WebSocketFrame(opcode: .binary, payload: payload)]))
        // Drip-fed at random.
        var rng = SplitMix64(seed: UInt64(length))
        let pieces = Chunkings.random(of: out, maxPiece: 1000, using: &rng)
        #expect(parseStreaming(pieces, role: .client) == ParsedFrames(frames: [WebSocketFrame(opcode: .binary, payload: payload)]))
    }
}

/// Each frame-layer violation of RFC 6455 §5.2/§5.5 gives its error code, close code and offset.
@Suite struct FrameParserErrorTests {
    struct Case: Sendable, CustomStringConvertible {
        var name: String
        var bytes: [UInt8]
        var role: Role
        var code: WebSocketProtocolError.Code
        var closeCode: WebSocketCloseCode
        var offset: Int
        var description: String { name }
    }

    static let cases: [Case] = [
        Case(name: "reserved opcode 3", bytes: hex("83 00"), role: .client, code: .reservedOpcode, closeCode: .protocolError, offset: 0),
        Case(name: "reserved opcode 7", bytes: hex("87 00"), role: .client, code: .reservedOpcode, closeCode: .protocolError, offset: 0),
        Case(name: "reserved opcode B", bytes: hex("8B 00"), role: .client, code: .reservedOpcode, closeCode: .protocolError, offset: 0),
        Case(name: "reserved opcode F after a frame", bytes: hex("81 00 8F 00"), role: .client, code: .reservedOpcode, closeCode: .protocolError, offset: 2),
        Case(name: "RSV1 not negotiated", bytes: hex("C1 00"), role: .client, code: .reservedBitsSet, closeCode: .protocolError, offset: 0),
        Case(name: "RSV2", bytes: hex("A1 00"), role: .client, code: .reservedBitsSet, closeCode: .protocolError, offset: 0),
        Case(name: "RSV3", bytes: hex("91 00"), role: .client, code: .reservedBitsSet, closeCode: .protocolError, offset: 0),
        Case(name: "ping of 126 bytes", bytes: hex("89 7E 00 7E"), role: .client, code: .controlFrameTooLong, closeCode: .protocolError, offset: 1),
        Case(name: "fragmented ping", bytes: hex("09 00"), role: .client, code: .fragmentedControlFrame, closeCode: .protocolError, offset: 0),
        Case(name: "fragmented close", bytes: hex("08 00"), role: .client, code: .fragmentedControlFrame, closeCode: .protocolError, offset: 0),
        Case(name: "64-bit length high bit", bytes: hex("82 7F 80 00 00 00 00 00 00 00"), role: .client, code: .payloadLengthHighBit, closeCode: .protocolError, offset: 2),
        Case(name: "unmasked frame to a server", bytes: hex("81 00"), role: .server, code: .unmaskedFrame, closeCode: .protocolError, offset: 1),
        Case(name: "masked frame to a client", bytes: hex("81 80 01 02 03 04"), role: .client, code: .maskedFrame, closeCode: .protocolError, offset: 1),
        Case(name: "16-bit length for 125", bytes: hex("82 7E 00 7D") + Array(repeating: 0, count: 125), role: .client, code: .nonMinimalLength, closeCode: .protocolError, offset: 2),
        Case(name: "64-bit length for 65535", bytes: hex("82 7F 00 00 00 00 00 00 FF FF"), role: .client, code: .nonMinimalLength, closeCode: .protocolError, offset: 2),
        Case(name: "64-bit length over the limit", bytes: hex("82 7F 00 00 00 01 00 00 00 00"), role: .client, code: .frameTooLarge, closeCode: .messageTooBig, offset: 2),
        Case(name: "16-bit length over the limit", bytes: hex("82 7E FF FF"), role: .client, code: .frameTooLarge, closeCode: .messageTooBig, offset: 2),
    ]

    @Test(arguments: cases)
    func violationFailsWithCloseCode(_ c: Case) {
        for pieces in Chunkings.standard(of: c.bytes, randomCount: 4) {
            let result = parseStreaming(pieces, role: c.role, maxFrameSize: 1000)
            #expect(result.error == WebSocketProtocolError(c.code, offset: c.offset), "\(c.name) split \(pieces.map(\.count))")
            #expect(result.error?.closeCode == c.closeCode, "\(c.name): the close code follows from the code")
        }
    }

    @Test func errorIsSticky() throws {
        var parser = WebSocketFrameParser(role: .client)
        let bad = hex("83 00")
        #expect(throws: WebSocketProtocolError.self) { try parser.parse(bad.span) }
        let good = hex("81 00")
        #expect(throws: WebSocketProtocolError.self) { try parser.parse(good.span) }
    }

    @Test func lenientNonMinimalLengths() {
        let bytes = hex("82 7E 00 03 61 62 63 82 7F 00 00 00 00 00 00 00 01 64")
        let result = parseStreaming(bytes, role: .client, allowNonMinimalLengths: true)
        #expect(result == ParsedFrames(frames: [WebSocketFrame(opcode: .binary, payload: Array("abc".utf8)),
                                                WebSocketFrame(opcode: .binary, payload: Array("d".utf8))]))
    }

    @Test func negotiatedRSV1IsAccepted() {
        let result = parseStreaming(hex("C1 01 41"), role: .client, allowed: .rsv1)
        #expect(result == ParsedFrames(frames: [WebSocketFrame(reserved: .rsv1, opcode: .text, payload: [0x41])]))
        #expect(parseStreaming(hex("E1 01 41"), role: .client, allowed: .rsv1).error?.code == .reservedBitsSet)
    }

    @Test func truncatedInputIsMidFrame() {
        let bytes = hex("81 85 37 fa 21 3d 7f 9f 4d 51 58")
        for cut in 1..<bytes.count {
            let result = parseStreaming(Array(bytes.prefix(cut)), role: .server)
            #expect(result.frames.isEmpty && result.midFrame && result.error == nil)
        }
        #expect(!parseStreaming(bytes, role: .server).midFrame)
    }
}
