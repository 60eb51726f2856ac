import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `--capture DIR`: records every byte of a connection, both directions, and writes them when
/// it closes as `DIR/conn-N.client.raw` (what the peer sent) and `DIR/conn-N.server.raw` (what
/// we sent). The first handler of the pipeline, so it sees the bytes as they cross the socket;
/// `Tests/Conformance/chromium/make_fixtures.py` cuts the HTTP heads off and writes fixtures.
final class CaptureTap: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let path: String
    private var fromPeer: [UInt8] = []
    private var toPeer: [UInt8] = []

    init(directory: String, connection: Int) {
        path = "\(directory)/conn-\(connection)"
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        fromPeer.append(contentsOf: unwrapInboundIn(data).readableBytesView)
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        toPeer.append(contentsOf: unwrapOutboundIn(data).readableBytesView)
        context.write(data, promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        Self.write(fromPeer, to: path + ".client.raw")
        Self.write(toPeer, to: path + ".server.raw")
        context.fireChannelInactive()
    }

    private static func write(_ bytes: [UInt8], to path: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { return }
        defer { _ = Glibc.close(fd) }
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n <= 0 { return }
            offset += n
        }
    }
}
