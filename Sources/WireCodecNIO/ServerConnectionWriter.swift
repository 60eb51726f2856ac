import NIOCore

/// Where a server connection's task writes: its `NIOAsyncChannel`'s writer, or — for a
/// connection whose task ended while a long poll was held on the event loop and a new task
/// took it up — straight through the connection's HTTP phase bridge on its event loop (each
/// write waits until it is written: the backpressure the async writer gives otherwise).
struct ServerConnectionWriter: Sendable {
    private enum Base: Sendable {
        case asyncChannel(NIOAsyncChannelOutboundWriter<ServerConnectionOutbound>)
        case direct(any Channel)
    }

    private let base: Base

    init(_ writer: NIOAsyncChannelOutboundWriter<ServerConnectionOutbound>) {
        base = .asyncChannel(writer)
    }

    /// Writes through the pipeline's bridge (``ServerBridge``) of `channel`.
    init(direct channel: any Channel) {
        base = .direct(channel)
    }

    func write(_ event: ServerConnectionOutbound) async throws {
        try await write(contentsOf: [event])
    }

    func write(contentsOf events: [ServerConnectionOutbound]) async throws {
        switch base {
        case .asyncChannel(let writer):
            try await writer.write(contentsOf: events)
        case .direct(let channel):
            guard !events.isEmpty else { return }
            let loop = channel.eventLoop
            let write: @Sendable () -> EventLoopFuture<Void> = {
                guard channel.isActive, let context = ServerBridge.context(of: channel) else {
                    return loop.makeFailedFuture(ChannelError.ioOnClosedChannel)
                }
                let written = loop.makePromise(of: Void.self)
                for (index, event) in events.enumerated() {
                    ServerBridge.write(event, context: context, promise: index == events.count - 1 ? written : nil)
                }
                context.flush()
                return written.futureResult
            }
            // A task running on the loop (WireServer.Configuration.runsTasksOnEventLoop) writes at once.
            try await (loop.inEventLoop ? write() : loop.flatSubmit(write)).get()
        }
    }
}
