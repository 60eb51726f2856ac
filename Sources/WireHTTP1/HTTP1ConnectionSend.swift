import HTTPTypes
import WireCore

extension HTTP1Connection {
    /// Serializes `event` into the outbound buffer (``takeOutbound()``), after checking that
    /// the protocol allows it now.
    ///
    /// - Throws: ``HTTP1UsageError`` when it does not (nothing is written, nothing changes):
    ///   `connection-closed` after close, `switched-protocols` after a switch,
    ///   `unexpected-response` for a response no request waits for, `body-not-allowed` for a
    ///   body on 204/304/HEAD answers, the serializer's errors for bad octets and framing.
    public mutating func send(_ event: HTTP1OutboundEvent) throws(HTTP1UsageError) {
        // After a timeout (whose 408, if any, is already queued) nothing more goes out.
        guard timers.expired == nil else { throw HTTP1UsageError(.connectionClosed) }
        var next = state
        switch event {
        case .request(let request):
            guard role == .client else { throw HTTP1UsageError(.wrongRole) }
            guard next.process(.request, from: .client) else { throw refusal(for: .request) }
            try serializer.writeHead(request, into: &outbound)
            noteUnsolicitedBytes()
            let fields = request.headerFields
            if Self.hasToken("close", in: fields[values: .connection]) { next.disableKeepAlive() }
            if request.method == .connect { next.proposeSwitch(.connect) }
            if fields[.upgrade] != nil && Self.hasToken("upgrade", in: fields[values: .connection]) {
                next.proposeSwitch(.upgrade)
            }
            parser.expectResponse(to: request.method)
            clientIsWaitingFor100Continue = fields[.expect].map { Self.equalsIgnoringCase($0, "100-continue") } ?? false
            state = next

        case .response(var response):
            guard role == .server else { throw HTTP1UsageError(.wrongRole) }
            let status = response.status.code
            if status < 200 {
                let switching: HTTP1ConnectionState.SwitchProposal? = status == 101 ? .upgrade : nil
                if answeringHTTP10 { throw HTTP1UsageError(.unexpectedInformational) }
                if status == 101 {
                    // RFC 9110 §7.8: a 100 (Continue) the client waits for comes first, and
                    // only a protocol the request offered may be switched to.
                    if clientIsWaitingFor100Continue { throw HTTP1UsageError(.continueBeforeSwitch) }
                    for value in response.headerFields[values: .upgrade] {
                        for element in value.split(separator: ",") {
                            var name = Substring(element)
                            while name.first == " " || name.first == "\t" { name = name.dropFirst() }
                            while name.last == " " || name.last == "\t" { name = name.dropLast() }
                            if !name.isEmpty && !Self.hasToken(String(name), in: offeredUpgrades) {
                                throw HTTP1UsageError(.protocolNotOffered)
                            }
                        }
                    }
                }
                guard next.process(.informationalResponse, from: .server, switching: switching) else {
                    throw refusal(for: .informationalResponse)
                }
                try serializer.writeHead(response, respondingTo: answering, into: &outbound)
                clientIsWaitingFor100Continue = false
                state = next
                if switching != nil { parser.acceptProtocolSwitch() }
                return
            }
            let switching: HTTP1ConnectionState.SwitchProposal? =
                (200..<300).contains(status) && answering == .connect && next.pendingSwitchProposals.contains(.connect)
                ? .connect : nil
            let wasProposed = !next.pendingSwitchProposals.isEmpty
            guard next.process(.response, from: .server, switching: switching) else { throw refusal(for: .response) }
            try addFraming(to: &response, state: &next, switching: switching != nil)
            try serializer.writeHead(response, respondingTo: answering, into: &outbound)
            if serializer.framing == .untilClose { next.disableKeepAlive() }
            clientIsWaitingFor100Continue = false
            state = next
            if switching != nil {
                parser.acceptProtocolSwitch()
            } else if wasProposed {
                parser.declineProtocolSwitch()
            }

        case .body(let bytes):
            guard next.process(.data, from: role) else { throw refusal(for: .data) }
            try serializer.writeBody(bytes.span, into: &outbound)
            if role == .client { clientIsWaitingFor100Continue = false }
            state = next

        case .end(let trailers):
            guard next.process(.endOfMessage, from: role) else { throw refusal(for: .endOfMessage) }
            let untilClose = serializer.framing == .untilClose
            try serializer.writeEnd(trailers: trailers, into: &outbound)
            if untilClose { next.disableKeepAlive() }
            if role == .client { clientIsWaitingFor100Continue = false }
            state = next

        case .connectionClosed:
            guard next.process(.connectionClosed, from: role) else { throw refusal(for: .connectionClosed) }
            state = next
        }
    }

