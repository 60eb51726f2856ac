import HTTPTypes
import Testing
import WireHTTP1

/// Pipelining, keep-alive, Expect, Upgrade and CONNECT pauses (RFC 9112 §9.3, RFC 9110 §7.6.1,
/// §7.8, §9.3.6, §10.1.1).
@Suite struct ParserConnectionTests {
    @Test func pipelinedRequestsOfEveryFraming() {
        let text =
            "GET /1 HTTP/1.1\r\nHost: h\r\n\r\n"
            + "POST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
            + "POST /3 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nde\r\n0\r\n\r\n"
            + "HEAD /4 HTTP/1.0\r\n\r\n"
        #expect(
            summary(text) == [
                "head GET /1 HTTP/1.1", "end", "head POST /2 HTTP/1.1", "body abc", "end", "head POST /3 HTTP/1.1",
                "body de", "end", "head HEAD /4 HTTP/1.0", "end",
            ])
    }

    @Test func pipelinedResponses() {
        let text =
            "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"
            + "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nb\r\n0\r\n\r\n"
            + "HTTP/1.1 304 Not Modified\r\n\r\n"
            + "HTTP/1.1 200 OK\r\n\r\nrest"
        #expect(
            summary(text, kind: .response) == [
                "head HTTP/1.1 200 OK", "body a", "end", "head HTTP/1.1 200 OK", "body b", "end",
                "head HTTP/1.1 304 Not Modified", "end", "head HTTP/1.1 200 OK", "body rest", "end",
            ])
    }

    struct KeepAliveCase: Sendable, CustomTestStringConvertible {
        var version: String
        var connection: String?
        var keepAlive: Bool
        var testDescription: String { "\(version) \(connection ?? "-")" }
    }

    @Test(arguments: [
        KeepAliveCase(version: "HTTP/1.1", connection: nil, keepAlive: true),
        KeepAliveCase(version: "HTTP/1.1", connection: "close", keepAlive: false),
        KeepAliveCase(version: "HTTP/1.1", connection: "Keep-Alive, CLOSE", keepAlive: false),
        KeepAliveCase(version: "HTTP/1.1", connection: "keep-alive", keepAlive: true),
        KeepAliveCase(version: "HTTP/1.1", connection: "closed", keepAlive: true),
        KeepAliveCase(version: "HTTP/1.0", connection: nil, keepAlive: false),
        KeepAliveCase(version: "HTTP/1.0", connection: "keep-alive", keepAlive: true),
        KeepAliveCase(version: "HTTP/1.0", connection: "foo, Keep-Alive", keepAlive: true),
        KeepAliveCase(version: "HTTP/1.0", connection: "keep-alive, close", keepAlive: false),
    ])
    func keepAlive(_ c: KeepAliveCase) throws {
        let connection = c.connection.map { "Connection: \($0)\r\n" } ?? ""
        let request = try #require(requestHead("GET / \(c.version)\r\nHost: h\r\n\(connection)\r\n"))
        #expect(request.keepAlive == c.keepAlive)
        let response = try #require(responseHead("\(c.version) 200 OK\r\nContent-Length: 0\r\n\(connection)\r\n"))
        #expect(response.keepAlive == c.keepAlive)
    }

    @Test func expectContinueIsExposed() throws {
        let yes = try #require(requestHead("PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\nx"))
        #expect(yes.expectsContinue)
        let no = try #require(requestHead("PUT / HTTP/1.1\r\nHost: h\r\nExpect: something\r\n\r\n"))
        #expect(!no.expectsContinue)
        let old = try #require(requestHead("PUT / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n"))
        #expect(!old.expectsContinue)
    }

    // MARK: Upgrade and CONNECT on the server side

    static let upgrade =
        "GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n\r\n"

    @Test func upgradeRequestPausesUntilTheServerDecides() throws {
        let events = parseAllSplits(Array((Self.upgrade + "\u{81}\u{80}frame").utf8))
        #expect(events.map(\.description) == ["head GET /chat HTTP/1.1", "end", "paused awaitingProtocolDecision \u{81}\u{80}frame"])
        guard case .request(let head)? = events.first else {
            Issue.record("no request head first: \(events)")
            return
        }
        #expect(head.isUpgradeRequest)
    }

    @Test func acceptedUpgradeSwitches() {
        let events = parseAllSplits(Array((Self.upgrade + "ws bytes").utf8), decision: .accept)
        #expect(events.map(\.description) == ["head GET /chat HTTP/1.1", "end", "paused switchedProtocols ws bytes"])
    }

    @Test func declinedUpgradeContinuesWithTheNextRequest() {
        let events = parseAllSplits(Array((Self.upgrade + "GET /2 HTTP/1.1\r\nHost: h\r\n\r\n").utf8), decision: .decline)
        #expect(events.map(\.description) == ["head GET /chat HTTP/1.1", "end", "head GET /2 HTTP/1.1", "end"])
    }

    @Test func upgradeWithABodyPausesAfterTheBody() {
        let text = "POST / HTTP/1.1\r\nHost: h\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nContent-Length: 2\r\n\r\nhiPRI"
        #expect(
            summary(text) == ["head POST / HTTP/1.1", "body hi", "end", "paused awaitingProtocolDecision PRI"])
    }

    @Test func upgradeNeedsTheConnectionOptionAndHTTP11() {
        // Without `Connection: upgrade`, or in HTTP/1.0 (RFC 9110 §7.8), it is an ordinary request.
        let plain = "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n"
        #expect(summary(plain) == ["head GET / HTTP/1.1", "end", "head GET /2 HTTP/1.1", "end"])
        let old = "GET / HTTP/1.0\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\nGET /2 HTTP/1.0\r\n\r\n"
        #expect(summary(old) == ["head GET / HTTP/1.0", "end", "head GET /2 HTTP/1.0", "end"])
    }

    @Test func connectRequestPauses() {
        let text = "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n\u{16}\u{03}"
        #expect(summary(text) == ["head CONNECT example.com:443 HTTP/1.1", "end", "paused awaitingProtocolDecision \u{16}\u{03}"])
        #expect(
            summary(text, decision: .accept) == [
                "head CONNECT example.com:443 HTTP/1.1", "end", "paused switchedProtocols \u{16}\u{03}",
            ])
    }

    @Test func pausedParserConsumesNothingAndFinishIsQuiet() throws {
        var parser = HTTP1Parser(parsing: .request)
        let bytes = Array((Self.upgrade + "xyz").utf8)
        var rest = bytes[...]
        var events = 0
        while true {
            let step = try rest.withUnsafeBufferPointer { try parser.parse($0.span) }
            rest = rest.dropFirst(step.consumed)
            if step.event == nil { break }
            events += 1
        }
        #expect(events == 2)
        #expect(parser.pause == .awaitingProtocolDecision)
        #expect(Array(rest) == Array("xyz".utf8))
        let again = try rest.withUnsafeBufferPointer { try parser.parse($0.span) }
        #expect(again == HTTP1ParseStep(consumed: 0, event: nil))
        #expect(try parser.finish() == HTTP1ParseStep(consumed: 0, event: nil))
        parser.acceptProtocolSwitch()
        #expect(parser.pause == .switchedProtocols)
        parser.declineProtocolSwitch()  // no effect once switched
        #expect(parser.pause == .switchedProtocols)
    }

    @Test func stateQueries() throws {
        var parser = HTTP1Parser(parsing: .request)
        #expect(parser.isIdle)
        #expect(parser.pause == nil)
        let partial = Array("GET / HT".utf8)
        _ = try partial.withUnsafeBufferPointer { try parser.parse($0.span) }
        #expect(!parser.isIdle)
        #expect(parser.streamOffset == 8)
        #expect(throws: HTTP1ParseError(.unexpectedEOF, offset: 8)) { try parser.finish() }
        // Failed parsers rethrow.
        #expect(throws: HTTP1ParseError(.unexpectedEOF, offset: 8)) {
            try partial.withUnsafeBufferPointer { try parser.parse($0.span) }
        }
    }

    @Test func finishBetweenMessagesEndsTheStream() throws {
        var parser = HTTP1Parser(parsing: .request)
        #expect(try parser.finish() == HTTP1ParseStep(consumed: 0, event: nil))
        #expect(parser.pause == .endOfStream)
        let more = Array("GET / HTTP/1.1\r\n".utf8)
        #expect(try more.withUnsafeBufferPointer { try parser.parse($0.span) } == HTTP1ParseStep(consumed: 0, event: nil))
    }

    @Test func emptyInputsAreHarmless() throws {
        var parser = HTTP1Parser(parsing: .request)
        let empty: [UInt8] = []
        #expect(try empty.withUnsafeBufferPointer { try parser.parse($0.span) } == HTTP1ParseStep(consumed: 0, event: nil))
        #expect(parser.isIdle)
    }
}
