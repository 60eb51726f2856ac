public import WireCore
public import WireWebSocket

/// `wirecodec ws encode`: JSON lines of the decode contract in, frames out.
///
/// - `text`/`binary` (`data_b64`): one message, one frame unless a fragment size is given;
/// - `ping`/`pong` (`data_b64`, at most 125 bytes);
/// - `close` (`code`: a sendable code or `null` for an empty close; `reason`);
/// - `frame`: a raw frame for building invalid inputs: `{"type":"frame","fin":B,"rsv":0-7,
///   "opcode":0-15,"data_b64":B}` (`fin` defaults to true, `rsv` to 0), written as given;
/// - `error` and `incomplete` lines (the end of a decode run) write nothing.
///
/// A client masks every frame: with `maskingKey` when given, else a fresh random key per frame.
public enum WebSocketEncode {
    public struct Options: Sendable, Hashable {
        /// Our role: `.client` masks, `.server` does not.
        public var role: Role
        /// One key for every frame (client only), else fresh random keys.
        public var maskingKey: WebSocketMaskingKey?
        /// Split text and binary messages into frames of at most this many payload bytes.
        public var fragmentSize: Int?
        /// The agreed permessage-deflate parameters (`--deflate`): every text and binary
        /// message is then compressed (RSV1 on its first frame), with context carried from
        /// line to line unless the parameters say otherwise.
        public var deflate: PerMessageDeflateParameters?

        public init(role: Role, maskingKey: WebSocketMaskingKey? = nil, fragmentSize: Int? = nil,
                    deflate: PerMessageDeflateParameters? = nil) {
            self.role = role
            self.maskingKey = maskingKey
            self.fragmentSize = fragmentSize
            self.deflate = deflate
        }
    }

