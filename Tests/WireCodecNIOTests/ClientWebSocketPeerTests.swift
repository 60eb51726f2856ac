import Foundation
import Testing

/// `wirecodec ws connect` against a Python `websockets` 17.4 server (Tests/Conformance/client/
/// ws_server.py) and through Debian's tinyproxy: peers nobody here wrote.
@Suite(.serialized, .peer(ClientPeers.python != nil, "Python websockets 17.4"))
struct ClientWebSocketPeerTests {
    /// The lines sent, and the messages an echo gives back for them.
    static let input = "hello\nwörld 🎉\n\n{\"id\": 1}\n"
    static let echoes = ["text:hello", "text:wörld 🎉", "text:", "text:{\"id\": 1}"]

    static func server(_ arguments: [String] = []) throws -> PeerProcess {
        let python = try #require(ClientPeers.python, "Python websockets 17.4 (Tests/Scripts/setup-tests.sh)")
        return try PeerProcess(python, [ClientPeers.scripts.appendingPathComponent("ws_server.py").path] + arguments)
    }

    static func connect(_ arguments: [String], input: String = ClientWebSocketPeerTests.input, environment: [String: String] = [:]) throws -> ProcessResult {
        // A proxy from the machine's environment must not get in the way of loopback tests.
        var env = ["http_proxy": "", "https_proxy": "", "HTTPS_PROXY": "", "ws_proxy": "", "WS_PROXY": "", "wss_proxy": "",
                   "WSS_PROXY": "", "all_proxy": "", "ALL_PROXY": "", "no_proxy": "", "NO_PROXY": ""]
        env.merge(environment) { $1 }
        return try runProcess(ClientPeers.wirecodec, ["ws", "connect"] + arguments, stdin: Data(input.utf8), environment: env, timeout: 60)
    }

    /// The connection the server saw.
    static func opened(_ server: PeerProcess) throws -> [String: Any] {
        try #require(server.waitFor { $0["event"] as? String == "open" }, "no connection: \(server.output)")
    }

    @Test(arguments: [false, true])
    func echoOverPlainTCP(deflate: Bool) throws {
        let server = try Self.server(deflate ? ["--deflate"] : [])
        defer { server.stop() }
        let port = try server.port()
        let result = try Self.connect(["ws://127.0.0.1:\(port)/echo"] + (deflate ? ["--deflate"] : []))
        #expect(result.status == 0, "\(result.stderr)")
        #expect(decodedMessages(result.text) == Self.echoes + ["close:1000:"])
        let open = try Self.opened(server)
        let headers = try #require(open["headers"] as? [String: String])
        #expect(open["path"] as? String == "/echo")
        #expect(headers["host"] == "127.0.0.1:\(port)")
        if deflate {
            #expect(headers["sec-websocket-extensions"] == "permessage-deflate; client_max_window_bits")
            #expect((open["extensions"] as? String)?.hasPrefix("permessage-deflate") == true)
        } else {
            #expect(headers["sec-websocket-extensions"] == nil && open["extensions"] is NSNull)
        }
        let closed = try #require(server.waitFor { $0["event"] as? String == "closed" })
        #expect(closed["code"] as? Int == 1000)
    }

    /// Binary, ping and the server's own close (4001) come out as `ws decode` lines; a clean
    /// close by the server is exit 0.
    @Test func controlFramesAndTheServersClose() throws {
        let server = try Self.server(["--deflate"])
        defer { server.stop() }
        let port = try server.port()
        let result = try Self.connect(["ws://127.0.0.1:\(port)/", "--deflate"], input: "cmd:binary\ncmd:ping\ncmd:close\n")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(decodedMessages(result.text) == [
            "text:cmd:binary", "binary:000102ff", "text:cmd:ping", "ping:7069", "text:cmd:close", "close:4001:bye",
        ])
    }

    @Test func headersAndSubprotocols() throws {
        let server = try Self.server(["--subprotocol", "chat.v2"])
        defer { server.stop() }
        let port = try server.port()
        let result = try Self.connect([
            "ws://localhost:\(port)/sub?x=1", "--header", "Authorization: Bearer abc", "--header", "X-Trace:  t-1 ",
            "--subprotocol", "chat.v3", "--subprotocol", "chat.v2",
        ], input: "hi\n")
        #expect(result.status == 0, "\(result.stderr)")
        let open = try Self.opened(server)
        let headers = try #require(open["headers"] as? [String: String])
        #expect(headers["authorization"] == "Bearer abc" && headers["x-trace"] == "t-1")
        #expect(headers["sec-websocket-protocol"] == "chat.v3, chat.v2")
        #expect(open["subprotocol"] as? String == "chat.v2")
        #expect(open["path"] as? String == "/sub?x=1")
        #expect(headers["host"] == "localhost:\(port)")
    }

