import HTTPTypes
import Testing
import WireHTTP1

/// Field lines (RFC 9112 §5, RFC 9110 §5) and line endings (RFC 9112 §2.2).
@Suite struct ParserFieldTests {
    static func request(_ fields: String) -> String { "GET / HTTP/1.1\r\nHost: h\r\n\(fields)\r\n\r\n" }

    @Test(arguments: [
        ("Name : v", "whitespace-before-colon"),
        ("Name\t: v", "whitespace-before-colon"),
        ("Na me: v", "invalid-field-name"),
        ("Na(me: v", "invalid-field-name"),
        ("Na\"me: v", "invalid-field-name"),
        ("Näme: v", "invalid-field-name"),
        (": v", "invalid-field-name"),
        ("NoColon", "missing-colon"),
        ("Na\rme: v", "bare-cr"),
        ("N: a\u{0}b", "invalid-field-value"),
        ("N: a\u{1}b", "invalid-field-value"),
        ("N: a\u{1F}b", "invalid-field-value"),
        ("N: a\u{7F}b", "invalid-field-value"),
        ("N: a\u{0B}b", "invalid-field-value"),
        ("N: a\rb", "bare-cr"),
        ("N: a\r", "bare-cr"),
        ("N: a\tb", nil),
        ("N: \u{E9}t\u{E9}", nil),
        ("N:", nil),
        ("N:   ", nil),
        ("!#$%&'*+-.^_`|~09aZ: v", nil),
    ] as [(String, String?)])
    func fieldSyntax(_ line: String, _ expected: String?) {
        #expect(errorName(Self.request(line)) == expected)
    }

    @Test func valuesAreTrimmedOfOptionalWhitespace() throws {
        let head = try #require(requestHead(Self.request("A: \t x y \t \r\nB:z\r\nC: \r\nD:\t")))
        #expect(head.fields.value(at: 1) == "x y")
        #expect(head.fields.value(at: 2) == "z")
        #expect(head.fields.value(at: 3) == "")
        #expect(head.fields.value(at: 4) == "")
    }

    @Test func obsTextIsKeptByteForByte() throws {
        let bytes = Array("GET / HTTP/1.1\r\nHost: h\r\nX: ".utf8) + [0xE9, 0xFF, 0x80] + Array("\r\n\r\n".utf8)
        var head: HTTP1RequestHead?
        for case .request(let h) in parseAllSplits(bytes) { head = h }
        let fields = try #require(head).fields
        #expect(fields.valueBytes(at: 1) == [0xE9, 0xFF, 0x80])
        #expect(fields.value(at: 1) == "\u{E9}\u{FF}\u{80}")
    }

    // MARK: Line endings

    @Test func bareLFIsRejectedByDefault() throws {
        let text = "GET / HTTP/1.1\nHost: h\r\n\r\n"
        #expect(errorName(text) == "bare-lf")
        let error = try #require(parseError(Array(text.utf8)))
        #expect(error.offset == 14)
        #expect(errorName("GET / HTTP/1.1\r\nHost: h\n\r\n") == "bare-lf")
        #expect(errorName("GET / HTTP/1.1\r\nHost: h\r\n\n") == "bare-lf")
    }

    @Test func bareLFIsAcceptedWhenAllowed() throws {
        let events = summary("GET / HTTP/1.1\nHost: h\nX: y\n\n", configuration: .lenientLF)
        #expect(events == ["head GET / HTTP/1.1", "end"])
        let head = try #require(requestHead("GET / HTTP/1.1\nHost: h\nX: y \n\n", configuration: .lenientLF))
        #expect(head.fields.value(at: 1) == "y")
    }

    @Test func bareCRIsRejectedEvenWhenBareLFIsAllowed() {
        #expect(errorName("GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n", configuration: .lenientLF) == "bare-cr")
        #expect(errorName("GET / HTTP/1.1\r\nHost: h\r\n\r\r\n", configuration: .lenientLF) == "bare-cr")
    }

    // MARK: obs-fold (RFC 9112 §5.2)

    @Test func obsFoldIsRejectedByDefault() throws {
        let text = Self.request("X: a\r\n  b")
        #expect(errorName(text) == "obs-fold")
        #expect(errorName(Self.request("X: a\r\n\tb")) == "obs-fold")
        let error = try #require(parseError(Array(text.utf8)))
        #expect(error.offset == "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n".utf8.count)
    }

    @Test func obsFoldIsReplacedWithSpacesWhenAllowed() throws {
        let head = try #require(requestHead(Self.request("X: a \r\n  b\r\n\tc\r\nY: z"), configuration: .unfolding))
        #expect(head.fields.count == 3)
        #expect(head.fields.value(at: 1) == "a     b   c")
        #expect(head.fields.value(at: 2) == "z")
        let empty = try #require(requestHead(Self.request("X:\r\n b"), configuration: .unfolding))
        #expect(empty.fields.value(at: 1) == "b")
        let blank = try #require(requestHead(Self.request("X: a\r\n \t "), configuration: .unfolding))
        #expect(blank.fields.value(at: 1) == "a")
    }