    /// Encodes newline-separated JSON lines (blank lines skipped), through one send pipeline:
    /// with `deflate`, compression context carries from line to line unless the parameters say
    /// otherwise.
    public static func encode(_ text: [UInt8], options: Options) throws(CLIUsageError) -> [UInt8] {
        var out: [UInt8] = []
        var sender = try makeSender(options)
        var lineNumber = 0
        for line in text.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            // Each line is one JSON object: say so in those terms when it is not one at all.
            let first = line.first { $0 != 0x20 && $0 != 0x09 }
            guard first == UInt8(ascii: "{") else {
                let shown = String(decoding: line.prefix(40), as: UTF8.self)
                throw CLIUsageError(
                    "line \(lineNumber): expected a JSON object such as {\"type\":\"text\",\"data_b64\":\"SGk=\"}, found \(shown.debugDescription)")
            }
            do throws(CLIUsageError) {
                let value = try JSONParse.parse(Array(line))
                guard case .object = value else { throw CLIUsageError("expected a JSON object") }
                try encode(line: value, options: options, sender: &sender, into: &out)
            } catch {
                throw CLIUsageError("line \(lineNumber): \(error.description)")
            }
        }
        return out
    }

    /// The send pipeline for `options`: frames of at most `fragmentSize` bytes, the fixed
    /// masking key when given, and with `deflate` every message compressed (so the output is
    /// predictable).
    static func makeSender(_ options: Options) throws(CLIUsageError) -> WebSocketSender {
        var configuration = WebSocketConfiguration()
        if let size = options.fragmentSize {
            guard size >= 1 else { throw CLIUsageError("fragment size must be at least 1") }
            configuration.fragmentSize = size
        }
        if let key = options.maskingKey { configuration.maskingKeys = .fixed(key) }
        configuration.deflate = PerMessageDeflateConfiguration(minimumSizeToCompress: 0, skipIncompressible: false)
        do throws(WebSocketUsageError) {
            return try WebSocketSender(role: options.role, deflate: options.deflate, configuration: configuration)
        } catch {
            // The only parameters a parsed `--deflate` can carry that our compressor refuses.
            let parameter = options.role == .server ? "server_max_window_bits" : "client_max_window_bits"
            throw CLIUsageError("--deflate: window-bits-8-unsupported (\(parameter))")
        }
    }

    /// Appends the frames for one JSON line (with `deflate`, a fresh compression context).
    public static func encode(line: JSONValue, options: Options, into out: inout [UInt8]) throws(CLIUsageError) {
        var sender = try makeSender(options)
        try encode(line: line, options: options, sender: &sender, into: &out)
    }

    static func encode(line: JSONValue, options: Options, sender: inout WebSocketSender, into out: inout [UInt8]) throws(CLIUsageError) {
        guard case .string(let type)? = line["type"] else { throw CLIUsageError("missing \"type\"") }
        switch type {
        case "text", "binary":
            // Text goes as given, valid UTF-8 or not: invalid inputs are what the tool builds.
            let data = try bytes(line, "data_b64")
            try pipeline { () throws(WebSocketUsageError) in
                try sender.writeMessage(type == "text" ? .text : .binary, data.span, checkingText: false, into: &out)
            }
        case "ping", "pong":
            let data = try bytes(line, "data_b64")
            try pipeline { () throws(WebSocketUsageError) in
                try sender.writeControl(type == "ping" ? .ping : .pong, data.span, into: &out)
            }
        case "close":
            var code: WebSocketCloseCode? = nil
            switch line["code"] {
            case .int(let n)?:
                guard let v = UInt16(exactly: n) else { throw CLIUsageError("close code out of range") }
                code = WebSocketCloseCode(v)
            case .null?, nil: code = nil
            default: throw CLIUsageError("\"code\" must be an integer or null")
            }
            var reason = ""
            switch line["reason"] {
            case .string(let r)?: reason = r
            case nil: break
            default: throw CLIUsageError("\"reason\" must be a string")
            }
            try pipeline { () throws(WebSocketUsageError) in
                try sender.writeClose(WebSocketClose(code: code, reason: reason), into: &out)
            }
        case "frame":
            try writeRaw(line, key: options.role == .client ? sender.nextMaskingKey() : nil, into: &out)
        case "error", "incomplete":
            break
        default:
            throw CLIUsageError("unknown type \(type)")
        }
    }

    /// The send pipeline's refusals as the tool's usage errors (their kebab-case names).
    static func pipeline(_ body: () throws(WebSocketUsageError) -> Void) throws(CLIUsageError) {
        do {
            try body()
        } catch {
            throw CLIUsageError(error.code.name)
        }
    }

    /// A raw frame, any opcode or bits, no checks (for building invalid inputs).
    static func writeRaw(_ line: JSONValue, key: WebSocketMaskingKey?, into out: inout [UInt8]) throws(CLIUsageError) {
        var fin = true
        if let v = line["fin"] {
            guard case .bool(let b) = v else { throw CLIUsageError("\"fin\" must be a boolean") }
            fin = b
        }
        func small(_ name: String, _ max: Int, default d: Int) throws(CLIUsageError) -> UInt8 {
            guard let v = line[name] else { return UInt8(d) }
            guard case .int(let n) = v, (0...max).contains(n) else { throw CLIUsageError("\"\(name)\" must be 0...\(max)") }
            return UInt8(n)
        }
        let rsv = try small("rsv", 7, default: 0)
        guard line["opcode"] != nil else { throw CLIUsageError("missing \"opcode\"") }
        let opcode = try small("opcode", 15, default: 0)
        let data = try bytes(line, "data_b64")
        // Write with a placeholder opcode, then patch the first byte (reserved opcodes have no value).
        let start = out.count
        let header = WebSocketFrameHeader(fin: fin, reserved: ReservedBits(rawValue: rsv << 4), opcode: .binary,
                                          maskingKey: key, payloadLength: data.count)
        header.write(into: &out)
        out[start] = (fin ? 0x80 : 0) | rsv << 4 | opcode
        if let key { key.apply(data.span, appendingTo: &out) } else { out += data }
    }

    static func bytes(_ line: JSONValue, _ name: String) throws(CLIUsageError) -> [UInt8] {
        guard let value = line[name] else { return [] }
        guard case .string(let text) = value else { throw CLIUsageError("\"\(name)\" must be a string") }
        do throws(Base64.DecodingError) {
            return try Base64.decode(Array(text.utf8))
        } catch {
            throw CLIUsageError("\"\(name)\": \(error.reason)")
        }
    }

    /// Parses `--mask-key`: exactly 8 hex digits.
    public static func maskingKey(hex text: String) throws(CLIUsageError) -> WebSocketMaskingKey {
        let bytes = try CLIInput.decodeHex(Array(text.utf8))
        guard let key = WebSocketMaskingKey(bytes) else { throw CLIUsageError("--mask-key takes 4 bytes (8 hex digits)") }
        return key
    }
}
