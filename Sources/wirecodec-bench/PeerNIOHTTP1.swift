import NIOCore
import NIOEmbedded
import NIOHTTP1

/// The handler after NIO's request decoder: reads what a server reads from each part.
private final class RequestPartSink: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    var checksum: UInt64 = 0
    var digest = HTTPDigest()
    var recording = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            checksum &+= UInt64(head.headers.count) &+ UInt64(head.uri.utf8.count)
            if recording {
                digest.heads += 1
                digest.lastStartLine = "\(head.method.rawValue) \(head.uri)"
                digest.lastFields = head.headers.map { ($0.name, $0.value) }
            }
        case .body(let body):
            checksum &+= UInt64(body.readableBytes)
            if recording { digest.bodyBytes += body.readableBytes }
        case .end:
            checksum &+= 1
            if recording { digest.messages += 1 }
        }
    }
}

/// The handler after NIO's response decoder: reads what a client reads from each part.
private final class ResponsePartSink: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    var checksum: UInt64 = 0
    var digest = HTTPDigest()
    var recording = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            checksum &+= UInt64(head.headers.count) &+ UInt64(head.status.code)
            if recording {
                digest.heads += 1
                digest.lastStartLine = "\(head.status.code)"
                digest.lastFields = head.headers.map { ($0.name, $0.value) }
            }
        case .body(let body):
            checksum &+= UInt64(body.readableBytes)
            if recording { digest.bodyBytes += body.readableBytes }
        case .end:
            checksum &+= 1
            if recording { digest.messages += 1 }
        }
    }
}

/// NIOHTTP1's `HTTPRequestDecoder` (or `HTTPResponseDecoder`) in a `ByteToMessageHandler` on
/// an `EmbeddedChannel`, followed by a handler that reads each part: one keep-alive
/// connection that receives every op's bytes in one `channelRead`.
final class NIOHTTP1DecoderPeer {
    let channel: EmbeddedChannel
    private let requestSink: RequestPartSink?
    private let responseSink: ResponsePartSink?
    let input: ByteBuffer

    init(response: Bool, input bytes: [UInt8]) {
        channel = EmbeddedChannel()
        input = channel.allocator.buffer(bytes: bytes)
        let pipeline = channel.pipeline.syncOperations
        if response {
            let sink = ResponsePartSink()
            try! pipeline.addHandler(ByteToMessageHandler(HTTPResponseDecoder()))
            try! pipeline.addHandler(sink)
            responseSink = sink
            requestSink = nil
        } else {
            let sink = RequestPartSink()
            try! pipeline.addHandler(ByteToMessageHandler(HTTPRequestDecoder()))
            try! pipeline.addHandler(sink)
            requestSink = sink
            responseSink = nil
        }
    }

    /// A response decoder only accepts responses to requests it saw leave: send `count`.
    func sendRequests(_ count: Int) {
        guard responseSink != nil else { return }
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/api/messages/latest")
        for _ in 0..<count { channel.write(HTTPClientRequestPart.head(head), promise: nil) }
        channel.flush()
        while (try? channel.readOutbound(as: HTTPClientRequestPart.self)) ?? nil != nil {}
    }

    @inline(__always)
    func parse() -> UInt64 {
        try! channel.writeInbound(input)
        return requestSink?.checksum ?? responseSink!.checksum
    }

    func digest() -> String {
        sendRequests(64)
        requestSink?.digest = HTTPDigest()
        requestSink?.recording = true
        responseSink?.digest = HTTPDigest()
        responseSink?.recording = true
        _ = parse()
        requestSink?.recording = false
        responseSink?.recording = false
        return (requestSink?.digest ?? responseSink!.digest).description
    }
}

/// NIOHTTP1's `HTTPResponseEncoder` on an `EmbeddedChannel`: head, body, end, flushed, and
/// the bytes taken off the channel as a transport would.
final class NIOHTTP1EncoderPeer {
    let channel: EmbeddedChannel
    let head: HTTPResponseHead
    let body: ByteBuffer

    init() {
        channel = EmbeddedChannel()
        try! channel.pipeline.syncOperations.addHandler(HTTPResponseEncoder())
        head = HTTPResponseHead(
            version: .http1_1, status: .ok, headers: HTTPHeaders(Fixtures.responseHeadFields))
        body = channel.allocator.buffer(bytes: Fixtures.responseBody)
    }

    @inline(__always)
    func serialize(_ collect: ((ByteBuffer) -> Void)? = nil) -> UInt64 {
        channel.write(HTTPServerResponsePart.head(head), promise: nil)
        channel.write(HTTPServerResponsePart.body(.byteBuffer(body)), promise: nil)
        channel.write(HTTPServerResponsePart.end(nil), promise: nil)
        channel.flush()
        var bytes: UInt64 = 0
        while let data = try! channel.readOutbound(as: IOData.self) {
            guard case .byteBuffer(let buffer) = data else { fatalError("file region") }
            bytes &+= UInt64(buffer.readableBytes)
            collect?(buffer)
        }
        return bytes
    }

    func digest() -> String {
        var bytes = [UInt8]()
        _ = serialize { bytes += $0.readableBytesView }
        return SerializedDigest(bytes).description
    }
}

/// Serialized output, compared across subjects: its length and an FNV-1a hash.
struct SerializedDigest: CustomStringConvertible {
    var count: Int
    var hash: UInt64

    init(_ bytes: some Sequence<UInt8>) {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        var count = 0
        for byte in bytes {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3
            count += 1
        }
        self.count = count
        self.hash = hash
    }

    var description: String { "bytes=\(count) fnv1a=\(String(hash, radix: 16))" }
}