    @Test func foldedValuesAreStillValidated() {
        #expect(errorName(Self.request("X: a\r\n b\u{1}"), configuration: .unfolding) == "invalid-field-value")
    }

    @Test func foldedFramingFieldsAreUnderstood() {
        // The unfolded value is what the framing rules see.
        let text = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n 3\r\n\r\nabc"
        #expect(summary(text, configuration: .unfolding) == ["head POST / HTTP/1.1", "body abc", "end"])
    }

    @Test func whitespaceAfterTheStartLineIsRejected() {
        // RFC 9112 §2.2: not a fold, there is nothing to fold into; rejected even when unfolding.
        #expect(errorName("GET / HTTP/1.1\r\n Host: h\r\n\r\n") == "whitespace-after-start-line")
        #expect(errorName("GET / HTTP/1.1\r\n Host: h\r\n\r\n", configuration: .unfolding) == "whitespace-after-start-line")
    }

    // MARK: Lookups

    @Test func lookupsAreCaseInsensitive() throws {
        let head = try #require(
            requestHead(Self.request("Connection: keep-alive, Upgrade\r\nX-A: 1\r\nx-a: 2\r\nAccept: text/html;q=1, */*")))
        let fields = head.fields
        #expect(fields.firstIndex(named: "X-A") == 2)
        #expect(fields.firstValue(named: "X-a") == "1")
        #expect(fields.values(named: "x-A") == ["1", "2"])
        #expect(fields.contains("HOST"))
        #expect(!fields.contains("Hos"))
        #expect(fields.containsToken("upgrade", inField: "connection"))
        #expect(fields.containsToken("KEEP-ALIVE", inField: "Connection"))
        #expect(!fields.containsToken("close", inField: "Connection"))
        #expect(fields.containsToken("text/html", inField: "accept"))
        #expect(fields.containsToken("*/*", inField: "accept"))
        #expect(!fields.containsToken("q=1", inField: "accept"))
        let lent = fields.withFirstValue(named: "x-a") { span in span.count }
        #expect(lent == 1)
        #expect(fields.withFirstValue(named: "absent") { $0.count } == nil)
        var names: [String] = []
        for i in 0..<fields.count {
            fields.withField(at: i) { name, value in names.append("\(name.count):\(value.count)") }
        }
        #expect(names == ["4:1", "10:19", "3:1", "3:1", "6:18"])
    }

    @Test func headsHaveValueSemanticsAndCompareByContent() throws {
        let a = try #require(requestHead(Self.request("X: 1")))
        let b = try #require(requestHead(Self.request("X: 1")))
        let c = try #require(requestHead(Self.request("X: 2")))
        #expect(a == b)
        #expect(a.hashValue == b.hashValue)
        #expect(a != c)
        #expect(a.fields == b.fields)
        #expect(HTTP1FieldBlock().isEmpty)
    }

    @Test func earlierHeadsStayValidWhileTheParserGoesOn() throws {
        // The parser reuses its storage only when nobody holds the previous head.
        var parser = HTTP1Parser(parsing: .request)
        let bytes = Array("GET /first HTTP/1.1\r\nHost: a\r\n\r\nGET /second HTTP/1.1\r\nHost: b\r\n\r\n".utf8)
        var heads: [HTTP1RequestHead] = []
        var rest = bytes[...]
        while true {
            let step = try rest.withUnsafeBufferPointer { try parser.parse($0.span) }
            rest = rest.dropFirst(step.consumed)
            guard let event = step.event else { break }
            if case .requestHead(let h) = event { heads.append(h) }
        }
        #expect(heads.map(\.target) == ["/first", "/second"])
        #expect(heads.map { $0.fields.firstValue(named: "host") } == ["a", "b"])
    }

    @Test func copiedParsersDoNotShareState() throws {
        var a = HTTP1Parser(parsing: .request)
        let first = Array("GET /x HTTP/1.1\r\nHo".utf8)
        _ = try first.withUnsafeBufferPointer { try a.parse($0.span) }
        var b = a
        let restA = Array("st: a\r\n\r\n".utf8)
        let restB = Array("st: bb\r\n\r\n".utf8)
        let stepA = try restA.withUnsafeBufferPointer { try a.parse($0.span) }
        let stepB = try restB.withUnsafeBufferPointer { try b.parse($0.span) }
        guard case .requestHead(let ha)? = stepA.event, case .requestHead(let hb)? = stepB.event else {
            Issue.record("expected heads")
            return
        }
        #expect(ha.fields.firstValue(named: "host") == "a")
        #expect(hb.fields.firstValue(named: "host") == "bb")
    }
}
