import HTTPTypes
public import Logging
public import NIOCore
public import NIOPosix
import NIOTLS
public import ServiceLifecycle
import Synchronization
import WireCore
public import WireHTTP1
public import WireWebSocket

/// An HTTP/1.1 and WebSocket server on the codec, with async/await handlers: a
/// swift-service-lifecycle `Service` that runs in a `ServiceGroup` and shuts down gracefully.
///
/// ```swift
/// let server = WireServer(configuration: .init(host: "127.0.0.1", port: 8080)) { request, response in
///     try await response.send(HTTPResponse(status: .ok), body: "hello\n")
/// } webSocket: { upgrade in
///     guard upgrade.path == "/echo" else { return .reject(.notFound) }
///     return .accept { webSocket in
///         for try await message in webSocket.inbound { try await webSocket.outbound.send(message) }
///     }
/// }
/// try await ServiceGroup(services: [server], gracefulShutdownSignals: [.sigterm], logger: logger).run()
/// ```
///
/// - Each request goes to the HTTP handler with its body as an async sequence and a
///   ``HTTPResponseWriter``; requests on a connection are answered in order (pipelining).
///   The handler runs in its own task, cancelled when the connection closes (a client that
///   goes away while a long poll is held), on the connection's event loop (so it must not
///   block its thread) unless ``Configuration/runsTasksOnEventLoop`` is off.
/// - An Upgrade request to WebSocket goes to the WebSocket handler once the server has
///   validated it (RFC 6455 §4.2.1, the `Origin` policy); without a WebSocket handler it is
///   an ordinary request.
/// - Timeouts: ``Configuration/timeouts`` (``HTTP1Timeouts``) bound a slow request head, an
///   idle keep-alive connection and a stalled body.
/// - TLS: ``Configuration/tls`` (`WireCodecTLS`), one port for `https://` and `wss://`.
/// - Graceful shutdown (the `ServiceGroup`'s signal, or ``shutdownGracefully()``): the server
///   stops accepting; idle connections close; requests in progress get their response (with
///   `Connection: close`), within ``Configuration/shutdownGracePeriod``; WebSockets are closed
///   with 1001 (going away) and their handlers see the closing handshake end; event streams
///   (``HTTPResponseWriter/startEventStream(headerFields:)``) end at once, cleanly. Handlers
///   may also watch the shutdown with swift-service-lifecycle's `cancelWhenGracefulShutdown`
///   (a held long poll answering early, say). When the grace period is over, what still runs
///   is cancelled and its connection closed. Then ``run()`` returns.
public final class WireServer: Service, Sendable {
    /// Answers one request.
    public typealias HTTPHandler = @Sendable (HTTPServerRequest, HTTPResponseWriter) async throws -> Void
    /// Decides on one WebSocket upgrade.
    public typealias WebSocketUpgradeHandler = @Sendable (WebSocketUpgradeRequest) async throws -> WebSocketUpgradeDecision

