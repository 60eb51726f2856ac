import Foundation
import NIOCore

/// What the simulated clients of one run saw. Lives on the clients' one event loop; the
/// orchestrating thread reads it through ``snapshot(on:)``.
final class LoadStats: @unchecked Sendable {
    struct Snapshot: Sendable, Codable {
        var ready = 0
        var failed = 0
        var bytesSent = 0
        var bytesReceived = 0
        /// Bytes both ways before the measurement window (connecting, handshakes, first polls).
        var setupBytes = 0
        var requests = 0
        var delivered = 0
        /// Deliveries that were not the next id for that client (a gap, a repeat, out of order).
        var orderViolations = 0
        var lastDelivery: UInt64 = 0
        var latenciesNs: [UInt64] = []
        var errors: [String] = []
        /// Connections that ended and were made again (an instance or a proxy went away).
        var reconnects = 0
        /// Steps down the ladder of technique `auto` (WebSocket → SSE → long polling).
        var fallbacks = 0
        /// Per technique, the clients whose first working connection used it.
        var finalTechniques: [String: Int] = [:]
        /// For clients that fell back: the time from their start to their first working
        /// connection.
        var fallbackNs: [UInt64] = []

        /// Adds what another group of clients (a worker process's) saw.
        mutating func merge(_ other: Snapshot) {
            ready += other.ready
            failed += other.failed
            bytesSent += other.bytesSent
            bytesReceived += other.bytesReceived
            setupBytes += other.setupBytes
            requests += other.requests
            delivered += other.delivered
            orderViolations += other.orderViolations
            lastDelivery = max(lastDelivery, other.lastDelivery)
            latenciesNs += other.latenciesNs
            errors += other.errors.prefix(max(0, 20 - errors.count))
            reconnects += other.reconnects
            fallbacks += other.fallbacks
            finalTechniques.merge(other.finalTechniques, uniquingKeysWith: +)
            fallbackNs += other.fallbackNs
        }
    }

    /// Whether bytes, requests and deliveries are counted now (the measurement window).
    var counting = false
    var value = Snapshot()

    func snapshot(on loop: any EventLoop) throws -> Snapshot {
        try loop.submit { self.value }.wait()
    }

    func noteError(_ text: String) {
        if value.errors.count < 20 { value.errors.append(text) }
    }

    /// A client's first working connection: its technique, and how long it took to get
    /// there when it fell back.
    func noteFinalTechnique(_ technique: Technique, afterNs: UInt64, fellBack: Bool) {
        value.finalTechniques[technique.rawValue, default: 0] += 1
        if fellBack { value.fallbackNs.append(afterNs) }
    }
}

/// Counts the application bytes each client connection writes and reads (HTTP heads and
/// framing, WebSocket frames, TLS-free: what TCP carries above its own headers).
final class ByteCounter: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let stats: LoadStats

    init(stats: LoadStats) {
        self.stats = stats
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let count = unwrapInboundIn(data).readableBytes
        if stats.counting { stats.value.bytesReceived += count } else { stats.value.setupBytes += count }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let count = unwrapOutboundIn(data).readableBytes
        if stats.counting { stats.value.bytesSent += count } else { stats.value.setupBytes += count }
        context.write(data, promise: promise)
    }
}

/// One client's view of the feed: checks that ids arrive in order without gaps, and
/// measures the latency from publication (the publisher's stamp) to receipt.
struct FeedCursor {
    var lastId: Int

    /// Records item `id`, published at `stamp` (monotonic ns).
    mutating func receive(id: Int, stamp: UInt64?, stats: LoadStats) {
        defer { lastId = max(lastId, id) }
        guard stats.counting else { return }
        if id != lastId + 1 { stats.value.orderViolations += 1 }
        stats.value.delivered += 1
        let now = NIODeadline.now().uptimeNanoseconds
        stats.value.lastDelivery = now
        if let stamp, now >= stamp { stats.value.latenciesNs.append(now - stamp) }
    }
}

/// Reads the publisher's stamp out of an item's data: `{"t":NANOSECONDS,...}`.
func publishStamp(_ data: some StringProtocol) -> UInt64? {
    guard let start = data.range(of: #""t":"#)?.upperBound else { return nil }
    return UInt64(data[start...].prefix { $0.isNumber })
}
