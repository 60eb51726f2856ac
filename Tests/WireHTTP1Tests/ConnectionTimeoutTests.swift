import HTTPTypes
import Testing
import WireCore
import WireHTTP1

/// `HTTP1Connection`'s receive deadlines (`HTTP1Timeouts`, RFC 9112 §9.5): which one runs in
/// which state, when it fires, and what the connection queues (a 408 only when a request is in
/// progress and no response has begun, RFC 9110 §15.5.9).
@Suite struct ConnectionTimeoutTests {
    static func at(_ seconds: Double) -> WireInstant { WireInstant(nanoseconds: UInt64(seconds * 1e9)) }
    static let request408 = "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"

    /// Parses everything buffered and returns the events.
    static func drain(_ c: inout HTTP1Connection) throws -> [HTTP1Event] {
        var events: [HTTP1Event] = []
        while let e = try c.nextEvent() { events.append(e) }
        return events
    }

    static func feed(_ c: inout HTTP1Connection, _ text: String) throws -> [HTTP1Event] {
        c.receive(Array(text.utf8).span)
        return try drain(&c)
    }

    static func outbound(_ c: inout HTTP1Connection) -> String {
        String(decoding: c.takeOutbound(), as: UTF8.self)
    }

    @Test func defaultsAreDocumented() {
        let t = HTTP1Timeouts()
        #expect(t.requestHead == .seconds(30))
        #expect(t.idle == .seconds(60))
        #expect(t.bodyProgress == .seconds(60))
    }

    @Test func aNewConnectionWithNothingReceivedClosesWhenIdle() {
        var c = HTTP1Connection(role: .server)
        #expect(c.tick(now: Self.at(100)) == .wait(until: Self.at(160)))
        #expect(c.nextDeadline == Self.at(160))
        #expect(c.tick(now: Self.at(159.999)) == .wait(until: Self.at(160)))
        #expect(c.tick(now: Self.at(160)) == .close(HTTP1Timeout(.idle, sent408: false)))
        // Nothing is sent on an idle connection: a 408 could cross the client's next request.
        #expect(c.takeOutbound().isEmpty)
        #expect(c.timedOut?.kind == .idle)
        #expect(c.tick(now: Self.at(161)) == .close(HTTP1Timeout(.idle, sent408: false)))
        #expect(c.nextDeadline == nil)
    }

    /// Slowloris: a head that arrives one byte a second is answered with 408 thirty seconds
    /// after its first byte, however often bytes come.
    @Test func aSlowRequestHeadGets408AtItsDeadline() throws {
        var c = HTTP1Connection(role: .server)
        _ = c.tick(now: Self.at(0))
        let head = Array("GET /poll HTTP/1.1\r\nHost: x\r\nUser-Agent: slow\r\n".utf8)
        var now = 5.0
        var closed: HTTP1TimerAction?
        for byte in head {
            c.receive([byte].span)
            #expect(try Self.drain(&c).isEmpty)
            let action = c.tick(now: Self.at(now))
            if case .close = action {
                closed = action
                break
            }
            // The deadline is fixed by the first byte: 5 s + 30 s.
            #expect(action == .wait(until: Self.at(35)))
            now += 1
        }
        #expect(closed == .close(HTTP1Timeout(.requestHead, sent408: true)))
        #expect(now == 35)
        #expect(Self.outbound(&c) == Self.request408)
        // Nothing more is read or sent.
        c.receive(Array("\r\n".utf8).span)
        #expect(try c.nextEvent() == nil)
        #expect(throws: HTTP1UsageError.self) { try c.send(.response(HTTPResponse(status: .ok))) }
    }

