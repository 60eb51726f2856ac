public import HTTPTypes
public import NIOCore
import Synchronization
import WireHTTP1
import WireSSE

/// Writes the response to one ``HTTPServerRequest``: whole (``send(_:body:)-(HTTPResponse,ByteBuffer)``),
/// streamed (``start(_:)``: chunked unless you set `Content-Length`), or as a Server-Sent
/// Events stream (``startEventStream(headerFields:)``). A held long poll is simply a handler
/// that awaits before it sends.
///
/// Writes wait while the client is slow to read (backpressure). The server completes what
/// the handler leaves open: a streamed response is finished when the handler returns (or
/// when a graceful shutdown ends an event stream), a response never begun becomes a `500`.
/// A handler that throws after a streamed response began makes the server close the
/// connection without finishing it, so the client sees a truncated message, not a whole one.
public struct HTTPResponseWriter: Sendable {
    let state: ResponseState

    /// Whether a final response head has been sent.
    public var hasStarted: Bool { state.hasStarted }

    /// Sends an informational (1xx) response before the final one: `103 Early Hints`, say.
    /// (`100 Continue` is sent for you when you first read a body the client holds back.)
    public func sendInformational(_ response: HTTPResponse) async throws {
        precondition(response.status.kind == .informational && response.status.code != 101, "a 1xx other than 101")
        try await state.sendInformational(response)
    }

    /// Sends a whole response, with `Content-Length` set to the body's size unless given.
    public func send(_ response: HTTPResponse, body: ByteBuffer = ByteBuffer()) async throws {
        try await state.sendWhole(response, body: body)
    }

    /// Sends a whole response whose body was prepared once for many responses (the same
    /// answer to every held long poll): the body's buffer is shared, not copied.
    /// `Content-Length` is set to the body's size unless given.
    public func send(_ response: HTTPResponse, body: HTTPPreparedBody) async throws {
        try await state.sendWhole(response, prepared: body)
    }

    /// Sends a whole response with a UTF-8 text body.
    public func send(_ response: HTTPResponse, body: String) async throws {
        try await state.sendWhole(response, body: ByteBuffer(string: body))
    }

    /// Sends the head of a streamed response: chunked (HTTP/1.1) unless it has a
    /// `Content-Length`. Write the body with the returned writer, then `finish`.
    public func start(_ response: HTTPResponse) async throws -> HTTPResponseBodyWriter {
        try await state.start(response, eventStream: false)
        return HTTPResponseBodyWriter(state: state)
    }

    /// Starts a Server-Sent Events stream (WHATWG HTML §9.2): `200`, `Content-Type:
    /// text/event-stream`, `Cache-Control: no-store`, and the fields you add. A graceful
    /// shutdown ends it at once, cleanly (the handler is cancelled, the chunked body
    /// finished), so that clients reconnect elsewhere.
    public func startEventStream(headerFields: HTTPFields = [:]) async throws -> ServerSentEventWriter {
        var fields = headerFields
        fields[.contentType] = "text/event-stream"
        if fields[.cacheControl] == nil { fields[.cacheControl] = "no-store" }
        try await state.start(HTTPResponse(status: .ok, headerFields: fields), eventStream: true)
        return ServerSentEventWriter(state: state)
    }
}

/// The body of a streamed response.
public struct HTTPResponseBodyWriter: Sendable {
    let state: ResponseState

    /// Writes body bytes (waits while the client is slow to read).
    public func write(_ buffer: ByteBuffer) async throws {
        try await state.writeBody([UInt8](buffer.readableBytesView))
    }

    public func write(_ text: String) async throws {
        try await state.writeBody(Array(text.utf8))
    }

    /// Writes body bytes prepared once for many responses (their buffer is shared).
    public func write(_ body: HTTPPreparedBody) async throws {
        try await state.writePrepared(body)
    }

    /// Ends the body, with trailer fields for a chunked one.
    public func finish(trailers: HTTPFields? = nil) async throws {
        try await state.finish(trailers: trailers)
    }
}

/// A Server-Sent Events stream (``HTTPResponseWriter/startEventStream(headerFields:)``), each
/// call one complete event or line, written with ``SSESerializer``.
public struct ServerSentEventWriter: Sendable {
    let state: ResponseState

    /// Sends one event: its data (line breaks become `data:` lines), type and id.
    public func send(data: String, event: String? = nil, id: String? = nil) async throws {
        var bytes: [UInt8] = []
        try SSESerializer.writeEvent(data: data, type: event, id: id, into: &bytes)
        try await state.writeBody(bytes)
    }

    /// Sends bytes already serialized as events (one item encoded once for many streams).
    public func send(serialized: ByteBuffer) async throws {
        try await state.writeBody([UInt8](serialized.readableBytesView))
    }

    /// Sends events serialized once for every stream (their buffer is shared, not copied; see
    /// ``ServerSentEventBroadcastGroup`` to write them to every stream in one step).
    public func send(_ events: HTTPPreparedBody) async throws {
        try await state.writePrepared(events)
    }

