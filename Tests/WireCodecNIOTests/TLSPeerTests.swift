import Foundation
import Testing

/// Both example servers with `--tls-cert`/`--tls-key` (TLS through swift-nio-ssl, one port
/// for https:// and wss://) against peers nobody here wrote: Python `websockets` with an `ssl`
/// context that trusts only the test CA and checks the host name, headless Chromium (told to
/// accept exactly the test certificate's key), curl with `--cacert`, and the `openssl` client
/// for the protocol versions. The CA and certificate are made at test time by
/// `Tests/Scripts/make-test-cert.sh`.
@Suite(.serialized) struct TLSPeerTests {
    static let python = Paths.which("python3")
    static let chromium = Paths.which("chromium")
    static let curl = Paths.which("curl")
    static let conformance = Paths.root.appendingPathComponent("Tests/Conformance")

    static var pythonHasWebsockets: Bool {
        guard let python else { return false }
        return (try? runProcess(python, ["-c", "import websockets, ssl"], timeout: 30).status) == 0
    }

    static func json(_ result: ProcessResult) throws -> [String: Any] {
        let line = result.text.split(separator: "\n").last.map(String.init) ?? ""
        return try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(result.text) \(result.stderr)")
    }

    // MARK: Python websockets

    /// The echo server over wss://: every message up to 1 MiB comes back, with and without
    /// permessage-deflate, and the client's close code is echoed.
    @Test(arguments: ["none", "default"])
    func pythonWebsocketsEchoOverTLS(deflate: String) throws {
        guard let certificate = TestCertificate.require(),
              requirePeer(Self.pythonHasWebsockets, "python3 with websockets"), let python = Self.python
        else { return }
        let server = try EchoServerProcess(certificate.serverArguments)
        let script = Self.conformance.appendingPathComponent("websockets_client.py").path
        let result = try runProcess(python, [
            script, "\(server.wssURL)/tls", "--cafile", certificate.ca, "--deflate", deflate, "--close-code", "4123",
        ], timeout: 90)
        #expect(result.status == 0, "\(result.text) \(result.stderr)")
        let report = try Self.json(result)
        #expect(report["ok"] as? Bool == true)
        #expect(report["echoes"] as? Int == 9, "up to 1 MiB, text and binary")
        #expect(report["extensions"] as? String == (deflate == "none" ? nil : "permessage-deflate"))
        let close = report["close"] as? [String: Any]
        #expect(close?["received"] as? Int == 4123, "the close code is echoed")
        let tls = report["tls"] as? [String: Any]
        #expect(["TLSv1.2", "TLSv1.3"].contains(tls?["version"] as? String ?? ""))
        #expect(server.stop() == 0)
    }

    /// The feed server over wss:// (items published over https://, 60 KiB the largest), with
    /// and without permessage-deflate; the close code is echoed.
    @Test(arguments: ["on", "off"])
    func pythonWebsocketsReceiveTheFeedOverTLS(deflate: String) throws {
        guard let certificate = TestCertificate.require(),
              requirePeer(Self.pythonHasWebsockets, "python3 with websockets"), let python = Self.python
        else { return }
        let server = try EchoServerProcess(certificate.serverArguments, executable: "wirecodec-feed-server")
        let script = Self.conformance.appendingPathComponent("feed/feed_wss_client.py").path
        let result = try runProcess(python, [
            script, "\(server.httpsURL)/", "--cafile", certificate.ca, "--deflate", deflate, "--close-code", "4002",
        ], timeout: 90)
        #expect(result.status == 0, "\(result.text) \(result.stderr)")
        let report = try Self.json(result)
        #expect(report["ok"] as? Bool == true)
        #expect(report["received"] as? Int == 6)
        // The feed answers server_no_context_takeover (one compression for every subscriber).
        let extensions = report["extensions"] as? String
        #expect(deflate == "off" ? extensions == nil : extensions == "permessage-deflate; server_no_context_takeover", "\(String(describing: extensions))")
        #expect((report["close"] as? [String: Any])?["received"] as? Int == 4002)
        #expect(server.stop() == 0)
    }

