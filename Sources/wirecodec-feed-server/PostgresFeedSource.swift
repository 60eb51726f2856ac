import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// The log in a PostgreSQL table that several feed-server instances share (`--postgres URL`).
///
/// - **Publishing** (`POST /publish` on any instance) calls the table's publishing function
///   (``PostgresFeedOptions/schema``): under a transaction-scoped advisory lock it takes the
///   next id (max + 1), inserts the item and notifies the channel, so ids are gapless and
///   commit in id order — one writer at a time, whichever instance it comes through.
/// - **Reading**: each instance keeps one connection that `LISTEN`s on the channel. A
///   notification (or ``PostgresFeedOptions/checkInterval`` passing, the safety net and the
///   connection's health check) wakes the catch-up, which reads the rows after the instance's
///   newest id, in id order, and hands the contiguous run to the ``Feed``: the instance's
///   watermark (``Feed/lastId``) never moves past an id it has not seen, so no client's
///   cursor does either.
/// - **Losing the database**: the instance keeps serving what it holds (publishing answers
///   503); it reconnects with exponential backoff (``PostgresFeedOptions/reconnectFirst`` to
///   ``PostgresFeedOptions/reconnectMax``), `LISTEN`s again and only then catches up from the
///   table, so nothing committed while it was away — or while it was reconnecting — is missed.
/// - **Starting**: the schema is created if missing; the last `historyLimit` items are read
///   before the server accepts connections (or after ``PostgresFeedOptions/startupWait``, with
///   an empty feed that fills once the database answers).
final class PostgresFeedSource: FeedSource, Sendable {
    let feed: Feed
    let options: PostgresFeedOptions
    let logger: Logger
    private let publisher: PublisherLink
    private let state = Mutex(State())
    /// Resolved once the first catch-up is done (or the startup wait is over).
    private let started = Mutex<[CheckedContinuation<Void, Never>]?>([])

    private struct State {
        var listening = false
        var connects = 0
        var failures = 0
        var lastError: String?
        var wake: AsyncStream<Void>.Continuation?
        /// The log's newest id is below this instance's (the table was emptied or replaced).
        var logBehind = false
        var holeAt: Int?
    }

    init(feed: Feed, options: PostgresFeedOptions, logger: Logger) {
        self.feed = feed
        self.options = options
        self.logger = logger
        publisher = PublisherLink(options: options, logger: logger)
    }

    // MARK: FeedSource

    func publish(_ data: String) async throws(FeedUnavailable) -> Int {
        let id: Int
        do {
            id = try await publisher.run { [options, logger] connection in
                let rows = try await connection.query("SELECT \(unescaped: options.publishFunction)(\(data))", logger: logger)
                for try await value in rows.decode(Int.self) { return value }
                throw FeedUnavailable(reason: "the publishing function returned no id")
            }
        } catch {
            throw FeedUnavailable(reason: describe(error))
        }
        wakeCatchUp()
        // Read your writes: answer once this instance serves the item too (bounded).
        await feed.waitFor(id: id, timeout: .seconds(1))
        return id
    }

    func resolveAhead(cursor: Int) async -> CursorAhead {
        wakeCatchUp()
        if await feed.waitFor(id: cursor, timeout: .milliseconds(500)) { return .keep }
        // Still behind: is the log? If the database cannot say, keep the cursor (replaying the
        // whole history to a client that is only ahead of this instance would be worse).
        guard let newest = try? await publisher.run({ [options, logger] connection in
            let rows = try await connection.query("SELECT coalesce(max(id), 0) FROM \(unescaped: options.table)", logger: logger)
            for try await value in rows.decode(Int.self) { return value }
            return 0
        }) else { return .keep }
        return newest >= cursor ? .keep : .startOver
    }

    var statusJSON: String {
        state.withLock { state in
            let error = state.lastError.map { JSONText.quoted($0) } ?? "null"
            let hole = state.holeAt.map(String.init) ?? "null"
            return #"{"kind":"postgres","url":\#(JSONText.quoted(options.displayURL)),"table":\#(JSONText.quoted(options.table)),"listening":\#(state.listening),"connects":\#(state.connects),"failures":\#(state.failures),"last_error":\#(error),"hole_at":\#(hole),"log_behind":\#(state.logBehind)}"#
        }
    }

    // MARK: Running