    /// Failures before a WebSocket exists: exit 1 and one line on stderr.
    @Test func failuresAreOneLine() throws {
        let refused = try Self.connect(["ws://127.0.0.1:\(try TinyproxyProcess.freePort())/"], input: "")
        #expect(refused.status == 1)
        #expect(refused.stderr.hasPrefix("wirecodec: ") && refused.stderr.split(separator: "\n").count == 1, "\(refused.stderr)")
        #expect(refused.text.isEmpty)
        let badURL = try Self.connect(["http//nope"], input: "")
        #expect(badURL.status != 0)
        // A server that is not a WebSocket server: the handshake is rejected.
        let python = try #require(ClientPeers.python)
        let http = try PeerProcess(python, [ClientPeers.scripts.appendingPathComponent("sse_server.py").path])
        defer { http.stop() }
        let rejected = try Self.connect(["ws://127.0.0.1:\(try http.port())/status/404"], input: "")
        #expect(rejected.status == 1)
        #expect(rejected.stderr.contains("rejected") && rejected.stderr.split(separator: "\n").count == 1, "\(rejected.stderr)")
    }

    // MARK: wss:// (TLS with a test CA made by openssl)

    /// wss:// with the test CA: SNI and the certificate's name checked (localhost, and the
    /// 127.0.0.1 address), permessage-deflate on and off.
    @Test(.peer(ClientPeers.openssl != nil, "openssl"), arguments: [false, true])
    func echoOverTLS(deflate: Bool) throws {
        let certs = try ClientPeers.requireCertificates()
        let server = try Self.server(["--cert", certs.cert, "--key", certs.key] + (deflate ? ["--deflate"] : []))
        defer { server.stop() }
        let port = try server.port()
        for host in ["localhost", "127.0.0.1"] {
            let result = try Self.connect(["wss://\(host):\(port)/secure", "--ca-cert", certs.ca] + (deflate ? ["--deflate"] : []))
            #expect(result.status == 0, "\(host): \(result.stderr)")
            #expect(decodedMessages(result.text) == Self.echoes + ["close:1000:"])
        }
        let open = try Self.opened(server)
        #expect((open["extensions"] as? String ?? "").hasPrefix("permessage-deflate") == deflate)
    }

    /// Verification is on: without the CA (the system's roots only), or under a name the
    /// certificate does not carry, the connection fails with one line and exit 1.
    @Test(.peer(ClientPeers.openssl != nil, "openssl"))
    func tlsVerificationIsOn() throws {
        let certs = try ClientPeers.requireCertificates()
        let server = try Self.server(["--host", "127.0.0.2", "--cert", certs.cert, "--key", certs.key])
        defer { server.stop() }
        let port = try server.port()
        let loopback = try Self.server(["--cert", certs.cert, "--key", certs.key])
        defer { loopback.stop() }
        let loopbackPort = try loopback.port()
        let withoutCA = try Self.connect(["wss://localhost:\(loopbackPort)/"], input: "x\n")
        #expect(withoutCA.status == 1 && withoutCA.text.isEmpty)
        #expect(withoutCA.stderr == "wirecodec: TLS handshake failed: CERTIFICATE_VERIFY_FAILED\n", "\(withoutCA.stderr)")
        // 127.0.0.2 is not among the certificate's names (localhost, 127.0.0.1).
        let wrongName = try Self.connect(["wss://127.0.0.2:\(port)/", "--ca-cert", certs.ca], input: "x\n")
        #expect(wrongName.status == 1 && wrongName.text.isEmpty)
        #expect(wrongName.stderr.hasPrefix("wirecodec: TLS") && wrongName.stderr.split(separator: "\n").count == 1, "\(wrongName.stderr)")
        #expect(server.objects.filter { $0["event"] as? String == "open" }.isEmpty)
    }

    // MARK: Through tinyproxy (CONNECT)

