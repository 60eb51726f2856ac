public import HTTPTypes
import WireCore
import WireHTTP1

// The `connecting` state of a connection that runs the opening handshake itself (RFC 6455 §4):
// an HTTP/1.1 parser reads the Upgrade request (server) or the answer (client); the bytes after
// the head stay in the receive buffer and are the first frames.

/// The opening handshake's HTTP state (freed when the connection opens or closes). Reached
/// only through the `~Copyable` connection, so never shared.
final class HandshakeDriver: @unchecked Sendable {
    var parser: HTTP1Parser
    let client: WebSocketClientHandshake?
    let policy: WebSocketServerPolicy
    let scheme: String?
    /// Server: the valid request, once its head arrived.
    var validated: WebSocketServerHandshake?
    /// Client: a non-101 answer whose body is being read.
    var rejection: WebSocketHandshakeRejection?

    init(parser: HTTP1Parser, client: WebSocketClientHandshake?, policy: WebSocketServerPolicy, scheme: String?) {
        self.parser = parser
        self.client = client
        self.policy = policy
        self.scheme = scheme
    }
}

extension WebSocketConnection {
    /// Reads the handshake's HTTP message from the receive buffer.
    mutating func nextHandshakeEvent() -> WebSocketEvent? {
        guard let driver = handshake, phase != .connecting(.awaitingDecision) else { return nil }
        while true {
            let step: HTTP1ParseStep
            do {
                step = try driver.parser.parse(receiver.inbound.span.extracting(receiver.inboundStart...))
            } catch {
                return handshakeFailed(WebSocketHandshakeError(
                    .malformedHTTP, statusHint: role == .server ? HTTPResponse.Status(code: error.statusHint) : nil,
                    http: error))
            }
            let base = receiver.inboundStart
            receiver.inboundStart &+= step.consumed
            guard let event = step.event else {
                if driver.parser.pause != nil { return nil }
                receiver.releaseConsumedInbound()
                guard flags.contains(.receivedEOF) else { return nil }
                return handshakeAtEndOfStream(driver)
            }
            switch event {
            case .requestHead(let head):
                do {
                    driver.validated = try WebSocketServerHandshake(validating: head, scheme: driver.scheme, policy: driver.policy)
                } catch {
                    return handshakeFailed(error)
                }
            case .responseHead(let head):
                if head.status == 101 {
                    return switchedProtocols(head, driver)
                }
                if head.isInformational { continue }
                do {
                    driver.rejection = WebSocketHandshakeRejection(response: try head.httpResponse())
                } catch {
                    return handshakeFailed(WebSocketHandshakeError(.malformedHTTP, http: error))
                }
            case .body(let range):
                guard var rejection = driver.rejection else { continue }
                let room = configuration.values.maxRejectionBodySize &- rejection.body.count
                let take = Swift.min(room, range.count)
                let start = base &+ range.lowerBound
                rejection.body.append(contentsOf: receiver.inbound[start..<(start &+ take)])
                if take < range.count { rejection.bodyIsTruncated = true }
                driver.rejection = rejection
            case .chunkExtensions:
                continue
            case .end:
                if role == .client {
                    if let rejection = driver.rejection { return rejected(rejection) }
                    continue
                }
                if let validated = driver.validated {
                    phase = .connecting(.awaitingDecision)
                    return .upgradeRequest(validated)
                }
            }
        }
    }

    /// Client: the server's 101, checked.
    private mutating func switchedProtocols(_ head: HTTP1ResponseHead, _ driver: HandshakeDriver) -> WebSocketEvent {
        let outcome: WebSocketClientHandshake.Outcome
        do {
            outcome = try driver.client!.validate(head)
        } catch {
            return handshakeFailed(error)
        }
        guard case .accepted(let negotiation) = outcome else { preconditionFailure("a 101 is never a rejection") }
        do {
            try open(negotiation)
        } catch {
            return handshakeFailed(WebSocketHandshakeError(
                .extensionNegotiationFailed, deflate: PerMessageDeflateNegotiationError(.windowBits8Unsupported)))
        }
        return .accepted(negotiation)
    }

