public import HTTPTypes
public import WireCore

/// What an ``HTTP1Connection`` received.
public enum HTTP1Event: Sendable, Hashable {
    /// A request head (server side).
    case request(HTTP1RequestHead)
    /// A 1xx response head (client side); the final response is still to come, except after a
    /// 101 that switched protocols.
    case informationalResponse(HTTP1ResponseHead)
    /// A final response head (client side).
    case response(HTTP1ResponseHead)
    /// Body bytes (copied out of the connection's buffer).
    case body([UInt8])
    /// The message is complete, with the trailer fields of a chunked body if it had any.
    case end(trailers: HTTP1FieldBlock?)
    /// The peer closed its side (after ``HTTP1Connection/receiveEOF()``, between messages).
    case connectionClosed
}

/// What to send on an ``HTTP1Connection``.
public enum HTTP1OutboundEvent: Sendable, Hashable {
    /// A request head (client side).
    case request(HTTPRequest)
    /// A response head (server side); a 1xx status makes it informational.
    case response(HTTPResponse)
    /// Body bytes.
    case body([UInt8])
    /// The end of the message, with trailers for a chunked body.
    case end(trailers: HTTPFields? = nil)
    /// We close our side (the caller then closes the transport).
    case connectionClosed
}

/// One end of an HTTP/1.1 connection, sans I/O (h11's `Connection`): bytes in, events out;
/// events in, bytes out.
///
/// - Pairs requests with responses in order and tells the parser which ones answer HEAD or
///   CONNECT (no body, or a tunnel after a 2xx).
/// - Keep-alive: either side's `Connection: close`, HTTP/1.0 without `keep-alive`, or a
///   response read until close ends the connection after the current cycle (`ourState` /
///   `theirState` become `mustClose`); otherwise ``startNextCycle()`` begins the next pair.
/// - Pipelining: a server does not read the next request until ``startNextCycle()``; bytes
///   that arrive early wait in the buffer.
/// - `Expect: 100-continue`: ``clientIsWaitingFor100Continue``.
/// - Upgrade and CONNECT: after `101` or a 2xx to CONNECT both states are `switchedProtocol`
///   and ``takeLeftover()`` returns the bytes that followed, which belong to the new protocol.
/// - Refuses, with an ``HTTP1UsageError``, to send what breaks the protocol: a body on a
///   204/304/HEAD answer, a second response, a Content-Length mismatch, anything after close.
///   A refused event changes nothing and writes nothing.
///
/// When a final response has neither Content-Length nor Transfer-Encoding and may have a
/// body, the connection adds `Transfer-Encoding: chunked` for an HTTP/1.1 client, or reads it
/// as until-close (and adds `Connection: close`) for HTTP/1.0. Once keep-alive is off, a
/// response gets `Connection: close` if it lacks it.
public struct HTTP1Connection: Sendable {
    /// Which end we are.
    public let role: Role
    /// The state machine (both peers).
    public internal(set) var state = HTTP1ConnectionState()

    var parser: HTTP1Parser
    var serializer: HTTP1Serializer
    var inbound: [UInt8] = []
    var inboundStart = 0
    var outbound: [UInt8] = []
    var receivedEOF = false
    var failure: HTTP1ParseError?
    /// Server: the method class of the request being answered (HEAD/CONNECT matter).
    var answering: HTTPRequest.Method?
    /// Server: whether the request being answered is HTTP/1.0.
    var answeringHTTP10 = false
    /// The `Upgrade` values of the request being answered (the protocols a 101 may name).
    var offeredUpgrades: [String] = []
    /// Whether the client is waiting for 100 Continue before sending its body.
    public internal(set) var clientIsWaitingFor100Continue = false
    /// Receive deadlines (``tick(now:)``, `HTTP1ConnectionTimers.swift`).
    var timers: HTTP1TimerState

    /// - Parameters:
    ///   - timeouts: the receive deadlines of a server (``HTTP1Timeouts``: 30 s for a request
    ///     head, 60 s idle, 60 s between body reads); they run only if you call
    ///     ``tick(now:)``. A client has none.
    public init(role: Role, configuration: HTTP1ParserConfiguration = .init(), timeouts: HTTP1Timeouts = .init()) {
        self.role = role
        parser = HTTP1Parser(parsing: role == .client ? .response : .request, configuration: configuration)
        serializer = HTTP1Serializer(role: role)
        timers = HTTP1TimerState(timeouts: timeouts)
    }

