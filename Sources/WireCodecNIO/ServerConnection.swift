import HTTPTypes
import Logging
import NIOCore
import Synchronization
import WireCore
import WireHTTP1
import WireWebSocket

/// One accepted connection, served by one task: its requests in order, each handed to the
/// application's handler in a task of its own (``ServerConnectionContext/run(_:)``), and at
/// most one WebSocket after an accepted upgrade.
struct ServerConnection {
    let server: WireServer
    let context: ServerConnectionContext
    let outbound: ServerConnectionWriter
    let reader: ServerConnectionReader
    let failure: ServerConnectionFailure

    var configuration: WireServer.Configuration { server.configuration }

    /// The same connection for a new task, after its `NIOAsyncChannel`'s scope has ended: the
    /// same inbound stream, writes through the pipeline.
    func takenUp(writingTo channel: any Channel) -> ServerConnection {
        ServerConnection(
            server: server, context: context, outbound: ServerConnectionWriter(direct: channel), reader: reader,
            failure: failure)
    }

    /// Where serving the connection's requests stopped.
    enum Outcome {
        /// The connection is over (or closing).
        case ended
        /// The connection became a WebSocket or an event stream served from its event loop: the
        /// channel lives on without this task.
        case detached
        /// A response is held on the event loop (a long poll): call ``run()`` again once this
        /// future is done, for the next request.
        case parked(EventLoopFuture<Void>)
        /// The connection is a WebSocket whose handler runs in a task of its own (the
        /// connection's activity): the channel lives on without this task and closes once
        /// this future, the handler's end, is done.
        case webSocket(EventLoopFuture<Void>)
    }

    /// Serves the connection's requests until it ends, is detached or parks.
    func run() async throws -> Outcome {
        while let event = try await reader.next() {
            switch event {
            case .http(.request(let head)):
                if let decide = server.webSocketHandler, Self.asksForWebSocket(head) {
                    switch try await upgrade(head, decide: decide) {
                    case .next: continue
                    case .end: return .ended
                    case .detached: return .detached
                    case .webSocket(let handlerDone): return .webSocket(handlerDone)
                    }
                }
                switch try await handle(head) {
                case .next: continue
                case .end: return .ended
                case .detached: return .detached
                case .parked(let done): return .parked(done)
                }
            case .http(.connectionClosed), .httpFailed:
                return .ended
            case .http, .webSocketOpened, .webSocket, .webSocketFailureHeld, .stream:
                continue
            }
        }
        return .ended
    }

    /// What follows a request on the connection.
    private enum AfterRequest {
        case next, end, detached
        case parked(EventLoopFuture<Void>)
    }

    // MARK: Requests

    /// Serves one request; returns what follows on the connection.
    private func handle(_ head: HTTP1RequestHead) async throws -> AfterRequest {
        let request: HTTPRequest
        do {
            request = try head.httpRequest(scheme: configuration.scheme)
        } catch {
            try? await sendPlain(HTTPResponse.Status(code: error.statusHint), close: true)
            return .end
        }
        let response = ResponseState(outbound: outbound, failure: failure, connection: context, isHEAD: request.method == .head)
        let body = RequestBodySource(reader: reader, expectsContinue: head.expectsContinue, response: response)
        let serverRequest = HTTPServerRequest(
            head: request, body: HTTPRequestBody(source: body), remoteAddress: context.channel.remoteAddress)
        let writer = HTTPResponseWriter(state: response)
        let handler = server.httpHandler
        let outcome = Mutex<(any Error)?>(nil)
        await context.run {
            do {
                try await handler(serverRequest, writer)
            } catch {
                outcome.withLock { $0 = error }
            }
        }
        let error = outcome.withLock { $0 }
        if let served = response.eventLoopResponse {
            if let error { server.logger.debug("request handler failed", metadata: ["error": "\(error)"]) }
            if served.isEventStream {
                // The stream goes on without this task (the connection closes with it).
                if context.channel.isActive, let stream = served as? EventLoopStreamCore,
                    (try? await context.channel.eventLoop.submit { stream.detachIfOpen() }.get()) == true
                {
                    return .detached
                }
            } else {
                // Held: the event loop answers; meanwhile the rest of the request is read, then
                // the connection's task waits for the answer (no handler's task does).
                guard try await discardBody(body) else { return .end }
                return .parked(served.done)
            }
        }
        guard try await complete(response, error: error) else { return .end }
        return try await discardBody(body) ? .next : .end
    }

