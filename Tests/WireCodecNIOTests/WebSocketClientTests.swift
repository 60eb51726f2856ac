import Foundation
import HTTPTypes
import NIOCore
import NIOPosix
import Testing
import WireCodecNIO
import WireCodecTLS
import WireHTTP1
import WireSSE
import WireWebSocket

/// The client APIs themselves (`WebSocketClient`, `EventSourceRunner`) against the same peers
/// as the CLI tests: the typed errors, the timeouts, TLS options.
@Suite(.serialized, .peer(ClientPeers.python != nil, "Python websockets 17.4"))
struct WebSocketClientTests {
    /// The high-level API: the server's `WebSocket` type over wss://, closed with 1000 when the
    /// handler returns.
    @Test(.peer(ClientPeers.openssl != nil, "openssl"))
    func connectOverTLSWithTheWebSocketAPI() async throws {
        let certs = try ClientPeers.requireCertificates()
        let server = try ClientWebSocketPeerTests.server(["--cert", certs.cert, "--key", certs.key, "--deflate"])
        defer { server.stop() }
        let port = try server.port()
        var configuration = WebSocketClient.Configuration()
        configuration.deflate = PerMessageDeflateClientOffer()
        configuration.connection.security = try TLSClientSecurity(additionalTrustRootsPEMFiles: [certs.ca])
        let client = try WebSocketClient(url: "wss://localhost:\(port)/api", configuration: configuration)
        let received = ReceivedMessages()
        let closure = try await client.connect { ws in
            #expect(ws.negotiation.deflate != nil)
            try await ws.outbound.send(text: "one")
            try await ws.outbound.send(binary: ByteBuffer(bytes: [1, 2, 3]))
            var iterator = ws.inbound.makeAsyncIterator()
            for _ in 0..<2 {
                if let message = try await iterator.next() { received.append(message) }
            }
        }
        #expect(received.all == [.text("one"), .binary(ByteBuffer(bytes: [1, 2, 3]))])
        #expect(closure.code == .normalClosure && closure.wasClean)
    }

    /// `noneForTestingOnly` is the only way to skip verification, and it is explicit.
    @Test(.peer(ClientPeers.openssl != nil, "openssl"))
    func verificationCanOnlyBeTurnedOffByName() async throws {
        let certs = try ClientPeers.requireCertificates()
        let server = try ClientWebSocketPeerTests.server(["--cert", certs.cert, "--key", certs.key])
        defer { server.stop() }
        let port = try server.port()
        var configuration = WebSocketClient.Configuration()
        configuration.connection.security = try TLSClientSecurity()
        let verified = try WebSocketClient(url: "wss://localhost:\(port)/", configuration: configuration)
        await #expect(throws: (any Error).self) { try await verified.connect { _ in } }
        configuration.connection.security = try TLSClientSecurity(TLSClientConfiguration(additionalTrustRoots: [], verification: .noneForTestingOnly))
        let unverified = try WebSocketClient(url: "wss://localhost:\(port)/", configuration: configuration)
        let closure = try await unverified.connect { ws in try await ws.outbound.send(text: "x") }
        #expect(closure.code == .normalClosure)
    }

    /// A 407 from tinyproxy comes back as a typed `HTTPProxyError` with the challenge.
    @Test(.peer(ClientPeers.tinyproxy != nil, "tinyproxy"))
    func proxyRefusalIsTyped() async throws {
        let server = try ClientWebSocketPeerTests.server()
        let proxy = try ClientWebSocketPeerTests.proxy(basicAuth: ("alice", "open-sesame"))
        defer { server.stop(); proxy.stop() }
        let port = try server.port()
        var configuration = WebSocketClient.Configuration()
        configuration.connection.proxy = .explicit(proxy.url)
        let client = try WebSocketClient(url: "ws://127.0.0.1:\(port)/", configuration: configuration)
        let error = try await #require(throws: HTTPProxyError.self) { try await client.connect { _ in } }
        #expect(error.code == .proxyAuthenticationRequired && error.status == 407 && !error.credentialsSent)
        #expect(error.proxyAuthenticate == ["Basic realm=\"Tinyproxy\""])
        configuration.connection.proxy = .explicit("http://alice:open-sesame@127.0.0.1:\(proxy.port)")
        let authorized = try WebSocketClient(url: "ws://127.0.0.1:\(port)/", configuration: configuration)
        #expect(try await authorized.connect { ws in try await ws.outbound.send(text: "x") }.code == .normalClosure)
    }

