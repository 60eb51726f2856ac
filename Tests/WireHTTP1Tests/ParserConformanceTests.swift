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

/// Responses whose length does not come from their framing fields (RFC 9112 §6.3 rules 1–2):
/// a client ignores Content-Length and Transfer-Encoding there, whatever they say.
@Suite struct IgnoredFramingFieldsTests {
    @Test func aSuccessfulCONNECTAnswerIgnoresItsFramingFields() {
        for fields in ["Transfer-Encoding: gzip", "Content-Length: abc", "Content-Length: 3\r\nTransfer-Encoding: chunked"] {
            let text = "HTTP/1.1 200 OK\r\n\(fields)\r\n\r\n"
            #expect(summary(text, kind: .response, expecting: [.connect]).prefix(2) == ["head HTTP/1.1 200 OK", "end"])
        }
    }

    @Test func bodylessStatusesAndHEADAnswersIgnoreTheirFramingFields() {
        for status in ["204 No Content", "304 Not Modified", "100 Continue"] {
            let text = "HTTP/1.1 \(status)\r\nContent-Length: 1, 2\r\nTransfer-Encoding: chunked\r\n\r\n"
            #expect(summary(text, kind: .response).first == "head HTTP/1.1 \(status)")
            #expect(errorName(text, kind: .response) == nil)
        }
        let head = "HTTP/1.1 200 OK\r\nContent-Length: 12\r\nTransfer-Encoding: chunked\r\n\r\n"
        #expect(errorName(head, kind: .response, expecting: [.head]) == nil)
        #expect(errorName("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", kind: .response, expecting: [.head]) == nil)
    }

    @Test func otherResponsesStillCheckTheirFramingFields() {
        #expect(errorName("HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n", kind: .response) == "invalid-content-length")
        #expect(errorName("HTTP/1.1 404 Not Found\r\nContent-Length: abc\r\n\r\n", kind: .response, expecting: [.connect]) == "invalid-content-length")
    }
}

