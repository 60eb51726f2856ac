public import HTTPTypes
import NIOCore
import WireHTTP1
import Synchronization

/// Requests held until there is something to answer: long polling.
///
/// A request handler holds its response here (``hold(_:timeout:)``); when the application has
/// news it answers every held response at once (``answerAll(_:body:)``): the same head and
/// the same body, prepared once (``HTTPPreparedBody``, one shared buffer), written by each
/// connection's event loop in one task per loop, before the handlers are told. A response
/// not answered within its timeout is handed back to its handler (answer `204`, say); a
/// client that goes away is forgotten at once (its handler is cancelled).
///
/// One answer per instance: once answered, a hold that comes later (it was decided before the
/// news, and reached its event loop after) is answered at once with the same response. Keep
/// one instance per thing awaited (a feed's cursor) and replace it when it is answered.
///
/// ```swift
/// let waiting = HTTPHeldResponses()
/// // GET /long-poll:
/// if try await waiting.hold(response, timeout: .seconds(25)) == .timedOut {
///     try await response.send(HTTPResponse(status: .noContent))
/// }
/// // on news:
/// waiting.answerAll(HTTPResponse(status: .ok, headerFields: [.contentType: "application/json"]), body: HTTPPreparedBody(json))
/// ```
public final class HTTPHeldResponses: Sendable {
    /// How a hold ended.
    public enum Outcome: Sendable, Hashable {
        /// ``answerAll(_:body:)`` answered it: the response is sent.
        case answered
        /// The timeout passed: the response is still yours to send.
        case timedOut
    }

    /// The held responses on one event loop; touched only on that loop.
    final class Shard: @unchecked Sendable {
        let eventLoop: any EventLoop
        var entries: [ObjectIdentifier: Entry] = [:]
        /// The answer, once given: later holds get it at once.
        var answer: (head: HTTPResponse, body: HTTPPreparedBody)?

        init(eventLoop: any EventLoop) {
            self.eventLoop = eventLoop
        }
    }

    /// One held response; its fields are touched on its event loop only.
    final class Entry: @unchecked Sendable {
        let state: ResponseState
        let channel: any Channel
        var continuation: CheckedContinuation<Outcome, any Error>?
        var timer: Scheduled<Void>?
        var cancelled = false
        /// Held on the event loop (``holdOnEventLoop(_:timeout:onEnd:answer:)``): no task waits.
        var onEventLoop: EventLoopHeldResponse?

        init(state: ResponseState, channel: any Channel) {
            self.state = state
            self.channel = channel
        }

        func finish(_ result: Result<Outcome, any Error>) {
            timer?.cancel()
            timer = nil
            continuation?.resume(with: result)
            continuation = nil
            if let held = onEventLoop {
                onEventLoop = nil
                switch result {
                case .success(.answered): held.end(.answered)
                case .success(.timedOut): held.expire(.timedOut)
                case .failure: held.end(.connectionClosed)
                }
            }
        }
    }

    private struct State: Sendable {
        var shards: [ObjectIdentifier: Shard] = [:]
        var answer: Answer?
    }

    private struct Answer: Sendable {
        var head: HTTPResponse
        var body: HTTPPreparedBody
    }

    private let state = Mutex(State())
    private let heldCount = Atomic<Int>(0)

    public init() {}

    /// Responses held now (approximate while holds begin and end).
    public var count: Int { heldCount.load(ordering: .relaxed) }

    private func shard(for loop: any EventLoop) -> Shard {
        state.withLock { state in
            let key = ObjectIdentifier(loop)
            if let shard = state.shards[key] { return shard }
            let shard = Shard(eventLoop: loop)
            // A shard made after the answer knows it from the start.
            if let answer = state.answer { shard.answer = (answer.head, answer.body) }
            state.shards[key] = shard
            return shard
        }
    }

