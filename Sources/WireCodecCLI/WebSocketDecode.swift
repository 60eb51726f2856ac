public import WireCore
public import WireWebSocket

/// `wirecodec ws decode`: raw frame bytes (what a peer sent to a server, or to a client) in,
/// one JSON object per message out.
///
/// The contract (README, section "cli"), which fixtures and external corpora replay through:
/// - each complete message, in order: `{"type":"text","data_b64":B}`, `{"type":"binary","data_b64":B}`,
///   `{"type":"ping","data_b64":B}`, `{"type":"pong","data_b64":B}`,
///   `{"type":"close","code":N,"reason":R}` (`"code":null` for an empty close frame);
/// - a protocol violation: a final `{"type":"error","close_code":N,"reason":"<kebab-case code>"}`;
/// - input ending inside a frame or a fragmented message: a final `{"type":"incomplete"}`.
///
/// A close frame ends the stream (RFC 6455 §5.5.1: nothing follows it): later bytes are not decoded.
///
/// The composition is ``WebSocketReceiver``, the receive pipeline every endpoint uses: frame
/// parser → unmask → inflater for compressed messages when `deflate` is set (`--deflate`) →
/// message layer, with frame headers reported for `--pretty`.
public enum WebSocketDecode {
    public struct Options: Sendable, Hashable {
        /// Our role: `.server` reads what a client sent (masked), `.client` what a server sent.
        public var role: Role
        public var limits: WebSocketLimits
        /// The agreed permessage-deflate parameters (`--deflate`), or `nil`.
        public var deflate: PerMessageDeflateParameters?

        public init(role: Role, limits: WebSocketLimits = .init(), deflate: PerMessageDeflateParameters? = nil) {
            self.role = role
            self.limits = limits
            self.deflate = deflate
        }

        /// Limits for `--max-message-bytes N`: messages over N bytes fail with 1009; frames are
        /// limited only by the message limit (or the default frame limit, if larger).
        public static func limits(maxMessageBytes: Int?) -> WebSocketLimits {
            guard let n = maxMessageBytes else { return WebSocketLimits() }
            return WebSocketLimits(maxFrameSize: Swift.max(WebSocketLimits().maxFrameSize, n), maxMessageSize: n)
        }
    }

    /// One entry of a decoding run: a frame header (for `--pretty`) or an output line.
    public enum Entry: Sendable, Hashable {
        case frame(WebSocketFrameHeader, offset: Int)
        case line(JSONValue)
    }

    /// The JSON lines for `input`, in order.
    public static func decode(_ input: [UInt8], options: Options) -> [JSONValue] {
        trace(input, options: options).compactMap { if case .line(let l) = $0 { l } else { nil } }
    }

    /// Frames and lines, in order.
    public static func trace(_ input: [UInt8], options: Options) -> [Entry] {
        var entries: [Entry] = []
        var receiver: WebSocketReceiver
        do {
            receiver = try WebSocketReceiver(
                role: options.role, deflate: options.deflate, configuration: WebSocketConfiguration(limits: options.limits),
                reportsFrames: true)
        } catch {
            return [.line(.object([("type", .string("error")), ("close_code", .null), ("reason", .string(error.code.name))]))]
        }
        receiver.receive(input.span)
        do throws(WebSocketProtocolError) {
            loop: while let event = try receiver.nextEvent() {
                switch event {
                case .frame(let header, let start):
                    entries.append(.frame(header, offset: start))
                default:
                    if let line = line(for: event) { entries.append(.line(line)) }
                    if case .close = event { break loop }
                }
            }
            if !receiver.isIdle {
                entries.append(.line(.object([("type", .string("incomplete"))])))
            }
        } catch {
            entries.append(.line(.object([
                ("type", .string("error")),
                ("close_code", .int(Int(error.closeCode.rawValue))),
                ("reason", .string(error.code.name)),
            ])))
        }
        return entries
    }

    /// The contract's line for a message event (`nil` for the events of streaming delivery and
    /// frame headers, which have none: the CLI delivers whole messages).
    public static func line(for event: WebSocketMessageEvent) -> JSONValue? {
        func data(_ type: String, _ bytes: [UInt8]) -> JSONValue {
            .object([("type", .string(type)), ("data_b64", .string(Base64.encode(bytes)))])
        }
        switch event {
        case .text(let s): return data("text", Array(s.utf8))
        case .binary(let b): return data("binary", b)
        case .ping(let b): return data("ping", b)
        case .pong(let b): return data("pong", b)
        case .close(let close):
            return .object([
                ("type", .string("close")),
                ("code", close.code.map { .int(Int($0.rawValue)) } ?? .null),
                ("reason", .string(close.reason)),
            ])
        case .messageStart, .fragment, .messageEnd, .frame:
            return nil
        }
    }

    /// The output text: compact JSON lines, or the `--pretty` rendering of frames and messages.
    public static func render(_ entries: [Entry], pretty: Bool) -> String {
        var out = ""
        for entry in entries {
            switch entry {
            case .frame(let header, let offset):
                if pretty { WebSocketPrettyPrinter.write(header, offset: offset, into: &out) }
            case .line(let line):
                if pretty {
                    WebSocketPrettyPrinter.write(line, into: &out)
                } else {
                    line.write(into: &out)
                    out += "\n"
                }
            }
        }
        return out
    }
}
