import Testing
import PropertyBased
import WireCore
import WireWebSocket
import TestSupport

@Suite struct FramePropertyTests {
    static let edgeSizes = [0, 1, 125, 126, 127, 65535, 65536]

    static func randomFrames(_ rng: inout SplitMix64, role: Role, count: Int) -> [WebSocketFrame] {
        (0..<count).map { _ in
            let control = Int.random(in: 0..<4, using: &rng) == 0
            let opcode: WebSocketOpcode = control ? [.ping, .pong, .close].randomElement(using: &rng)! : [.text, .binary, .continuation].randomElement(using: &rng)!
            let size = control ? Int.random(in: 0...125, using: &rng)
                : (Int.random(in: 0..<3, using: &rng) == 0 ? edgeSizes.randomElement(using: &rng)! : Int.random(in: 0...300, using: &rng))
            let payload = (0..<size).map { _ in UInt8.random(in: 0...255, using: &rng) }
            return WebSocketFrame(fin: control || Bool.random(using: &rng), opcode: opcode,
                                  maskingKey: role == .server ? .random(using: &rng) : nil, payload: payload)
        }
    }

    /// serialize → parse is the identity for random frames of the edge sizes, under random splits.
    @Test(arguments: [Role.server, Role.client])
    func serializeParseIdentity(role: Role) async {
        await propertyCheck(count: 40, input: Gen.uint64()) { seed in
            var rng = SplitMix64(seed: seed)
            let frames = Self.randomFrames(&rng, role: role, count: Int.random(in: 1...4, using: &rng))
            var bytes: [UInt8] = []
            for frame in frames { try WebSocketFrameSerializer<SystemRandomNumberGenerator>.write(frame, into: &bytes) }
            let whole = parseStreaming(bytes, role: role)
            #expect(whole == ParsedFrames(frames: frames))
            let pieces = Chunkings.random(of: bytes, maxPiece: Int.random(in: 1...5000, using: &rng), using: &rng)
            #expect(parseStreaming(pieces, role: role) == whole)
        }
    }

    /// Every single cut point gives the same frames (small frames, so all cuts are cheap).
    @Test func everySplitEqual() async {
        // Random short frame streams, both roles: every single cut point, one byte at a time,
        // and random chunkings give the frames of the whole input.
        await propertyCheck(count: 40, input: Gen.uint64()) { seed in
            var rng = SplitMix64(seed: seed)
            let role: Role = Bool.random(using: &rng) ? .server : .client
            let frames = Self.randomFrames(&rng, role: role, count: Int.random(in: 1...6, using: &rng))
                .map { var f = $0; f.payload = Array(f.payload.prefix(20)); return f }
            var bytes: [UInt8] = []
            for frame in frames { try WebSocketFrameSerializer<SystemRandomNumberGenerator>.write(frame, into: &bytes) }
            let whole = parseStreaming(bytes, role: role)
            #expect(whole.frames == frames)
            for pieces in Chunkings.standard(of: bytes, randomCount: 4, seed: seed) {
                #expect(parseStreaming(pieces, role: role) == whole)
            }
        }
    }

    /// Messages written with random fragment sizes come back whole.
    @Test func messagesRoundTripAtAnyFragmentSize() async {
        await propertyCheck(count: 60, input: Gen.uint64()) { seed in
            var rng = SplitMix64(seed: seed)
            let size = Int.random(in: 0..<3, using: &rng) == 0 ? Self.edgeSizes.randomElement(using: &rng)! : Int.random(in: 0...2000, using: &rng)
            let isText = Bool.random(using: &rng)
            let payload: [UInt8] = isText ? Array(String(repeating: "añ€😀", count: size / 10 + 1).utf8)
                : (0..<size).map { _ in UInt8.random(in: 0...255, using: &rng) }
            var serializer = WebSocketFrameSerializer(role: .client, random: SplitMix64(seed: seed))
            var bytes: [UInt8] = []
            try serializer.writeMessage(opcode: isText ? .text : .binary, payload: payload.span,
                                        fragmentSize: Int.random(in: 1...700, using: &rng), into: &bytes)
            let parsed = parseStreaming(Chunkings.random(of: bytes, maxPiece: 900, using: &rng), role: .server)
            #expect(parsed.error == nil && !parsed.midFrame)
            let result = assemble(parsed.frames)
            #expect(result.error == nil)
            #expect(result.events == [isText ? .text(String(decoding: payload, as: UTF8.self)) : .binary(payload)])
        }
    }

