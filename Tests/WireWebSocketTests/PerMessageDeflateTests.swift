import PropertyBased
import Testing
import TestSupport
import WireCore
@testable import WireWebSocket

let hello = Array("Hello".utf8)

@Suite struct PerMessageDeflateTests {
    // MARK: RFC 7692 §7.2.3 examples

    /// §7.2.3.1: "Hello" compressed is `f2 48 cd c9 c9 07 00`.
    @Test func rfcHelloCompressesAndInflates() throws {
        var pmd = makeDeflate()
        #expect(compressed(&pmd, hello) == [0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00])
        var peer = makeDeflate(role: .client)
        #expect(try inflated(&peer, [[0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00]]) == hello)
    }

    /// §7.2.3.2: the same message twice, with context takeover the second is `f2 00 11 00 00`;
    /// without (server_no_context_takeover) both are the full form.
    @Test func rfcSameMessageTwice() throws {
        var takeover = makeDeflate()
        #expect(compressed(&takeover, hello) == [0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00])
        #expect(compressed(&takeover, hello) == [0xF2, 0x00, 0x11, 0x00, 0x00])
        var client = makeDeflate(role: .client)
        #expect(try inflated(&client, [[0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00]]) == hello)
        #expect(try inflated(&client, [[0xF2, 0x00, 0x11, 0x00, 0x00]]) == hello)

        let reset = PerMessageDeflateParameters(serverNoContextTakeover: true)
        var noTakeover = makeDeflate(reset)
        #expect(compressed(&noTakeover, hello) == [0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00])
        #expect(compressed(&noTakeover, hello) == [0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00])
        var resetClient = makeDeflate(reset, role: .client)
        #expect(try inflated(&resetClient, [[0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00]]) == hello)
        #expect(try inflated(&resetClient, [[0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00]]) == hello)
        // With the context dropped, the back-reference form cannot be inflated.
        #expect(throws: WebSocketProtocolError.self) { try inflated(&resetClient, [[0xF2, 0x00, 0x11, 0x00, 0x00]]) }
    }

    /// §7.2.3.3: a non-compressed (stored) block.
    @Test func rfcStoredBlock() throws {
        var pmd = makeDeflate(role: .client)
        #expect(try inflated(&pmd, [[0x00, 0x05, 0x00, 0xFA, 0xFF, 0x48, 0x65, 0x6C, 0x6C, 0x6F, 0x00]]) == hello)
    }

    /// §7.2.3.4: a BFINAL block; what follows it in the message is ignored, and the next
    /// message starts a new stream that may still refer to the old window.
    @Test func rfcFinalBlock() throws {
        var pmd = makeDeflate(role: .client)
        #expect(try inflated(&pmd, [[0xF3, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00, 0x00]]) == hello)
        #expect(try inflated(&pmd, [[0xF2, 0x00, 0x11, 0x00, 0x00]]) == hello)
    }

    /// §7.2.3.1 fragmented: `41 03 f2 48 cd` then `80 04 c9 c9 07 00`, inflated as they arrive,
    /// under every chunking of the compressed bytes.
    @Test func rfcFragmentedMessageInflatesPerFragment() throws {
        var pmd = makeDeflate(role: .client)
        #expect(try inflated(&pmd, [[0xF2, 0x48, 0xCD], [0xC9, 0xC9, 0x07, 0x00]]) == hello)
        for chunks in Chunkings.standard(of: [0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00]) {
            var fresh = makeDeflate(role: .client)
            #expect(try inflated(&fresh, chunks.map(Array.init)) == hello)
        }
    }

    @Test func fragmentsArriveOutputStreams() throws {
        // The first fragment alone already yields what it encodes ("He" and part of "llo").
        var pmd = makeDeflate(role: .client)
        var out: [UInt8] = []
        _ = try pmd.decompress([0xF2, 0x48, 0xCD].span, fin: false, limit: 100, into: &out)
        #expect(!out.isEmpty && hello.starts(with: out))
        _ = try pmd.decompress([0xC9, 0xC9, 0x07, 0x00].span, fin: true, limit: 100, into: &out)
        #expect(out == hello)
    }

