import Foundation
import NIOCore
import NIOPosix

/// The simulated clients of a cluster run (`--target`), by kind: either all in this process
/// on one event loop (``LocalFleet``), or spread over worker processes of this tool
/// (``WorkerFleet``, `--workers N`), since a process may open only so many files (20,000
/// here) and each source address has only so many ports (`--source-address`).
protocol ClientFleet {
    /// Opens every client's first connection and waits until all of them work (throws at
    /// `deadline` with what is missing).
    func start(deadline: Date) throws
    /// Clients whose cursor is below `goal`.
    func behind(_ goal: Int) throws -> Int
    /// Per kind (in the order of the run's kinds): what its clients saw, and how many of them
    /// do not hold `last` as their cursor.
    func finish(last: Int) throws -> [FleetKindResult]
    /// Closes every connection.
    func stop()
}

struct FleetKindResult: Codable {
    var seen: LoadStats.Snapshot
    var incomplete: Int
}

/// What one fleet (this process's, or one worker's) runs.
struct FleetPlan: Codable {
    /// Technique names (``ClientKind``).
    var kinds: [String]
    /// Clients per kind in this fleet, the index of its first within its kind, and the
    /// clients per kind across all fleets (client k × runClients + i of the run: its target
    /// and source address).
    var clients: Int
    var firstIndex: Int
    var runClients: Int
    var startCursor: Int
    var targets: [String]
    var pollIntervalMs: Int
    var longPollTimeoutMs: Int
    var deflate: Bool
    var streamProbeMs: Int
    /// Local addresses the clients' sockets bind to (client i: `sourceAddresses[i % count]`);
    /// empty: the kernel's choice.
    var sourceAddresses: [String]
    /// A CPU the worker's event loop runs on only (`--pin-cpu`).
    var pinCPU: Int?
    /// The process that started the worker: the worker ends when it is gone.
    var parentPid: Int32?

    var settings: ClientSettings {
        var settings = ClientSettings(
            pollInterval: .milliseconds(Int64(pollIntervalMs)), longPollTimeoutMs: longPollTimeoutMs, deflate: deflate)
        settings.streamProbe = .milliseconds(Int64(streamProbeMs))
        return settings
    }
}

/// The clients in this process, on `loop`.
final class LocalFleet: ClientFleet {
    let loop: any EventLoop
    let kinds: [ClientKind]
    let stats: [LoadStats]
    private let sessions: [[ClientSession]]

    init(plan: FleetPlan, loop: any EventLoop) throws {
        self.loop = loop
        kinds = plan.kinds.compactMap(ClientKind.init(rawValue:))
        let targets = try plan.targets.map(Target.init(url:))
        let sources = try plan.sourceAddresses.map { try SocketAddress(ipAddress: $0, port: 0) }
        let settings = plan.settings
        let kinds = kinds
        let stats = kinds.map { _ in LoadStats() }
        self.stats = stats
        sessions = try loop.submit {
            kinds.enumerated().map { k, kind in
                stats[k].counting = true
                return (0..<plan.clients).map { i in
                    let index = k * plan.runClients + plan.firstIndex + i
                    let source = sources.isEmpty ? nil : sources[index % sources.count]
                    return ClientSession(
                        index: index, ladder: kind.ladder, cursor: plan.startCursor, targets: targets, stats: stats[k],
                        settings: settings, loop: loop,
                        makeBootstrap: { loop in bindingSource(ClientBootstrap(group: loop), to: source) })
                }
            }
        }.wait()
    }