    /// The client's own check of the certificate is what makes TLS worth having: a client
    /// that does not trust the test CA, or asks for another name, is refused the handshake.
    @Test func untrustedOrMisnamedCertificateIsRefusedByTheClient() throws {
        guard let certificate = TestCertificate.require(),
              requirePeer(Self.pythonHasWebsockets, "python3 with websockets"), let python = Self.python
        else { return }
        let server = try EchoServerProcess(certificate.serverArguments)
        let probe = """
            import asyncio, ssl, sys
            from websockets.asyncio.client import connect
            async def main(url, cafile, name):
                context = ssl.create_default_context(cafile=cafile) if cafile != "-" else ssl.create_default_context()
                try:
                    async with connect(url, ssl=context, server_hostname=name):
                        print("connected")
                except ssl.SSLCertVerificationError as e:
                    print("refused:", e.verify_message)
            asyncio.run(main(*sys.argv[1:]))
            """
        let system = try runProcess(python, ["-c", probe, "\(server.wssURL)/", "-", "localhost"], timeout: 30)
        #expect(system.text.hasPrefix("refused:"), "\(system.text) \(system.stderr)")
        let misnamed = try runProcess(python, ["-c", probe, "\(server.wssURL)/", certificate.ca, "wrong.example"], timeout: 30)
        #expect(misnamed.text.hasPrefix("refused:"), "\(misnamed.text) \(misnamed.stderr)")
        let trusted = try runProcess(python, ["-c", probe, "\(server.wssURL)/", certificate.ca, "localhost"], timeout: 30)
        #expect(trusted.text == "connected\n", "\(trusted.text) \(trusted.stderr)")
        #expect(server.stop() == 0)
    }

    // MARK: Chromium

    /// Headless Chromium loads the echo page over https:// and echoes text and binary up to
    /// 1 MiB over wss:// with permessage-deflate, then closes with 4001.
    @Test func chromiumEchoesOverHTTPSAndWSS() throws {
        guard let certificate = TestCertificate.require(),
              requirePeer(Self.chromium != nil && Self.pythonHasWebsockets, "chromium and python3 with websockets"),
              let python = Self.python, let chromium = Self.chromium
        else { return }
        let server = try EchoServerProcess(certificate.serverArguments)
        let script = Self.conformance.appendingPathComponent("chromium/run_chromium.py").path
        let result = try runProcess(
            python, [script, "\(server.httpsURL)/", "--chromium", chromium, "--spki", certificate.spki], timeout: 150)
        #expect(server.stop() == 0)
        let report = try Self.json(result)
        #expect(report["page"] as? String == "https: secure", "the page was loaded over TLS")
        let page = report["result"] as? [String: Any]
        #expect(page?["ok"] as? Bool == true, "\(result.text)")
        #expect(page?["extensions"] as? String == "permessage-deflate")
        let messages = page?["messages"] as? [[String: Any]] ?? []
        #expect(messages.count == 14 && messages.allSatisfy { $0["ok"] as? Bool == true })
        #expect(messages.contains { $0["kind"] as? String == "text" && $0["size"] as? Int == 1 << 20 })
        #expect(messages.contains { $0["kind"] as? String == "binary" && $0["size"] as? Int == 1 << 20 })
        let close = page?["close"] as? [String: Any]
        #expect(close?["code"] as? Int == 4001)
        #expect(close?["wasClean"] as? Bool == true)
    }

