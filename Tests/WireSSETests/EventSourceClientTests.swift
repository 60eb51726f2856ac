import HTTPTypes
import Testing
import TestSupport
import WireCore
import WireHTTP1
import WireSSE

/// `EventSourceClient`: WHATWG HTML §9.2.2–9.2.4 (the EventSource processing model), sans I/O.
/// The tests play the server and the clock.
struct EventSourceClientTests {
    /// The client plus a virtual clock (milliseconds).
    struct Harness {
        var client: EventSourceClient
        var nowMS: UInt64 = 1_000

        init(_ url: String = "http://example.com/feed", configuration: EventSourceConfiguration = .init(), lastEventID: String = "") throws {
            client = EventSourceClient(url: try WireURL(url), configuration: configuration, lastEventID: lastEventID)
        }

        var now: WireInstant { WireInstant(nanoseconds: nowMS * 1_000_000) }

        /// Expects a `.connect`, opens it, and returns the request written.
        mutating func open(expecting url: String? = nil) throws -> String {
            guard case .connect(let target) = client.transport else {
                Issue.record("expected .connect, got \(client.transport)")
                return ""
            }
            if let url { #expect(target.description == url) }
            client.connectionOpened()
            client.tick(now: now)
            return String(decoding: client.takeOutbound(), as: UTF8.self)
        }

        /// Feeds the server's bytes (and EOF), then drains the events.
        mutating func serve(_ text: String, eof: Bool = false) -> [EventSourceEvent] {
            client.receive(Array(text.utf8).span)
            if eof { client.receiveEOF() }
            return drain()
        }

        mutating func drain() -> [EventSourceEvent] {
            var events: [EventSourceEvent] = []
            while let event = client.nextEvent() { events.append(event) }
            client.tick(now: now)
            return events
        }

        /// Advances the clock and ticks.
        mutating func advance(_ ms: UInt64) -> WireInstant? {
            nowMS += ms
            return client.tick(now: now)
        }
    }

    static let okHead = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n\r\n"

    static func message(_ data: String, id: String = "", type: String = "message") -> EventSourceEvent {
        .message(SSEEvent(type: type, data: data, lastEventID: id))
    }

    static func isOpen(_ event: EventSourceEvent?) -> Bool {
        if case .open? = event { true } else { false }
    }

    // MARK: The request (§9.2.2, §9.2.4)

    @Test func firstRequest() throws {
        var h = try Harness("http://example.com:8080/feed?x=1")
        #expect(h.client.readyState == .connecting)
        let request = try h.open(expecting: "http://example.com:8080/feed?x=1")
        #expect(request == "GET /feed?x=1 HTTP/1.1\r\nHost: example.com:8080\r\nAccept: text/event-stream\r\nCache-Control: no-store\r\n\r\n")
    }

    @Test func resumingSendsLastEventIDAtOnce() throws {
        var h = try Harness(lastEventID: "41")
        #expect(try h.open().contains("\r\nLast-Event-ID: 41\r\n"))
    }

    @Test func callerFieldsGoAfterOurs() throws {
        var configuration = EventSourceConfiguration()
        configuration.headerFields = [.authorization: "Bearer t", .accept: "*/*", HTTPField.Name("Last-Event-ID")!: "x", .userAgent: "test"]
        var h = try Harness(configuration: configuration)
        #expect(try h.open() == "GET /feed HTTP/1.1\r\nHost: example.com\r\nAccept: text/event-stream\r\nCache-Control: no-store\r\nAuthorization: Bearer t\r\nUser-Agent: test\r\n\r\n")
    }

    // MARK: Announcing and reading (§9.2.3, §9.2.6)

    @Test func opensAndDispatches() throws {
        var h = try Harness()
        _ = try h.open()
        let events = h.serve(Self.okHead + "retry: 1500\ndata: a\n\nid: 7\nevent: tick\ndata: b\ndata: c\n\n")
        #expect(Self.isOpen(events.first))
        #expect(Array(events.dropFirst()) == [.retry(1500), Self.message("a"), Self.message("b\nc", id: "7", type: "tick")])
        #expect(h.client.readyState == .open)
        #expect(h.client.lastEventID == "7" && h.client.reconnectionTime == 1500)
    }