    @Test func streamingCompressionPerFragment() throws {
        var sender = makeDeflate()
        var wire: [[UInt8]] = []
        for (i, piece) in [Array("Hel".utf8), Array("lo, ".utf8), Array("world".utf8)].enumerated() {
            var out: [UInt8] = []
            sender.compress(piece.span, fin: i == 2, into: &out)
            wire.append(out)
        }
        var receiver = makeDeflate(role: .client)
        #expect(try inflated(&receiver, wire) == Array("Hello, world".utf8))
        // The stream continues with context for the next message.
        #expect(try inflated(&receiver, [compressed(&sender, hello)]) == hello)
    }

    // MARK: Empty messages

    @Test func emptyMessages() throws {
        var sender = makeDeflate()
        var receiver = makeDeflate(role: .client)
        // The first is an empty stored block (`00`); zlib emits nothing for the second sync
        // flush in a row, and we write the same `00` ourselves.
        for _ in 0..<3 {
            let wire = compressed(&sender, [])
            #expect(wire == [0x00])
            #expect(try inflated(&receiver, [wire]).isEmpty)
        }
        #expect(try inflated(&receiver, [compressed(&sender, hello)]) == hello)
        // An RSV1 message with no payload bytes at all is the empty message, and leaves the
        // stream usable.
        #expect(try inflated(&receiver, [[]]).isEmpty)
        #expect(try inflated(&receiver, [[], []]).isEmpty)
        #expect(try inflated(&receiver, [compressed(&sender, hello)]) == hello)
    }

    // MARK: Policy

    @Test func smallAndIncompressibleMessagesGoUncompressed() throws {
        var pmd = makeDeflate(.init(), role: .server, PerMessageDeflateConfiguration())
        var out: [UInt8] = [0xAA]
        #expect(!pmd.compressMessage(hello.span, into: &out))
        #expect(out == [0xAA])
        var rng = SplitMix64(seed: 1)
        let noise = (0..<4096).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        #expect(!pmd.compressMessage(noise.span, into: &out))
        #expect(out == [0xAA])
        // The compressor was reset: what it absorbed from the noise is not referenced later.
        let text = Array(String(repeating: "compressible text ", count: 20).utf8)
        #expect(pmd.compressMessage(text.span, into: &out))
        var peer = makeDeflate(role: .client)
        #expect(try inflated(&peer, [Array(out.dropFirst())]) == text)
    }

    // MARK: Errors

    struct Corrupt: Sendable, CustomTestStringConvertible {
        var pieces: [[UInt8]]
        var testDescription: String { "\(pieces)" }
    }

