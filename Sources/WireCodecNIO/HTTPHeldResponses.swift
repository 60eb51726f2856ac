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

        init(state: ResponseState, channel: any Channel) {
            self.state = state
            self.channel = channel
        }

        func finish(_ result: Result<Outcome, any Error>) {
            timer?.cancel()
            timer = nil
            continuation?.resume(with: result)
            continuation = nil
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

    /// Answers every response held now, and every later hold, with `head` and `body`
    /// (`Content-Length` set to the body's size unless given). Returns at once; the report
    /// says how many were answered. A second call is ignored.
    @discardableResult
    public func answerAll(_ head: HTTPResponse, body: HTTPPreparedBody) -> HTTPHeldResponsesAnswer {
        var head = head
        if head.headerFields[.contentLength] == nil && head.headerFields[.transferEncoding] == nil {
            head.headerFields[.contentLength] = String(body.count)
        }
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
