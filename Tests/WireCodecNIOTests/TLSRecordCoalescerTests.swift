import NIOCore
import NIOEmbedded
import Testing
import WireCodecNIO

/// `TLSRecordCoalescer`: the small writes of one flush leave as one buffer (one TLS record),
/// in order, with every promise kept.
@Suite struct TLSRecordCoalescerTests {
    private func channel(limit: Int = TLSRecordCoalescer.defaultLimit) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(TLSRecordCoalescer(limit: limit))
        return channel
    }

    private func written(_ channel: EmbeddedChannel) throws -> [[UInt8]] {
        var out: [[UInt8]] = []
        while let data = try channel.readOutbound(as: IOData.self) {
            guard case .byteBuffer(let buffer) = data else {
                Issue.record("a file region")
                continue
            }
            out.append(Array(buffer.readableBytesView))
        }
        return out
    }

    private func bytes(_ count: Int, _ value: UInt8) -> ByteBuffer {
        ByteBuffer(bytes: [UInt8](repeating: value, count: count))
    }

    /// A DATA frame as swift-nio-http2 writes it (9-byte header, then the payload) and the
    /// next frame of the same flush: one buffer, both promises kept.
    @Test func frameHeaderAndPayloadLeaveAsOneBuffer() throws {
        let channel = try channel()
        let first = channel.eventLoop.makePromise(of: Void.self)
        let second = channel.eventLoop.makePromise(of: Void.self)
        channel.write(IOData.byteBuffer(bytes(9, 1)), promise: nil)
        channel.write(IOData.byteBuffer(bytes(100, 2)), promise: first)
        channel.write(IOData.byteBuffer(bytes(13, 3)), promise: second)
        #expect(try written(channel).isEmpty, "nothing leaves before the flush")
        channel.flush()
        let out = try written(channel)
        #expect(out == [[UInt8](repeating: 1, count: 9) + [UInt8](repeating: 2, count: 100) + [UInt8](repeating: 3, count: 13)])
        try first.futureResult.wait()
        try second.futureResult.wait()
        #expect(try channel.finish().isClean)
    }

    /// A buffer of `limit` bytes or more is not copied; what came before it leaves first.
    @Test func largeBuffersPassInOrder() throws {
        let channel = try channel()
        channel.write(IOData.byteBuffer(bytes(10, 1)), promise: nil)
        channel.write(IOData.byteBuffer(bytes(TLSRecordCoalescer.defaultLimit, 2)), promise: nil)
        channel.write(IOData.byteBuffer(bytes(5, 3)), promise: nil)
        channel.write(IOData.byteBuffer(bytes(6, 4)), promise: nil)
        channel.flush()
        let out = try written(channel)
        #expect(out.map(\.count) == [10, TLSRecordCoalescer.defaultLimit, 11])
        #expect(out.map { $0.first } == [1, 2, 3])
        #expect(try channel.finish().isClean)
    }

    /// No joined buffer exceeds the limit; separate flushes are never joined.
    @Test func limitAndFlushesBoundTheJoin() throws {
        let channel = try channel(limit: 100)
        for _ in 0..<3 { channel.write(IOData.byteBuffer(bytes(30, 1)), promise: nil) }
        channel.write(IOData.byteBuffer(bytes(30, 2)), promise: nil)
        channel.flush()
        channel.write(IOData.byteBuffer(bytes(5, 3)), promise: nil)
        channel.flush()
        #expect(try written(channel).map(\.count) == [90, 30, 5])
        #expect(try channel.finish().isClean)
    }
}