    /// The feed page over https:// with HTTP/1.1 (`--no-http2`; over h2: HTTP2FeedTests):
    /// short polling, long polling, EventSource, a wss:// WebSocket and the "best available"
    /// column each receive the five published items, in order.
    @Test func chromiumFeedPageShowsAllFourTechniquesOverHTTPS() throws {
        guard let certificate = TestCertificate.require(),
              requirePeer(Self.chromium != nil && Self.pythonHasWebsockets, "chromium and python3 with websockets"),
              let python = Self.python, let chromium = Self.chromium
        else { return }
        let server = try EchoServerProcess(certificate.serverArguments + ["--no-http2"], executable: "wirecodec-feed-server")
        let script = Self.conformance.appendingPathComponent("chromium/run_chromium.py").path
        let result = try runProcess(
            python, [script, "\(server.httpsURL)/?test=5", "--chromium", chromium, "--spki", certificate.spki], timeout: 150)
        #expect(server.stop() == 0)
        let report = try Self.json(result)
        #expect(report["page"] as? String == "https: secure")
        let page = report["result"] as? [String: Any]
        #expect(page?["ok"] as? Bool == true, "\(result.text)")
        let published = page?["published"] as? [Int] ?? []
        #expect(published.count == 5)
        let seen = page?["seen"] as? [String: [Int]] ?? [:]
        #expect(Set(seen.keys) == ["poll", "long-poll", "sse", "ws", "auto"])
        for (technique, ids) in seen { #expect(ids == published, "\(technique)") }
    }

    // MARK: curl

    /// curl over https:// (`--cacert`, `--http1.1`: the server also offers h2, see
    /// HTTP2ServerPeerTests): keep-alive reuses one TLS connection, a chunked response arrives
    /// whole, ALPN settles on http/1.1.
    @Test func curlKeepAliveAndChunkedOverHTTPS() throws {
        guard let certificate = TestCertificate.require(), requirePeer(Self.curl != nil, "curl"), let curl = Self.curl
        else { return }
        let server = try EchoServerProcess(certificate.serverArguments)
        let result = try runProcess(curl, [
            "-s", "-v", "--http1.1", "--cacert", certificate.ca, "-w", "|%{http_code} %{num_connects} %{http_version}\n",
            "\(server.httpsURL)/chunked?n=3", "\(server.httpsURL)/nope", "\(server.httpsURL)/chunked?n=1",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.text == "chunk 0\nchunk 1\nchunk 2\n|200 1 1.1\nnot found\n|404 0 1.1\nchunk 0\n|200 0 1.1\n")
        #expect(result.stderr.contains("ALPN: server accepted http/1.1"), "\(result.stderr)")
        #expect(result.stderr.contains("< Transfer-Encoding: chunked"))
        #expect(server.stop() == 0)
    }

    /// curl over https:// (HTTP/1.1) against the feed: a long poll held and then answered, one
    /// timing out with 204, and a Server-Sent Events stream with the items after the cursor.
    @Test func curlLongPollingAndServerSentEventsOverHTTPS() throws {
        guard let certificate = TestCertificate.require(), requirePeer(Self.curl != nil, "curl"), let curl = Self.curl
        else { return }
        let server = try EchoServerProcess(certificate.serverArguments, executable: "wirecodec-feed-server")
        let base = server.httpsURL
        // Held, then answered by a publish from a second curl.
        let group = DispatchGroup()
        let held = LockedData()
        group.enter()
        DispatchQueue.global().async {
            let result = try? runProcess(curl, [
                "-s", "--http1.1", "--cacert", certificate.ca, "-w", "|%{http_code}", "\(base)/long-poll?since=0&timeout=10000",
            ])
            held.set(result?.stdout ?? Data())
            group.leave()
        }
        Thread.sleep(forTimeInterval: 1)
        let publish = try runProcess(curl, ["-s", "--cacert", certificate.ca, "--data-binary", "over tls", "\(base)/publish"])
        #expect(publish.text == #"{"id":1}"#)
        #expect(group.wait(timeout: .now() + 15) == .success)
        #expect(String(decoding: held.get(), as: UTF8.self) == #"{"items":[{"id":1,"data":"over tls"}],"next":1}|200"#)
        // Timing out: 204 with the cursor.
        let timedOut = try runProcess(curl, [
            "-s", "--http1.1", "-D", "-", "--cacert", certificate.ca, "\(base)/long-poll?since=1&timeout=300",
        ])
        #expect(timedOut.text.hasPrefix("HTTP/1.1 204 No Content\r\n"), "\(timedOut.text)")
        #expect(timedOut.text.contains("Feed-Cursor: 1\r\n"))
        // Server-Sent Events: the backlog after the cursor, chunked, until curl stops reading.
        let events = try runProcess(curl, [
            "-s", "--http1.1", "-N", "-D", "-", "--max-time", "2", "--cacert", certificate.ca, "\(base)/events?since=0",
        ])
        #expect(events.text.contains("Content-Type: text/event-stream\r\n"), "\(events.text)")
        #expect(events.text.contains("Transfer-Encoding: chunked\r\n"))
        #expect(events.text.contains("retry: 1000\n"))
        #expect(events.text.contains("id: 1\ndata: over tls\n\n"))
        #expect(server.stop() == 0)
    }

    // MARK: Protocol versions

    /// TLS 1.2 is the minimum: a client limited to TLS 1.1 (allowed on its side with
    /// `@SECLEVEL=0`) is refused; TLS 1.2 and 1.3 are accepted.
    @Test func tlsBelow12IsRefused() throws {
        guard let certificate = TestCertificate.require(), let openssl = TestCertificate.openssl else { return }
        let server = try EchoServerProcess(certificate.serverArguments)
        func handshake(_ version: String) throws -> ProcessResult {
            try runProcess(openssl, [
                "s_client", "-connect", "127.0.0.1:\(server.port)", "-servername", "localhost", version,
                "-cipher", "DEFAULT@SECLEVEL=0", "-CAfile", certificate.ca, "-verify_return_error", "-brief",
            ], stdin: Data("Q\n".utf8), timeout: 30)
        }
        let old = try handshake("-tls1_1")
        // The server's alert 70 (protocol_version), RFC 8446 §6.2.
        #expect(old.status != 0 && old.stderr.contains("alert protocol version"), "TLS 1.1 must fail: \(old.stderr)")
        let tls12 = try handshake("-tls1_2")
        #expect(tls12.status == 0 && tls12.stderr.contains("Protocol version: TLSv1.2"), "\(tls12.stderr)")
        let tls13 = try handshake("-tls1_3")
        #expect(tls13.status == 0 && tls13.stderr.contains("Protocol version: TLSv1.3"), "\(tls13.stderr)")
        #expect(server.stop() == 0)
    }
}
