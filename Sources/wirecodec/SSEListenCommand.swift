#if Clients
import ArgumentParser
import Foundation
import WireCodecCLI
import WireCodecNIO
import WireHTTP1
import WireSSE

/// `wirecodec sse listen URL [--ca-cert PEM] [--last-event-id ID] [--max-events N]`
struct SSEListenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "listen",
        abstract: "Follow an event stream as a browser's EventSource does, printing events as they arrive.",
        discussion: """
            Prints the JSON lines of `wirecodec sse decode` as they arrive: \
            {"type":"event","event":E,"data":D,"id":I} per event and {"type":"retry","ms":N} per \
            valid retry field. Reconnects as the EventSource processing model says (after the \
            stream ends or the connection breaks, waiting the reconnection time, sending \
            Last-Event-ID), and follows redirects. Exits 0 after N events (--max-events) or \
            when the server answers 204 No Content (its way of saying stop). Exits 1 with a \
            one-line reason on stderr when the server answers another status than 200 or \
            another type than text/event-stream, when TLS fails, or when the first connection \
            cannot be made (later failures reconnect). Reconnections are noted on stderr.
            """
    )

    @Argument(help: "The http:// or https:// URL of the event stream.")
    var url: String

    @Option(name: .customLong("ca-cert"), help: "A PEM file of CA certificates to trust besides the system's.")
    var caCert: String?

    @Option(name: .customLong("last-event-id"), help: "Resume after this event ID (sent as Last-Event-ID).")
    var lastEventID: String?

    @Option(name: .customLong("max-events"), help: "Exit 0 after this many events.")
    var maxEvents: Int?

    func validate() throws {
        if let maxEvents, maxEvents < 1 { throw ValidationError("--max-events must be at least 1.") }
        let parsed: WireURL
        do {
            parsed = try WireURL(url)
        } catch {
            throw ValidationError("\(url): \(error.code.name)")
        }
        guard parsed.scheme == "http" || parsed.scheme == "https" else { throw ValidationError("\(url): not an http:// or https:// URL") }
        if let lastEventID, lastEventID.contains(where: { $0 == "\n" || $0 == "\r" || $0 == "\0" }) {
            throw ValidationError("--last-event-id cannot hold CR, LF or NUL.")
        }
    }

    func run() async throws {
        let connection = try ClientCommandSupport.connection(caCert: caCert, proxy: nil)
        let runner = EventSourceRunner(url: try WireURL(url), connection: connection, lastEventID: lastEventID ?? "")
        var printed = 0
        var opened = false
        var firstFailure: String?
        let end: EventSourceFailure
        do {
            end = try await runner.run { event in
                switch event {
                case .open:
                    opened = true
                case .message(let message):
                    ClientCommandSupport.printLine(SSEDecode.line(for: .event(message)))
                    printed += 1
                    if let maxEvents, printed >= maxEvents { return .stop }
                case .retry(let ms):
                    ClientCommandSupport.printLine(SSEDecode.line(for: .retry(ms)))
                case .comment:
                    break
                case .redirected(let target, let status):
                    ClientCommandSupport.note("\(status) redirect to \(target)")
                case .reconnecting(let cause, let delay):
                    if !opened {
                        // The stream never opened: a wrong host or port, not a broken feed.
                        firstFailure = Self.describe(cause)
                        return .stop
                    }
                    ClientCommandSupport.note("reconnecting in \(delay) ms (\(Self.describe(cause)))")
                case .failed:
                    break
                }
                return .continue
            }
        } catch {
            ClientCommandSupport.fail(ClientCommandSupport.describe(error, security: connection.security))
        }
        if let firstFailure { ClientCommandSupport.fail("cannot open the event stream: \(firstFailure)") }
        switch end {
        case .closedByClient, .noContent:
            if end == .noContent { ClientCommandSupport.note(end.description) }
            ClientCommandSupport.exit(0)
        default:
            ClientCommandSupport.fail(end.description)
        }
    }

    static func describe(_ cause: EventSourceReconnectCause) -> String {
        switch cause {
        case .endOfStream: "the stream ended"
        case .networkError(let message): message
        case .malformedResponse(let error): "malformed response: \(error.code.name) at offset \(error.offset)"
        case .responseTimeout: "no response in time"
        case .idleTimeout: "the stream was silent too long"
        }
    }
}
#endif
