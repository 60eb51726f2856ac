import HTTPTypes
import Testing
import WireHTTP1

@Suite struct ParserBasicTests {
    @Test func simpleGet() {
        let events = summary("GET /index.html HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n")
        #expect(events == ["head GET /index.html HTTP/1.1", "end"])
    }

    @Test func getHeadIsReadable() throws {
        let head = try #require(requestHead("GET /a?b=c HTTP/1.1\r\nHost: example.com:8080\r\nX-Thing:  v a l  \r\n\r\n"))
        #expect(head.method == "GET")
        #expect(head.target == "/a?b=c")
        #expect(head.version == .http1_1)
        #expect(head.targetForm == .origin)
        #expect(head.framing == .none)
        #expect(head.fields.count == 2)
        #expect(head.fields.name(at: 1) == "X-Thing")
        #expect(head.fields.value(at: 1) == "v a l")
        #expect(head.fields.firstValue(named: "host") == "example.com:8080")
        #expect(head.keepAlive)
        let targetBytes = head.withTarget { span in span.indices.map { span[$0] } }
        #expect(targetBytes == Array("/a?b=c".utf8))
    }

    @Test func postWithContentLength() {
        let events = summary("POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world")
        #expect(events == ["head POST /upload HTTP/1.1", "body hello world", "end"])
    }

    @Test func chunkedRequest() {
        let events = summary(
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        #expect(events == ["head POST / HTTP/1.1", "body hello world", "end"])
    }

    @Test func simpleResponse() {
        let events = summary("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", kind: .response)
        #expect(events == ["head HTTP/1.1 200 OK", "body hi", "end"])
    }

    @Test func responseUntilClose() {
        let events = summary("HTTP/1.1 200 OK\r\n\r\nsome bytes", kind: .response)
        #expect(events == ["head HTTP/1.1 200 OK", "body some bytes", "end"])
    }

    @Test func incompleteIsAnError() {
        #expect(errorName("GET / HTTP/1.1\r\nHost: h\r\n") == "unexpected-eof")
    }

    @Test func pipelined() {
        let events = summary("GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(events == ["head GET /1 HTTP/1.1", "end", "head GET /2 HTTP/1.1", "end"])
    }
}