    /// Completes what the handler left: a `500` (or `413` for a body too large) when nothing
    /// was sent; the end of a streamed body when the handler returned or was stopped by a
    /// shutdown; a close when it failed in the middle (the client must not take a truncated
    /// body for a whole one).
    private func complete(_ response: ResponseState, error: (any Error)?) async throws -> Bool {
        guard context.channel.isActive, failure.error == nil else { return false }
        if let error, error is HTTP1Timeout || error is HTTP1ParseError { return false }
        switch response.phase {
        case .finished:
            return true
        case .head:
            if let error { server.logger.debug("request handler failed", metadata: ["error": "\(error)"]) }
            let status: HTTPResponse.Status = error is HTTPBodyTooLarge ? .contentTooLarge : .internalServerError
            try await sendPlain(status, close: error is HTTPBodyTooLarge)
            response.markFinished()
            return true
        case .body:
            if error == nil || error is CancellationError {
                do {
                    try await response.finish(trailers: nil)
                    return true
                } catch {
                    return false
                }
            }
            server.logger.debug("request handler failed mid-response", metadata: ["error": "\(error!)"])
            response.markFinished()
            context.channel.close(promise: nil)
            return false
        }
    }

    /// Reads what the handler left of the request body, up to
    /// ``WireServer/Configuration/maxDiscardedBodyBytes``; beyond that the connection closes.
    private func discardBody(_ body: RequestBodySource) async throws -> Bool {
        // The client waits for `100 Continue` and got a final answer instead: it may never
        // send the body (RFC 9110 §10.1.1), so the connection cannot go on.
        if body.clientAwaitsContinue {
            context.channel.close(promise: nil)
            return false
        }
        var discarded = 0
        while !body.isFinished {
            guard let buffer = try await body.next() else { break }
            discarded += buffer.readableBytes
            if discarded > configuration.maxDiscardedBodyBytes {
                context.channel.close(promise: nil)
                return false
            }
        }
        return true
    }

    private func sendPlain(_ status: HTTPResponse.Status, close: Bool) async throws {
        var fields = HTTPFields()
        fields[.contentLength] = "0"
        if close { fields[.connection] = "close" }
        try await outbound.write(contentsOf: [.http(.response(HTTPResponse(status: status, headerFields: fields))), .http(.end(trailers: nil))])
    }

    // MARK: WebSocket

    /// Whether the request asks for a WebSocket (`Upgrade: websocket`); other upgrades (h2c)
    /// are ordinary requests, answered without switching.
    static func asksForWebSocket(_ head: HTTP1RequestHead) -> Bool {
        guard head.isUpgradeRequest, let upgrade = head.fields.firstValue(named: "upgrade") else { return false }
        return upgrade.lowercased().split(separator: ",").contains { token in
            token.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed() == Array("websocket")
        }
    }

    /// What follows an Upgrade request on the connection.
    enum AfterUpgrade {
        /// The next request (the upgrade was refused).
        case next
        /// Nothing: the connection is closing (or its WebSocket ran and is over).
        case end
        /// The connection is a WebSocket served from its event loop; its task ends.
        case detached
        /// The connection is a WebSocket whose handler runs in a task of its own, done with
        /// this future; the connection's task ends.
        case webSocket(EventLoopFuture<Void>)
    }

