import Testing
import TestSupport
import WireCore
@testable import WireWebSocket

/// A send pipeline with permessage-deflate (deterministic masking keys).
func deflateSender(
    _ role: Role, _ parameters: PerMessageDeflateParameters = .init(), compression: PerMessageDeflateConfiguration = .init()
) throws -> WebSocketSender {
    var configuration = WebSocketConfiguration()
    configuration.deflate = compression
    configuration.maskingKeys = .deterministic(seed: 9)
    return try WebSocketSender(role: role, deflate: parameters, configuration: configuration)
}

@Suite struct PerMessageDeflateCompositionTests {
    /// RFC 7692 §7.2.3.1 as frames, whole and fragmented (`41 03 f2 48 cd`, `80 04 c9 c9 07 00`),
    /// under every chunking of the input.
    @Test func rfcFramesDecodeUnderEveryChunking() {
        let whole: [UInt8] = [0xC1, 0x07, 0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00]
        let fragmented: [UInt8] = [0x41, 0x03, 0xF2, 0x48, 0xCD, 0x80, 0x04, 0xC9, 0xC9, 0x07, 0x00]
        for input in [whole, fragmented] {
            for chunks in Chunkings.standard(of: input) {
                #expect(decodeMessages(chunks) == .success([.text("Hello")]))
            }
        }
        // §7.2.3.2: the second message refers to the first (context takeover).
        let twice = whole + [0xC1, 0x05, 0xF2, 0x00, 0x11, 0x00, 0x00]
        for chunks in Chunkings.standard(of: twice, randomCount: 8) {
            #expect(decodeMessages(chunks) == .success([.text("Hello"), .text("Hello")]))
        }
        // An uncompressed message in between (RSV1 clear) does not disturb the stream.
        let mixed = whole + [0x81, 0x02, 0x68, 0x69] + [0xC1, 0x05, 0xF2, 0x00, 0x11, 0x00, 0x00]
        #expect(decodeMessages([mixed[...]]) == .success([.text("Hello"), .text("hi"), .text("Hello")]))
    }

    @Test func controlFramesBetweenCompressedFragments() {
        let input: [UInt8] = [0x41, 0x03, 0xF2, 0x48, 0xCD, 0x89, 0x01, 0x21, 0x80, 0x04, 0xC9, 0xC9, 0x07, 0x00]
        #expect(decodeMessages([input[...]]) == .success([.ping([0x21]), .text("Hello")]))
    }

    struct Failing: Sendable, CustomTestStringConvertible {
        var name: String
        var input: [UInt8]
        var deflate: Bool = true
        var code: WebSocketProtocolError.Code
        var closeCode: WebSocketCloseCode
        var testDescription: String { name }
    }

    @Test(arguments: [
        Failing(name: "RSV1 on a continuation frame", input: [0x41, 0x03, 0xF2, 0x48, 0xCD, 0xC0, 0x04, 0xC9, 0xC9, 0x07, 0x00],
                code: .misplacedReservedBit, closeCode: .protocolError),
        Failing(name: "RSV1 on a ping", input: [0xC9, 0x00], code: .misplacedReservedBit, closeCode: .protocolError),
        Failing(name: "RSV1 without the extension", input: [0xC1, 0x07, 0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00], deflate: false,
                code: .reservedBitsSet, closeCode: .protocolError),
        Failing(name: "corrupt deflate data", input: [0xC1, 0x03, 0xFF, 0xFF, 0xFF], code: .invalidCompressedData, closeCode: .invalidFramePayloadData),
        Failing(name: "compressed message cut inside a block", input: [0xC1, 0x03, 0xF2, 0x48, 0xCD],
                code: .invalidCompressedData, closeCode: .invalidFramePayloadData),
        // "\u{FF}" as a stored block: invalid UTF-8 once inflated.
        Failing(name: "invalid UTF-8 after inflating", input: [0xC1, 0x06, 0x00, 0x01, 0x00, 0xFE, 0xFF, 0xFF],
                code: .invalidUTF8, closeCode: .invalidFramePayloadData),
    ])
    func failuresCarryTheirCloseCode(_ c: Failing) {
        let result = decodeMessages([c.input[...]], deflate: c.deflate ? .init() : nil)
        #expect(throws: WebSocketProtocolError.self, "expected \(c.code)") { _ = try result.get() }
        if case .failure(let error) = result {
            #expect(error.code == c.code)
            #expect(error.closeCode == c.closeCode)
        }
    }

