import HTTPTypes
import Testing
import WireHTTP1

/// Request lines, request-target forms, versions, Host (RFC 9112 §2.2, §2.3, §3).
@Suite struct ParserRequestLineTests {
    struct FormCase: Sendable, CustomTestStringConvertible {
        var line: String
        var form: HTTP1RequestTargetForm?
        var error: String?
        var testDescription: String { line }
    }

    @Test(arguments: [
        FormCase(line: "GET /path?q=1 HTTP/1.1", form: .origin),
        FormCase(line: "GET http://example.com/x HTTP/1.1", form: .absolute),
        FormCase(line: "GET https://example.com HTTP/1.1", form: .absolute),
        FormCase(line: "OPTIONS * HTTP/1.1", form: .asterisk),
        FormCase(line: "OPTIONS /x HTTP/1.1", form: .origin),
        FormCase(line: "CONNECT example.com:443 HTTP/1.1", form: .authority),
        FormCase(line: "CONNECT [::1]:8443 HTTP/1.1", form: .authority),
        FormCase(line: "GET * HTTP/1.1", error: "invalid-target-form"),
        FormCase(line: "CONNECT /x HTTP/1.1", error: "invalid-target-form"),
        FormCase(line: "CONNECT example.com HTTP/1.1", error: "invalid-target-form"),
        FormCase(line: "CONNECT example.com: HTTP/1.1", error: "invalid-target-form"),
        FormCase(line: "CONNECT http://example.com:80/ HTTP/1.1", error: "invalid-target-form"),
        FormCase(line: "GET example HTTP/1.1", error: "invalid-target-form"),
        FormCase(line: "GET 1http://x/ HTTP/1.1", error: "invalid-target-form"),
        FormCase(line: "OPTIONS *x HTTP/1.1", error: "invalid-target-form"),
    ])
    func targetForms(_ c: FormCase) {
        let text = c.line + "\r\nHost: example.com\r\n\r\n"
        if let expected = c.form {
            #expect(requestHead(text)?.targetForm == expected)
        } else {
            #expect(errorName(text) == c.error)
        }
    }

    @Test(arguments: [
        ("GET / HTTP/1.0", "head GET / HTTP/1.0"),
        ("GET / HTTP/1.1", "head GET / HTTP/1.1"),
    ])
    func versions(_ line: String, _ expected: String) {
        #expect(summary(line + "\r\nHost: h\r\n\r\n").first == expected)
    }

    @Test(arguments: [
        ("GET / HTTP/2.0", "unsupported-version"),
        ("GET / HTTP/1.2", "unsupported-version"),
        ("GET / HTTP/0.9", "unsupported-version"),
        ("GET / HTTP/3.1", "unsupported-version"),
        ("GET / http/1.1", "invalid-version"),
        ("GET / HTTP/1.1 ", "invalid-version"),
        ("GET / HTTP/1", "invalid-version"),
        ("GET / HTTP/1.10", "invalid-version"),
        ("GET / HTTP/a.1", "invalid-version"),
        ("GET / HTTP/1,1", "invalid-version"),
        ("GET /", "invalid-request-line"),
        ("GET", "invalid-request-line"),
        ("GET  / HTTP/1.1", "invalid-request-line"),
        ("GET /  HTTP/1.1", "invalid-version"),
        (" GET / HTTP/1.1", "invalid-request-line"),
        ("G(T / HTTP/1.1", "invalid-method"),
        ("GE\tT / HTTP/1.1", "invalid-method"),
        ("GET\t/ HTTP/1.1", "invalid-method"),
        ("GET /a\"b HTTP/1.1", nil),
        ("GET /a\u{7F}b HTTP/1.1", "invalid-target"),
        ("GET /a\tb HTTP/1.1", "invalid-target"),
        ("GET /a\u{0}b HTTP/1.1", "invalid-target"),
        ("GET /a\rb HTTP/1.1", "bare-cr"),
        ("GET / HTTP/1.1\r", "bare-cr"),
    ] as [(String, String?)])
    func malformedRequestLines(_ line: String, _ expected: String?) {
        #expect(errorName(line + "\r\nHost: h\r\n\r\n") == expected)
    }

    @Test func versionErrorsHaveTheRightStatusHint() throws {
        let unsupported = try #require(parseError(Array("GET / HTTP/2.0\r\n\r\n".utf8)))
        #expect(unsupported.statusHint == 505)
        #expect(unsupported.offset == 6)
        let invalid = try #require(parseError(Array("GET / HTTQ/1.1\r\n\r\n".utf8)))
        #expect(invalid.statusHint == 400)
    }

