import ArgumentParser
import Dispatch
import NIOCore
import NIOPosix
import WireCodec
import WireCodecNIO

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `wirecodec-feed-server`: one live feed served four ways (short polling, long polling,
/// Server-Sent Events, WebSocket), on WireCodec and SwiftNIO. One event loop holds the feed
/// and every connection.
@main
struct FeedServerCommand: ParsableCommand {
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

    func validate() throws {
        for (name, value) in [("long-poll-timeout-ms", longPollTimeoutMs), ("heartbeat-ms", heartbeatMs), ("web-socket-ping-ms", webSocketPingMs)]
        where value < 1 {
            throw ValidationError("--\(name) must be at least 1")
        }
        if publishEveryMs < 0 { throw ValidationError("--publish-every-ms must not be negative") }
        if history < 1 { throw ValidationError("--history must be at least 1") }
    }

    func run() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var options = Feed.Options()
        options.longPollTimeout = .milliseconds(Int64(longPollTimeoutMs))
        options.heartbeat = .milliseconds(Int64(heartbeatMs))
        options.webSocketPing = .milliseconds(Int64(webSocketPingMs))
        options.publishEvery = publishEveryMs > 0 ? .milliseconds(Int64(publishEveryMs)) : nil
        options.historyLimit = history
        options.deflate = !noDeflate
        let feed = Feed(loop: group.next(), options: options)
        let channel: any Channel
        do {
            channel = try FeedServer.bootstrap(group: group, feed: feed).bind(host: host, port: port).wait()
        } catch {
            try? group.syncShutdownGracefully()
            throw error
        }
        feed.start()
        let bound = channel.localAddress?.port ?? port
        say("wirecodec-feed-server: listening on http://\(host):\(bound)/ (pid \(getpid()))")

        // SIGINT/SIGTERM: stop accepting, let the loop finish, exit 0.
        let signalQueue = DispatchQueue(label: "signals")
        var sources: [any DispatchSourceSignal] = []
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: signalQueue)
            source.setEventHandler { channel.close(promise: nil) }
            source.resume()
            sources.append(source)
        }
        try channel.closeFuture.wait()
        feed.loop.execute { feed.stop() }
        for source in sources { source.cancel() }
        try group.syncShutdownGracefully()
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