    /// A compressed frame of 8 MiB of zeros against a 1 MiB message limit: 1009, and the
    /// inflater never produced more than the limit.
    @Test func bombInFramesFailsWith1009() throws {
        var sender = try deflateSender(.server)
        var wire: [UInt8] = []
        let zeros = [UInt8](repeating: 0, count: 8 << 20)
        try sender.writeMessage(.binary, zeros.span, into: &wire)
        #expect(wire[0] == 0xC2)                     // compressed: RSV1 on the frame
        #expect(wire.count < 16 << 10)
        let limits = WebSocketLimits(maxFrameSize: 1 << 20, maxMessageSize: 1 << 20)
        var receiver = try WebSocketReceiver(role: .client, deflate: .init(), configuration: WebSocketConfiguration(limits: limits))
        receiver.receive(wire.span)
        #expect(throws: WebSocketProtocolError.self) {
            while try receiver.nextEvent() != nil {}
        }
        let result = decodeMessages([wire[...]], limits: limits)
        #expect(result == .failure(WebSocketProtocolError(.messageTooLarge, offset: 4)))
        #expect(receiver.inflaterMemory.held == 0)
    }

    /// Send pipeline to receive pipeline, both roles, with and without fragmentation and
    /// takeover, random messages: what is sent arrives; RSV1 is on the first frame of
    /// compressed messages only.
    @Test(arguments: Role.allCases, [false, true])
    func senderToReceiverRoundTrip(role: Role, noTakeover: Bool) throws {
        let parameters = PerMessageDeflateParameters(
            serverNoContextTakeover: noTakeover, clientNoContextTakeover: noTakeover, serverMaxWindowBits: 11, clientMaxWindowBits: 13)
        var rng = SplitMix64(seed: noTakeover ? 2 : 3)
        var sender = try deflateSender(role, parameters)
        var sent: [WebSocketMessageEvent] = []
        var wire: [UInt8] = []
        for i in 0..<30 {
            sender.fragmentSize = i % 3 == 0 ? .max : 1 + Int(rng.next() % 50)
            let message = sampleMessage(&rng)
            if i % 2 == 0 {
                try sender.writeMessage(.binary, message.span, into: &wire)
                sent.append(.binary(message))
            } else {
                let text = String(decoding: message, as: UTF8.self)
                try sender.writeText(text, into: &wire)
                sent.append(.text(text))
            }
            if i % 7 == 0 {
                try sender.writeControl(.ping, [1, 2, 3].span, into: &wire)
                sent.append(.ping([1, 2, 3]))
            }
        }
        let received = decodeMessages(Chunkings.random(of: wire, maxPiece: 300, using: &rng), role: role.peer, deflate: parameters)
        #expect(received == .success(sent))

        // RSV1 only ever on text/binary frames.
        var parser = WebSocketFrameParser(role: role.peer, allowedReservedBits: .rsv1)
        var offset = 0
        var compressedMessages = 0
        while true {
            let step = try parser.parse(wire.span, from: offset)
            offset += step.consumed
            guard let event = step.event else { break }
            if case .head(let header) = event, header.reserved.contains(.rsv1) {
                #expect(header.opcode == .text || header.opcode == .binary)
                compressedMessages += 1
            }
        }
        #expect(compressedMessages > 10)
    }

    @Test func smallMessagesGoUncompressed() throws {
        var sender = try deflateSender(.server)
        var wire: [UInt8] = []
        try sender.writeText("Hello", into: &wire)
        #expect(wire == [0x81, 0x05] + Array("Hello".utf8))
        var all = try deflateSender(.server, compression: compressAll)
        wire = []
        try all.writeText("Hello", into: &wire)
        #expect(wire == [0xC1, 0x07, 0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00])
        all.fragmentSize = 3
        wire = []
        try all.writeText("Hello", into: &wire)
        #expect(wire == [0x41, 0x03, 0xF2, 0x00, 0x11, 0x80, 0x02, 0x00, 0x00])
    }
}
