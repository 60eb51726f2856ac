import ArgumentParser
import NIOCore
import WireCodec
import WireCodecNIO
import WireExampleSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `wirecodec-echo-server`: the example server on ``WireServer`` (async/await, graceful
/// shutdown on SIGTERM/SIGINT). HTTP/1.1 on every connection (a test page on `/`, `POST /echo`,
/// `GET /chunked`), and a WebSocket echo (text as text, binary as binary) after an Upgrade on
/// any path. With `--tls-cert` and `--tls-key` the port speaks TLS only (`https://`, `wss://`).
@main
struct EchoServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wirecodec-echo-server",
        abstract: "WebSocket echo server and HTTP/1.1 test server built on WireCodec and SwiftNIO."
    )

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on (0: any free port; the chosen one is printed).")
    var port = 9001

    @Flag(help: "Put the permessage-deflate streams to sleep after every message (freed, their window kept and restored): the forced-hibernation run.")
    var hibernateAfterEveryMessage = false

    @Flag(help: "Decline permessage-deflate (offered-and-accepted by default).")
    var noDeflate = false

    @Option(help: "Write the bytes of each connection (both directions, after TLS) into this directory.")
    var capture: String?

    @Flag(help: "Print one JSON line per request and per WebSocket (HTTP version, method, path, client address, close).")
    var logRequests = false

    @OptionGroup var server: ServerOptions

    func validate() throws {
        try server.validate()
    }

    func run() async throws {
        var configuration = try server.configuration(host: host, port: port)
        if !noDeflate { configuration.webSocketPolicy.deflate = PerMessageDeflateServerPolicy() }
        if hibernateAfterEveryMessage { configuration.webSocket.deflate.hibernation = .afterEveryMessage }
        if let capture {
            let counter = ConnectionCounter()
            configuration.configureConnection = { channel in
                try channel.pipeline.syncOperations.addHandler(CaptureTap(directory: capture, connection: counter.next()))
            }
        }
        let scheme = configuration.scheme
        let host = self.host
        let deflate = noDeflate ? "off" : "on"
        let server = EchoServer.make(configuration: configuration, logRequests: logRequests) { address in
            say("wirecodec-echo-server: listening on \(scheme)://\(host):\(address.port ?? 0)/ (permessage-deflate \(deflate))")
        }
        try await ServerOptions.runUntilSignalled([server], label: "wirecodec-echo-server")
        say("wirecodec-echo-server: stopped")
    }
}

/// A line on standard output, written at once (tests read the port from the first line).
func say(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress! + offset, $0.count - offset) }
        if n <= 0 { return }
        offset += n
    }
}