    /// Holds `response` (nothing sent yet) until ``answerAll(_:body:)`` answers it or
    /// `timeout` passes.
    ///
    /// - Throws: `CancellationError` when the handler's task is cancelled (the client went
    ///   away, a graceful shutdown through `cancelWhenGracefulShutdown`); the response is
    ///   untouched then.
    public func hold(_ response: HTTPResponseWriter, timeout: Duration) async throws -> Outcome {
        precondition(!response.hasStarted, "hold a response before sending anything")
        let channel = response.state.channel
        let shard = shard(for: channel.eventLoop)
        let entry = Entry(state: response.state, channel: channel)
        let id = ObjectIdentifier(entry)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Outcome, any Error>) in
                shard.eventLoop.execute {
                    guard !entry.cancelled else {
                        continuation.resume(throwing: CancellationError())
                        return
                    }
                    if let answer = shard.answer {
                        let answered = entry.state.answerHeld(answer.head, body: answer.body, channel: entry.channel)
                        continuation.resume(with: answered ? .success(.answered) : .failure(HTTPServerError(.connectionClosed)))
                        return
                    }
                    entry.continuation = continuation
                    shard.entries[id] = entry
                    self.heldCount.add(1, ordering: .relaxed)
                    entry.timer = shard.eventLoop.scheduleTask(in: .nanoseconds(Int64(clamping: timeout.nanosecondsClamped))) {
                        guard shard.entries.removeValue(forKey: id) != nil else { return }
                        self.heldCount.subtract(1, ordering: .relaxed)
                        entry.timer = nil
                        entry.finish(.success(.timedOut))
                    }
                }
            }
        } onCancel: {
            shard.eventLoop.execute {
                entry.cancelled = true
                guard shard.entries.removeValue(forKey: id) != nil else { return }
                self.heldCount.subtract(1, ordering: .relaxed)
                entry.finish(.failure(CancellationError()))
            }
        }
    }

    /// How a response held on the event loop ended.
    public enum HeldEnd: Sendable, Hashable, CustomStringConvertible {
        /// ``answerAll(_:body:)`` answered it.
        case answered
        /// Its timeout passed; the `answer` callback's response was sent.
        case timedOut
        /// A graceful shutdown of the server began; the `answer` callback's response was sent
        /// (with `Connection: close`).
        case shuttingDown
        /// Its connection closed first (the client went away): nothing was sent.
        case connectionClosed

        public var description: String {
            switch self {
            case .answered: "answered"
            case .timedOut: "timed-out"
            case .shuttingDown: "shutting-down"
            case .connectionClosed: "connection-closed"
            }
        }
    }

    /// Why the `answer` callback of ``holdOnEventLoop(_:timeout:onEnd:answer:)`` is asked.
    public enum Expiry: Sendable, Hashable {
        /// The hold's timeout passed.
        case timedOut
        /// A graceful shutdown began: answer now, so that the client asks again elsewhere.
        case shuttingDown
    }

    /// Holds `response` (nothing sent yet) on its connection's event loop, without a task:
    /// return from the handler after this. ``answerAll(_:body:)`` answers it; if `timeout`
    /// passes first, or a graceful shutdown begins, `answer` is called on the event loop and
    /// its response is sent (`Content-Length` set to the body's size unless given). Then the
    /// connection goes on with its next request (keep-alive), as after any response.
    ///
    /// While it is held, no task waits for it over HTTP/1.1: the connection's task ends, and
    /// once the answer is written a new one serves the next request (a held poll costs its
    /// connection, about 23 KB less than a handler that waits in ``hold(_:timeout:)``); over
    /// HTTP/2 the stream's task waits. A client that goes away is forgotten at once. `onEnd`
    /// is called once on the event loop when the hold is over, with how.
    ///
    /// - Parameters:
    ///   - response: the request's writer; the handler must not send on it afterwards.
    ///   - timeout: the longest the response is held (keep it below proxies' read timeouts:
    ///     nginx's `proxy_read_timeout` is 60 s).
    ///   - onEnd: called once on the event loop when the hold is over.
    ///   - answer: the response for a hold that expires (a `204` with the client's cursor, say);
    ///     called on the event loop, must not block.
    public func holdOnEventLoop(
        _ response: HTTPResponseWriter, timeout: Duration,
        onEnd: @escaping @Sendable (HeldEnd) -> Void = { _ in },
        answer: @escaping @Sendable (Expiry) -> (HTTPResponse, HTTPPreparedBody)
    ) {
        precondition(!response.hasStarted, "hold a response before sending anything")
        let channel = response.state.channel
        let shard = shard(for: channel.eventLoop)
        let entry = Entry(state: response.state, channel: channel)
        let held = EventLoopHeldResponse(state: response.state, channel: channel, onEnd: onEnd, answer: answer)
        entry.onEventLoop = held
        let id = ObjectIdentifier(entry)
        let quiescing = response.state.serveOnEventLoop(held, held: true)
        shard.eventLoop.execute {
            guard channel.isActive else {
                entry.finish(.failure(HTTPServerError(.connectionClosed)))
                return
            }
            if let answer = shard.answer {
                let answered = entry.state.answerHeld(answer.head, body: answer.body, channel: entry.channel)
                entry.finish(answered ? .success(.answered) : .failure(HTTPServerError(.connectionClosed)))
                return
            }
            shard.entries[id] = entry
            self.heldCount.add(1, ordering: .relaxed)
            // Leaves the shard (once) when the hold ends otherwise than by the answer.
            let leave: @Sendable () -> Bool = {
                guard shard.entries.removeValue(forKey: id) != nil else { return false }
                self.heldCount.subtract(1, ordering: .relaxed)
                return true
            }
            held.leave = leave
            entry.timer = shard.eventLoop.scheduleTask(in: .nanoseconds(Int64(clamping: timeout.nanosecondsClamped))) {
                guard leave() else { return }
                entry.timer = nil
                entry.finish(.success(.timedOut))
            }
            channel.closeFuture.whenComplete { _ in
                guard leave() else { return }
                entry.finish(.failure(HTTPServerError(.connectionClosed)))
            }
        }
        if quiescing { held.quiesce() }
    }

    /// Answers every response held now, and every later hold, with `head` and `body`
    /// (`Content-Length` set to the body's size unless given, or the status has no body, as
    /// `send` does). Returns at once; the report says how many were answered. A second call is
    /// ignored.
    @discardableResult
    public func answerAll(_ head: HTTPResponse, body: HTTPPreparedBody) -> HTTPHeldResponsesAnswer {
        var head = head
        head.setContentLength(ofWholeBody: body.count)
        let response = head
        let all = state.withLock { state -> [Shard] in
            guard state.answer == nil else { return [] }
            state.answer = Answer(head: response, body: body)
            return Array(state.shards.values)
        }
        return HTTPHeldResponsesAnswer(counts: all.map { shard in
            shard.eventLoop.submit {
                guard shard.answer == nil else { return 0 }
                shard.answer = (response, body)
                let entries = shard.entries
                shard.entries.removeAll(keepingCapacity: true)
                self.heldCount.subtract(entries.count, ordering: .relaxed)
                var answered = 0
                for entry in entries.values {
                    if entry.state.answerHeld(response, body: body, channel: entry.channel) {
                        answered += 1
                        entry.finish(.success(.answered))
                    } else {
                        entry.finish(.failure(HTTPServerError(.connectionClosed)))
                    }
                }
                return answered
            }
        })
    }
}

