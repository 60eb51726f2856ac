import HTTPTypes
import Testing
import WireHTTP1

/// Message body length (RFC 9112 §6), Content-Length (RFC 9110 §8.6), chunked (RFC 9112 §7).
@Suite struct ParserBodyTests {
    static func post(_ fields: String, _ body: String = "") -> String {
        "POST / HTTP/1.1\r\nHost: h\r\n\(fields)\r\n\r\n\(body)"
    }

    // MARK: Content-Length

    @Test(arguments: [
        ("Content-Length: 3", "abc", ["head POST / HTTP/1.1", "body abc", "end"]),
        ("Content-Length: 0", "", ["head POST / HTTP/1.1", "end"]),
        ("Content-Length: 003", "abc", ["head POST / HTTP/1.1", "body abc", "end"]),
        ("Content-Length: 3, 3", "abc", ["head POST / HTTP/1.1", "body abc", "end"]),
        ("Content-Length: 3,3 , 3", "abc", ["head POST / HTTP/1.1", "body abc", "end"]),
        // Found by the http-request fuzz target's round trip: a list of one value written with
        // different numbers of leading zeros is one value (the serializer refuses the list).
        ("Content-Length: 0000000000000000000000000000003,03", "abc", ["head POST / HTTP/1.1", "body abc", "end"]),
        ("Content-Length: 3\r\nContent-Length: 3", "abc", ["head POST / HTTP/1.1", "body abc", "end"]),
    ])
    func contentLengthBodies(_ fields: String, _ body: String, _ expected: [String]) {
        #expect(summary(Self.post(fields, body)) == expected)
    }

    @Test(arguments: [
        ("Content-Length: 3, 4", "conflicting-content-length"),
        ("Content-Length: 3\r\nContent-Length: 4", "conflicting-content-length"),
        ("Content-Length: +3", "invalid-content-length"),
        ("Content-Length: -3", "invalid-content-length"),
        ("Content-Length: 3a", "invalid-content-length"),
        ("Content-Length: 0x3", "invalid-content-length"),
        ("Content-Length: 3 3", "invalid-content-length"),
        ("Content-Length: 3.0", "invalid-content-length"),
        ("Content-Length:", "invalid-content-length"),
        ("Content-Length: 3,", "invalid-content-length"),
        ("Content-Length: ,3", "invalid-content-length"),
        ("Content-Length: 9223372036854775808", "invalid-content-length"),
        ("Content-Length: 99999999999999999999999", "invalid-content-length"),
    ])
    func badContentLength(_ fields: String, _ expected: String) {
        #expect(errorName(Self.post(fields)) == expected)
    }

    @Test func largestContentLengthIsAccepted() throws {
        let head = try #require(requestHead(Self.post("Content-Length: 9223372036854775807")))
        #expect(head.framing == .contentLength(Int.max))
    }

    @Test func truncatedBodyIsAnError() {
        #expect(errorName(Self.post("Content-Length: 5", "abc")) == "unexpected-eof")
    }

    // MARK: Transfer-Encoding (RFC 9112 §6.1, §6.3)

    @Test(arguments: [
        ("Transfer-Encoding: chunked\r\nContent-Length: 3", "content-length-and-transfer-encoding"),
        ("Content-Length: 3\r\nTransfer-Encoding: chunked", "content-length-and-transfer-encoding"),
        ("Transfer-Encoding: gzip", "chunked-not-final"),
        ("Transfer-Encoding: chunked, gzip", "chunked-not-final"),
        ("Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip", "chunked-not-final"),
        ("Transfer-Encoding: chunked, chunked", "chunked-not-final"),
        ("Transfer-Encoding: gzip, gzip, chunked", "repeated-transfer-coding"),
        ("Transfer-Encoding: foo, chunked", "unknown-transfer-coding"),
        ("Transfer-Encoding: identity", "unknown-transfer-coding"),
        ("Transfer-Encoding: chunked;q=1", "invalid-transfer-encoding"),
        ("Transfer-Encoding: chunked x", "invalid-transfer-encoding"),
        ("Transfer-Encoding:", "invalid-transfer-encoding"),
        ("Transfer-Encoding: ,", "invalid-transfer-encoding"),
        ("Transfer-Encoding: \"chunked\"", "invalid-transfer-encoding"),
    ])
    func transferEncodingRules(_ fields: String, _ expected: String) {
        #expect(errorName(Self.post(fields, "0\r\n\r\n")) == expected)
    }