    /// Where and how the server listens.
    public struct Configuration: Sendable {
        /// The address to bind (default `127.0.0.1`).
        public var host: String
        /// The port (0: any free port; see ``WireServer/listeningAddress``).
        public var port: Int
        /// The listen backlog. Default 256.
        public var backlog: Int32 = 256
        /// `SO_REUSEPORT`: several processes bind the same address and port, and the kernel
        /// spreads new connections over them (Linux). Default `false`.
        public var reusePort = false
        /// TLS for every connection (then the port speaks only TLS): a
        /// `TLSServerConfiguration` from `WireCodecTLS`. `nil` (default): plain TCP.
        public var tls: (any ServerTransportSecurity)?
        /// Parser limits and leniencies for requests.
        public var http: HTTP1ParserConfiguration = .init()
        /// Receive deadlines (defaults: request head 30 s, idle 60 s, body progress 60 s).
        public var timeouts: HTTP1Timeouts = .init()
        /// The WebSocket handshake policy: the `Origin` check (default same-origin), the
        /// subprotocols spoken, permessage-deflate (default: declined; opt in per server or
        /// per upgrade).
        public var webSocketPolicy: WebSocketServerPolicy = .init()
        /// Limits, keep-alive pings and timeouts of accepted WebSockets.
        public var webSocket: WebSocketConfiguration = .init()
        /// Each accepted WebSocket's send queue: the bound on data held for a slow reader
        /// (256 KiB) and what happens when it is reached (the sender waits); an upgrade may
        /// choose its own (``WebSocketUpgradeDecision/accept(subprotocol:deflate:headerFields:configuration:sendQueue:handler:)``).
        public var webSocketSendQueue: WebSocketSendQueueConfiguration = .init()
        /// How long a graceful shutdown waits for requests in progress and WebSocket closing
        /// handshakes before cancelling and closing what remains. Default 30 s (the time
        /// orchestrators such as Kubernetes allow by default).
        public var shutdownGracePeriod: Duration = .seconds(30)
        /// Request body bytes the server reads and discards after a handler that left its body
        /// unread, to keep the connection; beyond that it closes the connection. Default 1 MiB.
        public var maxDiscardedBodyBytes = 1 << 20
        /// Called for each accepted connection on its event loop, after TLS and before the
        /// HTTP handlers: your own handlers (a byte tap, metrics). Default `nil`.
        public var configureConnection: (@Sendable (any Channel) throws -> Void)?
        /// HTTP/2 (RFC 9113) for TLS connections whose ALPN chose `h2` (offer it with
        /// `TLSServerConfiguration(applicationProtocols: ["h2", "http/1.1"])`): the same
        /// handlers serve both, WebSockets through extended CONNECT (RFC 8441). Limits and
        /// windows: ``HTTP2Configuration``.
        public var http2: HTTP2Configuration = .init()
        /// Whether a connection's tasks run on the connection's own event loop: the server's
        /// task reading it and the application's handlers (HTTP, WebSocket upgrade decision,
        /// WebSocket, HTTP/2 streams) have that loop as their task executor preference
        /// (SE-0417), inherited by the child tasks they make (`async let`, task groups).
        ///
        /// Default `true`: a request's events, its handler and its response stay on the loop's
        /// thread, with no thread of Swift's global pool woken to read the request and none to
        /// write the response. Measured (Spec/performance/e2e.md): a WebSocket handler echoing
        /// 20-byte messages costs 13–31 % less server CPU per message, at 12–33 % more messages
        /// per second; a hello-world request costs about the same either way.
        ///
        /// The price: a handler that **blocks** its thread (synchronous file or database I/O, a
        /// lock held for long, a long computation) blocks the event loop, and every other
        /// connection on that loop waits. Such work belongs elsewhere — awaited on another
        /// executor (`withTaskExecutorPreference(globalConcurrentExecutor) { ... }`), on NIO's
        /// `NIOThreadPool` — or set this to `false`: then every task runs on Swift's global
        /// concurrent executor, and each event between the loop and a task crosses threads.
        /// Unstructured tasks a handler makes (`Task { }`) never inherit the preference.
        public var runsTasksOnEventLoop = true

        public init(host: String = "127.0.0.1", port: Int = 8080, tls: (any ServerTransportSecurity)? = nil) {
            self.host = host
            self.port = port
            self.tls = tls
        }

        /// `https` with TLS, `http` without (the scheme of requests, and of the same-origin
        /// check of WebSocket upgrades).
        public var scheme: String { tls == nil ? "http" : "https" }
    }

    public let configuration: Configuration
    public let logger: Logger
    let eventLoopGroup: any EventLoopGroup
    let httpHandler: HTTPHandler
    let webSocketHandler: WebSocketUpgradeHandler?
    /// The task executors of the group's loops (``Configuration/runsTasksOnEventLoop``).
    private let executors: EventLoopTaskExecutors?
    private let onListening: (@Sendable (SocketAddress) async -> Void)?

    private enum Phase: Sendable {
        case initial
        case running(any Channel)
        case shuttingDown
        case finished
    }

    private struct State: Sendable {
        var phase = Phase.initial
        var address: SocketAddress?
        var connections: [ObjectIdentifier: ServerConnectionContext] = [:]
        var graceTimer: Scheduled<Void>?
        /// HTTP/1.1 connections whose task runs (``serve(_:)-(AcceptedConnection)``).
        var connectionTasks = 0
    }

    private let state = Mutex(State())

