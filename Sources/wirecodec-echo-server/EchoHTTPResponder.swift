import HTTPTypes
import NIOCore
import WireCodec
import WireCodecNIO

/// The echo server's HTTP/1.1 side, one instance per connection, after an ``HTTP1Handler``:
///
/// - `GET /` (or `HEAD /`): the browser test page;
/// - `POST /echo` (any method with a body): the request body streamed back as it arrives,
///   chunked (answering `Expect: 100-continue` first);
/// - `GET /chunked?n=K`: K small chunks, to show a chunked response;
/// - anything else: 404.
///
/// Requests are answered in order, so pipelined requests work: the ``HTTP1Handler`` holds the
/// next one back until this answer ends.
final class EchoHTTPResponder: ChannelInboundHandler {
    typealias InboundIn = HTTP1Event
    typealias OutboundOut = HTTP1OutboundEvent

    private enum Route {
        case page(head: Bool)
        case echo
        case chunked(count: Int)
        case notFound(head: Bool)
    }

    private var route: Route?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .request(let head):
            let route = Self.route(method: head.method, target: head.target, hasBody: head.framing != .none)
            self.route = route
            if head.expectsContinue {
                write(context, .response(HTTPResponse(status: .continue)))
            }
            if case .echo = route {
                var fields = HTTPFields()
                fields[.contentType] = head.fields.firstValue(named: "content-type") ?? "application/octet-stream"
                write(context, .response(HTTPResponse(status: .ok, headerFields: fields)))
                context.flush()
            }
        case .body(let bytes):
            if case .echo = route {
                write(context, .body(bytes))
                context.flush()
            }
        case .end:
            guard let route else { return }
            self.route = nil
            respond(context, route)
            context.flush()
        case .informationalResponse, .response, .connectionClosed:
            break
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // HTTP1Handler answered a malformed request already and closes the channel.
        context.fireErrorCaught(error)
    }

    private static func route(method: String, target: String, hasBody: Bool) -> Route {
        let path = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? target
        switch (method, path) {
        case ("GET", "/"), ("GET", "/index.html"): return .page(head: false)
        case ("HEAD", "/"), ("HEAD", "/index.html"): return .page(head: true)
        case (_, "/echo") where method != "GET" && method != "HEAD": return .echo
        case ("GET", "/chunked"):
            let query = target.split(separator: "?", maxSplits: 1).dropFirst().first ?? ""
            let count = query.split(separator: "&").compactMap { item -> Int? in
                let pair = item.split(separator: "=", maxSplits: 1)
                return pair.count == 2 && pair[0] == "n" ? Int(pair[1]) : nil
            }.first ?? 3
            return .chunked(count: max(0, min(count, 1000)))
        default:
            return .notFound(head: method == "HEAD")
        }
    }

    private func respond(_ context: ChannelHandlerContext, _ route: Route) {
        switch route {
        case .page(let head):
            let body = Array(BrowserTestPage.html.utf8)
            var fields = HTTPFields()
            fields[.contentType] = "text/html; charset=utf-8"
            fields[.contentLength] = String(body.count)
            fields[.cacheControl] = "no-store"
            write(context, .response(HTTPResponse(status: .ok, headerFields: fields)))
            if !head { write(context, .body(body)) }
            write(context, .end(trailers: nil))
        case .echo:
            write(context, .end(trailers: nil))
        case .chunked(let count):
            var fields = HTTPFields()
            fields[.contentType] = "text/plain; charset=utf-8"
            write(context, .response(HTTPResponse(status: .ok, headerFields: fields)))
            for i in 0..<count { write(context, .body(Array("chunk \(i)\n".utf8))) }
            write(context, .end(trailers: nil))
        case .notFound(let head):
            let body = Array("not found\n".utf8)
            var fields = HTTPFields()
            fields[.contentType] = "text/plain; charset=utf-8"
            fields[.contentLength] = String(body.count)
            write(context, .response(HTTPResponse(status: .notFound, headerFields: fields)))
            if !head { write(context, .body(body)) }
            write(context, .end(trailers: nil))
        }
    }

    private func write(_ context: ChannelHandlerContext, _ event: HTTP1OutboundEvent) {
        context.write(wrapOutboundOut(event), promise: nil)
    }
}
