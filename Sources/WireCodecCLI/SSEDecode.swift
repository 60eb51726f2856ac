public import WireSSE

/// `wirecodec sse decode`: the bytes of a `text/event-stream` body in, one JSON object per
/// event out (what a browser's `EventSource` would dispatch).
///
/// The contract (README, section "cli", and `Spec/sse.md`), which fixtures replay through:
/// - each dispatched event, in order: `{"type":"event","event":E,"data":D,"id":I}` (E the event
///   type, `"message"` by default; D the data; I the last event ID when it was dispatched);
/// - each valid `retry` field: `{"type":"retry","ms":N}`;
/// - with `--comments`, each comment line: `{"type":"comment","text":T}`;
/// - a limit exceeded: a final `{"type":"error","code":C,"offset":N}` (offset in the whole input);
/// - input that ends inside an event (a line without its line end, fields without their blank
///   line): a final `{"type":"incomplete"}` (a client discards that part).
///
/// Strings are the stream's UTF-8 (invalid sequences as U+FFFD), printed with `\uXXXX`
/// escapes so the output is ASCII.
public enum SSEDecode {
    public struct Options: Sendable, Hashable {
        public var configuration: SSEParserConfiguration

        public init(configuration: SSEParserConfiguration = .init()) {
            self.configuration = configuration
        }
    }

    /// One entry of a decoding run: an output line and the stream offset after the bytes
    /// that produced it (for `--pretty`).
    public struct Entry: Sendable, Hashable {
        public var line: JSONValue
        public var offset: Int
    }

    /// The JSON lines for `input`, in order.
    public static func decode(_ input: [UInt8], options: Options = .init()) -> [JSONValue] {
        trace(input, options: options).map(\.line)
    }

    /// Lines with the offsets where they were found.
    public static func trace(_ input: [UInt8], options: Options = .init()) -> [Entry] {
        var parser = SSEParser(configuration: options.configuration)
        var entries: [Entry] = []
        var offset = 0
        do throws(SSEParseError) {
            while true {
                let step = try parser.parse(input.span, from: offset)
                offset += step.consumed
                guard let event = step.event else { break }
                entries.append(Entry(line: line(for: event), offset: offset))
            }
            if parser.finish() == .discardedIncompleteEvent {
                entries.append(Entry(line: .object([("type", .string("incomplete"))]), offset: input.count))
            }
        } catch {
            entries.append(Entry(line: .object([
                ("type", .string("error")), ("code", .string(error.code.name)), ("offset", .int(error.offset)),
            ]), offset: error.offset))
        }
        return entries
    }

    /// The contract's line for a parse event.
    public static func line(for event: SSEParseEvent) -> JSONValue {
        switch event {
        case .event(let e):
            return .object([
                ("type", .string("event")), ("event", .string(e.type)), ("data", .string(e.data)), ("id", .string(e.lastEventID)),
            ])
        case .retry(let ms):
            // JSON numbers beyond Int.max are printed as they are.
            return .object([("type", .string("retry")), ("ms", ms <= UInt64(Int.max) ? .int(Int(ms)) : .string(String(ms)))])
        case .comment(let text):
            return .object([("type", .string("comment")), ("text", .string(text))])
        }
    }

    /// The output text: compact JSON lines, or the `--pretty` rendering.
    public static func render(_ entries: [Entry], pretty: Bool) -> String {
        var out = ""
        for entry in entries {
            if pretty {
                SSEPrettyPrinter.write(entry, into: &out)
            } else {
                entry.line.write(into: &out)
                out += "\n"
            }
        }
        return out
    }
}

/// `wirecodec sse decode --pretty`: events for a human reading a capture.
///
/// ```
/// @31    event  message  id="7"
///        data   "first line"
///        data   "second line"
/// ```
enum SSEPrettyPrinter {
    static func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
    }

    static func quoted(_ s: String) -> String { JSONValue.string(s).serialized }

    static func write(_ entry: SSEDecode.Entry, into out: inout String) {
        guard case .object(let members) = entry.line else { return }
        func member(_ key: String) -> JSONValue? { members.first { $0.0 == key }?.1 }
        func string(_ key: String) -> String {
            switch member(key) {
            case .string(let s)?: s
            case .int(let i)?: String(i)
            default: ""
            }
        }
        let at = pad("@\(entry.offset)", 7)
        switch string("type") {
        case "event":
            out += at + "event  " + pad(string("event"), 8) + " id=" + quoted(string("id")) + "\n"
            for dataLine in string("data").split(separator: "\n", omittingEmptySubsequences: false) {
                out += pad("", 7) + "data   " + quoted(String(dataLine)) + "\n"
            }
        case "retry":
            out += at + "retry  " + string("ms") + " ms\n"
        case "comment":
            out += at + "comment " + quoted(string("text")) + "\n"
        case "error":
            out += at + "error  " + string("code") + " at offset " + string("offset") + "\n"
        case "incomplete":
            out += at + "incomplete: the stream ends inside an event (discarded)\n"
        default:
            break
        }
    }
}
