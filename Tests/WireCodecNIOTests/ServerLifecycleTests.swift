import Foundation
import Testing

/// The example servers' HTTP timeouts and graceful shutdown, measured end to end from the
/// clients' side of the socket by Python scripts (asyncio, `websockets`):
/// `Tests/Conformance/timeouts/check_timeouts.py` and `Tests/Conformance/shutdown/check_shutdown.py`.
@Suite(.serialized) struct ServerLifecycleTests {
    static let python = Paths.which("python3")
    static let conformance = Paths.root.appendingPathComponent("Tests/Conformance")

    static var pythonHasWebsockets: Bool {
        guard let python else { return false }
        return (try? runProcess(python, ["-c", "import websockets"], timeout: 30).status) == 0
    }

    static func checks(_ result: ProcessResult) throws -> [[String: Any]] {
        try result.text.split(separator: "\n").map {
            try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], "\(result.text) \(result.stderr)")
        }
    }

    static let timeoutFlags = ["--request-head-timeout-ms", "2000", "--keep-alive-timeout-ms", "3000"]

    // MARK: Timeouts

    /// A slow client (one byte of a request head a second) gets 408 and is closed two
    /// seconds after its first byte; an idle keep-alive connection and a silent new one are
    /// closed after three. (Thousands of them at once: the test command's `--crowd` step, run
    /// alone, since timing 2,000 connections needs the machine to itself.)
    @Test func slowAndIdleClientsAreClosedAtTheirDeadlines() throws {
        guard requirePeer(Self.python != nil, "python3"), let python = Self.python else { return }
        let server = try EchoServerProcess(Self.timeoutFlags)
        let script = Self.conformance.appendingPathComponent("timeouts/check_timeouts.py").path
        let result = try runProcess(python, [
            script, "\(server.httpURL)/", "--head-timeout-ms", "2000", "--keep-alive-timeout-ms", "3000",
        ], timeout: 120)
        let checks = try Self.checks(result)
        #expect(Set(checks.compactMap { $0["check"] as? String }) == ["slow-head", "idle-keep-alive", "idle-new"])
        for check in checks { #expect(check["ok"] as? Bool == true, "\(check)") }
        #expect(result.status == 0)
        #expect(server.stop() == 0)
    }

    /// The same deadlines inside TLS, on the feed server, where a long poll held past the
    /// keep-alive timeout is answered by the application, not closed as idle; a TLS handshake
    /// begun and left is closed at the idle deadline.
    @Test func deadlinesHoldOverTLSAndALongPollIsNotIdle() throws {
        guard let certificate = TestCertificate.require(), requirePeer(Self.python != nil, "python3"), let python = Self.python
        else { return }
        let server = try EchoServerProcess(certificate.serverArguments + Self.timeoutFlags, executable: "wirecodec-feed-server")
        let script = Self.conformance.appendingPathComponent("timeouts/check_timeouts.py").path
        let result = try runProcess(python, [
            script, "\(server.httpsURL)/", "--head-timeout-ms", "2000", "--keep-alive-timeout-ms", "3000",
            "--cafile", certificate.ca, "--long-poll",
        ], timeout: 120)
        let checks = try Self.checks(result)
        #expect(Set(checks.compactMap { $0["check"] as? String }) == ["slow-head", "idle-keep-alive", "idle-new", "long-poll-held", "tls-stalled"])
        for check in checks { #expect(check["ok"] as? Bool == true, "\(check)") }
        #expect(server.stop() == 0)
    }

    // MARK: Graceful shutdown

    /// SIGTERM to the feed server with two WebSockets, two event streams, two held long polls
    /// and an idle keep-alive connection open: the WebSockets get 1001 and a clean closing
    /// handshake, the streams end with the chunked body's last chunk after whole events, the
    /// long polls are answered (204, Connection: close), the idle connection is closed, new
    /// connections are refused, and the server exits 0.
    @Test(arguments: [false, true])
    func feedServerShutsDownGracefully(tls: Bool) throws {
        guard requirePeer(Self.pythonHasWebsockets, "python3 with websockets"), let python = Self.python else { return }
        var certificate: TestCertificate?
        if tls {
            certificate = TestCertificate.require()
            guard certificate != nil else { return }
        }
        let server = try EchoServerProcess(certificate?.serverArguments ?? [], executable: "wirecodec-feed-server")
        let script = Self.conformance.appendingPathComponent("shutdown/check_shutdown.py").path
        var arguments = [script, "feed", tls ? "\(server.httpsURL)/" : "\(server.httpURL)/", "--pid", "\(server.process.processIdentifier)"]
        if let certificate { arguments += ["--cafile", certificate.ca] }
        let result = try runProcess(python, arguments, timeout: 90)
        let status = server.waitForExit(timeout: 10)
        let checks = try Self.checks(result)
        #expect(checks.count == 8, "\(result.text) \(result.stderr)")
        for check in checks { #expect(check["ok"] as? Bool == true, "\(check)") }
        #expect(status == 0, "the server exits 0 after the shutdown")
        _ = server.stop()
    }

    /// SIGTERM to the echo server while a response streams (10 chunks, 300 ms apart) and a
    /// WebSocket client sends without pause: the response arrives whole, the WebSocket gets
    /// only whole echoes and then 1001, and the server exits 0.
    @Test(arguments: [false, true])
    func echoServerFinishesWhatIsInFlight(tls: Bool) throws {
        guard requirePeer(Self.pythonHasWebsockets, "python3 with websockets"), let python = Self.python else { return }
        var certificate: TestCertificate?
        if tls {
            certificate = TestCertificate.require()
            guard certificate != nil else { return }
        }
        let server = try EchoServerProcess(certificate?.serverArguments ?? [])
        let script = Self.conformance.appendingPathComponent("shutdown/check_shutdown.py").path
        var arguments = [script, "echo", tls ? "\(server.httpsURL)/" : "\(server.httpURL)/", "--pid", "\(server.process.processIdentifier)"]
        if let certificate { arguments += ["--cafile", certificate.ca] }
        let result = try runProcess(python, arguments, timeout: 90)
        let status = server.waitForExit(timeout: 10)
        let checks = try Self.checks(result)
        #expect(checks.count == 2, "\(result.text) \(result.stderr)")
        for check in checks { #expect(check["ok"] as? Bool == true, "\(check)") }
        #expect(status == 0)
        _ = server.stop()
    }
}
