import ArgumentParser
import Foundation
import WireCodecCLI
import WireHTTP1

struct HTTPCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "http",
        abstract: "HTTP/1.1 messages.",
        subcommands: [HTTPDecodeCommand.self]
    )
}

/// `wirecodec http decode --request|--response [--head] [--hex] [--pretty] [FILE]`
struct HTTPDecodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Decode raw HTTP/1.1 requests or responses into JSON lines.",
        discussion: """
            Prints one JSON object per complete message, then a final {"type":"error",...} \
            or {"type":"incomplete"} line when the input is malformed or ends inside a message. \
            Exits 0 in all these cases; non-zero only for usage errors. Decoding stops after a \
            101 response or a CONNECT/Upgrade request: what follows is another protocol.
            """
    )

    @Flag(name: .customLong("request"), help: "The input holds requests (as a server reads them).")
    var request = false

    @Flag(name: .customLong("response"), help: "The input holds responses (as a client reads them).")
    var response = false

    @Flag(name: .customLong("head"), help: "Every response answers a HEAD request (no bodies).")
    var head = false

    @Flag(name: .customLong("hex"), help: "The input is a hex dump (whitespace ignored).")
    var hex = false

    @Flag(name: .customLong("pretty"), help: "Print a human-readable rendering instead of JSON lines.")
    var pretty = false

    @Argument(help: "The file to read (standard input when absent).")
    var file: String?

    func validate() throws {
        guard request != response else {
            throw ValidationError("Give exactly one of --request or --response.")
        }
        if head && request { throw ValidationError("--head applies to --response only.") }
    }

    func run() throws {
        var input = try readInput(file, for: Self.self)
        if hex {
            do {
                input = try CLIInput.decodeHex(input)
            } catch {
                throw usageFailure(Self.self, error.description)
            }
        }
        let options = HTTPDecode.Options(kind: request ? .request : .response, answersHEAD: head)
        let lines = HTTPDecode.decode(input, options: options)
        FileHandle.standardOutput.write(Data(HTTPDecode.render(lines, pretty: pretty).utf8))
    }
}
