import ArgumentParser
import NIOCore
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

    @OptionGroup var server: ServerOptions

    func validate() throws {
        for (name, value) in [("long-poll-timeout-ms", longPollTimeoutMs), ("heartbeat-ms", heartbeatMs), ("web-socket-ping-ms", webSocketPingMs)]
        where value < 1 {
            throw ValidationError("--\(name) must be at least 1")
        }
        if publishEveryMs < 0 { throw ValidationError("--publish-every-ms must not be negative") }
        if history < 1 { throw ValidationError("--history must be at least 1") }
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
        let feed = Feed(options: options)
        let configuration = try server.configuration(host: host, port: port)
        let scheme = configuration.scheme
        let host = self.host
        let server = FeedServer(feed: feed).makeServer(configuration: configuration) { address in
            say("wirecodec-feed-server: listening on \(scheme)://\(host):\(address.port ?? 0)/ (pid \(getpid()))")
        }
        // The server is shut down first (it is last), then the feed's timers.
        try await ServerOptions.runUntilSignalled([feed, server], label: "wirecodec-feed-server")
        say("wirecodec-feed-server: stopped")
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
