import Foundation
import HTTPTypes
import NIOCore
import NIOHTTPTypes
import NIOPosix
import Synchronization
import Testing
import WireCodec
import WireCodecNIO
import WireCodecTLS

/// A `WireServer` over TLS with ALPN `h2` and `http/1.1`, in this process, for the duration of
/// `body`; HTTP/2 clients made with our ``HTTP2ClientConnection``.
struct H2TestServer {
    let port: Int
    let certificates: TestCertificates
    let server: WireServer

    static func with<T: Sendable>(
        configure: (inout WireServer.Configuration) -> Void = { _ in },
        http: @escaping WireServer.HTTPHandler = { _, response in try await response.send(HTTPResponse(status: .ok), body: "ok") },
        webSocket: WireServer.WebSocketUpgradeHandler?,
        _ body: (H2TestServer) async throws -> T
    ) async throws -> T {
        let certificates = try TestCertificates.make()
        defer { certificates.remove() }
        var configuration = WireServer.Configuration(host: "127.0.0.1", port: 0)
        configuration.tls = try TLSServerConfiguration(
            certificateChainPEMFile: certificates.chain, privateKeyPEMFile: certificates.key, applicationProtocols: ["h2", "http/1.1"])
        configuration.shutdownGracePeriod = .seconds(5)
        configure(&configuration)
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let server = WireServer(configuration: configuration, onListening: { address in
            continuation.yield(address.port ?? 0)
        }, http: http, webSocket: webSocket)
        let running = Task { try await server.run() }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())
        do {
            let result = try await body(H2TestServer(port: port, certificates: certificates, server: server))
            server.shutdownGracefully()
            try await running.value
            return result
        } catch {
            server.shutdownGracefully()
            _ = try? await running.value
            throw error
        }
    }

    /// A new HTTP/2 connection (TLS, ALPN `h2` only, the test CA trusted).
    func connect() async throws -> HTTP2ClientConnection {
        let context = try TLSClientConfiguration(
            additionalTrustRootsPEMFiles: [certificates.ca], useSystemTrustRoots: false, applicationProtocols: ["h2"]
        ).makeContext()
        return try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        TLSClientConfiguration.makeClientHandler(context: context, serverHostname: "localhost"))
                    return try HTTP2ClientConnection.configure(channel)
                }
            }
    }

    /// Opens a WebSocket on `connection`, which must be accepted.
    func webSocket(
        _ connection: HTTP2ClientConnection, path: String, deflate: Bool = false
    ) async throws -> NIOAsyncChannel<WebSocketEvent, WebSocketOutboundEvent> {
        let handshake = try WebSocketExtendedConnectClientHandshake(
            authority: "localhost:\(port)", path: path, deflate: deflate ? PerMessageDeflateClientOffer() : nil)
        guard case .accepted(let channel, _) = try await connection.openWebSocket(handshake) else {
            throw HTTP2ClientError(.noAnswer)
        }
        return channel
    }
}

/// A counter shared by tasks and handlers.
final class Counter: Sendable {
    private let atomic = Atomic<Int>(0)
    func add(_ n: Int) { atomic.add(n, ordering: .relaxed) }
    var value: Int { atomic.load(ordering: .relaxed) }
}

/// Echoes every message.
let echoWebSocket: WireServer.WebSocketUpgradeHandler = { _ in
    .accept { webSocket in
        for try await message in webSocket.inbound { try await webSocket.outbound.send(message) }
    }
}

/// `WireServer` over HTTP/2 in this process: the SETTINGS it sends, many WebSockets on one
/// connection, flow control and backpressure per stream, graceful shutdown, and responses
/// written for HTTP/1.1 that HTTP/2 must carry without their hop-by-hop fields.
@Suite(.serialized) struct HTTP2ServerTests {
    /// SETTINGS_ENABLE_CONNECT_PROTOCOL only when the application takes WebSockets (RFC 8441
    /// §3); without it, an extended CONNECT is a malformed request (the HTTP/2 layer resets it
    /// with PROTOCOL_ERROR) and the application never sees it.
    @Test func connectProtocolSettingOnlyWithAWebSocketHandler() async throws {
        guard requirePeer(TestCertificates.opensslAvailable, "openssl") else { return }
        try await H2TestServer.with(webSocket: echoWebSocket) { server in
            let connection = try await server.connect()
            #expect(try await connection.supportsExtendedConnect())
            try? await connection.channel.close()
        }
        let seen = Counter()
        try await H2TestServer.with(
            http: { _, response in
                seen.add(1)
                try await response.send(HTTPResponse(status: .ok), body: "plain")
            }, webSocket: nil
        ) { server in
            let connection = try await server.connect()
            #expect(try await connection.supportsExtendedConnect() == false)
            try? await connection.channel.close()
            guard requirePeer(PythonPeerProcess.hasH2Peers, "python3 with h2"), let python = PythonPeerProcess.python else { return }
            let result = try runProcess(
                python,
                [PythonPeerProcess.script("h2_ws_client.py"), "https://localhost:\(server.port)/ws", "--cafile",
                 server.certificates.ca, "--attempt-without-setting"], timeout: 60)
            let report = try #require(try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any], "\(result.text)")
            #expect(report["enable_connect_protocol"] as? Int == 0)
            let attempt = try #require(report["attempt"] as? [String: Any])
            #expect(attempt["reset"] as? Int == 1, "PROTOCOL_ERROR: \(attempt)")
        }
        #expect(seen.value == 0)
    }

