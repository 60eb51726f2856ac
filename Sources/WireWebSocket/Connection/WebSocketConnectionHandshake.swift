public import HTTPTypes
import WireCore

// The one-object convenience (HTTP/1.1 → Upgrade → WebSocket): a connection made with
// `init(client:)` or `init(server:)` holds the opening handshake's machine while connecting
// (`WebSocketClientUpgrade`, `WebSocketServerUpgrade`), forwards bytes to it, and opens with what
// it hands over. The handshake's rules are the machines'; nothing of them is written here.

/// The handshake machine of a connection that runs its own handshake. Reached only through the
/// `~Copyable` connection, so never shared.
final class HandshakeBox: @unchecked Sendable {
    enum Machine {
        case client(WebSocketClientUpgrade)
        case server(WebSocketServerUpgrade)
    }

    var machine: Machine

    init(_ machine: Machine) { self.machine = machine }
}

extension WebSocketConnection {
    /// A client that runs the opening handshake: the Upgrade request is in the outbound
    /// buffer; the server's answer ends in ``WebSocketEvent/accepted(_:)`` (the connection is
    /// open) or ``WebSocketEvent/closed(_:)`` (rejected or invalid).
    public init(client handshake: WebSocketClientHandshake, configuration: WebSocketConfiguration = .init()) {
        self.init(client: WebSocketClientUpgrade(handshake), configuration: configuration)
    }

    /// A client that runs the opening handshake with the given machine (its HTTP/1.1 parser's
    /// configuration, the rejection body limit).
    public init(client upgrade: consuming WebSocketClientUpgrade, configuration: WebSocketConfiguration = .init()) {
        self.init(role: .client, configuration: configuration, phase: .connecting(.awaitingResponse))
        outbound = upgrade.takeOutbound()
        side = .handshake(HandshakeBox(.client(upgrade)))
    }

    /// A server that runs the opening handshake: a valid Upgrade request is delivered as
    /// ``WebSocketEvent/upgradeRequest(_:)`` for ``accept(_:)`` or ``reject(status:headerFields:)``;
    /// an invalid one is answered (400, 403 or 426) and ends in ``WebSocketEvent/closed(_:)``.
    ///
    /// - Parameter scheme: `"http"` or `"https"` when known (for the same-origin check).
    public init(server policy: WebSocketServerPolicy = .init(), scheme: String? = nil, configuration: WebSocketConfiguration = .init()) {
        self.init(server: WebSocketServerUpgrade(policy: policy, scheme: scheme), configuration: configuration)
    }

    /// A server that runs the opening handshake with the given machine (its policy, scheme and
    /// HTTP/1.1 parser's configuration).
    public init(server upgrade: consuming WebSocketServerUpgrade, configuration: WebSocketConfiguration = .init()) {
        self.init(role: .server, configuration: configuration, phase: .connecting(.awaitingRequest))
        side = .handshake(HandshakeBox(.server(upgrade)))
    }

    /// The handshake machine, while connecting.
    var handshake: HandshakeBox? {
        if case .handshake(let box) = side { return box }
        return nil
    }

