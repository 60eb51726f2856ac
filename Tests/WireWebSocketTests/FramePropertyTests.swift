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
            for frame in frames { try frame.write(into: &bytes) }
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
            for frame in frames { try frame.write(into: &bytes) }
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
            var sender = testSender(.client, fragmentSize: Int.random(in: 1...700, using: &rng), seed: seed)
            var bytes: [UInt8] = []
            try sender.writeMessage(isText ? .text : .binary, payload.span, into: &bytes)
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
                try frame.write(into: &bytes)
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
