import HTTPTypes
import Testing
import WireHTTP1

/// Conversion of parsed heads to swift-http-types values.
@Suite struct ParserConversionTests {
    @Test func originFormRequest() throws {
        let head = try #require(requestHead("GET /a?b HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\nX: \u{E9}\r\n\r\n"))
        let request = try head.httpRequest(scheme: "https")
        #expect(request.method == .get)
        #expect(request.scheme == "https")
        #expect(request.authority == "example.com")
        #expect(request.path == "/a?b")
        #expect(request.headerFields[.accept] == "*/*")
        #expect(request.headerFields.count == 2)  // Host became the authority
        let all = try head.httpFields()
        #expect(all.count == 3)
    }

    @Test func absoluteFormTakesTheAuthorityFromTheTarget() throws {
        let head = try #require(requestHead("GET http://proxy.example:8080?x=1 HTTP/1.1\r\nHost: other\r\n\r\n"))
        let request = try head.httpRequest(scheme: "https")
        #expect(request.scheme == "http")
        #expect(request.authority == "proxy.example:8080")
        #expect(request.path == "/?x=1")
    }

    @Test func authorityAndAsteriskForms() throws {
        let connect = try #require(requestHead("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"))
        let tunnel = try connect.httpRequest(scheme: nil)
        #expect(tunnel.method == .connect)
        #expect(tunnel.authority == "example.com:443")
        #expect(tunnel.path == nil)
        #expect(tunnel.scheme == nil)
        let options = try #require(requestHead("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n"))
        #expect(try options.httpRequest(scheme: "http").path == "*")
    }

    @Test func emptyHostMeansNoAuthority() throws {
        let head = try #require(requestHead("GET / HTTP/1.1\r\nHost:\r\n\r\n"))
        #expect(try head.httpRequest(scheme: "http").authority == nil)
    }

    @Test func responseConversionKeepsTheReasonAndBytes() throws {
        let head = try #require(responseHead("HTTP/1.1 418 I'm a teapot\r\nContent-Length: 0\r\nX: a\r\n\r\n"))
        let response = try head.httpResponse()
        #expect(response.status.code == 418)
        #expect(response.status.reasonPhrase == "I'm a teapot")
        #expect(response.headerFields[.contentLength] == "0")
        #expect(try head.httpFields().count == 2)
    }

    @Test func fieldBytesRoundTrip() throws {
        let bytes = Array("HTTP/1.1 200 OK\r\nX: ".utf8) + [0xFF, 0x20, 0x80] + Array("\r\nContent-Length: 0\r\n\r\n".utf8)
        var head: HTTP1ResponseHead?
        for case .response(let h) in parseAllSplits(bytes, kind: .response) { head = h }
        let fields = try #require(head).fields
        let converted = try fields.httpFields()
        let raw = converted.first!.withUnsafeBytesOfValue { Array($0) }
        #expect(raw == [0xFF, 0x20, 0x80])
    }
}
