import Testing
import WireCore
import WireWebSocket
import TestSupport

/// `WebSocketReceiver.receive` unmasks the payload of the frame an input starts or continues
/// while copying it into the receive buffer (one pass), and `nextEvent` unmasks the rest in
/// place. Whatever the reads look like, and whether or not the caller drains the events between
/// reads, every message comes out as it was sent.
@Suite struct ReceiverUnmaskTests {
    static let lengths = [0, 1, 5, 63, 64, 65, 125, 126, 127, 200, 1000, 4099, 65535, 65536, 70001]

    /// Messages of random kinds and lengths, their client-side (masked) wire bytes, with a
    /// ping now and then between them.
    static func conversation(seed: UInt64, count: Int) throws -> (messages: [(WebSocketMessageKind, [UInt8])], wire: [UInt8]) {
        var rng = SplitMix64(seed: seed)
        var sender = testSender(.client, fragmentSize: [Int.max, 100, 3000][Int(rng.next() % 3)], seed: seed)
        var messages: [(WebSocketMessageKind, [UInt8])] = []
        var wire: [UInt8] = []
        let ping: [UInt8] = [1, 2, 3]
        for _ in 0..<count {
            let length = lengths[Int(rng.next() % UInt64(lengths.count))]
            let kind: WebSocketMessageKind = rng.next() % 2 == 0 ? .text : .binary
            let payload = (0..<length).map { _ in
                kind == .text ? UInt8(ascii: "a") &+ UInt8(rng.next() % 26) : UInt8(truncatingIfNeeded: rng.next())
            }
            try sender.writeMessage(kind, payload.span, into: &wire)
            messages.append((kind, payload))
            if rng.next() % 4 == 0 { try sender.writeControl(.ping, ping.span, into: &wire) }
        }
        return (messages, wire)
    }

    /// Feeds `pieces`; after each read takes at most `eventsPerRead` events (all of them when
    /// `nil`), then takes what is left at the end.
    static func receive(
        _ pieces: [ArraySlice<UInt8>], delivery: WebSocketConfiguration.Delivery, eventsPerRead: Int?
    ) throws -> [(WebSocketMessageKind, [UInt8])] {
        var receiver = try WebSocketReceiver(
            role: .server,
            configuration: WebSocketConfiguration(
                limits: WebSocketLimits(maxFrameSize: 1 << 20, maxMessageSize: 1 << 20), delivery: delivery))
        var messages: [(WebSocketMessageKind, [UInt8])] = []
        var current: [UInt8] = []
        func take(_ limit: Int?) throws {
            var taken = 0
            while limit.map({ taken < $0 }) ?? true, let event = try receiver.nextEvent() {
                taken += 1
                switch event {
                case .text(let text): messages.append((.text, Array(text.utf8)))
                case .binary(let bytes): messages.append((.binary, bytes))
                case .messageStart: current = []
                case .fragment: receiver.withFragment { $0.withUnsafeBufferPointer { current.append(contentsOf: $0) } }
                case .messageEnd(let kind): messages.append((kind, current))
                case .ping(let payload): #expect(payload == [1, 2, 3])
                default: Issue.record("unexpected \(event)")
                }
            }
        }
        for piece in pieces {
            let bytes = Array(piece)
            receiver.receive(bytes.span)
            try take(eventsPerRead)
        }
        try take(nil)
        let idle = receiver.isIdle
        #expect(idle)
        return messages
    }

    @Test(arguments: [WebSocketConfiguration.Delivery.wholeMessages, .streaming])
    func everyReadPattern(delivery: WebSocketConfiguration.Delivery) throws {
        for seed in UInt64(1)...12 {
            let (messages, wire) = try Self.conversation(seed: seed, count: 12)
            var rng = SplitMix64(seed: seed &* 7919)
            for maxPiece in [1, 7, 70, 1500, 20000, wire.count] {
                let pieces = Chunkings.random(of: wire, maxPiece: max(1, maxPiece), using: &rng)
                for eventsPerRead in [nil, 1] as [Int?] {
                    let received = try Self.receive(pieces, delivery: delivery, eventsPerRead: eventsPerRead)
                    #expect(received.count == messages.count, "seed \(seed), pieces ≤ \(maxPiece)")
                    for (got, sent) in zip(received, messages) {
                        #expect(got.0 == sent.0 && got.1 == sent.1, "seed \(seed), pieces ≤ \(maxPiece), \(sent.1.count) bytes")
                    }
                }
            }
        }
    }

