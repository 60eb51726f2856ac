#if Clients
import ArgumentParser
import Foundation
import HTTPTypes
import WireCodecCLI
import WireCodecNIO
import WireHTTP1
import WireWebSocket
import Synchronization

/// `wirecodec ws connect URL [--header 'Name: value']... [--subprotocol P]... [--deflate] [--ca-cert PEM] [--proxy URL] [--http2]`
struct WebSocketConnectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "connect",
        abstract: "Connect to a ws:// or wss:// URL: send standard input's lines, print what arrives.",
        discussion: """
            Sends each line of standard input as a text message. Prints every message received \
            as the JSON lines of `wirecodec ws decode`: {"type":"text"|"binary"|"ping"|"pong",\
            "data_b64":B} and {"type":"close","code":N|null,"reason":R} for the server's close \
            frame. At the end of standard input, closes with 1000 and exits 0 once the closing \
            handshake is over; also exits 0 when the server closes cleanly. Exits 1 with a \
            one-line reason on stderr when the connection, the proxy, TLS or the handshake \
            fails, or the connection ends without a closing handshake. TLS verifies the \
            server's certificate and name against the system's roots and --ca-cert. The proxy \
            comes from --proxy, else from http_proxy/https_proxy/ws_proxy/wss_proxy/all_proxy \
            and no_proxy as curl reads them. With --http2 (wss:// only), TLS offers h2 by ALPN \
            and the WebSocket opens on an HTTP/2 stream by extended CONNECT (RFC 8441) when the \
            server's SETTINGS allow it, else over HTTP/1.1; a line on stderr says which: \
            "wirecodec: WebSocket over HTTP/2 (h2, extended CONNECT)" or "wirecodec: WebSocket \
            over HTTP/1.1 (REASON)".
            """
    )

    @Argument(help: "The ws:// or wss:// URL.")
    var url: String

    @Option(name: .customLong("header"), help: "A request field, 'Name: value' (repeatable).")
    var headers: [String] = []

    @Option(name: .customLong("subprotocol"), help: "A subprotocol to offer, most preferred first (repeatable).")
    var subprotocols: [String] = []

    @Flag(name: .customLong("deflate"), help: "Offer permessage-deflate (RFC 7692).")
    var deflate = false

    @Option(name: .customLong("ca-cert"), help: "A PEM file of CA certificates to trust besides the system's.")
    var caCert: String?

    @Option(name: .customLong("proxy"), help: "An HTTP proxy URL (http://[user:password@]host[:port]) to tunnel through with CONNECT.")
    var proxy: String?

    @Flag(name: .customLong("http2"), help: "Open the WebSocket over HTTP/2 (RFC 8441) when the wss:// server allows it; say which HTTP was used.")
    var http2 = false

    func validate() throws {
        _ = try parsedHeaders()
        do {
            _ = try WebSocketClient(url: url)
        } catch {
            throw ValidationError("\(url): \(error.code.name)")
        }
    }

    func parsedHeaders() throws -> HTTPFields {
        var fields = HTTPFields()
        for header in headers {
            guard let colon = header.firstIndex(of: ":"), let name = HTTPField.Name(String(header[..<colon])) else {
                throw ValidationError("--header must be 'Name: value', got '\(header)'")
            }
            let value = header[header.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            fields.append(HTTPField(name: name, value: value))
        }
        return fields
    }

    func run() async throws {
        var configuration = WebSocketClient.Configuration()
        configuration.headerFields = try parsedHeaders()
        configuration.subprotocols = subprotocols
        configuration.deflate = deflate ? PerMessageDeflateClientOffer() : nil
        configuration.connection = try ClientCommandSupport.connection(caCert: caCert, proxy: proxy)
        if http2 { configuration.httpVersion = .http2 }
        let http2 = self.http2
        let client = try WebSocketClient(url: url, configuration: configuration)
        let lines = StandardInputLines()
        let linger = EndOfInputLinger()
        let closure: WebSocketClosure?
        do {
            closure = try await client.withConnection { connection in
                if http2 {
                    switch connection.httpVersion {
                    case .http2: ClientCommandSupport.note("WebSocket over HTTP/2 (h2, extended CONNECT)")
                    case .http1_1: ClientCommandSupport.note("WebSocket over HTTP/1.1 (\(connection.fallbackReason ?? "HTTP/1.1"))")
                    }
                }
                try await withThrowingTaskGroup(of: Void.self) { group in
                    // Standard input → text messages; at its end, the close (after the linger).
                    group.addTask {
                        for await line in lines.stream {
                            try await connection.send(.text(line))
                            lines.sent()
                        }
                        try Task.checkCancellation()
                        try await connection.send(.ping(EndOfInputLinger.token))
                        await linger.wait()
                        try Task.checkCancellation()
                        try await connection.close(code: .normalClosure)
                    }
                    for try await event in connection.events {
                        if case .pong(let payload) = event, payload == EndOfInputLinger.token, linger.pongArrived() {
                            continue
                        }
                        linger.inbound()
                        if let line = Self.line(for: event) { ClientCommandSupport.printLine(line) }
                    }
                    group.cancelAll()
                }
                return connection.closure
            }
        } catch {
            ClientCommandSupport.fail(ClientCommandSupport.describe(error, security: configuration.connection.security))
        }
        guard let closure, closure.wasClean else {
            ClientCommandSupport.fail("the connection ended without a closing handshake: \(closure.map { "\($0)" } ?? "no closure")")
        }
        ClientCommandSupport.exit(0)
    }

    /// The `ws decode` line for an event, if it is a message or the server's close frame.
    static func line(for event: WebSocketEvent) -> JSONValue? {
        switch event {
        case .text(let text): WebSocketDecode.line(for: .text(text))
        case .binary(let bytes): WebSocketDecode.line(for: .binary(bytes))
        case .ping(let bytes): WebSocketDecode.line(for: .ping(bytes))
        case .pong(let bytes): WebSocketDecode.line(for: .pong(bytes))
        case .closed(let closure): closure.received.flatMap { WebSocketDecode.line(for: .close($0)) }
        default: nil
        }
    }
}

