public import WireCore

/// The HTTP/1.1 connection state machine, blind to which side we are (in the spirit of h11's
/// `_state.py`).
///
/// It tracks two peers, the client and the server, each in an ``HTTP1PeerState``. Every
/// message event, sent or received, is an ``Input`` from one role; the transition for it is one
/// `switch` over (role, that role's state, input) in ``process(_:from:switching:)``. After each
/// event, a few rules that look at both states at once run (``settle()``): keep-alive turned
/// off makes a finished peer close, a closed peer makes the other close, an accepted protocol
/// switch moves the waiting client along. `Spec/http1.md` mirrors both as tables.
///
/// Message framing, field syntax and which side we are live elsewhere: ``HTTP1Connection``
/// feeds this machine and turns a refused input into an ``HTTP1UsageError`` (our side) or a
/// protocol error (their side).
///
/// Life of one cycle: client `idle → sendBody → done`, server `idle → sendResponse → sendBody →
/// done`; `startNextCycle()` takes both `done` peers back to `idle` (keep-alive). A request
/// that proposes a switch (CONNECT, or Upgrade) leaves the client in `mightSwitchProtocol`
/// until the server either accepts (`101`, or 2xx to CONNECT: both `switchedProtocol`) or
/// answers normally (the proposal is dropped, the client is `done`).
public struct HTTP1ConnectionState: Sendable, Hashable {
    /// The kind of event, without its content.
    public enum Input: Sendable, Hashable, CaseIterable {
        /// A request head (client only).
        case request
        /// A 1xx response head (server only).
        case informationalResponse
        /// A final response head (server only).
        case response
        /// Body bytes.
        case data
        /// The end of a message (with trailers, if any).
        case endOfMessage
        /// That peer closed its side of the connection.
        case connectionClosed
    }

    /// A way to leave HTTP/1.1 that the client proposed (RFC 9110 §7.8, §9.3.6).
    public enum SwitchProposal: Sendable, Hashable, CaseIterable {
        /// An `Upgrade` request; accepted by a `101 Switching Protocols` response.
        case upgrade
        /// A `CONNECT` request; accepted by a 2xx response.
        case connect
    }

    /// The client's state.
    public private(set) var client: HTTP1PeerState = .idle
    /// The server's state.
    public private(set) var server: HTTP1PeerState = .idle
    /// Whether both sides still want to reuse the connection after this cycle.
    public private(set) var keepAlive = true
    /// Switches the current request proposed and the server has not answered yet.
    public private(set) var pendingSwitchProposals: Set<SwitchProposal> = []

    public init() {}

    /// A machine in a given state (tests, or resuming a connection handed over from elsewhere).
    public init(client: HTTP1PeerState, server: HTTP1PeerState, keepAlive: Bool = true,
                pendingSwitchProposals: Set<SwitchProposal> = []) {
        self.client = client
        self.server = server
        self.keepAlive = keepAlive
        self.pendingSwitchProposals = pendingSwitchProposals
    }

    /// One role's state.
    public func state(of role: Role) -> HTTP1PeerState {
        role == .client ? client : server
    }

