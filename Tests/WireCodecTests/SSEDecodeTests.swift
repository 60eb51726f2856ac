import Testing
import WireCodecCLI
import WireSSE

/// The `wirecodec sse decode` contract, line by line.
@Suite struct SSEDecodeTests {
    static func decode(_ text: String, _ options: SSEDecode.Options = .init()) -> String {
        SSEDecode.render(SSEDecode.trace(Array(text.utf8), options: options), pretty: false)
    }

    @Test func eventsRetryAndIncomplete() {
        #expect(Self.decode("retry: 250\nid: 1\nevent: add\ndata: a\ndata: b\n\ndata: c\n\ndata: tail") == """
            {"type":"retry","ms":250}
            {"type":"event","event":"add","data":"a\\nb","id":"1"}
            {"type":"event","event":"message","data":"c","id":"1"}
            {"type":"incomplete"}

            """)
    }

    @Test func comments() {
        let options = SSEDecode.Options(configuration: SSEParserConfiguration(reportsComments: true))
        #expect(Self.decode(": hb\n:\n", options) == """
            {"type":"comment","text":"hb"}
            {"type":"comment","text":""}

            """)
        #expect(Self.decode(": hb\n:\n") == "")
    }

    @Test func errorIsTheLastLine() {
        let options = SSEDecode.Options(configuration: SSEParserConfiguration(limits: SSELimits(maxLineLength: 8)))
        #expect(Self.decode("data: a\n\ndata: 123456789\n\ndata: b\n\n", options) == """
            {"type":"event","event":"message","data":"a","id":""}
            {"type":"error","code":"line-too-long","offset":17}

            """)
    }

    @Test func nonASCIIIsEscaped() {
        #expect(Self.decode("data: ü€𝄞\n\n") == #"{"type":"event","event":"message","data":"\u00fc\u20ac\ud834\udd1e","id":""}"# + "\n")
    }

    @Test func pretty() {
        let entries = SSEDecode.trace(Array("retry: 5\nid: 7\ndata: a\ndata: b\n\nda".utf8))
        #expect(SSEDecode.render(entries, pretty: true) == """
            @9     retry  5 ms
            @32    event  message  id="7"
                   data   "a"
                   data   "b"
            @34    incomplete: the stream ends inside an event (discarded)

            """)
    }
}
