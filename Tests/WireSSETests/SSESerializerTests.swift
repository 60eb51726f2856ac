import Testing
import WireSSE

/// `SSESerializer`: exact bytes, and refusals that write nothing.
@Suite struct SSESerializerTests {
    static func written(_ body: (inout [UInt8]) throws(SSEUsageError) -> Void) -> Result<String, SSEUsageError> {
        var out: [UInt8] = Array("prefix|".utf8)
        do throws(SSEUsageError) {
            try body(&out)
        } catch {
            #expect(out == Array("prefix|".utf8), "nothing written on error")
            return .failure(error)
        }
        return .success(String(decoding: out.dropFirst(7), as: UTF8.self))
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var data: String
        var type: String? = nil
        var id: String? = nil
        var retry: UInt64? = nil
        var expected: String
        var testDescription: String { expected.debugDescription }
    }

    static let cases: [Case] = [
        Case(data: "hello", expected: "data: hello\n\n"),
        Case(data: "", expected: "data:\n\n"),
        Case(data: "a\nb", expected: "data: a\ndata: b\n\n"),
        Case(data: "a\r\nb\rc\n", expected: "data: a\ndata: b\ndata: c\ndata:\n\n"),
        Case(data: "\r\n", expected: "data:\ndata:\n\n"),
        Case(data: "\n\r", expected: "data:\ndata:\ndata:\n\n"),
        Case(data: " lead", expected: "data:  lead\n\n"),
        Case(data: "x", type: "add", expected: "event: add\ndata: x\n\n"),
        Case(data: "x", type: "", expected: "data: x\n\n"),
        Case(data: "x", id: "7", expected: "id: 7\ndata: x\n\n"),
        Case(data: "x", id: "", expected: "id:\ndata: x\n\n"),
        Case(data: "x", type: "t", id: "1", retry: 2500, expected: "event: t\nid: 1\nretry: 2500\ndata: x\n\n"),
        Case(data: "ü€𝄞", type: "ü", id: "✓", expected: "event: ü\nid: ✓\ndata: ü€𝄞\n\n"),
    ]

    @Test(arguments: cases)
    func event(_ c: Case) {
        #expect(Self.written { (out) throws(SSEUsageError) in try SSESerializer.writeEvent(data: c.data, type: c.type, id: c.id, retry: c.retry, into: &out) }
                == .success(c.expected))
        // The bytes overload writes the same.
        #expect(Self.written { (out) throws(SSEUsageError) in try SSESerializer.writeEvent(data: Array(c.data.utf8).span, type: c.type, id: c.id, retry: c.retry, into: &out) }
                == .success(c.expected))
    }

    @Test(arguments: [
        ("a\nb", nil, SSEUsageError.Code.invalidEventType), ("a\rb", nil, .invalidEventType),
        (nil, "1\n2", .invalidID), (nil, "1\r", .invalidID), (nil, "1\u{0}", .invalidID),
    ] as [(String?, String?, SSEUsageError.Code)])
    func refusals(type: String?, id: String?, code: SSEUsageError.Code) {
        #expect(Self.written { (out) throws(SSEUsageError) in try SSESerializer.writeEvent(data: "x", type: type, id: id, into: &out) }
                == .failure(SSEUsageError(code)))
    }

    @Test func comments() {
        #expect(Self.written { (out) throws(SSEUsageError) in try SSESerializer.writeComment("", into: &out) } == .success(":\n"))
        #expect(Self.written { (out) throws(SSEUsageError) in try SSESerializer.writeComment("keep-alive", into: &out) } == .success(": keep-alive\n"))
        #expect(Self.written { (out) throws(SSEUsageError) in try SSESerializer.writeComment("a\nb", into: &out) } == .failure(SSEUsageError(.invalidComment)))
        #expect(Self.written { (out) throws(SSEUsageError) in try SSESerializer.writeComment("a\r", into: &out) } == .failure(SSEUsageError(.invalidComment)))
    }

    @Test(arguments: [(UInt64(0), "retry: 0\n"), (3000, "retry: 3000\n"), (.max, "retry: 18446744073709551615\n")])
    func retry(ms: UInt64, expected: String) {
        var out: [UInt8] = []
        SSESerializer.writeRetry(milliseconds: ms, into: &out)
        #expect(String(decoding: out, as: UTF8.self) == expected)
    }

    /// A caller cannot inject fields through the data: every line break starts a new `data:`.
    @Test func dataCannotInjectFields() {
        var out: [UInt8] = []
        try? SSESerializer.writeEvent(data: "x\n\nid: evil\r\nevent: evil\rretry: 1", into: &out)
        let outcome = parseSSE(out)
        #expect(outcome.events == [.event(SSEEvent(data: "x\n\nid: evil\nevent: evil\nretry: 1"))])
        #expect(outcome.lastEventID == "" && outcome.reconnectionTime == nil)
    }
}