    /// Applies `input` from `role`. `switching` names the proposal a server's response accepts
    /// (a 101 accepting `.upgrade`, a 2xx accepting `.connect`); it must be pending.
    ///
    /// - Returns: false, changing nothing, when the input is not allowed in this state.
    @discardableResult
    public mutating func process(_ input: Input, from role: Role, switching: SwitchProposal? = nil) -> Bool {
        if let switching, role != .server || !pendingSwitchProposals.contains(switching) { return false }
        let current = state(of: role)
        let next: HTTP1PeerState
        switch (role, current, input) {
        // Client
        case (.client, .idle, .request): next = .sendBody
        case (.client, .sendBody, .data): next = .sendBody
        case (.client, .sendBody, .endOfMessage): next = .done
        case (.client, .idle, .connectionClosed),
             (.client, .done, .connectionClosed),
             (.client, .mustClose, .connectionClosed),
             (.client, .closed, .connectionClosed):
            next = .closed

        // Server
        case (.server, .sendResponse, .informationalResponse):
            next = switching == .upgrade ? .switchedProtocol : .sendResponse
        case (.server, .sendResponse, .response):
            next = switching == .connect ? .switchedProtocol : .sendBody
        // A server may answer a request it could not read (a 400, say) before it has one.
        case (.server, .idle, .response): next = .sendBody
        case (.server, .sendBody, .data): next = .sendBody
        case (.server, .sendBody, .endOfMessage): next = .done
        case (.server, .idle, .connectionClosed),
             (.server, .done, .connectionClosed),
             (.server, .mustClose, .connectionClosed),
             (.server, .closed, .connectionClosed):
            next = .closed

        default:
            return false
        }
        // A 101 only accepts an Upgrade, a 2xx only a CONNECT.
        if switching == .upgrade && input != .informationalResponse { return false }
        if switching == .connect && input != .response { return false }

        set(role, next)
        // The server learns of the request: it now owes a response.
        if role == .client && input == .request { server = .sendResponse }
        // A final response that does not switch ends every proposal.
        if role == .server && input == .response && switching == nil { pendingSwitchProposals = [] }
        settle()
        return true
    }

    /// The request being sent proposes a switch (call right after its `.request` input).
    public mutating func proposeSwitch(_ proposal: SwitchProposal) {
        pendingSwitchProposals.insert(proposal)
        settle()
    }

    /// Either side said `Connection: close` (or spoke HTTP/1.0 without keep-alive, or a body
    /// ends at close): both close once done with this cycle.
    public mutating func disableKeepAlive() {
        keepAlive = false
        settle()
    }

    /// `role` broke the protocol; nothing more is exchanged with it.
    public mutating func fail(_ role: Role) {
        set(role, .error)
        settle()
    }

    /// Both peers `done` with keep-alive: back to `idle` for the next request/response pair.
    /// - Returns: false, changing nothing, otherwise.
    @discardableResult
    public mutating func startNextCycle() -> Bool {
        guard client == .done, server == .done else { return false }
        client = .idle
        server = .idle
        pendingSwitchProposals = []
        return true
    }

    private mutating func set(_ role: Role, _ state: HTTP1PeerState) {
        if role == .client { client = state } else { server = state }
    }

    /// The rules that look at both peers (h11's state-triggered transitions).
    private mutating func settle() {
        // A finished request that proposed a switch waits for the server's decision; once the
        // proposals are dropped it is simply done.
        if client == .done && !pendingSwitchProposals.isEmpty { client = .mightSwitchProtocol }
        if client == .mightSwitchProtocol && pendingSwitchProposals.isEmpty { client = .done }
        // No keep-alive: a finished peer must close.
        if !keepAlive {
            if client == .done { client = .mustClose }
            if server == .done { server = .mustClose }
        }
        switch (client, server) {
        case (.mightSwitchProtocol, .switchedProtocol): client = .switchedProtocol
        case (.closed, .done), (.closed, .idle), (.error, .done): server = .mustClose
        case (.done, .closed), (.idle, .closed), (.done, .error): client = .mustClose
        default: break
        }
    }
}

/// Where one peer of an HTTP/1.1 connection is (h11's states).
public enum HTTP1PeerState: Sendable, Hashable, CaseIterable {
    /// Between messages: a client may send a request; a server waits for one.
    case idle
    /// Server only: a request arrived (its head at least); a response is owed. 1xx responses
    /// keep the server here.
    case sendResponse
    /// The head is out; body bytes and then the end follow.
    case sendBody
    /// The message is complete; waiting for the other side (then `startNextCycle()`).
    case done
    /// Done, and the connection must close after this cycle (no keep-alive).
    case mustClose
    /// This peer closed its side.
    case closed
    /// Client only: the request proposed a protocol switch and the server has not decided.
    case mightSwitchProtocol
    /// The connection speaks another protocol now; HTTP/1.1 is over.
    case switchedProtocol
    /// This peer broke the protocol.
    case error
}