    func start(deadline: Date) throws {
        let all = sessions.flatMap { $0 }
        var next = 0
        while next < all.count {
            // Connects held up by a full listen queue (SYNs dropped, retried after 1, 3, 7 s...)
            // count against the deadline too.
            guard Date() < deadline else { throw LoadError("clients not ready: \(next) of \(all.count) connecting at the deadline") }
            let batch = all[next..<min(all.count, next + 200)]
            try loop.flatSubmit { [loop] in EventLoopFuture.andAllComplete(batch.map { $0.start() }, on: loop) }.wait()
            next += batch.count
        }
        while try ready().reduce(0, +) < all.count {
            guard Date() < deadline else { throw LoadError("clients not ready: \(try ready()) of \(sessions.map(\.count))") }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    private func ready() throws -> [Int] {
        try stats.map { try $0.snapshot(on: loop).ready }
    }

    func behind(_ goal: Int) throws -> Int {
        let sessions = sessions
        return try loop.submit { sessions.reduce(0) { $0 + $1.filter { $0.cursor.lastId < goal }.count } }.wait()
    }

    func finish(last: Int) throws -> [FleetKindResult] {
        let sessions = sessions
        return try stats.indices.map { k in
            let incomplete = try loop.submit { sessions[k].filter { $0.cursor.lastId != last }.count }.wait()
            return FleetKindResult(seen: try stats[k].snapshot(on: loop), incomplete: incomplete)
        }
    }

    func stop() {
        let all = sessions.flatMap { $0 }
        try? loop.submit { for session in all { session.stop() } }.wait()
    }
}

/// The clients spread over `plans.count` child processes of this tool (each a
/// ``LocalFleet`` driven by ``runFleetWorker(plan:)`` over its standard input and output).
final class WorkerFleet: ClientFleet {
    private let workers: [WorkerProcess]

    init(plans: [FleetPlan]) throws {
        var started: [WorkerProcess] = []
        do {
            for plan in plans { started.append(try WorkerProcess(plan: plan)) }
        } catch {
            for worker in started { worker.stop() }
            throw error
        }
        workers = started
    }

    /// Every worker's answer to `command` (sent to all first, so that they work at once).
    private func ask(_ command: String) throws -> [Data] {
        for worker in workers { try worker.send(command) }
        return try workers.map { try $0.answer() }
    }

    func start(deadline: Date) throws {
        let seconds = max(1, Int(deadline.timeIntervalSinceNow.rounded(.up)))
        for answer in try ask("start \(seconds)") {
            let reply = try JSONDecoder().decode(WorkerReply.self, from: answer)
            if let error = reply.error { throw LoadError("a worker: \(error)") }
        }
    }

    func behind(_ goal: Int) throws -> Int {
        try ask("behind \(goal)").reduce(0) { $0 + (try JSONDecoder().decode(WorkerReply.self, from: $1).behind ?? 0) }
    }

    func finish(last: Int) throws -> [FleetKindResult] {
        var merged: [FleetKindResult] = []
        for answer in try ask("finish \(last)") {
            let reply = try JSONDecoder().decode(WorkerReply.self, from: answer)
            if let error = reply.error { throw LoadError("a worker: \(error)") }
            let kinds = reply.kinds ?? []
            if merged.isEmpty {
                merged = kinds
            } else {
                for (k, result) in kinds.enumerated() where k < merged.count {
                    merged[k].seen.merge(result.seen)
                    merged[k].incomplete += result.incomplete
                }
            }
        }
        return merged
    }

    func stop() {
        // All of them close their clients at once, then each is waited for.
        for worker in workers { worker.endInput() }
        for worker in workers { worker.stop() }
    }
}

/// A worker's answer: one JSON line.
struct WorkerReply: Codable {
    var ready: Int?
    var behind: Int?
    var kinds: [FleetKindResult]?
    var error: String?
}

/// The worker side (`--worker-plan JSON`, spawned by ``WorkerFleet``): commands on standard
/// input, one JSON answer line each on standard output — `start SECONDS` (connect, wait until
/// every client works), `behind GOAL`, `finish LAST`; end of input stops the clients.
func runFleetWorker(plan: FleetPlan) throws {
    // A worker whose parent is gone (killed while it was connecting, say) ends too.
    let parent = plan.parentPid ?? getppid()
    Thread {
        while getppid() == parent { Thread.sleep(forTimeInterval: 0.5) }
        FileHandle.standardError.write(Data("feed-load worker \(getpid()): the parent process ended\n".utf8))
        exit(1)
    }.start()
    let group = clientEventLoopGroup(pinCPU: plan.pinCPU)
    defer { try? group.syncShutdownGracefully() }
    let fleet = try LocalFleet(plan: plan, loop: group.next())
    defer { fleet.stop() }
    let input = LineReader(fd: 0)
    func reply(_ reply: WorkerReply) throws {
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        var line = try encoder.encode(reply)
        line.append(0x0A)
        FileHandle.standardOutput.write(line)
    }
    while let line = input.next() {
        let words = String(decoding: line, as: UTF8.self).split(separator: " ")
        guard let command = words.first else { continue }
        let argument = words.count > 1 ? Int(words[1]) ?? 0 : 0
        do {
            switch command {
            case "start":
                try fleet.start(deadline: Date().addingTimeInterval(Double(argument)))
                try reply(WorkerReply(ready: plan.clients * plan.kinds.count))
            case "behind":
                try reply(WorkerReply(behind: try fleet.behind(argument)))
            case "finish":
                try reply(WorkerReply(kinds: try fleet.finish(last: argument)))
            default:
                try reply(WorkerReply(error: "unknown command \(command)"))
            }
        } catch {
            try reply(WorkerReply(error: "\(error)"))
        }
    }
}

/// A worker process of this tool, and the pipes to it.
final class WorkerProcess {
    private let process: Process
    private let input: FileHandle
    private let output: LineReader

    init(plan: FleetPlan) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var plan = plan
        plan.parentPid = getpid()
        process.arguments = ["--worker-plan", String(decoding: try JSONEncoder().encode(plan), as: UTF8.self)]
        let toWorker = Pipe()
        let fromWorker = Pipe()
        process.standardInput = toWorker
        process.standardOutput = fromWorker
        process.standardError = FileHandle.standardError
        try process.run()
        input = toWorker.fileHandleForWriting
        output = LineReader(fd: fromWorker.fileHandleForReading.fileDescriptor, keeping: fromWorker.fileHandleForReading)
    }

    func send(_ command: String) throws {
        try input.write(contentsOf: Data((command + "\n").utf8))
    }

    func answer() throws -> Data {
        guard let line = output.next() else { throw LoadError("a worker process ended (pid \(process.processIdentifier))") }
        return Data(line)
    }

    /// Ends its input: the worker closes its clients and exits.
    func endInput() {
        try? input.close()
    }

    /// Ends its input, then waits for it (30 s at most, then SIGTERM).
    func stop() {
        endInput()
        let deadline = Date().addingTimeInterval(30)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }
}

/// Lines from a file descriptor, with POSIX reads (FileHandle.availableData traps on EINTR).
final class LineReader {
    private let fd: Int32
    private var buffer: [UInt8] = []
    private var start = 0
    private let keeping: AnyObject?

