import ArgumentParser
import NIOCore
import NIOPosix
import Synchronization
import WireCodec
import WireCodecNIO

/// `wirecodec-autobahn-client`: drives Autobahn|Testsuite's fuzzingserver with our client:
/// asks `/getCaseCount`, runs every case through `/runCase?case=I&agent=NAME` echoing each
/// message (text as text, binary as binary), then asks for `/updateReports?agent=NAME`.
/// Every connection offers permessage-deflate and goes through the upgrade path of
/// ``WireCodecNIO``: ``HTTP1Handler`` → ``WebSocketClientUpgrader`` → ``WebSocketHandler``.
@main
struct AutobahnClientCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wirecodec-autobahn-client",
        abstract: "Run Autobahn|Testsuite's fuzzingserver cases with WireCodec's WebSocket client."
    )

    @Option(help: "The fuzzingserver's URL (ws://host:port).")
    var url = "ws://127.0.0.1:9001"

    @Option(help: "The agent name the reports are filed under.")
    var agent = "wirecodec"

    @Flag(help: "Do not offer permessage-deflate.")
    var noDeflate = false

    @Option(help: "Seconds a single case may take before the client gives up on it.")
    var caseTimeout = 300

    func validate() throws {
        guard AutobahnEndpoint(url) != nil else { throw ValidationError("--url must look like ws://host:port") }
    }

    func run() throws {
        let endpoint = AutobahnEndpoint(url)!
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let client = AutobahnClient(group: group, endpoint: endpoint, deflate: !noDeflate, caseTimeout: .seconds(Int64(caseTimeout)))

        let countText = try client.session(path: "/getCaseCount").first ?? ""
        guard let count = Int(countText) else { throw ValidationError("unexpected case count \(countText)") }
        say("wirecodec-autobahn-client: \(count) cases at \(url), agent \(agent)")
        let escaped = agent.addingPercentEncoding()
        var failures = 0
        for index in 1...max(count, 1) where count > 0 {
            do {
                let closure = try client.echoSession(path: "/runCase?case=\(index)&agent=\(escaped)")
                say("case \(index)/\(count): \(closure)")
            } catch {
                failures += 1
                say("case \(index)/\(count): \(error)")
            }
        }
        _ = try client.session(path: "/updateReports?agent=\(escaped)")
        say("wirecodec-autobahn-client: ran \(count) cases (\(failures) without a WebSocket session), reports updated")
    }
}

/// `ws://host:port` pieces.
struct AutobahnEndpoint {
    var host: String
    var port: Int

    init?(_ url: String) {
        guard url.hasPrefix("ws://") else { return nil }
        let rest = url.dropFirst(5).split(separator: "/", maxSplits: 1).first ?? ""
        guard let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]) else { return nil }
        host = String(rest[..<colon])
        self.port = port
    }

    var authority: String { "\(host):\(port)" }
}

/// One WebSocket connection per call, each on a fresh TCP connection.
struct AutobahnClient {
    let group: any EventLoopGroup
    let endpoint: AutobahnEndpoint
    let deflate: Bool
    let caseTimeout: TimeAmount

    /// Connects to `path`, echoes every message until the connection closes, and returns how
    /// it closed.
    func echoSession(path: String) throws -> WebSocketClosure {
        let box = SessionBox()
        try connect(path: path, box: box, echo: true)
        guard let closure = box.closure else { throw AutobahnClientError.noClosure }
        return closure
    }

    /// Connects to `path` and returns the text messages received before the close.
    func session(path: String) throws -> [String] {
        let box = SessionBox()
        try connect(path: path, box: box, echo: false)
        return box.texts
    }

    private func connect(path: String, box: SessionBox, echo: Bool) throws {
        let offer: PerMessageDeflateClientOffer? = deflate ? PerMessageDeflateClientOffer() : nil
        let handshake = try WebSocketClientHandshake(authority: endpoint.authority, path: path, deflate: offer)
        let channel = try ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        HTTP1Handler(role: .client),
                        WebSocketClientUpgrader(handshake: handshake) { _ in [AutobahnPeerHandler(box: box, echo: echo)] },
                    ])
                }
            }
            .connect(host: endpoint.host, port: endpoint.port).wait()
        // Bounded: a case that never ends is closed (and reported by Autobahn).
        let timeout = channel.eventLoop.scheduleTask(in: caseTimeout) { channel.close(promise: nil) }
        try channel.closeFuture.wait()
        timeout.cancel()
    }
}

enum AutobahnClientError: Error, CustomStringConvertible {
    case noClosure
    var description: String { "the connection ended without a WebSocket session" }
}

/// What a session saw (written on the event loop, read after the channel closed).
final class SessionBox: Sendable {
    private let state = Mutex<(texts: [String], closure: WebSocketClosure?)>(([], nil))
    var texts: [String] { state.withLock { $0.texts } }
    var closure: WebSocketClosure? { state.withLock { $0.closure } }
    func append(_ text: String) { state.withLock { $0.texts.append(text) } }
    func closed(_ closure: WebSocketClosure) { state.withLock { $0.closure = closure } }
}

/// Echoes messages (or only collects texts), and records the closure.
final class AutobahnPeerHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketEvent
    typealias OutboundOut = WebSocketOutboundEvent

    let box: SessionBox
    let echo: Bool

    init(box: SessionBox, echo: Bool) {
        self.box = box
        self.echo = echo
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .text(let text):
            if echo {
                context.writeAndFlush(wrapOutboundOut(.text(text)), promise: nil)
            } else {
                box.append(text)
            }
        case .binary(let bytes):
            if echo { context.writeAndFlush(wrapOutboundOut(.binary(bytes)), promise: nil) }
        case .closed(let closure):
            box.closed(closure)
        default:
            break
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Protocol errors close the connection by themselves (their close frame is queued).
    }
}

extension String {
    /// Percent-encodes everything but unreserved characters (RFC 3986 §2.3).
    func addingPercentEncoding() -> String {
        var out = ""
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".utf8)
                out += "%" + String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 15)]], as: UTF8.self)
            }
        }
        return out
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A line on standard output, written at once.
func say(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress! + offset, $0.count - offset) }
        if n <= 0 { return }
        offset += n
    }
}
