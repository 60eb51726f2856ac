import ServiceLifecycle

/// Where the feed's log lives and who assigns its ids: this instance alone
/// (``InMemoryFeedSource``, the default: nothing to install) or a PostgreSQL table that
/// several instances share (``PostgresFeedSource``, `--postgres URL`).
///
/// A source brings items into the instance's ``Feed`` only through
/// ``Feed/append(_:startingOver:)``, in id order and without gaps. As a `Service` it runs
/// for as long as the server does (the PostgreSQL source keeps its connection, listens and
/// catches up there).
protocol FeedSource: Service, Sendable {
    /// Stores `data` as the next item of the log and returns its id, once it is durable.
    /// Throws ``FeedUnavailable`` when the log cannot be reached (the answer is a 503).
    func publish(_ data: String) async throws(FeedUnavailable) -> Int

    /// What a cursor ahead of this instance's ``Feed/lastId`` means: items another instance
    /// already delivered and this one has not read yet (keep it and wait for them), or a
    /// cursor from the future (the log was reset: start over).
    func resolveAhead(cursor: Int) async -> CursorAhead

    /// `"memory"`, or the PostgreSQL connection's state, as a JSON value for `GET /stats`.
    var statusJSON: String { get }
}

enum CursorAhead: Sendable, Equatable {
    /// The log holds (or may hold) the items up to the cursor: deliver what comes after it.
    case keep
    /// The log is behind the cursor: the client starts over from the oldest item.
    case startOver
}

/// The log could not take an item (the database is unreachable): nothing was published, or
/// — when the connection broke while the commit was under way — the item may be in the log;
/// either way the publisher may try again.
struct FeedUnavailable: Error, CustomStringConvertible {
    var reason: String
    var description: String { reason }
}

extension FeedSource {
    /// The cursor to serve from: `cursor` itself when this instance has reached it, else what
    /// ``resolveAhead(cursor:)`` decides (0 to start over).
    func resolve(cursor: Int, in feed: Feed) async -> Int {
        guard cursor > feed.lastId else { return cursor }
        return await resolveAhead(cursor: cursor) == .keep ? cursor : 0
    }
}

/// The default: this instance is the log. Ids are assigned in memory as items are published;
/// a restart begins again at 1 (clients with a cursor from the future start over).
struct InMemoryFeedSource: FeedSource {
    let feed: Feed

    func publish(_ data: String) async throws(FeedUnavailable) -> Int {
        feed.appendNext(data).id
    }

    func resolveAhead(cursor: Int) async -> CursorAhead {
        cursor > feed.lastId ? .startOver : .keep
    }

    var statusJSON: String { #""memory""# }

    func run() async throws {
        try? await gracefulShutdown()
    }
}

/// Publishes `{"tick":N}` every `interval` through the source (`--publish-every-ms`).
struct FeedTicker: Service {
    let source: any FeedSource
    let interval: Duration

    func run() async throws {
        try? await cancelWhenGracefulShutdown { [source, interval] in
            var tick = 0
            while !Task.isCancelled {
                try await Task.sleep(for: interval)
                tick += 1
                _ = try? await source.publish(#"{"tick":\#(tick)}"#)
            }
        }
    }
}
