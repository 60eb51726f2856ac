import Foundation
import Testing

/// Several `wirecodec-feed-server` instances sharing one feed through PostgreSQL
/// (`--postgres`), behind nginx with the committed configuration, started by the committed
/// launcher (`Tests/Scripts/deploy/`); the load tool's clients in cluster mode (`--target`)
/// check that every client got every item exactly once, in order, whatever happened meanwhile.
/// Spec/scaleout.md lists what each test proves.
@Suite(.serialized) struct FeedClusterTests {
    static var python: String? { Paths.which("python3") }
    static var conformance: URL { Paths.root.appendingPathComponent("Tests/Conformance") }

    static var peers: Bool { TestPostgres.available && FeedCluster.nginxBinary != nil }

    // MARK: The launcher

    /// A launcher that fails says why: the error carries its own output and the instances'
    /// logs, read before the state directory is removed (an instance refusing its arguments
    /// here; a port taken between choosing and binding it, say, in a parallel test run).
    @Test func aLauncherThatFailsReportsWhy() throws {
        guard requirePeer(FeedCluster.nginxBinary != nil, "nginx") else { return }
        do {
            let cluster = try FeedCluster(postgres: nil, instances: 1, serverArguments: ["--no-such-option"])
            cluster.stop()
            Issue.record("the launcher started with an instance that refuses its arguments")
        } catch ClusterError.launcherFailed(let report) {
            #expect(report.contains("no-such-option"), "\(report)")
        }
    }

    // MARK: Ordering in the log

