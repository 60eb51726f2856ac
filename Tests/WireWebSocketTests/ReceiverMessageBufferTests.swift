import Testing
import WireCore
import WireWebSocket
import TestSupport

/// Whole-message delivery keeps the buffer a text message is assembled in (up to
/// `retainedBufferCapacity`) and builds the `String` without validating the bytes again: the
/// message layer's incremental validation is the only one. These tests hold the delivered
/// messages to their bytes and the 1007 failures to the first invalid byte, with the buffer
/// cold and warm.
@Suite struct ReceiverMessageBufferTests {
    static let retainedCapacities = [0, 100, 1 << 16]

    /// Mixed-script text (1 to 4 bytes per scalar), `count` scalars.
    static func randomText(_ rng: inout SplitMix64, scalars count: Int) -> String {
        let ranges: [ClosedRange<UInt32>] = [0x20...0x7E, 0xA0...0x7FF, 0x800...0xD7FF, 0xE000...0xFFFD, 0x10000...0x10FFFF]
        var text = String.UnicodeScalarView()
        for _ in 0..<count {
            let range = ranges.randomElement(using: &rng)!
            text.append(Unicode.Scalar(UInt32.random(in: range, using: &rng))!)
        }
        return String(text)
    }

    /// `payload` as 1 to 5 masked frames cut at random bytes (inside UTF-8 sequences too), a
    /// ping sometimes in between.
    static func fragments(_ payload: [UInt8], opcode: WebSocketOpcode, _ rng: inout SplitMix64) -> [UInt8] {
        let count = Int.random(in: 1...5, using: &rng)
        var cuts = (0..<count - 1).map { _ in Int.random(in: 0...payload.count, using: &rng) }.sorted()
        cuts.insert(0, at: 0)
        cuts.append(payload.count)
        var bytes: [UInt8] = []
        for index in 0..<count {
            let frame = WebSocketFrame(
                fin: index == count - 1, opcode: index == 0 ? opcode : .continuation,
                maskingKey: .random(using: &rng), payload: Array(payload[cuts[index]..<cuts[index + 1]]))
            try! frame.write(into: &bytes)
            if index < count - 1 && rng.next() % 4 == 0 {
                try! WebSocketFrame(opcode: .ping, maskingKey: .random(using: &rng), payload: [7]).write(into: &bytes)
            }
        }
        return bytes
    }

    /// Feeds `pieces` to `receiver` and takes every event; checks the buffers it keeps once a
    /// read is consumed.
    static func feed(
        _ receiver: inout WebSocketReceiver, _ pieces: [ArraySlice<UInt8>], retained: Int
    ) -> (events: [WebSocketMessageEvent], error: WebSocketProtocolError?) {
        var events: [WebSocketMessageEvent] = []
        for piece in pieces {
            receiver.receive(Array(piece).span)
            do {
                while let event = try receiver.nextEvent() { events.append(event) }
            } catch {
                return (events, error)
            }
            // Between messages, the receive buffer and the message buffer each keep at most
            // `retained` (a message in progress holds what it has so far).
            if receiver.isIdle {
                #expect(receiver.bufferCapacity <= 2 * retained, "keeps \(receiver.bufferCapacity) bytes")
            }
        }
        return (events, nil)
    }

    /// Random text and binary messages, fragmented anywhere and read in random pieces, arrive
    /// as their bytes, whatever the buffer kept from the message before.
    @Test(arguments: retainedCapacities)
    func messagesArriveAsTheirBytes(retained: Int) throws {
        for seed in UInt64(1)...40 {
            var rng = SplitMix64(seed: seed &* 0x9E37 &+ UInt64(retained))
            var configuration = WebSocketConfiguration()
            configuration.retainedBufferCapacity = retained
            var receiver = try WebSocketReceiver(role: .server, configuration: configuration)
            var wire: [UInt8] = []
            var expected: [WebSocketMessageEvent] = []
            for _ in 0..<Int.random(in: 1...12, using: &rng) {
                let size = [0, 1, 15, 16, 100, 300, 2000].randomElement(using: &rng)!
                if rng.next() % 3 == 0 {
                    let payload = (0..<size).map { _ in UInt8.random(in: 0...255, using: &rng) }
                    wire += Self.fragments(payload, opcode: .binary, &rng)
                    expected.append(.binary(payload))
                } else {
                    let text = Self.randomText(&rng, scalars: size / 2)
                    wire += Self.fragments(Array(text.utf8), opcode: .text, &rng)
                    expected.append(.text(text))
                }
            }
            let pieces = Chunkings.random(of: wire, maxPiece: Int.random(in: 1...3000, using: &rng), using: &rng)
            let result = Self.feed(&receiver, pieces, retained: retained)
            #expect(result.error == nil, "seed \(seed)")
            #expect(result.events.filter { if case .ping = $0 { false } else { true } } == expected, "seed \(seed)")
        }
    }

    /// An invalid byte at every position of a fragmented text message fails with 1007 at that
    /// byte's stream offset, after a message that left the buffer warm.
    @Test(arguments: retainedCapacities)
    func invalidUTF8AtEveryPositionFailsThere(retained: Int) throws {
        var rng = SplitMix64(seed: 0x1007)
        let warm = Self.randomText(&rng, scalars: 40)
        let text = Array(Self.randomText(&rng, scalars: 30).utf8)
        for position in text.indices {
            var bad = text
            bad[position] = 0xFF
            var configuration = WebSocketConfiguration()
            configuration.retainedBufferCapacity = retained
            var wire: [UInt8] = []
            try WebSocketFrame(opcode: .text, maskingKey: .random(using: &rng), payload: Array(warm.utf8)).write(into: &wire)
            let start = wire.count
            // Three frames of the bad message: cut at a third and two thirds (6-byte headers
            // with masking, payloads under 126 bytes).
            let cuts = [0, bad.count / 3, 2 * bad.count / 3, bad.count]
            for index in 0..<3 {
                try WebSocketFrame(
                    fin: index == 2, opcode: index == 0 ? .text : .continuation, maskingKey: .random(using: &rng),
                    payload: Array(bad[cuts[index]..<cuts[index + 1]])
                ).write(into: &wire)
            }
            let frameIndex = (1...3).first { position < cuts[$0] }! - 1
            let offset = start + 6 * (frameIndex + 1) + position
            for pieces in [[wire[...]], Chunkings.random(of: wire, maxPiece: 7, using: &rng)] {
                var receiver = try WebSocketReceiver(role: .server, configuration: configuration)
                let result = Self.feed(&receiver, pieces, retained: retained)
                #expect(result.events == [.text(warm)], "position \(position)")
                #expect(result.error == WebSocketProtocolError(.invalidUTF8, offset: offset), "position \(position)")
                #expect(result.error?.closeCode == .invalidFramePayloadData)
            }
        }
    }
}
