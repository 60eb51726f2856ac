import Foundation
import Testing

/// `wirecodec-feed-server` (one live feed over short polling, long polling, Server-Sent
/// Events and WebSocket) against peers nobody here wrote (h11, wsproto, headless Chromium),
/// and the load tool's clients on WireCodec against it. Spec/realtime.md lists what each
/// test proves.
@Suite(.serialized) struct FeedServerTests {
    static let python = Paths.which("python3")
    static let chromium = Paths.which("chromium")
    static let conformance = Paths.root.appendingPathComponent("Tests/Conformance")

    static var pythonHasPeers: Bool {
        guard let python else { return false }
        return (try? runProcess(python, ["-c", "import h11, wsproto, websockets"], timeout: 30).status) == 0
    }

    static func lines(_ data: Data) throws -> [[String: Any]] {
        try String(decoding: data, as: UTF8.self).split(separator: "\n").map {
            try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    /// Every rule of the four techniques, checked by h11 and wsproto over raw sockets
    /// (Tests/Conformance/feed/check_feed.py): 204/200 and `Feed-Cursor`, `no-store`,
    /// pipelining, long polls held, timed out and forgotten when the client goes away, the
    /// event stream's resumption and heartbeats, the WebSocket's backlog, deflate and pings.
    @Test func independentPeersCheckEveryTechnique() throws {
        guard requirePeer(Self.pythonHasPeers, "python3 with h11, wsproto and websockets"), let python = Self.python else { return }
        let server = try EchoServerProcess(
            ["--long-poll-timeout-ms", "5000", "--heartbeat-ms", "200", "--web-socket-ping-ms", "300"],
            executable: "wirecodec-feed-server")
        let script = Self.conformance.appendingPathComponent("feed/check_feed.py").path
        let result = try runProcess(python, [script, "\(server.httpURL)/"], timeout: 120)
        #expect(server.stop() == 0, "the server exits cleanly on SIGTERM")
        let checks = try Self.lines(result.stdout)
        #expect(checks.count == 14, "\(result.text) \(result.stderr)")
        for check in checks {
            #expect(check["ok"] as? Bool == true, "\(check)")
        }
        #expect(result.status == 0)
    }

    /// Headless Chromium runs the page's self-test: short polling, long polling, EventSource,
    /// a WebSocket and the "best available" column (a WebSocket here: nothing blocks it) listen
    /// at once, five items are published, and each must receive exactly those, in order.
    @Test func chromiumReceivesEveryUpdateInOrderFourWays() throws {
        guard requirePeer(Self.chromium != nil && Self.pythonHasPeers, "chromium and python3 with websockets"),
            let python = Self.python, let chromium = Self.chromium
        else { return }
        let server = try EchoServerProcess([], executable: "wirecodec-feed-server")
        let script = Self.conformance.appendingPathComponent("chromium/run_chromium.py").path
        let result = try runProcess(python, [script, "\(server.httpURL)/?test=5", "--chromium", chromium], timeout: 150)
        #expect(server.stop() == 0)
        let report = try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any]
        let page = report?["result"] as? [String: Any]
        #expect(page?["ok"] as? Bool == true, "\(result.text) \(result.stderr)")
        let published = page?["published"] as? [Int]
        #expect(published == [1, 2, 3, 4, 5])
        let seen = page?["seen"] as? [String: [Int]] ?? [:]
        #expect(Set(seen.keys) == ["poll", "long-poll", "sse", "ws", "auto"])
        let steps = page?["autoSteps"] as? [[String: Any]] ?? []
        #expect(steps.map { $0["technique"] as? String } == ["WebSocket"], "\(steps)")
        for (technique, ids) in seen {
            #expect(ids == published, "\(technique)")
        }
        // The feed server answers server_no_context_takeover: each item compressed once for all.
        #expect(page?["wsExtensions"] as? String == "permessage-deflate; server_no_context_takeover")
    }

    /// The load tool's clients (WireCodec's HTTP/1.1 and WebSocket machines through
    /// WireCodecNIO) receive every update in order with each technique, and the report holds
    /// the numbers Spec/realtime/load.md tabulates.
    /// Issue 19's small version for CI: 2,000 clients per technique that waits (long
    /// polling, SSE, WebSocket with permessage-deflate), three updates a second apart: every
    /// update reaches every client, in order, through the feed's broadcast groups and held
    /// responses. The 19,000-client runs are in Spec/realtime/load.md.
    @Test func loadToolHoldsTwoThousandClientsPerTechnique() throws {
        // The descriptors: 2,000 client sockets here, as many in the server.
        let result = try runProcess(
            "/bin/bash",
            ["-c", #"ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@""#, Paths.executable("wirecodec-feed-load").path,
             "--json", "--clients", "2000", "--updates", "3", "--interval-ms", "1000", "--technique", "long-polling", "sse",
             "websocket", "--long-poll-timeout-ms", "20000", "--label", "test-2000"],
            timeout: 240)
        #expect(result.status == 0, "\(result.text) \(result.stderr)")
        let runs = try Self.lines(result.stdout)
        #expect(runs.map { $0["technique"] as? String } == ["long-polling", "sse", "websocket"])
        for run in runs {
            let technique = run["technique"] as? String ?? "?"
            #expect(run["expected"] as? Int == 6000, "\(technique)")
            #expect(run["delivered"] as? Int == 6000, "\(technique): \(run)")
            #expect(run["orderViolations"] as? Int == 0, "\(technique)")
            #expect(run["errors"] as? [String] == [], "\(technique)")
        }
    }

    @Test func loadToolDeliversEveryUpdateInOrder() throws {
        let result = try runProcess(
            Paths.executable("wirecodec-feed-load").path,
            ["--json", "--clients", "20", "--updates", "3", "--interval-ms", "300", "--poll-interval-ms", "100",
             "--long-poll-timeout-ms", "2000", "--label", "test"],
            timeout: 180)
        #expect(result.status == 0, "\(result.text) \(result.stderr)")
        let runs = try Self.lines(result.stdout)
        #expect(runs.map { $0["technique"] as? String } == ["short-polling", "long-polling", "sse", "websocket"])
        for run in runs {
            let technique = run["technique"] as? String ?? "?"
            #expect(run["expected"] as? Int == 60, "\(technique)")
            #expect(run["delivered"] as? Int == 60, "\(technique): \(run)")
            #expect(run["orderViolations"] as? Int == 0, "\(technique)")
            #expect((run["bytesDownPerUpdate"] as? Double ?? 0) > 0, "\(technique)")
            #expect((run["latencyP50Ms"] as? Double ?? -1) >= 0, "\(technique)")
            #expect((run["serverCPUMsPerUpdate"] as? Double ?? -1) > 0, "\(technique)")
            #expect(run["errors"] as? [String] == [], "\(technique)")
            let requests = run["requestsPerUpdate"] as? Double ?? -1
            switch technique {
            case "sse", "websocket":
                #expect(requests == 0, "\(technique): one request (or Upgrade) before the window, none in it")
                #expect(run["bytesUpPerUpdate"] as? Double ?? -1 < 5, "\(technique): nothing goes up but pongs")
            case "long-polling":
                #expect(requests >= 1 && requests < 1.5, "one request per update, and a few for timeouts")
            default:
                // Polls every 100 ms for updates 300 ms apart: about three per update.
                #expect(requests >= 2, "\(technique): \(requests)")
            }
        }
    }
}
