import Testing
import TestSupport
import WireCore
@testable import WireWebSocket

/// Hostile peers on the WebSocket side: a deflate bomb, a fragmented message that never ends,
/// a frame announcing an absurd length, a ping flood. Each ends in a typed error with the
/// RFC's close code (or is absorbed), while what the codec holds stays bounded by the
/// configured limits (Spec/fuzzing.md).
@Suite struct WebSocketHostileInputTests {
    static let deflateParameters = PerMessageDeflateParameters()   // 15 bits, context takeover

    /// 16 MiB of zeros compressed by a client, in 1 MiB pieces (about 16 KiB on the wire).
    static func bomb() -> [UInt8] {
        var sender = try! PerMessageDeflate(parameters: deflateParameters, role: .client)
        var compressed: [UInt8] = []
        let zeros = [UInt8](repeating: 0, count: 1 << 20)
        for i in 0..<16 { sender.compress(zeros.span, fin: i == 15, into: &compressed) }
        return compressed
    }

    /// The inflater alone: it never produces more than the room it is given, whatever the
    /// pieces, and zlib's memory stays at its fixed size for a 15-bit window.
    @Test(arguments: [1 << 10, 1 << 14, 1 << 20])
    func deflateBombStopsAtTheLimit(pieceSize: Int) {
        let compressed = Self.bomb()
        #expect(compressed.count < 64 << 10)
        var receiver = try! PerMessageDeflate(parameters: Self.deflateParameters, role: .server)
        let limit = 1 << 20
        var out: [UInt8] = []
        var caught: WebSocketProtocolError? = nil
        var start = 0
        while start < compressed.count && caught == nil {
            let end = Swift.min(compressed.count, start + pieceSize)
            let piece = Array(compressed[start..<end])
            do throws(WebSocketProtocolError) {
                _ = try receiver.decompress(piece.span, fin: end == compressed.count, limit: limit - out.count, into: &out)
            } catch {
                caught = error
            }
            #expect(out.count <= limit)
            start = end
        }
        #expect(caught?.code == .messageTooLarge)
        #expect(caught?.closeCode == .messageTooBig)
        #expect(out.count == limit)
        #expect(out.capacity <= 2 * limit)
        // zlib's inflate state and 32 KiB window; freed after the failure.
        #expect(receiver.memory.decompressor.peak <= 48 << 10)
        #expect(receiver.memory.decompressor.held == 0)
    }

    /// The bomb in frames through the receive path (parser, inflater, assembler): 1009 after
    /// at most the message limit was inflated.
    @Test func deflateBombInFramesThroughTheReceiver() throws {
        let compressed = Self.bomb()
        var wire: [UInt8] = []
        var rest = compressed[...]
        var first = true
        while !rest.isEmpty {
            let n = Swift.min(rest.count, 4096)
            let isLast = n == rest.count
            wire += frame(first ? .binary : .continuation, Array(rest.prefix(n)), fin: isLast,
                          reserved: first ? .rsv1 : [], masked: true)
            rest = rest.dropFirst(n)
            first = false
        }
        var receiver = try WebSocketReceiver(
            role: .server, deflate: Self.deflateParameters,
            configuration: WebSocketConfiguration(limits: WebSocketLimits(maxFrameSize: 1 << 16, maxMessageSize: 1 << 20)))
        receiver.receive(wire.span)
        var caught: WebSocketProtocolError? = nil
        do throws(WebSocketProtocolError) {
            while let event = try receiver.nextEvent() {
                Issue.record("a message from a bomb: \(event)")
            }
        } catch {
            caught = error
        }
        #expect(caught?.code == .messageTooLarge)
        #expect(caught?.closeCode == .messageTooBig)
        #expect(receiver.inflaterMemory.peak <= 48 << 10)
    }

    /// A fragmented message that never ends: continuation frames forever. Whole-message
    /// delivery fails with 1009 at the header of the first frame that would overflow the
    /// limit (nothing past the limit is ever accepted); a connection closes with 1009 and its
    /// receive buffer never holds more than a frame.
    @Test func neverEndingFragmentedMessage() {
        let limits = WebSocketLimits(maxFrameSize: 4096, maxMessageSize: 64 << 10)
        var assembler = WebSocketMessageAssembler(limits: limits)
        var accepted = 0
        var caught: WebSocketProtocolError? = nil
        let piece = [UInt8](repeating: 0x61, count: 1000)
        do throws(WebSocketProtocolError) {
            for i in 0..<1_000_000 {
                let f = WebSocketFrame(fin: false, opcode: i == 0 ? .text : .continuation, payload: piece)
                _ = try append(f, to: &assembler)
                accepted += piece.count
            }
        } catch {
            caught = error
        }
        #expect(caught?.code == .messageTooLarge)
        #expect(caught?.closeCode == .messageTooBig)
        #expect(accepted <= limits.maxMessageSize)
        #expect(accepted > limits.maxMessageSize - piece.count)

        var server = openConnection(.server, .init(), .testing(seed: 1, limits: limits))
        var closed = false
        var peakBuffered = 0
        for i in 0..<200 where !closed {
            let bytes = frame(i == 0 ? .text : .continuation, piece, fin: false, masked: true)
            // In awkward pieces, so partial frames wait in the receive buffer.
            for chunk in [bytes[..<7], bytes[7..<500], bytes[500...]] where !closed {
                server.receive(Array(chunk).span)
                peakBuffered = Swift.max(peakBuffered, server.bufferedByteCount)
                for seen in drain(&server) {
                    if case .event(.closed) = seen { closed = true }
                }
            }
        }
        #expect(closed)
        #expect(peakBuffered <= piece.count + WebSocketFrameHeader.maxEncodedSize)
        #expect(frames(server.takeOutbound(), sentBy: .server).last?.payload == closePayload(1009))
    }

    /// A header announcing 2^62 bytes fails at once with 1009, before any payload.
    @Test func absurdLengthFailsAtTheHeader() {
        let header: [UInt8] = [0x82, 0xFF, 0x40, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]
        for chunks in Chunkings.standard(of: header) {
            let result = parseStreaming(chunks, role: .server)
            #expect(result.error?.code == .frameTooLarge)
            #expect(result.error?.closeCode == .messageTooBig)
        }
    }

    /// A ping flood while we do not write: up to 16 pings per batch of outbound bytes are
    /// answered, then only the latest (§5.5.3 allows answering just the most recent), so
    /// what waits to be sent stays bounded however many pings arrive.
    @Test func pingFloodKeepsBoundedPongs() {
        var server = openConnection(.server, .init(), WebSocketConfiguration())
        var ping: [UInt8] = []
        let count = 2000
        for i in 0..<count { ping += frame(.ping, [UInt8(i & 0xFF), UInt8(i >> 8)], masked: true) }
        server.receive(ping.span)
        let seen = drain(&server)
        #expect(seen.count == count)
        #expect(server.outboundByteCount <= 17 * (2 + 125))
        let pongs = frames(server.takeOutbound(), sentBy: .server)
        #expect(pongs.count <= 17)
        #expect(pongs.last?.payload == [UInt8((count - 1) & 0xFF), UInt8((count - 1) >> 8)])
        // The deferred pong's box is gone once it was written: the flood leaves no heap.
        #expect(server.rare == nil)
    }
}