    @Test(arguments: [
        Corrupt(pieces: [[0xFF, 0xFF, 0xFF]]),                      // reserved block type 11
        Corrupt(pieces: [[0xF2, 0x48, 0xCD]]),                      // ends inside a block
        Corrupt(pieces: [[0x00, 0x05, 0x00, 0xFB, 0xFF, 0x48]]),    // LEN/NLEN mismatch
        Corrupt(pieces: [[0xF2, 0x48], [0xFF, 0xFF, 0xFF, 0xFF]]),  // garbage in a later fragment
        Corrupt(pieces: [[0x04, 0x00]]),                            // dynamic block, truncated header
    ])
    func corruptDataFailsWith1007(_ c: Corrupt) {
        var pmd = makeDeflate(role: .client)
        #expect(throws: WebSocketProtocolError(.invalidCompressedData, offset: 0)) {
            try inflated(&pmd, c.pieces)
        }
    }

    /// A bomb: 1 GiB of zeros in 1024 fragments of about 1 KiB each. With a 16 MiB limit it
    /// fails with 1009 after producing exactly the limit, having read only the fragments
    /// needed to get there.
    @Test func decompressionBombStopsAtTheLimit() throws {
        // Sync-flushed 1 MiB units of zeros: after the first, each unit only refers to the
        // zeros before it, so repeating one makes a valid stream of any length.
        var bomber = ZlibDeflater(windowBits: 15, level: 9, memoryLevel: 8)
        let zeros = [UInt8](repeating: 0, count: 1 << 20)
        var first: [UInt8] = []
        bomber.compress(zeros.span, flush: ZlibDeflater.syncFlush, into: &first)
        var repeated: [UInt8] = []
        bomber.compress(zeros.span, flush: ZlibDeflater.syncFlush, into: &repeated)
        var again: [UInt8] = []
        bomber.compress(zeros.span, flush: ZlibDeflater.syncFlush, into: &again)
        #expect(again == repeated)
        let last = Array(repeated.dropLast(4))
        #expect(first.count + 1022 * repeated.count + last.count < 2 << 20)    // 1 GiB in < 2 MiB

        let limit = 16 << 20
        var victim = makeDeflate(role: .client)
        var out: [UInt8] = []
        var left = limit
        var fed = 0
        var failure: WebSocketProtocolError?
        do {
            left -= try victim.decompress(first.span, fin: false, limit: left, into: &out)
            for _ in 0..<1022 {
                fed += 1
                left -= try victim.decompress(repeated.span, fin: false, limit: left, into: &out)
            }
            _ = try victim.decompress(last.span, fin: true, limit: left, into: &out)
        } catch {
            failure = error
        }
        #expect(failure?.code == .messageTooLarge)
        #expect(failure?.closeCode == .messageTooBig)
        #expect(out.count == limit)
        #expect(out.capacity <= 2 * limit)
        #expect(fed == 16)    // the 16th unit overflows: 1 + 15 MiB fit exactly
        // After the failure the state is dropped.
        #expect(victim.memory.decompressor.held == 0)
    }

    @Test func bombInOneFrameProducesAtMostTheLimit() throws {
        var bomber = makeDeflate()
        let zeros = [UInt8](repeating: 0, count: 8 << 20)
        let wire = compressed(&bomber, zeros)
        var victim = makeDeflate(role: .client)
        var out: [UInt8] = []
        #expect(throws: WebSocketProtocolError(.messageTooLarge, offset: 7)) {
            _ = try victim.decompress(wire.span, fin: true, limit: 1000, into: &out, offset: 7)
        }
        #expect(out.count == 1000)
        // The same message with room for exactly its size is fine.
        var exact = makeDeflate(role: .client)
        var all: [UInt8] = []
        #expect(try exact.decompress(wire.span, fin: true, limit: zeros.count, into: &all) == zeros.count)
        #expect(all == zeros)
    }

    // MARK: Window bits 8

    @Test func ourCompressorIsNeverGivenEightBits() {
        #expect(throws: PerMessageDeflateNegotiationError(.windowBits8Unsupported, parameter: "server_max_window_bits")) {
            _ = try PerMessageDeflate(parameters: .init(serverMaxWindowBits: 8), role: .server)
        }
        #expect(throws: PerMessageDeflateNegotiationError(.windowBits8Unsupported, parameter: "client_max_window_bits")) {
            _ = try PerMessageDeflate(parameters: .init(clientMaxWindowBits: 8), role: .client)
        }
        #expect(throws: PerMessageDeflateNegotiationError(.invalidValue, parameter: "client_max_window_bits")) {
            _ = try PerMessageDeflate(parameters: .init(clientMaxWindowBits: 16), role: .client)
        }
        // Receiving with 8 bits is fine.
        #expect((try? PerMessageDeflate(parameters: .init(serverMaxWindowBits: 8), role: .client)) != nil)
    }

    /// A hand-built stream using the farthest distance a 256-byte window allows (256) inflates
    /// with an 8-bit inflater, and with 9..15-bit ones (a larger window inflates smaller-window
    /// data).
    @Test(arguments: 8...15)
    func farthestWindow8ReferenceInflates(bits: Int) throws {
        var rng = SplitMix64(seed: 8)
        let literals = (0..<256).map { _ in UInt8(ascii: "a") + UInt8(rng.next() % 26) }
        var writer = FixedHuffmanWriter()
        writer.bits(0, 1); writer.bits(1, 2)                      // BFINAL 0, fixed Huffman
        for byte in literals { writer.literal(byte) }
        writer.match(length: 3, distance: 256)
        writer.code(0, length: 7)                                  // end of block (256)
        writer.bits(0, 3)                                          // empty stored block header...
        let payload = writer.finish()                              // ...padded; trailer stripped
        var pmd = makeDeflate(.init(serverMaxWindowBits: bits), role: .client)
        #expect(try inflated(&pmd, [payload]) == literals + literals[0..<3])
        // The inflater keeps a 15-bit window whatever the peer's (see PerMessageDeflate.init).
        #expect(pmd.memory.decompressor.held - (1 << 15) < 8192)
    }

    // MARK: Memory

    /// zlib's allocations per connection, counted by our zalloc/zfree hooks: the compressor
    /// holds `4·2^bits + 2^(memLevel+9)` plus its ~6 KiB state; the inflater a 32 KiB window
    /// whatever the peer's (allocated on first output) plus its ~7 KiB state. With no context
    /// takeover, both are freed after each message.
    @Test(arguments: 9...15, Role.allCases)
    func memoryHeldPerWindowAndRole(bits: Int, role: Role) throws {
        for memoryLevel in [1, 8] {
            let config = PerMessageDeflateConfiguration(memoryLevel: memoryLevel, minimumSizeToCompress: 0, skipIncompressible: false)
            let takeover = PerMessageDeflateParameters(serverMaxWindowBits: bits, clientMaxWindowBits: bits)
            var pmd = makeDeflate(takeover, role: role, config)
            var peer = makeDeflate(takeover, role: role.peer, config)
            #expect(pmd.memory.held == 0)    // nothing until the first message
            let text = Array(String(repeating: "memory ", count: 100).utf8)
            let wire = compressed(&pmd, text)
            #expect(try inflated(&pmd, [compressed(&peer, text)]) == text)
            let state = pmd.memory.compressor.held - (4 << bits) - (1 << (memoryLevel + 9))
            #expect((4096..<8192).contains(state), "compressor state \(state)")
            let inflateState = pmd.memory.decompressor.held - (1 << 15)   // a 15-bit window always
            #expect((4096..<8192).contains(inflateState), "inflater state \(inflateState)")
            _ = wire

            let reset = PerMessageDeflateParameters(
                serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: bits, clientMaxWindowBits: bits)
            var lean = makeDeflate(reset, role: role, config)
            var leanPeer = makeDeflate(reset, role: role.peer, config)
            #expect(try inflated(&lean, [compressed(&leanPeer, text)]) == text)
            _ = compressed(&lean, text)
            #expect(lean.memory.held == 0)
            #expect(lean.memory.compressor.peak == pmd.memory.compressor.peak)
        }
    }

    // MARK: Round trips

    /// Every parameter combination (window bits 8...15 each way, both takeover flags, both
    /// roles): random messages, whole or in random fragments, survive the trip, and each side's
    /// stream stays in step message after message. A side whose compressor would get 8 bits
    /// refuses to start.
    @Test(arguments: 8...15, 8...15)
    func roundTripEveryParameterCombination(serverBits: Int, clientBits: Int) async throws {
        for flags in 0..<4 {
            let parameters = PerMessageDeflateParameters(
                serverNoContextTakeover: flags & 1 != 0, clientNoContextTakeover: flags & 2 != 0,
                serverMaxWindowBits: serverBits, clientMaxWindowBits: clientBits)
            var rng = SplitMix64(seed: UInt64(serverBits * 100 + clientBits * 10 + flags))
            for role in Role.allCases {
                if parameters.sendWindowBits(as: role) == 8 {
                    #expect(throws: PerMessageDeflateNegotiationError.self) {
                        _ = try PerMessageDeflate(parameters: parameters, role: role)
                    }
                }
                // A side with 8 bits for its own compressor cannot exist; where the sender
                // would have 8 we send with 9, as zlib before 1.2.9 silently did: zlib's
                // matches never reach farther than 2^9 - 262 = 250 bytes, so an 8-bit
                // inflater takes it.
                var senderParameters = parameters, receiverParameters = parameters
                senderParameters.bumpSendWindow(as: role)
                receiverParameters.bumpSendWindow(as: role.peer)
                var sender = makeDeflate(senderParameters, role: role)
                var receiver = makeDeflate(receiverParameters, role: role.peer)
                #expect(receiver.parameters.receiveWindowBits(as: role.peer) == parameters.sendWindowBits(as: role))
                for _ in 0..<6 {
                    let message = sampleMessage(&rng)
                    var wire: [[UInt8]] = []
                    if rng.next() % 2 == 0 {
                        wire = [compressed(&sender, message)]
                    } else {
                        let cuts = Chunkings.random(of: message, maxPiece: Swift.max(1, message.count / 3), using: &rng)
                        for (i, piece) in cuts.enumerated() {
                            var out: [UInt8] = []
                            sender.compress(Array(piece).span, fin: i == cuts.count - 1, into: &out)
                            wire.append(out)
                        }
                        if cuts.isEmpty { wire = [compressed(&sender, [])] }
                    }
                    let flat = wire.flatMap { $0 }
                    let pieces = Chunkings.random(of: flat, maxPiece: 7, using: &rng).map(Array.init)
                    #expect(try inflated(&receiver, pieces.isEmpty ? [[]] : pieces) == message)
                }
            }
        }
    }
}

