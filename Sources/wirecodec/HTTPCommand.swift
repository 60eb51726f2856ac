import ArgumentParser

struct HTTPCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "http",
        abstract: "HTTP/1.1 messages.",
        subcommands: []
    )
}