/// Standard input's lines, read on a thread of their own (reads block), as an `AsyncStream`
/// holding at most `window` lines not yet sent: the reader waits for ``sent()``.
final class StandardInputLines: Sendable {
    let stream: AsyncStream<String>
    private let room: DispatchSemaphore
    static let window = 16

    init() {
        let (stream, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .unbounded)
        let room = DispatchSemaphore(value: Self.window)
        self.stream = stream
        self.room = room
        let thread = Thread {
            while let line = readLine(strippingNewline: true) {
                room.wait()
                continuation.yield(line)
            }
            continuation.finish()
        }
        thread.start()
    }

    /// A line was sent: the reader may read one more.
    func sent() { room.signal() }
}

/// When to close after the end of standard input. Closing at once would cut off the answers
/// to the last lines (a server stops sending once our close frame arrives, RFC 6455 §1.4), so
/// the client sends a ping and closes once its pong came back (the server has read every
/// line) and nothing arrived for ``quiet``, or after ``limit`` in any case.
final class EndOfInputLinger: Sendable {
    static let token = Array("wirecodec-end-of-input".utf8)
    /// Silence that ends the linger once the pong arrived.
    static let quiet: Duration = .milliseconds(500)
    /// The longest linger.
    static let limit: Duration = .seconds(5)

    private let state = Mutex<(pong: Bool, last: ContinuousClock.Instant)>((false, .now))

    /// Something arrived.
    func inbound() { state.withLock { $0.last = .now } }

    /// Our ping's pong arrived; `false` if it had already (a second pong is the server's).
    func pongArrived() -> Bool {
        state.withLock { s in
            defer { s.pong = true; s.last = .now }
            return !s.pong
        }
    }

    /// Returns when the client should close.
    func wait() async {
        let start = ContinuousClock.now
        while ContinuousClock.now - start < Self.limit && !Task.isCancelled {
            let (pong, last) = state.withLock { ($0.pong, $0.last) }
            if pong && ContinuousClock.now - last >= Self.quiet { return }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }
}
#endif