    /// Waits until the first catch-up is done, or ``PostgresFeedOptions/startupWait`` passed.
    func waitUntilStarted() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [self] in
                await withCheckedContinuation { continuation in
                    let done = started.withLock { waiting -> Bool in
                        guard waiting != nil else { return true }
                        waiting!.append(continuation)
                        return false
                    }
                    if done { continuation.resume() }
                }
            }
            group.addTask { [options] in try? await Task.sleep(for: options.startupWait) }
            await group.next()
            group.cancelAll()
        }
        if !state.withLock({ $0.listening }) {
            logger.warning("starting without the database (still trying): \(state.withLock { $0.lastError ?? "no answer yet" })")
        }
        markStarted()
    }

    private func markStarted() {
        let waiting = started.withLock { waiting in
            defer { waiting = nil }
            return waiting ?? []
        }
        for continuation in waiting { continuation.resume() }
    }

    /// Listens, catches up, reconnects with backoff — until the service group shuts down.
    func run() async throws {
        try? await cancelWhenGracefulShutdown { [self] in
            // Failed attempts since the connection last worked.
            var failures = 0
            while !Task.isCancelled {
                do {
                    try await listenAndCatchUp()
                } catch {
                    if Task.isCancelled { break }
                    let message = describe(error)
                    let wasListening = state.withLock { state in
                        defer {
                            state.listening = false
                            state.failures += 1
                            state.lastError = message
                        }
                        return state.listening
                    }
                    if wasListening {
                        failures = 0
                        logger.warning("lost the database: \(message); reconnecting")
                    } else if failures == 0 {
                        logger.warning("cannot reach the database: \(message); retrying with backoff")
                    }
                }
                try await Task.sleep(for: backoff(after: failures))
                failures += 1
            }
        }
        await publisher.close()
    }

    /// The wait before reconnection attempt `failures + 1`: exponential, capped, ±20% jitter.
    func backoff(after failures: Int) -> Duration {
        let first = Double(options.reconnectFirst.components.seconds) + Double(options.reconnectFirst.components.attoseconds) / 1e18
        let cap = Double(options.reconnectMax.components.seconds) + Double(options.reconnectMax.components.attoseconds) / 1e18
        let base = min(cap, first * Double(1 << min(failures, 20)))
        return .milliseconds(Int64(base * Double.random(in: 0.8...1.2) * 1000))
    }

    /// One connection's life: connect, create the schema if missing, `LISTEN`, catch up, then
    /// catch up on every notification and every check interval. Throws when the connection
    /// is lost (or a query overruns its timeout: the connection is closed then).
    private func listenAndCatchUp() async throws {
        let connection = try await PostgresConnection.connect(
            configuration: options.connection, id: 1, logger: logger)
        do {
            try await listenAndCatchUp(on: connection)
        } catch {
            await connection.closeAndWait()
            throw error
        }
        await connection.closeAndWait()
    }

    private func listenAndCatchUp(on connection: PostgresConnection) async throws {
        try await withTimeout(options.queryTimeout, closing: connection) { [self] in
            try await createSchema(on: connection)
        }
        let (wakes, wake) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        state.withLock { $0.wake = wake }
        defer { state.withLock { $0.wake = nil } }
        try await connection.listen(on: options.channel) { notifications in
            // LISTEN is in place before the first read: whatever commits from now on is
            // either in that read or notified after it.
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for try await _ in notifications { wake.yield() }
                    throw PostgresFeedError.connectionLost
                }
                group.addTask { [options] in
                    while true {
                        try await Task.sleep(for: options.checkInterval)
                        wake.yield()
                    }
                }
                group.addTask { [self] in
                    wake.yield()
                    var first = true
                    for await _ in wakes {
                        try await withTimeout(options.queryTimeout, closing: connection) {
                            try await self.catchUp(on: connection)
                        }
                        if first {
                            first = false
                            let reconnected = state.withLock { state in
                                state.listening = true
                                state.connects += 1
                                state.lastError = nil
                                return state.connects > 1
                            }
                            if reconnected { logger.notice("database connection restored; caught up to id \(feed.lastId)") }
                            markStarted()
                        }
                    }
                }
                try await group.next()
                group.cancelAll()
            }
        }
    }

    private func createSchema(on connection: PostgresConnection) async throws {
        try await connection.query("BEGIN", logger: logger)
        do {
            try await connection.query("SELECT pg_advisory_xact_lock(\(unescaped: String(options.lockKey)))", logger: logger)
            for statement in options.schema {
                try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
            }
            try await connection.query("COMMIT", logger: logger)
        } catch {
            _ = try? await connection.query("ROLLBACK", logger: logger)
            throw error
        }
    }

    /// Reads what the log holds after this instance's newest id, batch by batch, and appends
    /// the contiguous run. The first read of an empty instance takes the log's last
    /// `historyLimit` items. A gap (an id missing below a present one) is never crossed: the
    /// ids below the gap stay the watermark until it fills — or, if the log has dropped
    /// those ids (its oldest id is above the gap), the instance restarts its window there.
    private func catchUp(on connection: PostgresConnection) async throws {
        while true {
            let after = feed.lastId
            let items: [FeedItem]
            if after == 0 {
                items = try await rows(
                    on: connection,
                    "SELECT id, data FROM (SELECT id, data FROM \(unescaped: options.table) ORDER BY id DESC LIMIT \(feed.options.historyLimit)) AS tail ORDER BY id")
                feed.append(items, startingOver: true)
                if items.count < feed.options.historyLimit { return }
                continue
            }
            items = try await rows(
                on: connection,
                "SELECT id, data FROM \(unescaped: options.table) WHERE id > \(after) ORDER BY id LIMIT \(options.batch)")
            guard let first = items.first else {
                try await checkLogNotBehind(on: connection, lastId: after)
                return
            }
            let taken = feed.append(items)
            if taken < items.count {
                let holeAt = after + taken + 1
                if taken == 0, try await oldestId(on: connection) > after + 1 {
                    logger.warning("the log no longer holds ids \(after + 1)...\(first.id - 1): continuing from \(first.id)")
                    feed.append(items, startingOver: true)
                    continue
                }
                let firstReport = state.withLock { state in
                    defer { state.holeAt = holeAt }
                    return state.holeAt != holeAt
                }
                if firstReport { logger.error("id \(holeAt) is missing from the log below newer ids: holding the feed at \(holeAt - 1) until it appears") }
                return
            }
            state.withLock { $0.holeAt = nil }
            if items.count < options.batch { return }
        }
    }

    private func rows(on connection: PostgresConnection, _ query: PostgresQuery) async throws -> [FeedItem] {
        var items: [FeedItem] = []
        for try await (id, data) in try await connection.query(query, logger: logger).decode((Int, String).self) {
            items.append(FeedItem(id: id, data: data))
        }
        return items
    }

    private func oldestId(on connection: PostgresConnection) async throws -> Int {
        for try await id in try await connection.query("SELECT coalesce(min(id), 0) FROM \(unescaped: options.table)", logger: logger).decode(Int.self) {
            return id
        }
        return 0
    }

    /// A log whose newest id is below this instance's was emptied or replaced: said once, and
    /// in `GET /stats` (restart the instances to follow the new log).
    private func checkLogNotBehind(on connection: PostgresConnection, lastId: Int) async throws {
        var newest = 0
        for try await id in try await connection.query("SELECT coalesce(max(id), 0) FROM \(unescaped: options.table)", logger: logger).decode(Int.self) {
            newest = id
        }
        let behind = newest < lastId
        let firstReport = state.withLock { state in
            defer { state.logBehind = behind }
            return behind && !state.logBehind
        }
        if firstReport { logger.error("the log's newest id \(newest) is below this instance's \(lastId): was the table reset? Restart the instances to follow it") }
    }

    private func wakeCatchUp() {
        _ = state.withLock { $0.wake?.yield() }
    }
}

