import Testing
import TestSupport
import WireSSE

/// The parsing and interpretation rules of WHATWG HTML §9.2.5–9.2.6, one case per rule, each
/// checked under every split of its bytes (`Chunkings.standard`).
@Suite struct SSEParserTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var input: [UInt8]
        var events: [SSEParseEvent]
        var lastEventID = ""
        var retry: UInt64? = nil
        var end: SSEStreamEnd = .clean
        var testDescription: String { name }

        init(_ name: String, _ input: String, _ events: [SSEParseEvent], lastEventID: String = "", retry: UInt64? = nil, end: SSEStreamEnd = .clean) {
            self.init(name, Array(input.utf8), events, lastEventID: lastEventID, retry: retry, end: end)
        }

        init(_ name: String, _ input: [UInt8], _ events: [SSEParseEvent], lastEventID: String = "", retry: UInt64? = nil, end: SSEStreamEnd = .clean) {
            self.name = name
            self.input = input
            self.events = events
            self.lastEventID = lastEventID
            self.retry = retry
            self.end = end
        }
    }

    static let cases: [Case] = [
        Case("one data line", "data: hello\n\n", [event("hello")]),
        Case("multi-line data joined with LF", "data: a\ndata: b\ndata:\ndata: c\n\n", [event("a\nb\n\nc")]),
        Case("CRLF line ends", "data: a\r\ndata: b\r\n\r\n", [event("a\nb")]),
        Case("CR line ends", "data: a\rdata: b\r\r", [event("a\nb")]),
        Case("mixed line ends", "data: a\r\ndata: b\rdata: c\n\r\n", [event("a\nb\nc")]),
        Case("CR CR is two line ends", "data: x\r\rdata: y\r\n\r\n", [event("x"), event("y")]),
        Case("LF CR is two line ends", "data: x\n\rdata: y\n\n", [event("x"), event("y")]),
        Case("one space removed after the colon", "data:  two spaces\n\n", [event(" two spaces")]),
        Case("no space after the colon", "data:tight\n\n", [event("tight")]),
        Case("tab after the colon is kept", "data:\tx\n\n", [event("\tx")]),
        Case("field without colon: empty value", "data\ndata\n\n", [event("\n")]),
        Case("only the first colon splits", "data: a:b: c\n\n", [event("a:b: c")]),
        Case("event type", "event: add\ndata: 1\n\n", [event("1", type: "add")]),
        Case("empty event type means message", "event:\ndata: 1\n\n", [event("1")]),
        Case("last event field wins", "event: a\nevent: b\ndata: 1\n\n", [event("1", type: "b")]),
        Case("event type reset after dispatch", "event: add\ndata: 1\n\ndata: 2\n\n", [event("1", type: "add"), event("2")]),
        Case("event type reset even without data", "event: add\n\ndata: 2\n\n", [event("2")]),
        Case("field names are case-sensitive", "Data: x\nDATA: y\nEvent: z\n\n", []),
        Case("field name with a space is another field", "data : x\n data: y\n\n", []),
        Case("unknown fields ignored", "foo: bar\ndata: x\nbaz\n\n", [event("x")]),
        Case("comment lines ignored", ": hello\n:\ndata: x\n: between\n\n", [event("x")]),
        Case("comment-only block dispatches nothing", ": heartbeat\n\n", []),
        Case("empty data buffer: no event", "event: x\nid: 1\n\n\n\n", [], lastEventID: "1"),
        Case("data with an empty value dispatches an empty string", "data:\n\n", [event("")]),
        Case("one trailing LF removed", "data: a\ndata:\n\n", [event("a\n")]),
        Case("id persists across events", "id: 7\ndata: a\n\ndata: b\n\n", [event("a", id: "7"), event("b", id: "7")], lastEventID: "7"),
        Case("id after data in the same event", "data: a\nid: 9\n\n", [event("a", id: "9")], lastEventID: "9"),
        Case("empty id resets", "id: 7\ndata: a\n\nid\ndata: b\n\n", [event("a", id: "7"), event("b")], lastEventID: ""),
        Case("id with NUL ignored", "id: 1\ndata: a\n\nid: 2\u{0}3\ndata: b\n\n", [event("a", id: "1"), event("b", id: "1")], lastEventID: "1"),
        Case("id set without dispatch", "id: 5\n\n", [], lastEventID: "5"),
        Case("id without its blank line is not taken", "data: a\nid: 1\n\nid: 2\n", [event("a", id: "1")], lastEventID: "1", end: .discardedIncompleteEvent),
        Case("id keeps spaces after the first", "id:  x \ndata: a\n\n", [event("a", id: " x ")], lastEventID: " x "),
        Case("retry digits", "retry: 1500\n", [.retry(1500)], retry: 1500, end: .discardedIncompleteEvent),
        Case("retry leading zeros", "retry: 03000\n\n", [.retry(3000)], retry: 3000),
        Case("retry zero", "retry: 0\n\n", [.retry(0)], retry: 0),
        Case("retry not digits ignored", "retry: 1000x\nretry: -1\nretry: 1.5\nretry:  10\n\n", []),
        Case("retry empty ignored", "retry\nretry:\n\n", []),
        Case("retry overflow ignored", "retry: 18446744073709551616\n\n", []),
        Case("retry max", "retry: 18446744073709551615\n\n", [.retry(.max)], retry: .max),
        Case("retry keeps the latest valid", "retry: 10\nretry: x\ndata: a\n\n", [.retry(10), event("a")], retry: 10),
        Case("leading BOM skipped", [0xEF, 0xBB, 0xBF] + Array("data: a\n\n".utf8), [event("a")]),
        Case("only one BOM skipped", [0xEF, 0xBB, 0xBF, 0xEF, 0xBB, 0xBF] + Array("data: a\n\ndata: b\n\n".utf8), [event("b")]),
        Case("BOM later in the stream is content", Array("data: ".utf8) + [0xEF, 0xBB, 0xBF] + Array("x\n\n".utf8), [event("\u{FEFF}x")]),
        Case("partial BOM is content", [0xEF, 0xBB] + Array("\ndata: a\n\n".utf8), [event("a")]),
        Case("invalid UTF-8 replaced", Array("data: ".utf8) + [0xFF, 0xC3] + Array("\n\n".utf8), [event("\u{FFFD}\u{FFFD}")]),
        Case("UTF-8 kept", "event: ü\ndata: € 𝄞\nid: ✓\n\n", [event("€ 𝄞", type: "ü", id: "✓")], lastEventID: "✓"),
        Case("incomplete event discarded at the end", "data: a\n\ndata: b\n", [event("a")], end: .discardedIncompleteEvent),
        Case("incomplete line discarded at the end", "data: a\n\ndata: b", [event("a")], end: .discardedIncompleteEvent),
        Case("blank line needed: a final CR counts", "data: a\r\r", [event("a")]),
        Case("NUL in data kept", "data: a\u{0}b\n\n", [event("a\u{0}b")]),
        Case("empty stream", "", []),
        Case("blank lines only", "\n\r\n\r", []),
        Case("whatwg example: two event types", "event: add\ndata: 73857293\n\nevent: remove\ndata: 2153\n\nevent: add\ndata: 113411\n\n",
             [event("73857293", type: "add"), event("2153", type: "remove"), event("113411", type: "add")]),
        Case("whatwg example: fields and comments", ": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n",
             [event("first event", id: "1"), event("second event")], end: .discardedIncompleteEvent),
        Case("whatwg example: empty events", "data\n\ndata\ndata\n\ndata:", [event(""), event("\n")], end: .discardedIncompleteEvent),
        Case("whatwg example: space after colon", "data:test\n\ndata: test\n\n", [event("test"), event("test")]),
    ]

    @Test(arguments: cases)
    func rule(_ c: Case) {
        for pieces in Chunkings.standard(of: c.input) {
            let outcome = parseSSE(pieces)
            #expect(outcome.events == c.events, "split \(pieces.map(\.count))")
            #expect(outcome.error == nil)
            #expect(outcome.lastEventID == c.lastEventID)
            #expect(outcome.reconnectionTime == c.retry)
            #expect(outcome.end == c.end)
        }
    }

    /// A CR ending one read and an LF starting the next are one line end, not two: two
    /// line ends would dispatch the event early.
    @Test func crAtEndOfReadThenLF() {
        let split: [ArraySlice<UInt8>] = [Array("data: a\r".utf8)[...], Array("\ndata: b\r".utf8)[...], Array("\n\r".utf8)[...], Array("\n".utf8)[...]]
        let outcome = parseSSE(split)
        #expect(outcome.events == [event("a\nb")])
        // Empty reads between the CR and the LF change nothing.
        let withEmpty: [ArraySlice<UInt8>] = [Array("data: a\r".utf8)[...], [][...], [][...], Array("\n\r\n".utf8)[...]]
        #expect(parseSSE(withEmpty).events == [event("a")])
        // A CR alone at the end of a read, then other bytes: the CR ended the line.
        let bare: [ArraySlice<UInt8>] = [Array("data: a\r".utf8)[...], Array("data: b\r\r".utf8)[...]]
        #expect(parseSSE(bare).events == [event("a\nb")])
    }

    /// A BOM split across reads is still skipped, byte by byte.
    @Test func bomSplitAcrossReads() {
        let bytes: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("data: a\n\n".utf8)
        #expect(parseSSE(bytes.map { [$0][...] }).events == [event("a")])
    }

    /// Events come one per call, each with the bytes up to and including its blank line.
    @Test func oneEventPerStep() throws {
        let bytes = Array("data: a\n\ndata: b\n\n: tail".utf8)
        var parser = SSEParser()
        let first = try parser.parse(bytes.span)
        #expect(first == SSEParseStep(consumed: 9, event: event("a")))
        let second = try parser.parse(bytes.span, from: 9)
        #expect(second == SSEParseStep(consumed: 9, event: event("b")))
        let third = try parser.parse(bytes.span, from: 18)
        #expect(third == SSEParseStep(consumed: 6, event: nil))
        #expect(parser.streamOffset == 24)
        #expect(!parser.isAtEventBoundary)
    }

    @Test func commentsReportedWhenAsked() {
        let configuration = SSEParserConfiguration(reportsComments: true)
        for pieces in Chunkings.standard(of: Array(": hi\n:\n:  two\r\ndata: x\n\n".utf8)) {
            let outcome = parseSSE(pieces, configuration: configuration)
            #expect(outcome.events == [.comment("hi"), .comment(""), .comment(" two"), event("x")])
        }
    }

    /// The last event ID a client kept starts the new stream's buffer: a stream without `id`
    /// keeps it, and its events carry it.
    @Test func resumesWithLastEventID() {
        let outcome = parseSSE(Array("data: a\n\n".utf8), lastEventID: "41")
        #expect(outcome.events == [event("a", id: "41")])
        #expect(outcome.lastEventID == "41")
    }

    /// After `finish()` the parser reads a new connection's stream from its start (a BOM
    /// again), keeping the last event ID and the reconnection time.
    @Test func finishPreparesForReconnection() throws {
        var parser = SSEParser()
        var events: [SSEParseEvent] = []
        try parser.parse(Array("retry: 50\nid: 3\ndata: a\n\nid: 4\ndata: partial".utf8).span) { events.append($0) }
        #expect(events == [.retry(50), event("a", id: "3")])
        #expect(parser.finish() == .discardedIncompleteEvent)
        #expect(parser.lastEventID == "3")
        #expect(parser.reconnectionTime == 50)
        #expect(parser.streamOffset == 0)
        events = []
        try parser.parse(([0xEF, 0xBB, 0xBF] + Array("data: b\n\n".utf8)).span) { events.append($0) }
        #expect(events == [event("b", id: "3")])
        #expect(parser.finish() == .clean)
    }
}
