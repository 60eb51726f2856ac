import ArgumentParser

/// `wirecodec`: decode and encode captured HTTP/1.1, WebSocket and Server-Sent Events bytes as JSON lines.
@main
struct WireCodecCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wirecodec",
        abstract: "Decode and encode HTTP/1.1, WebSocket and Server-Sent Events (SSE) bytes with WireCodec.",
        subcommands: [HTTPCommand.self, WebSocketCommand.self, SSECommand.self]
    )
}
