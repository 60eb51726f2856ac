import Foundation
import NIOCore
import NIOPosix
import Testing
import WireCodec
import WireCodecNIO
import WireCodecTLS

/// Our RFC 8441 client (``HTTP2ClientConnection``) against a server nobody here wrote: Python
/// `h2` + `wsproto` (Tests/Conformance/http2/h2_ws_server.py), over HTTP/2 by prior knowledge.
@Suite(.serialized) struct HTTP2ClientPeerTests {
    private static func connect(port: Int) async throws -> HTTP2ClientConnection {
        // Configured before the connection is active: the server's SETTINGS must not be read
        // by a pipeline without the HTTP/2 handler.
        try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture { try HTTP2ClientConnection.configure(channel) }
            }
    }

    /// Three WebSockets at once on one connection, every message of the plan echoed on each,
    /// each closed with its own code; the server saw extended CONNECTs with nothing of
    /// HTTP/1.1's handshake, and the permessage-deflate offer when asked.
    @Test(arguments: [false, true])
    func webSocketsOverOneConnectionAgainstPythonH2(deflate: Bool) async throws {
        guard requirePeer(PythonPeerProcess.hasH2Peers, "python3 with h2 and wsproto") else { return }
        let peer = try PythonPeerProcess(script: "h2_ws_server.py", arguments: ["--plaintext"] + (deflate ? ["--deflate"] : []))
        let connection = try await Self.connect(port: peer.port)
        #expect(try await connection.supportsExtendedConnect())
        let port = peer.port
        try await withThrowingTaskGroup(of: WebSocketClosure?.self) { group in
            for index in 0..<3 {
                group.addTask {
                    let handshake = try WebSocketExtendedConnectClientHandshake(
                        authority: "127.0.0.1:\(port)", path: "/echo/\(index)", scheme: "http",
                        deflate: deflate ? PerMessageDeflateClientOffer() : nil)
                    guard case .accepted(let webSocket, let negotiation) = try await connection.openWebSocket(handshake) else {
                        Issue.record("not accepted")
                        return nil
                    }
                    #expect((negotiation.deflate != nil) == deflate)
                    return try await webSocket.executeThenClose { inbound, outbound in
                        var expected: [WebSocketEvent] = [.text("héllo \(index) ✓")]
                        expected += HTTP2MessagePlan.sizes.map { .binary(HTTP2MessagePlan.binary($0, seed: index)) }
                        for event in expected {
                            switch event {
                            case .text(let text): try await outbound.write(.text(text))
                            case .binary(let bytes): try await outbound.write(.binary(bytes))
                            default: break
                            }
                        }
                        var received: [WebSocketEvent] = []
                        var closure: WebSocketClosure?
                        for try await event in inbound {
                            switch event {
                            case .text, .binary:
                                received.append(event)
                                if received.count == expected.count {
                                    try await outbound.write(.close(WebSocketCloseCode(rawValue: UInt16(4000 + index)), reason: "bye"))
                                }
                            case .closed(let c): closure = c
                            default: break
                            }
                        }
                        #expect(received == expected)
                        return closure
                    }
                }
            }
            var closures: [WebSocketClosure] = []
            for try await closure in group { if let closure { closures.append(closure) } }
            #expect(closures.count == 3)
            for closure in closures {
                #expect(closure.cause == .closeAnswered && closure.wasClean)
                #expect((4000...4002).contains(Int(closure.code.rawValue)))
            }
        }
        try? await connection.channel.close()
        let log = peer.stop()
        let requests = log.filter { $0["event"] as? String == "request" }
        #expect(requests.count == 3)
        for request in requests {
            let headers = try #require(request["headers"] as? [String: [String]])
            #expect(headers[":method"] == ["CONNECT"] && headers[":protocol"] == ["websocket"])
            #expect(headers[":scheme"] == ["http"] && headers[":authority"] == ["127.0.0.1:\(peer.port)"])
            #expect(headers["sec-websocket-version"] == ["13"])
            #expect(headers["sec-websocket-key"] == nil && headers["upgrade"] == nil && headers["connection"] == nil)
            #expect((headers["sec-websocket-extensions"]?.first?.hasPrefix("permessage-deflate") ?? false) == deflate)
        }
        let closed = log.filter { $0["event"] as? String == "closed" }
        #expect(closed.count == 3)
        for entry in closed {
            let close = try #require(entry["close"] as? [String: Any])
            #expect(close["reason"] as? String == "bye")
        }
        #expect(!log.contains { $0["event"] as? String == "reset" || $0["event"] as? String == "error" }, "\(log)")
    }

    /// A server whose SETTINGS do not allow extended CONNECT gets none (RFC 8441 §3).
    @Test func noExtendedConnectWithoutTheSetting() async throws {
        guard requirePeer(PythonPeerProcess.hasH2Peers, "python3 with h2 and wsproto") else { return }
        let peer = try PythonPeerProcess(script: "h2_ws_server.py", arguments: ["--plaintext", "--no-connect-protocol"])
        let connection = try await Self.connect(port: peer.port)
        #expect(try await connection.supportsExtendedConnect() == false)
        let handshake = try WebSocketExtendedConnectClientHandshake(authority: "127.0.0.1:\(peer.port)", scheme: "http")
        await #expect(throws: HTTP2ClientError(.extendedConnectNotSupported)) {
            _ = try await connection.openWebSocket(handshake)
        }
        try? await connection.channel.close()
        #expect(peer.stop().filter { $0["event"] as? String == "request" }.isEmpty)
    }

    /// ``WebSocketClient`` over HTTP/2 when the server sends a valid message, a bad frame and a
    /// ping in one DATA frame (Autobahn 3.2 on a stream): the application's answer to the
    /// message goes out before the close with 1002, as over HTTP/1.1
    /// (`WebSocketClientFailureTests`).
    @Test func aMessageBeforeABadFrameIsEchoedBeforeTheCloseOverHTTP2() async throws {
        guard requirePeer(PythonPeerProcess.hasH2Peers && TestCertificates.opensslAvailable, "openssl and python3 with h2 and wsproto")
        else { return }
        let certificates = try TestCertificates.make()
        defer { certificates.remove() }
        let peer = try PythonPeerProcess(
            script: "h2_ws_server.py", arguments: ["--cert", certificates.chain, "--key", certificates.key, "--bad-frame"])
        var configuration = WebSocketClient.Configuration()
        configuration.httpVersion = .http2
        configuration.connection.security = try TLSClientSecurity(additionalTrustRootsPEMFiles: [certificates.ca])
        let client = try WebSocketClient(url: "wss://localhost:\(peer.port)/bad", configuration: configuration)
        let (closure, version) = try await client.withConnection { connection in
            for try await event in connection.events {
                if case .text(let text) = event { try await connection.send(.text(text)) }
            }
            return (connection.closure, connection.httpVersion)
        }
        let log = peer.stop()
        #expect(version == .http2)
        guard case .protocolError(let error)? = closure?.cause else {
            Issue.record("client closure: \(String(describing: closure))")
            return
        }
        #expect(error.code == .reservedBitsSet)
        let seen = log.filter { ["message", "closed"].contains($0["event"] as? String) }
        #expect(seen.count == 2, "\(log)")
        #expect(seen.first?["event"] as? String == "message" && seen.first?["text"] as? String == "Hello", "the echo first: \(log)")
        #expect(seen.last?["event"] as? String == "closed", "\(log)")
        #expect((seen.last?["close"] as? [String: Any])?["code"] as? Int == 1002, "\(log)")
    }
}