/// An ``HTTPHeldResponses/answerAll(_:body:)`` on its way.
public struct HTTPHeldResponsesAnswer: Sendable {
    let counts: [EventLoopFuture<Int>]

    /// How many held responses were answered.
    public func answered() async -> Int {
        var total = 0
        for future in counts { total += (try? await future.get()) ?? 0 }
        return total
    }
}

extension ResponseState {
    /// The channel the response goes to.
    var channel: any Channel { connectionChannel }

    /// Writes a whole response from the event loop, straight through the HTTP phase bridge
    /// (nothing was sent before: the handler holds it). False when the connection is gone.
    func answerHeld(_ response: HTTPResponse, body: HTTPPreparedBody, channel: any Channel) -> Bool {
        guard channel.isActive, let context = ServerBridge.context(of: channel), claimHeld() else { return false }
        ServerBridge.write(.http(.response(response)), context: context)
        if !isHEADRequest && body.count > 0 { ServerBridge.write(.preparedBody(body), context: context) }
        ServerBridge.write(.http(.end(trailers: nil)), context: context)
        context.flush()
        return true
    }
}

/// A long poll held on its event loop (``HTTPHeldResponses/holdOnEventLoop(_:timeout:onEnd:answer:)``);
/// its variable fields are touched on that loop only.
final class EventLoopHeldResponse: EventLoopServedResponse, @unchecked Sendable {
    private let state: ResponseState
    private let channel: any Channel
    private let ended: EventLoopPromise<Void>
    private var onEnd: (@Sendable (HTTPHeldResponses.HeldEnd) -> Void)?
    private let answer: @Sendable (HTTPHeldResponses.Expiry) -> (HTTPResponse, HTTPPreparedBody)
    /// Takes the hold out of its shard; false if it had left already (set once it is in one).
    var leave: (@Sendable () -> Bool)?

    init(
        state: ResponseState, channel: any Channel, onEnd: @escaping @Sendable (HTTPHeldResponses.HeldEnd) -> Void,
        answer: @escaping @Sendable (HTTPHeldResponses.Expiry) -> (HTTPResponse, HTTPPreparedBody)
    ) {
        self.state = state
        self.channel = channel
        self.onEnd = onEnd
        self.answer = answer
        self.ended = channel.eventLoop.makePromise(of: Void.self)
    }

    var done: EventLoopFuture<Void> { ended.futureResult }
    var isEventStream: Bool { false }

    /// On the event loop: the answer the application gives for an expiry goes out.
    func expire(_ expiry: HTTPHeldResponses.Expiry) {
        var (head, body) = answer(expiry)
        head.setContentLength(ofWholeBody: body.count)
        let sent = state.answerHeld(head, body: body, channel: channel)
        end(sent ? (expiry == .timedOut ? .timedOut : .shuttingDown) : .connectionClosed)
    }

    /// On the event loop (once).
    func end(_ how: HTTPHeldResponses.HeldEnd) {
        guard let onEnd else { return }
        self.onEnd = nil
        if how == .connectionClosed { state.markFinished() }
        ended.succeed(())
        onEnd(how)
    }

    func quiesce() {
        channel.eventLoop.execute { [self] in
            guard onEnd != nil, leave?() == true else { return }
            expire(.shuttingDown)
        }
    }
}
