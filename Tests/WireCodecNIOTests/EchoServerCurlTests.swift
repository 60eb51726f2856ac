import Foundation
import Testing

/// `wirecodec-echo-server` against curl (a peer nobody here wrote): keep-alive, pipelining,
/// chunked bodies both ways, `Expect: 100-continue`, HEAD, and a clean exit on SIGTERM.
@Suite(.serialized) struct EchoServerCurlTests {
    static let curl = Paths.which("curl")

    @Test func keepAliveReusesTheConnection() throws {
        guard requirePeer(Self.curl != nil, "curl"), let curl = Self.curl else { return }
        let server = try EchoServerProcess()
        let result = try runProcess(curl, [
            "-s", "-w", "|%{http_code} %{num_connects}\n",
            "\(server.httpURL)/chunked?n=2", "\(server.httpURL)/nope", "\(server.httpURL)/",
        ])
        #expect(result.status == 0)
        let parts = result.text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(result.text.hasPrefix("chunk 0\nchunk 1\n|200 1\nnot found\n|404 0\n"), "\(result.text)")
        #expect(result.text.contains("<title>wirecodec echo: running</title>"))
        #expect(parts.last == "" && result.text.hasSuffix("|200 0\n"), "one connection for three requests")
        #expect(server.stop() == 0)
    }

    /// Three requests in one write (curl's telnet mode sends stdin as it is): the answers come
    /// back in order, the last asks to close, and the server closes after it.
    @Test func pipelinedRequestsAreAnsweredInOrder() throws {
        guard requirePeer(Self.curl != nil, "curl"), let curl = Self.curl else { return }
        let server = try EchoServerProcess()
        let requests = "GET /chunked?n=2 HTTP/1.1\r\nHost: x\r\n\r\n"
            + "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
            + "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        let result = try runProcess(curl, ["-s", "--no-buffer", "telnet://127.0.0.1:\(server.port)"], stdin: Data(requests.utf8), timeout: 20)
        #expect(!result.timedOut, "the server closes after Connection: close")
        let expected = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "8\r\nchunk 0\n\r\n8\r\nchunk 1\n\r\n0\r\n\r\n"
            + "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "5\r\nhello\r\n0\r\n\r\n"
            + "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 10\r\nConnection: close\r\n\r\n"
            + "not found\n"
        #expect(result.text == expected)
        #expect(server.stop() == 0)
    }

    /// A chunked request body (curl sends stdin chunked) comes back chunked, byte for byte.
    @Test func chunkedBodyIsEchoedChunked() throws {
        guard requirePeer(Self.curl != nil, "curl"), let curl = Self.curl else { return }
        let server = try EchoServerProcess()
        var body = Data()
        for i in 0..<200_000 { body.append(UInt8(truncatingIfNeeded: i &* 7 &+ 3)) }
        let result = try runProcess(curl, [
            "-s", "-D", "/dev/stderr", "-H", "Transfer-Encoding: chunked", "-H", "Content-Type: application/x-test",
            "--data-binary", "@-", "\(server.httpURL)/echo",
        ], stdin: body)
        #expect(result.status == 0)
        #expect(result.stdout == body)
        #expect(result.stderr.contains("Transfer-Encoding: chunked\r\n"))
        #expect(result.stderr.contains("Content-Type: application/x-test\r\n"))
        #expect(server.stop() == 0)
    }

    /// A 1 MiB body behind `Expect: 100-continue`: the server says continue, then echoes it.
    @Test func expectContinueBodyIsEchoed() throws {
        guard requirePeer(Self.curl != nil, "curl"), let curl = Self.curl else { return }
        let server = try EchoServerProcess()
        let body = Data((0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 13) })
        let result = try runProcess(curl, [
            "-s", "-v", "-H", "Expect: 100-continue", "--data-binary", "@-", "\(server.httpURL)/echo",
        ], stdin: body)
        #expect(result.status == 0)
        #expect(result.stdout == body)
        #expect(result.stderr.contains("< HTTP/1.1 100 Continue"))
        #expect(server.stop() == 0)
    }

    @Test func headGetsTheHeadOnly() throws {
        guard requirePeer(Self.curl != nil, "curl"), let curl = Self.curl else { return }
        let server = try EchoServerProcess()
        let result = try runProcess(curl, ["-s", "-I", "\(server.httpURL)/"])
        #expect(result.status == 0)
        #expect(result.text.hasPrefix("HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: "))
        #expect(result.text.hasSuffix("\r\n\r\n"))
        #expect(server.stop() == 0)
    }
}
