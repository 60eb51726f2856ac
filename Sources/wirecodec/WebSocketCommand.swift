import ArgumentParser

struct WebSocketCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ws",
        abstract: "WebSocket frames and messages.",
        subcommands: []
    )
}
