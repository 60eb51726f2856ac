public import WireHTTP1
import HTTPTypes
import WireCore

/// The client's opening handshake over HTTP/1.1, sans I/O (RFC 6455 §4.1): the Upgrade request
/// out, the server's answer in; then it hands over to a ``WebSocketConnection`` that starts
/// open.
///
/// It is an ``HTTP1Connection`` (role `.client`) with the checks of
/// ``WebSocketClientHandshake`` on the answer: a valid 101 (after any 1xx) is
/// ``WebSocketClientUpgradeEvent/accepted(_:)`` with the bytes that followed it; any other final
/// status is read whole (its body up to `maxRejectionBodySize`) and handed back as
/// ``WebSocketClientUpgradeEvent/rejected(_:)`` (a 401 to authenticate, a redirect); an invalid
/// 101, malformed HTTP or an early end of stream is ``WebSocketClientUpgradeEvent/failed(_:)``.
///
/// ```swift
/// var upgrade = WebSocketClientUpgrade(try WebSocketClientHandshake(authority: "example.com", path: "/chat"))
/// write(upgrade.takeOutbound())               // the request
/// upgrade.receive(bytes)
/// if case .accepted(let handover)? = upgrade.nextEvent() {
///     var connection = try WebSocketConnection(role: .client, handover: handover)
/// }
/// ```
public struct WebSocketClientUpgrade: Sendable {
    /// Where the handshake is.
    public enum State: Sendable, Hashable {
        /// The request is queued or out; the answer is awaited.
        case awaitingResponse
        /// A valid 101 arrived: hand over to the connection.
        case accepted
        /// A final answer other than 101 arrived (whole).
        case rejected
        /// The answer was invalid, or never came.
        case failed(WebSocketHandshakeError)
    }

    /// The request sent and the checks of the answer.
    public let handshake: WebSocketClientHandshake
    /// The most body bytes kept from a non-101 answer.
    public let maxRejectionBodySize: Int
    public private(set) var state: State = .awaitingResponse
    var http: HTTP1Connection
    /// A non-101 answer whose body is being read.
    var rejection: WebSocketHandshakeRejection? = nil
    /// The transport ended: once the HTTP/1.1 machine has nothing more, the handshake failed.
    var receivedEOF = false

    /// Queues the Upgrade request.
    ///
    /// - Parameters:
    ///   - configuration: limits and leniencies of the HTTP/1.1 parser that reads the answer.
    ///   - maxRejectionBodySize: the most body bytes kept from a non-101 answer (default 64 KiB;
    ///     the rest is read and dropped, and the rejection says it was cut).
    public init(
        _ handshake: WebSocketClientHandshake, configuration: HTTP1ParserConfiguration = .init(),
        maxRejectionBodySize: Int = 64 << 10
    ) {
        precondition(maxRejectionBodySize >= 0, "maxRejectionBodySize must not be negative")
        self.handshake = handshake
        self.maxRejectionBodySize = maxRejectionBodySize
        http = HTTP1Connection(role: .client, configuration: configuration)
        do {
            try http.send(.request(handshake.request))
            try http.send(.end())
        } catch {
            preconditionFailure("WebSocketClientHandshake checked that the request can be written: \(error)")
        }
    }

    /// Buffers bytes read from the transport.
    public mutating func receive(_ bytes: Span<UInt8>) {
        http.receive(bytes)
    }

    /// The transport ended (a rejection read until close is complete then).
    public mutating func receiveEOF() {
        receivedEOF = true
        http.receiveEOF()
    }

    /// The next event, or `nil` when more bytes are needed (or the handshake is over).
    public mutating func nextEvent() -> WebSocketClientUpgradeEvent? {
        guard case .awaitingResponse = state else { return nil }
        while true {
            let event: HTTP1Event
            switch http.nextHandshakeRead(answering: false) {
            case .event(let next):
                event = next
            case .needMore:
                // After the end of input, nothing more will come: a server that closed before
                // (or without finishing) its answer ends the handshake, as RFC 6455 §4.1 fails it.
                return receivedEOF ? fail(WebSocketHandshakeError(.endOfStream)) : nil
            case .failed(let error):
                return fail(error)
            }
            switch event {
            case .informationalResponse(let head):
                guard head.status == 101 else { continue }    // 100, 103...: the answer is still to come
                return switched(head)
            case .response(let head):
                do {
                    rejection = WebSocketHandshakeRejection(response: try head.httpResponse())
                } catch {
                    return fail(WebSocketHandshakeError(.malformedHTTP, http: error))
                }
            case .body(let bytes):
                guard var rejection else { continue }
                let take = Swift.min(maxRejectionBodySize &- rejection.body.count, bytes.count)
                rejection.body.append(contentsOf: bytes[..<take])
                if take < bytes.count { rejection.bodyIsTruncated = true }
                self.rejection = rejection
            case .end:
                guard let rejection else { continue }
                state = .rejected
                return .rejected(rejection)
            case .request, .connectionClosed:
                continue    // never read by a client (the end of the connection is mapped above)
            }
        }
    }

    /// The bytes to write to the transport (the request), taken out.
    public mutating func takeOutbound() -> [UInt8] {
        http.takeOutbound()
    }

    /// The server's 101, checked (§4.1).
    private mutating func switched(_ head: HTTP1ResponseHead) -> WebSocketClientUpgradeEvent {
        let outcome: WebSocketClientHandshake.Outcome
        do {
            outcome = try handshake.validate(head)
        } catch {
            return fail(error)
        }
        guard case .accepted(let negotiation) = outcome else { preconditionFailure("a 101 is never a rejection") }
        state = .accepted
        return .accepted(WebSocketHandover(negotiation: negotiation, leftover: http.takeLeftover()))
    }

    /// Ends the handshake with `error`.
    mutating func fail(_ error: WebSocketHandshakeError) -> WebSocketClientUpgradeEvent {
        state = .failed(error)
        return .failed(error)
    }
}

/// What ``WebSocketClientUpgrade/nextEvent()`` reports.
public enum WebSocketClientUpgradeEvent: Sendable, Hashable {
    /// A valid 101: the agreement and the bytes after it, for the connection.
    case accepted(WebSocketHandover)
    /// Another final status, with its body (up to the limit).
    case rejected(WebSocketHandshakeRejection)
    /// The answer was invalid (a bad 101, malformed HTTP) or the transport ended first.
    case failed(WebSocketHandshakeError)
}