/// HTTP1Connection duties of RFC 9112 §6.1, §9.2 and of the serializer (§3.2.1, §7.4).
@Suite struct ConnectionConformanceTests {
    static func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }
    static func text(_ b: [UInt8]) -> String { String(decoding: b, as: UTF8.self) }

    @Test func noTransferEncodingInAResponseToHTTP10() throws {
        var server = HTTP1Connection(role: .server)
        server.receive(Self.bytes("GET / HTTP/1.0\r\n\r\n").span)
        while try server.nextEvent() != nil {}
        try server.send(.response(HTTPResponse(status: .ok, headerFields: [.transferEncoding: "chunked"])))
        try server.send(.body(Self.bytes("hello")))
        try server.send(.end())
        let out = Self.text(server.takeOutbound())
        #expect(!out.lowercased().contains("transfer-encoding"))
        #expect(out.hasSuffix("\r\n\r\nhello"))
        #expect(out.contains("Connection: close"))
        #expect(server.ourState == .mustClose)
    }

    @Test func otherCodingsCannotBeSentToHTTP10() throws {
        var server = HTTP1Connection(role: .server)
        server.receive(Self.bytes("GET / HTTP/1.0\r\n\r\n").span)
        while try server.nextEvent() != nil {}
        #expect(throws: HTTP1UsageError(.transferCodingToHTTP10)) {
            try server.send(.response(HTTPResponse(status: .ok, headerFields: [.transferEncoding: "gzip, chunked"])))
        }
        #expect(server.takeOutbound().isEmpty)
    }

    @Test func dataWithoutAnOutstandingRequestIsNotAResponse() throws {
        // An unsolicited answer (a 408 before closing an idle connection, or bytes after the
        // last response) never becomes the response to the next request.
        var client = HTTP1Connection(role: .client)
        client.receive(Self.bytes("HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n").span)
        #expect(throws: HTTP1ParseError.self) { _ = try client.nextEvent() }

        var late = HTTP1Connection(role: .client)
        try late.send(.request(HTTPRequest(method: .get, scheme: "http", authority: "h", path: "/")))
        try late.send(.end())
        late.receive(Self.bytes("HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil").span)
        var seen: [String] = []
        while let e = try late.nextEvent() { seen.append("\(e)") }
        #expect(seen.count == 2)
        try late.startNextCycle()
        try late.send(.request(HTTPRequest(method: .get, scheme: "http", authority: "h", path: "/next")))
        try late.send(.end())
        #expect(throws: HTTP1ParseError.self) { _ = try late.nextEvent() }
    }

    @Test func emptyLinesBeforeAResponseAreNotUnsolicitedData() throws {
        // Empty lines are not a response (§9.2 lets a client discard them); they are left to
        // the response parser, which refuses an empty line before a status line whenever it
        // arrives (H1-2.2-1), so the outcome does not depend on timing.
        var client = HTTP1Connection(role: .client)
        client.receive(Self.bytes("\r\n").span)
        #expect(try client.nextEvent() == nil)
        try client.send(.request(HTTPRequest(method: .get, scheme: "http", authority: "h", path: "/")))
        try client.send(.end())
        client.receive(Self.bytes("HTTP/1.1 204 No Content\r\n\r\n").span)
        #expect(throws: HTTP1ParseError(.invalidStatusLine, offset: 0)) { _ = try client.nextEvent() }
    }

    @Test func anEmptyPathIsSentAsSlash() throws {
        var serializer = HTTP1Serializer(role: .client)
        var out: [UInt8] = []
        try serializer.writeHead(HTTPRequest(method: .get, scheme: "http", authority: "h", path: ""), into: &out)
        #expect(Self.text(out).hasPrefix("GET / HTTP/1.1\r\n"))
    }

    @Test func teNeverNamesChunkedAndComesWithItsConnectionOption() throws {
        var serializer = HTTP1Serializer(role: .client)
        var out: [UInt8] = []
        #expect(throws: HTTP1UsageError(.invalidTE)) {
            try serializer.writeHead(
                HTTPRequest(method: .get, scheme: "http", authority: "h", path: "/", headerFields: [.te: "trailers, chunked", .connection: "TE"]),
                into: &out)
        }
        #expect(throws: HTTP1UsageError(.invalidTE)) {
            try serializer.writeHead(HTTPRequest(method: .get, scheme: "http", authority: "h", path: "/", headerFields: [.te: "trailers"]), into: &out)
        }
        #expect(out.isEmpty)
        try serializer.writeHead(
            HTTPRequest(method: .get, scheme: "http", authority: "h", path: "/", headerFields: [.te: "trailers", .connection: "keep-alive, TE"]),
            into: &out)
        #expect(Self.text(out).contains("TE: trailers\r\n"))
    }
}

/// Sender duties of the serializer and the connection that no other suite pins down.
@Suite struct SenderConformanceTests {
    static func text(_ b: [UInt8]) -> String { String(decoding: b, as: UTF8.self) }

    @Test func emptyReasonKeepsItsSpace() throws {
        // RFC 9112 §4: the SP before the reason phrase is sent even when the phrase is empty.
        var serializer = HTTP1Serializer(role: .server)
        var out: [UInt8] = []
        try serializer.writeHead(HTTPResponse(status: .init(code: 299, reasonPhrase: "")), respondingTo: .get, into: &out)
        #expect(Self.text(out).hasPrefix("HTTP/1.1 299 \r\n"))
    }

    @Test func serverCannotReuseTheConnectionBeforeTheRequestBodyIsRead() throws {
        // RFC 9112 §9.3: an unread request body would be read as the next request.
        var server = HTTP1Connection(role: .server)
        server.receive(Array("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc".utf8).span)
        while try server.nextEvent() != nil {}
        try server.send(.response(HTTPResponse(status: .ok, headerFields: [.contentLength: "0"])))
        try server.send(.end())
        #expect(server.ourState == .done)
        #expect(throws: HTTP1UsageError(.notDone)) { try server.startNextCycle() }
    }

