import Testing
import WireCodecCLI
import WireHTTP1

/// The CLI contract's edge cases: errors with offsets, incomplete input, until-close bodies,
/// protocol switches, and the pretty rendering.
@Suite struct HTTPDecodeTests {
    func decode(_ text: String, _ kind: HTTP1MessageKind, head: Bool = false) -> [String] {
        HTTPDecode.decode(Array(text.utf8), options: .init(kind: kind, answersHEAD: head)).map(\.serialized)
    }

    @Test func pipelinedRequestsThenAnError() {
        let lines = decode("GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /x HTTP/1.1\r\nHost : a\r\n\r\n", .request)
        #expect(lines.count == 2)
        #expect(lines.first == #"{"type":"request","method":"GET","target":"/","version":"HTTP/1.1","headers":[["Host","a"]],"body_b64":"","trailers":[]}"#)
        // The offset counts from the start of the whole input (the space before the colon).
        #expect(lines.last == #"{"type":"error","code":"whitespace-before-colon","offset":48}"#)
    }

    @Test func inputEndingInsideAMessageIsIncomplete() {
        #expect(decode("GET / HTTP/1.1\r\nHost: a\r\n", .request) == [#"{"type":"incomplete"}"#])
        #expect(decode("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", .response) == [#"{"type":"incomplete"}"#])
        #expect(decode("", .request) == [])
    }

    @Test func untilCloseBodyEndsAtEndOfInput() {
        let lines = decode("HTTP/1.0 200 OK\r\n\r\n\u{00}\u{FF}", .response)
        #expect(lines == [#"{"type":"response","status":200,"reason":"OK","version":"HTTP/1.0","headers":[],"body_b64":"AMO/","trailers":[]}"#])
    }

    @Test func headResponsesHaveNoBody() {
        let text = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\n"
        let lines = decode(text, .response, head: true)
        #expect(lines.count == 2)
        #expect(lines.allSatisfy { $0.contains(#""body_b64":"""#) })
        // Read as answers to GET, the first body swallows "HTT" of the next status line.
        #expect(decode(text, .response).last?.hasPrefix(#"{"type":"error","#) == true)
    }

    @Test func decodingStopsAfterSwitchingProtocols() {
        let text = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\u{81}\u{05}hello"
        let lines = decode(text, .response)
        #expect(lines.count == 2)
        #expect(lines.last?.hasPrefix(#"{"type":"response","status":101,"#) == true)
    }

    @Test func decodingStopsAfterAnUpgradeOrConnectRequest() {
        let upgrade = "GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\u{81}\u{85}junk"
        #expect(decode(upgrade, .request).count == 1)
        let connect = "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n\u{16}\u{03}\u{01}tls"
        let lines = decode(connect, .request)
        #expect(lines.count == 1)
        #expect(lines.first?.contains(#""target":"a:443""#) == true)
    }

    @Test func chunkedBodyAndTrailers() {
        let text = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nX-T: 1\r\n\r\n"
        #expect(decode(text, .request) == [
            #"{"type":"request","method":"POST","target":"/","version":"HTTP/1.1","headers":[["Host","a"],["Transfer-Encoding","chunked"]],"body_b64":"YWJj","trailers":[["X-T","1"]]}"#
        ])
    }

    @Test func obsTextRoundTripsAsLatin1() {
        let bytes: [UInt8] = Array("HTTP/1.1 200 caf".utf8) + [0xE9] + Array("\r\nX: \u{7F}".utf8).dropLast() + [0xFF] + Array("\r\nContent-Length: 0\r\n\r\n".utf8)
        let lines = HTTPDecode.decode(bytes, options: .init(kind: .response)).map(\.serialized)
        #expect(lines == [#"{"type":"response","status":200,"reason":"caf\u00e9","version":"HTTP/1.1","headers":[["X","\u00ff"],["Content-Length","0"]],"body_b64":"","trailers":[]}"#])
    }

    @Test func prettyRendering() {
        let lines = HTTPDecode.decode(
            Array("POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\na\u{01}\nGET".utf8), options: .init(kind: .request))
        let text = HTTPDecode.render(lines, pretty: true)
        #expect(text == "POST /p HTTP/1.1\nHost: a\nContent-Length: 3\n(body: 3 bytes)\na\\x01\n\nincomplete: the input ends inside a message\n")
    }
}