    static func proxy(basicAuth: (String, String)? = nil) throws -> TinyproxyProcess {
        _ = try #require(ClientPeers.tinyproxy, "tinyproxy (Tests/Scripts/setup-tests.sh)")
        return try TinyproxyProcess(basicAuth: basicAuth)
    }

    @Test(.peer(ClientPeers.tinyproxy != nil, "tinyproxy"), arguments: [false, true])
    func throughTinyproxy(deflate: Bool) throws {
        let server = try Self.server(deflate ? ["--deflate"] : [])
        let proxy = try Self.proxy()
        defer { server.stop(); proxy.stop() }
        let port = try server.port()
        let result = try Self.connect(["ws://127.0.0.1:\(port)/tunnel", "--proxy", proxy.url] + (deflate ? ["--deflate"] : []))
        #expect(result.status == 0, "\(result.stderr)")
        #expect(decodedMessages(result.text) == Self.echoes + ["close:1000:"])
        #expect(proxy.log.contains("CONNECT"), "tinyproxy saw no CONNECT: \(proxy.log)")
    }

    /// wss:// through the proxy: TLS inside the CONNECT tunnel, the name checked against the
    /// origin, not the proxy.
    @Test(.peer(ClientPeers.tinyproxy != nil && ClientPeers.openssl != nil, "tinyproxy and openssl"))
    func tlsThroughTinyproxy() throws {
        let certs = try ClientPeers.requireCertificates()
        let server = try Self.server(["--cert", certs.cert, "--key", certs.key, "--deflate"])
        let proxy = try Self.proxy()
        defer { server.stop(); proxy.stop() }
        let port = try server.port()
        // 127.0.0.1: tinyproxy resolves localhost to ::1 only, where the peer does not listen.
        let result = try Self.connect(["wss://127.0.0.1:\(port)/tunnel", "--ca-cert", certs.ca, "--deflate"], environment: ["wss_proxy": proxy.url])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(decodedMessages(result.text) == Self.echoes + ["close:1000:"])
        #expect(proxy.log.contains("CONNECT"), "\(proxy.log)")
    }

    /// curl's rules: `ws://` takes `ws_proxy`, then `http_proxy`; `no_proxy` excludes.
    @Test(.peer(ClientPeers.tinyproxy != nil, "tinyproxy"))
    func proxyFromTheEnvironment() throws {
        let server = try Self.server()
        let proxy = try Self.proxy()
        defer { server.stop(); proxy.stop() }
        let port = try server.port()
        let viaEnvironment = try Self.connect(["ws://127.0.0.1:\(port)/env"], input: "x\n", environment: ["http_proxy": proxy.url])
        #expect(viaEnvironment.status == 0, "\(viaEnvironment.stderr)")
        let tunnels = proxy.log.components(separatedBy: "CONNECT").count - 1
        #expect(tunnels >= 1)
        let excluded = try Self.connect(
            ["ws://127.0.0.1:\(port)/direct"], input: "x\n", environment: ["http_proxy": proxy.url, "no_proxy": "127.0.0.0/8"])
        #expect(excluded.status == 0, "\(excluded.stderr)")
        #expect(proxy.log.components(separatedBy: "CONNECT").count - 1 == tunnels)
    }

    /// A 407 is reported with its challenge; Basic credentials in the proxy URL (percent-decoded)
    /// are accepted.
    @Test(.peer(ClientPeers.tinyproxy != nil, "tinyproxy"))
    func proxyAuthentication() throws {
        let server = try Self.server()
        let proxy = try Self.proxy(basicAuth: ("alice", "open-sesame"))
        defer { server.stop(); proxy.stop() }
        let port = try server.port()
        let refused = try Self.connect(["ws://127.0.0.1:\(port)/", "--proxy", proxy.url], input: "x\n")
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("proxy-authentication-required: 407"), "\(refused.stderr)")
        #expect(refused.stderr.contains("Proxy-Authenticate: Basic realm=\"Tinyproxy\""), "\(refused.stderr)")
        #expect(refused.stderr.split(separator: "\n").count == 1)
        let accepted = try Self.connect(["ws://127.0.0.1:\(port)/auth", "--proxy", "http://alice:open%2Dsesame@127.0.0.1:\(proxy.port)"], input: "x\n")
        #expect(accepted.status == 0, "\(accepted.stderr)")
        #expect(decodedMessages(accepted.text) == ["text:x", "close:1000:"])
    }
}
