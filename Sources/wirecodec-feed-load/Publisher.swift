import HTTPTypes
import NIOCore
import WireCodec
import WireCodecNIO

/// Publishes items with `POST /publish` on one keep-alive connection (not counted: it stands
/// for the application's own back end).
final class PublisherHandler: ChannelInboundHandler {
    typealias InboundIn = HTTP1Event
    typealias OutboundOut = HTTP1OutboundEvent

    private let authority: String
    private var waiting: [EventLoopPromise<Int>] = []
    private var status = 0
    private var context: ChannelHandlerContext?

    init(authority: String) {
        self.authority = authority
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    /// Sends one item; the future gives the status of the answer.
    func publish(_ data: String) -> EventLoopFuture<Int> {
        let context = context!
        let promise = context.eventLoop.makePromise(of: Int.self)
        waiting.append(promise)
        var fields = HTTPFields()
        fields[.contentType] = "application/json"
        fields[.contentLength] = String(data.utf8.count)
        context.write(wrapOutboundOut(.request(HTTPRequest(method: .post, scheme: nil, authority: authority, path: "/publish", headerFields: fields))), promise: nil)
        context.write(wrapOutboundOut(.body(Array(data.utf8))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(trailers: nil)), promise: nil)
        return promise.futureResult
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .response(let head): status = head.status
        case .end: if !waiting.isEmpty { waiting.removeFirst().succeed(status) }
        default: break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        for promise in waiting { promise.fail(LoadError("the publisher's connection closed")) }
        waiting = []
        context.fireChannelInactive()
    }
}
