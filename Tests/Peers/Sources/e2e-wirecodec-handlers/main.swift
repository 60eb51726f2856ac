// WireCodec on its SwiftNIO handler API (`WireCodecNIO`): HTTP1Handler, WebSocketServerUpgrader
// and an application handler per protocol, as `WireCodecNIO`'s documentation composes them.
// `GET /` answers "Hello, World!"; an Upgrade on any path becomes a WebSocket echo.
//
//     e2e-wirecodec-handlers --port N [--threads 1]

import HTTPTypes
import NIOCore
import NIOPosix
import WireCodec
import WireCodecNIO

#if canImport(Glibc)
import Glibc
#endif

let arguments = CommandLine.arguments
func option(_ name: String, _ fallback: Int) -> Int {
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count, let value = Int(arguments[index + 1])
    else { return fallback }
    return value
}
let port = option("--port", 8080)
let threads = option("--threads", 1)

let hello = Array("Hello, World!".utf8)
let helloResponse = HTTPResponse(
    status: .ok, headerFields: [.contentType: "text/plain", .contentLength: "\(hello.count)"])

/// Answers every request with "Hello, World!" (the connection adds `Connection: close` when the
/// client asked for it).
final class HelloHandler: ChannelInboundHandler {
    typealias InboundIn = HTTP1Event
    typealias OutboundOut = HTTP1OutboundEvent

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .end = unwrapInboundIn(data) else { return }
        context.write(wrapOutboundOut(.response(helloResponse)), promise: nil)
        context.write(wrapOutboundOut(.body(hello)), promise: nil)
        context.write(wrapOutboundOut(.end()), promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }
}

/// Sends every message back.
final class EchoHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketEvent
    typealias OutboundOut = WebSocketOutboundEvent

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .text(let text): context.write(wrapOutboundOut(.text(text)), promise: nil)
        case .binary(let bytes): context.write(wrapOutboundOut(.binary(bytes)), promise: nil)
        default: break
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }
}

let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
let bootstrap = ServerBootstrap(group: group)
    .serverChannelOption(.backlog, value: 4096)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
    .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandlers([
                HTTP1Handler(role: .server),
                WebSocketServerUpgrader(policy: WebSocketServerPolicy(), makeHandlers: { _, _ in [EchoHandler()] }),
                HelloHandler(),
            ])
        }
    }

let channel = try bootstrap.bind(host: "127.0.0.1", port: port).wait()
print("listening \(channel.localAddress?.port ?? port)")
fflush(nil)
try channel.closeFuture.wait()