    /// Connections to serve again after a held long poll (``resume(_:after:)``), taken up by a
    /// task of the server's (which makes each a task of its own); `executor`: where that task
    /// runs.
    private struct Resumptions: Sendable {
        let stream: AsyncStream<ServerConnection>
        let continuation: AsyncStream<ServerConnection>.Continuation
        let executor: EventLoopTaskExecutor?

        init(executor: EventLoopTaskExecutor?) {
            (stream, continuation) = AsyncStream<ServerConnection>.makeStream()
            self.executor = executor
        }
    }

    /// One queue of resumptions per event loop when tasks run on the loops (so that a poll
    /// answered on a loop is taken up on it, without crossing threads), keyed by the loop.
    private let resumptionsByLoop: [ObjectIdentifier: Resumptions]
    /// The queue of the other connections (all, when tasks run on Swift's global executor).
    private let sharedResumptions = Resumptions(executor: nil)

    /// - Parameters:
    ///   - eventLoopGroup: where connections run (default: NIO's shared singleton group).
    ///   - onListening: called once bound, with the address (the port when you asked for 0).
    ///   - http: answers each request.
    ///   - webSocket: decides on WebSocket upgrades (`nil`: Upgrade requests are ordinary
    ///     requests for `http`).
    public init(
        configuration: Configuration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "wirecodec.server"),
        onListening: (@Sendable (SocketAddress) async -> Void)? = nil,
        http: @escaping HTTPHandler,
        webSocket: WebSocketUpgradeHandler? = nil
    ) {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        self.onListening = onListening
        self.httpHandler = http
        self.webSocketHandler = webSocket
        let executors = configuration.runsTasksOnEventLoop ? EventLoopTaskExecutors(eventLoopGroup) : nil
        self.executors = executors
        var resumptionsByLoop: [ObjectIdentifier: Resumptions] = [:]
        for executor in executors?.all ?? [] {
            resumptionsByLoop[ObjectIdentifier(executor.eventLoop)] = Resumptions(executor: executor)
        }
        self.resumptionsByLoop = resumptionsByLoop
    }

    /// The executor preference of tasks serving a connection on `eventLoop`: the loop's own
    /// (``Configuration/runsTasksOnEventLoop``), or none (Swift's global concurrent executor).
    func taskExecutor(for eventLoop: any EventLoop) -> (any TaskExecutor)? {
        executors?.executor(for: eventLoop)
    }

    /// The address the server listens on, once ``run()`` has bound it.
    public var listeningAddress: SocketAddress? { state.withLock { $0.address } }

    /// Runs the server until a graceful shutdown (or cancellation) ends it.
    public func run() async throws {
        let serverChannel = try await bind()
        let address = serverChannel.channel.localAddress
        let proceed = state.withLock { state -> Bool in
            guard case .initial = state.phase else { return false }
            state.phase = .running(serverChannel.channel)
            state.address = address
            return true
        }
        guard proceed else {
            try? await serverChannel.channel.close()
            return
        }
        logger.info("listening", metadata: ["address": "\(address.map { "\($0)" } ?? "?")", "scheme": "\(configuration.scheme)"])
        if let address, let onListening { await onListening(address) }

        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await withDiscardingTaskGroup { group in
                    let resumptions = [self.sharedResumptions] + self.resumptionsByLoop.values
                    for queue in resumptions {
                        group.addTask(executorPreference: queue.executor) {
                            // Each in a task that inherits this one's task-local values.
                            for await connection in queue.stream {
                                Task(executorPreference: connection.context.taskExecutor) {
                                    await self.serveResumed(connection)
                                }
                            }
                        }
                    }
                    do {
                        try await serverChannel.executeThenClose { inbound in
                            for try await negotiation in inbound {
                                group.addTask(executorPreference: self.taskExecutor(for: negotiation.eventLoop)) {
                                    await self.serve(negotiation)
                                }
                            }
                        }
                    } catch {
                        self.logger.debug("accepting ended", metadata: ["error": "\(error)"])
                    }
                    // From now on a resumed connection gets a task of its own.
                    for queue in resumptions { queue.continuation.finish() }
                }
                await self.waitForDetachedConnections()
            } onGracefulShutdown: {
                self.shutdownGracefully()
            }
        } onCancel: {
            self.closeEverything()
        }
        state.withLock {
            $0.graceTimer?.cancel()
            $0.graceTimer = nil
            $0.phase = .finished
        }
        logger.info("stopped")
    }

    /// Starts a graceful shutdown (what a `ServiceGroup` does on its signal); ``run()``
    /// returns when it is over.
    public func shutdownGracefully() {
        let action = state.withLock { state -> (any Channel, [ServerConnectionContext])? in
            switch state.phase {
            case .initial:
                state.phase = .finished
                return nil
            case .running(let channel):
                state.phase = .shuttingDown
                return (channel, Array(state.connections.values))
            case .shuttingDown, .finished:
                return nil
            }
        }
        guard let (serverChannel, connections) = action else { return }
        logger.info("graceful shutdown", metadata: ["connections": "\(connections.count)"])
        serverChannel.close(promise: nil)
        for connection in connections { connection.quiesce() }
        let grace = configuration.shutdownGracePeriod
        let timer = serverChannel.eventLoop.scheduleTask(in: .nanoseconds(Int64(clamping: grace.nanosecondsClamped))) {
            [self] in
            let remaining = state.withLock { Array($0.connections.values) }
            if !remaining.isEmpty {
                logger.info("grace period over", metadata: ["closing": "\(remaining.count)"])
            }
            for connection in remaining { connection.forceClose() }
        }
        state.withLock { $0.graceTimer = timer }
    }

    /// Cancellation: close the listener and every connection now.
    private func closeEverything() {
        let (channel, connections) = state.withLock { state -> ((any Channel)?, [ServerConnectionContext]) in
            var channel: (any Channel)?
            if case .running(let c) = state.phase { channel = c }
            state.phase = .shuttingDown
            return (channel, Array(state.connections.values))
        }
        channel?.close(promise: nil)
        for connection in connections { connection.forceClose() }
    }

    // MARK: Binding

    /// `SO_REUSEPORT` (NIO names no constant for it): 15 on Linux, 0x200 on the BSDs and Darwin.
    #if os(Linux)
    static let soReusePort: CInt = 15
    #else
    static let soReusePort: CInt = 0x200
    #endif

    private func bind() async throws -> NIOAsyncChannel<EventLoopFuture<NegotiatedConnection>, Never> {
        let configuration = self.configuration
        let acceptsWebSockets = webSocketHandler != nil
        return try await ServerBootstrap(group: eventLoopGroup)
            .serverChannelOption(.backlog, value: configuration.backlog)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.socketOption(.init(rawValue: Self.soReusePort)), value: configuration.reusePort ? 1 : 0)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: configuration.host, port: configuration.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try Self.configureConnection(channel, configuration: configuration, acceptsWebSockets: acceptsWebSockets)
                }
            }
    }

    /// The pipeline of an accepted connection: TLS (if configured); when TLS offers `h2`,
    /// ALPN decides between HTTP/2 (``configureHTTP2(_:configuration:acceptsWebSockets:)``)
    /// and HTTP/1.1 once the handshake is done; otherwise HTTP/1.1 at once.
    static func configureConnection(
        _ channel: any Channel, configuration: Configuration, acceptsWebSockets: Bool
    ) throws -> EventLoopFuture<NegotiatedConnection> {
        if let tls = configuration.tls { try tls.configureServerChannel(channel) }
        try configuration.configureConnection?(channel)
        guard configuration.tls?.applicationProtocols.contains("h2") == true else {
            return channel.eventLoop.makeSucceededFuture(.http1(try configureHTTP1(channel, configuration: configuration)))
        }
        let alpn = NIOTypedApplicationProtocolNegotiationHandler<NegotiatedConnection> { result, channel in
            channel.eventLoop.makeCompletedFuture {
                switch result {
                case .negotiated("h2"):
                    return .http2(try configureHTTP2(channel, configuration: configuration, acceptsWebSockets: acceptsWebSockets))
                default:
                    return .http1(try configureHTTP1(channel, configuration: configuration))
                }
            }
        }
        try channel.pipeline.syncOperations.addHandler(alpn)
        // Until ALPN has chosen, no protocol handler times the connection: a TLS handshake
        // begun and left (or never begun) is closed at the idle deadline, as an HTTP/1.1
        // connection that sends nothing is.
        if let idle = configuration.timeouts.idle {
            let timer = channel.eventLoop.scheduleTask(in: .nanoseconds(idle.nanosecondsClamped)) {
                channel.close(promise: nil)
            }
            alpn.protocolNegotiationResult.whenComplete { _ in timer.cancel() }
        }
        return alpn.protocolNegotiationResult
    }

    /// HTTP/1.1 with the timeouts, and the bridge to the async side.
    static func configureHTTP1(_ channel: any Channel, configuration: Configuration) throws -> AcceptedConnection {
        let failure = ServerConnectionFailure()
        let pipeline = channel.pipeline.syncOperations
        try pipeline.addHandler(HTTP1Handler(role: .server, configuration: configuration.http, timeouts: configuration.timeouts))
        // Wrapped so that a WebSocket served from its event loop outlives the connection's task.
        let detachable = DetachableChannel(channel)
        try pipeline.addHandler(HTTPPhaseBridge(failure: failure, detachable: detachable))
        let asyncChannel = try NIOAsyncChannel<ServerConnectionEvent, ServerConnectionOutbound>(
            wrappingChannelSynchronously: detachable)
        return AcceptedConnection(channel: asyncChannel, detachable: detachable, failure: failure)
    }

    // MARK: Connections

    private func serve(_ negotiation: EventLoopFuture<NegotiatedConnection>) async {
        let negotiated: NegotiatedConnection
        do {
            negotiated = try await negotiation.get()
        } catch {
            // The TLS handshake failed or the client went away first.
            logger.debug("connection not negotiated", metadata: ["error": "\(error)"])
            return
        }
        switch negotiated {
        case .http1(let accepted): await serve(accepted)
        case .http2(let accepted): await serveHTTP2(accepted)
        }
    }

    /// Adds a connection (or an HTTP/2 stream) to those a shutdown reaches; returns whether
    /// the server still runs (if not, the context is quiesced at once).
    func track(_ context: ServerConnectionContext) -> ObjectIdentifier {
        let id = ObjectIdentifier(context)
        let running = state.withLock { state -> Bool in
            state.connections[id] = context
            if case .running = state.phase { return true }
            return false
        }
        // Accepted while shutting down: serve nothing more than what is in flight.
        if !running { context.quiesce() }
        return id
    }

    /// Connections (and HTTP/2 streams) a shutdown would reach now.
    var trackedConnections: Int { state.withLock { $0.connections.count } }

    /// HTTP/1.1 connections whose first task still runs (a connection whose task ended lives
    /// on as a WebSocket or an event stream, or waits for a held poll's answer).
    var runningConnectionTasks: Int { state.withLock { $0.connectionTasks } }

    func untrack(_ id: ObjectIdentifier) {
        state.withLock { _ = $0.connections.removeValue(forKey: id) }
    }

    private func serve(_ accepted: AcceptedConnection) async {
        let asyncChannel = accepted.channel
        let channel = accepted.detachable.base
        let context = ServerConnectionContext(channel: channel, taskExecutor: taskExecutor(for: channel.eventLoop))
        let id = track(context)
        state.withLock { $0.connectionTasks += 1 }
        defer { state.withLock { $0.connectionTasks -= 1 } }
        channel.closeFuture.whenComplete { _ in context.cancelActivity() }
        var detached = false
        do {
            detached = try await asyncChannel.executeThenClose { inbound, outbound in
                let connection = ServerConnection(
                    server: self, context: context, outbound: ServerConnectionWriter(outbound),
                    reader: ServerConnectionReader(inbound.makeAsyncIterator()), failure: accepted.failure)
                switch try await connection.run() {
                case .ended:
                    return false
                case .detached:
                    // A WebSocket or an event stream served from its event loop: the channel
                    // stays open without us.
                    accepted.detachable.detach()
                    return true
                case .parked(let answered):
                    // A long poll held on the event loop: this task ends (its async frames with
                    // it); once the poll is answered a new task serves the next request, reading
                    // the same inbound stream and writing through the pipeline.
                    guard (try? await channel.eventLoop.submit { DetachedCloseFilter.install(for: accepted.detachable) }.get()) == true
                    else {
                        try? await answered.get()
                        return false
                    }
                    accepted.detachable.detach()
                    self.resume(connection.takenUp(writingTo: channel), after: answered)
                    return true
                case .webSocket(let handlerDone):
                    // A WebSocket whose handler runs in a task of its own: this task ends (its
                    // async frames and its allocator's slabs with it); the channel closes when
                    // the handler is done, as at the end of this scope.
                    guard (try? await channel.eventLoop.submit { DetachedCloseFilter.install(for: accepted.detachable) }.get()) == true
                    else {
                        try? await handlerDone.get()
                        return false
                    }
                    accepted.detachable.detach()
                    handlerDone.whenComplete { _ in channel.close(promise: nil) }
                    return true
                }
            }
        } catch {
            logger.debug("connection ended", metadata: ["error": "\(error)"])
        }
        if detached {
            // Still reached by a shutdown until it closes (and its WebSocket handler, if any,
            // is done).
            context.ended.whenComplete { _ in self.untrack(id) }
        } else {
            untrack(id)
        }
    }

    /// Serves `connection` again in a new task once `answered` is done (a long poll held on
    /// the event loop was answered, or its connection closed). The task is made by the
    /// server's task for such resumptions while the server accepts (so that the application's
    /// handlers see the same task-local values, swift-service-lifecycle's graceful shutdown
    /// among them), by a task of its own afterwards.
    private func resume(_ connection: ServerConnection, after answered: EventLoopFuture<Void>) {
        let loop = connection.context.channel.eventLoop
        let queue = resumptionsByLoop[ObjectIdentifier(loop)] ?? sharedResumptions
        answered.whenComplete { _ in
            if case .enqueued = queue.continuation.yield(connection) { return }
            Task(executorPreference: connection.context.taskExecutor) {
                await self.serveResumed(connection)
            }
        }
    }

    /// A connection taken up again after a held long poll: its next requests, until it ends
    /// (then it is closed), parks again, or is detached.
    func serveResumed(_ connection: ServerConnection) async {
        let channel = connection.context.channel
        do {
            switch try await connection.run() {
            case .ended:
                channel.close(promise: nil)
            case .detached:
                break
            case .parked(let answered):
                resume(connection, after: answered)
            case .webSocket(let handlerDone):
                handlerDone.whenComplete { _ in channel.close(promise: nil) }
            }
        } catch {
            logger.debug("connection ended", metadata: ["error": "\(error)"])
            channel.close(promise: nil)
        }
    }

    /// After the connections' tasks: the connections that outlive theirs (WebSockets served
    /// from their event loop), until they close (a shutdown's 1001 handshake, or the end of
    /// the grace period).
    private func waitForDetachedConnections() async {
        let remaining = state.withLock { Array($0.connections.values) }
        for context in remaining { try? await context.ended.get() }
    }
}