    /// Why single-writer ordering: with ids from a plain sequence, a transaction that took id 1
    /// and has not committed leaves id 2, committed after it, visible alone — a reader would
    /// move its cursor past 1 and never deliver it. Through the publishing function the second
    /// publisher waits for the first one's commit and gets the next id after it.
    @Test func aPlainSequenceCommitsOutOfOrderButThePublishingFunctionDoesNot() throws {
        guard requirePeer(Self.peers, "PostgreSQL and nginx"), let bin = TestPostgres.binaries else { return }
        let url = try TestPostgres.freshDatabase("order_demo")
        // An instance creates the schema (table and publishing function).
        let server = try EchoServerProcess(["--postgres", url], executable: "wirecodec-feed-server")
        defer { _ = server.stop() }
        _ = try TestPostgres.psql(url, "CREATE TABLE naive (id bigserial PRIMARY KEY, data text)")

        // The hazard: A takes id 1 and holds its transaction; B takes id 2 and commits.
        let a = try PsqlSession(bin: bin, url: url)
        a.send("BEGIN; INSERT INTO naive (data) VALUES ('a');")
        try waitUntil { try TestPostgres.psql(url, "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'") == "1" }
        _ = try TestPostgres.psql(url, "INSERT INTO naive (data) VALUES ('b')")
        #expect(try TestPostgres.psql(url, "SELECT string_agg(id::text, ',') FROM naive") == "2", "id 2 is visible while id 1 is not")
        a.send("COMMIT;")
        a.finish()

        // The publishing function: B waits for A's commit and gets id 2.
        let first = try PsqlSession(bin: bin, url: url)
        first.send("BEGIN; SELECT wirecodec_feed_publish('a');")
        try waitUntil { try TestPostgres.psql(url, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted") == "1" }
        let second = BackgroundCommand(bin: bin, url: url, sql: "SELECT wirecodec_feed_publish('b')")
        try waitUntil { try TestPostgres.psql(url, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted") == "1" }
        #expect(try TestPostgres.psql(url, "SELECT count(*) FROM wirecodec_feed") == "0", "neither is visible yet")
        first.send("COMMIT;")
        first.finish()
        let secondId = try #require(second.result(timeout: 30))
        #expect(secondId == "2")
        #expect(try TestPostgres.psql(url, "SELECT string_agg(id || '=' || data, ',' ORDER BY id) FROM wirecodec_feed") == "1=a,2=b")
    }

    /// Eight concurrent publishers (pgbench, 250 publishes each) through the publishing
    /// function while two readers check, in every snapshot they take, that the visible ids are
    /// exactly 1...max (no id visible above a missing one): never violated, and the log ends
    /// with ids 1...2000.
    @Test func concurrentPublishersNeverLeaveAGapBelowAVisibleId() throws {
        guard requirePeer(Self.peers, "PostgreSQL and nginx"), let bin = TestPostgres.binaries else { return }
        let url = try TestPostgres.freshDatabase("order_stress")
        let server = try EchoServerProcess(["--postgres", url], executable: "wirecodec-feed-server")
        defer { _ = server.stop() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wirecodec-pgbench-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let publish = dir.appendingPathComponent("publish.sql")
        let check = dir.appendingPathComponent("check.sql")
        try "SELECT wirecodec_feed_publish('item ' || :client_id);\n".write(to: publish, atomically: true, encoding: .utf8)
        // Division by zero (a failed transaction) if a snapshot shows a gap. (Not `CASE ... ELSE
        // 1 / 0`: the planner folds that constant and fails every time.)
        let gapCheck = "SELECT 1 / (count(*) = coalesce(max(id), 0))::int FROM wirecodec_feed"
        try (gapCheck + ";\n").write(to: check, atomically: true, encoding: .utf8)
        let dbURL = url.replacingOccurrences(of: "?sslmode=disable", with: "")
        // The publishers in the background; the checkers (rounds of 2 × 200 checks, never
        // pgbench's -T: its timer is not to be trusted on every clock) until they are done. One
        // shell runs both, so that the test waits for one child only.
        let checksFile = dir.appendingPathComponent("checks.txt")
        let script = #"""
            "$1" -n -c 8 -j 4 -t 250 -f "$3" "$4" >"$5.publishers" 2>&1 &
            publishers=$!
            rounds=0 failed=0
            while kill -0 "$publishers" 2>/dev/null; do
                "$1" -n -c 2 -t 200 -f "$2" "$4" >>"$5" 2>&1 || failed=$((failed + 1))
                rounds=$((rounds + 1))
            done
            wait "$publishers"
            published=$?
            cat "$5.publishers"
            echo "checker rounds $rounds failed $failed" >>"$5"
            exit "$published"
            """#
        let publishers = try runProcess(
            "/bin/bash", ["-c", script, "pgbench-pair", bin + "/pgbench", check.path, publish.path, dbURL, checksFile.path], timeout: 240)
        #expect(publishers.status == 0, "\(publishers.text) \(publishers.stderr)")
        #expect(publishers.text.contains("number of failed transactions: 0"), "\(publishers.text)")
        let checks = try String(contentsOf: checksFile, encoding: .utf8)
        let rounds = checks.split(separator: "\n").last { $0.hasPrefix("checker rounds ") }?.split(separator: " ") ?? []
        #expect(rounds.count == 5 && (Int(rounds[2]) ?? 0) >= 1 && rounds[4] == "0", "\(checks)")
        #expect(!checks.contains("division by zero"), "\(checks)")
        #expect(try TestPostgres.psql(url, "SELECT count(*) || ' ' || min(id) || ' ' || max(id) FROM wirecodec_feed") == "2000 1 2000")
        #expect(try TestPostgres.psql(url, gapCheck) == "1")
        // The instance read them all, in order.
        try waitUntil(timeout: 20) { (try runProcess(Paths.which("curl") ?? "/usr/bin/curl", ["-s", "\(server.httpURL)/stats"]).text).contains(#""last_id":2000"#) }
        // The check can fail: with a gap planted by hand it does.
        _ = try TestPostgres.psql(url, "INSERT INTO wirecodec_feed (id, data) VALUES (2002, 'after a gap')")
        let planted = try runProcess(bin + "/psql", [dbURL, "-X", "-q", "-A", "-t", "-c", gapCheck], timeout: 30)
        #expect(planted.status != 0 && planted.stderr.contains("division by zero"), "\(planted.text) \(planted.stderr)")
    }

    // MARK: Instances and the database going away

    /// The small version of the scale-out run, in the test command: three instances, 150
    /// clients of each technique spread over them, three concurrent publishers (20 items each,
    /// one round every 400 ms, each round's three publishes through three instances); 2 s in,
    /// one instance is killed with SIGKILL (its clients reconnect to the others with their
    /// cursor; its publisher retries elsewhere); 4 s in, PostgreSQL is stopped as in a crash
    /// and started again a second later (instances keep serving, reconnect with backoff,
    /// LISTEN again, catch up; their backoff is capped at 500 ms here, not 5 s, so that they
    /// are back as soon as the database is). Every client of every technique ends with every
    /// item exactly once, in order; once the clients are gone, no connection of theirs is left
    /// open on the instances.
    @Test func everyClientGetsEveryItemOnceInOrderThroughAnInstanceKillAndADatabaseRestart() throws {
        guard requirePeer(Self.peers, "PostgreSQL and nginx") else { return }
        let url = try TestPostgres.freshDatabase("cluster_chaos")
        let cluster = try FeedCluster(postgres: url, serverArguments: ["--long-poll-timeout-ms", "5000", "--postgres-reconnect-max-ms", "500"])
        defer { cluster.stop() }
        let clients = 150
        let (result, runs) = try runClusterLoad(
            cluster.instances.flatMap { ["--target", $0.url] } + [
                "--clients", String(clients), "--publishers", "3", "--updates", "20", "--interval-ms", "400",
                "--poll-interval-ms", "500", "--long-poll-timeout-ms", "5000", "--settle-ms", "60000", "--label", "chaos",
                "--run-at", "2000 kill -9 \(cluster.instances[1].pid)",
                "--run-at", "4000 \(TestPostgres.restartCommand(mode: "immediate", pause: 1))",
            ] + cluster.instances.flatMap { ["--server-pid", String($0.pid)] })
        #expect(result.status == 0, "\(result.text) \(result.stderr)")
        for technique in ["short-polling", "long-polling", "sse", "websocket"] {
            expectEveryItemOnceInOrder(runs[technique], technique, clients: clients)
            let cluster = runs[technique]?["cluster"] as? [String: Any] ?? [:]
            #expect((cluster["lastId"] as? Int ?? 0) >= 60, "\(technique): \(cluster)")
            // A third of the clients were on the killed instance.
            if technique != "short-polling" && technique != "long-polling" {
                #expect((cluster["reconnects"] as? Int ?? 0) >= clients / 3, "\(technique): \(cluster)")
            }
        }
        // The clients are gone: so are their connections (the only one left is the request
        // asking).
        let curl = try #require(Paths.which("curl"))
        for instance in [cluster.instances[0], cluster.instances[2]] {
            var stats = ""
            try waitUntil(timeout: 30) {
                stats = try runProcess(curl, ["-s", "\(instance.url)stats"], timeout: 10).text
                return stats.contains(#""connections":1,"#)
            }
            #expect(stats.contains(#""connections":1,"#), "\(instance.url): \(stats)")
        }
    }

    /// An instance whose database connection is refused keeps serving what it holds (polls
    /// answered, streams open; publishing answers 503), retries with backoff, and once it may
    /// connect again LISTENs and catches up from the table the items published elsewhere
    /// meanwhile, whose notifications it never saw: its clients get them all, in order.
    @Test func anInstanceCutOffFromTheDatabaseKeepsServingAndCatchesUpFromTheTable() throws {
        guard requirePeer(Self.peers, "PostgreSQL and nginx") else { return }
        let url = try TestPostgres.freshDatabase("cut_off")
        _ = try TestPostgres.psql(url, "DROP ROLE IF EXISTS feed_cut; CREATE ROLE feed_cut LOGIN SUPERUSER PASSWORD 'secret'")
        let cutURL = url.replacingOccurrences(of: "wirecodec:secret@", with: "feed_cut:secret@")
        let shared = try EchoServerProcess(["--postgres", url], executable: "wirecodec-feed-server")
        defer { _ = shared.stop() }
        let cut = try EchoServerProcess(["--postgres", cutURL, "--postgres-reconnect-max-ms", "500"], executable: "wirecodec-feed-server")
        defer { _ = cut.stop() }
        let curl = try #require(Paths.which("curl"))
        func get(_ server: EchoServerProcess, _ path: String) throws -> ProcessResult {
            try runProcess(curl, ["-s", "-w", "\n%{http_code}", "\(server.httpURL)\(path)"], timeout: 30)
        }
        func post(_ server: EchoServerProcess, _ text: String) throws -> ProcessResult {
            try runProcess(curl, ["-s", "-w", "\n%{http_code}", "-X", "POST", "--data-binary", text, "\(server.httpURL)/publish"], timeout: 30)
        }
        for n in 1...3 { #expect(try post(shared, "before \(n)").text.hasSuffix("200")) }
        try waitUntil { try get(cut, "/stats").text.contains(#""last_id":3"#) }

        // Cut it off: no login, its connections ended.
        _ = try TestPostgres.psql(url, "ALTER ROLE feed_cut NOLOGIN; SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = 'feed_cut'")
        try waitUntil { try get(cut, "/stats").text.contains(#""listening":false"#) }
        // It keeps serving what it has; publishing through it is refused with a reason.
        let poll = try get(cut, "/poll?since=1")
        #expect(poll.text.hasSuffix("200") && poll.text.contains(#""next":3"#), "\(poll.text)")
        let refused = try post(cut, "through the cut-off instance")
        #expect(refused.text.hasSuffix("503"), "\(refused.text)")
        // Items published elsewhere meanwhile (their notifications go to no connection of its).
        for n in 4...8 { #expect(try post(shared, "while cut off \(n)").text.hasSuffix("200")) }
        // A long poll held on the cut-off instance is answered once it catches up.
        let held = BackgroundCommand(run: curl, arguments: ["-s", "\(cut.httpURL)/long-poll?since=3&timeout=20000"])
        usleep(1_500_000)
        #expect(try get(cut, "/stats").text.contains(#""last_id":3"#), "nothing new without the database")

        _ = try TestPostgres.psql(url, "ALTER ROLE feed_cut LOGIN")
        try waitUntil(timeout: 20) { try get(cut, "/stats").text.contains(#""last_id":8"#) }
        let stats = try get(cut, "/stats").text
        #expect(stats.contains(#""listening":true"#) && stats.contains(#""failures":"#), "\(stats)")
        let answer = try #require(held.result(timeout: 30))
        #expect(answer.contains(#""id":4,"#) && answer.contains(#""next":8"#), "\(answer)")
        let all = try get(cut, "/poll?since=0").text
        let ids = (1...8).map { #""id":\#($0),"# }
        #expect(ids.allSatisfy(all.contains), "\(all)")
    }

    // MARK: One port, several processes

    /// `--reuse-port` (`WireServer.Configuration.reusePort`, SO_REUSEPORT): a second instance
    /// binds the port the first one listens on, and the kernel spreads new connections over
    /// both; without the option on both, the second cannot bind it.
    @Test func twoInstancesListenOnOnePortWithReusePort() throws {
        let first = try EchoServerProcess(["--reuse-port"], executable: "wirecodec-feed-server")
        defer { _ = first.stop() }
        let server = Paths.executable("wirecodec-feed-server").path
        // Runs until killed at the timeout (listening), or exits at once (the port is taken).
        let second = try runProcess(server, ["--host", "127.0.0.1", "--port", String(first.port), "--reuse-port"], timeout: 3)
        #expect(second.timedOut && second.text.contains("listening on http://127.0.0.1:\(first.port)/"), "\(second.text) \(second.stderr)")
        let refused = try runProcess(server, ["--host", "127.0.0.1", "--port", String(first.port)], timeout: 10)
        #expect(!refused.timedOut && refused.status != 0, "\(refused.text) \(refused.stderr)")
    }

    // MARK: Test hygiene

    /// Stopping a cluster ends every process its launcher started — the instances, nginx's
    /// master and its worker — by their own SIGTERM handling (not by the SIGKILL the test
    /// falls back to, which leaves nginx's worker behind): the launcher must get the signal
    /// even when it was started from a thread that blocks signals (as Swift's test threads do).
    @Test func stoppingAClusterEndsEveryProcessItStarted() throws {
        guard requirePeer(FeedCluster.nginxBinary != nil, "nginx") else { return }
        let cluster = try FeedCluster(postgres: nil, instances: 2)
        let started = processes(inGroup: cluster.processGroup)
        let nginxWorkers = childProcesses(of: cluster.nginxPid)
        #expect(!nginxWorkers.isEmpty, "nginx runs its worker")
        #expect(Set(cluster.instances.map(\.pid) + [cluster.nginxPid] + nginxWorkers).isSubset(of: Set(started)), "\(started)")
        cluster.stop()
        #expect(cluster.stoppedGracefully, "the launcher stopped everything on SIGTERM")
        let left = (started + nginxWorkers).filter { !hasEnded($0) }
        #expect(left.isEmpty, "still running after stop(): \(left)")
    }

    /// A launcher whose parent dies without stopping it (a test process that crashed) stops
    /// everything it started on its own.
    @Test func aLauncherWhoseParentDiedStopsEverything() throws {
        guard requirePeer(FeedCluster.nginxBinary != nil, "nginx") else { return }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wirecodec-orphan-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let output = dir.appendingPathComponent("launcher.out").path
        // A parent shell that starts the launcher, then waits until it is killed.
        let parent = Process()
        parent.executableURL = URL(fileURLWithPath: "/bin/bash")
        parent.arguments = [
            "-c", #"bash "$1" --port 0 --instances 1 --bin "$2" --state "$3" --postgres none >"$4" 2>/dev/null & exec sleep 600"#, "parent",
            Paths.root.appendingPathComponent("Tests/Scripts/deploy/feed-cluster.sh").path, Paths.binaries.path,
            dir.appendingPathComponent("state").path, output,
        ]
        parent.standardOutput = FileHandle.nullDevice
        parent.standardError = FileHandle.nullDevice
        try parent.run()
        defer { if !hasEnded(parent.processIdentifier) { kill(parent.processIdentifier, SIGKILL) } }
        try waitUntil(timeout: 60) { ((try? String(contentsOfFile: output, encoding: .utf8)) ?? "").contains("feed-cluster: ready") }
        let lines = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n").map { $0.split(separator: " ") }
        let pids = lines.compactMap { words -> Int32? in
            if words.count >= 6, words[1] == "instance" { return Int32(words[4]) }
            if words.count >= 5, words[1] == "nginx" { return Int32(words[3]) }
            return nil
        }
        try #require(pids.count == 2, "\(lines)")
        let group = processes(inGroup: getpgid(pids[0]))
        defer { for pid in group where !hasEnded(pid) { kill(pid, SIGKILL) } }
        let everything = Set(group + pids + childProcesses(of: pids[1]))
        kill(parent.processIdentifier, SIGKILL)
        try waitUntil(timeout: 20) { everything.allSatisfy(hasEnded) }
    }

    // MARK: Behind nginx

    /// All four techniques (and `auto`) through nginx in front of three instances, with the
    /// committed configuration; one instance killed 2 s in: nginx sends the reconnecting
    /// clients to the others, and nothing is missed. Headless Chromium's page runs its
    /// self-test through the same nginx: five columns, every update in order.
    @Test func everyTechniqueThroughNginxWhileAnInstanceDies() throws {
        guard requirePeer(Self.peers, "PostgreSQL and nginx") else { return }
        let url = try TestPostgres.freshDatabase("through_nginx")
        let cluster = try FeedCluster(postgres: url)
        defer { cluster.stop() }
        let clients = 100
        let (result, runs) = try runClusterLoad([
            "--target", cluster.nginx, "--technique", "short-polling", "long-polling", "sse", "websocket", "auto",
            "--clients", String(clients), "--publishers", "2", "--updates", "15", "--interval-ms", "400",
            "--poll-interval-ms", "500", "--long-poll-timeout-ms", "5000", "--settle-ms", "60000",
            "--run-at", "2000 kill -9 \(cluster.instances[0].pid)",
        ])
        #expect(result.status == 0, "\(result.text) \(result.stderr)")
        for technique in ["short-polling", "long-polling", "sse", "websocket", "auto"] {
            expectEveryItemOnceInOrder(runs[technique], technique, clients: clients)
        }
        let auto = runs["auto"]?["cluster"] as? [String: Any] ?? [:]
        #expect(auto["finalTechniques"] as? [String: Int] == ["websocket": clients], "nothing to fall back from: \(auto)")

        // The browser part needs Python and chromium: missing, it is skipped (a failure
        // with WIRECODEC_REQUIRE_PEERS).
        guard requirePeer(Self.python != nil && Paths.which("chromium") != nil, "Python and chromium"),
            let python = Self.python, let chromium = Paths.which("chromium")
        else { return }
        let page = try runProcess(
            python, [Self.conformance.appendingPathComponent("chromium/run_chromium.py").path, "\(cluster.nginx)?test=5", "--chromium", chromium],
            timeout: 150)
        let report = try JSONSerialization.jsonObject(with: page.stdout) as? [String: Any]
        let seen = (report?["result"] as? [String: Any])?["seen"] as? [String: [Int]] ?? [:]
        #expect((report?["result"] as? [String: Any])?["ok"] as? Bool == true, "\(page.text) \(page.stderr)")
        #expect(Set(seen.keys) == ["poll", "long-poll", "sse", "ws", "auto"])
    }

    /// What nginx does to a silent long-lived response, and what keeps one alive. The test
    /// configuration sets proxy_read_timeout to 2 s (production keeps nginx's 60 s; the feed
    /// server's defaults — heartbeats every 15 s, long polls answered after 25 s, pings every
    /// 30 s — are below it in the same proportion) to keep this short. With the server's
    /// intervals at 30 s, an event stream, a long poll and an idle WebSocket are each cut
    /// about 2 s in (the long poll with nginx's 504). With heartbeats and pings every 0.5 s and
    /// long polls answered after 1 s, all three are still open after 6 s. Clients: h11 over a
    /// raw socket and Python `websockets` (its own pings off).
    @Test func nginxCutsSilentResponsesAndHeartbeatsPingsAndTheLongPollTimeoutKeepThemAlive() throws {
        guard requirePeer(FeedCluster.nginxBinary != nil && FeedServerTests.pythonHasPeers, "nginx and python3 with h11 and websockets"),
            let python = Self.python
        else { return }
        let script = Self.conformance.appendingPathComponent("feed/check_proxy_timeouts.py").path
        func check(_ serverArguments: [String]) throws -> [String: [String: Any]] {
            let cluster = try FeedCluster(postgres: nil, instances: 1, readTimeout: "2s", serverArguments: serverArguments)
            defer { cluster.stop() }
            let result = try runProcess(python, [script, cluster.nginx, "--hold", "6"], timeout: 60)
            #expect(result.status == 0, "\(result.stderr)")
            return try #require(JSONSerialization.jsonObject(with: result.stdout) as? [String: [String: Any]], "\(result.text) \(result.stderr)")
        }
        let silent = try check(["--heartbeat-ms", "30000", "--web-socket-ping-ms", "30000", "--long-poll-timeout-ms", "30000"])
        for name in ["sse", "long_poll", "websocket"] {
            let seen = silent[name] ?? [:]
            #expect(seen["alive"] as? Bool == false, "\(name) is cut: \(seen)")
            let after = seen["cut_after_s"] as? Double ?? 0
            // Measured from the script's start (connecting through nginx included), so a loaded
            // machine adds to it; below the 6 s hold, far from every other timeout (30 s).
            #expect(after >= 1.5 && after < 5.5, "\(name) cut at proxy_read_timeout (2 s): \(seen)")
        }
        #expect((silent["long_poll"]?["statuses"] as? [Any])?.last as? Int == 504, "\(silent)")

        let kept = try check(["--heartbeat-ms", "500", "--web-socket-ping-ms", "500", "--long-poll-timeout-ms", "1000"])
        for name in ["sse", "long_poll", "websocket"] {
            #expect(kept[name]?["alive"] as? Bool == true, "\(name) is kept alive: \(kept)")
        }
        #expect((kept["sse"]?["heartbeats"] as? Int ?? 0) >= 8, "\(kept)")
        #expect((kept["websocket"]?["pings"] as? Int ?? 0) >= 8, "\(kept)")
        let statuses = kept["long_poll"]?["statuses"] as? [Int] ?? []
        #expect(statuses.count >= 4 && statuses.allSatisfy { $0 == 204 }, "\(kept)")
    }

    /// Fallback through degraded nginx proxies in front of the same three instances: one that
    /// does not pass Upgrade (the handshake reaches the instance as a plain GET: 426), one that
    /// also buffers responses (the event stream's first event never comes through), one that
    /// also refuses /events. The load tool's `auto` clients end on SSE, long polling and long
    /// polling, with every update exactly once in order; the page's "best available" column
    /// in headless Chromium does the same.
    ///
    /// The stream probe (how long a client waits for the stream's first event before it takes
    /// the stream for buffered) is 6 s, not the clients' 2 s default: it tells "arrives in
    /// milliseconds" from "never arrives" (the buffering proxy holds it), and on two cores busy
    /// with the parallel test run, starting a stream through nginx can take a good part of 2 s.
    @Test func clientsFallBackFromWebSocketToSSEToLongPollingThroughNginx() throws {
        guard requirePeer(Self.peers, "PostgreSQL and nginx") else { return }
        let url = try TestPostgres.freshDatabase("fallback")
        let cluster = try FeedCluster(postgres: url, fallbackProxies: true, serverArguments: ["--long-poll-timeout-ms", "5000"])
        defer { cluster.stop() }
        let clients = 60
        for (proxy, final) in [("no-upgrade", "sse"), ("no-upgrade-buffered-sse", "long-polling"), ("no-upgrade-no-sse", "long-polling")] {
            let target = try #require(cluster.proxies[proxy])
            let (result, runs) = try runClusterLoad([
                "--target", target, "--technique", "auto", "--clients", String(clients), "--publishers", "2", "--updates", "10",
                "--interval-ms", "300", "--long-poll-timeout-ms", "5000", "--stream-probe-ms", "6000", "--settle-ms", "60000",
                "--label", proxy,
            ])
            #expect(result.status == 0, "\(proxy): \(result.text) \(result.stderr)")
            expectEveryItemOnceInOrder(runs["auto"], "auto via \(proxy)", clients: clients)
            let figures = runs["auto"]?["cluster"] as? [String: Any] ?? [:]
            #expect(figures["finalTechniques"] as? [String: Int] == [final: clients], "\(proxy): \(figures)")
            let fallback = figures["fallbackMs"] as? [String: Any] ?? [:]
            #expect(fallback["count"] as? Int == clients, "\(proxy): \(figures)")
        }

        // The browser part needs Python and chromium: missing, it is skipped (a failure
        // with WIRECODEC_REQUIRE_PEERS).
        guard requirePeer(Self.python != nil && Paths.which("chromium") != nil, "Python and chromium"),
            let python = Self.python, let chromium = Paths.which("chromium")
        else { return }
        for (proxy, final) in [("no-upgrade", "SSE"), ("no-upgrade-buffered-sse", "long polling")] {
            let target = try #require(cluster.proxies[proxy])
            let page = try runProcess(
                python, [Self.conformance.appendingPathComponent("chromium/run_chromium.py").path, "\(target)?test=5&only=auto&probe=6000", "--chromium", chromium],
                timeout: 150)
            let result = (try JSONSerialization.jsonObject(with: page.stdout) as? [String: Any])?["result"] as? [String: Any]
            #expect(result?["ok"] as? Bool == true, "\(proxy): \(page.text) \(page.stderr)")
            let steps = result?["autoSteps"] as? [[String: Any]] ?? []
            #expect(steps.last?["technique"] as? String == final, "\(proxy): \(steps)")
        }
    }
}

/// Polls `condition` every 100 ms until it holds (or fails the test after `timeout` seconds,
/// 30 by default: a bound on a wait that will not end, which a loaded machine never reaches).
func waitUntil(timeout: Double = 30, sourceLocation: SourceLocation = #_sourceLocation, _ condition: () throws -> Bool) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return }
        usleep(100_000)
    }
    Issue.record("not within \(timeout) s", sourceLocation: sourceLocation)
}

/// An interactive `psql` whose statements are written to its standard input as the test goes.
final class PsqlSession {
    private let process = Process()
    private let input = Pipe()

    init(bin: String, url: String) throws {
        process.executableURL = URL(fileURLWithPath: bin + "/psql")
        process.arguments = [url, "-X", "-q", "-A", "-t"]
        process.standardInput = input
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    func send(_ sql: String) {
        ignoreBrokenPipes
        // psql may have ended (the database restarted): EPIPE, not a trap.
        try? input.fileHandleForWriting.write(contentsOf: Data((sql + "\n").utf8))
    }

    func finish() {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }

    deinit { if process.isRunning { process.terminate() } }
}

/// A command run on a thread of its own; `result` waits for its standard output.
final class BackgroundCommand: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var output: String?

    convenience init(bin: String, url: String, sql: String) {
        self.init(run: bin + "/psql", arguments: [url, "-X", "-q", "-A", "-t", "-c", sql])
    }

    init(run executable: String, arguments: [String]) {
        Thread { [self] in
            output = (try? runProcess(executable, arguments, timeout: 60)).map { $0.text.trimmingCharacters(in: .whitespacesAndNewlines) }
            done.signal()
        }.start()
    }

    func result(timeout: Double) -> String? {
        _ = done.wait(timeout: .now() + timeout)
        return output
    }
}