    @Test func aHeldRequestHasNoDeadline() throws {
        var c = HTTP1Connection(role: .server)
        _ = c.tick(now: Self.at(0))
        let events = try Self.feed(&c, "GET /long-poll HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(events.count == 2)
        // A long poll: the request is whole, the answer is the application's business.
        #expect(c.tick(now: Self.at(1)) == .wait(until: nil))
        #expect(c.tick(now: Self.at(10_000)) == .wait(until: nil))
        // A streamed response (SSE) neither.
        try c.send(.response(HTTPResponse(status: .ok)))
        try c.send(.body(Array("data: 1\n\n".utf8)))
        #expect(c.tick(now: Self.at(20_000)) == .wait(until: nil))
        try c.send(.end(trailers: nil))
        // Keep-alive: after the response, the idle deadline.
        try c.startNextCycle()
        #expect(c.tick(now: Self.at(20_001)) == .wait(until: Self.at(20_061)))
        #expect(c.tick(now: Self.at(20_061)) == .close(HTTP1Timeout(.idle, sent408: false)))
    }

    @Test func aStalledBodyGets408BeforeTheResponse() throws {
        var c = HTTP1Connection(role: .server)
        _ = c.tick(now: Self.at(0))
        _ = try Self.feed(&c, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n01234")
        #expect(c.tick(now: Self.at(1)) == .wait(until: Self.at(61)))
        // Progress re-arms the deadline.
        _ = try Self.feed(&c, "56")
        #expect(c.tick(now: Self.at(50)) == .wait(until: Self.at(110)))
        #expect(c.tick(now: Self.at(109)) == .wait(until: Self.at(110)))
        #expect(c.tick(now: Self.at(110)) == .close(HTTP1Timeout(.bodyProgress, sent408: true)))
        #expect(Self.outbound(&c) == Self.request408)
    }

    @Test func aStalledBodyAfterTheResponseBeganOnlyCloses() throws {
        var c = HTTP1Connection(role: .server)
        _ = c.tick(now: Self.at(0))
        _ = try Self.feed(&c, "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")
        try c.send(.response(HTTPResponse(status: .ok)))
        try c.send(.body(Array("abc".utf8)))
        _ = c.takeOutbound()
        #expect(c.tick(now: Self.at(1)) == .wait(until: Self.at(61)))
        #expect(c.tick(now: Self.at(61)) == .close(HTTP1Timeout(.bodyProgress, sent408: false)))
        #expect(c.takeOutbound().isEmpty)
    }

    @Test func aClientWaitingFor100ContinueIsNotTimed() throws {
        var c = HTTP1Connection(role: .server)
        _ = c.tick(now: Self.at(0))
        _ = try Self.feed(&c, "PUT /x HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n")
        #expect(c.clientIsWaitingFor100Continue)
        #expect(c.tick(now: Self.at(1)) == .wait(until: nil))
        try c.send(.response(HTTPResponse(status: .continue)))
        #expect(c.tick(now: Self.at(2)) == .wait(until: Self.at(62)))
    }

    /// The transport stops reading for the application: silence is not the client's fault.
    @Test func pausedReceivingStopsTheDeadlines() throws {
        var c = HTTP1Connection(role: .server)
        _ = c.tick(now: Self.at(0))
        _ = try Self.feed(&c, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n01234")
        #expect(c.tick(now: Self.at(1)) == .wait(until: Self.at(61)))
        c.receivePaused()
        #expect(c.tick(now: Self.at(500)) == .wait(until: nil))
        c.receiveResumed()
        // The body deadline starts afresh.
        #expect(c.tick(now: Self.at(501)) == .wait(until: Self.at(561)))
    }

    /// A head deadline keeps its instant across a pause (a transport pauses between reads).
    @Test func aPauseDoesNotExtendTheHeadDeadline() throws {
        var c = HTTP1Connection(role: .server)
        _ = try Self.feed(&c, "GET / HTTP/1.1\r\n")
        #expect(c.tick(now: Self.at(0)) == .wait(until: Self.at(30)))
        c.receivePaused()
        #expect(c.tick(now: Self.at(29)) == .wait(until: nil))
        c.receiveResumed()
        #expect(c.tick(now: Self.at(31)) == .close(HTTP1Timeout(.requestHead, sent408: true)))
    }

    /// Pipelined bytes that arrived during the previous answer begin the next head's deadline
    /// when the next cycle starts.
    @Test func pipelinedBytesStartTheHeadDeadline() throws {
        var c = HTTP1Connection(role: .server)
        _ = c.tick(now: Self.at(0))
        _ = try Self.feed(&c, "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTT")
        try c.send(.response(HTTPResponse(status: .noContent)))
        try c.send(.end(trailers: nil))
        #expect(c.tick(now: Self.at(100)) == .wait(until: nil))
        try c.startNextCycle()
        #expect(try Self.drain(&c).isEmpty)
        #expect(c.tick(now: Self.at(101)) == .wait(until: Self.at(131)))
        _ = try Self.feed(&c, "P/1.1\r\nHost: x\r\n\r\n")
        #expect(c.tick(now: Self.at(102)) == .wait(until: nil))
    }

    @Test func timeoutsCanBeTurnedOffOrChanged() throws {
        var c = HTTP1Connection(role: .server, timeouts: .none)
        #expect(c.tick(now: Self.at(0)) == .wait(until: nil))
        _ = try Self.feed(&c, "GET / HT")
        #expect(c.tick(now: Self.at(1_000_000)) == .wait(until: nil))
        c.timeouts = HTTP1Timeouts(requestHead: .milliseconds(250))
        #expect(c.tick(now: Self.at(10)) == .wait(until: Self.at(10.25)))
        #expect(c.tick(now: Self.at(10.25)) == .close(HTTP1Timeout(.requestHead, sent408: true)))
    }

    @Test func aClientConnectionHasNoDeadlines() throws {
        var c = HTTP1Connection(role: .client)
        #expect(c.tick(now: Self.at(0)) == .wait(until: nil))
        try c.send(.request(HTTPRequest(method: .get, scheme: nil, authority: "x", path: "/")))
        try c.send(.end(trailers: nil))
        #expect(c.tick(now: Self.at(1_000)) == .wait(until: nil))
    }

    /// A graceful shutdown closes an idle connection at once and lets a request in progress
    /// finish, its response marked `Connection: close`.
    @Test func keepAliveCanBeEndedForAGracefulShutdown() throws {
        var c = HTTP1Connection(role: .server)
        #expect(c.isIdle)
        _ = try Self.feed(&c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(!c.isIdle)
        c.disableKeepAlive()
        try c.send(.response(HTTPResponse(status: .ok, headerFields: [.contentLength: "0"])))
        try c.send(.end(trailers: nil))
        #expect(Self.outbound(&c) == "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        #expect(c.ourState == .mustClose)
        var partial = HTTP1Connection(role: .server)
        partial.receive(Array("G".utf8).span)
        #expect(!partial.isIdle)
    }

    @Test func timeoutNamesAreStable() {
        #expect(HTTP1Timeout.Kind.requestHead.name == "request-head")
        #expect(HTTP1Timeout.Kind.idle.name == "idle")
        #expect(HTTP1Timeout.Kind.bodyProgress.name == "body-progress")
    }
}

extension ConnectionTimeoutTests {
    /// A whole request and its answer while the transport was paused: the idle deadline after
    /// it starts with the next cycle, not at the one armed before the request.
    @Test func theIdleDeadlineRestartsWithEachCycleEvenWhilePaused() throws {
        var c = HTTP1Connection(role: .server)
        #expect(c.tick(now: Self.at(0)) == .wait(until: Self.at(60)))
        c.receivePaused()
        _ = try Self.feed(&c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(c.tick(now: Self.at(1)) == .wait(until: nil))
        try c.send(.response(HTTPResponse(status: .noContent)))
        try c.send(.end(trailers: nil))
        try c.startNextCycle()
        c.receiveResumed()
        #expect(c.tick(now: Self.at(600)) == .wait(until: Self.at(660)))
    }
}
