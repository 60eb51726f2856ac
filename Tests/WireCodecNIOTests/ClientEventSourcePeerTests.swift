import Foundation
import Testing

/// `wirecodec sse listen` against an event-stream server that misbehaves on purpose
/// (Tests/Conformance/client/sse_server.py, Python's http.server): it drops connections, sends
/// `retry`, answers 204, a wrong type, an error status, a redirect. The server logs every
/// request with its `Last-Event-ID` and a monotonic time, and when each response ended; the
/// reconnection delays are measured between the two.
@Suite(.serialized, .peer(ClientPeers.python != nil, "Python 3"))
struct ClientEventSourcePeerTests {
    static func server() throws -> PeerProcess {
        let python = try #require(ClientPeers.python, "Python 3 (Tests/Scripts/setup-tests.sh)")
        return try PeerProcess(python, [ClientPeers.scripts.appendingPathComponent("sse_server.py").path])
    }

    static func listen(_ arguments: [String], timeout: Double = 60) throws -> ProcessResult {
        try runProcess(ClientPeers.wirecodec, ["sse", "listen"] + arguments, environment: ["http_proxy": "", "all_proxy": "", "ALL_PROXY": ""], timeout: timeout)
    }

    /// The server's log lines for `path`.
    static func log(_ server: PeerProcess, _ event: String, _ path: String) -> [[String: Any]] {
        server.objects.filter { $0["event"] as? String == event && $0["path"] as? String == path }
    }

    /// Milliseconds from the end of response n to request n+1, for each reconnection.
    static func delays(_ server: PeerProcess, _ path: String) -> [Double] {
        let ends = log(server, "end", path)
        let requests = log(server, "request", path)
        return ends.compactMap { end -> Double? in
            guard let n = end["n"] as? Int, let t = end["t"] as? Double,
                let next = requests.first(where: { $0["n"] as? Int == n + 1 }), let t2 = next["t"] as? Double
            else { return nil }
            return (t2 - t) * 1000
        }
    }

    static func events(_ text: String) -> [String] {
        jsonLines(text).map { line in
            switch line["type"] as? String {
            case "event": "\(line["event"] as? String ?? "")|\(line["data"] as? String ?? "")|\(line["id"] as? String ?? "")"
            case "retry": "retry \(line["ms"] as? Int ?? -1)"
            default: "\(line)"
            }
        }
    }