    @Test(arguments: ["text/event-stream", "text/event-stream; charset=utf-8", "TEXT/Event-Stream", " text/event-stream ;x=y"])
    func eventStreamTypes(_ type: String) throws {
        var h = try Harness()
        _ = try h.open()
        let events = h.serve("HTTP/1.1 200 OK\r\nContent-Type: \(type)\r\n\r\ndata: x\n\n")
        #expect(Self.isOpen(events.first) && events.last == Self.message("x"))
    }

    /// Any split of the response gives the same events (chunked body, CR LF line ends).
    @Test func sameEventsUnderEverySplit() throws {
        let chunk1 = "data: first\r\n\r\nid: 1\r\n"
        let chunk2 = "data: second\r\n\r\n: comment\r\nretry: 250\r\n"
        let response = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
            + String(chunk1.utf8.count, radix: 16) + "\r\n" + chunk1 + "\r\n" + String(chunk2.utf8.count, radix: 16) + "\r\n" + chunk2 + "\r\n0\r\n\r\n"
        let expected: [EventSourceEvent] = [Self.message("first"), Self.message("second", id: "1"), .retry(250), .reconnecting(.endOfStream, delay: 250)]
        for pieces in Chunkings.standard(of: Array(response.utf8), randomCount: 8) {
            var h = try Harness()
            _ = try h.open()
            var events: [EventSourceEvent] = []
            for piece in pieces {
                h.client.receive(Array(piece).span)
                events += h.drain()
            }
            #expect(Self.isOpen(events.first))
            #expect(Array(events.dropFirst()) == expected)
        }
    }

    // MARK: Reconnecting (§9.2.3 "reestablish the connection")

    @Test func endOfBodyReconnectsWithLastEventIDAfterTheDefaultDelay() throws {
        var h = try Harness()
        _ = try h.open()
        let events = h.serve(Self.okHead + "id: 5\ndata: a\n\nid: 6\ndata: half", eof: true)
        #expect(events.dropFirst() == [Self.message("a", id: "5"), .reconnecting(.endOfStream, delay: 3000)])
        #expect(h.client.readyState == .connecting && h.client.transport == .wait)
        #expect(h.client.lastEventID == "5")  // the unfinished event's id was never dispatched
        #expect(h.advance(2999) == WireInstant(nanoseconds: (1_000 + 3000) * 1_000_000))
        #expect(h.client.transport == .wait)
        _ = h.advance(1)
        let request = try h.open(expecting: "http://example.com/feed")
        #expect(request.contains("\r\nLast-Event-ID: 5\r\n"))
    }

    @Test func retrySetsTheReconnectionDelay() throws {
        var h = try Harness()
        _ = try h.open()
        let events = h.serve(Self.okHead + "retry: 250\n\n", eof: true)
        #expect(events.last == .reconnecting(.endOfStream, delay: 250))
        _ = h.advance(249)
        #expect(h.client.transport == .wait)
        _ = h.advance(1)
        #expect(try h.open().hasPrefix("GET /feed"))
    }

    @Test func untilCloseBodyEndsAtEOF() throws {
        var h = try Harness()
        _ = try h.open()
        let events = h.serve("HTTP/1.0 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: x\n\n", eof: true)
        #expect(events.dropFirst() == [Self.message("x"), .reconnecting(.endOfStream, delay: 3000)])
    }

    @Test func contentLengthBodyEndsAndReconnects() throws {
        var h = try Harness()
        _ = try h.open()
        let events = h.serve("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: 9\r\n\r\ndata: x\n\n")
        #expect(events.dropFirst() == [Self.message("x"), .reconnecting(.endOfStream, delay: 3000)])
    }

    @Test func networkErrorsReconnect() throws {
        var h = try Harness()
        h.client.connectionFailed("connection refused")
        #expect(h.drain() == [.reconnecting(.networkError("connection refused"), delay: 3000)])
        _ = h.advance(3000)
        _ = try h.open()
        _ = h.serve(Self.okHead + "id: 9\ndata: x\n\n")
        h.client.connectionFailed("connection reset")
        #expect(h.drain() == [.reconnecting(.networkError("connection reset"), delay: 3000)])
        _ = h.advance(3000)
        #expect(try h.open().contains("Last-Event-ID: 9"))
    }

    @Test func droppedChunkedStreamReconnects() throws {
        var h = try Harness()
        _ = try h.open()
        let events = h.serve("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n9\r\ndata: x\n\n\r\n5\r\nda", eof: true)
        #expect(events.dropFirst() == [Self.message("x"), .reconnecting(.networkError("the connection closed inside the response"), delay: 3000)])
    }

