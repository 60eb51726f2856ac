import ArgumentParser
import Synchronization
import WireCodec
import WireCodecNIO
import WireCodecTLS

/// `wirecodec-autobahn-client`: drives Autobahn|Testsuite's fuzzingserver with our client:
/// asks `/getCaseCount`, runs every case through `/runCase?case=I&agent=NAME` echoing each
/// message (text as text, binary as binary), then asks for `/updateReports?agent=NAME`.
/// Every connection offers permessage-deflate (unless `--no-deflate`) and goes through
/// ``WebSocketClient`` — over TLS for a `wss://` URL, verifying the fuzzingserver's certificate
/// against the system's roots and `--ca-cert`.
@main
struct AutobahnClientCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wirecodec-autobahn-client",
        abstract: "Run Autobahn|Testsuite's fuzzingserver cases with WireCodec's WebSocket client."
    )

    @Option(help: "The fuzzingserver's URL (ws://host:port or wss://host:port).")
    var url = "ws://127.0.0.1:9001"

    @Option(help: "The agent name the reports are filed under.")
    var agent = "wirecodec"

    @Flag(help: "Do not offer permessage-deflate.")
    var noDeflate = false

    @Option(name: .customLong("ca-cert"), help: "A PEM file of CA certificates to trust besides the system's (wss://).")
    var caCert: String?

    @Option(help: "Seconds a single case may take before the client gives up on it.")
    var caseTimeout = 300

    @Flag(help: "Put the permessage-deflate streams to sleep after every message (freed, their window kept and restored): the forced-hibernation run.")
    var hibernateAfterEveryMessage = false

    func validate() throws {
        guard let parsed = try? WireURL(url), parsed.scheme == "ws" || parsed.scheme == "wss" else {
            throw ValidationError("--url must look like ws://host:port or wss://host:port")
        }
    }

    func run() async throws {
        let base = try WireURL(url)
        var configuration = WebSocketClient.Configuration()
        configuration.deflate = noDeflate ? nil : PerMessageDeflateClientOffer()
        configuration.handshakeTimeout = .seconds(30)
        if hibernateAfterEveryMessage { configuration.webSocket.deflate.hibernation = .afterEveryMessage }
        if base.isSecure {
            configuration.connection.security = try TLSClientSecurity(additionalTrustRootsPEMFiles: caCert.map { [$0] } ?? [])
        }
        let client = AutobahnClient(base: base, configuration: configuration, caseTimeout: .seconds(caseTimeout))

        let countText = try await client.texts(path: "/getCaseCount").first ?? ""
        guard let count = Int(countText) else { throw ValidationError("unexpected case count \(countText)") }
        say("wirecodec-autobahn-client: \(count) cases at \(url), agent \(agent)")
        let escaped = agent.addingPercentEncoding()
        var failures = 0
        for index in 1...max(count, 1) where count > 0 {
            do {
                let closure = try await client.echo(path: "/runCase?case=\(index)&agent=\(escaped)")
                say("case \(index)/\(count): \(closure)")
            } catch {
                failures += 1
                say("case \(index)/\(count): \(error)")
            }
        }
        _ = try await client.texts(path: "/updateReports?agent=\(escaped)")
        say("wirecodec-autobahn-client: ran \(count) cases (\(failures) without a WebSocket session), reports updated")
    }
}

/// One WebSocket connection per call, each on a fresh TCP (and TLS) connection.
struct AutobahnClient: Sendable {
    let base: WireURL
    let configuration: WebSocketClient.Configuration
    let caseTimeout: Duration

    func client(path: String) throws -> WebSocketClient {
        try WebSocketClient(url: "\(base.scheme)://\(base.hostForAuthority):\(base.effectivePort ?? 0)\(path)", configuration: configuration)
    }

    /// Connects to `path`, echoes every message until the connection closes, and returns how
    /// it closed. A case that does not end within the case timeout is abandoned (and
    /// reported by Autobahn).
    func echo(path: String) async throws -> WebSocketClosure {
        let client = try client(path: path)
        return try await withThrowingTaskGroup(of: WebSocketClosure?.self) { group in
            group.addTask {
                try await client.withConnection { connection in
                    for try await event in connection.events {
                        switch event {
                        case .text(let text): try? await connection.send(.text(text))
                        case .binary(let bytes): try? await connection.send(.binary(bytes))
                        default: break
                        }
                    }
                    return connection.closure ?? WebSocketClosure(cause: .endOfStream)
                }
            }
            group.addTask {
                try await Task.sleep(for: caseTimeout)
                return nil
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            guard let first else { throw AutobahnClientError.caseTimedOut }
            return first
        }
    }

    /// Connects to `path` and returns the text messages received before the close.
    func texts(path: String) async throws -> [String] {
        try await client(path: path).withConnection { connection in
            var texts: [String] = []
            for try await event in connection.events {
                if case .text(let text) = event { texts.append(text) }
            }
            return texts
        }
    }
}

enum AutobahnClientError: Error, CustomStringConvertible {
    case caseTimedOut
    var description: String { "the case did not end in time" }
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
