public import WireHTTP1
import WireCore
import HTTPTypes

/// `wirecodec http decode`: raw HTTP/1.1 bytes in, one JSON object per message out.
///
/// The contract (README, section "cli"), which fixtures and external corpora replay through:
/// - each complete message, in order:
///   `{"type":"request","method":M,"target":T,"version":V,"headers":[[n,v],...],"body_b64":B,"trailers":[[n,v],...]}`
///   or `{"type":"response","status":N,"reason":R,"version":V,"headers":...,"body_b64":...,"trailers":...}`;
///   every string is the message's octets decoded as ISO-8859-1; informational (1xx) responses
///   are messages too (empty body and trailers);
/// - a parse error: a final `{"type":"error","code":C,"offset":N}` (offset in the whole input);
/// - input that ends inside a message: a final `{"type":"incomplete"}` (a response read until
///   close is complete at the end of input instead).
///
/// Decoding stops after a message that hands the connection to another protocol: a
/// `101 Switching Protocols` response, or a request asking for CONNECT or Upgrade (a recorded
/// client stream cannot tell whether the server agreed, and what follows may be a tunnel or
/// WebSocket frames). The bytes after such a message are not decoded and nothing more is
/// printed.
public enum HTTPDecode {
    public struct Options: Sendable, Hashable {
        /// Requests (what a server reads) or responses (what a client reads).
        public var kind: HTTP1MessageKind
        /// Every response answers a HEAD request (no body whatever the framing fields say).
        public var answersHEAD: Bool
        /// Limits and leniencies of the parser (the defaults: strict).
        public var configuration: HTTP1ParserConfiguration

        public init(kind: HTTP1MessageKind, answersHEAD: Bool = false, configuration: HTTP1ParserConfiguration = .init()) {
            self.kind = kind
            self.answersHEAD = answersHEAD
            self.configuration = configuration
        }
    }

    /// The JSON lines for `input`, in order.
    public static func decode(_ input: [UInt8], options: Options) -> [JSONValue] {
        var decoder = Decoder(options: options)
        return input.withUnsafeBufferPointer { decoder.run($0) }
    }

    /// The output text: compact JSON lines, or the `--pretty` rendering.
    public static func render(_ lines: [JSONValue], pretty: Bool) -> String {
        var out = ""
        for line in lines {
            if pretty {
                HTTPPrettyPrinter.write(line, into: &out)
            } else {
                line.write(into: &out)
                out += "\n"
            }
        }
        return out
    }
}

/// One decoding run: the parser plus the message being assembled.
private struct Decoder {
    let options: HTTPDecode.Options
    var parser: HTTP1Parser
    var lines: [JSONValue] = []
    /// The head's members (type to headers) of the message being assembled.
    var head: [(String, JSONValue)]? = nil
    var body: [UInt8] = []

    init(options: HTTPDecode.Options) {
        self.options = options
        parser = HTTP1Parser(parsing: options.kind, configuration: options.configuration)
        if options.kind == .response && options.answersHEAD { parser.expectResponse(to: .head) }
    }

    mutating func run(_ input: UnsafeBufferPointer<UInt8>) -> [JSONValue] {
        var offset = 0
        do {
            while true {
                let rest = UnsafeBufferPointer(rebasing: input[offset...])
                let step = try parser.parse(rest)
                if let event = step.event {
                    if take(event, input: rest) { return lines }  // switched protocols
                }
                offset += step.consumed
                if step.event == nil {
                    if parser.pause != nil { return lines }  // the rest is not HTTP/1.1
                    precondition(offset == input.count, "parser consumed less than it was given")
                    break
                }
            }
            // End of input: a body delimited by close completes; anything else open is incomplete.
            while let event = try parser.finish().event {
                _ = take(event, input: UnsafeBufferPointer(rebasing: input[input.count...]))
            }
        } catch where error.code == .unexpectedEOF {
            lines.append(.object([("type", .string("incomplete"))]))
        } catch {
            lines.append(.object([("type", .string("error")), ("code", .string(error.code.name)), ("offset", .int(error.offset))]))
        }
        return lines
    }

    /// Handles one event; true when decoding must stop (the connection switched protocols).
    mutating func take(_ event: HTTP1ParseEvent, input: UnsafeBufferPointer<UInt8>) -> Bool {
        switch event {
        case .requestHead(let request):
            head = [
                ("type", .string("request")),
                ("method", request.withMethod { Self.latin1($0) }),
                ("target", request.withTarget { Self.latin1($0) }),
                ("version", .string(request.version.description)),
                ("headers", Self.fields(request.fields)),
            ]
            body.removeAll(keepingCapacity: true)
        case .responseHead(let response):
            head = [
                ("type", .string("response")),
                ("status", .int(response.status)),
                ("reason", response.withReason { Self.latin1($0) }),
                ("version", .string(response.version.description)),
                ("headers", Self.fields(response.fields)),
            ]
            body.removeAll(keepingCapacity: true)
            if response.isInformational {
                complete(trailers: nil)
                return response.status == 101
            }
            if options.answersHEAD { parser.expectResponse(to: .head) }
        case .body(let range):
            body.append(contentsOf: input[range])
        case .chunkExtensions:
            break  // not part of the contract
        case .end(let trailers):
            complete(trailers: trailers)
        }
        return false
    }

    mutating func complete(trailers: HTTP1FieldBlock?) {
        guard var members = head else { return }
        members.append(("body_b64", .string(Base64.encode(body))))
        members.append(("trailers", trailers.map(Self.fields) ?? .array([])))
        lines.append(.object(members))
        head = nil
    }

    static func latin1(_ bytes: Span<UInt8>) -> JSONValue {
        bytes.withUnsafeBufferPointer { JSONValue.latin1($0) }
    }

    static func fields(_ block: HTTP1FieldBlock) -> JSONValue {
        var pairs: [JSONValue] = []
        pairs.reserveCapacity(block.count)
        for i in 0..<block.count {
            pairs.append(block.withField(at: i) { name, value in .array([latin1(name), latin1(value)]) })
        }
        return .array(pairs)
    }
}
