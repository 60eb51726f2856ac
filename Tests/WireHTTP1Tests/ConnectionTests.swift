import HTTPTypes
import Testing
import TestSupport
import WireCore
import WireHTTP1

/// A short, comparable summary of a received event.
enum Seen: Hashable, CustomStringConvertible {
    case request(String)
    case informational(Int)
    case response(Int)
    case body(String)
    case end(trailers: [String])
    case closed

    init(_ event: HTTP1Event) {
        switch event {
        case .request(let h): self = .request("\(h.method) \(h.target)")
        case .informationalResponse(let h): self = .informational(h.status)
        case .response(let h): self = .response(h.status)
        case .body(let b): self = .body(String(decoding: b, as: UTF8.self))
        case .end(let t): self = .end(trailers: t.map { b in (0..<b.count).map { "\(b.name(at: $0)): \(b.value(at: $0))" } } ?? [])
        case .connectionClosed: self = .closed
        }
    }

    var description: String {
        switch self {
        case .request(let s): "request \(s)"
        case .informational(let s): "1xx \(s)"
        case .response(let s): "response \(s)"
        case .body(let s): "body \(s)"
        case .end(let t): "end \(t)"
        case .closed: "closed"
        }
    }
}

/// A client and a server of ours talking in memory (h11's `ConnectionPair`).
struct ConnectionPair {
    var client = HTTP1Connection(role: .client)
    var server = HTTP1Connection(role: .server)

    /// Sends `events` from `role`, hands the bytes to the other side, and returns everything
    /// the other side then reads (merging body events, which depend on how bytes arrive).
    mutating func send(_ role: Role, _ events: [HTTP1OutboundEvent]) throws -> [Seen] {
        var closes = false
        for event in events {
            if role == .client { try client.send(event) } else { try server.send(event) }
            if event == .connectionClosed { closes = true }
        }
        let bytes = role == .client ? client.takeOutbound() : server.takeOutbound()
        return try deliver(bytes, to: role.peer, eof: closes)
    }

    mutating func deliver(_ bytes: [UInt8], to role: Role, eof: Bool = false) throws -> [Seen] {
        if role == .client { client.receive(bytes.span) } else { server.receive(bytes.span) }
        if eof {
            if role == .client { client.receiveEOF() } else { server.receiveEOF() }
        }
        return try drain(role)
    }

    mutating func drain(_ role: Role) throws -> [Seen] {
        var seen: [Seen] = []
        while let event = try (role == .client ? client.nextEvent() : server.nextEvent()) {
            let s = Seen(event)
            if case .body(let more) = s, case .body(let before)? = seen.last {
                seen[seen.count - 1] = .body(before + more)
            } else {
                seen.append(s)
            }
        }
        return seen
    }

    var states: [HTTP1PeerState] { [client.ourState, server.ourState] }
}

private func get(_ path: String, _ fields: HTTPFields = [:]) -> HTTPRequest {
    HTTPRequest(method: .get, scheme: "http", authority: "example.com", path: path, headerFields: fields)
}

private func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

@Suite struct ConnectionTests {
    @Test func keepAliveConversationOverTwoCycles() throws {
        var p = ConnectionPair()
        #expect(try p.send(.client, [.request(get("/a")), .end()]) == [.request("GET /a"), .end(trailers: [])])
        #expect(p.states == [.done, .sendResponse])
        #expect(try p.send(.server, [.response(HTTPResponse(status: .ok, headerFields: [.contentLength: "2"])), .body(bytes("hi")), .end()])
            == [.response(200), .body("hi"), .end(trailers: [])])
        #expect(p.states == [.done, .done])
        try p.client.startNextCycle()
        try p.server.startNextCycle()
        #expect(p.states == [.idle, .idle])

