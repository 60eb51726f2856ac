import Foundation
import HTTPTypes
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Testing
import UnixSignals
import WireCodec
import WireCodecNIO
import WireCodecTLS

// README async/await begin
/// An HTTP and WebSocket server that runs until SIGTERM or SIGINT, then shuts down gracefully.
func serve(host: String, port: Int, logger: Logger) async throws {
    var configuration = WireServer.Configuration(host: host, port: port)
    configuration.webSocketPolicy.deflate = PerMessageDeflateServerPolicy()  // permessage-deflate on
    let server = WireServer(configuration: configuration, logger: logger) { request, response in
        switch request.path {
        case "/hello":
            try await response.send(HTTPResponse(status: .ok), body: "hello\n")
        case "/upload":
            let body = try await request.body.collect(upTo: 1 << 20)  // HTTPBodyTooLarge beyond: 413
            try await response.send(HTTPResponse(status: .ok), body: "\(body.readableBytes) bytes\n")
        case "/events":  // Server-Sent Events until the client leaves or the server shuts down
            let events = try await response.startEventStream()
            for tick in 1... {
                try await events.send(data: "tick \(tick)", id: String(tick))
                try await Task.sleep(for: .seconds(1))
            }
        default:
            try await response.send(HTTPResponse(status: .notFound), body: "not found\n")
        }
    } webSocket: { upgrade in
        guard upgrade.path == "/echo" else { return .reject(.notFound) }
        return .accept { webSocket in
            for try await message in webSocket.inbound {  // ends when the connection closes
                try await webSocket.outbound.send(message)
            }
            logger.info("closed", metadata: ["code": "\(webSocket.closure?.code.rawValue ?? 0)"])
        }
    }
    let group = ServiceGroup(services: [server], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
    try await group.run()
}
// README async/await end

// README TLS begin
/// One port for https:// and wss://: a certificate chain and its key in PEM files.
func secureConfiguration(host: String, port: Int, certificateChain: String, privateKey: String) throws -> WireServer.Configuration {
    var configuration = WireServer.Configuration(host: host, port: port)
    configuration.tls = try TLSServerConfiguration(certificateChainPEMFile: certificateChain, privateKeyPEMFile: privateKey)
    return configuration  // TLS 1.2 at least, ALPN http/1.1
}

/// A client's TLS: the system's roots plus your CA; SNI, and the name checked against the
/// certificate. `verification: .noneForTestingOnly` is the only way to turn checking off.
func connectSecurely(to host: String, port: Int, trusting caFile: String) async throws -> any Channel {
    let tls = try TLSClientConfiguration(additionalTrustRootsPEMFiles: [caFile])
    let context = try tls.makeContext()  // build once, share between connections
    return try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try tls.configureClientChannel(channel, serverHostname: host, context: context)
                try channel.pipeline.syncOperations.addHandler(HTTP1Handler(role: .client))
            }
        }
        .connect(host: host, port: port).get()
}
// README TLS end

// README HTTP/2 begin
/// HTTP/2 and HTTP/1.1 on one TLS port (run it as any WireServer: `try await server.run()`).
func http2Server(host: String, port: Int, certificateChain: String, privateKey: String) throws -> WireServer {
    var configuration = WireServer.Configuration(host: host, port: port)
    configuration.tls = try TLSServerConfiguration(
        certificateChainPEMFile: certificateChain, privateKeyPEMFile: privateKey,
        applicationProtocols: ["h2", "http/1.1"])         // ALPN picks per connection
    configuration.http2 = .init(maxConcurrentStreams: 256) // the defaults, see below
    return WireServer(configuration: configuration) { request, response in
        // every HTTP/2 stream arrives here as an HTTP/1.1 request does: whole, streamed,
        // startEventStream() for SSE, a long poll held as long as you like
        try await response.send(HTTPResponse(status: .ok), body: "over \(request.httpVersion)\n")
    } webSocket: { upgrade in                              // an Upgrade or an extended CONNECT
        .accept { ws in                                    // upgrade.httpVersion says which
            for try await message in ws.inbound { try await ws.outbound.send(message) }
        }
    }
}
// README HTTP/2 end