    @Test func closedBeforeAnyResponseReconnects() throws {
        var h = try Harness()
        _ = try h.open()
        #expect(h.serve("", eof: true) == [.reconnecting(.endOfStream, delay: 3000)])
    }

    @Test func malformedResponsesReconnect() throws {
        var h = try Harness()
        _ = try h.open()
        let events = h.serve("HTTP/1.1 abc OK\r\n\r\n")
        if case .reconnecting(.malformedResponse(let error), delay: 3000)? = events.first {
            #expect(error.code == .invalidStatusCode || error.code == .invalidStatusLine)
        } else {
            Issue.record("expected a reconnection, got \(events)")
        }
    }

    @Test func fatalNetworkErrorsFail() throws {
        var h = try Harness()
        h.client.connectionFailed("certificate verify failed", fatal: true)
        #expect(h.drain() == [.failed(.fatalNetworkError("certificate verify failed"))])
        #expect(h.client.transport == .closed && h.client.readyState == .closed)
    }

    @Test func responseTimeoutReconnects() throws {
        var configuration = EventSourceConfiguration()
        configuration.responseTimeoutMilliseconds = 500
        var h = try Harness(configuration: configuration)
        _ = try h.open()
        #expect(h.advance(499) != nil)
        #expect(h.client.transport == .keepOpen)
        _ = h.advance(1)
        #expect(h.drain() == [.reconnecting(.responseTimeout, delay: 3000)])
    }

    @Test func idleTimeoutReconnectsWhenSet() throws {
        var configuration = EventSourceConfiguration()
        configuration.idleTimeoutMilliseconds = 1000
        var h = try Harness(configuration: configuration)
        _ = try h.open()
        _ = h.serve(Self.okHead)
        _ = h.advance(900)
        _ = h.serve(": heartbeat\n")     // any byte counts
        _ = h.advance(900)
        #expect(h.client.readyState == .open)
        _ = h.advance(100)
        #expect(h.drain() == [.reconnecting(.idleTimeout, delay: 3000)])
    }

    // MARK: Failing (§9.2.3 "fail the connection")

    @Test func noContentStops() throws {
        var h = try Harness()
        _ = try h.open()
        #expect(h.serve("HTTP/1.1 204 No Content\r\n\r\n") == [.failed(.noContent)])
        #expect(h.client.transport == .closed && h.client.readyState == .closed)
        _ = h.advance(60_000)
        #expect(h.client.transport == .closed)
    }

    @Test(arguments: [(500, "Internal Server Error"), (404, "Not Found"), (401, "Unauthorized"), (201, "Created"), (304, "Not Modified")])
    func otherStatusesFail(_ status: Int, _ reason: String) throws {
        var h = try Harness()
        _ = try h.open()
        let events = h.serve("HTTP/1.1 \(status) \(reason)\r\nContent-Type: text/event-stream\r\nContent-Length: 0\r\n\r\n")
        #expect(events == [.failed(.status(status, reason: reason))])
        #expect(h.client.transport == .closed)
    }

    @Test(arguments: [Optional("text/plain"), "application/json", "text/event-streams", "text/html; x=text/event-stream", nil])
    func wrongContentTypesFail(_ type: String?) throws {
        var h = try Harness()
        _ = try h.open()
        let field = type.map { "Content-Type: \($0)\r\n" } ?? ""
        #expect(h.serve("HTTP/1.1 200 OK\r\n\(field)\r\ndata: x\n\n") == [.failed(.contentType(type))])
    }

    @Test func limitsFail() throws {
        var configuration = EventSourceConfiguration()
        configuration.parser = SSEParserConfiguration(limits: SSELimits(maxLineLength: 16))
        var h = try Harness(configuration: configuration)
        _ = try h.open()
        let events = h.serve(Self.okHead + "data: this line is far too long\n\n")
        if case .failed(.limitExceeded(let error))? = events.last {
            #expect(error.code == .lineTooLong)
        } else {
            Issue.record("expected a limit failure, got \(events)")
        }
    }

    @Test func closeStopsWithoutAnEvent() throws {
        var h = try Harness()
        _ = try h.open()
        _ = h.serve(Self.okHead)
        h.client.close()
        #expect(h.drain() == [])
        #expect(h.client.transport == .closed && h.client.failure == .closedByClient)
        h.client.receive(Array("data: late\n\n".utf8).span)
        #expect(h.drain() == [])
    }

    // MARK: Redirects (Fetch, followed as a browser does)