        // A response without framing gets chunked for an HTTP/1.1 client; trailers go through.
        var post = HTTPRequest(method: .post, scheme: "http", authority: "example.com", path: "/b")
        post.headerFields[.transferEncoding] = "chunked"
        #expect(try p.send(.client, [.request(post), .body(bytes("up")), .body(bytes("load")), .end(trailers: [.init("X-T")!: "1"])])
            == [.request("POST /b"), .body("upload"), .end(trailers: ["X-T: 1"])])
        try p.server.send(.response(HTTPResponse(status: .ok)))
        let head = p.server.takeOutbound()
        #expect(String(decoding: head, as: UTF8.self) == "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        #expect(try p.deliver(head, to: .client) == [.response(200)])
        #expect(try p.send(.server, [.body(bytes("down")), .end()]) == [.body("down"), .end(trailers: [])])
        #expect(p.states == [.done, .done])
    }

    @Test func serverWaitsForTheNextCycleBeforeReadingAPipelinedRequest() throws {
        var p = ConnectionPair()
        let pipelined = bytes("GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(try p.deliver(pipelined, to: .server) == [.request("GET /1"), .end(trailers: [])])
        #expect(p.server.theirState == .done)
        try p.server.send(.response(HTTPResponse(status: .noContent)))
        try p.server.send(.end())
        #expect(try p.drain(.server) == [])  // still paused: the cycle has not been restarted
        try p.server.startNextCycle()
        #expect(try p.drain(.server) == [.request("GET /2"), .end(trailers: [])])
    }

    @Test func clientCannotPipelineItself() throws {
        var p = ConnectionPair()
        _ = try p.send(.client, [.request(get("/a")), .end()])
        #expect(throws: HTTP1UsageError(.invalidState)) { try p.client.send(.request(get("/b"))) }
        #expect(throws: HTTP1UsageError(.notDone)) { try p.client.startNextCycle() }
    }

    @Test func headResponseHasNoBody() throws {
        var p = ConnectionPair()
        let head = HTTPRequest(method: .head, scheme: "http", authority: "h", path: "/")
        _ = try p.send(.client, [.request(head), .end()])
        try p.server.send(.response(HTTPResponse(status: .ok, headerFields: [.contentLength: "10"])))
        #expect(throws: HTTP1UsageError(.bodyNotAllowed)) { try p.server.send(.body(bytes("0123456789"))) }
        try p.server.send(.end())
        let out = p.server.takeOutbound()
        #expect(String(decoding: out, as: UTF8.self) == "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n")
        #expect(try p.deliver(out, to: .client) == [.response(200), .end(trailers: [])])
        #expect(p.states == [.done, .done])
    }

    @Test func expectContinue() throws {
        var p = ConnectionPair()
        var put = HTTPRequest(method: .put, scheme: "http", authority: "h", path: "/f")
        put.headerFields[.expect] = "100-continue"
        put.headerFields[.contentLength] = "4"
        #expect(try p.send(.client, [.request(put)]) == [.request("PUT /f")])
        #expect(p.client.clientIsWaitingFor100Continue)
        #expect(p.server.clientIsWaitingFor100Continue)
        #expect(try p.send(.server, [.response(HTTPResponse(status: .continue))]) == [.informational(100)])
        #expect(!p.client.clientIsWaitingFor100Continue)
        #expect(!p.server.clientIsWaitingFor100Continue)
        #expect(try p.send(.client, [.body(bytes("data")), .end()]) == [.body("data"), .end(trailers: [])])
        #expect(try p.send(.server, [.response(HTTPResponse(status: .created, headerFields: [.contentLength: "0"])), .end()])
            == [.response(201), .end(trailers: [])])
    }

    @Test func upgradeAcceptedHandsOverTheLeftover() throws {
        var p = ConnectionPair()
        let upgrade = get("/chat", [.upgrade: "websocket", .connection: "Upgrade"])
        try p.client.send(.request(upgrade))
        try p.client.send(.end())
        // The client starts the new protocol right away: those bytes must not be read as HTTP.
        let sent = p.client.takeOutbound() + [0x81, 0x80, 1, 2, 3, 4]
        #expect(try p.deliver(sent, to: .server) == [.request("GET /chat"), .end(trailers: [])])
        #expect(p.states == [.mightSwitchProtocol, .sendResponse])
        #expect(p.server.theirState == .mightSwitchProtocol)
        try p.server.send(.response(HTTPResponse(status: .switchingProtocols, headerFields: [.upgrade: "websocket", .connection: "Upgrade"])))
        #expect(p.server.ourState == .switchedProtocol)
        #expect(p.server.theirState == .switchedProtocol)
        #expect(p.server.takeLeftover() == [0x81, 0x80, 1, 2, 3, 4])
        let answer = p.server.takeOutbound() + [0x81, 0x00]
        #expect(try p.deliver(answer, to: .client) == [.informational(101)])
        #expect(p.states == [.switchedProtocol, .switchedProtocol])
        #expect(p.client.takeLeftover() == [0x81, 0x00])
        #expect(throws: HTTP1UsageError(.switchedProtocols)) { try p.client.send(.request(get("/"))) }
        #expect(throws: HTTP1UsageError(.switchedProtocols)) { try p.server.send(.body([1])) }
    }

    @Test func upgradeDeclinedGoesOnWithHTTP() throws {
        var p = ConnectionPair()
        _ = try p.send(.client, [.request(get("/chat", [.upgrade: "h2c", .connection: "Upgrade, HTTP2-Settings"])), .end()])
        #expect(p.client.ourState == .mightSwitchProtocol)
        #expect(try p.send(.server, [.response(HTTPResponse(status: .ok, headerFields: [.contentLength: "1"])), .body(bytes("x")), .end()])
            == [.response(200), .body("x"), .end(trailers: [])])
        #expect(p.states == [.done, .done])
        try p.client.startNextCycle()
        try p.server.startNextCycle()
        #expect(try p.send(.client, [.request(get("/next")), .end()]) == [.request("GET /next"), .end(trailers: [])])
    }

    @Test func connectTunnel() throws {
        var p = ConnectionPair()
        let connect = HTTPRequest(method: .connect, scheme: nil, authority: "db.example:5432", path: nil)
        try p.client.send(.request(connect))
        try p.client.send(.end())
        let sent = p.client.takeOutbound() + bytes("tunnel")
        #expect(try p.deliver(sent, to: .server) == [.request("CONNECT db.example:5432"), .end(trailers: [])])
        #expect(throws: HTTP1UsageError(.framingNotAllowed)) {
            try p.server.send(.response(HTTPResponse(status: .ok, headerFields: [.contentLength: "0"])))
        }
        try p.server.send(.response(HTTPResponse(status: .ok)))
        #expect(p.server.ourState == .switchedProtocol)
        #expect(p.server.takeLeftover() == bytes("tunnel"))
        let answer = p.server.takeOutbound()
        #expect(String(decoding: answer, as: UTF8.self) == "HTTP/1.1 200 OK\r\n\r\n")
        let seen = try p.deliver(answer + bytes("back"), to: .client)
        // As in h11, the 2xx to CONNECT switches at once: no end of message follows.
        #expect(seen == [.response(200)])
        #expect(p.states == [.switchedProtocol, .switchedProtocol])
        #expect(p.client.takeLeftover() == bytes("back"))
    }

    @Test func clientCloseEndsTheConnectionAfterTheCycle() throws {
        var p = ConnectionPair()
        _ = try p.send(.client, [.request(get("/", [.connection: "close"])), .end()])
        #expect(p.states == [.mustClose, .sendResponse])
        try p.server.send(.response(HTTPResponse(status: .ok, headerFields: [.contentLength: "0"])))
        let headBytes = p.server.takeOutbound()
        #expect(String(decoding: headBytes, as: UTF8.self) == "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        #expect(try p.deliver(headBytes, to: .client) == [.response(200), .end(trailers: [])])
        try p.server.send(.end())
        #expect(p.server.ourState == .mustClose)
        #expect(throws: HTTP1UsageError(.notDone)) { try p.server.startNextCycle() }
        #expect(throws: HTTP1UsageError(.connectionClosed)) { try p.server.send(.response(HTTPResponse(status: .ok))) }
        let seen = try p.send(.server, [.connectionClosed])
        #expect(seen == [.closed])
        #expect(p.states == [.mustClose, .closed])
        try p.client.send(.connectionClosed)
        #expect(p.states == [.closed, .closed])
        #expect(throws: HTTP1UsageError(.connectionClosed)) { try p.client.send(.request(get("/"))) }
    }

    /// A response's own `close` option ends keep-alive in any list form (one element among
    /// others, any case, whitespace around it, in a second `Connection` line) and is never
    /// doubled; `closed`, `close-ish` or an empty list element are other options.
    @Test(arguments: [
        ("close", true), ("Keep-Alive ,  CLOSE", true), (" \tclose\t, upgrade-x", true), (",,close,,", true),
        ("closed", false), ("close-ish, keep-alive", false), ("", false), ("clo se", false),
    ])
    func aResponsesCloseOptionEndsKeepAlive(value: String, closes: Bool) throws {
        var server = HTTP1Connection(role: .server)
        server.receive(bytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n").span)
        _ = try server.nextEvent()
        _ = try server.nextEvent()
        var fields: HTTPFields = [.contentLength: "0"]
        fields.append(HTTPField(name: .connection, value: "x-first"))
        fields.append(HTTPField(name: .connection, value: value))
        try server.send(.response(HTTPResponse(status: .ok, headerFields: fields)))
        try server.send(.end())
        #expect(server.ourState == (closes ? .mustClose : .done))
        let head = String(decoding: server.takeOutbound(), as: UTF8.self)
        // The application's two lines and no third (keep-alive stays on when they do not close).
        #expect(head.split(separator: "\r\n").filter { $0.hasPrefix("Connection: ") }.count == 2, "\(head)")
    }

    /// The connection adds chunked framing only to a response that has no framing field.
    @Test func aResponseWithoutFramingFieldsIsChunkedAndOneWithThemIsNot() throws {
        for (fields, lines) in [(HTTPFields(), 1), ([.contentLength: "0"], 0), ([.transferEncoding: "chunked"], 1)] as [(HTTPFields, Int)] {
            var server = HTTP1Connection(role: .server)
            server.receive(bytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n").span)
            _ = try server.nextEvent()
            _ = try server.nextEvent()
            try server.send(.response(HTTPResponse(status: .ok, headerFields: fields)))
            let head = String(decoding: server.takeOutbound(), as: UTF8.self)
            #expect(head.split(separator: "\r\n").filter { $0 == "Transfer-Encoding: chunked" }.count == lines, "\(head)")
            #expect(server.ourState == .sendBody)
        }
    }

    @Test func closeDelimitedResponse() throws {
        // Our server answering HTTP/1.0 without framing: until close, Connection: close added.
        var server = HTTP1Connection(role: .server)
        server.receive(bytes("GET / HTTP/1.0\r\n\r\n").span)
        #expect(try server.nextEvent().map(Seen.init) == .request("GET /"))
        #expect(try server.nextEvent().map(Seen.init) == .end(trailers: []))
        #expect(throws: HTTP1UsageError(.unexpectedInformational)) { try server.send(.response(HTTPResponse(status: .continue))) }
        try server.send(.response(HTTPResponse(status: .ok)))
        try server.send(.body(bytes("all")))
        try server.send(.end())
        #expect(server.ourState == .mustClose)
        let out = server.takeOutbound()
        #expect(String(decoding: out, as: UTF8.self) == "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall")

        // Our client reading it: the body ends at EOF, then the close.
        var p = ConnectionPair()
        _ = try p.send(.client, [.request(get("/")), .end()])
        #expect(try p.deliver(out, to: .client) == [.response(200), .body("all")])
        #expect(try p.deliver([], to: .client, eof: true) == [.end(trailers: []), .closed])
        #expect(p.client.theirState == .closed)
        #expect(p.client.ourState == .mustClose)
    }

    @Test func eofInsideAMessageIsAnError() throws {
        var client = HTTP1Connection(role: .client)
        try client.send(.request(get("/")))
        try client.send(.end())
        client.receive(bytes("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc").span)
        client.receiveEOF()
        #expect(try client.nextEvent().map(Seen.init) == .response(200))
        #expect(try client.nextEvent().map(Seen.init) == .body("abc"))
        #expect(throws: HTTP1ParseError.self) { try client.nextEvent() }
        #expect(client.theirState == .error)
        #expect(client.ourState == .mustClose)
    }

    @Test func malformedInputFailsThePeer() throws {
        var server = HTTP1Connection(role: .server)
        server.receive(bytes("GET / HTTP/1.1\r\nHost : h\r\n\r\n").span)
        var caught: HTTP1ParseError?
        do { _ = try server.nextEvent() } catch { caught = error }
        #expect(caught?.code == .whitespaceBeforeColon)
        #expect(caught?.statusHint == 400)
        #expect(server.theirState == .error)
        // The same error again, and a 400 may still be sent before closing.
        #expect(throws: HTTP1ParseError.self) { try server.nextEvent() }
        try server.send(.response(HTTPResponse(status: .badRequest, headerFields: [.contentLength: "0"])))
        try server.send(.end())
        #expect(server.ourState == .mustClose)
    }

    // MARK: Violations

    @Test(arguments: [HTTPResponse.Status.noContent, .notModified])
    func noBodyOnStatusesWithoutOne(status: HTTPResponse.Status) throws {
        var p = ConnectionPair()
        _ = try p.send(.client, [.request(get("/")), .end()])
        try p.server.send(.response(HTTPResponse(status: status)))
        #expect(throws: HTTP1UsageError(.bodyNotAllowed)) { try p.server.send(.body([1])) }
        try p.server.send(.end())
        #expect(try p.drain(.server) == [])
        let head = String(decoding: p.server.takeOutbound(), as: UTF8.self)
        #expect(!head.contains("Transfer-Encoding"))
    }

    @Test func secondResponseIsRefused() throws {
        var p = ConnectionPair()
        _ = try p.send(.client, [.request(get("/")), .end()])
        try p.server.send(.response(HTTPResponse(status: .ok, headerFields: [.contentLength: "0"])))
        #expect(throws: HTTP1UsageError(.messageInProgress)) { try p.server.send(.response(HTTPResponse(status: .ok))) }
        try p.server.send(.end())
        #expect(throws: HTTP1UsageError(.unexpectedResponse)) { try p.server.send(.response(HTTPResponse(status: .ok))) }
        #expect(throws: HTTP1UsageError(.noMessageInProgress)) { try p.server.send(.body([1])) }
        #expect(throws: HTTP1UsageError(.wrongRole)) { try p.server.send(.request(get("/"))) }
        #expect(throws: HTTP1UsageError(.wrongRole)) { try p.client.send(.response(HTTPResponse(status: .ok))) }
    }

    @Test func contentLengthMismatchIsRefused() throws {
        var p = ConnectionPair()
        _ = try p.send(.client, [.request(get("/")), .end()])
        try p.server.send(.response(HTTPResponse(status: .ok, headerFields: [.contentLength: "3"])))
        #expect(throws: HTTP1UsageError(.bodyLongerThanContentLength)) { try p.server.send(.body([1, 2, 3, 4])) }
        try p.server.send(.body([1, 2]))
        #expect(throws: HTTP1UsageError(.bodyShorterThanContentLength)) { try p.server.send(.end()) }
        #expect(p.server.ourState == .sendBody)  // refused events change nothing
        try p.server.send(.body([3]))
        try p.server.send(.end())
        #expect(p.server.ourState == .done)
    }

    @Test func injectionIsRefusedWithoutChangingState() throws {
        var p = ConnectionPair()
        var fields = HTTPFields()
        fields.append(HTTPField(name: .init("X-Evil")!, lenientValue: Array("a\u{0B}b".utf8)))
        #expect(throws: HTTP1UsageError(.invalidFieldValue)) { try p.client.send(.request(get("/", fields))) }
        #expect(p.client.ourState == .idle)
        #expect(p.client.takeOutbound().isEmpty)
    }

    @Test func dripFedConversationGivesTheSameEvents() throws {
        let server = bytes("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=1\r\nabc\r\n2\r\nde\r\n0\r\nT: v\r\n\r\n")
        for pieces in Chunkings.standard(of: server) {
            var client = HTTP1Connection(role: .client)
            try client.send(.request(get("/")))
            try client.send(.end())
            var seen: [Seen] = []
            for piece in pieces {
                client.receive(Array(piece).span)
                while let event = try client.nextEvent() {
                    let s = Seen(event)
                    if case .body(let more) = s, case .body(let before)? = seen.last {
                        seen[seen.count - 1] = .body(before + more)
                    } else {
                        seen.append(s)
                    }
                }
            }
            #expect(seen == [.informational(100), .response(200), .body("abcde"), .end(trailers: ["T: v"])])
        }
    }
}
