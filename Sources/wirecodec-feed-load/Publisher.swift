import HTTPTypes
import NIOCore
import NIOPosix
import WireCodec
import WireCodecNIO

/// One answer read by ``PublisherHandler``.
struct HTTPAnswer: Sendable {
    var status: Int
    /// Its `Feed-Cursor` field.
    var feedCursor: Int?
    var body: [UInt8]

    var text: String { String(decoding: body, as: UTF8.self) }
}

/// Requests on one keep-alive connection, answered in order: publishing with
/// `POST /publish` (not counted: it stands for the application's own back end), and the
/// few reads the cluster mode makes (`GET /stats`, `GET /poll`).
final class PublisherHandler: ChannelInboundHandler {
    typealias InboundIn = HTTP1Event
    typealias OutboundOut = HTTP1OutboundEvent

    private let authority: String
    private var waiting: [EventLoopPromise<HTTPAnswer>] = []
    private var answer = HTTPAnswer(status: 0, feedCursor: nil, body: [])
    private var context: ChannelHandlerContext?

    init(authority: String) {
        self.authority = authority
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    /// Sends one item; the future gives the status of the answer.
    func publish(_ data: String) -> EventLoopFuture<Int> {
        exchange(.post, "/publish", body: Array(data.utf8)).map(\.status)
    }

    /// Sends a request; the future gives its answer (fails if the connection closes first).
    func exchange(_ method: HTTPRequest.Method, _ path: String, body: [UInt8]? = nil) -> EventLoopFuture<HTTPAnswer> {
        let context = context!
        let promise = context.eventLoop.makePromise(of: HTTPAnswer.self)
        guard context.channel.isActive else {
            promise.fail(LoadError("the connection to \(authority) is closed"))
            return promise.futureResult
        }
        waiting.append(promise)
        var fields = HTTPFields()
        if let body {
            fields[.contentType] = "application/json"
            fields[.contentLength] = String(body.count)
        }
        context.write(wrapOutboundOut(.request(HTTPRequest(method: method, scheme: nil, authority: authority, path: path, headerFields: fields))), promise: nil)
        if let body { context.write(wrapOutboundOut(.body(body)), promise: nil) }
        context.writeAndFlush(wrapOutboundOut(.end(trailers: nil)), promise: nil)
        return promise.futureResult
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .response(let head):
            answer = HTTPAnswer(status: head.status, feedCursor: head.fields.firstValue(named: "feed-cursor").flatMap { Int($0) }, body: [])
        case .body(let bytes): answer.body += bytes
        case .end: if !waiting.isEmpty { waiting.removeFirst().succeed(answer) }
        default: break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        for promise in waiting { promise.fail(LoadError("the connection to \(authority) closed")) }
        waiting = []
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// Requests to a set of targets that survive an instance going away or the log being
/// unreachable: a request that fails (connection refused or closed, a 5xx answer) is sent
/// again, to the next target, after a pause (200 ms doubling to 2 s), until it gets an answer
/// below 500 or the deadline passes. Lives on its event loop (`@unchecked Sendable`: handed to
/// other threads only to be used back there).
final class ResilientRequester: @unchecked Sendable {
    let loop: any EventLoop
    private let targets: [Target]
    private var targetIndex: Int
    private var connection: (channel: any Channel, handler: PublisherHandler)?
    /// Requests sent again.
    private(set) var retries = 0

    init(loop: any EventLoop, targets: [Target], first: Int) {
        self.loop = loop
        self.targets = targets
        self.targetIndex = first % targets.count
    }

    /// The target's answer (status < 500), or a failure at `deadline`.
    func send(_ method: HTTPRequest.Method, _ path: String, body: [UInt8]? = nil, deadline: NIODeadline) -> EventLoopFuture<HTTPAnswer> {
        attempt(method, path, body: body, deadline: deadline, pause: .milliseconds(200))
    }

    private func attempt(
        _ method: HTTPRequest.Method, _ path: String, body: [UInt8]?, deadline: NIODeadline, pause: TimeAmount
    ) -> EventLoopFuture<HTTPAnswer> {
        open().flatMap { [self] () -> EventLoopFuture<HTTPAnswer> in
            guard let connection else { return loop.makeFailedFuture(LoadError("no connection")) }
            return connection.handler.exchange(method, path, body: body)
        }.flatMapThrowing { answer -> HTTPAnswer in
            guard answer.status < 500 else { throw LoadError("\(method) \(path): \(answer.status) \(answer.text)") }
            return answer
        }.flatMapError { [self] error in
            connection?.channel.close(promise: nil)
            connection = nil
            guard NIODeadline.now() + pause < deadline else { return loop.makeFailedFuture(error) }
            retries += 1
            targetIndex = (targetIndex + 1) % targets.count
            return loop.scheduleTask(in: pause) {}.futureResult.flatMap { [self] in
                attempt(method, path, body: body, deadline: deadline, pause: min(pause * 2, .seconds(2)))
            }
        }
    }

    private func open() -> EventLoopFuture<Void> {
        if let connection, connection.channel.isActive { return loop.makeSucceededVoidFuture() }
        let target = targets[targetIndex]
        return ClientBootstrap(group: loop)
            .connectTimeout(.seconds(2))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([HTTP1Handler(role: .client), PublisherHandler(authority: target.authority)])
                }
            }
            .connect(host: target.host, port: target.port)
            .flatMapThrowing { [self] channel in
                let handler = try channel.pipeline.syncOperations.handler(type: PublisherHandler.self)
                connection = (channel, handler)
            }
    }

    func close() {
        connection?.channel.close(promise: nil)
        connection = nil
    }
}
