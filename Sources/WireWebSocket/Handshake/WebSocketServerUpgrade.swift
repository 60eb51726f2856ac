public import HTTPTypes
public import WireHTTP1
import WireCore

/// The server's opening handshake over HTTP/1.1, sans I/O (RFC 6455 §4.2): bytes in, a valid
/// Upgrade request out, the 101 or a rejection back; then it hands over to a
/// ``WebSocketConnection`` that starts open.
///
/// It is an ``HTTP1Connection`` (role `.server`) with the WebSocket checks of
/// ``WebSocketServerHandshake`` on top: an invalid request is answered here (400, 403 or 426,
/// `Connection: close`) and ends in ``WebSocketServerUpgradeEvent/failed(_:)``; a valid one is
/// delivered whole (head and end) as ``WebSocketServerUpgradeEvent/request(_:)`` for the
/// application to ``accept(headerFields:)`` or ``reject(status:headerFields:)``.
///
/// ```swift
/// var upgrade = WebSocketServerUpgrade(policy: policy, scheme: "https")
/// upgrade.receive(bytes)
/// switch upgrade.nextEvent() {
/// case .request(let handshake)?:              // path, cookies, offered subprotocols
///     let handover = try upgrade.accept()
///     write(upgrade.takeOutbound())           // the 101
///     var connection = try WebSocketConnection(role: .server, handover: handover)
/// case .failed?:
///     write(upgrade.takeOutbound()); close()  // the 400/403/426
/// case nil: break                             // more bytes
/// }
/// ```
public struct WebSocketServerUpgrade: Sendable {
    /// Where the handshake is.
    public enum State: Sendable, Hashable {
        /// Reading the Upgrade request.
        case awaitingRequest
        /// A valid request was delivered; ``accept(headerFields:)`` or
        /// ``reject(status:headerFields:)`` is awaited.
        case awaitingDecision(WebSocketServerHandshake)
        /// The 101 is queued: hand over to the connection.
        case accepted
        /// The application's rejection is queued.
        case rejected
        /// The request was invalid (its answer is queued when it has a status) or never came.
        case failed(WebSocketHandshakeError)
    }

    /// Origins, subprotocols and the permessage-deflate policy the request is checked against.
    public let policy: WebSocketServerPolicy
    /// `"http"` or `"https"` when known (it completes the request and the same-origin check).
    public let scheme: String?
    public private(set) var state: State = .awaitingRequest
    var http: HTTP1Connection
    /// The valid request, between its head and its end.
    var validated: WebSocketServerHandshake? = nil

    /// - Parameter configuration: limits and leniencies of the HTTP/1.1 parser that reads the
    ///   request.
    public init(
        policy: WebSocketServerPolicy = .init(), scheme: String? = nil, configuration: HTTP1ParserConfiguration = .init()
    ) {
        self.policy = policy
        self.scheme = scheme
        http = HTTP1Connection(role: .server, configuration: configuration)
    }

    /// Buffers bytes read from the transport.
    public mutating func receive(_ bytes: Span<UInt8>) {
        http.receive(bytes)
    }

    /// The transport ended.
    public mutating func receiveEOF() {
        http.receiveEOF()
    }

    /// The next event, or `nil` when more bytes are needed (or a decision is awaited, or the
    /// handshake is over).
    public mutating func nextEvent() -> WebSocketServerUpgradeEvent? {
        guard case .awaitingRequest = state else { return nil }
        while true {
            let event: HTTP1Event
            switch http.nextHandshakeRead(answering: true) {
            case .event(let next): event = next
            case .needMore: return nil
            case .failed(let error): return fail(error)    // answered unless the transport ended
            }
            switch event {
            case .request(let head):
                do {
                    validated = try WebSocketServerHandshake(validating: head, scheme: scheme, policy: policy)
                } catch {
                    return fail(error)
                }
            case .end:
                guard let request = validated else { continue }
                validated = nil
                state = .awaitingDecision(request)
                return .request(request)
            case .body, .informationalResponse, .response, .connectionClosed:
                continue    // no body gets this far: a request announcing one was refused at its head
            }
        }
    }

    /// The request waiting for a decision (after ``WebSocketServerUpgradeEvent/request(_:)``).
    public var pendingRequest: WebSocketServerHandshake? {
        if case .awaitingDecision(let request) = state { return request }
        return nil
    }

    /// Accepts the pending request with the policy's subprotocol: the 101 is queued.
    ///
    /// - Throws: `no-upgrade-request-pending` unless a request awaits a decision;
    ///   `invalid-header-field` for a field HTTP/1.1 cannot carry.
    public mutating func accept(headerFields: HTTPFields = [:]) throws(WebSocketUsageError) -> WebSocketHandover {
        guard let request = pendingRequest else { throw WebSocketUsageError(.noUpgradeRequestPending) }
        return try accept(request.accept(headerFields: headerFields))
    }

    /// Accepts the pending request with an answer built from it
    /// (``WebSocketServerHandshake/accept(subprotocol:headerFields:)``): the 101 is queued, and
    /// what was agreed and the bytes after the request are handed over.
    public mutating func accept(_ acceptance: WebSocketServerAcceptance) throws(WebSocketUsageError) -> WebSocketHandover {
        guard pendingRequest != nil else { throw WebSocketUsageError(.noUpgradeRequestPending) }
        do {
            try http.send(.response(acceptance.response))
        } catch {
            throw WebSocketUsageError(.invalidHeaderField)
        }
        state = .accepted
        return WebSocketHandover(negotiation: acceptance.negotiation, leftover: http.takeLeftover())
    }

    /// Refuses the pending request (a failed authentication, an unknown path...): the response
    /// (`Connection: close`, `Content-Length: 0` unless `headerFields` frames a body, which you
    /// then write yourself) is queued.
    public mutating func reject(status: HTTPResponse.Status = .forbidden, headerFields: HTTPFields = [:]) throws(WebSocketUsageError) {
        guard pendingRequest != nil else { throw WebSocketUsageError(.noUpgradeRequestPending) }
        let response = WebSocketServerHandshake.rejection(status: status, headerFields: headerFields)
        do {
            try http.send(.response(response))
            if response.headerFields[.contentLength] == "0" { try http.send(.end()) }
        } catch {
            throw WebSocketUsageError(.invalidHeaderField)
        }
        state = .rejected
    }

    /// The bytes to write to the transport (the 101 or a rejection), taken out.
    public mutating func takeOutbound() -> [UInt8] {
        http.takeOutbound()
    }

    /// Ends the handshake with `error`, queueing its answer when it has a status (not for a
    /// timeout or an early end of stream).
    mutating func fail(_ error: WebSocketHandshakeError) -> WebSocketServerUpgradeEvent {
        if error.statusHint != nil {
            do {
                try http.send(.response(error.response))
                try http.send(.end())
            } catch {
                preconditionFailure("a rejection head is always serializable: \(error)")
            }
        }
        state = .failed(error)
        return .failed(error)
    }
}

/// What ``WebSocketServerUpgrade/nextEvent()`` reports.
public enum WebSocketServerUpgradeEvent: Sendable, Hashable {
    /// A valid Upgrade request: inspect it (path, cookies, subprotocols), then accept or reject.
    case request(WebSocketServerHandshake)
    /// The request was invalid (its 400, 403 or 426 is queued), or the transport ended first.
    case failed(WebSocketHandshakeError)
}
