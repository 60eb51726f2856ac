import NIOCore
import NIOEmbedded
import NIOHPACK
import NIOHTTP2
import Testing
import WireCodecNIO

/// Records what reaches the end of the pipeline: bytes and user events.
private final class Sink: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    var bytes: [UInt8] = []
    var inputClosed = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        bytes += Array(unwrapInboundIn(data).readableBytesView)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .inputClosed? = event as? ChannelEvent { inputClosed = true }
    }
}

/// The HTTP/2 stream side of a WebSocket (RFC 8441 §5) on an `EmbeddedChannel` standing for
/// the stream channel: DATA in and out, END_STREAM both ways, the reset after a silent peer.
@Suite struct WebSocketStreamAdapterTests {
    private func data(_ bytes: [UInt8], end: Bool = false) -> HTTP2Frame.FramePayload {
        .data(.init(data: .byteBuffer(ByteBuffer(bytes: bytes)), endStream: end))
    }

    private func outboundData(_ channel: EmbeddedChannel) throws -> [(bytes: [UInt8], end: Bool)] {
        var result: [(bytes: [UInt8], end: Bool)] = []
        while let payload = try channel.readOutbound(as: HTTP2Frame.FramePayload.self) {
            guard case .data(let frame) = payload, case .byteBuffer(let buffer) = frame.data else {
                Issue.record("not DATA: \(payload)")
                continue
            }
            result.append((Array(buffer.readableBytesView), frame.endStream))
        }
        return result
    }

    @Test func dataBothWaysAndThePeersEndStream() throws {
        let sink = Sink()
        let channel = EmbeddedChannel(handlers: [WebSocketStreamAdapter(), sink])
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        try channel.writeInbound(data([1, 2, 3]))
        try channel.writeInbound(data([], end: false))
        try channel.writeInbound(data([4], end: true))
        #expect(sink.bytes == [1, 2, 3, 4])
        #expect(sink.inputClosed)
        try channel.writeOutbound(ByteBuffer(bytes: [9, 8]))
        let out = try outboundData(channel)
        #expect(out.count == 1 && out[0].bytes == [9, 8] && !out[0].end)
        // Our END_STREAM after theirs: no timer, the stream channel closes itself.
        channel.close(mode: .output, promise: nil)
        let end = try outboundData(channel)
        #expect(end.count == 1 && end[0].bytes.isEmpty && end[0].end)
        channel.embeddedEventLoop.advanceTime(by: .seconds(60))
        #expect(channel.isActive)
    }

    @Test func trailersEndTheStreamToo() throws {
        let sink = Sink()
        let channel = EmbeddedChannel(handlers: [WebSocketStreamAdapter(), sink])
        try channel.writeInbound(HTTP2Frame.FramePayload.headers(.init(headers: [:], endStream: true)))
        #expect(sink.inputClosed)
    }

    /// Our END_STREAM first: writes after it fail; without the peer's END_STREAM within the
    /// timeout the stream is reset (the channel closes).
    @Test func silentPeerIsResetAfterTheTimeout() throws {
        let channel = EmbeddedChannel(handlers: [WebSocketStreamAdapter(endStreamTimeout: .seconds(5)), Sink()])
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        channel.close(mode: .output, promise: nil)
        #expect(try outboundData(channel).map(\.end) == [true])
        #expect(throws: ChannelError.outputClosed) { try channel.writeOutbound(ByteBuffer(bytes: [1])) }
        channel.embeddedEventLoop.advanceTime(by: .seconds(4))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        #expect(!channel.isActive)
    }

    /// An application that closes its channel once it saw `.closed`, after our END_STREAM and
    /// before the stream has ended, does not reset (CANCEL) a stream that is ending cleanly: the
    /// close waits for the stream to end, at most the same timeout, then resets it.
    @Test func aCloseAfterOurEndStreamWaitsForTheStreamToEnd() throws {
        let channel = EmbeddedChannel(handlers: [WebSocketStreamAdapter(endStreamTimeout: .seconds(5)), Sink()])
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        channel.close(mode: .output, promise: nil)
        #expect(try outboundData(channel).map(\.end) == [true])
        try channel.writeInbound(data([], end: true))
        let closed = ClosedFlag()
        channel.close().whenComplete { _ in closed.value = true }
        #expect(channel.isActive, "no reset while the stream ends by itself")
        #expect(!closed.value)
        channel.embeddedEventLoop.advanceTime(by: .seconds(6))
        #expect(!channel.isActive)
        #expect(closed.value)
    }
}

/// Set by a close promise on the embedded channel's (single) thread.
private final class ClosedFlag: @unchecked Sendable {
    var value = false
}
