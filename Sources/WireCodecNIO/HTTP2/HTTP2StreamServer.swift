import HTTPTypes
import Logging
import NIOCore
import WireCore
import NIOHTTPTypes
import WireHTTP1
import Synchronization
import WireWebSocket

/// Serves one HTTP/2 stream of a ``WireServer``: its one request goes to the application's
/// HTTP handler exactly as an HTTP/1.1 request does (``HTTPServerRequest``,
/// ``HTTPResponseWriter``: whole, streamed, Server-Sent Events, held long polls), and an
/// extended CONNECT for a WebSocket (RFC 8441) to its WebSocket handler
/// (``WebSocketUpgradeRequest``, then ``WebSocket``), checked by
/// ``WebSocketExtendedConnectServerHandshake`` under the same policy as an HTTP/1.1 upgrade.
struct HTTP2StreamServer {
    let server: WireServer
    let context: ServerConnectionContext
    let outbound: ServerConnectionWriter
    let reader: ServerConnectionReader
    let failure: ServerConnectionFailure
    let progress: HTTP2StreamProgress
    /// The connection's peer (the stream channel has none of its own).
    let remoteAddress: SocketAddress?

    var configuration: WireServer.Configuration { server.configuration }

    func run() async throws {
        guard let event = try await reader.next(), case .stream(.head(let request)) = event else { return }
        if WebSocketExtendedConnectServerHandshake.isExtendedConnect(request), let decide = server.webSocketHandler {
            try await upgrade(request, decide: decide)
        } else {
            try await handle(request)
        }
    }

    // MARK: Requests

    private func handle(_ request: HTTPRequest) async throws {
        let response = ResponseState(outbound: outbound, failure: failure, connection: context, isHEAD: request.method == .head)
        let expectsContinue = request.headerFields[.expect].map { $0.lowercased() == "100-continue" } ?? false
        let body = RequestBodySource(reader: reader, expectsContinue: expectsContinue, response: response)
        let serverRequest = HTTPServerRequest(
            head: request, body: HTTPRequestBody(source: body), remoteAddress: remoteAddress, httpVersion: .http2)
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
        // An event stream or a held long poll that the event loop completes: the stream's task
        // waits for it (an HTTP/2 stream's task is not detached).
        if let served = response.eventLoopResponse { try? await served.done.get() }
        try await complete(response, error: outcome.withLock { $0 })
        await endOfStream()
    }

    /// Completes what the handler left, as over HTTP/1.1, except that a failure in the middle of
    /// a response resets this stream only (the connection and its other streams go on).
    private func complete(_ response: ResponseState, error: (any Error)?) async throws {
        guard context.channel.isActive, failure.error == nil else { return }
        switch response.phase {
        case .finished:
            return
        case .head:
            if let error { server.logger.debug("request handler failed", metadata: ["error": "\(error)"]) }
            let status: HTTPResponse.Status = error is HTTPBodyTooLarge ? .contentTooLarge : .internalServerError
            try await sendPlain(status)
            response.markFinished()
        case .body:
            if error == nil || error is CancellationError {
                try? await response.finish(trailers: nil)
                return
            }
            server.logger.debug("request handler failed mid-response", metadata: ["error": "\(error!)"])
            response.markFinished()
            context.channel.close(promise: nil)
        }
    }

    /// Waits until the stream can be let go: closed by both END_STREAMs (our END_STREAM
    /// leaves only as fast as the client's flow-control window allows), or, when the client
    /// still sends a request body nobody reads, until our END_STREAM is written (closing
    /// then resets the stream, RFC 9113 §8.1).
    private func endOfStream() async {
        let channel = context.channel
        if progress.hasRequestEnded {
            try? await channel.closeFuture.get()
        } else if let end = progress.responseEnd {
            try? await end.get()
        }
    }

    private func sendPlain(_ status: HTTPResponse.Status, fields: HTTPFields = [:]) async throws {
        var fields = fields
        fields[.contentLength] = "0"
        try await outbound.write(contentsOf: [.http(.response(HTTPResponse(status: status, headerFields: fields))), .http(.end(trailers: nil))])
    }

    // MARK: WebSocket (RFC 8441)

    private func upgrade(_ request: HTTPRequest, decide: WireServer.WebSocketUpgradeHandler) async throws {
        let policy = configuration.webSocketPolicy
        let handshake: WebSocketExtendedConnectServerHandshake
        do {
            handshake = try WebSocketExtendedConnectServerHandshake(validating: request, policy: policy)
        } catch {
            try await outbound.write(contentsOf: [.http(.response(error.extendedConnectResponse)), .http(.end(trailers: nil))])
            await endOfStream()
            return
        }
        let decision: WebSocketUpgradeDecision
        do {
            decision = try await decide(WebSocketUpgradeRequest(extendedConnect: handshake, remoteAddress: remoteAddress))
        } catch {
            server.logger.debug("upgrade handler failed", metadata: ["error": "\(error)"])
            try await sendPlain(.internalServerError)
            await endOfStream()
            return
        }
        switch decision.kind {
        case .reject(let response, let body):
            try await outbound.write(contentsOf: ServerConnection.rejection(response, body: body))
            await endOfStream()
        case .accept(let subprotocol, let deflate, let fields, let webSocketConfiguration, let sendQueue, let handler):
            let connection = ServerConnection(server: server, context: context, outbound: outbound, reader: reader, failure: failure)
            switch try await connection.switchToWebSocket(
                handshake, subprotocol: subprotocol, deflate: deflate, headerFields: fields,
                webSocketConfiguration: webSocketConfiguration, sendQueue: sendQueue, handler: handler)
            {
            case .notAcceptable:
                try await sendPlain(.internalServerError)
                await endOfStream()
            case .ended:
                return
            case .ran, .detached:
                // Our END_STREAM is out (or the stream was reset); wait for the client's, which
                // the stream adapter bounds by the closing timeout.
                try? await context.channel.closeFuture.get()
            }
        }
    }
}
