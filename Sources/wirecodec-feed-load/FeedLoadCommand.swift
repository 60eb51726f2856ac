import ArgumentParser
import Foundation
import NIOCore
import NIOPosix
import WireCodec
import WireCodecNIO

/// `wirecodec-feed-load`: N simulated clients per technique against `wirecodec-feed-server`
/// over loopback, K updates published at a fixed interval, and what each technique cost.
///
/// For each technique a fresh server is started; the clients connect and settle (the server's
/// resident memory is read before and after: memory per connected client); then the window
/// opens: update i is published at (i − ½) × interval, and the window closes at K × interval
/// or when the last client received the last update, whichever is later. Within the window:
/// bytes both ways (HTTP heads, framing, WebSocket frames; not TCP/IP headers), requests,
/// deliveries (each checked: the next id, no gap, no repeat) and their latency from the
/// publisher's stamp to receipt, and the server's CPU time (all its threads).
///
/// With `--target URL` (repeated) it starts no server: every technique's clients run at once
/// against instances already running (or a proxy in front of them), with `--publishers`
/// concurrent publishers, reconnecting as browsers do when an instance goes away; technique
/// `auto` is WebSocket falling back to SSE and then long polling (``ClusterRun``). There,
/// `--workers N` runs the clients in N child processes of this tool (a process may open only
/// so many files) and `--source-address` spreads them over local addresses (each has its own
/// ports), for runs of 100,000 connections (``ClientFleet``).
@main
struct FeedLoadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wirecodec-feed-load",
        abstract: "Measure short polling, long polling, SSE and WebSocket on the same live feed."
    )

    @Option(help: "The feed server executable (default: wirecodec-feed-server next to this tool).")
    var server: String?

    @Option(parsing: .upToNextOption, help: "Techniques to run: short-polling long-polling sse websocket (default: all); with --target also auto (WebSocket, falling back to SSE, then long polling).")
    var technique: [String] = []

    @Option(help: ArgumentHelp("Run against this server (repeat for several instances; or a proxy): no server is started, every technique runs at once.", valueName: "url"))
    var target: [String] = []

    @Option(help: "With --target: concurrent publishers (each publishes --updates items, round-robin over the targets).")
    var publishers = 1

    @Option(help: "With --target: items to wait for (default: publishers × updates).")
    var expectItems: Int?

    @Option(help: "With --target: how long clients may take to catch up after the last publish, in milliseconds.")
    var settleMs = 30_000

    @Option(help: ArgumentHelp("With --target: a server process whose CPU time and memory to measure (repeat).", valueName: "pid"))
    var serverPid: [Int32] = []

    @Option(help: ArgumentHelp("With --target: run a shell command MS milliseconds after publishing starts, e.g. \"3000 kill -9 1234\" (repeat).", valueName: "MS COMMAND"))
    var runAt: [String] = []

    @Option(help: "Technique auto: how long an event stream may stay silent before the client takes it for buffered and falls back, in milliseconds.")
    var streamProbeMs = 2_000

    @Option(help: "Simulated clients per technique.")
    var clients = 100

    @Option(help: "Updates to publish per technique.")
    var updates = 10

    @Option(help: "Time between updates, in milliseconds.")
    var intervalMs = 1000

    @Option(help: "Short polling: time between a client's polls, in milliseconds.")
    var pollIntervalMs = 1000

    @Option(help: "Long polling: the longest the server holds a poll, in milliseconds.")
    var longPollTimeoutMs = 25_000

    @Option(help: "SSE heartbeat interval of the server, in milliseconds.")
    var heartbeatMs = 15_000

    @Option(help: "WebSocket keep-alive ping interval of the server, in milliseconds.")
    var webSocketPingMs = 30_000

    @Flag(help: "Do not offer permessage-deflate on WebSocket clients.")
    var noDeflate = false

    @Option(help: "A name for this setting in the output (e.g. \"1 update/s\").")
    var label = ""

    @Option(name: .customLong("server-arg"), help: ArgumentHelp(
        "An argument for the feed server this tool starts (repeat; e.g. --server-arg=--deflate-context-takeover).", valueName: "arg"))
    var serverArguments: [String] = []

    @Option(help: "With --target: run the clients in this many worker processes of this tool (a process may open only so many files; 0: in this process).")
    var workers = 0

    @Option(help: ArgumentHelp("A local address the clients' connections come from, e.g. 127.0.0.2 (repeat: the clients take them in turn; each address has its own ports).", valueName: "address"))
    var sourceAddress: [String] = []

    @Option(help: ArgumentHelp("Run the clients' event loop on this CPU only (in every worker process too); the server is not pinned.", valueName: "cpu"))
    var pinCPU: Int?

    @Option(help: .hidden)
    var workerPlan: String?

    @Flag(help: "Print one JSON object per technique instead of the table.")
    var json = false

    @Option(help: "Also append one JSON object per technique to this file.")
    var jsonOut: String?

    func validate() throws {
        guard clients >= 1, updates >= 1, intervalMs >= 1, pollIntervalMs >= 1, longPollTimeoutMs >= 1 else {
            throw ValidationError("counts and intervals must be at least 1")
        }
        for name in technique where ClientKind(rawValue: name) == nil {
            throw ValidationError("unknown technique \(name)")
        }
        if target.isEmpty {
            if technique.contains("auto") { throw ValidationError("technique auto needs --target") }
            if !runAt.isEmpty || !serverPid.isEmpty || expectItems != nil { throw ValidationError("--run-at, --server-pid and --expect-items need --target") }
        }
        for url in target { _ = try Target(url: url) }
        guard workers >= 0 else { throw ValidationError("--workers must not be negative") }
        if workers > 0 && target.isEmpty { throw ValidationError("--workers needs --target") }
        for address in sourceAddress where (try? SocketAddress(ipAddress: address, port: 0)) == nil {
            throw ValidationError("--source-address \(address): not an IP address")
        }
        if let pinCPU, pinCPU < 0 || pinCPU >= ProcessInfo.processInfo.activeProcessorCount {
            throw ValidationError("--pin-cpu \(pinCPU): this machine has CPUs 0...\(ProcessInfo.processInfo.activeProcessorCount - 1)")
        }
        for hook in runAt { _ = try Self.hook(hook) }
        guard publishers >= 0, settleMs >= 1, streamProbeMs >= 1 else { throw ValidationError("--publishers, --settle-ms and --stream-probe-ms must not be negative") }
    }

    static func hook(_ text: String) throws -> (at: TimeAmount, command: String) {
        let parts = text.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, let ms = Int(parts[0]), ms >= 0 else { throw ValidationError("--run-at \"\(text)\": expected \"MS COMMAND\"") }
        return (.milliseconds(Int64(ms)), String(parts[1]))
    }

    func run() throws {
        if let workerPlan {
            return try runFleetWorker(plan: JSONDecoder().decode(FleetPlan.self, from: Data(workerPlan.utf8)))
        }
        if !target.isEmpty { return try runCluster() }
        let techniques = technique.isEmpty ? Technique.allCases : technique.compactMap(Technique.init(rawValue:))
        let executable = server ?? URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("wirecodec-feed-server").path
        // Only the clients' thread is pinned: the servers are started from this one.
        let group = clientEventLoopGroup(pinCPU: pinCPU)
        defer { try? group.syncShutdownGracefully() }
        var results: [RunResult] = []
        for technique in techniques {
            let result = try measure(technique, executable: executable, loop: group.next())
            results.append(result)
            report(result)
        }
        if !json { print(RunResult.markdown(results)) }
        if results.contains(where: { !$0.isComplete }) { throw ExitCode(1) }
    }

    private func runCluster() throws {
        // With workers, they pin their own loops: this one only publishes.
        let group = clientEventLoopGroup(pinCPU: workers > 0 ? nil : pinCPU)
        defer { try? group.syncShutdownGracefully() }
        let kinds = technique.isEmpty ? Technique.allCases.map(ClientKind.fixed) : technique.compactMap(ClientKind.init(rawValue:))
        var settings = ClientSettings(
            pollInterval: .milliseconds(Int64(pollIntervalMs)), longPollTimeoutMs: longPollTimeoutMs, deflate: !noDeflate)
        settings.streamProbe = .milliseconds(Int64(streamProbeMs))
        let run = ClusterRun(
            targets: try target.map(Target.init(url:)), kinds: kinds, clients: clients, updates: updates,
            interval: .milliseconds(Int64(intervalMs)), publishers: publishers, settings: settings, label: label,
            expectItems: expectItems, settle: .milliseconds(Int64(settleMs)), serverPids: serverPid,
            hooks: try runAt.map(Self.hook), workers: workers, sourceAddresses: sourceAddress, pinCPU: pinCPU)
        let results = try run.run(loop: group.next())
        for result in results { report(result) }
        if !json { print(RunResult.markdown(results)) }
        if results.contains(where: { !$0.isComplete }) { throw ExitCode(1) }
    }

    private func report(_ result: RunResult) {
        if let jsonOut {
            let line = Data((result.jsonLine + "\n").utf8)
            if let handle = FileHandle(forWritingAtPath: jsonOut) {
                handle.seekToEndOfFile()
                handle.write(line)
                handle.closeFile()
            } else {
                _ = FileManager.default.createFile(atPath: jsonOut, contents: line)
            }
        }
        if json {
            print(result.jsonLine)
        } else {
            FileHandle.standardError.write(Data("\(result.technique): \(result.delivered)/\(result.expected) delivered\n".utf8))
        }
    }

    private func measure(_ technique: Technique, executable: String, loop: any EventLoop) throws -> RunResult {
        let server = try ServerProcess(executable: executable, arguments: [
            "--long-poll-timeout-ms", String(longPollTimeoutMs), "--heartbeat-ms", String(heartbeatMs),
            "--web-socket-ping-ms", String(webSocketPingMs),
        ] + serverArguments)
        defer { server.stop() }
        Thread.sleep(forTimeInterval: 0.3)
        let baseMemory = server.residentBytes()
        let stats = LoadStats()
        let settings = ClientSettings(
            pollInterval: .milliseconds(Int64(pollIntervalMs)), longPollTimeoutMs: longPollTimeoutMs, deflate: !noDeflate)
        let target = Target(host: "127.0.0.1", port: server.port)
        let sources = try sourceAddress.map { try SocketAddress(ipAddress: $0, port: 0) }

        // Connect in batches (the listen backlog is finite), then wait until all are ready.
        let sessions = try loop.submit {
            (0..<clients).map { index in
                ClientSession(
                    index: index, ladder: [technique], cursor: 0, targets: [target], stats: stats, settings: settings,
                    loop: loop,
                    makeBootstrap: { loop in
                        bindingSource(ClientBootstrap(group: loop), to: sources.isEmpty ? nil : sources[index % sources.count])
                    })
            }
        }.wait()
        defer { try? loop.submit { for session in sessions { session.stop() } }.wait() }
        var next = 0
        while next < clients {
            let batch = sessions[next..<min(clients, next + 200)]
            try loop.flatSubmit { EventLoopFuture.andAllComplete(batch.map { $0.start() }, on: loop) }.wait()
            next += batch.count
        }
        let readyDeadline = Date().addingTimeInterval(Double(pollIntervalMs) / 1000 + 30)
        while try stats.snapshot(on: loop).ready < clients {
            guard Date() < readyDeadline else { throw LoadError("\(technique.rawValue): clients not ready: \(try stats.snapshot(on: loop))") }
            Thread.sleep(forTimeInterval: 0.05)
        }
        Thread.sleep(forTimeInterval: 1)
        let connectedMemory = server.residentBytes()

        // The publisher (not counted).
        let publisher = try ClientBootstrap(group: loop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        HTTP1Handler(role: .client), PublisherHandler(authority: target.authority),
                    ])
                }
            }
            .connect(host: "127.0.0.1", port: server.port).wait()
        defer { publisher.close(promise: nil) }
        let publisherHandler = try publisher.eventLoop.submit {
            NIOLoopBound(try publisher.pipeline.syncOperations.handler(type: PublisherHandler.self), eventLoop: publisher.eventLoop)
        }.wait()

        // The window.
        try loop.submit {
            let setup = stats.value.setupBytes
            stats.value = .init()
            stats.value.ready = clients
            stats.value.setupBytes = setup
            stats.counting = true
        }.wait()
        let cpuStart = server.cpuNanoseconds()
        let start = NIODeadline.now()
        let interval = TimeAmount.milliseconds(Int64(intervalMs))
        for i in 1...updates {
            let at = start + .nanoseconds(interval.nanoseconds * Int64(2 * i - 1) / 2)
            let wait = at.uptimeNanoseconds > NIODeadline.now().uptimeNanoseconds ? at.uptimeNanoseconds - NIODeadline.now().uptimeNanoseconds : 0
            Thread.sleep(forTimeInterval: Double(wait) / 1e9)
            let stamp = NIODeadline.now().uptimeNanoseconds
            let status = try publisher.eventLoop.flatSubmit {
                publisherHandler.value.publish(#"{"t":\#(stamp),"n":\#(i)}"#)
            }.wait()
            guard status == 200 else { throw LoadError("publish answered \(status)") }
        }
        let expected = clients * updates
        let windowEnd = start + .nanoseconds(interval.nanoseconds * Int64(updates))
        let deadline = windowEnd + .milliseconds(Int64(max(pollIntervalMs, longPollTimeoutMs)) + 10_000)
        while true {
            let now = NIODeadline.now()
            let delivered = try stats.snapshot(on: loop).delivered
            if now >= windowEnd && delivered >= expected { break }
            if now >= deadline { break }
            Thread.sleep(forTimeInterval: 0.01)
        }
        try loop.submit { stats.counting = false }.wait()
        let cpu = server.cpuNanoseconds() - cpuStart
        let seen = try stats.snapshot(on: loop)
        let windowNs = max(windowEnd.uptimeNanoseconds, seen.lastDelivery) - start.uptimeNanoseconds
        return RunResult(
            label: label, technique: technique.rawValue, clients: clients, updates: updates, intervalMs: intervalMs,
            pollIntervalMs: technique == .poll ? pollIntervalMs : nil,
            expected: expected, seen: seen, windowNs: windowNs, serverCPUNs: cpu,
            memoryPerClient: max(0, connectedMemory - baseMemory) / clients)
    }
}