/// `wirecodec ws connect --http2` (``WebSocketClient`` with `httpVersion: .http2`) against the
/// Python `h2` + `wsproto` server over TLS: the WebSocket on an HTTP/2 stream when the server's
/// SETTINGS allow it, HTTP/1.1 on a new connection when they do not, and a line saying which.
@Suite(.serialized) struct HTTP2CLIPeerTests {
    private func connect(_ port: Int, ca: String, deflate: Bool, lines: [String]) throws -> ProcessResult {
        try runProcess(
            Paths.executable("wirecodec").path,
            ["ws", "connect", "--http2", "--ca-cert", ca, "wss://localhost:\(port)/echo"] + (deflate ? ["--deflate"] : []),
            stdin: Data(lines.map { $0 + "\n" }.joined().utf8), timeout: 60)
    }

    @Test(arguments: [false, true])
    func wsConnectOverHTTP2(deflate: Bool) throws {
        guard requirePeer(PythonPeerProcess.hasH2Peers && TestCertificates.opensslAvailable, "openssl and python3 with h2 and wsproto")
        else { return }
        let certificates = try TestCertificates.make()
        defer { certificates.remove() }
        let peer = try PythonPeerProcess(
            script: "h2_ws_server.py", arguments: ["--cert", certificates.chain, "--key", certificates.key] + (deflate ? ["--deflate"] : []))
        let result = try connect(peer.port, ca: certificates.ca, deflate: deflate, lines: ["hello", "wörld"])
        let log = peer.stop()
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("wirecodec: WebSocket over HTTP/2 (h2, extended CONNECT)"), "\(result.stderr)")
        #expect(result.text == """
            {"type":"text","data_b64":"aGVsbG8="}
            {"type":"text","data_b64":"d8O2cmxk"}
            {"type":"close","code":1000,"reason":""}

            """)
        let request = try #require(log.first { $0["event"] as? String == "request" })
        #expect(request["alpn"] as? String == "h2")
        let headers = try #require(request["headers"] as? [String: [String]])
        #expect(headers[":method"] == ["CONNECT"] && headers[":protocol"] == ["websocket"] && headers[":scheme"] == ["https"])
        #expect(headers[":path"] == ["/echo"] && headers[":authority"] == ["localhost:\(peer.port)"])
        #expect((headers["sec-websocket-extensions"] != nil) == deflate)
        let closed = try #require(log.first { $0["event"] as? String == "closed" })
        #expect((closed["close"] as? [String: Any])?["code"] as? Int == 1000)
    }

    @Test func wsConnectFallsBackToHTTP1WithoutTheSetting() throws {
        guard requirePeer(PythonPeerProcess.hasH2Peers && TestCertificates.opensslAvailable, "openssl and python3 with h2 and wsproto")
        else { return }
        let certificates = try TestCertificates.make()
        defer { certificates.remove() }
        let peer = try PythonPeerProcess(
            script: "h2_ws_server.py", arguments: ["--cert", certificates.chain, "--key", certificates.key, "--no-connect-protocol"])
        let result = try connect(peer.port, ca: certificates.ca, deflate: false, lines: ["hello"])
        let log = peer.stop()
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains(
            "wirecodec: WebSocket over HTTP/1.1 (the server's HTTP/2 SETTINGS do not allow extended CONNECT (RFC 8441))"),
            "\(result.stderr)")
        #expect(result.text.hasPrefix(#"{"type":"text","data_b64":"aGVsbG8="}"#))
        let requests = log.filter { $0["event"] as? String == "request" }
        #expect(requests.map { $0["alpn"] as? String } == ["http/1.1"], "no extended CONNECT was sent: \(requests)")
    }
}
