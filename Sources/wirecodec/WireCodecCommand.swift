import ArgumentParser

/// `wirecodec`: decode and encode captured HTTP/1.1, WebSocket and Server-Sent Events bytes as JSON
/// lines; connect to WebSocket and event-stream servers (`ws connect`, `sse listen`).
@main
struct WireCodecCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wirecodec",
        abstract: "Decode and encode HTTP/1.1, WebSocket and Server-Sent Events (SSE) bytes with WireCodec; connect to WebSocket and event-stream servers.",
        subcommands: [HTTPCommand.self, WebSocketCommand.self, SSECommand.self]
    )
}
