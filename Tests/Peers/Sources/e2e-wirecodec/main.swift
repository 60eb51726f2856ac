// WireCodec on its async/await API (`WireServer`), as its documentation writes a server:
// `GET /` answers "Hello, World!"; an Upgrade on any path becomes a WebSocket echo.
//
//     e2e-wirecodec --port N [--threads 1] [--tasks-off-event-loop]
//
// --tasks-off-event-loop: the connections' tasks on Swift's global concurrent executor
// (`runsTasksOnEventLoop = false`, how the async API ran before it preferred the event loop).

import HTTPTypes
import NIOCore
import NIOPosix
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

var configuration = WireServer.Configuration(host: "127.0.0.1", port: port)
configuration.runsTasksOnEventLoop = !arguments.contains("--tasks-off-event-loop")
let server = WireServer(
    configuration: configuration,
    eventLoopGroup: MultiThreadedEventLoopGroup(numberOfThreads: threads),
    onListening: { address in
        print("listening \(address.port ?? port)")
        fflush(nil)
    },
    http: { _, response in
        try await response.send(HTTPResponse(status: .ok, headerFields: [.contentType: "text/plain"]), body: "Hello, World!")
    },
    webSocket: { _ in
        .accept { ws in
            for try await message in ws.inbound {
                try await ws.outbound.send(message)
            }
        }
    })
try await server.run()
