public import NIOCore
public import NIOPosix
public import WireHTTP1
public import WireSSE
import WireCore

/// Follows an event stream over the network, as a browser's `EventSource` does: the
/// transport of an ``EventSourceClient`` (sans I/O), with async/await.
///
/// ```swift
/// let runner = EventSourceRunner(url: try WireURL("https://example.com/feed"),
///                                connection: .init(security: try TLSClientSecurity()))
/// let end = try await runner.run { event in
///     if case .message(let message) = event { print(message.data) }
///     return .continue
/// }
/// print(end)   // .noContent, .status(404, ...), .closedByClient, ...
/// ```
///
/// - Each attempt opens a connection (through the proxy and TLS of `connection`), writes the
///   client's request and feeds it what the server sends; between attempts the runner sleeps
///   for the reconnection time. Network errors reconnect; those the TLS layer calls fatal
///   (a certificate that does not verify) stop the runner, as does a 204, another status, or
///   another content type (``EventSourceFailure``).
/// - Backpressure: `body` is awaited before more bytes are read.
/// - Deadlines (response timeout, idle timeout) are the client's, armed with the event loop's
///   monotonic clock; the connect timeout is ``ClientConnectionConfiguration/connectTimeout``.
/// - Cancelling the task closes the connection and ends `run` with `CancellationError`.
public struct EventSourceRunner: Sendable {
    /// What to do after an event.
    public enum Next: Sendable, Hashable {
        case `continue`
        /// Close the connection and return ``EventSourceFailure/closedByClient``.
        case stop
    }

    public let url: WireURL
    public let configuration: EventSourceConfiguration
    public let connection: ClientConnectionConfiguration
    public let lastEventID: String
    let group: any EventLoopGroup

    /// - Parameters:
    ///   - lastEventID: resume after this ID (sent as `Last-Event-ID` from the first request).
    ///   - group: where connections run (default: NIO's shared loops).
    public init(
        url: WireURL, configuration: EventSourceConfiguration = .init(), connection: ClientConnectionConfiguration = .init(),
        lastEventID: String = "", group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.url = url
        self.configuration = configuration
        self.connection = connection
        self.lastEventID = lastEventID
        self.group = group
    }

    /// Runs the client until it stops; calls `body` with every event, in order.
    ///
    /// - Returns: why it stopped.
    /// - Throws: what `body` throws, or `CancellationError`.
    public func run(_ body: (EventSourceEvent) async throws -> Next) async throws -> EventSourceFailure {
        var client = EventSourceClient(url: url, configuration: configuration, lastEventID: lastEventID)
        let loop = group.next()
        func now() -> WireInstant { WireInstant(nanoseconds: loop.now.uptimeNanoseconds) }
        while true {
            while let event = client.nextEvent() {
                if try await body(event) == .stop {
                    client.close()
                    return .closedByClient
                }
            }
            let deadline = client.tick(now: now())
            switch client.transport {
            case .closed:
                return client.failure ?? .closedByClient
            case .wait:
                if let deadline {
                    let delay = deadline.nanoseconds &- min(deadline.nanoseconds, now().nanoseconds)
                    try await Task.sleep(for: .nanoseconds(Int64(clamping: delay)))
                }
                try Task.checkCancellation()
            case .keepOpen:
                preconditionFailure("a connection is only open inside attempt(_:)")
            case .connect(let target):
                let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
                do {
                    channel = try await ClientConnector.connect(
                        to: target, configuration: connection, group: group, protocolHandlers: { [] },
                        wrap: { channel in try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) })
                } catch {
                    try Task.checkCancellation()
                    client.connectionFailed(describe(error), fatal: isFatal(error))
                    continue
                }
                let stopped = try await attempt(channel, &client, now: now, body)
                if stopped { return .closedByClient }
            }
        }
    }

    /// One connection: request out, bytes in, until the client leaves `keepOpen`. Returns
    /// whether `body` asked to stop.
    func attempt(
        _ channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>, _ client: inout EventSourceClient,
        now: () -> WireInstant, _ body: (EventSourceEvent) async throws -> Next
    ) async throws -> Bool {
        let raw = channel.channel
        return try await channel.executeThenClose { inbound, outbound in
            client.connectionOpened()
            var reader = inbound.makeAsyncIterator()
            while true {
                let request = client.takeOutbound()
                if !request.isEmpty {
                    do {
                        try await outbound.write(raw.allocator.buffer(bytes: request))
                    } catch {
                        // The channel closed before the request was queued: a TLS handshake
                        // that failed on the event loop before this task ran, or a peer that
                        // hung up at once. The writer only says "I/O on closed channel"; the
                        // read below reports why (the error the channel caught, or the end of
                        // the stream), as it does when the close comes after the write.
                        try Task.checkCancellation()
                    }
                }
                while let event = client.nextEvent() {
                    if try await body(event) == .stop {
                        client.close()
                        return true
                    }
                }
                let deadline = client.tick(now: now())
                guard client.transport == .keepOpen else { return false }
                // A deadline closes the channel under the read; the tick after it says why.
                let timer = deadline.map { deadline in
                    raw.eventLoop.scheduleTask(deadline: .uptimeNanoseconds(deadline.nanoseconds)) { raw.close(promise: nil) }
                }
                do {
                    let chunk = try await reader.next()
                    timer?.cancel()
                    if let chunk {
                        client.receive(chunk.readableBytesUInt8Span)
                    } else if let deadline, now() >= deadline {
                        client.tick(now: now())
                    } else {
                        client.receiveEOF()
                    }
                } catch {
                    timer?.cancel()
                    try Task.checkCancellation()
                    if let deadline, now() >= deadline {
                        client.tick(now: now())
                    } else {
                        client.connectionFailed(describe(error), fatal: isFatal(error))
                    }
                }
            }
        }
    }

    /// Errors a reconnection cannot fix: a proxy that wants other credentials, a proxy string
    /// or URL we cannot use, TLS without settings, and what the TLS layer calls fatal.
    private func isFatal(_ error: any Error) -> Bool {
        if let error = error as? HTTPProxyError {
            return [.proxyAuthenticationRequired, .unsupportedProxyScheme, .invalidProxyURL, .invalidTarget].contains(error.code)
        }
        if let error = error as? ClientConnectionError {
            return error.code == .tlsNotConfigured || error.code == .noPort
        }
        return connection.security?.isFatal(error) ?? false
    }

    private func describe(_ error: any Error) -> String {
        connection.security?.describe(error) ?? ClientConnectionError.describe(error)
    }
}
