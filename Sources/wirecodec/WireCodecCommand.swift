import ArgumentParser

/// `wirecodec`: decode and encode captured HTTP/1.1 and WebSocket bytes as JSON lines.
@main
struct WireCodecCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wirecodec",
        abstract: "Decode and encode HTTP/1.1 and WebSocket bytes with WireCodec.",
        subcommands: [HTTPCommand.self, WebSocketCommand.self, SSECommand.self]
    )
}
