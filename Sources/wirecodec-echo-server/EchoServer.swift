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
    static func make(
        configuration: WireServer.Configuration, logRequests: Bool = false,
        onListening: @escaping @Sendable (SocketAddress) async -> Void
    ) -> WireServer {
        WireServer(configuration: configuration, onListening: onListening) { request, response in
            if logRequests {
                log(["event": "request", "http": request.httpVersion.rawValue, "method": request.head.method.rawValue,
                     "path": request.head.path ?? "", "remote": "\(request.remoteAddress.map { "\($0)" } ?? "")"])
            }
            try await respond(to: request, with: response)
        } webSocket: { upgrade in
            let fields: [String: String] = [
                "http": upgrade.httpVersion.rawValue, "method": upgrade.request.method.rawValue,
                "protocol": upgrade.request.extendedConnectProtocol ?? "", "path": upgrade.request.path ?? "",
                "remote": "\(upgrade.remoteAddress.map { "\($0)" } ?? "")",
            ]
            if logRequests { log(fields.merging(["event": "websocket"]) { $1 }) }
            return .accept { webSocket in
                for try await message in webSocket.inbound {
                    try await webSocket.outbound.send(message)
                }
                if logRequests, let closure = webSocket.closure {
                    log(fields.merging([
                        "event": "websocket-closed", "code": String(closure.code.rawValue), "reason": closure.reason,
                        "deflate": webSocket.negotiation.deflate.map { "\($0)" } ?? "off",
                    ]) { $1 })
                }
            }
        }
    }

    /// One JSON object on a line of standard output (`--log-requests`).
    static func log(_ fields: [String: String]) {
        let body = fields.sorted { $0.key < $1.key }.map { "\(jsonString($0.key)): \(jsonString($0.value))" }
        say("{" + body.joined(separator: ", ") + "}")
    }

    static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
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