enum PostgresFeedError: Error, CustomStringConvertible {
    case connectionLost
    case timedOut(Duration)

    var description: String {
        switch self {
        case .connectionLost: "the connection was lost"
        case .timedOut(let limit): "no answer within \(limit)"
        }
    }
}

/// A one-line reason for logs, `GET /stats` and 503 bodies.
func describe(_ error: any Error) -> String {
    if let error = error as? PSQLError {
        if let message = error.serverInfo?[.message] { return "PostgreSQL: \(message)" }
        return "PostgreSQL: \(error.code)" + (error.underlying.map { " (\($0))" } ?? "")
    }
    if let error = error as? PostgresTransactionError {
        return describe(error.closureError ?? error.commitError ?? error.beginError ?? error.rollbackError ?? PostgresFeedError.connectionLost)
    }
    return "\(error)"
}

/// Runs `body`; after `limit`, closes `connection` (which fails whatever it was waiting for)
/// and throws ``PostgresFeedError/timedOut(_:)`` at once — without waiting for `body` to
/// notice (a task group would wait for it: a query that never answers, even on a closed
/// connection, must not hold the caller).
func withTimeout<T: Sendable>(
    _ limit: Duration, closing connection: PostgresConnection, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    let race = TimeoutRace<T>()
    let waiting = race.waiting, tasks = race.tasks
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            waiting.withLock { $0 = continuation }
            let work = Task {
                let outcome: Result<T, any Error>
                do { outcome = .success(try await body()) } catch { outcome = .failure(error) }
                if let continuation = waiting.withLock({ $0.take() }) {
                    tasks.withLock { $0.timer?.cancel() }
                    continuation.resume(with: outcome)
                }
            }
            let timer = Task {
                try? await Task.sleep(for: limit)
                guard !Task.isCancelled, let continuation = waiting.withLock({ $0.take() }) else { return }
                connection.closeSoon()
                work.cancel()
                continuation.resume(throwing: PostgresFeedError.timedOut(limit))
            }
            let cancelled = tasks.withLock { state in
                state.work = work
                state.timer = timer
                return state.cancelled
            }
            if cancelled {
                work.cancel()
                timer.cancel()
            }
        }
    } onCancel: {
        let (work, timer) = tasks.withLock { state in
            state.cancelled = true
            return (state.work, state.timer)
        }
        timer?.cancel()
        work?.cancel()
        // Cancellation is an answer too: the caller (the source shutting down) stops waiting.
        if let continuation = waiting.withLock({ $0.take() }) {
            connection.closeSoon()
            continuation.resume(throwing: CancellationError())
        }
    }
}

