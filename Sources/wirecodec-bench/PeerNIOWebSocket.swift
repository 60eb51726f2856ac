import NIOCore
import NIOEmbedded
import NIOWebSocket

/// The handler after NIO's WebSocket decoder: takes each frame's unmasked payload (what an
/// application reads) and, for text messages, validates it as UTF-8.
private final class FrameSink: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    let validateText: Bool
    var frames = 0
    var payloadBytes = 0
    var checksum: UInt64 = 0
    var payloadHash = SerializedDigest([])
    var recording = false

    init(validateText: Bool) { self.validateText = validateText }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        let payload = frame.unmaskedData
        frames += 1
        payloadBytes += payload.readableBytes
        checksum &+= UInt64(payload.readableBytes)
        if validateText && frame.opcode == .text {
            // The zero-copy stdlib validator (Swift 6.2 UTF8Span) on the ByteBuffer's bytes.
            let valid = (try? UTF8Span(validating: payload.readableBytesUInt8Span)) != nil
            guard valid else { fatalError("invalid UTF-8") }
        }
        if recording {
            // Last byte of every payload plus the whole last payload: cheap, and it checks unmasking.
            payloadHash = SerializedDigest(payload.readableBytesView)
            checksum &+= UInt64(payload.readableBytesView.last ?? 0)
        }
    }
}

/// NIOWebSocket's `WebSocketFrameDecoder` in a `ByteToMessageHandler` on an `EmbeddedChannel`,
/// optionally followed by `NIOWebSocketFrameAggregator`, then the payload reader.
final class NIOWebSocketDecoderPeer {
    let channel: EmbeddedChannel
    private let sink: FrameSink
    let input: ByteBuffer

    init(
        input bytes: [UInt8], maxFrameSize: Int, aggregate: Bool, maxAccumulatedFrameCount: Int = 64,
        maxAccumulatedFrameSize: Int = 1 << 24
    ) {
        channel = EmbeddedChannel()
        input = channel.allocator.buffer(bytes: bytes)
        sink = FrameSink(validateText: aggregate)
        let pipeline = channel.pipeline.syncOperations
        try! pipeline.addHandler(ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: maxFrameSize)))
        if aggregate {
            try! pipeline.addHandler(
                NIOWebSocketFrameAggregator(
                    minNonFinalFragmentSize: 0, maxAccumulatedFrameCount: maxAccumulatedFrameCount,
                    maxAccumulatedFrameSize: maxAccumulatedFrameSize))
        }
        try! pipeline.addHandler(sink)
    }

    @inline(__always)
    func decode() -> UInt64 {
        try! channel.writeInbound(input)
        return sink.checksum
    }

    func digest() -> String {
        sink.frames = 0
        sink.payloadBytes = 0
        sink.recording = true
        _ = decode()
        sink.recording = false
        return WebSocketDigest(frames: sink.frames, payloadBytes: sink.payloadBytes, lastPayload: sink.payloadHash).description
    }
}

/// What a subject decoded: frames (or messages) delivered, payload bytes, and the last payload.
struct WebSocketDigest: CustomStringConvertible {
    var frames: Int
    var payloadBytes: Int
    var lastPayload: SerializedDigest
    var description: String { "delivered=\(frames) payload=\(payloadBytes) last=\(lastPayload)" }
}

/// NIOWebSocket's `WebSocketFrameEncoder` on an `EmbeddedChannel`: one masked text frame per
/// op, the bytes taken off the channel as a transport would.
final class NIOWebSocketEncoderPeer {
    let channel: EmbeddedChannel
    let payload: ByteBuffer
    let key: WebSocketMaskingKey

    init() {
        channel = EmbeddedChannel()
        try! channel.pipeline.syncOperations.addHandler(WebSocketFrameEncoder())
        payload = channel.allocator.buffer(bytes: Fixtures.smallFramePayloadToSend)
        let k = Fixtures.clientMaskingKey
        key = WebSocketMaskingKey([k.0, k.1, k.2, k.3])!
    }

    @inline(__always)
    func encode(_ collect: ((ByteBuffer) -> Void)? = nil) -> UInt64 {
        channel.writeAndFlush(WebSocketFrame(fin: true, opcode: .text, maskKey: key, data: payload), promise: nil)
        var bytes: UInt64 = 0
        while let buffer = try! channel.readOutbound(as: ByteBuffer.self) {
            bytes &+= UInt64(buffer.readableBytes)
            collect?(buffer)
        }
        return bytes
    }

    func digest() -> String {
        var bytes = [UInt8]()
        _ = encode { bytes += $0.readableBytesView }
        return SerializedDigest(bytes).description
    }
}
