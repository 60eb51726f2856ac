import HTTPTypes
import Testing
import WireHTTP1

/// Every limit of `HTTP1Limits`: just under passes, just over fails with the right code,
/// status hint and offset, whatever the chunking.
@Suite struct ParserLimitTests {
    @Test func defaultsAreSafe() {
        let limits = HTTP1Limits()
        #expect(limits.maxStartLineLength == 8192)
        #expect(limits.maxTargetLength == 8192)
        #expect(limits.maxHeaderSectionBytes == 80 * 1024)
        #expect(limits.maxFieldCount == 256)
        #expect(limits.maxChunkExtensionBytes == 4096)
        #expect(limits.maxTrailerSectionBytes == 16 * 1024)
        #expect(HTTP1ParserConfiguration() == HTTP1ParserConfiguration(limits: limits, allowBareLF: false, obsFold: .byRole))
    }

    @Test func requestLineLength() throws {
        // "GET /xxxx HTTP/1.1" is 18 bytes when the target is 5 bytes.
        let config = HTTP1ParserConfiguration.limited { $0.maxStartLineLength = 18 }
        #expect(summary("GET /xxxx HTTP/1.1\r\nHost: h\r\n\r\n", configuration: config).count == 2)
        let error = try #require(parseError(Array("GET /xxxxx HTTP/1.1\r\nHost: h\r\n\r\n".utf8), configuration: config))
        #expect(error.code == .startLineTooLong)
        #expect(error.statusHint == 414)
        #expect(error.offset == 20)
    }

    @Test func targetLength() throws {
        let config = HTTP1ParserConfiguration.limited { $0.maxTargetLength = 4 }
        #expect(summary("GET /abc HTTP/1.1\r\nHost: h\r\n\r\n", configuration: config).count == 2)
        let error = try #require(parseError(Array("GET /abcd HTTP/1.1\r\nHost: h\r\n\r\n".utf8), configuration: config))
        #expect(error.code == .targetTooLong)
        #expect(error.statusHint == 414)
        #expect(error.offset == 8)
    }

    @Test func headerSectionBytes() throws {
        let head = "GET / HTTP/1.1\r\nHost: h\r\nX: 12345\r\n\r\n"
        let fits = HTTP1ParserConfiguration.limited { $0.maxHeaderSectionBytes = head.utf8.count }
        #expect(summary(head, configuration: fits).count == 2)
        let tight = HTTP1ParserConfiguration.limited { $0.maxHeaderSectionBytes = head.utf8.count - 1 }
        let error = try #require(parseError(Array(head.utf8), configuration: tight))
        #expect(error.code == .headerTooLarge)
        #expect(error.statusHint == 431)
        #expect(error.offset == head.utf8.count - 1)
    }

    @Test func headerSectionLimitBoundsAnEndlessField() throws {
        // A field that never ends fails as soon as the limit is passed, not at EOF.
        let config = HTTP1ParserConfiguration.limited { $0.maxHeaderSectionBytes = 100 }
        let bytes = Array(("GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 500)).utf8)
        let events = parseAllSplits(bytes, configuration: config, finish: false)
        #expect(events.map(\.description) == ["error header-too-large@100"])
    }

    @Test func endlessStartLineFailsEarly() {
        let config = HTTP1ParserConfiguration.limited { $0.maxStartLineLength = 50 }
        let bytes = Array(("GET /" + String(repeating: "a", count: 200)).utf8)
        #expect(parseAllSplits(bytes, configuration: config, finish: false).map(\.description) == ["error start-line-too-long@52"])
    }

    @Test func fieldCount() throws {
        let config = HTTP1ParserConfiguration.limited { $0.maxFieldCount = 3 }
        #expect(summary("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n", configuration: config).count == 2)
        let error = try #require(parseError(Array("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n".utf8), configuration: config))
        #expect(error.code == .tooManyHeaders)
        #expect(error.statusHint == 431)
    }

    @Test func contentLengthAboveTheBodyLimitFailsAtTheHead() throws {
        let config = HTTP1ParserConfiguration.limited { $0.maxBodyBytes = 10 }
        #expect(summary("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789", configuration: config).count == 3)
        let events = parseAllSplits(
            Array("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n".utf8), configuration: config, finish: false)
        #expect(events.map(\.description) == ["error body-too-large@26"])
        let error = try #require(parseError(Array("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n".utf8), configuration: config))
        #expect(error.statusHint == 413)
    }

    @Test func chunkedBodyLimitCountsEveryChunk() {
        let config = HTTP1ParserConfiguration.limited { $0.maxBodyBytes = 10 }
        let head = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        #expect(summary(head + "5\r\n01234\r\n5\r\n56789\r\n0\r\n\r\n", configuration: config).count == 3)
        #expect(errorName(head + "5\r\n01234\r\n6\r\n567890\r\n0\r\n\r\n", configuration: config) == "body-too-large")
    }

    @Test func untilCloseBodyLimit() {
        let config = HTTP1ParserConfiguration.limited { $0.maxBodyBytes = 10 }
        #expect(summary("HTTP/1.1 200 OK\r\n\r\n0123456789", kind: .response, configuration: config).count == 3)
        let events = parseAllSplits(Array("HTTP/1.1 200 OK\r\n\r\n0123456789A".utf8), kind: .response, configuration: config)
        #expect(events.last?.description == "error body-too-large@29")
    }

    @Test func chunkExtensionBytes() {
        let config = HTTP1ParserConfiguration.limited { $0.maxChunkExtensionBytes = 8 }
        let head = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        #expect(summary(head + "1;abc=def\r\nx\r\n0\r\n\r\n", configuration: config).count == 4)
        #expect(errorName(head + "1;abc=defg\r\nx\r\n0\r\n\r\n", configuration: config) == "chunk-extension-too-large")
        // A chunk-size line that never ends fails once it is longer than the limit allows.
        let endless = parseAllSplits(Array((head + "1;" + String(repeating: "a", count: 100)).utf8), configuration: config, finish: false)
        #expect(endless.last?.description == "error chunk-extension-too-large@\(head.utf8.count + 26)")
    }

    @Test func trailerSectionBytes() {
        let config = HTTP1ParserConfiguration.limited { $0.maxTrailerSectionBytes = 10 }
        let head = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"
        #expect(summary(head + "A: 123\r\n\r\n", configuration: config) == ["head POST / HTTP/1.1", "end A=123"])
        #expect(errorName(head + "A: 1234\r\n\r\n", configuration: config) == "trailer-too-large")
    }

    @Test func trailerFieldCount() {
        let config = HTTP1ParserConfiguration.limited { $0.maxFieldCount = 2 }
        let head = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"
        #expect(summary(head + "A: 1\r\nB: 2\r\n\r\n", configuration: config).count == 2)
        #expect(errorName(head + "A: 1\r\nB: 2\r\nC: 3\r\n\r\n", configuration: config) == "too-many-headers")
    }

    @Test func everyCodeHasAStableNameAndHint() {
        let names = HTTP1ParseError.Code.allCases.map(\.name)
        #expect(Set(names).count == names.count)
        for name in names {
            #expect(name.allSatisfy { $0 == "-" || $0.isLowercase || $0.isNumber }, "\(name)")
        }
        for code in HTTP1ParseError.Code.allCases {
            #expect([400, 413, 414, 431, 501, 505].contains(code.statusHint))
        }
        #expect(HTTP1ParseError(.bareLF, offset: 3).description == "HTTP1ParseError(bare-lf at offset 3)")
    }
}