/// What ALPN made of an accepted connection.
enum NegotiatedConnection: Sendable {
    case http1(AcceptedConnection)
    case http2(HTTP2AcceptedConnection)
}

/// An accepted connection: its async channel and where refused writes are recorded.
struct AcceptedConnection: Sendable {
    let channel: NIOAsyncChannel<ServerConnectionEvent, ServerConnectionOutbound>
    /// The channel itself (`channel.channel` is this wrapper around it).
    let detachable: DetachableChannel
    let failure: ServerConnectionFailure
}

/// The connection's inbound iterator, lent to one reader at a time.
typealias ServerConnectionReader = IteratorBox<NIOAsyncChannelInboundStream<ServerConnectionEvent>.AsyncIterator>

/// Secures accepted connections: adds its handlers (TLS) to each new channel, on its event
/// loop, before the HTTP handlers. `WireCodecTLS`'s `TLSServerConfiguration` is one.
public protocol ServerTransportSecurity: Sendable {
    /// Adds the handlers to an accepted channel (called on its event loop).
    func configureServerChannel(_ channel: any Channel) throws

    /// The protocols offered by ALPN (RFC 7301); with `h2` among them the server speaks
    /// HTTP/2 to clients that choose it (the handshake's `TLSUserEvent` tells). Default: none.
    var applicationProtocols: [String] { get }
}

extension ServerTransportSecurity {
    public var applicationProtocols: [String] { [] }
}

extension Duration {
    /// Nanoseconds, saturating.
    var nanosecondsClamped: Int64 {
        let (seconds, attoseconds) = components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        let (sum, overflow2) = product.addingReportingOverflow(attoseconds / 1_000_000_000)
        return overflow2 ? .max : sum
    }
}