    /// Our state.
    public var ourState: HTTP1PeerState { state.state(of: role) }
    /// The peer's state.
    public var theirState: HTTP1PeerState { state.state(of: role.peer) }

    /// Bytes received and not yet parsed (after a protocol switch: what ``takeLeftover()``
    /// returns).
    public var bufferedByteCount: Int { inbound.count - inboundStart }

    // MARK: Receiving

    /// Buffers bytes read from the transport; ``nextEvent()`` parses them.
    public mutating func receive(_ bytes: Span<UInt8>) {
        guard !bytes.isEmpty else { return }
        bytes.withUnsafeBufferPointer { inbound.append(contentsOf: $0) }
        timers.receivedSinceTick = true
        if theirState == .idle { timers.headStarted = true }
    }

    /// The peer closed its side (end of stream).
    public mutating func receiveEOF() {
        receivedEOF = true
    }

    /// The next event, or `nil` when more bytes are needed or the connection waits: for
    /// ``startNextCycle()`` (the peer's message is done), for a server's decision on a protocol
    /// switch, or because HTTP/1.1 is over (switched or closed).
    ///
    /// - Throws: ``HTTP1ParseError`` for malformed input (the peer's state becomes `error`;
    ///   a server should answer with the error's `statusHint` and close).
    public mutating func nextEvent() throws(HTTP1ParseError) -> HTTP1Event? {
        if let failure { throw failure }
        if timers.expired != nil { return nil }
        while true {
            switch theirState {
            case .done, .mustClose, .mightSwitchProtocol:
                // Paused until the cycle ends; EOF after a complete message is a close.
                if receivedEOF && inboundStart == inbound.count && theirState != .mightSwitchProtocol {
                    return closeEvent()
                }
                return nil
            case .closed, .switchedProtocol, .error:
                return nil
            case .idle where role == .client && ourState == .idle:
                // No request sent: nothing to read a response against (RFC 9112 §9.2).
                noteUnsolicitedBytes()
                if let failure { throw failure }
                return receivedEOF && inboundStart == inbound.count ? closeEvent() : nil
            default:
                break
            }
            let step: HTTP1ParseStep
            do {
                step = try inbound.withUnsafeBufferPointer { (buffer) throws(HTTP1ParseError) -> HTTP1ParseStep in
                    try parser.parse(UnsafeBufferPointer(rebasing: buffer[inboundStart...]))
                }
            } catch {
                return try fail(error)
            }
            let base = inboundStart
            inboundStart += step.consumed
            guard let event = step.event else {
                if parser.pause != nil { return nil }
                compactInbound()
                guard receivedEOF else { return nil }
                let last: HTTP1ParseStep
                do {
                    last = try parser.finish()
                } catch {
                    return try fail(error)
                }
                guard let event = last.event else { return closeEvent() }
                return try deliver(event, base: inbound.count)
            }
            if case .chunkExtensions = event { continue }
            return try deliver(event, base: base)
        }
    }

    /// Applies a parsed event to the state machine and turns it into an ``HTTP1Event``.
    private mutating func deliver(_ event: HTTP1ParseEvent, base: Int) throws(HTTP1ParseError) -> HTTP1Event {
        let peer = role.peer
        switch event {
        case .requestHead(let head):
            guard state.process(.request, from: peer) else { return try violation(head.streamOffset) }
            answering = head.isHEAD ? .head : head.isCONNECT ? .connect : nil
            answeringHTTP10 = head.version == .http1_0
            if !head.keepAlive { state.disableKeepAlive() }
            if head.isCONNECT { state.proposeSwitch(.connect) }
            if head.isUpgradeRequest { state.proposeSwitch(.upgrade) }
            offeredUpgrades = head.isUpgradeRequest ? head.fields.values(named: "upgrade") : []
            clientIsWaitingFor100Continue = head.expectsContinue
            return .request(head)
        case .responseHead(let head):
            if head.isInformational {
                let switching: HTTP1ConnectionState.SwitchProposal? = head.status == 101 ? .upgrade : nil
                guard state.process(.informationalResponse, from: peer, switching: switching) else {
                    return try violation(head.streamOffset)
                }
                clientIsWaitingFor100Continue = false
                return .informationalResponse(head)
            }
            let switching: HTTP1ConnectionState.SwitchProposal? =
                (200..<300).contains(head.status) && state.pendingSwitchProposals.contains(.connect) ? .connect : nil
            guard state.process(.response, from: peer, switching: switching) else { return try violation(head.streamOffset) }
            clientIsWaitingFor100Continue = false
            if !head.keepAlive { state.disableKeepAlive() }
            return .response(head)
        case .body(let range):
            state.process(.data, from: peer)
            if role == .server { clientIsWaitingFor100Continue = false }
            return .body(Array(inbound[(base + range.lowerBound)..<(base + range.upperBound)]))
        case .chunkExtensions:
            preconditionFailure("skipped by nextEvent")
        case .end(let trailers):
            state.process(.endOfMessage, from: peer)
            if role == .server { clientIsWaitingFor100Continue = false }
            compactInbound()
            return .end(trailers: trailers)
        }
    }

