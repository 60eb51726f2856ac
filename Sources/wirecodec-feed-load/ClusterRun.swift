import Foundation
import HTTPTypes
#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOPosix

/// `--target URL...`: the clients of every technique at once against feed servers that are
/// already running — several instances sharing one feed, or a proxy in front of them — with
/// concurrent publishers, while instances may be killed and the database restarted
/// (`--run-at`). Each client checks that every id is the next one; at the end every client
/// must hold the log's newest id.
struct ClusterRun {
    var targets: [Target]
    var kinds: [ClientKind]
    var clients: Int
    var updates: Int
    var interval: TimeAmount
    var publishers: Int
    var settings: ClientSettings
    var label: String
    /// `--expect-items`: the items to wait for (default: publishers × updates, or what the
    /// log holds when that is more).
    var expectItems: Int?
    var settle: TimeAmount
    var serverPids: [Int32]
    var hooks: [(at: TimeAmount, command: String)]
    /// `--workers`: child processes that run the clients (0: this process).
    var workers = 0
    var sourceAddresses: [String] = []
    var pinCPU: Int?

    func run(loop: any EventLoop) throws -> [RunResult] {
        let reader = try loop.submit { ResilientRequester(loop: loop, targets: targets, first: 0) }.wait()
        defer { try? loop.submit { reader.close() }.wait() }
        let startCursor = try loop.flatSubmit {
            reader.send(.get, "/poll", deadline: .now() + .seconds(30))
        }.wait().feedCursor ?? 0
        let servers = serverPids.map(ProcessReadings.init(pid:))
        let baseMemory = servers.reduce(0) { $0 + $1.residentBytes() }

        // The clients: kind after kind, spread over the targets (and the worker processes).
        let fleet = try makeFleet(startCursor: startCursor, loop: loop)
        defer { fleet.stop() }
        let total = clients * kinds.count
        // Connecting takes longer the more clients there are (handshakes on two cores):
        // 60 s and 2 ms per client (100,000: 260 s).
        try fleet.start(deadline: Date().addingTimeInterval(60 + Double(total) / 500))
        Thread.sleep(forTimeInterval: 0.5)
        let connectedMemory = servers.reduce(0) { $0 + $1.residentBytes() }

        // Publishing, and what happens meanwhile.
        let cpuStart = servers.reduce(0) { $0 + $1.cpuNanoseconds() }
        let start = NIODeadline.now()
        let running = hooks.map { hook in HookRun(at: start + hook.at, command: hook.command) }
        let requesters = try loop.submit {
            (0..<publishers).map { ResilientRequester(loop: loop, targets: targets, first: $0) }
        }.wait()
        defer { try? loop.submit { for requester in requesters { requester.close() } }.wait() }
        var newestAcked = startCursor
        var unanswered = 0
        for i in 1...max(1, updates) where publishers > 0 {
            let at = start + .nanoseconds(interval.nanoseconds * Int64(2 * i - 1) / 2)
            let wait = at.uptimeNanoseconds > NIODeadline.now().uptimeNanoseconds ? at.uptimeNanoseconds - NIODeadline.now().uptimeNanoseconds : 0
            Thread.sleep(forTimeInterval: Double(wait) / 1e9)
            let stamp = NIODeadline.now().uptimeNanoseconds
            let answers = try loop.flatSubmit {
                EventLoopFuture.whenAllComplete(
                    requesters.enumerated().map { p, requester in
                        requester.send(.post, "/publish", body: Array(#"{"t":\#(stamp),"n":\#(i),"p":\#(p)}"#.utf8), deadline: .now() + .seconds(60))
                    }, on: loop)
            }.wait()
            for answer in answers {
                if case .success(let answer) = answer, answer.status == 200, let id = Self.number("id", in: answer.text) {
                    newestAcked = max(newestAcked, id)
                } else {
                    unanswered += 1
                }
            }
        }
        for hook in running { hook.wait() }

        // Every client must reach the log's newest id.
        func newestInLog() -> Int {
            var newest = 0
            let deadline = NIODeadline.now() + .seconds(5)
            // Through a proxy each request may reach another instance: ask a few times.
            for _ in 0..<(targets.count * 3) {
                if let answer = try? loop.flatSubmit({ reader.send(.get, "/stats", deadline: deadline) }).wait(),
                    let id = Self.number("last_id", in: answer.text)
                {
                    newest = max(newest, id)
                }
            }
            return newest
        }
        var expectedLast = max(newestAcked, expectItems.map { startCursor + $0 } ?? startCursor + publishers * updates)
        expectedLast = max(expectedLast, newestInLog())
        let settleDeadline = NIODeadline.now() + settle
        var lastCheck = NIODeadline.now()
        while NIODeadline.now() < settleDeadline {
            let goal = expectedLast
            let behind = try fleet.behind(goal)
            if behind == 0 {
                let newest = newestInLog()
                if newest <= expectedLast { break }
                expectedLast = newest
            }
            if NIODeadline.now() - lastCheck > .seconds(2) {
                expectedLast = max(expectedLast, newestInLog())
                lastCheck = .now()
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        let cpu = servers.reduce(0) { $0 + $1.cpuNanoseconds() } - cpuStart
        let end = NIODeadline.now()
        let publisherRetries = try loop.submit { requesters.reduce(0) { $0 + $1.retries } }.wait()

        var results: [RunResult] = []
        let seenByKind = try fleet.finish(last: expectedLast)
        for (k, kind) in kinds.enumerated() {
            let seen = seenByKind[k].seen
            let incomplete = seenByKind[k].incomplete
            let items = expectedLast - startCursor
            var result = RunResult(
                label: label, technique: kind.rawValue, clients: clients, updates: items, intervalMs: Int(interval.nanoseconds / 1_000_000),
                pollIntervalMs: kind == .fixed(.poll) ? Int(settings.pollInterval.nanoseconds / 1_000_000) : nil,
                expected: clients * items, seen: seen, windowNs: end.uptimeNanoseconds - start.uptimeNanoseconds,
                serverCPUNs: cpu / UInt64(max(1, kinds.count)), memoryPerClient: max(0, connectedMemory - baseMemory) / max(1, total))
            if servers.isEmpty {
                result.serverCPUMsPerUpdate = .nan
                result.serverCPUUsPerDelivery = .nan
            }
            result.cluster = ClusterFigures(
                targets: targets.map(\.description), startCursor: startCursor, lastId: expectedLast,
                publishers: publishers, published: publishers * updates, unansweredPublishes: unanswered,
                publishRetries: publisherRetries, incompleteClients: incomplete, reconnects: seen.reconnects,
                fallbacks: seen.fallbacks, finalTechniques: seen.finalTechniques, fallbackMs: Percentiles(seen.fallbackNs))
            results.append(result)
        }
        return results
    }

    /// The clients in this process, or over `workers` processes (clients split evenly, the
    /// first ones taking the remainder).
    private func makeFleet(startCursor: Int, loop: any EventLoop) throws -> any ClientFleet {
        func plan(clients: Int, firstIndex: Int) -> FleetPlan {
            FleetPlan(
                kinds: kinds.map(\.rawValue), clients: clients, firstIndex: firstIndex, runClients: self.clients, startCursor: startCursor,
                targets: targets.map(\.description), pollIntervalMs: Int(settings.pollInterval.nanoseconds / 1_000_000),
                longPollTimeoutMs: settings.longPollTimeoutMs, deflate: settings.deflate,
                streamProbeMs: Int(settings.streamProbe.nanoseconds / 1_000_000), sourceAddresses: sourceAddresses,
                pinCPU: pinCPU)
        }
        guard workers > 0 else { return try LocalFleet(plan: plan(clients: clients, firstIndex: 0), loop: loop) }
        var plans: [FleetPlan] = []
        var first = 0
        for w in 0..<workers {
            let share = clients / workers + (w < clients % workers ? 1 : 0)
            guard share > 0 else { continue }
            plans.append(plan(clients: share, firstIndex: first))
            first += share
        }
        return try WorkerFleet(plans: plans)
    }

    /// The decimal after `"name":` in a JSON text.
    static func number(_ name: String, in text: String) -> Int? {
        guard let range = text.range(of: "\"\(name)\":") else { return nil }
        return Int(text[range.upperBound...].prefix { $0.isNumber })
    }
}

/// A `--run-at` command: `/bin/sh -c COMMAND` at its time after publishing starts, in the
/// background (its output goes to standard error). Spawned and reaped with POSIX calls:
/// Foundation's `Process.waitUntilExit` can miss the exit of a child started off the main
/// thread.
final class HookRun: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)

    init(at: NIODeadline, command: String) {
        Thread {
            let wait = Int64(at.uptimeNanoseconds) - Int64(NIODeadline.now().uptimeNanoseconds)
            if wait > 0 { Thread.sleep(forTimeInterval: Double(wait) / 1e9) }
            let status = Self.run(command)
            FileHandle.standardError.write(Data("feed-load: ran `\(command)`: \(status)\n".utf8))
            self.done.signal()
        }.start()
    }

    func wait() { done.wait() }

    private static func run(_ command: String) -> String {
        // The command may start a daemon (the database, again) that would keep every
        // descriptor it inherits open: our caller's pipes among them, and so the caller would
        // never see this tool end. Everything but 0-2 is closed in the child (NIO's own
        // sockets are close-on-exec already).
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? [] {
            if let fd = Int32(name), fd > 2 { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // Its standard output goes to our standard error (ours carries the JSON results).
        posix_spawn_file_actions_adddup2(&actions, 2, 1)
        var pid: pid_t = 0
        let arguments = ["/bin/sh", "-c", command]
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let spawned = posix_spawn(&pid, "/bin/sh", &actions, nil, &argv, environ)
        guard spawned == 0 else { return "cannot start: errno \(spawned)" }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return status & 0x7f == 0 ? "exit \((status >> 8) & 0xff)" : "signal \(status & 0x7f)"
    }
}

/// What only the cluster mode measures.
struct ClusterFigures: Codable {
    var targets: [String]
    /// The log's newest id when the clients started (their cursor), and at the end.
    var startCursor: Int
    var lastId: Int
    var publishers: Int
    var published: Int
    /// Publishes that got no 200 before their deadline (the item may still be in the log).
    var unansweredPublishes: Int
    var publishRetries: Int
    /// Clients whose cursor is not the log's newest id at the end.
    var incompleteClients: Int
    var reconnects: Int
    var fallbacks: Int
    var finalTechniques: [String: Int]
    /// From a client's start to its first working connection, for those that fell back.
    var fallbackMs: Percentiles
}

struct Percentiles: Codable {
    var count: Int
    var p50: Double?
    var p99: Double?
    var max: Double?

    init(_ samplesNs: [UInt64]) {
        let sorted = samplesNs.sorted()
        count = sorted.count
        func at(_ p: Double) -> Double? {
            guard !sorted.isEmpty else { return nil }
            let index = Swift.min(sorted.count - 1, Swift.max(0, Int((p * Double(sorted.count)).rounded(.up)) - 1))
            return Double(sorted[index]) / 1e6
        }
        p50 = at(0.5)
        p99 = at(0.99)
        max = sorted.last.map { Double($0) / 1e6 }
    }
}
