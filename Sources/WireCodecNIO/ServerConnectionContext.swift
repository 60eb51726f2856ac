import NIOCore
import Synchronization

/// What the server knows of one connection, for shutting down: its channel and the
/// application task running on it (a request handler or a WebSocket handler).
final class ServerConnectionContext: Sendable {
    let channel: any Channel
    /// Where its activities run (``WireServer/Configuration/runsTasksOnEventLoop``); `nil`:
    /// Swift's global concurrent executor.
    let taskExecutor: (any TaskExecutor)?

    private struct State: Sendable {
        var activity: Task<Void, Never>?
        /// The current response is an event stream: a graceful shutdown ends it at once.
        var eventStream = false
        /// A graceful shutdown reached this connection.
        var quiescing = false
        /// The response its event loop completes now (an event stream, a held long poll).
        var eventLoopResponse: (any EventLoopServedResponse)?
        /// The end of an activity no task of the connection waits for (``start(_:)``).
        var startedActivityDone: EventLoopFuture<Void>?
    }

    private let state = Mutex(State())

    init(channel: any Channel, taskExecutor: (any TaskExecutor)?) {
        self.channel = channel
        self.taskExecutor = taskExecutor
    }

    var isQuiescing: Bool { state.withLock { $0.quiescing } }

    /// Runs `operation` as the connection's current activity (a task the server can cancel:
    /// when the channel closes, when a graceful shutdown ends an event stream, when the grace
    /// period is over) and waits for it.
    func run(_ operation: @escaping @Sendable () async -> Void) async {
        // The task may start (and mark its response an event stream) before it is recorded
        // here: the mark is reset before it starts, and a shutdown that came in between is
        // applied once it is recorded.
        state.withLock { $0.eventStream = false }
        let task = Task(executorPreference: taskExecutor) { await operation() }
        let endNow = state.withLock { state -> Bool in
            state.activity = task
            return state.quiescing && state.eventStream
        }
        if endNow { task.cancel() }
        await withTaskCancellationHandler {
            await task.value
        } onCancel: {
            task.cancel()
        }
        state.withLock {
            $0.activity = nil
            $0.eventStream = false
        }
    }

    /// As ``run(_:)``, without waiting: the caller's task may end while the activity (a
    /// WebSocket's handler) goes on, reached as before by a closed channel, a shutdown and
    /// the end of the grace period. Returns its end.
    func start(_ operation: @escaping @Sendable () async -> Void) -> EventLoopFuture<Void> {
        let done = channel.eventLoop.makePromise(of: Void.self)
        state.withLock {
            $0.eventStream = false
            $0.startedActivityDone = done.futureResult
        }
        let task = Task(executorPreference: taskExecutor) {
            await operation()
            done.succeed(())
        }
        let endNow = state.withLock { state -> Bool in
            state.activity = task
            return state.quiescing && state.eventStream
        }
        if endNow { task.cancel() }
        return done.futureResult
    }

    /// When the connection is over for a shutdown: its channel closed and the activity
    /// started with ``start(_:)``, if any, ended.
    var ended: EventLoopFuture<Void> {
        let closed = channel.closeFuture
        guard let activity = state.withLock({ $0.startedActivityDone }) else { return closed }
        return closed.and(activity).map { _ in }
    }

    /// The current response is completed by the event loop until it is done (a graceful
    /// shutdown reaches it through ``EventLoopServedResponse/quiesce()``); returns whether a
    /// shutdown has begun already.
    func serveOnEventLoop(_ response: any EventLoopServedResponse) -> Bool {
        let quiescing = state.withLock { state -> Bool in
            state.eventLoopResponse = response
            return state.quiescing
        }
        response.done.whenComplete { [self] _ in
            state.withLock { state in
                if state.eventLoopResponse === response { state.eventLoopResponse = nil }
            }
        }
        return quiescing
    }

    /// Cancels the current activity (the client went away, or the server is forcing an end).
    func cancelActivity() {
        state.withLock { $0.activity }?.cancel()
    }

    /// The current response became an event stream.
    func markEventStream() {
        let cancel = state.withLock { state -> Task<Void, Never>? in
            state.eventStream = true
            return state.quiescing ? state.activity : nil
        }
        cancel?.cancel()
    }

    /// Graceful shutdown: the HTTP handler closes the connection now if idle, or after the
    /// response in progress; a WebSocket sends its close (1001); an event stream ends now.
    func quiesce() {
        let (cancel, response) = state.withLock { state -> (Task<Void, Never>?, (any EventLoopServedResponse)?) in
            state.quiescing = true
            return (state.eventStream ? state.activity : nil, state.eventLoopResponse)
        }
        channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        cancel?.cancel()
        response?.quiesce()
    }

    /// The grace period is over: close, then cancel what runs (in this order, so that what a
    /// cancelled handler leaves, a 500 say, reaches the event loop after the close and is not
    /// sent).
    func forceClose() {
        channel.close(promise: nil)
        cancelActivity()
    }
}
