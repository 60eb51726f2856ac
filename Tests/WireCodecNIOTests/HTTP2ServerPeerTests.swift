import Foundation
import Testing

/// The echo server over TLS with ALPN `h2` and `http/1.1` on one port, against peers nobody
/// here wrote: headless Chromium (the page over HTTP/2, its WebSocket by extended CONNECT on
/// the same connection, RFC 8441), Python `h2` + `wsproto` as an RFC 8441 client, and curl
/// `--http2` for plain requests.
@Suite(.serialized) struct HTTP2ServerPeerTests {
    static let chromium = Paths.which("chromium")
    static let curl = Paths.which("curl")

    static var pythonHasWebsockets: Bool {
        guard let python = PythonPeerProcess.python else { return false }
        return (try? runProcess(python, ["-c", "import websockets"], timeout: 30).status) == 0
    }

    /// Chromium loads the page over https (HTTP/2) and runs it: text and binary messages up to
    /// 1 MiB echoed, permessage-deflate, close 4001 with a non-ASCII reason. The proof that the
    /// WebSocket went over HTTP/2 comes from both ends: DevTools says the page came over `h2`
    /// and the WebSocket's handshake was answered 200 (an HTTP/1.1 upgrade is answered 101);
    /// the server saw the page's GET and an extended CONNECT (`:protocol websocket`) from the
    /// same client address and port, i.e. on the same connection.
    @Test func chromiumOpensItsWebSocketOverTheHTTP2ConnectionOfThePage() throws {
        guard requirePeer(Self.chromium != nil && Self.pythonHasWebsockets && TestCertificates.opensslAvailable,
            "chromium, openssl and python3 with websockets"),
            let python = PythonPeerProcess.python, let chromium = Self.chromium
        else { return }
        let certificates = try TestCertificates.make()
        defer { certificates.remove() }
        let server = try LoggingServerProcess(
            "wirecodec-echo-server", ["--tls-cert", certificates.chain, "--tls-key", certificates.key, "--log-requests"])
        defer { server.stop() }
        let script = Paths.root.appendingPathComponent("Tests/Conformance/chromium/run_chromium.py").path
        let result = try runProcess(
            python, [script, "https://localhost:\(server.port)/", "--chromium", chromium, "--spki", certificates.spki, "--network"],
            timeout: 150)
        let report = try #require(try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any], "\(result.text) \(result.stderr)")
        let page = try #require(report["result"] as? [String: Any], "\(report)")
        #expect(page["ok"] as? Bool == true, "\(page)")
        #expect((page["extensions"] as? String)?.hasPrefix("permessage-deflate") == true)
        let close = try #require(page["close"] as? [String: Any])
        #expect(close["code"] as? Int == 4001)
        #expect(report["page"] as? String == "https: secure")

        // What Chromium says.
        let network = try #require(report["network"] as? [String: Any])
        let responses = try #require(network["responses"] as? [[String: Any]])
        let pageResponse = try #require(responses.first { ($0["url"] as? String) == "https://localhost:\(server.port)/" })
        #expect(pageResponse["protocol"] as? String == "h2")
        let sockets = try #require(network["webSockets"] as? [[String: Any]])
        #expect(sockets.count == 1)
        #expect(sockets.first?["status"] as? Int == 200, "an HTTP/1.1 upgrade is answered 101: \(sockets)")

        // What the server saw.
        let records = server.records
        let get = try #require(records.first { $0["event"] as? String == "request" && $0["path"] as? String == "/" })
        let connect = try #require(records.first { $0["event"] as? String == "websocket" })
        #expect(get["http"] as? String == "h2")
        #expect(connect["http"] as? String == "h2" && connect["method"] as? String == "CONNECT")
        #expect(connect["protocol"] as? String == "websocket")
        #expect(connect["remote"] as? String == get["remote"] as? String, "the page's connection")
        let closed = try #require(records.first { $0["event"] as? String == "websocket-closed" })
        #expect(closed["code"] as? String == "4001" && closed["reason"] as? String == "done ✓")
        #expect((closed["deflate"] as? String)?.hasPrefix("permessage-deflate") == true)
    }