    /// Feeds the handshake machine; its events are inputs of the state machine.
    mutating func nextHandshakeEvent() -> WebSocketEvent? {
        guard let box = handshake else { return nil }
        switch box.machine {
        case .client(var upgrade):
            if flags.contains(.receivedEOF) { upgrade.receiveEOF() }
            let event = upgrade.nextEvent()
            box.machine = .client(upgrade)
            switch event {
            case nil:
                return nil
            case .accepted(let handover)?:
                do {
                    try setUpPipelines(for: handover.negotiation)
                } catch {
                    let error = WebSocketHandshakeError(
                        .extensionNegotiationFailed, deflate: PerMessageDeflateNegotiationError(.windowBits8Unsupported))
                    return closedEvent(apply(phase.transition(on: .handshakeFailed(error))))
                }
                guard apply(phase.transition(on: .accepted)).contains(.deliver) else { return nil }
                recordNegotiation(handover.negotiation)
                receiver.receive(handover.leftover.span)
                return .accepted(handover.negotiation)
            case .rejected(let rejection)?:
                return closedEvent(apply(phase.transition(on: .rejected(rejection))))
            case .failed(let error)?:
                return closedEvent(apply(phase.transition(on: .handshakeFailed(error))))
            }
        case .server(var upgrade):
            if flags.contains(.receivedEOF) { upgrade.receiveEOF() }
            let event = upgrade.nextEvent()
            box.machine = .server(upgrade)
            switch event {
            case nil:
                return nil
            case .request(let request)?:
                guard apply(phase.transition(on: .upgradeRequest)).contains(.deliver) else { return nil }
                return .upgradeRequest(request)
            case .failed(let error)?:
                return closedEvent(apply(phase.transition(on: .handshakeFailed(error))))
            }
        }
    }

    /// The handshake machine's bytes (the request, the 101, a rejection), taken out of it.
    mutating func takeHandshakeOutbound() -> [UInt8] {
        guard let box = handshake else { return [] }
        switch box.machine {
        case .client(var upgrade):
            let bytes = upgrade.takeOutbound()
            box.machine = .client(upgrade)
            return bytes
        case .server(var upgrade):
            let bytes = upgrade.takeOutbound()
            box.machine = .server(upgrade)
            return bytes
        }
    }

    /// Bytes read while connecting go to the handshake machine.
    mutating func receiveDuringHandshake(_ bytes: Span<UInt8>) {
        guard let box = handshake else { return }
        switch box.machine {
        case .client(var upgrade):
            upgrade.receive(bytes)
            box.machine = .client(upgrade)
        case .server(var upgrade):
            upgrade.receive(bytes)
            box.machine = .server(upgrade)
        }
    }

    // MARK: The server's decision

    /// The Upgrade request waiting for a decision (after ``WebSocketEvent/upgradeRequest(_:)``).
    public var pendingUpgradeRequest: WebSocketServerHandshake? {
        guard phase == .connecting(.awaitingDecision), case .server(let upgrade)? = handshake?.machine else { return nil }
        return upgrade.pendingRequest
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
        let transition = phase.transition(on: .accept)
        if let refusal = transition.refusal { throw WebSocketUsageError(refusal) }
        guard let box = handshake, case .server(var upgrade) = box.machine else {
            throw WebSocketUsageError(.noUpgradeRequestPending)
        }
        let handover = try upgrade.accept(acceptance)
        // A negotiation our compressor cannot honour is refused before the 101 goes out.
        try setUpPipelines(for: handover.negotiation)
        box.machine = .server(upgrade)
        _ = apply(transition)    // the 101; open
        recordNegotiation(handover.negotiation)
        receiver.receive(handover.leftover.span)
    }

    /// Refuses the pending Upgrade request (a failed authentication, an unknown path, ...):
    /// the response (`Connection: close`, `Content-Length: 0` unless `headerFields` frames a
    /// body) goes out and the connection closes with ``WebSocketClosure/Cause/handshakeRejected(_:)``.
    public mutating func reject(status: HTTPResponse.Status = .forbidden, headerFields: HTTPFields = [:]) throws(WebSocketUsageError) {
        let response = WebSocketServerHandshake.rejection(status: status, headerFields: headerFields)
        let transition = phase.transition(on: .reject(WebSocketHandshakeRejection(response: response)))
        if let refusal = transition.refusal { throw WebSocketUsageError(refusal) }
        guard let box = handshake, case .server(var upgrade) = box.machine else {
            throw WebSocketUsageError(.noUpgradeRequestPending)
        }
        try upgrade.reject(status: status, headerFields: headerFields)
        box.machine = .server(upgrade)
        _ = apply(transition)    // the response; closed
    }
}
