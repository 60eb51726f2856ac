import NIOCore
import Synchronization

/// Event streams that receive the same events: a feed's Server-Sent Events subscribers.
///
/// An event is serialized once (``HTTPPreparedBody``: its bytes and their chunk, each one
/// shared buffer) and handed to every member's connection on the member's own event loop,
/// in one task per event loop; no task of the application wakes up. Calls dispatch at once,
/// in order, as ``WebSocketBroadcastGroup``'s do: add a stream with its backlog and it misses
/// nothing published after.
///
/// Slow consumers: events cannot be dropped from a stream without a gap, so a member whose
/// connection has stayed unwritable while more than ``maxBytesBehind`` bytes were written to
/// it is closed; its `EventSource` reconnects with `Last-Event-ID` and resumes from your
/// history (WHATWG HTML §9.2.4).
///
/// A member leaves when its response ends (the handler returns, a graceful shutdown ends the
/// stream), when its connection closes, or by ``remove(_:)``.
public final class ServerSentEventBroadcastGroup: Sendable {
    /// Bytes a member may fall behind (written while its connection was not writable) before
    /// it is closed. Default 256 KiB.
    public let maxBytesBehind: Int
    private let shards = EventLoopShards<HTTPStreamMember>()

    public init(maxBytesBehind: Int = 256 * 1024) {
        precondition(maxBytesBehind >= 1)
        self.maxBytesBehind = maxBytesBehind
    }

    /// Members now (approximate while adds and removes are on their way).
    public var count: Int { shards.count }

    /// Adds an event stream, after writing it `first` (its backlog), in order with the
    /// group's broadcasts.
    public func add(_ stream: ServerSentEventWriter, sendingFirst first: [HTTPPreparedBody] = []) {
        add(stream.state, first)
    }

    /// Adds a streamed response body (chunked JSON lines, say) the same way.
    public func add(_ body: HTTPResponseBodyWriter, sendingFirst first: [HTTPPreparedBody] = []) {
        add(body.state, first)
    }

    func add(_ state: ResponseState, _ first: [HTTPPreparedBody]) {
        let member = state.streamMember()
        let shard = shards.shard(for: member.eventLoop)
        let maxBytesBehind = self.maxBytesBehind
        member.eventLoop.execute {
            guard member.bind() else { return }
            for body in first { _ = member.write(body, maxBytesBehind: maxBytesBehind, flush: false) }
            member.flush()
            if member.isActive { shard.add(member) }
        }
    }

    /// Removes an event stream (broadcasts made after this call do not reach it).
    public func remove(_ stream: ServerSentEventWriter) {
        remove(stream.state)
    }

    func remove(_ state: ResponseState) {
        let member = state.streamMember()
        let shard = shards.shard(for: member.eventLoop)
        member.eventLoop.execute { shard.remove(member) }
    }

    /// Writes `body` (one or more serialized events) to every member. Returns at once;
    /// ``ServerSentEventBroadcast/report()`` waits until every member's connection has it.
    @discardableResult
    public func broadcast(_ body: HTTPPreparedBody) -> ServerSentEventBroadcast {
        let maxBytesBehind = self.maxBytesBehind
        return ServerSentEventBroadcast(reports: shards.submitToEach { shard in
            var report = ServerSentEventBroadcastReport()
            for member in shard.members {
                report.add(member.write(body, maxBytesBehind: maxBytesBehind, flush: true))
            }
            return report
        })
    }
}

/// What one event-stream broadcast did, summed over the group's members.
public struct ServerSentEventBroadcastReport: Sendable, Hashable {
    /// Members the bytes were written to.
    public var written = 0
    /// Members closed because they had fallen more than `maxBytesBehind` behind.
    public var closedSlowConsumers = 0
    /// Members whose response or connection had ended.
    public var ended = 0

    public init() {}

    mutating func add(_ outcome: HTTPStreamMember.Outcome) {
        switch outcome {
        case .written: written += 1
        case .closedSlowConsumer: closedSlowConsumers += 1
        case .ended: ended += 1
        }
    }
}