    /// A comment line (`:` alone when empty): a heartbeat that keeps proxies from closing an
    /// idle stream and dispatches nothing.
    public func comment(_ text: String = "") async throws {
        var bytes: [UInt8] = []
        try SSESerializer.writeComment(text, into: &bytes)
        try await state.writeBody(bytes)
    }

    /// Sets the client's reconnection delay.
    public func retry(milliseconds: UInt64) async throws {
        var bytes: [UInt8] = []
        SSESerializer.writeRetry(milliseconds: milliseconds, into: &bytes)
        try await state.writeBody(bytes)
    }

    /// Ends the stream (the client's `EventSource` then reconnects).
    public func finish() async throws {
        try await state.finish(trailers: nil)
    }
}

/// Why the server refused an application's call, or could not complete it.
public struct HTTPServerError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: Sendable, Hashable {
            case connectionClosed, responseAlreadyStarted, responseNotStarted, responseFinished, contentLengthMismatch
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The connection closed (the client went away, a timeout, a shutdown).
        public static let connectionClosed = Code(.connectionClosed)
        /// A final response was already sent (or started) for this request.
        public static let responseAlreadyStarted = Code(.responseAlreadyStarted)
        /// Body bytes before a response head.
        public static let responseNotStarted = Code(.responseNotStarted)
        /// The response was already finished.
        public static let responseFinished = Code(.responseFinished)
        /// More (or fewer, at `finish`) body bytes than the `Content-Length` said.
        public static let contentLengthMismatch = Code(.contentLengthMismatch)

        public var name: String {
            switch base {
            case .connectionClosed: "connection-closed"
            case .responseAlreadyStarted: "response-already-started"
            case .responseNotStarted: "response-not-started"
            case .responseFinished: "response-finished"
            case .contentLengthMismatch: "content-length-mismatch"
            }
        }

        public var description: String { name }
    }

    public var code: Code

    public init(_ code: Code) { self.code = code }

    public var description: String { "HTTPServerError(\(code.name))" }
}

/// The response side of one request: what has been sent, shared by the writers and the
/// server (which completes what the handler left open).
final class ResponseState: Sendable {
    enum Phase: Sendable {
        /// No final head yet.
        case head
        /// Streaming a body: bytes left to a declared `Content-Length`, if any.
        case body(remaining: Int?)
        case finished
    }

    private struct Inner: Sendable {
        var phase = Phase.head
        /// Broadcast groups write to this response from its event loop.
        var member: HTTPStreamMember?
        /// The event loop completes this response (an event stream served there, a long poll
        /// held there): the handler's task may end before it does.
        var eventLoopResponse: (any EventLoopServedResponse)?
        /// Held on the event loop: only the held-responses machinery answers it.
        var heldOnEventLoop = false
    }

    private let inner = Mutex(Inner())
    private let outbound: ServerConnectionWriter
    private let failure: ServerConnectionFailure
    private let connection: ServerConnectionContext
    /// A HEAD request: heads only.
    private let isHEAD: Bool

    init(
        outbound: ServerConnectionWriter, failure: ServerConnectionFailure,
        connection: ServerConnectionContext, isHEAD: Bool
    ) {
        self.outbound = outbound
        self.failure = failure
        self.connection = connection
        self.isHEAD = isHEAD
    }

    var hasStarted: Bool {
        inner.withLock {
            if case .head = $0.phase { return false }
            return true
        }
    }

    var phase: Phase { inner.withLock { $0.phase } }

    var connectionChannel: any Channel { connection.channel }
    var isHEADRequest: Bool { isHEAD }

    /// Claims the whole response for an answer written from the event loop
    /// (``HTTPHeldResponses``); false when something was sent already.
    func claimHeld() -> Bool {
        (try? claimHead(next: .finished, held: true)) != nil
    }

    /// The response the event loop completes, if the handler handed it over.
    var eventLoopResponse: (any EventLoopServedResponse)? { inner.withLock { $0.eventLoopResponse } }

    /// Hands the response over to the event loop (`held`: a long poll, which the handler may
    /// no longer answer itself); returns whether a graceful shutdown has reached the connection
    /// (then quiesce `response` once it is in place).
    func serveOnEventLoop(_ response: any EventLoopServedResponse, held: Bool = false) -> Bool {
        inner.withLock {
            $0.eventLoopResponse = response
            if held { $0.heldOnEventLoop = true }
        }
        return connection.serveOnEventLoop(response)
    }

    func sendContinueIfNoResponse() async throws {
        guard !hasStarted else { return }
        try await write([.http(.response(HTTPResponse(status: .continue)))])
    }

    func sendInformational(_ response: HTTPResponse) async throws {
        guard !hasStarted else { throw HTTPServerError(.responseAlreadyStarted) }
        try await write([.http(.response(response))])
    }

    func sendWhole(_ response: HTTPResponse, body: ByteBuffer) async throws {
        var response = response
        response.setContentLength(ofWholeBody: body.readableBytes)
        try claimHead(next: .finished)
        var events: [ServerConnectionOutbound] = [.http(.response(response))]
        if response.statusMayHaveBody && !isHEAD && body.readableBytes > 0 { events.append(.http(.body([UInt8](body.readableBytesView)))) }
        events.append(.http(.end(trailers: nil)))
        try await write(events)
    }

