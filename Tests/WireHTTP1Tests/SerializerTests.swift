import HTTPTypes
import Testing
import WireCore
import WireHTTP1

private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }
private func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

@Suite struct SerializerTests {
    // MARK: Heads from HTTPTypes

    @Test func responseWithContentLengthBody() throws {
        var serializer = HTTP1Serializer(role: .server)
        var out: [UInt8] = []
        var response = HTTPResponse(status: .ok)
        response.headerFields[.contentType] = "text/plain"
        response.headerFields[.contentLength] = "5"
        try serializer.writeHead(response, into: &out)
        #expect(serializer.framing == .contentLength(5))
        try serializer.writeBody(bytes("hel").span, into: &out)
        try serializer.writeBody(bytes("lo").span, into: &out)
        try serializer.writeEnd(into: &out)
        #expect(serializer.framing == nil)
        #expect(text(out) == "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello")
    }

    @Test func requestWritesHostFirstFromAuthority() throws {
        var serializer = HTTP1Serializer(role: .client)
        var out: [UInt8] = []
        let request = HTTPRequest(
            method: .get, scheme: "https", authority: "example.com:8443", path: "/a?b=c",
            headerFields: [.accept: "*/*", .userAgent: "t"])
        try serializer.writeHead(request, into: &out)
        #expect(text(out) == "GET /a?b=c HTTP/1.1\r\nHost: example.com:8443\r\nAccept: */*\r\nUser-Agent: t\r\n\r\n")
        #expect(serializer.framing == HTTP1Serializer.Framing.none)
        try serializer.writeEnd(into: &out)
        #expect(serializer.framing == nil)
    }

