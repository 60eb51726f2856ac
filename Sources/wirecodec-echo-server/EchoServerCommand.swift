import ArgumentParser
import Dispatch
import NIOCore
import NIOPosix
import WireCodec
import WireCodecNIO

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `wirecodec-echo-server`: the example server over ``WireCodecNIO``. HTTP/1.1 on every
/// connection (a test page on `/`, `POST /echo`, `GET /chunked`), and a WebSocket echo
/// (text as text, binary as binary) after an Upgrade on any path.
@main
struct EchoServerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wirecodec-echo-server",
        abstract: "WebSocket echo server and HTTP/1.1 test server built on WireCodec and SwiftNIO."
    )

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on (0: any free port; the chosen one is printed).")
    var port = 9001

    @Flag(help: "Decline permessage-deflate (offered-and-accepted by default).")
    var noDeflate = false

    @Option(help: "Write the WebSocket bytes of each connection (both directions) into this directory.")
    var capture: String?

    func run() throws {
        let options = EchoServer.Options(deflate: !noDeflate, captureDirectory: capture)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let channel: any Channel
        do {
            channel = try EchoServer.bootstrap(group: group, options: options).bind(host: host, port: port).wait()
        } catch {
            try? group.syncShutdownGracefully()
            throw error
        }
        let bound = channel.localAddress?.port ?? port
        say("wirecodec-echo-server: listening on http://\(host):\(bound)/ (permessage-deflate \(noDeflate ? "off" : "on"))")

        // SIGINT/SIGTERM: stop accepting, let the loop finish, exit 0.
        let signalQueue = DispatchQueue(label: "signals")
        var sources: [any DispatchSourceSignal] = []
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: signalQueue)
            source.setEventHandler { channel.close(promise: nil) }
            source.resume()
            sources.append(source)
        }
        try channel.closeFuture.wait()
        for source in sources { source.cancel() }
        try group.syncShutdownGracefully()
        say("wirecodec-echo-server: stopped")
    }
}

/// A line on standard output, written at once (tests read the port from the first line).
func say(_ line: String) {
    var bytes = Array((line + "\n").utf8)
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeMutableBytes { write(STDOUT_FILENO, $0.baseAddress! + offset, $0.count - offset) }
        if n <= 0 { return }
        offset += n
    }
}
