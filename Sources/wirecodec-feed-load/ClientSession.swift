import NIOCore
import NIOPosix

/// Where a client connects: an instance or a proxy in front of several.
struct Target: Sendable, CustomStringConvertible {
    var host: String
    var port: Int
    var authority: String { "\(host):\(port)" }
    var description: String { "http://\(authority)/" }

    /// `http://HOST:PORT[/]` (the load tool speaks plain HTTP/1.1).
    init(url: String) throws {
        guard url.hasPrefix("http://") else { throw LoadError("--target \(url): an http:// URL") }
        var rest = url.dropFirst("http://".count)
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]), (1...65535).contains(port),
            !rest[..<colon].isEmpty, !rest.contains("/")
        else { throw LoadError("--target \(url): expected http://HOST:PORT/") }
        host = String(rest[..<colon])
        self.port = port
    }

    init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
}

/// How a connection of a ``ClientSession`` ended.
enum ConnectionOutcome: Sendable, Equatable {
    /// Closed or reset (an instance that went away, a proxy that cut it): reconnect.
    case lost
    /// The connection could not be made: reconnect, to the next target.
    case refused
    /// The technique is not available on this path: a WebSocket handshake answered with
    /// another status than 101, an event stream answered with another status or type.
    case rejected(String)
    /// An event stream that sent nothing within the probe time (a buffering proxy).
    case stalled
}

/// One simulated client across connections, the way browsers and our clients behave:
///
/// - **Reconnection**, to the next target when there are several (or to the same proxy,
///   which picks a live instance), resuming from the client's cursor so that nothing is
///   missed and nothing repeated: an event stream after its reconnection time (the server's
///   `retry:`, 1 s) with `Last-Event-ID`; a WebSocket with `since=N` after a backoff (250 ms
///   doubling to 5 s, ±20%), as reconnecting-WebSocket libraries do; polls after their
///   interval (long polls after 1 s) with `since=N`.
/// - **Fallback** (technique `auto`): WebSocket first; a handshake answered with anything
///   but 101 (a proxy that does not pass `Upgrade`) moves the client to an event stream; an
///   event stream refused, or silent for ``ClientSettings/streamProbe`` (a proxy that
///   buffers it: a working stream sends its `feed-ready` event at once), moves it to long
///   polling. The cursor carries over, so each update still arrives exactly once.
///
/// Lives on its event loop, like the handlers of its connections (hence `@unchecked
/// Sendable`: it is only handed to other threads to be used back on that loop).
final class ClientSession: @unchecked Sendable {
    let index: Int
    let stats: LoadStats
    let settings: ClientSettings
    let loop: any EventLoop
    /// The techniques to try in order (one for a fixed technique).
    let ladder: [Technique]
    private(set) var rung = 0
    var technique: Technique { ladder[rung] }
    var cursor: FeedCursor
    /// The server's reconnection time for event streams (its `retry:` field).
    var streamRetry: TimeAmount = .milliseconds(1000)
    private let targets: [Target]
    private var targetIndex: Int
    private let makeBootstrap: (any EventLoop) -> ClientBootstrap
    private var channel: (any Channel)?
    /// Failed attempts in a row (the backoff's exponent); 0 once a connection works.
    private var failures = 0
    private var stopped = false
    private var counted = false
    private let started = NIODeadline.now()

    init(
        index: Int, ladder: [Technique], cursor: Int, targets: [Target], stats: LoadStats, settings: ClientSettings,
        loop: any EventLoop, makeBootstrap: @escaping (any EventLoop) -> ClientBootstrap
    ) {
        self.index = index
        self.ladder = ladder
        self.cursor = FeedCursor(lastId: cursor)
        self.targets = targets
        self.targetIndex = index % targets.count
        self.stats = stats
        self.settings = settings
        self.loop = loop
        self.makeBootstrap = makeBootstrap
    }

    var target: Target { targets[targetIndex] }

    /// Opens the first connection; the future completes when it is connected (or failed: the
    /// session then retries on its own).
    @discardableResult
    func start() -> EventLoopFuture<Void> {
        connect()
    }

    /// Closes the connection and reconnects no more.
    func stop() {
        stopped = true
        channel?.close(promise: nil)
        channel = nil
    }

    private func connect() -> EventLoopFuture<Void> {
        guard !stopped else { return loop.makeSucceededVoidFuture() }
        let technique = technique
        let target = target
        let future = makeBootstrap(loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteCounter(stats: stats))
                    try channel.pipeline.syncOperations.addHandlers(clientHandlers(technique, session: self, target: target))
                }
            }
            .connect(host: target.host, port: target.port)
        return future.map { [self] channel in
            if stopped {
                channel.close(promise: nil)
            } else {
                self.channel = channel
            }
        }.flatMapErrorWithEventLoop { [self] _, loop in
            ended(.refused)
            return loop.makeSucceededVoidFuture()
        }
    }

    // MARK: What the connections report

    /// The connection now does its job (a poll answered or held, a stream's first bytes, a
    /// WebSocket open). Counted once per session as "ready"; on the last rung, the time since
    /// the start is the fallback time.
    func working() {
        failures = 0
        if !counted {
            counted = true
            stats.value.ready += 1
            stats.noteFinalTechnique(technique, afterNs: NIODeadline.now().uptimeNanoseconds - started.uptimeNanoseconds, fellBack: rung > 0)
        }
    }

    /// An item reached the client.
    func deliver(id: Int, stamp: UInt64?) {
        cursor.receive(id: id, stamp: stamp, stats: stats)
    }

    /// The connection ended (`ConnectionOutcome`), once per connection.
    func ended(_ outcome: ConnectionOutcome) {
        channel = nil
        guard !stopped else { return }
        switch outcome {
        case .rejected, .stalled:
            if rung + 1 < ladder.count {
                // Fall back at once, where we are (the path, not the instance, is the problem).
                stats.value.fallbacks += 1
                rung += 1
                _ = connect()
                return
            }
        case .lost, .refused:
            break
        }
        if counted { stats.value.reconnects += 1 }
        if case .rejected(let why) = outcome { stats.noteError("\(technique.rawValue): \(why)") }
        failures += 1
        if targets.count > 1 { targetIndex = (targetIndex + 1) % targets.count }
        loop.assumeIsolated().scheduleTask(in: reconnectDelay()) { [self] in _ = connect() }
    }

    private func reconnectDelay() -> TimeAmount {
        switch technique {
        case .sse: return streamRetry
        case .webSocket:
            let base = min(5_000, 250 << min(failures - 1, 5))
            return .milliseconds(Int64(Double(base) * Double.random(in: 0.8...1.2)))
        case .longPoll: return .milliseconds(1000)
        case .poll: return settings.pollInterval
        }
    }
}