    /// A non-101 answer is handed back whole.
    @Test func rejectionIsTyped() async throws {
        let http = try ClientEventSourcePeerTests.server()
        defer { http.stop() }
        let client = try WebSocketClient(url: "ws://127.0.0.1:\(try http.port())/status/404")
        let error = try await #require(throws: WebSocketClientUpgradeError.self) { try await client.connect { _ in } }
        #expect(error.code == .rejected && error.response?.status == .notFound)
    }

    /// A server that accepts TCP and never answers: the handshake timeout ends the attempt.
    @Test func handshakeTimeout() async throws {
        let silent = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        defer { silent.close(promise: nil) }
        var configuration = WebSocketClient.Configuration()
        configuration.handshakeTimeout = .milliseconds(300)
        let client = try WebSocketClient(url: "ws://127.0.0.1:\(silent.localAddress!.port!)/", configuration: configuration)
        let start = ContinuousClock.now
        let error = try await #require(throws: ClientConnectionError.self) { try await client.connect { _ in } }
        #expect(error.code == .handshakeTimeout)
        // Ours, not the 10 s default: a bound loose enough for a loaded machine (a clean-clone
        // run of the whole suite took 5.07 s for this 300 ms timeout).
        #expect(ContinuousClock.now - start < .seconds(9))
    }

    @Test func urlsTheClientRefuses() {
        #expect(throws: WireURLError.self) { try WebSocketClient(url: "ftp://example.com/") }
        #expect(throws: WireURLError.self) { try WebSocketClient(url: "ws://example.com/#fragment") }
        #expect(throws: WireURLError.self) { try WebSocketClient(url: "ws:///nohost") }
    }

    @Test func secureURLWithoutTLSSettings() async throws {
        let client = try WebSocketClient(url: "wss://127.0.0.1:1/")
        let error = try await #require(throws: ClientConnectionError.self) { try await client.connect { _ in } }
        #expect(error.code == .tlsNotConfigured)
    }

    /// `EventSourceRunner` over https:// against the feed server with the test CA.
    @Test(.peer(ClientPeers.openssl != nil && Paths.which("curl") != nil, "openssl and curl"))
    func eventSourceOverTLS() async throws {
        let certs = try ClientPeers.requireCertificates()
        let server = try EchoServerProcess(["--tls-cert", certs.cert, "--tls-key", certs.key], executable: "wirecodec-feed-server")
        defer { _ = server.stop() }
        let curl = try #require(Paths.which("curl"))
        for text in ["a", "b"] {
            let published = try runProcess(curl, ["-s", "--cacert", certs.ca, "-X", "POST", "--data-binary", text, "https://localhost:\(server.port)/publish"])
            #expect(published.status == 0, "\(published.stderr)")
        }
        let runner = EventSourceRunner(
            url: try WireURL("https://localhost:\(server.port)/events?since=0"),
            connection: ClientConnectionConfiguration(security: try TLSClientSecurity(additionalTrustRootsPEMFiles: [certs.ca])))
        let seen = ReceivedEvents()
        let end = try await runner.run { event in
            if case .message(let message) = event { seen.append(message.data) }
            return seen.count == 2 ? .stop : .continue
        }
        #expect(end == .closedByClient)
        #expect(seen.all == ["a", "b"])
        // Without the CA the runner stops at once: a certificate that does not verify is fatal.
        let untrusted = EventSourceRunner(
            url: try WireURL("https://localhost:\(server.port)/events"), connection: ClientConnectionConfiguration(security: try TLSClientSecurity()))
        let failure = try await untrusted.run { _ in .continue }
        if case .fatalNetworkError(let message) = failure {
            #expect(message.contains("CERTIFICATE_VERIFY_FAILED"), "\(message)")
        } else {
            Issue.record("expected a fatal TLS failure, got \(failure)")
        }
    }
}

final class ReceivedMessages: @unchecked Sendable {
    private let lock = NSLock()
    private var messages: [WebSocketMessage] = []
    func append(_ message: WebSocketMessage) { lock.withLock { messages.append(message) } }
    var all: [WebSocketMessage] { lock.withLock { messages } }
}

final class ReceivedEvents: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []
    func append(_ item: String) { lock.withLock { items.append(item) } }
    var all: [String] { lock.withLock { items } }
    var count: Int { lock.withLock { items.count } }
}
