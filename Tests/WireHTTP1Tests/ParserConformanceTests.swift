import HTTPTypes
import Testing
import WireCore
import WireHTTP1

/// obs-fold per role (RFC 9112 §5.2): a user agent must unfold a response; a server may refuse
/// a request (our default) or unfold it; a proxy may refuse a response (then answers 502).
@Suite struct ObsFoldPerRoleTests {
    static let foldedResponse = "HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 2\r\n\r\nok"

    @Test func obsFoldInAResponseIsReplacedWithSpaceByDefault() throws {
        let head = try #require(responseHead(Self.foldedResponse))
        #expect(head.fields.count == 2)
        #expect(head.fields.value(at: 0) == "a   b")  // CR, LF and SP each become one SP
        #expect(summary(Self.foldedResponse, kind: .response) == ["head HTTP/1.1 200 OK", "body ok", "end"])
    }

    @Test func foldedFramingFieldsOfAResponseAreUnderstoodByDefault() {
        let text = "HTTP/1.1 200 OK\r\nContent-Length:\r\n\t3\r\n\r\nabcdef"
        #expect(summary(text, kind: .response).prefix(3) == ["head HTTP/1.1 200 OK", "body abc", "end"])
    }

    @Test func obsFoldInResponseTrailersIsReplacedWithSpaceByDefault() throws {
        let text = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT: x\r\n y\r\n\r\n"
        var trailers: HTTP1FieldBlock?
        for event in parseAllSplits(Array(text.utf8), kind: .response) {
            if case .end(let t) = event { trailers = t }
        }
        let block = try #require(trailers)
        #expect(block.value(at: 0) == "x   y")
    }

    @Test func obsFoldInARequestIsRefusedByDefault() {
        #expect(errorName("GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n") == "obs-fold")
    }

    @Test func aProxyMayRefuseObsFoldInAResponse() {
        let strict = HTTP1ParserConfiguration(obsFold: .reject)
        #expect(errorName(Self.foldedResponse, kind: .response, configuration: strict) == "obs-fold")
    }

    @Test func aServerMayUnfoldARequest() throws {
        let head = try #require(
            requestHead("GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", configuration: HTTP1ParserConfiguration(obsFold: .replaceWithSpace)))
        #expect(head.fields.value(at: 1) == "a   b")
    }

    @Test func theDefaultIsPerRole() {
        #expect(HTTP1ParserConfiguration().obsFold == .byRole)
    }

    @Test func aClientConnectionReadsAFoldedResponse() throws {
        var client = HTTP1Connection(role: .client)
        try client.send(.request(HTTPRequest(method: .get, scheme: nil, authority: "h", path: "/")))
        try client.send(.end())
        _ = client.takeOutbound()
        client.receive(Array(Self.foldedResponse.utf8).span)
        var heads: [String] = []
        while let event = try client.nextEvent() {
            if case .response(let head) = event { heads.append(head.fields.value(at: 0)) }
        }
        #expect(heads == ["a   b"])
    }
}

/// When an input breaks two rules, the error names the first one in the input (the offset a
/// person looks at first), whichever the parser meets first while looking for line ends.
@Suite struct EarliestViolationTests {
    static func violation(_ text: String, kind: HTTP1MessageKind = .request) -> String? {
        guard let e = parseError(Array(text.utf8), kind: kind) else { return nil }
        return "\(e.code.name)@\(e.offset)"
    }

    @Test func aViolationInsideALineComesBeforeItsBareLF() {
        // The method's second byte, then the bare LF at 14.
        #expect(Self.violation("G\u{1}T / HTTP/1.1\nHost: h\r\n\r\n") == "invalid-method@1")
        // A bare CR at 5, then the bare LF.
        #expect(Self.violation("GET /\rx HTTP/1.1\nHost: h\r\n\r\n") == "bare-cr@5")
        // A field value's control character, then the field line's bare LF.
        #expect(Self.violation("GET / HTTP/1.1\r\nHost: h\r\nX: a\u{1}b\n\r\n") == "invalid-field-value@29")
        // A status code, then the status line's bare LF.
        #expect(Self.violation("HTTP/1.1 2x0 OK\n\r\n", kind: .response) == "invalid-status-code@9")
        // A chunk size, then the chunk line's bare LF.
        let post = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        #expect(Self.violation(post + "zz\n") == "invalid-chunk-size@\(post.utf8.count)")
    }

    @Test func aBareLFBeforeAViolationInALaterLineComesFirst() {
        #expect(Self.violation("GET / HTTP/1.1\nHo\u{1}st: h\r\n\r\n") == "bare-lf@14")
        #expect(Self.violation("GET / HTTP/1.1\r\nHost: h\nX\u{1}: y\r\n\r\n") == "bare-lf@23")
        let post = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        #expect(Self.violation(post + "5\nzz\r\n") == "bare-lf@\(post.utf8.count + 1)")
    }

    @Test func randomBytesReportTheirFirstBadByte() {
        // The shape a fuzzer found: a non-token first byte, a bare CR at 61, a bare LF at 125.
        var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: 126)
        bytes[0] = UInt8(ascii: "@")
        bytes[61] = 0x0D
        bytes[125] = 0x0A
        let error = parseError(bytes)
        #expect(error?.code.name == "invalid-method")
        #expect(error?.offset == 0)
    }
}