    @Test(arguments: [
        "Transfer-Encoding: chunked",
        "Transfer-Encoding: CHUNKED",
        "Transfer-Encoding: gzip, chunked",
        "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked",
        "Transfer-Encoding: , chunked ,",
        "Transfer-Encoding: deflate,x-gzip, compress , x-compress,chunked",
    ])
    func acceptedTransferEncodings(_ fields: String) {
        #expect(summary(Self.post(fields, "1\r\nx\r\n0\r\n\r\n")) == ["head POST / HTTP/1.1", "body x", "end"])
    }

    @Test func unknownCodingHints501() throws {
        let error = try #require(parseError(Array(Self.post("Transfer-Encoding: br, chunked").utf8)))
        #expect(error.statusHint == 501)
        #expect(error.code == .unknownTransferCoding)
    }

    @Test func transferEncodingInHTTP10IsRejected() {
        #expect(
            errorName("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n") == "transfer-encoding-in-http10")
        #expect(
            errorName("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", kind: .response)
                == "transfer-encoding-in-http10")
    }

    @Test func responsesRejectTransferEncodingWithContentLengthToo() {
        #expect(
            errorName("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", kind: .response)
                == "content-length-and-transfer-encoding")
        #expect(
            errorName("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n0\r\n\r\n", kind: .response)
                == "content-length-and-transfer-encoding")
    }

    @Test func responseWhoseFinalCodingIsNotChunkedReadsUntilClose() {
        #expect(
            summary("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzzz", kind: .response)
                == ["head HTTP/1.1 200 OK", "body zzz", "end"])
    }

    // MARK: Chunked

    @Test func chunkSizesAreHexInEitherCase() {
        let body = "a\r\n0123456789\r\nA\r\n0123456789\r\n00010\r\n0123456789abcdef\r\n0\r\n\r\n"
        #expect(
            summary(Self.post("Transfer-Encoding: chunked", body))
                == ["head POST / HTTP/1.1", "body 012345678901234567890123456789abcdef", "end"])
    }

    @Test(arguments: [
        (" 5\r\nhello\r\n0\r\n\r\n", "invalid-chunk-size"),
        ("5 \r\nhello\r\n0\r\n\r\n", "invalid-chunk-size"),
        ("0x5\r\nhello\r\n0\r\n\r\n", "invalid-chunk-size"),
        ("-5\r\nhello\r\n0\r\n\r\n", "invalid-chunk-size"),
        ("+5\r\nhello\r\n0\r\n\r\n", "invalid-chunk-size"),
        ("\r\nhello\r\n0\r\n\r\n", "invalid-chunk-size"),
        ("g\r\n", "invalid-chunk-size"),
        ("5\r\nhelloX\r\n0\r\n\r\n", "invalid-chunk-terminator"),
        ("5\r\nhello\rX0\r\n\r\n", "bare-cr"),
        ("5\r\nhello\n0\r\n\r\n", "bare-lf"),
        ("5\n", "bare-lf"),
        ("5\r\r\n", "bare-cr"),
        ("5;\r\nhello\r\n0\r\n\r\n", "invalid-chunk-extension"),
        ("5;=x\r\nhello\r\n0\r\n\r\n", "invalid-chunk-extension"),
        ("5;a=\r\nhello\r\n0\r\n\r\n", "invalid-chunk-extension"),
        ("5;a=\"x\r\nhello\r\n0\r\n\r\n", "invalid-chunk-extension"),
        ("5;a=b c\r\nhello\r\n0\r\n\r\n", "invalid-chunk-extension"),
        ("5;a=b \r\nhello\r\n0\r\n\r\n", "invalid-chunk-extension"),
        ("5;a=(b)\r\nhello\r\n0\r\n\r\n", "invalid-chunk-extension"),
        ("10000000000000000\r\n", "chunk-size-overflow"),
        ("8000000000000000\r\n", "chunk-size-overflow"),
        ("5\r\nhello\r\n0\r\n", "unexpected-eof"),
        ("5\r\nhel", "unexpected-eof"),
        ("5\r\nhello\r\n0\r\nX: y\r\n", "unexpected-eof"),
    ])
    func malformedChunks(_ body: String, _ expected: String) {
        #expect(errorName(Self.post("Transfer-Encoding: chunked", body)) == expected)
    }

    @Test func largestChunkSizeIsAccepted() {
        let events = summary(Self.post("Transfer-Encoding: chunked", "7fffffffffffffff\r\nabc"), finish: false)
        #expect(events == ["head POST / HTTP/1.1", "body abc"])
    }

    @Test func bareLFAroundChunksWhenAllowed() {
        let events = summary(
            Self.post("Transfer-Encoding: chunked", "5\nhello\n0\nX: y\n\n"), configuration: .lenientLF)
        #expect(events == ["head POST / HTTP/1.1", "body hello", "end X=y"])
    }

    @Test func chunkExtensionsAreExposed() {
        let body = "5;a=1\r\nhello\r\n6 ; b ; c = \"q\\\"x y\" \t;d=e\r\n world\r\n0;last\r\n\r\n"
        let events = summary(Self.post("Transfer-Encoding: chunked", body))
        #expect(
            events == [
                "head POST / HTTP/1.1", "ext a=1", "body hello", "ext b=,c=q\"x y,d=e", "body  world", "ext last=",
                "end",
            ])
    }

    @Test func trailersAreExposed() throws {
        let body = "3\r\nabc\r\n0\r\nX-Checksum: 123\r\nX-More: a b \r\n\r\n"
        let events = summary(Self.post("Transfer-Encoding: chunked", body))
        #expect(events == ["head POST / HTTP/1.1", "body abc", "end X-Checksum=123,X-More=a b"])
    }

    @Test func trailersFollowTheFieldRules() {
        let chunked = "Transfer-Encoding: chunked"
        #expect(errorName(Self.post(chunked, "0\r\nX : y\r\n\r\n")) == "whitespace-before-colon")
        #expect(errorName(Self.post(chunked, "0\r\nX: y\r\n z\r\n\r\n")) == "obs-fold")
        #expect(errorName(Self.post(chunked, "0\r\n z\r\n\r\n")) == "obs-fold")
        #expect(errorName(Self.post(chunked, "0\r\nX: \u{1}\r\n\r\n")) == "invalid-field-value")
        #expect(errorName(Self.post(chunked, "0\r\nX: y\n\r\n")) == "bare-lf")
        #expect(
            summary(Self.post(chunked, "0\r\nX: y\r\n z\r\n\r\n"), configuration: .unfolding)
                == ["head POST / HTTP/1.1", "end X=y   z"])
    }

    @Test func trailersOfSuccessiveMessagesAreIndependent() throws {
        let one = Self.post("Transfer-Encoding: chunked", "0\r\nA: 1\r\n\r\n")
        let two = Self.post("Transfer-Encoding: chunked", "0\r\nB: 2\r\n\r\n")
        var trailers: [HTTP1FieldBlock] = []
        for case .end(let t?) in parseAllSplits(Array((one + two).utf8)) { trailers.append(t) }
        #expect(trailers.map(fieldsDescription) == ["A=1", "B=2"])
    }

    @Test func requestsWithoutFramingHaveNoBody() {
        #expect(
            summary("POST / HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n")
                == ["head POST / HTTP/1.1", "end", "head GET / HTTP/1.1", "end"])
    }
}