    /// Random mutations of valid streams never crash, and nothing delivered exceeds the limits.
    @Test func mutationsNeverCrashOrExceedLimits() async {
        await propertyCheck(count: 300, input: Gen.uint64()) { seed in
            var rng = SplitMix64(seed: seed)
            let role: Role = Bool.random(using: &rng) ? .server : .client
            var bytes: [UInt8] = []
            for frame in Self.randomFrames(&rng, role: role, count: 5) {
                try WebSocketFrameSerializer<SystemRandomNumberGenerator>.write(frame, into: &bytes)
            }
            for _ in 0..<Int.random(in: 1...6, using: &rng) where !bytes.isEmpty {
                bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            let limits = WebSocketLimits(maxFrameSize: 1000, maxMessageSize: 1500)
            let parsed = parseStreaming(Chunkings.random(of: bytes, maxPiece: 64, using: &rng), role: role, maxFrameSize: limits.maxFrameSize)
            #expect(parsed.frames.allSatisfy { $0.payload.count <= limits.maxFrameSize })
            let result = assemble(parsed.frames, limits: limits)
            for event in result.events {
                switch event {
                case .text(let s): #expect(s.utf8.count <= limits.maxMessageSize)
                case .binary(let b): #expect(b.count <= limits.maxMessageSize)
                case .ping(let b), .pong(let b): #expect(b.count <= 125)
                default: break
                }
            }
        }
    }
}

/// The batch fast path, mixed with the step-wise parser, gives the same frames and errors.
@Suite struct FrameBatchTests {
    static func parseBatched(_ pieces: [ArraySlice<UInt8>], role: Role, maxFrameSize: Int = 1 << 20, stopEvery: Int = 0) -> ParsedFrames {
        var parser = WebSocketFrameParser(role: role, maxFrameSize: maxFrameSize)
        var result = ParsedFrames()
        var current: WebSocketFrame? = nil
        var calls = 0
        for piece in pieces {
            let chunk = Array(piece)
            let span = chunk.span
            var offset = 0
            do {
                while true {
                    offset += try parser.parseCompleteFrames(span, from: offset) { header, payload in
                        var frame = WebSocketFrame(fin: header.fin, reserved: header.reserved, opcode: header.opcode, maskingKey: header.maskingKey)
                        payload.unmask(span, appendingTo: &frame.payload)
                        result.frames.append(frame)
                        calls += 1
                        return stopEvery == 0 || calls % stopEvery != 0
                    }
                    let step = try parser.parse(span, from: offset)
                    offset += step.consumed
                    guard let event = step.event else { break }
                    switch event {
                    case .head(let h):
                        current = WebSocketFrame(fin: h.fin, reserved: h.reserved, opcode: h.opcode, maskingKey: h.maskingKey)
                    case .payload(let p):
                        p.unmask(span, appendingTo: &current!.payload)
                    case .end:
                        result.frames.append(current!)
                        current = nil
                    }
                }
            } catch {
                result.error = error
                return result
            }
        }
        result.midFrame = !parser.isAtFrameBoundary
        return result
    }

    @Test func batchedEqualsStreaming() async {
        await propertyCheck(count: 200, input: Gen.uint64()) { seed in
            var rng = SplitMix64(seed: seed)
            let role: Role = Bool.random(using: &rng) ? .server : .client
            var bytes: [UInt8] = []
            for frame in FramePropertyTests.randomFrames(&rng, role: role, count: Int.random(in: 1...8, using: &rng)) {
                try WebSocketFrameSerializer<SystemRandomNumberGenerator>.write(frame, into: &bytes)
            }
            // Some streams get a corrupted byte, so errors are compared too.
            if Int.random(in: 0..<3, using: &rng) == 0 && !bytes.isEmpty {
                bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            let pieces = Bool.random(using: &rng) ? [bytes[...]] : Chunkings.random(of: bytes, maxPiece: Int.random(in: 1...3000, using: &rng), using: &rng)
            let expected = parseStreaming(pieces, role: role, maxFrameSize: 70000)
            #expect(Self.parseBatched(pieces, role: role, maxFrameSize: 70000, stopEvery: Int.random(in: 0...3, using: &rng)) == expected)
        }
    }

    @Test func rfcExamplesInOneBatch() throws {
        let bytes = hex("01 03 48 65 6c 89 05 48 65 6c 6c 6f 80 02 6c 6f 82 7E 01 00") + Array(repeating: 7, count: 256)
        var parser = WebSocketFrameParser(role: .client)
        var headers: [WebSocketFrameHeader] = []
        let consumed = try parser.parseCompleteFrames(bytes.span) { header, _ in headers.append(header); return true }
        #expect(consumed == bytes.count)
        #expect(headers.map(\.opcode) == [.text, .ping, .continuation, .binary])
        #expect(headers.map(\.payloadLength) == [3, 5, 2, 256])
        #expect(parser.isAtFrameBoundary && parser.bytesConsumed == bytes.count)
        // An incomplete frame is left for `parse`.
        var partial = WebSocketFrameParser(role: .client)
        let cut = try partial.parseCompleteFrames(Array(bytes.prefix(15)).span) { _, _ in true }
        #expect(cut == 12)
        #expect(partial.isAtFrameBoundary)
    }
}