    func sendWhole(_ response: HTTPResponse, prepared body: HTTPPreparedBody) async throws {
        var response = response
        let status = response.status.code
        let mayHaveBody = status != 204 && status != 304 && status >= 200
        if mayHaveBody && response.headerFields[.contentLength] == nil && response.headerFields[.transferEncoding] == nil {
            response.headerFields[.contentLength] = String(body.count)
        }
        try claimHead(next: .finished)
        var events: [ServerConnectionOutbound] = [.http(.response(response))]
        if mayHaveBody && !isHEAD && body.count > 0 { events.append(.preparedBody(body)) }
        events.append(.http(.end(trailers: nil)))
        try await write(events)
    }

    func start(_ response: HTTPResponse, eventStream: Bool) async throws {
        let declared = response.headerFields[.contentLength].flatMap { Int($0) }
        try claimHead(next: .body(remaining: declared))
        if eventStream { connection.markEventStream() }
        try await write([.http(.response(response))])
    }

    func writeBody(_ bytes: [UInt8]) async throws {
        try account(bytes.count)
        guard !isHEAD, !bytes.isEmpty else { return }
        try await write([.http(.body(bytes))])
    }

    /// The response as a member of broadcast groups (made at the first join).
    func streamMember() -> HTTPStreamMember {
        inner.withLock { inner in
            if let member = inner.member { return member }
            let member = HTTPStreamMember(channel: connection.channel)
            inner.member = member
            return member
        }
    }

    /// Ends the broadcast groups' writes before the response's end goes out (same event loop).
    private func endMembership() async {
        guard let member = inner.withLock({ $0.member }) else { return }
        try? await member.eventLoop.submit { member.end() }.get()
    }

    func writePrepared(_ body: HTTPPreparedBody) async throws {
        try account(body.count)
        guard !isHEAD, body.count > 0 else { return }
        try await write([.preparedBody(body)])
    }

    /// Counts `count` body bytes against the phase (and a declared Content-Length).
    private func account(_ count: Int) throws(HTTPServerError) {
        try inner.withLock { (inner) throws(HTTPServerError) in
            switch inner.phase {
            case .head: throw HTTPServerError(.responseNotStarted)
            case .finished: throw HTTPServerError(.responseFinished)
            case .body(let remaining):
                if let remaining {
                    guard count <= remaining else { throw HTTPServerError(.contentLengthMismatch) }
                    inner.phase = .body(remaining: remaining - count)
                }
            }
        }
    }

    func finish(trailers: HTTPFields?) async throws {
        await endMembership()
        try inner.withLock { (inner) throws(HTTPServerError) in
            switch inner.phase {
            case .head: throw HTTPServerError(.responseNotStarted)
            case .finished: throw HTTPServerError(.responseFinished)
            case .body(let remaining):
                if let remaining, remaining > 0, !isHEAD { throw HTTPServerError(.contentLengthMismatch) }
                inner.phase = .finished
            }
        }
        try await write([.http(.end(trailers: trailers))])
    }

    private func claimHead(next: Phase, held: Bool = false) throws(HTTPServerError) {
        try inner.withLock { (inner) throws(HTTPServerError) in
            guard case .head = inner.phase, held || !inner.heldOnEventLoop else { throw HTTPServerError(.responseAlreadyStarted) }
            inner.phase = next
        }
    }

    private func write(_ events: [ServerConnectionOutbound]) async throws {
        if let error = failure.error { throw error }
        // A response in broadcast groups: their adds (with the backlog), removes and broadcasts
        // are queued on its event loop. Written from the loop (where the handler's task runs
        // by default), this would go out at once, before the group's calls made earlier; it
        // waits its turn behind them instead, as a write from another thread does.
        if let member = inner.withLock({ $0.member }), member.eventLoop.inEventLoop {
            try? await member.eventLoop.submit {}.get()
        }
        do {
            try await outbound.write(contentsOf: events)
        } catch {
            throw failure.error ?? HTTPServerError(.connectionClosed)
        }
    }

    /// Marks the response finished (the server completed or abandoned it).
    func markFinished() {
        let member = inner.withLock { inner in
            inner.phase = .finished
            return inner.member
        }
        if let member { member.eventLoop.execute { member.end() } }
    }
}

extension HTTPResponse {
    /// Whether a response with this status may carry a body: not a 1xx, `204` or `304`
    /// (RFC 9110 §6.4.1).
    var statusMayHaveBody: Bool {
        let code = status.code
        return code >= 200 && code != 204 && code != 304
    }

    /// Frames a whole response whose body is `count` bytes: `Content-Length` set to it unless
    /// the head frames the body already or its status has none (a `204` must not say
    /// `Content-Length`, RFC 9110 §8.6).
    mutating func setContentLength(ofWholeBody count: Int) {
        guard statusMayHaveBody, headerFields[.contentLength] == nil, headerFields[.transferEncoding] == nil else { return }
        headerFields[.contentLength] = String(count)
    }
}
