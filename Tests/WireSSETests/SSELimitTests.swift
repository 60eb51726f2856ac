import Testing
import TestSupport
import WireSSE

/// `SSELimits`: typed errors at a stream offset that does not depend on the reads.
@Suite struct SSELimitTests {
    static let small = SSEParserConfiguration(limits: SSELimits(maxLineLength: 10, maxEventSize: 12))

    @Test func lineAtTheLimitIsRead() {
        // "data: abcd" is 10 bytes.
        for pieces in Chunkings.standard(of: Array("data: abcd\n\n".utf8)) {
            let outcome = parseSSE(pieces, configuration: Self.small)
            #expect(outcome.error == nil)
            #expect(outcome.events == [event("abcd")])
        }
    }

    @Test func lineOverTheLimitFails() {
        // The second line starts at offset 9 ("data: ok\n" before it); its 11th byte is at 9 + 10.
        let bytes = Array("data: ok\n: comment!!\n\n".utf8)
        for pieces in Chunkings.standard(of: bytes) {
            let outcome = parseSSE(pieces, configuration: Self.small)
            #expect(outcome.error == SSEParseError(.lineTooLong, offset: 19), "split \(pieces.map(\.count))")
            #expect(outcome.events == [])
            #expect(outcome.end == .discardedIncompleteEvent)
        }
    }

    /// A line that never ends fails once it passes the limit, without waiting for more.
    @Test func endlessLineFailsEarly() throws {
        var parser = SSEParser(configuration: Self.small)
        _ = try parser.parse(Array("data: 1234".utf8).span)
        #expect(throws: SSEParseError(.lineTooLong, offset: 10)) { try parser.parse(Array("5".utf8).span) }
        // Failed: later calls rethrow the same error.
        #expect(throws: SSEParseError(.lineTooLong, offset: 10)) { try parser.parse(Array("\n\n".utf8).span) }
    }

    /// The BOM counts in offsets but not in line length.
    @Test func offsetsCountTheBOM() {
        let bytes: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("data: 12345\n".utf8)
        for pieces in Chunkings.standard(of: bytes) {
            #expect(parseSSE(pieces, configuration: Self.small).error == SSEParseError(.lineTooLong, offset: 13))
        }
    }

    @Test func eventAtTheLimitIsDispatched() {
        // Data buffer "abcde\nfghij\n" is 12 bytes.
        for pieces in Chunkings.standard(of: Array("data: abcde\ndata:fghij\n\ndata: x\n\n".utf8)) {
            let outcome = parseSSE(pieces, configuration: SSEParserConfiguration(limits: SSELimits(maxLineLength: 20, maxEventSize: 12)))
            #expect(outcome.error == nil)
            #expect(outcome.events == [event("abcde\nfghij"), event("x")])
        }
    }

    @Test func eventOverTheLimitFailsAtTheDataLine() {
        // "data: abcde\n" (12 bytes) fills 6; "data: fghijk" would make 13: fails at offset 12.
        let bytes = Array("data: abcde\ndata: fghijk\n\n".utf8)
        for pieces in Chunkings.standard(of: bytes) {
            let outcome = parseSSE(pieces, configuration: SSEParserConfiguration(limits: SSELimits(maxLineLength: 20, maxEventSize: 12)))
            #expect(outcome.error == SSEParseError(.eventTooLarge, offset: 12))
            #expect(outcome.events == [])
        }
    }

    /// Events before the failing line are delivered.
    @Test func eventsBeforeTheErrorAreDelivered() {
        let bytes = Array("data: a\n\ndata: b\n\ndata: 0123456789\n\n".utf8)
        for pieces in Chunkings.standard(of: bytes) {
            let outcome = parseSSE(pieces, configuration: Self.small)
            #expect(outcome.events == [event("a"), event("b")])
            #expect(outcome.error == SSEParseError(.lineTooLong, offset: 28))
        }
    }

    /// `finish()` clears a failure: the next connection's stream is read.
    @Test func finishClearsTheFailure() throws {
        var parser = SSEParser(configuration: Self.small)
        #expect(throws: SSEParseError.self) { try parser.parse(Array("data: 0123456789\n".utf8).span) }
        #expect(parser.finish() == .discardedIncompleteEvent)
        let step = try parser.parse(Array("data: ok\n\n".utf8).span)
        #expect(step.event == event("ok"))
    }

    @Test func codeNames() {
        #expect(SSEParseError.Code.allCases.map(\.name) == ["line-too-long", "event-too-large"])
        #expect(SSEUsageError.Code.allCases.map(\.name) == ["invalid-event-type", "invalid-id", "invalid-comment"])
        #expect(Set(SSEParseError.Code.allCases).count == 2)
        #expect(SSELimits() == SSELimits(maxLineLength: 1 << 20, maxEventSize: 1 << 20))
    }
}