    /// One masked frame whose header announces more than arrives: the part that came is
    /// unmasked on arrival with phase 0, the rest in place with the phase it continues at.
    @Test func aLargeFrameAcrossReadsAtEveryPhase() throws {
        let payload = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
        let wire = try sent(.binary, payload, by: .client)
        for cut in [7, 8, 9, 10, 71, 72, 73, 74, 75, 500, 1005] {
            for second in [cut + 1, cut + 2, cut + 3, cut + 64, cut + 65, wire.count] where second <= wire.count {
                let pieces = [wire[..<cut], wire[cut..<second], wire[second...]]
                let received = try Self.receive(pieces, delivery: .wholeMessages, eventsPerRead: nil)
                #expect(received.count == 1 && received.first?.1 == payload, "cuts \(cut), \(second)")
            }
        }
    }

    /// The unmasked payload against RFC 6455 §5.3's byte-by-byte definition: a masked frame of a
    /// random length whose payload starts at every offset of a read (after 0 to 9 bytes of the
    /// frame before it) and is cut at every key phase, one read per piece, with the reads drained
    /// (the fused path) or not (the in-place path).
    @Test func unmaskedBytesEqualTheScalarDefinitionAtEveryOffsetAndPhase() throws {
        var rng = SplitMix64(seed: 0x5_3)
        for length in [64, 65, 66, 67, 100, 127, 128, 129, 1000, 4099] {
            let key = WebSocketMaskingKey.random(using: &rng)
            let payload = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let keyBytes = key.bytes
            let masked = payload.enumerated().map { $0.element ^ keyBytes[$0.offset % 4] }
            var frame: [UInt8] = [0x82]
            if length < 126 {
                frame.append(0x80 | UInt8(length))
            } else {
                frame += [0x80 | 126, UInt8(length >> 8), UInt8(length & 0xFF)]
            }
            frame += keyBytes + masked
            for before in 0..<10 {
                // The tail of a frame before it: a masked binary frame of `before` bytes, its
                // header in an earlier read.
                var lead: [UInt8] = []
                try WebSocketFrame(opcode: .binary, maskingKey: .random(using: &rng),
                                   payload: Array(repeating: 9, count: before)).write(into: &lead)
                let wire = lead + frame
                let headerEnd = lead.count + frame.count - length
                for phase in 0..<4 {
                    let cut = headerEnd + 64 + phase
                    guard cut < wire.count else { continue }
                    let splits = [lead.count - before, cut]
                    var pieces: [ArraySlice<UInt8>] = []
                    var start = 0
                    for split in splits + [wire.count] where split > start {
                        pieces.append(wire[start..<split])
                        start = split
                    }
                    for eventsPerRead in [nil, 1] as [Int?] {
                        let received = try Self.receive(pieces, delivery: .wholeMessages, eventsPerRead: eventsPerRead)
                        #expect(received.count == 2, "length \(length), before \(before), phase \(phase)")
                        #expect(received.last?.1 == payload, "length \(length), before \(before), phase \(phase)")
                    }
                }
            }
        }
    }

    /// A header that the receive buffer's unmasking plan reads before the parser (a masked
    /// frame at the start of a read) and the parser then refuses fails as it fails when the
    /// bytes come one at a time (the plan only reads; the parser decides).
    @Test func refusedHeadersFailAsByteByByte() throws {
        let payload = [UInt8](repeating: 0x41, count: 200)
        var headers: [[UInt8]] = []
        headers.append([0x83, 0x80 | 126, 0, 200])                    // reserved opcode 3
        headers.append([0xC2, 0x80 | 126, 0, 200])                    // RSV1 not negotiated
        headers.append([0x89, 0x80 | 126, 0, 200])                    // ping longer than 125
        headers.append([0x09, 0x80 | 126, 0, 200])                    // fragmented ping
        headers.append([0x82, 0x80 | 127, 0, 0, 0, 0, 0, 0, 0, 200])  // non-minimal length
        headers.append([0x82, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 200]) // length with the top bit set
        headers.append([0x82, 0x80 | 127, 0, 0, 0, 1, 0, 0, 0, 0])    // over the frame limit
        headers.append([0x82, 126, 0, 200])                           // unmasked, to a server
        for header in headers {
            let masked = header[1] & 0x80 != 0
            let wire = header + (masked ? [1, 2, 3, 4] : []) + payload
            func failure(_ pieces: [ArraySlice<UInt8>]) throws -> WebSocketProtocolError? {
                var receiver = try WebSocketReceiver(
                    role: .server,
                    configuration: WebSocketConfiguration(limits: WebSocketLimits(maxFrameSize: 1 << 20, maxMessageSize: 1 << 20)))
                for piece in pieces {
                    receiver.receive(Array(piece).span)
                    do {
                        while try receiver.nextEvent() != nil {}
                    } catch {
                        return error
                    }
                }
                return nil
            }
            let whole = try failure([wire[...]])
            #expect(whole != nil, "\(header)")
            #expect(whole == (try failure(wire.indices.map { wire[$0...$0] })), "\(header)")
        }
    }
}