/// A broadcast on its way to a group's event streams.
public struct ServerSentEventBroadcast: Sendable {
    let reports: [EventLoopFuture<ServerSentEventBroadcastReport>]

    /// What the broadcast did, once every member's connection has it.
    public func report() async -> ServerSentEventBroadcastReport {
        var total = ServerSentEventBroadcastReport()
        for future in reports {
            if let report = try? await future.get() {
                total.written += report.written
                total.closedSlowConsumers += report.closedSlowConsumers
                total.ended += report.ended
            }
        }
        return total
    }
}

/// A streamed response in broadcast groups, written from its event loop through the
/// connection's HTTP phase bridge (after the head its handler wrote: both go through the
/// same event loop, in order). Ended before the response's last chunk is written.
final class HTTPStreamMember: EventLoopShardMember, @unchecked Sendable {
    enum Outcome {
        case written, closedSlowConsumer, ended
    }

    let eventLoop: any EventLoop
    private let channel: any Channel
    // The fields below are touched on `eventLoop` only.
    private var context: ChannelHandlerContext?
    private var ended = false
    private var bytesBehind = 0
    /// Something was written since the last ``takeWroteSinceCheck()`` (a heartbeat's check).
    private var wroteSinceCheck = false
    /// The member was closed for falling too far behind.
    private(set) var closedAsSlowConsumer = false
    var memberships: [EventLoopShards<HTTPStreamMember>.Shard] = []

    init(channel: any Channel) {
        self.channel = channel
        self.eventLoop = channel.eventLoop
    }

    var isActive: Bool { !ended && channel.isActive }

    /// Finds the bridge to write through (once); false when the member cannot be written.
    func bind() -> Bool {
        guard !ended else { return false }
        if context == nil { context = ServerBridge.context(of: channel) }
        return context != nil
    }

    func write(_ body: HTTPPreparedBody, maxBytesBehind: Int, flush: Bool) -> Outcome {
        guard isActive, let context else {
            leave()
            return .ended
        }
        if channel.isWritable {
            bytesBehind = 0
        } else {
            bytesBehind += body.count
            if bytesBehind > maxBytesBehind {
                // Cannot drop events from a stream: close; the client resumes with Last-Event-ID.
                closedAsSlowConsumer = true
                end()
                channel.close(promise: nil)
                return .closedSlowConsumer
            }
        }
        ServerBridge.write(.preparedBody(body), context: context)
        if flush { context.flush() }
        wroteSinceCheck = true
        return .written
    }

    /// Whether anything was written since the last call.
    func takeWroteSinceCheck() -> Bool {
        defer { wroteSinceCheck = false }
        return wroteSinceCheck
    }

    func flush() {
        if isActive { context?.flush() }
    }

    /// The response is ending (or the application removed it everywhere): no more writes.
    func end() {
        ended = true
        leave()
    }

    private func leave() {
        leaveShards()
    }
}

/// The handler between a connection's protocol handlers and its `NIOAsyncChannel`
/// (``HTTPPhaseBridge`` over HTTP/1.1, ``HTTP2StreamBridge`` on an HTTP/2 stream): what the
/// event loop writes on the application's behalf goes through it, as the application's own
/// writes do.
enum ServerBridge {
    static func context(of channel: any Channel) -> ChannelHandlerContext? {
        let pipeline = channel.pipeline.syncOperations
        if let context = try? pipeline.context(handlerType: HTTPPhaseBridge.self) { return context }
        return try? pipeline.context(handlerType: HTTP2StreamBridge.self)
    }

    /// Writes `event` as if it came from the application (on the event loop).
    static func write(_ event: ServerConnectionOutbound, context: ChannelHandlerContext, promise: EventLoopPromise<Void>? = nil) {
        switch context.handler {
        case let bridge as HTTPPhaseBridge: bridge.write(context: context, data: NIOAny(event), promise: promise)
        case let bridge as HTTP2StreamBridge: bridge.write(context: context, data: NIOAny(event), promise: promise)
        default: promise?.fail(HTTPServerError(.connectionClosed))
        }
    }
}
