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

    /// Issue 20's load clients, small: `--workers 3` runs the clients in three child
    /// processes of the tool (a process may open 20,000 files here) and `--source-address`
    /// spreads their connections over 127.0.0.2 and 127.0.0.3 (each address has its own
    /// ~28,000 ports); the parent publishes and merges what the workers saw. A hook run during
    /// the window records the tool's children and the kernel's TCP table.
    @Test func loadToolSpreadsClientsOverWorkerProcessesAndSourceAddresses() throws {
        let server = try EchoServerProcess([], executable: "wirecodec-feed-server")
        defer { _ = server.stop() }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("feed-workers-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let workers = scratch.appendingPathComponent("workers").path
        let tcp = scratch.appendingPathComponent("tcp").path
        // $PPID of the hook's shell is the load tool.
        let hook = "300 for p in /proc/[0-9]*; do [ \"$(cut -d' ' -f4 $p/stat 2>/dev/null)\" = \"$PPID\" ] && "
            + "grep -qa -- '--worker-pla[n]' $p/cmdline 2>/dev/null && echo $p; done | wc -l > \(workers); cat /proc/net/tcp > \(tcp)"
        let (result, runs) = try runClusterLoad(
            ["--target", server.httpURL, "--server-pid", String(server.process.processIdentifier),
             "--technique", "websocket", "long-polling", "--clients", "90", "--updates", "3", "--interval-ms", "400",
             "--workers", "3", "--source-address", "127.0.0.2", "--source-address", "127.0.0.3", "--run-at", hook],
            timeout: 180)
        #expect(result.status == 0, "\(result.text) \(result.stderr)")
        expectEveryItemOnceInOrder(runs["websocket"], "websocket", clients: 90)
        expectEveryItemOnceInOrder(runs["long-polling"], "long-polling", clients: 90)
        #expect((runs["websocket"]?["serverCPUUsPerDelivery"] as? Double ?? 0) > 0, "\(runs)")
        #expect(try String(contentsOfFile: workers, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines) == "3")
        // Established connections to the server's port (hex) from each source address (hex, little-endian).
        let table = try String(contentsOfFile: tcp, encoding: .utf8).split(separator: "\n")
        let port = String(format: "%04X", server.port)
        for (address, hex) in [("127.0.0.2", "0200007F"), ("127.0.0.3", "0300007F")] {
            let connections = table.filter { $0.contains(" \(hex):") && $0.contains(":\(port) ") && $0.contains(" 01 ") }.count
            #expect(connections >= 90, "connections from \(address): \(connections)")
        }
    }

    /// `--workers` needs `--target` (the single-server mode starts its own server per technique).
    @Test func loadToolRefusesWorkersWithoutTargets() throws {
        let result = try runProcess(Paths.executable("wirecodec-feed-load").path, ["--workers", "2", "--clients", "10"], timeout: 60)
        #expect(result.status == 64, "\(result.status) \(result.stderr)")
        #expect(result.stderr.contains("--workers needs --target"), "\(result.stderr)")
    }

    /// A worker process of the load tool whose parent is gone (killed while its workers were
    /// still connecting, in a 100,000-client run) ends on its own instead of holding its
    /// connections: here its parent shell exits at once while the worker's input stays open.
    @Test func aLoadWorkerWhoseParentDiedEnds() throws {
        let plan = #"{"kinds":["websocket"],"clients":1,"firstIndex":0,"runClients":1,"startCursor":0,"targets":["http://127.0.0.1:9/"],"pollIntervalMs":1000,"longPollTimeoutMs":1000,"deflate":false,"streamProbeMs":1000,"sourceAddresses":[],"parentPid":%d}"#
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        // (An asynchronous command's input would be /dev/null, its end at once: redirected.)
        shell.arguments = ["-c", #"exec 3<&0; "$0" --worker-plan "$(printf "$1" $$)" <&3 3<&- & echo $!"#, Paths.executable("wirecodec-feed-load").path, plan]
        let input = Pipe()
        let output = Pipe()
        shell.standardInput = input
        shell.standardOutput = output
        try shell.run()
        defer { try? input.fileHandleForWriting.close() }
        shell.waitUntilExit()
        let text = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
        let pid = try #require(Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), "\(text)")
        defer { if !hasEnded(pid) { kill(pid, SIGKILL) } }
        let deadline = Date().addingTimeInterval(10)
        while !hasEnded(pid) && Date() < deadline { usleep(50_000) }
        #expect(hasEnded(pid), "the worker outlived its parent")
    }
}
