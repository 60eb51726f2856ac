import HTTPTypes
import NIOCore
import NIOTLS
import Synchronization
import WireHTTP1
import WireWebSocket

extension WebSocketClient {
    /// What the HTTP/2 attempt came to.
    enum HTTP2Attempt<Result: Sendable>: Sendable {
        /// The WebSocket ran over HTTP/2; `body` returned this.
        case done(Result)
        /// HTTP/2 was not possible (the reason); nothing was sent but the TLS handshake and
        /// the HTTP/2 preface, so the caller may go on over HTTP/1.1.
        case unavailable(String)
    }

    /// What ALPN chose on a connection that offered `h2` and `http/1.1`.
    enum Negotiated: Sendable {
        case http2(HTTP2ClientConnection)
        case http1
    }

    /// Tries the WebSocket over HTTP/2 (RFC 8441): TLS with ALPN `h2, http/1.1`; if the server
    /// chose `h2` and its SETTINGS allow extended CONNECT, the extended CONNECT on a new
    /// stream, then `body` over it. The whole opening is bounded by the handshake timeout.
    func withHTTP2Connection<Result: Sendable>(
        _ body: (WebSocketClientConnection) async throws -> Result
    ) async throws -> HTTP2Attempt<Result> {
        guard url.isSecure else { return .unavailable("a ws:// URL has no TLS, hence no ALPN to ask for HTTP/2") }
        let handshake = try WebSocketExtendedConnectClientHandshake(
            authority: url.hostHeader, path: url.requestTarget, scheme: "https", origin: configuration.origin,
            subprotocols: configuration.subprotocols, deflate: configuration.deflate, headerFields: configuration.headerFields)
        let negotiated = NegotiationOutcome()
        let channel = try await ClientConnector.connect(
            to: url, configuration: configuration.connection, group: group, applicationProtocols: ["h2", "http/1.1"],
            protocolHandlers: {
                [NIOTypedApplicationProtocolNegotiationHandler<Negotiated> { result, channel in
                    let outcome = channel.eventLoop.makeCompletedFuture { () throws -> Negotiated in
                        guard case .negotiated("h2") = result else { return .http1 }
                        return .http2(try HTTP2ClientConnection.configure(channel))
                    }
                    negotiated.complete(with: outcome)
                    return outcome
                }]
            },
            wrap: { channel in
                negotiated.start(on: channel)
                return channel
            })
        let timedOut = Atomic<Bool>(false)
        let timer = channel.eventLoop.scheduleTask(in: .nanoseconds(configuration.handshakeTimeout.nanoseconds)) {
            timedOut.store(true, ordering: .relaxed)
            channel.close(promise: nil)
        }
        let opened: (NIOAsyncChannel<WebSocketClientInbound, WebSocketOutboundEvent>, WebSocketNegotiation)
        do {
            let connection: HTTP2ClientConnection
            switch try await negotiated.result() {
            case .http1:
                timer.cancel()
                try? await channel.close()
                return .unavailable("the server chose http/1.1 by ALPN")
            case .http2(let http2):
                connection = http2
            }
            guard try await connection.supportsExtendedConnect() else {
                timer.cancel()
                try? await channel.close()
                return .unavailable("the server's HTTP/2 SETTINGS do not allow extended CONNECT (RFC 8441)")
            }
            // The application takes the events from its own task: a protocol error waits until
            // it has taken the messages before it (and answered them), as over HTTP/1.1.
            switch try await connection.openWebSocketHoldingFailures(handshake, configuration: configuration.webSocket) {
            case .accepted(let webSocket, let negotiation):
                timer.cancel()
                opened = (webSocket, negotiation)
            case .rejected(let response, _):
                timer.cancel()
                try? await channel.close()
                throw WebSocketClientUpgradeError(.rejected, response: response)
            }
        } catch {
            timer.cancel()
            try? await channel.close()
            if timedOut.load(ordering: .relaxed) {
                throw ClientConnectionError(.handshakeTimeout, "no open WebSocket after \(configuration.handshakeTimeout)")
            }
            if let error = error as? WebSocketHandshakeError { throw WebSocketClientUpgradeError(.invalidResponse, handshake: error) }
            throw error
        }
        let result: Result
        do {
            result = try await opened.0.executeThenClose { inbound, outbound in
                let connection = WebSocketClientConnection(
                    request: handshake.request, negotiation: opened.1,
                    reader: WebSocketClientEventReader(inbound.makeAsyncIterator()), writer: outbound, httpVersion: .http2)
                let result = try await body(connection)
                await connection.finish()
                return result
            }
        } catch {
            try? await channel.close()
            throw error
        }
        // The stream is over; the connection was only for it.
        try? await channel.close()
        return .done(result)
    }
}

/// The outcome of ALPN on a client channel: set when the TLS handshake is done, failed if the
/// channel closes first.
final class NegotiationOutcome: Sendable {
    private let promise = Mutex<EventLoopPromise<WebSocketClient.Negotiated>?>(nil)

    /// Called on the channel's event loop when it is made.
    func start(on channel: any Channel) {
        let made = channel.eventLoop.makePromise(of: WebSocketClient.Negotiated.self)
        promise.withLock { $0 = made }
        channel.closeFuture.whenComplete { _ in
            made.fail(ClientConnectionError(.connectionClosed, "before TLS chose a protocol"))
        }
    }

    func complete(with outcome: EventLoopFuture<WebSocketClient.Negotiated>) {
        if let made = promise.withLock({ $0 }) { outcome.cascade(to: made) }
    }

    func result() async throws -> WebSocketClient.Negotiated {
        guard let made = promise.withLock({ $0 }) else { throw ClientConnectionError(.connectionClosed) }
        return try await made.futureResult.get()
    }
}