    /// Python `h2` + `wsproto` as the RFC 8441 client: SETTINGS_ENABLE_CONNECT_PROTOCOL seen,
    /// three WebSockets at once on one connection, every message of its plan (to 1 MiB) echoed
    /// on each, each closed with its own code and both ends' END_STREAM; refusals: version 8
    /// gets 400 with `sec-websocket-version: 13`, `:protocol foo` 501, an `upgrade` field a
    /// stream error from the HTTP/2 layer.
    @Test(arguments: [false, true])
    func pythonH2ClientAgainstTheEchoServer(deflate: Bool) throws {
        guard requirePeer(PythonPeerProcess.hasH2Peers && TestCertificates.opensslAvailable, "openssl and python3 with h2 and wsproto"),
            let python = PythonPeerProcess.python
        else { return }
        let certificates = try TestCertificates.make()
        defer { certificates.remove() }
        let server = try LoggingServerProcess(
            "wirecodec-echo-server", ["--tls-cert", certificates.chain, "--tls-key", certificates.key, "--log-requests"])
        defer { server.stop() }
        let result = try runProcess(
            python,
            [PythonPeerProcess.script("h2_ws_client.py"), "https://localhost:\(server.port)/echo", "--cafile", certificates.ca,
             "--streams", "3", "--check-refusals", "--origin", "https://localhost:\(server.port)"] + (deflate ? ["--deflate"] : []),
            timeout: 120)
        let report = try #require(try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any], "\(result.text) \(result.stderr)")
        #expect(report["ok"] as? Bool == true, "\(report)")
        #expect(report["enable_connect_protocol"] as? Int == 1)
        let streams = try #require(report["streams"] as? [[String: Any]])
        #expect(streams.count == 3)
        for stream in streams {
            #expect(stream["status"] as? Int == 200)
            #expect((stream["extension"] as? String)?.hasPrefix("permessage-deflate") == (deflate ? true : nil))
            #expect(stream["end_stream"] as? Bool == true)
        }
        let opened = server.records.filter { $0["event"] as? String == "websocket" }
        #expect(Set(opened.compactMap { $0["remote"] as? String }).count == 1, "one connection")
        #expect(opened.allSatisfy { $0["http"] as? String == "h2" })
    }

    /// curl `--http2` on the same port: the page, a streamed echo of a request body, a chunked
    /// response (a stream of DATA frames over HTTP/2), HEAD, 404; and `--http1.1` still works.
    @Test func curlRequestsOverHTTP2AndHTTP1OnOnePort() throws {
        guard requirePeer(Self.curl != nil && TestCertificates.opensslAvailable, "curl and openssl"), let curl = Self.curl else { return }
        let certificates = try TestCertificates.make()
        defer { certificates.remove() }
        let server = try LoggingServerProcess(
            "wirecodec-echo-server", ["--tls-cert", certificates.chain, "--tls-key", certificates.key, "--log-requests"])
        defer { server.stop() }
        let base = "https://localhost:\(server.port)"
        func fetch(_ arguments: [String], stdin: Data? = nil) throws -> String {
            let result = try runProcess(curl, ["-s", "--cacert", certificates.ca] + arguments, stdin: stdin, timeout: 60)
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
            return result.text
        }
        #expect(try fetch(["--http2", "-o", "/dev/null", "-w", "%{http_version} %{http_code}", "\(base)/"]) == "2 200")
        let body = String(repeating: "0123456789abcdef", count: 20_000)
        #expect(try fetch(["--http2", "--data-binary", "@-", "-w", "\n%{http_version}", "\(base)/echo"], stdin: Data(body.utf8))
            == body + "\n2")
        #expect(try fetch(["--http2", "-w", "%{http_version}", "\(base)/chunked?n=3"]) == "chunk 0\nchunk 1\nchunk 2\n2")
        let head = try fetch(["--http2", "-I", "\(base)/"])
        #expect(head.hasPrefix("HTTP/2 200") && head.contains("content-length:"))
        #expect(try fetch(["--http2", "-o", "/dev/null", "-w", "%{http_code}", "\(base)/nothing"]) == "404")
        #expect(try fetch(["--http1.1", "-o", "/dev/null", "-w", "%{http_version} %{http_code}", "\(base)/"]) == "1.1 200")
        let versions = server.records.filter { $0["event"] as? String == "request" }.compactMap { $0["http"] as? String }
        #expect(versions == ["h2", "h2", "h2", "h2", "h2", "http/1.1"])
    }
}