extension PerMessageDeflateParameters {
    mutating func bumpSendWindow(as role: Role) {
        if role == .server { serverMaxWindowBits = Swift.max(9, serverMaxWindowBits) } else { clientMaxWindowBits = Swift.max(9, clientMaxWindowBits) }
    }
}

/// Writes a fixed-Huffman deflate block bit by bit (RFC 1951 §3.2.6), for hand-made streams.
struct FixedHuffmanWriter {
    private var bytes: [UInt8] = []
    private var bitBuffer: UInt32 = 0
    private var bitCount = 0

    /// `count` bits of `value`, least significant first (header fields, extra bits).
    mutating func bits(_ value: UInt32, _ count: Int) {
        bitBuffer |= value << UInt32(bitCount)
        bitCount += count
        while bitCount >= 8 {
            bytes.append(UInt8(truncatingIfNeeded: bitBuffer))
            bitBuffer >>= 8
            bitCount -= 8
        }
    }

    /// A Huffman code, most significant bit first.
    mutating func code(_ value: UInt32, length: Int) {
        var reversed: UInt32 = 0
        for i in 0..<length where value & (1 << UInt32(i)) != 0 { reversed |= 1 << UInt32(length - 1 - i) }
        bits(reversed, length)
    }

    mutating func literal(_ byte: UInt8) {
        if byte < 144 { code(0x30 + UInt32(byte), length: 8) } else { code(0x190 + UInt32(byte) - 144, length: 9) }
    }

    /// Length 3...10 (codes 257...264, no extra bits) and distance 193...256 (code 15).
    mutating func match(length: Int, distance: Int) {
        precondition((3...10).contains(length) && (193...256).contains(distance))
        code(UInt32(length - 3 + 1), length: 7)            // 257 + (length - 3): 7-bit codes from 0000001
        code(15, length: 5)
        bits(UInt32(distance - 193), 6)
    }

    mutating func finish() -> [UInt8] {
        if bitCount > 0 { bits(0, 8 - bitCount) }
        return bytes
    }
}