    /// A hundred WebSockets at once on one connection, each echoing its own messages
    /// (permessage-deflate on half of them) and closing with its own code.
    @Test func aHundredWebSocketsOnOneConnection() async throws {
        guard requirePeer(TestCertificates.opensslAvailable, "openssl") else { return }
        let remotes = Mutex<Set<String>>([])
        let count = 100
        try await H2TestServer.with(webSocket: { upgrade in
            remotes.withLock { _ = $0.insert("\(upgrade.remoteAddress.map { "\($0)" } ?? "") \(upgrade.httpVersion)") }
            var policy = PerMessageDeflateServerPolicy()
            policy.isEnabled = true
            return .accept(deflate: .policy(policy)) { webSocket in
                for try await message in webSocket.inbound { try await webSocket.outbound.send(message) }
            }
        }) { server in
            let connection = try await server.connect()
            let codes = try await withThrowingTaskGroup(of: UInt16.self) { group in
                for index in 0..<count {
                    group.addTask {
                        let webSocket = try await server.webSocket(connection, path: "/ws/\(index)", deflate: index % 2 == 0)
                        return try await webSocket.executeThenClose { inbound, outbound in
                            let messages: [WebSocketOutboundEvent] = [
                                .text("socket \(index)"), .binary(HTTP2MessagePlan.binary(10_000 + index, seed: index)),
                            ]
                            for message in messages { try await outbound.write(message) }
                            var echoes = 0
                            var code: UInt16 = 0
                            for try await event in inbound {
                                switch event {
                                case .text(let text):
                                    #expect(text == "socket \(index)")
                                    echoes += 1
                                case .binary(let bytes):
                                    #expect(bytes == HTTP2MessagePlan.binary(10_000 + index, seed: index))
                                    echoes += 1
                                case .closed(let closure):
                                    code = closure.code.rawValue
                                default: break
                                }
                                if echoes == 2 {
                                    echoes += 1
                                    try await outbound.write(.close(WebSocketCloseCode(rawValue: UInt16(3000 + index)), reason: ""))
                                }
                            }
                            return code
                        }
                    }
                }
                var codes: [UInt16] = []
                for try await code in group { codes.append(code) }
                return codes
            }
            #expect(codes.sorted() == (0..<count).map { UInt16(3000 + $0) })
            try? await connection.channel.close()
        }
        #expect(remotes.withLock { $0.count } == 1, "one connection, all h2")
        #expect(remotes.withLock { $0.first?.hasSuffix(" h2") } == true)
    }