    private mutating func closeEvent() -> HTTP1Event? {
        guard state.process(.connectionClosed, from: role.peer) else { return nil }
        return .connectionClosed
    }

    private mutating func fail(_ error: HTTP1ParseError) throws(HTTP1ParseError) -> HTTP1Event? {
        failure = error
        state.fail(role.peer)
        throw error
    }

    /// An event the parser accepted but the connection's state does not allow (a response
    /// nobody asked for, say): a protocol error at that head.
    private mutating func violation(_ offset: Int) throws(HTTP1ParseError) -> HTTP1Event {
        let error = HTTP1ParseError(role == .client ? .invalidStatusLine : .invalidRequestLine, offset: offset)
        _ = try fail(error)
        preconditionFailure("fail always throws")
    }

    private mutating func compactInbound() {
        if inboundStart == inbound.count {
            inbound.removeAll(keepingCapacity: true)
            inboundStart = 0
        } else if inboundStart > 4096 && inboundStart > inbound.count / 2 {
            inbound.removeSubrange(..<inboundStart)
            inboundStart = 0
        }
    }

    /// After a switch to another protocol: the bytes received after the last HTTP/1.1 message,
    /// which belong to the new protocol. Empties the buffer.
    public mutating func takeLeftover() -> [UInt8] {
        let leftover = Array(inbound[inboundStart...])
        inbound.removeAll()
        inboundStart = 0
        return leftover
    }

    // MARK: Sending

    /// The bytes to write to the transport, taken out of the connection.
    public mutating func takeOutbound() -> [UInt8] {
        defer { outbound.removeAll(keepingCapacity: true) }
        return outbound
    }

    /// How many bytes wait to be written (``takeOutbound()``).
    package var outboundByteCount: Int { outbound.count }

    /// Hands the bytes to write to `body` and removes them; unlike ``takeOutbound()`` the
    /// buffer is neither copied nor reallocated (it keeps its capacity for the next message).
    package mutating func drainOutbound(_ body: (UnsafeRawBufferPointer) -> Void) {
        outbound.withUnsafeBytes(body)
        outbound.removeAll(keepingCapacity: true)
    }

    /// Frees what is kept for the next message while nothing is buffered: the parser's head
    /// storage (between messages only) and the emptied inbound and outbound buffers, about
    /// 2.3 KB on a server after a request; the next message allocates them again. For a
    /// connection that stays quiet for long (an event stream, a held long poll).
    package mutating func releaseIdleBuffers() {
        if inboundStart == inbound.count {
            inbound = []
            inboundStart = 0
        }
        if outbound.isEmpty { outbound = [] }
        parser.releaseIdleStorage()
    }

    /// Both sides are `done`: start the next request/response pair on this connection.
    public mutating func startNextCycle() throws(HTTP1UsageError) {
        guard state.startNextCycle() else { throw HTTP1UsageError(.notDone) }
        answering = nil
        answeringHTTP10 = false
        clientIsWaitingFor100Continue = false
        compactInbound()
        // A new cycle: its deadlines start afresh; pipelined bytes already begin its head.
        timers.armed = nil
        timers.headStarted = inboundStart < inbound.count
    }
}