    @Test func requestTargetForms() throws {
        func line(_ request: HTTPRequest, _ form: HTTP1Serializer.TargetForm = .origin) throws -> String {
            var serializer = HTTP1Serializer(role: .client)
            var out: [UInt8] = []
            try serializer.writeHead(request, targetForm: form, into: &out)
            return String(text(out).split(separator: "\r\n").first!)
        }
        #expect(try line(HTTPRequest(method: .connect, scheme: nil, authority: "h:443", path: nil)) == "CONNECT h:443 HTTP/1.1")
        #expect(try line(HTTPRequest(method: .options, scheme: "http", authority: "h", path: "*")) == "OPTIONS * HTTP/1.1")
        #expect(try line(HTTPRequest(method: .get, scheme: "http", authority: "h", path: "/x"), .absolute) == "GET http://h/x HTTP/1.1")
        #expect(throws: HTTP1UsageError(.missingTarget)) {
            try line(HTTPRequest(method: .connect, scheme: nil, authority: nil, path: nil))
        }
    }

    @Test func requestWithoutAuthorityGetsAnEmptyHostUnlessItHasOne() throws {
        var serializer = HTTP1Serializer(role: .client)
        var out: [UInt8] = []
        try serializer.writeHead(HTTPRequest(method: .get, scheme: nil, authority: nil, path: "/"), into: &out)
        #expect(text(out) == "GET / HTTP/1.1\r\nHost: \r\n\r\n")
        try serializer.writeEnd(into: &out)
        out = []
        try serializer.writeHead(
            HTTPRequest(method: .get, scheme: nil, authority: nil, path: "/", headerFields: [.init("HOST")!: "h"]),
            into: &out)
        #expect(text(out) == "GET / HTTP/1.1\r\nHOST: h\r\n\r\n")
    }

    @Test func hostFieldBesidesAuthorityIsRefused() {
        var serializer = HTTP1Serializer(role: .client)
        var out: [UInt8] = []
        let request = HTTPRequest(
            method: .get, scheme: "http", authority: "a", path: "/", headerFields: [.init("Host")!: "b"])
        #expect(throws: HTTP1UsageError(.conflictingHost)) { try serializer.writeHead(request, into: &out) }
        #expect(out.isEmpty)
    }

    @Test func cookieFieldsAreJoined() throws {
        var serializer = HTTP1Serializer(role: .client)
        var out: [UInt8] = []
        var fields = HTTPFields()
        fields.append(HTTPField(name: .cookie, value: "a=1"))
        fields.append(HTTPField(name: .accept, value: "x"))
        fields.append(HTTPField(name: .cookie, value: "b=2"))
        try serializer.writeHead(
            HTTPRequest(method: .get, scheme: "http", authority: "h", path: "/", headerFields: fields), into: &out)
        #expect(text(out) == "GET / HTTP/1.1\r\nHost: h\r\nCookie: a=1; b=2\r\nAccept: x\r\n\r\n")
    }

    @Test func fieldNameCaseIsKept() throws {
        var serializer = HTTP1Serializer(role: .server)
        var out: [UInt8] = []
        try serializer.writeHead(
            HTTPResponse(status: .noContent, headerFields: [.init("x-MiXeD")!: "v"]), into: &out)
        #expect(text(out) == "HTTP/1.1 204 No Content\r\nx-MiXeD: v\r\n\r\n")
    }

    // MARK: Chunked

    @Test func chunkedBodyWithExtensionsAndTrailers() throws {
        var serializer = HTTP1Serializer(role: .server)
        var out: [UInt8] = []
        try serializer.writeHead(
            HTTPResponse(status: .ok, headerFields: [.transferEncoding: "chunked", .trailer: "X-Sum"]), into: &out)
        #expect(serializer.framing == .chunked)
        try serializer.writeBody(bytes("hello").span, into: &out)
        try serializer.writeBody(bytes("").span, into: &out)  // writes nothing: an empty chunk would end the body
        let letters = [UInt8](repeating: 0x61, count: 26)
        try serializer.writeChunk(
            letters.span,
            extensions: [.init(name: "a"), .init(name: "b", value: "tok"), .init(name: "c", value: "x \"y\"\\")],
            into: &out)
        try serializer.writeEnd(trailers: [.init("X-Sum")!: "42"], into: &out)
        let expected = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n"
            + "5\r\nhello\r\n"
            + "1a;a;b=tok;c=\"x \\\"y\\\"\\\\\"\r\n" + String(repeating: "a", count: 26) + "\r\n"
            + "0\r\nX-Sum: 42\r\n\r\n"
        #expect(text(out) == expected)
    }

    @Test(arguments: ["Content-Length", "Transfer-Encoding", "Host", "Trailer"])
    func framingFieldsAreRefusedInTrailers(name: String) throws {
        var serializer = HTTP1Serializer(role: .client)
        var out: [UInt8] = []
        try serializer.writeRequestHead(
            method: "POST", target: "/", fields: [("Host", "h"), ("Transfer-Encoding", "chunked")], into: &out)
        let before = out
        #expect(throws: HTTP1UsageError(.fieldNotAllowedInTrailers)) {
            try serializer.writeEnd(trailers: [HTTPField.Name(name)!: "1"], into: &out)
        }
        #expect(out == before)
    }

    @Test func invalidChunkExtensionIsRefused() throws {
        var serializer = HTTP1Serializer(role: .server)
        var out: [UInt8] = []
        try serializer.writeHead(HTTPResponse(status: .ok, headerFields: [.transferEncoding: "chunked"]), into: &out)
        let before = out
        for ext in [HTTP1Serializer.ChunkExtension(name: "a b"), .init(name: "a", value: "x\ny"), .init(name: "")] {
            #expect(throws: HTTP1UsageError(.invalidChunkExtension)) {
                try serializer.writeChunk([1].span, extensions: [ext], into: &out)
            }
            #expect(out == before)
        }
    }

    // MARK: Framing rules

    @Test func contentLengthIsEnforcedBothWays() throws {
        var serializer = HTTP1Serializer(role: .client)
        var out: [UInt8] = []
        try serializer.writeRequestHead(method: "PUT", target: "/", fields: [("Host", "h"), ("Content-Length", "3")], into: &out)
        #expect(throws: HTTP1UsageError(.bodyLongerThanContentLength)) { try serializer.writeBody([1, 2, 3, 4].span, into: &out) }
        try serializer.writeBody([1, 2].span, into: &out)
        #expect(serializer.remainingContentLength == 1)
        #expect(throws: HTTP1UsageError(.bodyShorterThanContentLength)) { try serializer.writeEnd(into: &out) }
        #expect(throws: HTTP1UsageError(.messageInProgress)) {
            try serializer.writeRequestHead(method: "GET", target: "/", fields: [("Host", "h")], into: &out)
        }
        try serializer.writeBody([3].span, into: &out)
        #expect(throws: HTTP1UsageError(.trailersNotAllowed)) { try serializer.writeEnd(trailers: [.server: "x"], into: &out) }
        try serializer.writeEnd(into: &out)
        #expect(out.suffix(3) == [1, 2, 3])
    }

    struct NoBodyCase: Sendable, CustomTestStringConvertible {
        var status: Int
        var method: HTTPRequest.Method?
        var fields: [(name: String, value: String)]
        var testDescription: String { "\(status) to \(method?.rawValue ?? "GET") \(fields.map(\.name))" }
    }

    @Test(arguments: [
        NoBodyCase(status: 204, method: nil, fields: []),
        NoBodyCase(status: 304, method: nil, fields: [("Content-Length", "10")]),
        NoBodyCase(status: 200, method: .head, fields: [("Content-Length", "10")]),
        NoBodyCase(status: 200, method: .head, fields: [("Transfer-Encoding", "chunked")]),
        NoBodyCase(status: 200, method: .connect, fields: []),
    ])
    func responsesWithoutABodyRefuseBodyBytes(c: NoBodyCase) throws {
        var serializer = HTTP1Serializer(role: .server)
        var out: [UInt8] = []
        try serializer.writeResponseHead(status: c.status, reason: "R", fields: c.fields, respondingTo: c.method, into: &out)
        #expect(serializer.framing == HTTP1Serializer.Framing.none)
        let head = out
        #expect(throws: HTTP1UsageError(.bodyNotAllowed)) { try serializer.writeBody([0x41].span, into: &out) }
        #expect(out == head)
        try serializer.writeEnd(into: &out)
        #expect(out == head)
    }

    @Test(arguments: [
        (100, "Content-Length"), (101, "Transfer-Encoding"), (204, "Content-Length"), (204, "Transfer-Encoding"),
    ])
    func framingFieldsAreRefusedOnBodylessStatuses(status: Int, field: String) {
        var serializer = HTTP1Serializer(role: .server)
        var out: [UInt8] = []
        let value = field == "Content-Length" ? "0" : "chunked"
        #expect(throws: HTTP1UsageError(.framingNotAllowed)) {
            try serializer.writeResponseHead(status: status, reason: "", fields: [(field, value)], into: &out)
        }
        #expect(throws: HTTP1UsageError(.framingNotAllowed)) {
            try serializer.writeResponseHead(
                status: 200, reason: "", fields: [(field, value)], respondingTo: .connect, into: &out)
        }
        #expect(out.isEmpty)
    }

    @Test func informationalResponsesNeedNoEnd() throws {
        var serializer = HTTP1Serializer(role: .server)
        var out: [UInt8] = []
        try serializer.writeHead(HTTPResponse(status: .continue), into: &out)
        #expect(serializer.framing == nil)
        try serializer.writeHead(HTTPResponse(status: .earlyHints, headerFields: [.init("Link")!: "</s.css>"]), into: &out)
        try serializer.writeHead(HTTPResponse(status: .ok), into: &out)
        #expect(serializer.framing == .untilClose)
        try serializer.writeBody(bytes("all of it").span, into: &out)
        try serializer.writeEnd(into: &out)
        #expect(text(out) == "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\nHTTP/1.1 200 OK\r\n\r\nall of it")
    }

    @Test func framingConflictsAreRefused() {
        var client = HTTP1Serializer(role: .client)
        var server = HTTP1Serializer(role: .server)
        var out: [UInt8] = []
        #expect(throws: HTTP1UsageError(.conflictingFraming)) {
            try client.writeRequestHead(
                method: "POST", target: "/", fields: [("Content-Length", "1"), ("Transfer-Encoding", "chunked")], into: &out)
        }
        #expect(throws: HTTP1UsageError(.conflictingFraming)) {
            try server.writeResponseHead(
                status: 200, reason: "OK", fields: [("Transfer-Encoding", "chunked"), ("Content-Length", "1")], into: &out)
        }
        #expect(throws: HTTP1UsageError(.requestCodingNotChunked)) {
            try client.writeRequestHead(method: "POST", target: "/", fields: [("Transfer-Encoding", "gzip")], into: &out)
        }
        #expect(throws: HTTP1UsageError(.requestCodingNotChunked)) {
            try client.writeRequestHead(method: "POST", target: "/", fields: [("Transfer-Encoding", "chunked, gzip")], into: &out)
        }
        #expect(throws: HTTP1UsageError(.requestCodingNotChunked)) {
            try client.writeRequestHead(
                method: "POST", target: "/", fields: [("Transfer-Encoding", "chunked"), ("Transfer-Encoding", "chunked")], into: &out)
        }
        #expect(throws: HTTP1UsageError(.invalidContentLength)) {
            try client.writeRequestHead(method: "POST", target: "/", fields: [("Content-Length", "1"), ("Content-Length", "2")], into: &out)
        }
        #expect(throws: HTTP1UsageError(.invalidContentLength)) {
            try client.writeRequestHead(method: "POST", target: "/", fields: [("Content-Length", "+1")], into: &out)
        }
        // A recipient may fold "3, 3" (RFC 9110 §8.6); a sender sends one value.
        #expect(throws: HTTP1UsageError(.invalidContentLength)) {
            try client.writeRequestHead(method: "POST", target: "/", fields: [("Content-Length", "3, 3")], into: &out)
        }
        #expect(throws: HTTP1UsageError(.invalidContentLength)) {
            try client.writeRequestHead(method: "POST", target: "/", fields: [("Content-Length", "99999999999999999999")], into: &out)
        }
        #expect(out.isEmpty)
    }

    @Test func responseTransferCodingNotEndingInChunkedIsReadUntilClose() throws {
        var server = HTTP1Serializer(role: .server)
        var out: [UInt8] = []
        try server.writeResponseHead(status: 200, reason: "OK", fields: [("Transfer-Encoding", "gzip")], into: &out)
        #expect(server.framing == .untilClose)
        try server.writeEnd(into: &out)
        try server.writeResponseHead(status: 200, reason: "OK", fields: [("Content-Length", "2"), ("content-length", "2")], into: &out)
        #expect(server.framing == .contentLength(2))
    }

    /// Found by the http-request fuzz target's round trip: an empty Transfer-Encoding line
    /// after `chunked` is an empty list element, which a recipient ignores (RFC 9110 §5.6.1),
    /// so our parser reads the body as chunked. The serializer took the empty line as "the
    /// last coding is not chunked": it refused the request, and framed a response's body
    /// until close while its head said chunked (a recipient would have parsed the raw body
    /// as chunks). Empty elements and empty lines now add nothing to the list.
    @Test(arguments: [
        [("Transfer-Encoding", "chunked"), ("Transfer-Encoding", "")],
        [("Transfer-Encoding", "chunked"), ("Transfer-Encoding", ",  ,")],
        [("Transfer-Encoding", ", chunked,")],
        [("Transfer-Encoding", ""), ("Transfer-Encoding", "chunked")],
    ])
    func emptyTransferCodingElementsAreIgnored(_ fields: [(String, String)]) throws {
        var client = HTTP1Serializer(role: .client)
        var out: [UInt8] = []
        try client.writeRequestHead(method: "POST", target: "/", fields: [("Host", "a")] + fields.map { (name: $0.0, value: $0.1) }, into: &out)
        #expect(client.framing == .chunked)
        var server = HTTP1Serializer(role: .server)
        out = []
        try server.writeResponseHead(status: 200, reason: "OK", fields: fields.map { (name: $0.0, value: $0.1) }, into: &out)
        #expect(server.framing == .chunked)
        let head = out.count
        try server.writeBody(Array("abc".utf8).span, into: &out)
        try server.writeEnd(into: &out)
        #expect(String(decoding: out[head...], as: UTF8.self) == "3\r\nabc\r\n0\r\n\r\n")
    }

    @Test func rolesAndOrderAreChecked() {
        var client = HTTP1Serializer(role: .client)
        var server = HTTP1Serializer(role: .server)
        var out: [UInt8] = []
        #expect(throws: HTTP1UsageError(.wrongRole)) { try client.writeHead(HTTPResponse(status: .ok), into: &out) }
        #expect(throws: HTTP1UsageError(.wrongRole)) {
            try server.writeHead(HTTPRequest(method: .get, scheme: nil, authority: "h", path: "/"), into: &out)
        }
        #expect(throws: HTTP1UsageError(.noMessageInProgress)) { try client.writeBody([1].span, into: &out) }
        #expect(throws: HTTP1UsageError(.noMessageInProgress)) { try server.writeEnd(into: &out) }
        #expect(out.isEmpty)
    }

    @Test func requestWithoutFramingHasNoBody() throws {
        var client = HTTP1Serializer(role: .client)
        var out: [UInt8] = []
        try client.writeRequestHead(method: "GET", target: "/", fields: [("Host", "h")], into: &out)
        #expect(throws: HTTP1UsageError(.bodyNotAllowed)) { try client.writeBody([1].span, into: &out) }
    }

    // MARK: No header injection

    struct InjectionCase: Sendable, CustomTestStringConvertible {
        var method = "GET", target = "/", name = "X", value = "v"
        var code: HTTP1UsageError.Code
        var testDescription: String { "\(code.name): \(Array((method + target + name + value).utf8))" }
    }

    @Test(arguments: [
        InjectionCase(method: "GET /x HTTP/1.1\r\nX:", code: .invalidMethod),
        InjectionCase(method: "G\0T", code: .invalidMethod),
        InjectionCase(method: "", code: .invalidMethod),
        InjectionCase(method: "GÉT", code: .invalidMethod),
        InjectionCase(target: "/ HTTP/1.1\r\nHost: evil\r\n\r\nGET /", code: .invalidTarget),
        InjectionCase(target: "/a\nb", code: .invalidTarget),
        InjectionCase(target: "/a\0", code: .invalidTarget),
        InjectionCase(target: "/a b", code: .invalidTarget),
        InjectionCase(target: "", code: .invalidTarget),
        InjectionCase(target: "/é", code: .invalidTarget),
        InjectionCase(name: "X\r\nEvil", code: .invalidFieldName),
        InjectionCase(name: "X:", code: .invalidFieldName),
        InjectionCase(name: "X ", code: .invalidFieldName),
        InjectionCase(name: "", code: .invalidFieldName),
        InjectionCase(value: "a\r\nSet-Cookie: x", code: .invalidFieldValue),
        InjectionCase(value: "a\rb", code: .invalidFieldValue),
        InjectionCase(value: "a\nb", code: .invalidFieldValue),
        InjectionCase(value: "a\0b", code: .invalidFieldValue),
        InjectionCase(value: "a\u{7F}b", code: .invalidFieldValue),
        InjectionCase(value: "a\u{01}b", code: .invalidFieldValue),
        InjectionCase(value: "long value that is past eight bytes\u{1F}", code: .invalidFieldValue),
        InjectionCase(value: " leading", code: .invalidFieldValue),
        InjectionCase(value: "trailing\t", code: .invalidFieldValue),
    ])
    func injectionIsRefused(c: InjectionCase) {
        var serializer = HTTP1Serializer(role: .client)
        var out: [UInt8] = [0xAA]
        #expect(throws: HTTP1UsageError(c.code)) {
            try serializer.writeRequestHead(method: c.method, target: c.target, fields: [(c.name, c.value)], into: &out)
        }
        #expect(out == [0xAA])
        #expect(serializer.framing == nil)
    }

    @Test(arguments: ["OK\r\nX: y", "a\nb", "a\0", "a\u{7F}"])
    func reasonPhraseInjectionIsRefused(reason: String) {
        var serializer = HTTP1Serializer(role: .server)
        var out: [UInt8] = []
        #expect(throws: HTTP1UsageError(.invalidReasonPhrase)) {
            try serializer.writeResponseHead(status: 200, reason: reason, fields: [], into: &out)
        }
        #expect(out.isEmpty)
    }

    @Test func valuesAllowTabsInsideAndObsText() throws {
        var serializer = HTTP1Serializer(role: .server)
        var out: [UInt8] = []
        try serializer.writeResponseHead(
            status: 200, reason: "Très bien", fields: [("X", "a\tb c é — long enough for words")], into: &out)
        #expect(text(out).hasPrefix("HTTP/1.1 200 Très bien\r\nX: a\tb c é — long enough for words\r\n"))
    }

    @Test func controlOctetsInLenientHTTPTypesValuesAreRefused() {
        var serializer = HTTP1Serializer(role: .server)
        var out: [UInt8] = []
        var fields = HTTPFields()
        fields.append(HTTPField(name: .server, lenientValue: [0x61, 0x01, 0x62]))
        #expect(throws: HTTP1UsageError(.invalidFieldValue)) {
            try serializer.writeHead(HTTPResponse(status: .ok, headerFields: fields), into: &out)
        }
        #expect(throws: HTTP1UsageError(.invalidStatus)) {
            try serializer.writeHead(HTTPResponse(status: .init(code: 42)), into: &out)
        }
        #expect(out.isEmpty)
    }

    @Test func decimalAndHexWriters() throws {
        var serializer = HTTP1Serializer(role: .server)
        var out: [UInt8] = []
        try serializer.writeResponseHead(status: 599, reason: "", fields: [("Transfer-Encoding", "chunked")], into: &out)
        out = []
        let zeros = [UInt8](repeating: 0, count: 0x1000)
        try serializer.writeBody(zeros.span, into: &out)
        #expect(text(Array(out.prefix(6))) == "1000\r\n")
        out = []
        try serializer.writeBody([0].span, into: &out)
        #expect(out == [0x31, 0x0D, 0x0A, 0, 0x0D, 0x0A])
    }
}