    /// The transport ended during the handshake: a rejection read until close is complete;
    /// anything else failed.
    private mutating func handshakeAtEndOfStream(_ driver: HandshakeDriver) -> WebSocketEvent {
        if let rejection = driver.rejection {
            if let last = try? driver.parser.finish(), case .end? = last.event { return rejected(rejection) }
        }
        return handshakeFailed(WebSocketHandshakeError(.endOfStream))
    }

    private mutating func rejected(_ rejection: WebSocketHandshakeRejection) -> WebSocketEvent {
        let closure = WebSocketClosure(cause: .handshakeRejected(rejection))
        enter(.closed(closure))
        return .closed(closure)
    }

    /// Ends the handshake with `error`; a server queues the rejection when the error has a
    /// status (not for a timeout or an early EOF).
    @discardableResult
    mutating func handshakeFailed(_ error: WebSocketHandshakeError) -> WebSocketEvent {
        if role == .server && error.statusHint != nil {
            outbound.append(contentsOf: error.responseBytes)
        }
        let closure = WebSocketClosure(cause: .handshakeFailed(error))
        enter(.closed(closure))
        return .closed(closure)
    }

    // MARK: The server's decision

    /// The Upgrade request waiting for a decision (after ``WebSocketEvent/upgradeRequest(_:)``).
    public var pendingUpgradeRequest: WebSocketServerHandshake? {
        guard phase == .connecting(.awaitingDecision) else { return nil }
        return handshake?.validated
    }

    /// Accepts the pending Upgrade request with the policy's subprotocol: the 101 goes out and
    /// the connection opens (frames that came with the request are read next).
    ///
    /// - Throws: `no-upgrade-request-pending` unless an ``WebSocketEvent/upgradeRequest(_:)``
    ///   awaits a decision; `invalid-header-field` for a field HTTP/1.1 cannot carry.
    public mutating func accept(headerFields: HTTPFields = [:]) throws(WebSocketUsageError) {
        guard let request = pendingUpgradeRequest else { throw WebSocketUsageError(.noUpgradeRequestPending) }
        try accept(request.accept(headerFields: headerFields))
    }

    /// Accepts the pending Upgrade request with an answer built from it
    /// (``WebSocketServerHandshake/accept(subprotocol:headerFields:)``).
    public mutating func accept(_ acceptance: WebSocketServerAcceptance) throws(WebSocketUsageError) {
        guard pendingUpgradeRequest != nil else { throw WebSocketUsageError(.noUpgradeRequestPending) }
        driverParserAccept()
        try open(acceptance.negotiation)
        acceptance.writeResponse(into: &outbound)
    }

    private func driverParserAccept() {
        handshake?.parser.acceptProtocolSwitch()
    }

    /// Refuses the pending Upgrade request (a failed authentication, an unknown path, ...):
    /// the response (`Connection: close`, `Content-Length: 0` unless `headerFields` frames a
    /// body) goes out and the connection closes with ``WebSocketClosure/Cause/handshakeRejected(_:)``.
    public mutating func reject(status: HTTPResponse.Status = .forbidden, headerFields: HTTPFields = [:]) throws(WebSocketUsageError) {
        guard pendingUpgradeRequest != nil else { throw WebSocketUsageError(.noUpgradeRequestPending) }
        let response = WebSocketServerHandshake.rejection(status: status, headerFields: headerFields)
        var bytes: [UInt8] = []
        var serializer = HTTP1Serializer(role: .server)
        do {
            try serializer.writeHead(response, respondingTo: .get, into: &bytes)
        } catch {
            throw WebSocketUsageError(.invalidHeaderField)
        }
        outbound.append(contentsOf: bytes)
        enter(.closed(WebSocketClosure(cause: .handshakeRejected(WebSocketHandshakeRejection(response: response)))))
        flags.insert(.closedEventPending)
    }
}
