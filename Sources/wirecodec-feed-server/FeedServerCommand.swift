import ArgumentParser
import Logging
import NIOCore
import ServiceLifecycle
import WireCodec
import WireCodecNIO
import WireExampleSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `wirecodec-feed-server`: one live feed served four ways (short polling, long polling,
/// Server-Sent Events, WebSocket), on WireCodec's async server. SIGTERM/SIGINT shut it down
/// gracefully: held long polls are answered, event streams end, WebSockets close with 1001.
@main
struct FeedServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wirecodec-feed-server",
        abstract: "A live feed over short polling, long polling, Server-Sent Events and WebSocket.",
        discussion: """
            GET /poll?since=N, GET /long-poll?since=N[&timeout=MS], GET /events (Last-Event-ID),
            GET /ws?since=N (WebSocket), POST /publish (body = the item), GET /stats, GET / (page).

            The feed lives in this process by default. With --postgres URL it is a table that
            several instances share (created if missing): publishing on any instance reaches the
            clients of every instance, in one order, and an instance that loses the database
            keeps serving, reconnects and catches up.
            """
    )

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on (0: any free port; the chosen one is printed).")
    var port = 8080

    @Option(help: "Longest time a long poll is held before a 204, in milliseconds.")
    var longPollTimeoutMs = 25_000

    @Option(help: "Interval of the event streams' heartbeat comments, in milliseconds.")
    var heartbeatMs = 15_000

    @Option(help: "Interval of WebSocket keep-alive pings (and the time a pong may take), in milliseconds.")
    var webSocketPingMs = 30_000

    @Option(help: "Publish {\"tick\":N} this often, in milliseconds (0: only POST /publish publishes).")
    var publishEveryMs = 0

    @Option(help: "Items kept for clients that come back with an old cursor.")
    var history = 100_000

    @Flag(help: "Decline permessage-deflate on WebSocket connections.")
    var noDeflate = false

    @Flag(help: ArgumentHelp(
        "Compress WebSocket messages with context takeover (each connection compresses every message itself, with its own history) instead of server_no_context_takeover (each message compressed once for every connection)."))
    var deflateContextTakeover = false

    @Option(help: "WebSocket send queue bound per connection, in bytes; a client further behind is closed with 1013 (it reconnects and resumes from its cursor).")
    var sendQueueBytes = 256 * 1024

    @Option(help: ArgumentHelp(
        "Share the feed with other instances through PostgreSQL: postgres://USER:PASSWORD@HOST:PORT/DATABASE[?sslmode=disable|prefer|require|verify-full].",
        valueName: "url"))
    var postgres: String?

    @Option(help: "With --postgres: the table of the log (its channel and publishing function are named after it).")
    var postgresTable = "wirecodec_feed"

    @Option(help: "With --postgres: the longest wait between two reconnection attempts, in milliseconds (backoff from 100 ms).")
    var postgresReconnectMaxMs = 5_000

    @Flag(help: "Set SO_REUSEPORT, so that several instances can listen on the same port (the kernel spreads connections).")
    var reusePort = false

    @OptionGroup var server: ServerOptions

    func validate() throws {
        for (name, value) in [("long-poll-timeout-ms", longPollTimeoutMs), ("heartbeat-ms", heartbeatMs), ("web-socket-ping-ms", webSocketPingMs)]
        where value < 1 {
            throw ValidationError("--\(name) must be at least 1")
        }
        if publishEveryMs < 0 { throw ValidationError("--publish-every-ms must not be negative") }
        if history < 1 { throw ValidationError("--history must be at least 1") }
        if postgresReconnectMaxMs < 100 { throw ValidationError("--postgres-reconnect-max-ms must be at least 100") }
        if let postgres {
            do {
                var options = try PostgresFeedOptions(url: postgres)
                options.table = postgresTable
                try options.validateTable()
            } catch {
                throw ValidationError(error.description)
            }
        }
        try server.validate()
    }

    func run() async throws {
        var options = Feed.Options()
        options.longPollTimeout = .milliseconds(longPollTimeoutMs)
        options.heartbeat = .milliseconds(heartbeatMs)
        options.webSocketPing = .milliseconds(webSocketPingMs)
        options.publishEvery = publishEveryMs > 0 ? .milliseconds(publishEveryMs) : nil
        options.historyLimit = history
        options.deflate = !noDeflate
        options.deflateContextTakeover = deflateContextTakeover
        options.sendQueueBytes = max(1, sendQueueBytes)
        let feed = Feed(options: options)
        var configuration = try server.configuration(host: host, port: port)
        configuration.reusePort = reusePort
        let scheme = configuration.scheme
        let host = self.host
        var logger = Logger(label: "wirecodec-feed-server")
        logger.logLevel = .notice
        let source: any FeedSource
        var waitForSource: @Sendable () async -> Void = {}
        if let postgres {
            var postgresOptions = try PostgresFeedOptions(url: postgres)
            postgresOptions.table = postgresTable
            postgresOptions.reconnectMax = .milliseconds(postgresReconnectMaxMs)
            let shared = PostgresFeedSource(feed: feed, options: postgresOptions, logger: logger)
            source = shared
            waitForSource = { await shared.waitUntilStarted() }
        } else {
            source = InMemoryFeedSource(feed: feed)
        }
        let server = FeedServer(feed: feed, source: source).makeServer(configuration: configuration) { address in
            say("wirecodec-feed-server: listening on \(scheme)://\(host):\(address.port ?? 0)/ (pid \(getpid()))")
        }
        var services: [any Service] = [feed, source]
        if let every = options.publishEvery { services.append(FeedTicker(source: source, interval: every)) }
        // The server accepts once the source has read the log (or gave up waiting for it).
        services.append(StartAfter(wait: waitForSource, service: server))
        // The server is shut down first (it is last), then the feed's timers and the source.
        try await ServerOptions.runUntilSignalled(services, label: "wirecodec-feed-server")
        say("wirecodec-feed-server: stopped")
    }
}

/// Runs `service` once `wait` returns.
struct StartAfter: Service {
    let wait: @Sendable () async -> Void
    let service: any Service

    func run() async throws {
        await wait()
        try await service.run()
    }
}

/// A line on standard output, written at once (tests read the port from the first line).
func say(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress! + offset, $0.count - offset) }
        if n <= 0 { return }
        offset += n
    }
}
