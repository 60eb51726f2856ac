import Testing
import WireCore
import WireWebSocket

/// What an idle connection holds, and that nothing grows without bound.
@Suite struct ConnectionMemoryTests {
    /// The inline state of a connection (no heap is held when idle: the receive buffer is
    /// freed when drained, the handshake state when open, the configuration is shared). The
    /// issue-7 target is 256 bytes; the receive pipeline (frame parser and message layer) takes most of it.
    @Test func idleStateSize() {
        let size = MemoryLayout<WebSocketConnection>.size
        print("WebSocketConnection inline size: \(size) bytes (receiver \(MemoryLayout<WebSocketReceiver>.size): parser \(MemoryLayout<WebSocketFrameParser>.size), message layer \(MemoryLayout<WebSocketMessageAssembler>.size); sender \(MemoryLayout<WebSocketSender>.size))")
        #expect(size <= 256)
        #expect(MemoryLayout<WebSocketFrameParser>.size <= 80)
        #expect(MemoryLayout<WebSocketMessageAssembler>.size <= 80)
        #expect(MemoryLayout<WebSocketProtocolError>.size <= 16)
    }

    @Test(arguments: [0, 1 << 16])
    func buffersAreDrainedAfterEachBatch(retained: Int) throws {
        var configuration = WebSocketConfiguration.testing(seed: 1, delivery: .streaming)
        configuration.retainedBufferCapacity = retained
        var server = openConnection(.server, .init(), configuration)
        var input: [UInt8] = []
        for i in 0..<10_000 { input += frame(.binary, [UInt8(i & 0xFF)], masked: true) }
        input += frame(.binary, [UInt8](repeating: 7, count: 3), fin: false, masked: true).prefix(4)   // a partial header
        let seen = feed(&server, input)
        #expect(seen.count == 30_000)
        #expect(server.bufferedByteCount == 0)              // the partial header lives in the parser
        try server.send(.binary([1]))
        #expect(server.takeOutbound().count == 3)
        #expect(server.outboundByteCount == 0)
    }

    /// The permessage-deflate buffers (inflated output, compressed output) follow the same
    /// rule as the receive and outbound buffers: between messages they keep at most
    /// `retainedBufferCapacity` (before, a connection that once inflated and compressed a
    /// 64 KiB message kept both buffers' capacity, about 160 KB, for as long as it stayed idle).
    @Test(arguments: [0, 4096])
    func deflateBuffersKeepAtMostTheRetainedCapacity(retained: Int) throws {
        var configuration = WebSocketConfiguration.testing(seed: 1)
        configuration.retainedBufferCapacity = retained
        let negotiation = WebSocketNegotiation(deflate: PerMessageDeflateParameters())
        var server = openConnection(.server, negotiation, configuration)
        var client = openConnection(.client, negotiation, configuration)
        var text = ""
        var index = 0
        while text.utf8.count < 1 << 16 {
            text += "{\"id\":\(index),\"data\":\"\(String(index * 7919, radix: 36))\"}"
            index += 1
        }
        for _ in 0..<2 {
            try client.send(.text(text))
            let seenByServer = feed(&server, client.takeOutbound())
            #expect(seenByServer == [.event(.text(text))])
            try server.send(.text(text))
            let seenByClient = feed(&client, server.takeOutbound())
            #expect(seenByClient == [.event(.text(text))])
        }
        #expect(server.bufferCapacity <= retained, "server keeps \(server.bufferCapacity) bytes of buffers")
        #expect(client.bufferCapacity <= retained, "client keeps \(client.bufferCapacity) bytes of buffers")
    }

    /// Streaming delivery keeps no message: a message larger than any buffer passes through,
    /// only the limit stops it.
    @Test func streamingPassesLargeMessagesThrough() {
        var server = openConnection(.server, .init(), .testing(seed: 1, delivery: .streaming, limits: .init(maxFrameSize: 1 << 20, maxMessageSize: 3 << 20)))
        var total = 0
        for index in 0..<4 {
            let piece = frame(index == 0 ? .binary : .continuation, [UInt8](repeating: 1, count: 1 << 20), fin: false, masked: true)
            server.receive(piece.span)
            while let event = try? server.nextEvent() {
                if case .fragment(_, let count) = event { total += count }
                if case .closed = event { break }
            }
        }
        #expect(total == 3 << 20)
        #expect(server.state.isClosed)                       // the fourth MiB crossed the limit: 1009
        #expect(frames(server.takeOutbound(), sentBy: .server).last?.payload == closePayload(1009))
    }
}
