import ArgumentParser
import Foundation
import WireCodecCLI
import WireCore
import WireWebSocket

struct WebSocketCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ws",
        abstract: "WebSocket frames and messages.",
        subcommands: webSocketSubcommands
    )
}

/// `--role server|client`.
enum WebSocketRoleArgument: String, ExpressibleByArgument, CaseIterable {
    case server, client
    var role: Role { self == .server ? .server : .client }
}

/// `--deflate 'permessage-deflate; ...'`: the agreed parameters (RFC 7692 §7.1).
private func parseDeflate(_ text: String?) throws -> PerMessageDeflateParameters? {
    guard let text else { return nil }
    do throws(PerMessageDeflateNegotiationError) {
        return try PerMessageDeflateParameters(parsing: text)
    } catch {
        throw ValidationError("--deflate: \(error.description)")
    }
}


/// `wirecodec ws decode --role server|client [--deflate ...] [--max-message-bytes N] [--hex] [--pretty] [FILE]`
struct WebSocketDecodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Decode raw WebSocket frames into JSON lines, one per message.",
        discussion: """
            Prints {"type":"text"|"binary"|"ping"|"pong","data_b64":B} and \
            {"type":"close","code":N|null,"reason":R} lines, then a final \
            {"type":"error","close_code":N,"reason":CODE} on a protocol violation or \
            {"type":"incomplete"} when the input ends inside a frame or message. \
            Exits 0 in all these cases; non-zero only for usage errors. Nothing after a close frame is decoded.
            """
    )

    @Option(name: .customLong("role"), help: "Our role: server (the input is what a client sent, masked) or client.")
    var role: WebSocketRoleArgument

    @Option(name: .customLong("deflate"), help: "The agreed permessage-deflate parameters, as a server's answer: 'permessage-deflate; server_max_window_bits=10'.")
    var deflate: String?

    @Option(name: .customLong("max-message-bytes"), help: "Fail with 1009 on longer messages (default 64 MiB).")
    var maxMessageBytes: Int?

    @Flag(name: .customLong("hex"), help: "The input is a hex dump (whitespace ignored).")
    var hex = false

    @Flag(name: .customLong("pretty"), help: "Print frames and messages for a human instead of JSON lines.")
    var pretty = false

    @Argument(help: "The file to read (standard input when absent).")
    var file: String?

    func parsedDeflate() throws -> PerMessageDeflateParameters? { try parseDeflate(deflate) }

    func validate() throws {
        _ = try parsedDeflate()
        if let n = maxMessageBytes, n < 0 { throw ValidationError("--max-message-bytes must be at least 0.") }
    }

    func run() throws {
        var input = try readInput(file, for: Self.self)
        if hex {
            do { input = try CLIInput.decodeHex(input) } catch { throw usageFailure(Self.self, error.description) }
        }
        let options = WebSocketDecode.Options(role: role.role, limits: WebSocketDecode.Options.limits(maxMessageBytes: maxMessageBytes),
                                              deflate: try parsedDeflate())
        let entries = WebSocketDecode.trace(input, options: options)
        FileHandle.standardOutput.write(Data(WebSocketDecode.render(entries, pretty: pretty).utf8))
    }
}

/// `wirecodec ws encode --role server|client [--mask-key HEX] [--fragment-size N] [--hex] [FILE]`
struct WebSocketEncodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode",
        abstract: "Encode JSON lines (the decode contract's shapes) into raw WebSocket frames.",
        discussion: """
            Reads text, binary, ping, pong and close lines (and raw \
            {"type":"frame","fin":B,"rsv":N,"opcode":N,"data_b64":B} frames for building invalid \
            inputs); error and incomplete lines are skipped. A client masks every frame.
            """
    )

    @Option(name: .customLong("role"), help: "Our role: client (frames are masked) or server.")
    var role: WebSocketRoleArgument

    @Option(name: .customLong("deflate"), help: "The agreed permessage-deflate parameters, as a server's answer: 'permessage-deflate; server_max_window_bits=10'.")
    var deflate: String?

    @Option(name: .customLong("mask-key"), help: "One masking key for every frame, 8 hex digits (client only; default: random per frame).")
    var maskKey: String?

    @Option(name: .customLong("fragment-size"), help: "Split messages into frames of at most N payload bytes.")
    var fragmentSize: Int?

    @Flag(name: .customLong("hex"), help: "Write a hex dump instead of raw bytes.")
    var hex = false

    @Argument(help: "The JSON-lines file to read (standard input when absent).")
    var file: String?

    func parsedDeflate() throws -> PerMessageDeflateParameters? { try parseDeflate(deflate) }

    func validate() throws {
        _ = try parsedDeflate()
        if maskKey != nil && role == .server { throw ValidationError("--mask-key applies to --role client only: servers do not mask.") }
        if let n = fragmentSize, n < 1 { throw ValidationError("--fragment-size must be at least 1.") }
    }

    func run() throws {
        let input = try readInput(file, for: Self.self)
        let bytes: [UInt8]
        let deflateParameters = try parsedDeflate()
        do {
            let key = try maskKey.map { k throws(CLIUsageError) in try WebSocketEncode.maskingKey(hex: k) }
            bytes = try WebSocketEncode.encode(input, options: WebSocketEncode.Options(role: role.role, maskingKey: key, fragmentSize: fragmentSize,
                                                                                              deflate: deflateParameters))
        } catch {
            throw usageFailure(Self.self, error.description)
        }
        if hex {
            let text = bytes.map { b in
                let h = String(b, radix: 16)
                return h.count == 1 ? "0" + h : h
            }.joined(separator: " ")
            FileHandle.standardOutput.write(Data((text + "\n").utf8))
        } else {
            FileHandle.standardOutput.write(Data(bytes))
        }
    }
}

/// `connect` needs the network stack (trait `Clients`, on by default).
#if Clients
let webSocketSubcommands: [any ParsableCommand.Type] = [WebSocketDecodeCommand.self, WebSocketEncodeCommand.self, WebSocketConnectCommand.self]
#else
let webSocketSubcommands: [any ParsableCommand.Type] = [WebSocketDecodeCommand.self, WebSocketEncodeCommand.self]
#endif
