import Foundation
import Testing

/// `wirecodec-feed-server` over TLS with HTTP/2: the same four techniques as over HTTP/1.1,
/// checked with curl `--http2` (polls, a held long poll, Server-Sent Events) and with
/// Chromium running the page over HTTP/2 (its polls, event stream and WebSocket share the
/// page's connection).
@Suite(.serialized) struct HTTP2FeedTests {
    static let curl = Paths.which("curl")

    private func startFeed(_ certificates: TestCertificates) throws -> LoggingServerProcess {
        try LoggingServerProcess(
            "wirecodec-feed-server",
            ["--tls-cert", certificates.chain, "--tls-key", certificates.key, "--long-poll-timeout-ms", "5000",
             "--heartbeat-ms", "200", "--web-socket-ping-ms", "300"])
    }

    @Test func curlPollsLongPollsAndEventStreamsOverHTTP2() throws {
        guard requirePeer(Self.curl != nil && TestCertificates.opensslAvailable, "curl and openssl"), let curl = Self.curl else { return }
        let certificates = try TestCertificates.make()
        defer { certificates.remove() }
        let server = try startFeed(certificates)
        defer { server.stop() }
        let base = "https://localhost:\(server.port)"
        let ca = certificates.ca
        @Sendable func run(_ arguments: [String], timeout: Double = 30) throws -> ProcessResult {
            try runProcess(curl, ["-s", "--http2", "--cacert", ca] + arguments, timeout: timeout)
        }
        // Short poll before anything was published: 204 with the cursor, over HTTP/2.
        let empty = try run(["-D", "-", "-o", "/dev/null", "-w", "%{http_version}", "\(base)/poll?since=0"])
        #expect(empty.text.hasPrefix("HTTP/2 204"), "\(empty.text)")
        #expect(empty.text.lowercased().contains("feed-cursor: 0"))
        #expect(empty.text.hasSuffix("2"))

        // A long poll held open over HTTP/2 until the next item is published (also over HTTP/2).
        let held = Thread.detachNewThreadResult {
            try? run(["-w", "\n%{http_version} %{http_code}", "\(base)/long-poll?since=0"], timeout: 30)
        }
        Thread.sleep(forTimeInterval: 0.5)
        let published = try run(["-w", "\n%{http_version}", "--data-binary", "first item", "\(base)/publish"])
        #expect(published.text == "{\"id\":1}\n2", "\(published.text)")
        let longPoll = try #require(held.wait())
        #expect(longPoll.text.contains("\"id\":1") && longPoll.text.contains("first item"), "\(longPoll.text)")
        #expect(longPoll.text.hasSuffix("\n2 200"), "\(longPoll.text)")

        // A short poll now has the item.
        let poll = try run(["-w", "\n%{http_version} %{http_code}", "\(base)/poll?since=0"])
        #expect(poll.text.contains("first item") && poll.text.hasSuffix("\n2 200"), "\(poll.text)")

        // Server-Sent Events over HTTP/2: the backlog, then a live item, then heartbeats.
        // The item is published once the server has the stream (a fixed 1 s wait left a loaded
        // machine too little of curl's window); the window itself (--max-time) bounds the
        // stream, which never ends on its own, and leaves seconds for one publish.
        let events = Thread.detachNewThreadResult {
            try? run(["-N", "-v", "--max-time", "6", "\(base)/events?since=0"], timeout: 30)
        }
        try waitUntil(timeout: 30) { try run(["\(base)/stats"]).text.contains(#""event_streams":1,"#) }
        _ = try run(["--data-binary", "second item", "\(base)/publish"])
        let stream = try #require(events.wait())
        #expect(stream.stderr.contains("< HTTP/2 200"), "\(stream.stderr)")
        #expect(stream.stderr.lowercased().contains("< content-type: text/event-stream"))
        #expect(stream.text.contains("id: 1\n") && stream.text.contains("id: 2\n"), "\(stream.text)")
        #expect(stream.text.contains("first item") && stream.text.contains("second item"))
        #expect(stream.text.contains(":"), "heartbeat comments")
    }

    /// Chromium loads the feed page over HTTP/2 and runs its self-test: short polling, long
    /// polling, EventSource, a WebSocket and the "best available" column (a WebSocket too) at
    /// once, five items published, each technique receiving exactly those in order. DevTools says every one of them went over `h2`.
    @Test func chromiumRunsTheFeedPageOverHTTP2() throws {
        guard requirePeer(HTTP2ServerPeerTests.chromium != nil && HTTP2ServerPeerTests.pythonHasWebsockets
            && TestCertificates.opensslAvailable, "chromium, openssl and python3 with websockets"),
            let python = PythonPeerProcess.python, let chromium = HTTP2ServerPeerTests.chromium
        else { return }
        let certificates = try TestCertificates.make()
        defer { certificates.remove() }
        let server = try startFeed(certificates)
        defer { server.stop() }
        let script = Paths.root.appendingPathComponent("Tests/Conformance/chromium/run_chromium.py").path
        let result = try runProcess(
            python,
            [script, "https://localhost:\(server.port)/?test=5", "--chromium", chromium, "--spki", certificates.spki, "--network"],
            timeout: 150)
        let report = try #require(try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any], "\(result.text) \(result.stderr)")
        let page = try #require(report["result"] as? [String: Any], "\(report)")
        #expect(page["ok"] as? Bool == true, "\(page)")
        let published = page["published"] as? [Int]
        #expect(published == [1, 2, 3, 4, 5])
        let seen = page["seen"] as? [String: [Int]] ?? [:]
        #expect(Set(seen.keys) == ["poll", "long-poll", "sse", "ws", "auto"])
        for (technique, ids) in seen { #expect(ids == published, "\(technique)") }
        #expect(page["wsExtensions"] as? String == "permessage-deflate; server_no_context_takeover")

        let network = try #require(report["network"] as? [String: Any])
        let responses = try #require(network["responses"] as? [[String: Any]])
        let paths = ["/?test=5", "/poll", "/long-poll", "/events", "/publish"]
        for path in paths {
            let matching = responses.filter { ($0["url"] as? String)?.contains("localhost:\(server.port)\(path)") == true }
            #expect(!matching.isEmpty, "no response for \(path): \(responses)")
            #expect(matching.allSatisfy { $0["protocol"] as? String == "h2" }, "\(path): \(matching)")
        }
        let sockets = try #require(network["webSockets"] as? [[String: Any]])
        #expect(!sockets.isEmpty && sockets.allSatisfy { $0["status"] as? Int == 200 }, "extended CONNECT answered 200: \(sockets)")
    }
}

extension Thread {
    /// Runs `work` on a new thread; `wait()` returns its result.
    static func detachNewThreadResult<T>(_ work: @escaping @Sendable () -> T) -> ThreadResult<T> {
        let box = ThreadResult<T>()
        Thread.detachNewThread {
            box.set(work())
        }
        return box
    }
}

final class ThreadResult<T>: @unchecked Sendable {
    private let condition = NSCondition()
    private var value: T?
    private var done = false

    func set(_ value: T) {
        condition.withLock {
            self.value = value
            done = true
            condition.broadcast()
        }
    }

    func wait() -> T {
        condition.withLock {
            while !done { condition.wait() }
            return value!
        }
    }
}