    /// A stream dropped inside its chunked body, with `retry: 300`: the client reconnects after
    /// 300 ms with the last dispatched ID (the partial event with id 999 is discarded).
    @Test func droppedStreamReconnectsWithLastEventIDAfterRetry() throws {
        let server = try Self.server()
        defer { server.stop() }
        let port = try server.port()
        let result = try Self.listen(["http://127.0.0.1:\(port)/stream/drop?retry=300&events=2", "--max-events", "6"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(Self.events(result.text) == [
            "retry 300", "tick|event 1 of connection 1|1", "tick|event 2 of connection 1|2",
            "retry 300", "tick|event 3 of connection 2|3", "tick|event 4 of connection 2|4",
            "retry 300", "tick|event 5 of connection 3|5", "tick|event 6 of connection 3|6",
        ])
        let requests = Self.log(server, "request", "/stream/drop")
        #expect(requests.map { $0["last_event_id"] as? String } == [nil, "2", "4"])
        #expect(requests.allSatisfy { $0["accept"] as? String == "text/event-stream" && $0["cache_control"] as? String == "no-store" })
        let delays = Self.delays(server, "/stream/drop")
        #expect(delays.count == 2)
        for delay in delays { #expect(delay >= 295 && delay < 1300, "reconnected after \(delay) ms, retry 300") }
    }

    /// Without `retry`, the reconnection time is the default 3 s; a read-until-close body ends
    /// at the server's close.
    @Test func defaultReconnectionTime() throws {
        let server = try Self.server()
        defer { server.stop() }
        let port = try server.port()
        let result = try Self.listen(["http://127.0.0.1:\(port)/stream/default?end=close&events=1", "--max-events", "2"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(Self.events(result.text) == ["tick|event 1 of connection 1|1", "tick|event 2 of connection 2|2"])
        let delays = Self.delays(server, "/stream/default")
        #expect(delays.count == 1)
        for delay in delays { #expect(delay >= 2995 && delay < 4000, "reconnected after \(delay) ms, default 3000") }
    }

    /// 204 stops the client: exit 0 after the events of the first connection.
    @Test func noContentStops() throws {
        let server = try Self.server()
        defer { server.stop() }
        let port = try server.port()
        let result = try Self.listen(["http://127.0.0.1:\(port)/stream/stop?then=204&events=2&retry=100&end=chunked-end"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(Self.events(result.text) == ["retry 100", "tick|event 1 of connection 1|1", "tick|event 2 of connection 1|2"])
        let requests = Self.log(server, "request", "/stream/stop")
        #expect(requests.map { $0["last_event_id"] as? String } == [nil, "2"])
        for delay in Self.delays(server, "/stream/stop").prefix(1) { #expect(delay >= 95 && delay < 1100, "\(delay) ms") }
    }

    /// A status other than 200 or a type other than text/event-stream fails the client: exit 1
    /// with one line, no reconnection.
    @Test func wrongAnswersFail() throws {
        let server = try Self.server()
        defer { server.stop() }
        let port = try server.port()
        let wrongType = try Self.listen(["http://127.0.0.1:\(port)/wrong-type"])
        #expect(wrongType.status == 1 && wrongType.text.isEmpty)
        #expect(wrongType.stderr == "wirecodec: the response's Content-Type is 'text/plain', not text/event-stream\n")
        let status = try Self.listen(["http://127.0.0.1:\(port)/status/503"])
        #expect(status.status == 1)
        #expect(status.stderr == "wirecodec: the server answered 503 Service Unavailable, not 200\n")
        // After a first good connection: the reconnection gets the wrong type, and stops there.
        let later = try Self.listen(["http://127.0.0.1:\(port)/stream/later?then=wrong-type&events=1&retry=50&end=close"])
        #expect(later.status == 1)
        #expect(Self.events(later.text) == ["retry 50", "tick|event 1 of connection 1|1"])
        #expect(Self.log(server, "request", "/stream/later").count == 2)
        #expect(Self.log(server, "request", "/wrong-type").count == 1 && Self.log(server, "request", "/status/503").count == 1)
    }

    @Test func resumesFromAGivenLastEventID() throws {
        let server = try Self.server()
        defer { server.stop() }
        let port = try server.port()
        let result = try Self.listen(["http://127.0.0.1:\(port)/stream/resume?events=2", "--last-event-id", "41", "--max-events", "2"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(Self.events(result.text) == ["tick|event 42 of connection 1|42", "tick|event 43 of connection 1|43"])
        #expect(Self.log(server, "request", "/stream/resume").first?["last_event_id"] as? String == "41")
    }

    /// Redirects are followed; every reconnection starts again from the original URL.
    @Test func redirectsAreFollowedFromTheOriginalURL() throws {
        let server = try Self.server()
        defer { server.stop() }
        let port = try server.port()
        let target = "/stream/moved%3Fend%3Dclose%26events%3D1%26retry%3D50"
        let result = try Self.listen(["http://127.0.0.1:\(port)/redirect?to=\(target)", "--max-events", "2"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(Self.events(result.text) == ["retry 50", "tick|event 1 of connection 1|1", "retry 50", "tick|event 2 of connection 2|2"])
        #expect(Self.log(server, "request", "/redirect").count == 2)
        #expect(Self.log(server, "request", "/stream/moved").map { $0["last_event_id"] as? String } == [nil, "1"])
    }

    /// A first connection that cannot be made is a failure (exit 1, one line), not a loop.
    @Test func unreachableServerFails() throws {
        let result = try Self.listen(["http://127.0.0.1:\(try TinyproxyProcess.freePort())/"], timeout: 30)
        #expect(result.status == 1 && !result.timedOut)
        #expect(result.stderr.hasPrefix("wirecodec: cannot open the event stream: ") && result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
    }
}

/// `wirecodec sse listen` against `wirecodec-feed-server`'s `/events`: the backlog after a
/// cursor, resumed with `--last-event-id`, then live items.
@Suite(.serialized, .peer(Paths.which("curl") != nil, "curl"))
struct ClientFeedServerTests {
    static func publish(_ server: EchoServerProcess, _ text: String) throws {
        let curl = try #require(Paths.which("curl"))
        let result = try runProcess(curl, ["-s", "-X", "POST", "--data-binary", text, "\(server.httpURL)/publish"])
        #expect(result.status == 0 && result.text.hasPrefix("{\"id\":"), "\(result.text)")
    }

    static func items(_ text: String) -> [String] {
        jsonLines(text).filter { $0["type"] as? String == "event" }.map { "\($0["id"] as? String ?? "")=\($0["data"] as? String ?? "")" }
    }

    @Test func backlogResumeAndLiveItems() throws {
        let server = try EchoServerProcess([], executable: "wirecodec-feed-server")
        defer { _ = server.stop() }
        for text in ["one", "two", "three"] { try Self.publish(server, text) }
        let all = try runProcess(ClientPeers.wirecodec, ["sse", "listen", "\(server.httpURL)/events?since=0", "--max-events", "3"], timeout: 30)
        #expect(all.status == 0, "\(all.stderr)")
        #expect(Self.items(all.text) == ["1=one", "2=two", "3=three"])
        let resumed = try runProcess(
            ClientPeers.wirecodec, ["sse", "listen", "\(server.httpURL)/events", "--last-event-id", "2", "--max-events", "1"], timeout: 30)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(Self.items(resumed.text) == ["3=three"])
        // Live: the listener waits for items published after it connected. Published once the
        // server has its stream (a fixed 500 ms wait was shorter than a debug process's start
        // on a loaded machine, and "four" then went out before the listener joined); the
        // cursor (3) covers the moment between the stream's start and its joining the feed.
        let listener = LiveListener(url: "\(server.httpURL)/events?since=3", maxEvents: 2)
        let curl = try #require(Paths.which("curl"))
        try waitUntil(timeout: 60) {
            try runProcess(curl, ["-s", "\(server.httpURL)/stats"], timeout: 30).text.contains(#""event_streams":1,"#)
        }
        try Self.publish(server, "four")
        try Self.publish(server, "five")
        let live = try #require(listener.result(timeout: 30))
        #expect(live.status == 0, "\(live.stderr)")
        #expect(Self.items(live.text) == ["4=four", "5=five"])
    }
}

extension ClientFeedServerTests {
    /// https:// with `--ca-cert`; without it the certificate does not verify: exit 1, one line.
    @Test(.peer(ClientPeers.openssl != nil, "openssl"))
    func overTLS() throws {
        let certs = try ClientPeers.requireCertificates()
        let server = try EchoServerProcess(["--tls-cert", certs.cert, "--tls-key", certs.key], executable: "wirecodec-feed-server")
        defer { _ = server.stop() }
        let curl = try #require(Paths.which("curl"))
        let published = try runProcess(curl, ["-s", "--cacert", certs.ca, "-X", "POST", "--data-binary", "secure", "https://localhost:\(server.port)/publish"])
        #expect(published.status == 0)
        let url = "https://localhost:\(server.port)/events?since=0"
        let trusted = try runProcess(ClientPeers.wirecodec, ["sse", "listen", url, "--ca-cert", certs.ca, "--max-events", "1"], timeout: 30)
        #expect(trusted.status == 0, "\(trusted.stderr)")
        #expect(Self.items(trusted.text) == ["1=secure"])
        let untrusted = try runProcess(ClientPeers.wirecodec, ["sse", "listen", url, "--max-events", "1"], timeout: 30)
        #expect(untrusted.status == 1 && untrusted.text.isEmpty)
        #expect(untrusted.stderr == "wirecodec: TLS handshake failed: CERTIFICATE_VERIFY_FAILED\n", "\(untrusted.stderr)")
    }
}

/// `wirecodec sse listen` run on a thread of its own.
final class LiveListener: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var outcome: ProcessResult?

    init(url: String, maxEvents: Int) {
        Thread { [self] in
            outcome = try? runProcess(ClientPeers.wirecodec, ["sse", "listen", url, "--max-events", "\(maxEvents)"], timeout: 30)
            done.signal()
        }.start()
    }

    func result(timeout: Double) -> ProcessResult? {
        _ = done.wait(timeout: .now() + timeout)
        return outcome
    }
}