    /// An Upgrade request: validated here, decided by the application, and either answered
    /// or switched and run.
    private func upgrade(_ head: HTTP1RequestHead, decide: WireServer.WebSocketUpgradeHandler) async throws -> AfterUpgrade {
        guard try await readToEnd() else { return .end }
        let policy = configuration.webSocketPolicy
        let handshake: WebSocketServerHandshake
        do {
            handshake = try WebSocketServerHandshake(validating: head, scheme: configuration.scheme, policy: policy)
        } catch {
            try await outbound.write(contentsOf: [.http(.response(error.response)), .http(.end(trailers: nil))])
            return .next
        }
        let decision: WebSocketUpgradeDecision
        do {
            decision = try await decide(WebSocketUpgradeRequest(handshake: handshake, remoteAddress: context.channel.remoteAddress))
        } catch {
            server.logger.debug("upgrade handler failed", metadata: ["error": "\(error)"])
            try await sendPlain(.internalServerError, close: true)
            return .end
        }
        switch decision.kind {
        case .reject(let response, let body):
            try await outbound.write(contentsOf: ServerConnection.rejection(response, body: body))
            return .next
        case .accept(let subprotocol, let deflate, let fields, let webSocketConfiguration, let sendQueue, let handler):
            if let serving = decision.eventLoopServing {
                let outcome = try await switchToEventLoopWebSocket(
                    handshake, subprotocol: subprotocol, deflate: deflate, headerFields: fields,
                    webSocketConfiguration: webSocketConfiguration, sendQueue: sendQueue, serving: serving)
                if outcome == .notAcceptable { try await sendPlain(.internalServerError, close: true) }
                return outcome == .detached ? .detached : .end
            }
            switch try await startWebSocket(
                handshake, subprotocol: subprotocol, deflate: deflate, headerFields: fields,
                webSocketConfiguration: webSocketConfiguration, sendQueue: sendQueue, handler: handler)
            {
            case .notAcceptable:
                try await sendPlain(.internalServerError, close: true)
                return .end
            case .ended:
                return .end
            case .started(let handlerDone):
                return .webSocket(handlerDone)
            }
        }
    }

    /// Reads the rest of an Upgrade request (it has no body); false if the connection ended.
    private func readToEnd() async throws -> Bool {
        while let event = try await reader.next() {
            switch event {
            case .http(.end): return true
            case .http(.body): continue
            default: return false
            }
        }
        return false
    }

    func runWebSocket(
        request: HTTPRequest, negotiation: WebSocketNegotiation, reference: WebSocketHandlerReference,
        handler: @escaping @Sendable (WebSocket) async throws -> Void
    ) async throws {
        await context.run(webSocketActivity(request: request, negotiation: negotiation, reference: reference, handler: handler))
    }

    /// The WebSocket's handler over the connection's inbound stream, as the connection's
    /// activity: run to its end, then the closing handshake finished.
    func webSocketActivity(
        request: HTTPRequest, negotiation: WebSocketNegotiation, reference: WebSocketHandlerReference,
        handler: @escaping @Sendable (WebSocket) async throws -> Void
    ) -> @Sendable () async -> Void {
        let reader = self.reader
        let logger = server.logger
        return {
            let (closure, error) = await WebSocket.run(
                request: request, negotiation: negotiation,
                next: {
                    while let event = try await reader.next() {
                        switch event {
                        case .webSocket(let event):
                            return event
                        case .webSocketFailureHeld:
                            // The application took the messages before a protocol error and
                            // asks for more: the failure takes effect; `.closed` follows.
                            reference.execute { $0.releaseHeldFailure() }
                        default:
                            continue
                        }
                    }
                    return nil
                },
                outbound: WebSocketOutbound(target: .handler(reference)),
                handler: handler)
            Self.logWebSocketEnd(logger, closure: closure, error: error)
        }
    }

    /// Never inlined: what logging needs would otherwise be part of the activity's async frame,
    /// which an idle WebSocket's task holds while its handler waits for a message.
    @inline(never)
    static func logWebSocketEnd(_ logger: Logger, closure: WebSocketClosure, error: (any Error)?) {
        if let error, !(error is CancellationError) {
            logger.debug("WebSocket handler failed", metadata: ["error": "\(error)"])
        }
        logger.trace("WebSocket closed", metadata: ["closure": "\(closure)"])
    }
}
