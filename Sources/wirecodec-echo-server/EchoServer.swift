import HTTPTypes
import NIOCore
import Synchronization
import WireCodec
import WireCodecNIO

/// The echo server's application, on ``WireServer``'s async API:
///
/// - `GET /` (or `HEAD /`): the browser test page;
/// - `POST /echo` (any method with a body): the request body streamed back as it arrives,
///   chunked (answering `Expect: 100-continue` first);
/// - `GET /chunked?n=K[&delay-ms=D]`: K small chunks, D milliseconds apart (a response in
///   flight, for graceful-shutdown tests);
/// - anything else: 404;
/// - a WebSocket upgrade on any path: every message echoed (text as text, binary as binary),
///   until the client closes (its code is echoed) or the server shuts down (1001).
enum EchoServer {
    static func make(configuration: WireServer.Configuration, onListening: @escaping @Sendable (SocketAddress) async -> Void) -> WireServer {
        WireServer(configuration: configuration, onListening: onListening) { request, response in
            try await respond(to: request, with: response)
        } webSocket: { _ in
            .accept { webSocket in
                for try await message in webSocket.inbound {
                    try await webSocket.outbound.send(message)
                }
            }
        }
    }

    static func respond(to request: HTTPServerRequest, with response: HTTPResponseWriter) async throws {
        let method = request.head.method
        switch (method, request.path) {
        case (.get, "/"), (.get, "/index.html"), (.head, "/"), (.head, "/index.html"):
            var fields = HTTPFields()
            fields[.contentType] = "text/html; charset=utf-8"
            fields[.contentLength] = String(BrowserTestPage.html.utf8.count)
            fields[.cacheControl] = "no-store"
            try await response.send(HTTPResponse(status: .ok, headerFields: fields), body: BrowserTestPage.html)
        case (_, "/echo") where method != .get && method != .head:
            // Reading first answers `Expect: 100-continue`; then the body goes back as it comes.
            var body = request.body.makeAsyncIterator()
            let first = try await body.next()
            var fields = HTTPFields()
            fields[.contentType] = request.head.headerFields[.contentType] ?? "application/octet-stream"
            let writer = try await response.start(HTTPResponse(status: .ok, headerFields: fields))
            if let first { try await writer.write(first) }
            while let buffer = try await body.next() { try await writer.write(buffer) }
            try await writer.finish()
        case (.get, "/chunked"):
            let count = max(0, min(request.queryItem("n").flatMap { Int($0) } ?? 3, 1000))
            let delay = max(0, min(request.queryItem("delay-ms").flatMap { Int($0) } ?? 0, 60_000))
            var fields = HTTPFields()
            fields[.contentType] = "text/plain; charset=utf-8"
            let writer = try await response.start(HTTPResponse(status: .ok, headerFields: fields))
            for i in 0..<count {
                if delay > 0 && i > 0 { try await Task.sleep(for: .milliseconds(delay)) }
                try await writer.write("chunk \(i)\n")
            }
            try await writer.finish()
        default:
            var fields = HTTPFields()
            fields[.contentType] = "text/plain; charset=utf-8"
            try await response.send(HTTPResponse(status: .notFound, headerFields: fields), body: "not found\n")
        }
    }
}

/// Numbers the connections for `--capture`.
final class ConnectionCounter: Sendable {
    private let value = Mutex(0)
    func next() -> Int {
        value.withLock {
            $0 += 1
            return $0
        }
    }
}