/// What ``withTimeout(_:closing:_:)``'s tasks share.
final class TimeoutRace<T: Sendable>: Sendable {
    let waiting = Shared<CheckedContinuation<T, any Error>?>(nil)
    let tasks = Shared<(work: Task<Void, Never>?, timer: Task<Void, Never>?, cancelled: Bool)>((nil, nil, false))
}

/// A value behind a lock that closures can capture.
final class Shared<Value: Sendable>: Sendable {
    private let value: Mutex<Value>
    init(_ value: Value) { self.value = Mutex(value) }
    func withLock<R: Sendable>(_ body: (inout sending Value) -> sending R) -> R { value.withLock(body) }
}

/// The connection publishing goes through: opened on first use, and again after it was lost
/// (each publish tries once; a failure is a 503 and the next publish reconnects).
actor PublisherLink {
    let options: PostgresFeedOptions
    let logger: Logger
    private var connection: PostgresConnection?
    private var connecting: Task<PostgresConnection, any Error>?

    init(options: PostgresFeedOptions, logger: Logger) {
        self.options = options
        self.logger = logger
    }

    /// Runs `body` on the connection within ``PostgresFeedOptions/queryTimeout``; a failure
    /// closes the connection.
    func run<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let connection = try await open()
        do {
            return try await withTimeout(options.queryTimeout, closing: connection) { try await body(connection) }
        } catch {
            if self.connection === connection { self.connection = nil }
            await connection.closeAndWait()
            throw error
        }
    }

    private func open() async throws -> PostgresConnection {
        if let connection, !connection.isClosed { return connection }
        connection = nil
        if let connecting { return try await connecting.value }
        let options = options, logger = logger
        let task = Task { try await PostgresConnection.connect(configuration: options.connection, id: 2, logger: logger) }
        connecting = task
        defer { connecting = nil }
        let opened = try await task.value
        connection = opened
        return opened
    }

    func close() async {
        let last = connection
        connection = nil
        await last?.closeAndWait()
    }
}

extension PostgresConnection {
    /// Starts closing and returns at once (whatever was waiting for an answer fails).
    func closeSoon() {
        let _: EventLoopFuture<Void> = close()
    }

    /// Closes and waits until the channel is closed (PostgresNIO requires it before the
    /// connection is released).
    func closeAndWait() async {
        closeSoon()
        try? await closeFuture.get()
    }
}
