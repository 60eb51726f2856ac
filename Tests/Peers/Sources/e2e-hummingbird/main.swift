// Hummingbird 2 with hummingbird-websocket, as its README sets them up: a router answering
// "Hello, World!" on `GET /`, and `http1WebSocketUpgrade` echoing every message on any path.
// Defaults kept (what a user gets), except the maximum frame size, raised so that 16 KiB
// messages pass.
//
//     e2e-hummingbird --port N [--threads 1]

import Hummingbird
import HummingbirdWebSocket
import NIOCore
import NIOPosix

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

let router = Router()
router.get("/") { _, _ in "Hello, World!" }

let app = Application(
    router: router,
    server: .http1WebSocketUpgrade(configuration: .init(ws: .init(maxFrameSize: 1 << 20))) { _, _, _ in
        .upgrade([:]) { inbound, outbound, _ in
            for try await message in inbound.messages(maxSize: 1 << 24) {
                switch message {
                case .text(let text): try await outbound.write(.text(text))
                case .binary(let bytes): try await outbound.write(.binary(bytes))
                }
            }
        }
    },
    configuration: .init(address: .hostname("127.0.0.1", port: port)),
    onServerRunning: { channel in
        print("listening \(channel.localAddress?.port ?? port)")
        fflush(nil)
    },
    eventLoopGroupProvider: .shared(MultiThreadedEventLoopGroup(numberOfThreads: threads))
)
try await app.runService()