    @Test func methodsAreCaseSensitiveTokens() throws {
        // RFC 9110 §9.1: methods are case-sensitive; any token is a method.
        let head = try #require(requestHead("get / HTTP/1.1\r\nHost: h\r\n\r\n"))
        #expect(head.method == "get")
        #expect(!head.isHEAD)
        let custom = try #require(requestHead("M-SEARCH / HTTP/1.1\r\nHost: h\r\n\r\n"))
        #expect(custom.method == "M-SEARCH")
        // "connect" in lower case is not CONNECT, so origin-form is fine.
        #expect(requestHead("connect /x HTTP/1.1\r\nHost: h\r\n\r\n")?.targetForm == .origin)
    }

    @Test func targetKeepsEveryVisibleCharacter() throws {
        // Browsers send `|`, `^`, `{`, `}` unencoded in queries; any VCHAR is accepted.
        let head = try #require(requestHead("GET /a|b^c{d}e`f\\g?x=[1] HTTP/1.1\r\nHost: h\r\n\r\n"))
        #expect(head.target == "/a|b^c{d}e`f\\g?x=[1]")
    }

    // MARK: Leading empty lines (RFC 9112 §2.2)

    @Test func leadingEmptyLinesAreIgnored() {
        #expect(summary("\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n") == ["head GET / HTTP/1.1", "end"])
        #expect(summary("\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n") == ["head GET / HTTP/1.1", "end"])
    }

    @Test func emptyLineBetweenPipelinedRequestsIsIgnored() {
        #expect(
            summary("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nx\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n")
                == ["head POST / HTTP/1.1", "body x", "end", "head GET /2 HTTP/1.1", "end"])
    }

    @Test func leadingBareLFNeedsTheLeniency() {
        #expect(errorName("\nGET / HTTP/1.1\r\nHost: h\r\n\r\n") == "bare-lf")
        #expect(summary("\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", configuration: .lenientLF) == ["head GET / HTTP/1.1", "end"])
    }

    @Test func onlyEmptyLinesThenEOFIsClean() {
        #expect(summary("\r\n\r\n") == [])
    }

    @Test func leadingEmptyLinesCountTowardTheStartLineLimit() {
        let config = HTTP1ParserConfiguration.limited { $0.maxStartLineLength = 20 }
        #expect(errorName(String(repeating: "\r\n", count: 11) + "GET / HTTP/1.1\r\nHost: h\r\n\r\n", configuration: config) == "start-line-too-long")
        #expect(summary("\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", configuration: config) == ["head GET / HTTP/1.1", "end"])
    }

    // MARK: Host (RFC 9112 §3.2)

    @Test(arguments: [
        ("Host: example.com", nil),
        ("Host: example.com:8080", nil),
        ("Host: 192.0.2.1:80", nil),
        ("Host: [2001:db8::1]:443", nil),
        ("Host: [::1]", nil),
        ("Host: ex%41mple.com", nil),
        ("Host:", nil),
        ("Host: example.com:", nil),
        ("host: EXAMPLE.com", nil),
        ("Host: exa mple.com", "invalid-host"),
        ("Host: example.com/path", "invalid-host"),
        ("Host: user@example.com", "invalid-host"),
        ("Host: example.com:80a", "invalid-host"),
        ("Host: [::1", "invalid-host"),
        ("Host: :80", "invalid-host"),
        ("Host: ex%4", "invalid-host"),
        ("Host: a\u{80}b", "invalid-host"),
        ("Host: h\r\nHost: h", "multiple-host"),
        ("Host: a\r\nX: y\r\nhost: b", "multiple-host"),
        ("X: y", "missing-host"),
    ] as [(String, String?)])
    func hostRules(_ fields: String, _ expected: String?) {
        #expect(errorName("GET / HTTP/1.1\r\n\(fields)\r\n\r\n") == expected)
    }

    @Test func http10NeedsNoHostButStillAtMostOne() {
        #expect(summary("GET / HTTP/1.0\r\n\r\n") == ["head GET / HTTP/1.0", "end"])
        #expect(errorName("GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n") == "multiple-host")
    }

    @Test func absoluteFormStillNeedsHostIn11() {
        #expect(errorName("GET http://example.com/ HTTP/1.1\r\n\r\n") == "missing-host")
    }

    @Test func errorOffsetsAreAbsolute() throws {
        // Offsets count from the parser's first byte, across messages.
        let first = "GET / HTTP/1.1\r\nHost: h\r\n\r\n"
        let error = try #require(parseError(Array((first + "GET / HTTP/1.1\r\nHost: h\r\nBad : v\r\n\r\n").utf8)))
        #expect(error.code == .whitespaceBeforeColon)
        #expect(error.offset == first.utf8.count + 16 + 9 + 3)
    }
}

