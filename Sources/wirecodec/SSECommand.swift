import ArgumentParser
import Foundation
import WireCodecCLI
import WireSSE

struct SSECommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sse",
        abstract: "Server-Sent Events (text/event-stream).",
        subcommands: sseSubcommands
    )
}

/// `wirecodec sse decode [--comments] [--max-line-bytes N] [--max-event-bytes N] [--hex] [--pretty] [FILE]`
struct SSEDecodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Decode a text/event-stream body into JSON lines, one per event.",
        discussion: """
            Prints {"type":"event","event":E,"data":D,"id":I} for each event a browser's \
            EventSource would dispatch, {"type":"retry","ms":N} for each valid retry field, \
            {"type":"comment","text":T} with --comments, then a final \
            {"type":"error","code":C,"offset":N} when a limit is exceeded or \
            {"type":"incomplete"} when the input ends inside an event. \
            Exits 0 in all these cases; non-zero only for usage errors.
            """
    )

    @Flag(name: .customLong("comments"), help: "Print comment lines (heartbeats) too.")
    var comments = false

    @Option(name: .customLong("max-line-bytes"), help: "Fail with line-too-long on longer lines (default 1 MiB).")
    var maxLineBytes: Int?

    @Option(name: .customLong("max-event-bytes"), help: "Fail with event-too-large when an event's data would exceed N bytes (default 1 MiB).")
    var maxEventBytes: Int?

    @Flag(name: .customLong("hex"), help: "The input is a hex dump (whitespace ignored).")
    var hex = false

    @Flag(name: .customLong("pretty"), help: "Print events for a human instead of JSON lines.")
    var pretty = false

    @Argument(help: "The file to read (standard input when absent).")
    var file: String?

    func validate() throws {
        if let n = maxLineBytes, n < 0 { throw ValidationError("--max-line-bytes must be at least 0.") }
        if let n = maxEventBytes, n < 0 { throw ValidationError("--max-event-bytes must be at least 0.") }
    }

    func run() throws {
        var input = try readInput(file, for: Self.self)
        if hex {
            do { input = try CLIInput.decodeHex(input) } catch { throw usageFailure(Self.self, error.description) }
        }
        let defaults = SSELimits()
        let limits = SSELimits(maxLineLength: maxLineBytes ?? defaults.maxLineLength, maxEventSize: maxEventBytes ?? defaults.maxEventSize)
        let options = SSEDecode.Options(configuration: SSEParserConfiguration(limits: limits, reportsComments: comments))
        FileHandle.standardOutput.write(Data(SSEDecode.render(SSEDecode.trace(input, options: options), pretty: pretty).utf8))
    }
}

/// `listen` needs the network stack (trait `Clients`, on by default).
#if Clients
let sseSubcommands: [any ParsableCommand.Type] = [SSEDecodeCommand.self, SSEListenCommand.self]
#else
let sseSubcommands: [any ParsableCommand.Type] = [SSEDecodeCommand.self]
#endif