    /// Flow control per stream: a WebSocket whose application stops reading stops its sender
    /// (its stream's window closes: the client's DATA wait, a bounded amount in flight: the
    /// window and the server's inbound buffer) while another WebSocket on the same connection
    /// goes on; once the application reads again, everything arrives.
    @Test func aStalledStreamHoldsOnlyItself() async throws {
        guard requirePeer(TestCertificates.opensslAvailable, "openssl") else { return }
        let (release, releaseContinuation) = AsyncStream.makeStream(of: Void.self)
        let received = Counter()
        try await H2TestServer.with(webSocket: { upgrade in
            guard upgrade.path == "/stall" else { return .accept { ws in for try await m in ws.inbound { try await ws.outbound.send(m) } } }
            return .accept { webSocket in
                var waiting = release.makeAsyncIterator()
                _ = await waiting.next()
                for try await message in webSocket.inbound {
                    if case .binary(let buffer) = message { received.add(buffer.readableBytes) }
                }
            }
        }) { server in
            let connection = try await server.connect()
            let stalled = try await server.webSocket(connection, path: "/stall")
            let lively = try await server.webSocket(connection, path: "/echo")
            let chunk = [UInt8](repeating: 7, count: 64 << 10)
            let total = 64
            let sent = Counter()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    // Each write waits until its DATA frames left our HTTP/2 handler, i.e. until
                    // the server's window for this stream let them go.
                    let channel = stalled.channel
                    for _ in 0..<total {
                        try await channel.writeAndFlush(WebSocketOutboundEvent.binary(chunk)).get()
                        sent.add(1)
                    }
                    try await stalled.executeThenClose { inbound, outbound in
                        try await outbound.write(.close(.normalClosure, reason: ""))
                        for try await _ in inbound {}
                    }
                }
                // While the other stream is stalled, this one still echoes.
                try await lively.executeThenClose { inbound, outbound in
                    var iterator = inbound.makeAsyncIterator()
                    for round in 0..<50 {
                        try await outbound.write(.text("round \(round)"))
                        let echo = try await iterator.next()
                        #expect(echo == .text("round \(round)"))
                    }
                    try await Task.sleep(for: .milliseconds(500))
                    let inFlight = sent.value
                    // Bounded by the stream's window (256 KiB) and what the server holds for the
                    // application (NIOAsyncChannel's 10 messages): 13 chunks measured here.
                    #expect(inFlight <= 16, "the stalled stream's sender must wait: \(inFlight) of \(total) chunks sent")
                    #expect(received.value == 0)
                    try await outbound.write(.close(.normalClosure, reason: ""))
                    while try await iterator.next() != nil {}
                }
                releaseContinuation.yield()
                try await group.waitForAll()
            }
            #expect(received.value == total * chunk.count)
            try? await connection.channel.close()
        }
    }

    /// A graceful shutdown reaches HTTP/2 streams as it reaches HTTP/1.1 connections: an open
    /// WebSocket is closed with 1001, an event stream ends cleanly, and the connection goes.
    @Test func gracefulShutdownClosesWebSocketsAndEventStreams() async throws {
        guard requirePeer(TestCertificates.opensslAvailable, "openssl") else { return }
        try await H2TestServer.with(
            http: { request, response in
                let events = try await response.startEventStream()
                try await events.send(data: "first")
                while true { try await Task.sleep(for: .seconds(1)) }
            }, webSocket: echoWebSocket
        ) { server in
            let connection = try await server.connect()
            let webSocket = try await server.webSocket(connection, path: "/ws")
            let stream = try await connection.openRequestStream()
            let closure = try await stream.executeThenClose { inbound, outbound in
                try await outbound.write(.head(HTTPRequest(method: .get, scheme: "https", authority: "localhost", path: "/events")))
                try await outbound.write(.end(nil))
                var parts = inbound.makeAsyncIterator()
                guard case .head(let head)? = try await parts.next() else { throw HTTP2ClientError(.noAnswer) }
                #expect(head.status == .ok && head.headerFields[.contentType] == "text/event-stream")
                guard case .body(let first)? = try await parts.next() else { throw HTTP2ClientError(.noAnswer) }
                #expect(String(buffer: first) == "data: first\n\n")
                return try await webSocket.executeThenClose { wsInbound, wsOutbound in
                    try await wsOutbound.write(.text("before"))
                    var events = wsInbound.makeAsyncIterator()
                    #expect(try await events.next() == .text("before"))
                    server.server.shutdownGracefully()
                    // The event stream ends cleanly (END_STREAM, not a reset).
                    var ended = false
                    while let part = try await parts.next() {
                        if case .end = part { ended = true }
                    }
                    #expect(ended)
                    var closure: WebSocketClosure?
                    while let event = try await events.next() {
                        if case .closed(let c) = event { closure = c }
                    }
                    return closure
                }
            }
            #expect(closure?.code == .goingAway)
            #expect(closure?.cause == .closeReceived)
        }
    }

    /// Fields an application writes for HTTP/1.1 (`Connection`, `Keep-Alive`,
    /// `Transfer-Encoding`) are dropped from HTTP/2 responses (RFC 9113 §8.2.2), which
    /// would otherwise be malformed; the rest arrives.
    @Test func hopByHopFieldsAreDroppedFromResponses() async throws {
        guard requirePeer(TestCertificates.opensslAvailable, "openssl") else { return }
        try await H2TestServer.with(
            http: { request, response in
                var fields = HTTPFields()
                fields[.connection] = "keep-alive"
                fields[HTTPField.Name("keep-alive")!] = "timeout=5"
                fields[.transferEncoding] = "chunked"
                fields[.contentType] = "text/plain"
                let body = try await response.start(HTTPResponse(status: .ok, headerFields: fields))
                try await body.write("streamed ")
                try await body.write("over h2")
                try await body.finish(trailers: nil)
            }, webSocket: nil
        ) { server in
            let connection = try await server.connect()
            let stream = try await connection.openRequestStream()
            let (head, text) = try await stream.executeThenClose { inbound, outbound in
                try await outbound.write(.head(HTTPRequest(method: .get, scheme: "https", authority: "localhost", path: "/")))
                try await outbound.write(.end(nil))
                var head: HTTPResponse?
                var text = ""
                for try await part in inbound {
                    switch part {
                    case .head(let h): head = h
                    case .body(let b): text += String(buffer: b)
                    case .end: break
                    }
                }
                return (head, text)
            }
            #expect(head?.status == .ok && text == "streamed over h2")
            #expect(head?.headerFields[.connection] == nil && head?.headerFields[.transferEncoding] == nil)
            #expect(head?.headerFields[.contentType] == "text/plain")
            try? await connection.channel.close()
        }
    }
}
