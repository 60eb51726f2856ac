import HTTPTypes
import Testing
import WireHTTP1

/// Status lines, interim responses, bodiless responses, read-until-close (RFC 9112 §4, §6.3;
/// RFC 9110 §15).
@Suite struct ParserResponseTests {
    @Test(arguments: [
        ("HTTP/1.1 200 OK", "head HTTP/1.1 200 OK"),
        ("HTTP/1.1 200 ", "head HTTP/1.1 200 "),
        ("HTTP/1.0 404 Not Found", "head HTTP/1.0 404 Not Found"),
        ("HTTP/1.1 599 \tA reason\twith tabs ", "head HTTP/1.1 599 \tA reason\twith tabs "),
    ])
    func statusLines(_ line: String, _ expected: String) {
        #expect(summary(line + "\r\nContent-Length: 0\r\n\r\n", kind: .response).first == expected)
    }

    @Test(arguments: [
        ("HTTP/1.1 200", "invalid-status-line"),
        ("HTTP/1.1  200 OK", "invalid-status-code"),
        ("HTTP/1.1 20 OK", "invalid-status-code"),
        ("HTTP/1.1 2000 OK", "invalid-status-code"),
        ("HTTP/1.1 099 OK", "invalid-status-code"),
        ("HTTP/1.1 600 OK", "invalid-status-code"),
        ("HTTP/1.1 2x0 OK", "invalid-status-code"),
        ("HTTP/1.1 200 O\u{1}K", "invalid-reason-phrase"),
        ("HTTP/1.1 200 O\u{7F}K", "invalid-reason-phrase"),
        ("HTTP/1.1 200 O\rK", "bare-cr"),
        ("HTTP/2.0 200 OK", "unsupported-version"),
        ("HTTP/1.1\t200 OK", "invalid-status-line"),
        ("HTTPS/1.1 200 OK", "invalid-version"),
        ("ICY 200 OK", "invalid-version"),
        ("", "invalid-status-line"),
    ])
    func malformedStatusLines(_ line: String, _ expected: String) {
        #expect(errorName(line + "\r\nContent-Length: 0\r\n\r\n", kind: .response) == expected)
    }

    @Test func reasonIsReadable() throws {
        let head = try #require(responseHead("HTTP/1.1 404 Not \u{E9}Found\r\nContent-Length: 0\r\n\r\n"))
        #expect(head.status == 404)
        let reason = head.withReason { span in span.count }
        #expect(reason == 11)
        #expect(head.reason == "Not \u{C3}\u{A9}Found")  // UTF-8 bytes of é read as ISO-8859-1
    }

    // MARK: Interim responses

    @Test func anyNumberOfInformationalResponses() {
        let text =
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n"
            + "HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"
        #expect(
            summary(text, kind: .response) == [
                "head HTTP/1.1 100 Continue", "head HTTP/1.1 103 Early Hints", "head HTTP/1.1 102 Processing",
                "head HTTP/1.1 200 OK", "body x", "end",
            ])
    }

    @Test func informationalResponsesHaveNoBodyAndDoNotConsumeTheQueuedMethod() {
        // The 1xx ignores Content-Length; the final response is the one answering HEAD.
        let text = "HTTP/1.1 100 Continue\r\nContent-Length: 5\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
        #expect(
            summary(text, kind: .response, expecting: [.head]) == [
                "head HTTP/1.1 100 Continue", "head HTTP/1.1 200 OK", "end",
            ])
    }

    @Test func switchingProtocolsStopsAtTheEndOfTheHead() {
        let text = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\u{81}\u{05}hello"
        let events = parseAllSplits(Array(text.utf8), kind: .response)
        #expect(events.count == 2)
        guard case .response(let head) = events.first, case .paused(let pause, let leftover) = events.last else {
            Issue.record("unexpected \(events)")
            return
        }
        #expect(head.status == 101)
        #expect(head.hasUpgrade)
        #expect(pause == .switchedProtocols)
        #expect(leftover == Array("\u{81}\u{05}hello".utf8))
    }

    // MARK: Bodiless responses

    @Test(arguments: [204, 304])
    func noBodyStatuses(_ status: Int) {
        let text = "HTTP/1.1 \(status) X\r\nContent-Length: 10\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
        #expect(
            summary(text, kind: .response) == ["head HTTP/1.1 \(status) X", "end", "head HTTP/1.1 200 OK", "end"])
    }

    @Test func responsesToHEADHaveNoBody() {
        let text =
            "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        #expect(
            summary(text, kind: .response, expecting: [.head, .head, .get]) == [
                "head HTTP/1.1 200 OK", "end", "head HTTP/1.1 200 OK", "end", "head HTTP/1.1 200 OK", "body ok", "end",
            ])
        #expect(responseHead("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", expecting: [.head])?.framing == HTTP1BodyFraming.none)
    }

    @Test func successfulCONNECTTurnsIntoATunnel() {
        let text = "HTTP/1.1 200 Connection established\r\n\r\n\u{16}\u{03}\u{01}tls"
        let events = parseAllSplits(Array(text.utf8), kind: .response, expecting: [.connect])
        #expect(events.map(\.description) == ["head HTTP/1.1 200 Connection established", "end", "paused switchedProtocols \u{16}\u{03}\u{01}tls"])
    }

    @Test func failedCONNECTIsAnOrdinaryResponse() {
        let text = "HTTP/1.1 407 Proxy Auth\r\nContent-Length: 2\r\n\r\nnoHTTP/1.1 200 OK\r\n\r\n"
        #expect(
            summary(text, kind: .response, expecting: [.connect, .connect]) == [
                "head HTTP/1.1 407 Proxy Auth", "body no", "end", "head HTTP/1.1 200 OK", "end",
                "paused switchedProtocols ",
            ])
    }

    // MARK: Read until close

    @Test func untilCloseBodyEndsAtFinish() throws {
        #expect(summary("HTTP/1.0 200 OK\r\n\r\nall of it", kind: .response) == ["head HTTP/1.0 200 OK", "body all of it", "end"])
        #expect(summary("HTTP/1.1 200 OK\r\n\r\n", kind: .response) == ["head HTTP/1.1 200 OK", "end"])
        let head = try #require(responseHead("HTTP/1.1 200 OK\r\n\r\n"))
        #expect(head.framing == .untilClose)
        #expect(!head.keepAlive)
    }

    @Test func emptyLineBeforeAStatusLineIsAnError() {
        #expect(errorName("\r\nHTTP/1.1 200 OK\r\n\r\n", kind: .response) == "invalid-status-line")
    }

    @Test func statusLineIsLimited() {
        let config = HTTP1ParserConfiguration.limited { $0.maxStartLineLength = 20 }
        #expect(errorName("HTTP/1.1 200 " + String(repeating: "x", count: 8) + "\r\n\r\n", kind: .response, configuration: config) == "start-line-too-long")
        #expect(summary("HTTP/1.1 200 " + String(repeating: "x", count: 7) + "\r\n\r\n", kind: .response, configuration: config).count == 2)
    }

    @Test func responseHostFieldsAreNotChecked() {
        #expect(summary("HTTP/1.1 200 OK\r\nHost: a b\r\nHost: c\r\nContent-Length: 0\r\n\r\n", kind: .response).count == 2)
    }
}
