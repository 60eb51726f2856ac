// Vapor 4 with its WebSocket support (websocket-kit), as its documentation sets them up:
// `GET /` answers "Hello, World!", `/ws` upgrades and echoes every message (onText, onBinary).
// Defaults kept (what a user gets, production environment, logging at error level), except the
// maximum frame size, raised so that 16 KiB messages pass.
//
//     e2e-vapor --port N [--threads 1]

import NIOCore
import NIOPosix
import Vapor

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

// Vapor reads its own command line: give it just the program name (the default `serve`).
let environment = Environment(name: "production", arguments: [arguments[0]])
let app = try await Application.make(environment, .shared(MultiThreadedEventLoopGroup(numberOfThreads: threads)))
app.logger.logLevel = .error
app.http.server.configuration.hostname = "127.0.0.1"
app.http.server.configuration.port = port

app.get { _ in "Hello, World!" }
app.webSocket("ws", maxFrameSize: WebSocketMaxFrameSize(integerLiteral: 1 << 20)) { _, ws in
    ws.onText { ws, text in ws.send(text) }
    ws.onBinary { ws, buffer in ws.send(buffer) }
}

try await app.startup()
print("listening \(app.http.server.shared.localAddress?.port ?? port)")
fflush(nil)
try await app.running?.onStop.get()
try await app.asyncShutdown()