    /// RFC 9110 §10.1.1: a client never expects 100-continue for a request without content.
    @Test func noContinueExpectationWithoutContent() throws {
        var client = HTTP1Serializer(role: .client)
        var out: [UInt8] = []
        for fields: HTTPFields in [[.expect: "100-continue"], [.expect: "100-continue", .contentLength: "0"]] {
            #expect(throws: HTTP1UsageError(.expectationWithoutContent)) {
                try client.writeHead(HTTPRequest(method: .post, scheme: "http", authority: "h", path: "/", headerFields: fields), into: &out)
            }
        }
        #expect(out.isEmpty)
        try client.writeHead(
            HTTPRequest(method: .post, scheme: "http", authority: "h", path: "/", headerFields: [.expect: "100-continue", .contentLength: "3"]),
            into: &out)
        #expect(String(decoding: out, as: UTF8.self).contains("Expect: 100-continue\r\n"))
    }
}

/// RFC 9110 §7.8 (Upgrade) duties of the serializer and the server connection.
@Suite struct UpgradeConformanceTests {
    static let upgradeRequest = "GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"

    static func server(_ request: String) throws -> HTTP1Connection {
        var server = HTTP1Connection(role: .server)
        server.receive(Array(request.utf8).span)
        while try server.nextEvent() != nil {}
        return server
    }

    @Test func a101AndA426NameTheirProtocols() throws {
        var serializer = HTTP1Serializer(role: .server)
        var out: [UInt8] = []
        #expect(throws: HTTP1UsageError(.missingUpgrade)) {
            try serializer.writeHead(HTTPResponse(status: .switchingProtocols, headerFields: [.connection: "upgrade"]), respondingTo: .get, into: &out)
        }
        #expect(throws: HTTP1UsageError(.missingUpgrade)) {
            try serializer.writeHead(HTTPResponse(status: .upgradeRequired, headerFields: [.contentLength: "0"]), respondingTo: .get, into: &out)
        }
        #expect(out.isEmpty)
    }

    @Test func upgradeTravelsWithItsConnectionOption() throws {
        var client = HTTP1Serializer(role: .client)
        var out: [UInt8] = []
        #expect(throws: HTTP1UsageError(.upgradeWithoutConnectionOption)) {
            try client.writeHead(HTTPRequest(method: .get, scheme: "http", authority: "h", path: "/", headerFields: [.upgrade: "h2c"]), into: &out)
        }
        var server = HTTP1Serializer(role: .server)
        #expect(throws: HTTP1UsageError(.upgradeWithoutConnectionOption)) {
            try server.writeHead(
                HTTPResponse(status: .ok, headerFields: [.upgrade: "h2c", .contentLength: "0"]), respondingTo: .get, into: &out)
        }
        #expect(out.isEmpty)
    }

    @Test func theServerSwitchesOnlyToAnOfferedProtocol() throws {
        var server = try Self.server(Self.upgradeRequest)
        #expect(throws: HTTP1UsageError(.protocolNotOffered)) {
            try server.send(.response(HTTPResponse(status: .switchingProtocols, headerFields: [.upgrade: "h2c", .connection: "upgrade"])))
        }
        #expect(server.takeOutbound().isEmpty)
        try server.send(.response(HTTPResponse(status: .switchingProtocols, headerFields: [.upgrade: "WebSocket", .connection: "upgrade"])))
        #expect(server.ourState == .switchedProtocol)
    }

    @Test func aContinueTheClientWaitsForComesBeforeThe101() throws {
        let request = "POST /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"
        var server = try Self.server(request)
        #expect(throws: HTTP1UsageError(.continueBeforeSwitch)) {
            try server.send(.response(HTTPResponse(status: .switchingProtocols, headerFields: [.upgrade: "websocket", .connection: "upgrade"])))
        }
        try server.send(.response(HTTPResponse(status: .continue)))
        #expect(String(decoding: server.takeOutbound(), as: UTF8.self) == "HTTP/1.1 100 Continue\r\n\r\n")
    }
}