    init(fd: Int32, keeping: AnyObject? = nil) {
        self.fd = fd
        self.keeping = keeping
    }

    /// The next line without its newline; nil at the end of input.
    func next() -> [UInt8]? {
        while true {
            if let newline = buffer[start...].firstIndex(of: 0x0A) {
                let line = Array(buffer[start..<newline])
                start = newline + 1
                if start > 1 << 16 {
                    buffer.removeFirst(start)
                    start = 0
                }
                return line
            }
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 {
                guard start < buffer.count else { return nil }
                let line = Array(buffer[start...])
                start = buffer.count
                return line
            }
            buffer += chunk[0..<n]
        }
    }
}

/// `bootstrap` whose sockets bind to `source` (any port) before connecting. With
/// `IP_BIND_ADDRESS_NO_PORT` (Linux) the port is chosen at connect time by the whole address
/// pair, as an unbound connect does: without it `bind` searches the address's ports for a
/// free one on every call, and with tens of thousands bound that search took the clients'
/// event loop whole (a 100,000-client run stalled at 85,000).
func bindingSource(_ bootstrap: ClientBootstrap, to source: SocketAddress?) -> ClientBootstrap {
    guard let source else { return bootstrap }
    #if os(Linux)
    let bindAddressNoPort = ChannelOptions.Types.SocketOption(level: .ip, name: NIOBSDSocket.Option(rawValue: 24))
    return bootstrap.channelOption(bindAddressNoPort, value: 1).bind(to: source)
    #else
    return bootstrap.bind(to: source)
    #endif
}

/// The one event loop of the clients, on `cpu` only when given (`--pin-cpu`).
func clientEventLoopGroup(pinCPU: Int?) -> MultiThreadedEventLoopGroup {
    if let pinCPU { return MultiThreadedEventLoopGroup(pinnedCPUIDs: [pinCPU]) }
    return MultiThreadedEventLoopGroup(numberOfThreads: 1)
}