    /// The error for an input our state refuses.
    private func refusal(for input: HTTP1ConnectionState.Input) -> HTTP1UsageError {
        switch ourState {
        case .closed, .mustClose:
            return HTTP1UsageError(.connectionClosed)
        case .switchedProtocol:
            return HTTP1UsageError(.switchedProtocols)
        default:
            break
        }
        switch input {
        case .response, .informationalResponse:
            return HTTP1UsageError(ourState == .sendBody ? .messageInProgress : .unexpectedResponse)
        case .request:
            return HTTP1UsageError(ourState == .sendBody ? .messageInProgress : .invalidState)
        case .data, .endOfMessage:
            return HTTP1UsageError(.noMessageInProgress)
        case .connectionClosed:
            return HTTP1UsageError(.invalidState)
        }
    }

    /// Framing and keep-alive fields a final response needs (h11 does the same): chunked for
    /// an HTTP/1.1 client when the caller gave no framing, until-close for HTTP/1.0, and
    /// `Connection: close` when either side turned keep-alive off.
    private func addFraming(
        to response: inout HTTPResponse, state: inout HTTP1ConnectionState, switching: Bool
    ) throws(HTTP1UsageError) {
        let status = response.status.code
        if answeringHTTP10 && response.headerFields[.transferEncoding] != nil {
            // RFC 9112 §6.1: no Transfer-Encoding to an HTTP/1.0 client. A lone chunked is
            // dropped (the body is then sent until close, as for any unframed answer); other
            // codings cannot be undone here.
            for value in response.headerFields[values: .transferEncoding] {
                for element in value.split(separator: ",") {
                    var coding = Substring(element)
                    while coding.first == " " || coding.first == "\t" { coding = coding.dropFirst() }
                    while coding.last == " " || coding.last == "\t" { coding = coding.dropLast() }
                    if !coding.isEmpty && !Self.equalsIgnoringCase(String(coding), "chunked") {
                        throw HTTP1UsageError(.transferCodingToHTTP10)
                    }
                }
            }
            response.headerFields[.transferEncoding] = nil
        }
        // One pass over the fields (no value is copied out): a subscript per name would join
        // each name's values into a new string.
        var framed = false
        var saysClose = false
        for field in response.headerFields {
            let name = field.name
            if name == .contentLength || name == .transferEncoding {
                framed = true
            } else if name == .connection, !saysClose {
                saysClose = field.withUnsafeBytesOfValue { Self.list($0, hasElement: "close") }
            }
        }
        let mayHaveBody = !switching && status != 204 && status != 304 && answering != .head
        if mayHaveBody && !framed {
            if answeringHTTP10 {
                state.disableKeepAlive()
            } else {
                response.headerFields[.transferEncoding] = "chunked"
            }
        }
        if saysClose { state.disableKeepAlive() }
        if !state.keepAlive && !saysClose {
            response.headerFields.append(HTTPField(name: .connection, value: "close"))
        }
    }

    /// Whether a comma-separated field value has `token` (lower case) as one of its elements,
    /// optional whitespace around it and ASCII case ignored: ``hasToken(_:in:)`` for one value,
    /// read in place.
    static func list(_ value: UnsafeBufferPointer<UInt8>, hasElement token: StaticString) -> Bool {
        let n = value.count
        var start = 0
        while start <= n {
            var end = start
            while end < n, value[end] != UInt8(ascii: ",") { end += 1 }
            var s = start
            var e = end
            while s < e, value[s] == 0x20 || value[s] == 0x09 { s += 1 }
            while e > s, value[e - 1] == 0x20 || value[e - 1] == 0x09 { e -= 1 }
            if HTTP1Bytes.equalsLowercase(UnsafeBufferPointer(rebasing: value[s..<e]), token) { return true }
            start = end + 1
        }
        return false
    }

    /// A client got bytes while no request of its own was outstanding (RFC 9112 §9.2): unless
    /// they are only empty lines (left to the response parser, whatever the timing, which
    /// refuses an empty line before a status line: H1-2.2-1), they fail the server peer with
    /// `unsolicited-response`, so they are never read as the answer to the next request.
    mutating func noteUnsolicitedBytes() {
        guard role == .client, failure == nil else { return }
        var i = inboundStart
        while i < inbound.count, inbound[i] == 0x0D || inbound[i] == 0x0A { i += 1 }
        if i == inbound.count { return }
        failure = HTTP1ParseError(.unsolicitedResponse, offset: parser.streamOffset + (i - inboundStart))
        state.fail(role.peer)
    }

    static func hasToken(_ token: String, in values: [String]) -> Bool {
        for value in values {
            for element in value.split(separator: ",") {
                var e = Substring(element)
                while e.first == " " || e.first == "\t" { e = e.dropFirst() }
                while e.last == " " || e.last == "\t" { e = e.dropLast() }
                if equalsIgnoringCase(String(e), token) { return true }
            }
        }
        return false
    }

    static func equalsIgnoringCase(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        for i in x.indices where ASCII.lowercased(x[i]) != ASCII.lowercased(y[i]) { return false }
        return true
    }
}