/// The README's async/await, TLS and HTTP/2 samples, compiled here and run: `readmeBlocksMatchThisFile`
/// keeps the README's blocks and this file's identical (edit both together).
@Suite(.serialized, .timeLimit(.minutes(2))) struct ReadmeServerSamplesTests {
    /// A port free a moment ago.
    static func freePort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(channel.localAddress?.port)
        try await channel.close()
        return port
    }

    @Test func theAsyncSampleServesHTTPEventsAndWebSocketsAndStopsWhenCancelled() async throws {
        let port = try await Self.freePort()
        var logger = Logger(label: "readme")
        logger.logLevel = .critical
        let running = Task { [logger] in try await serve(host: "127.0.0.1", port: port, logger: logger) }
        var client: RawConnection?
        for _ in 0..<100 where client == nil {
            client = try? await RawConnection(port: port)
            if client == nil { try await Task.sleep(for: .milliseconds(50)) }
        }
        let http = try #require(client)
        try await http.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try await http.read(through: "hello\n").hasSuffix("\r\n\r\nhello\n"))
        _ = http.takeReceived()
        try await http.send("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n12345")
        #expect(try await http.read(through: "bytes\n").hasSuffix("\r\n\r\n5 bytes\n"))
        _ = http.takeReceived()
        try await http.send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try await http.read(through: "data: tick 2\n\n").contains("id: 1\ndata: tick 1\n\n"))
        let webSocket = try await WebSocketTestClient(port: port, path: "/echo", deflate: true)
        guard case .accepted(let negotiation)? = try await webSocket.next() else { Issue.record("not accepted"); return }
        #expect(negotiation.deflate != nil)
        try await webSocket.send(.text("echo me"))
        #expect(try await webSocket.next() == .text("echo me"))
        running.cancel()
        try? await running.value
        #expect(try await http.readToEnd().count > 0, "the stream ended with the server")
    }

    @Test func theTLSSampleConnectsWithTheTestCA() async throws {
        guard let certificate = TestCertificate.require() else { return }
        let port = try await Self.freePort()
        let configuration = try secureConfiguration(
            host: "127.0.0.1", port: port, certificateChain: certificate.chain, privateKey: certificate.key)
        let running = try await RunningServer.start { onListening in
            WireServer(configuration: configuration, onListening: onListening) { request, response in
                try await response.send(HTTPResponse(status: .ok), body: request.head.scheme ?? "")
            }
        }
        let channel = try await connectSecurely(to: "localhost", port: running.port, trusting: certificate.ca)
        let answer = channel.eventLoop.makePromise(of: HTTP1ResponseHead.self)
        try await channel.pipeline.addHandler(FirstResponse(answer)).get()
        try await channel.writeAndFlush(HTTP1OutboundEvent.request(HTTPRequest(method: .get, scheme: nil, authority: "localhost", path: "/")))
        try await channel.writeAndFlush(HTTP1OutboundEvent.end(trailers: nil))
        #expect(try await answer.futureResult.get().status == 200)
        try await channel.close()
        try await running.stop()
    }

    /// The HTTP/2 sample answers curl over HTTP/2 and over HTTP/1.1 on its one TLS port, and
    /// echoes a WebSocket opened over HTTP/2 (RFC 8441) by `wirecodec ws connect --http2`.
    @Test func theHTTP2SampleServesBothVersionsOnOnePort() async throws {
        guard let certificate = TestCertificate.require() else { return }
        guard requirePeer(Paths.which("curl") != nil, "curl"), let curl = Paths.which("curl") else { return }
        let port = try await Self.freePort()
        let server = try http2Server(host: "127.0.0.1", port: port, certificateChain: certificate.chain, privateKey: certificate.key)
        let running = Task { try await server.run() }
        defer { running.cancel() }
        func get(_ version: String) throws -> String {
            try runProcess(curl, ["-s", version, "--cacert", certificate.ca, "https://localhost:\(port)/"], timeout: 30).text
        }
        var answer = ""
        for _ in 0..<100 where answer.isEmpty {
            answer = try get("--http2")
            if answer.isEmpty { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(answer == "over h2\n")
        #expect(try get("--http1.1") == "over http/1.1\n")
        let cli = try runProcess(
            Paths.executable("wirecodec").path,
            ["ws", "connect", "--http2", "--ca-cert", certificate.ca, "wss://localhost:\(port)/"],
            stdin: Data("over two\n".utf8), timeout: 60)
        // The echo, as a JSON line with the text in base64.
        #expect(cli.status == 0 && cli.text.contains(#""data_b64":"b3ZlciB0d28=""#), "\(cli.text) \(cli.stderr)")
        #expect(cli.stderr.contains("WebSocket over HTTP/2"), "\(cli.stderr)")
    }

    final class FirstResponse: ChannelInboundHandler, Sendable {
        typealias InboundIn = HTTP1Event
        let promise: EventLoopPromise<HTTP1ResponseHead>
        init(_ promise: EventLoopPromise<HTTP1ResponseHead>) { self.promise = promise }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            if case .response(let head) = unwrapInboundIn(data) { promise.succeed(head) }
        }
        func errorCaught(context: ChannelHandlerContext, error: any Error) { promise.fail(error) }
    }

    /// Each README block is the code between this file's markers (imports aside).
    @Test(arguments: [("async", "async/await"), ("tls", "TLS"), ("http2", "HTTP/2")])
    func readmeBlocksMatchThisFile(section: String, marker: String) throws {
        let readme = try String(contentsOf: Paths.root.appendingPathComponent("README.md"), encoding: .utf8)
        let source = try String(contentsOf: URL(fileURLWithPath: #filePath), encoding: .utf8)
        let start = try #require(readme.range(of: "<!-- section: \(section) -->"))
        let after = readme[start.upperBound...]
        let open = try #require(after.range(of: "```swift\n"))
        let close = try #require(after[open.upperBound...].range(of: "```"))
        let readmeLines = after[open.upperBound..<close.lowerBound].split(separator: "\n", omittingEmptySubsequences: false)
            .map(String.init).filter { !$0.hasPrefix("import ") }.drop { $0.isEmpty }
        let begin = try #require(source.range(of: "// README \(marker) begin\n"))
        let end = try #require(source.range(of: "// README \(marker) end"))
        let codeLines = source[begin.upperBound..<end.lowerBound].split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(Array(readmeLines) == codeLines)
    }
}