    @Test func redirectsAreFollowedAndReconnectionsStartOver() throws {
        var h = try Harness()
        _ = try h.open()
        let moved = h.serve("HTTP/1.1 307 Temporary Redirect\r\nLocation: /v2/feed?a=b\r\nContent-Length: 0\r\n\r\n")
        #expect(moved == [.redirected(to: try WireURL("http://example.com/v2/feed?a=b"), status: 307)])
        #expect(try h.open(expecting: "http://example.com/v2/feed?a=b").hasPrefix("GET /v2/feed?a=b HTTP/1.1\r\nHost: example.com\r\n"))
        let events = h.serve(Self.okHead + "id: 1\ndata: x\n\n", eof: true)
        #expect(events.dropFirst() == [Self.message("x", id: "1"), .reconnecting(.endOfStream, delay: 3000)])
        _ = h.advance(3000)
        #expect(try h.open(expecting: "http://example.com/feed").contains("Last-Event-ID: 1"))
    }

    @Test func crossOriginRedirectDropsCredentials() throws {
        var configuration = EventSourceConfiguration()
        configuration.headerFields = [.authorization: "Bearer secret", .userAgent: "t"]
        var h = try Harness(configuration: configuration)
        _ = try h.open()
        _ = h.serve("HTTP/1.1 302 Found\r\nLocation: http://other.example/feed\r\nContent-Length: 0\r\n\r\n")
        let request = try h.open(expecting: "http://other.example/feed")
        #expect(!request.contains("Authorization") && request.contains("User-Agent: t"))
    }

    @Test func redirectLimits() throws {
        var configuration = EventSourceConfiguration()
        configuration.maxRedirects = 2
        var h = try Harness(configuration: configuration)
        for _ in 0..<2 {
            _ = try h.open()
            _ = h.serve("HTTP/1.1 302 Found\r\nLocation: /again\r\nContent-Length: 0\r\n\r\n")
        }
        _ = try h.open()
        #expect(h.serve("HTTP/1.1 302 Found\r\nLocation: /again\r\n\r\n") == [.failed(.redirect("too-many-redirects", status: 302))])
    }

    @Test func refusedRedirects() throws {
        var h = try Harness("https://example.com/feed")
        _ = try h.open()
        #expect(h.serve("HTTP/1.1 301 Moved\r\nLocation: http://example.com/feed\r\n\r\n") == [.failed(.redirect("insecure-redirect", status: 301))])
        var g = try Harness()
        _ = try g.open()
        #expect(g.serve("HTTP/1.1 308 Moved\r\nLocation: ftp://example.com/feed\r\n\r\n") == [.failed(.redirect("unsupported-scheme", status: 308))])
        var f = try Harness()
        _ = try f.open()
        #expect(f.serve("HTTP/1.1 302 Found\r\nLocation: http://exa mple.com/\r\n\r\n") == [.failed(.redirect("invalid-location", status: 302))])
        // Fetch: a redirect status without Location is an ordinary response, so not 200.
        var e = try Harness()
        _ = try e.open()
        #expect(e.serve("HTTP/1.1 302 Found\r\nContent-Length: 0\r\n\r\n") == [.failed(.status(302, reason: "Found"))])
    }

    // MARK: Last-Event-ID details (§9.2.4, §9.2.6)

    @Test func emptyIDStopsSendingLastEventID() throws {
        var h = try Harness(lastEventID: "3")
        _ = try h.open()
        _ = h.serve(Self.okHead + "id\ndata: x\n\n", eof: true)
        _ = h.advance(3000)
        #expect(!(try h.open().contains("Last-Event-ID")))
    }

    @Test func lastEventIDIsTrimmedForTheField() throws {
        var h = try Harness()
        _ = try h.open()
        _ = h.serve(Self.okHead + "id:  spaced \ndata: x\n\n", eof: true)
        #expect(h.client.lastEventID == " spaced ")
        _ = h.advance(3000)
        #expect(try h.open().contains("\r\nLast-Event-ID: spaced\r\n"))
    }

    @Test func bytesWhileWaitingAreIgnored() throws {
        var h = try Harness()
        h.client.connectionFailed("refused")
        _ = h.drain()
        h.client.receive(Array("HTTP/1.1 200 OK\r\n\r\n".utf8).span)
        h.client.receiveEOF()
        #expect(h.drain() == [])
        #expect(h.client.transport == .wait)
    }
}
