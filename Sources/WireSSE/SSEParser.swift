internal import WireCore

/// An incremental parser for `text/event-stream` (WHATWG HTML §9.2.5 "Parsing an event
/// stream", §9.2.6 "Interpreting an event stream"): what a browser's `EventSource` does with
/// the bytes of the response body, sans I/O.
///
/// Feed it bytes as they arrive; each call returns at most one event and how many bytes it
/// consumed. Any split of the same bytes gives the same events: a CR at the end of one read
/// and an LF at the start of the next are one line end, a UTF-8 BOM may be split too.
/// Lines found whole in the input are read in place; only a line split across reads is
/// copied (into storage the parser reuses), and `data` values are copied once into the
/// event's data buffer.
///
/// ```swift
/// var parser = SSEParser()
/// var offset = 0
/// while true {
///     let step = try parser.parse(bytes.span, from: offset)
///     offset += step.consumed
///     guard let event = step.event else { break }      // need more bytes
///     if case .event(let e) = event { print(e.type, e.data, e.lastEventID) }
/// }
/// ```
///
/// The rules, all from §9.2.5–9.2.6: one leading BOM is skipped; lines end with CRLF, LF or
/// CR; a blank line dispatches the event (nothing when the data buffer is empty, but the last
/// event ID is taken even then); a line starting with `:` is a comment; otherwise the field
/// name runs to the first `:` (the whole line when there is none) and one space after the
/// colon is dropped from the value; `data` appends the value and an LF, `event` sets the
/// type, `id` sets the last event ID buffer unless the value holds NUL, `retry` sets the
/// reconnection time when the value is ASCII digits only; other fields are ignored; at the end
/// of the stream an event without its blank line is discarded (``finish()``).
///
/// Limits (``SSELimits``) are the only errors: ``SSEParseError`` with the absolute stream
/// offset; after one the parser is failed until ``finish()``.
public struct SSEParser: Sendable {
    public let configuration: SSEParserConfiguration

    /// The last event ID string (§9.2.6 "dispatch the event", step 1): what a client sends
    /// as `Last-Event-ID` when it reconnects. Set at each blank line from the last `id`
    /// field, even when no event is dispatched; kept across ``finish()``.
    public private(set) var lastEventID: String
    /// The reconnection time in milliseconds set by the latest valid `retry` field, or `nil`
    /// when the stream set none (the client uses its default). Kept across ``finish()``.
    public private(set) var reconnectionTime: UInt64? = nil
    /// Bytes consumed from the current stream: the stream offset of the next input's first
    /// byte. Back to 0 after ``finish()``.
    public private(set) var streamOffset: Int = 0

    /// BOM bytes matched at the start of the stream; `bomDone` once decided.
    var bomMatched: Int = 0
    var bomDone = false
    /// The previous input ended with a CR that ended a line: an LF first in the next input
    /// belongs to it.
    var pendingCR = false
    /// The start of a line the previous inputs ended inside, and its stream offset.
    var line: [UInt8] = []
    var lineStart: Int = 0
    var data: [UInt8] = []
    var eventType: [UInt8] = []
    var idBuffer: [UInt8] = []
    var idBufferChanged = false
    /// A field line was read since the last blank line.
    var blockHasFields = false
    var failure: SSEParseError? = nil

    /// A parser for a new stream. `lastEventID` is the last event ID string a client kept
    /// from earlier connections (it also starts the last event ID buffer, so a stream that
    /// sends no `id` keeps it).
    public init(configuration: SSEParserConfiguration = .init(), lastEventID: String = "") {
        self.configuration = configuration
        self.lastEventID = lastEventID
        self.idBuffer = Array(lastEventID.utf8)
    }

    /// Parses the next event from `input[from...]`.
    ///
    /// - Returns: the bytes consumed after `from` and at most one event. With no event, all
    ///   of the input was consumed (feed more).
    /// - Throws: ``SSEParseError`` when a limit is exceeded.
    public mutating func parse(_ input: Span<UInt8>, from start: Int = 0) throws(SSEParseError) -> SSEParseStep {
        precondition(start >= 0 && start <= input.count, "from is outside the input")
        if let failure { throw failure }
        do {
            let (end, event) = try step(input, from: start)
            streamOffset &+= end &- start
            return SSEParseStep(consumed: end &- start, event: event)
        } catch {
            failure = error
            throw error
        }
    }

    /// Parses all of `input`, calling `body` with each event in order.
    public mutating func parse(_ input: Span<UInt8>, _ body: (SSEParseEvent) -> Void) throws(SSEParseError) {
        var offset = 0
        while true {
            let step = try parse(input, from: offset)
            offset &+= step.consumed
            guard let event = step.event else { return }
            body(event)
        }
    }

    /// The stream ended (the connection closed). Discards what was pending (§9.2.5: an
    /// event without its blank line is not dispatched) and makes the parser ready for the
    /// stream of a new connection, keeping ``lastEventID`` and ``reconnectionTime``; a
    /// failure is cleared too.
    public mutating func finish() -> SSEStreamEnd {
        let incomplete = failure != nil || !line.isEmpty || blockHasFields || (!bomDone && bomMatched > 0)
        bomMatched = 0
        bomDone = false
        pendingCR = false
        line.removeAll(keepingCapacity: true)
        data.removeAll(keepingCapacity: true)
        eventType.removeAll(keepingCapacity: true)
        idBuffer.removeAll(keepingCapacity: true)
        idBuffer.append(contentsOf: lastEventID.utf8)
        idBufferChanged = false
        blockHasFields = false
        failure = nil
        streamOffset = 0
        return incomplete ? .discardedIncompleteEvent : .clean
    }

    /// Whether nothing of an event is pending: no partial line, no field since the last
    /// blank line.
    public var isAtEventBoundary: Bool {
        line.isEmpty && !blockHasFields && (bomDone || bomMatched == 0)
    }

    // MARK: Lines

    /// Reads lines from `start` until one produces an event or the input ends. Returns the
    /// index after the last byte used.
    mutating func step(_ input: Span<UInt8>, from start: Int) throws(SSEParseError) -> (Int, SSEParseEvent?) {
        let end = input.count
        var i = start
        if !bomDone {
            // One leading U+FEFF (EF BB BF) is not part of the stream (the UTF-8 decode
            // algorithm); a partial match followed by other bytes is content.
            while i < end && !bomDone {
                if input[i] == SSEBytes.bom[bomMatched] {
                    bomMatched &+= 1
                    i &+= 1
                    if bomMatched == 3 { bomDone = true }
                } else {
                    bomDone = true
                    lineStart = 0
                    for k in 0..<bomMatched { line.append(SSEBytes.bom[k]) }
                }
            }
            if !bomDone { return (i, nil) }
        }
        if pendingCR && i < end {
            pendingCR = false
            if input[i] == SSEBytes.lf { i &+= 1 }
        }
        let offsetBase = streamOffset &- start
        while i < end {
            let j = SSEBytes.firstLineEnd(input, from: i)
            if j == end {
                try appendPartial(input, i..<end, offset: offsetBase &+ i)
                return (end, nil)
            }
            let event: SSEParseEvent?
            if line.isEmpty {
                let startOffset = offsetBase &+ i
                if j &- i > configuration.limits.maxLineLength {
                    throw SSEParseError(.lineTooLong, offset: startOffset &+ configuration.limits.maxLineLength)
                }
                event = try process(input.extracting(i..<j), lineStart: startOffset)
            } else {
                try appendPartial(input, i..<j, offset: offsetBase &+ i)
                var whole: [UInt8] = []
                swap(&whole, &line)
                defer {
                    whole.removeAll(keepingCapacity: true)
                    swap(&whole, &line)
                }
                event = try process(whole.span, lineStart: lineStart)
            }
            // The line end: CRLF, LF, or CR (an LF may follow in the next input).
            i = j &+ 1
            if input[j] == SSEBytes.cr {
                if i < end {
                    if input[i] == SSEBytes.lf { i &+= 1 }
                } else {
                    pendingCR = true
                }
            }
            if let event { return (i, event) }
        }
        return (i, nil)
    }

    /// Keeps part of a line that continues in a later input.
    mutating func appendPartial(_ input: Span<UInt8>, _ range: Range<Int>, offset: Int) throws(SSEParseError) {
        if line.isEmpty { lineStart = offset }
        let limit = configuration.limits.maxLineLength
        if line.count &+ range.count > limit {
            throw SSEParseError(.lineTooLong, offset: lineStart &+ limit)
        }
        input.extracting(range).withUnsafeBufferPointer { line.append(contentsOf: $0) }
    }

    // MARK: Fields

    /// Processes one line (§9.2.6), without its line end.
    mutating func process(_ line: Span<UInt8>, lineStart: Int) throws(SSEParseError) -> SSEParseEvent? {
        let count = line.count
        if count == 0 { return dispatch() }
        if line[0] == SSEBytes.colon {
            guard configuration.reportsComments else { return nil }
            var textStart = 1
            if count > 1 && line[1] == SSEBytes.space { textStart = 2 }
            return .comment(SSEBytes.string(line.extracting(textStart..<count)))
        }
        var colon = 0
        while colon < count && line[colon] != SSEBytes.colon { colon &+= 1 }
        var valueStart = Swift.min(colon &+ 1, count)
        if valueStart < count && line[valueStart] == SSEBytes.space { valueStart &+= 1 }
        let name = line.extracting(0..<colon)
        let value = line.extracting(valueStart..<count)
        blockHasFields = true
        switch SSEField(name) {
        case .data:
            if data.count &+ value.count &+ 1 > configuration.limits.maxEventSize {
                throw SSEParseError(.eventTooLarge, offset: lineStart)
            }
            value.withUnsafeBufferPointer { data.append(contentsOf: $0) }
            data.append(SSEBytes.lf)
        case .event:
            eventType.removeAll(keepingCapacity: true)
            value.withUnsafeBufferPointer { eventType.append(contentsOf: $0) }
        case .id:
            var hasNUL = false
            for k in 0..<value.count where value[k] == 0 { hasNUL = true; break }
            if !hasNUL {
                idBuffer.removeAll(keepingCapacity: true)
                value.withUnsafeBufferPointer { idBuffer.append(contentsOf: $0) }
                idBufferChanged = true
            }
        case .retry:
            if let ms = SSEBytes.digits(value) {
                reconnectionTime = ms
                return .retry(ms)
            }
        case .other:
            break
        }
        return nil
    }

    /// A blank line (§9.2.6 "dispatch the event").
    mutating func dispatch() -> SSEParseEvent? {
        if idBufferChanged {
            lastEventID = SSEBytes.string(idBuffer.span)
            idBufferChanged = false
        }
        blockHasFields = false
        defer {
            data.removeAll(keepingCapacity: true)
            eventType.removeAll(keepingCapacity: true)
        }
        guard !data.isEmpty else { return nil }
        let type = eventType.isEmpty ? "message" : SSEBytes.string(eventType.span)
        let text = SSEBytes.string(data.span.extracting(0..<(data.count &- 1)))
        return .event(SSEEvent(type: type, data: text, lastEventID: lastEventID))
    }
}

/// The fields §9.2.6 knows; names compare byte for byte, with no case folding.
enum SSEField {
    case data, event, id, retry, other

    init(_ name: Span<UInt8>) {
        switch name.count {
        case 2 where name[0] == 0x69 && name[1] == 0x64:  // id
            self = .id
        case 4 where SSEBytes.equals(name, "data"):
            self = .data
        case 5 where SSEBytes.equals(name, "event"):
            self = .event
        case 5 where SSEBytes.equals(name, "retry"):
            self = .retry
        default:
            self = .other
        }
    }
}

/// Bytes and small helpers of the format.
enum SSEBytes {
    static let cr: UInt8 = 0x0D
    static let lf: UInt8 = 0x0A
    static let colon: UInt8 = 0x3A
    static let space: UInt8 = 0x20
    static let bom: InlineArray<3, UInt8> = [0xEF, 0xBB, 0xBF]

    /// The index of the first CR or LF at or after `start`, or `input.count`.
    @inline(__always)
    static func firstLineEnd(_ input: Span<UInt8>, from start: Int) -> Int {
        input.withUnsafeBufferPointer { buffer in
            var i = start
            let end = buffer.count
            // Eight bytes at a time: a byte is CR or LF when (b ^ 0x0A) or (b ^ 0x0D) is zero.
            while i &+ 8 <= end {
                let word = UnsafeRawPointer(buffer.baseAddress! + i).loadUnaligned(as: UInt64.self)
                if hasZeroByte(word ^ 0x0A0A_0A0A_0A0A_0A0A) || hasZeroByte(word ^ 0x0D0D_0D0D_0D0D_0D0D) { break }
                i &+= 8
            }
            while i < end {
                let b = buffer[i]
                if b == lf || b == cr { return i }
                i &+= 1
            }
            return end
        }
    }

    /// Whether any byte of `x` is zero (the classic bit trick; exact for "any").
    @inline(__always)
    static func hasZeroByte(_ x: UInt64) -> Bool {
        (x &- 0x0101_0101_0101_0101) & ~x & 0x8080_8080_8080_8080 != 0
    }

    static func equals(_ bytes: Span<UInt8>, _ literal: StaticString) -> Bool {
        guard bytes.count == literal.utf8CodeUnitCount else { return false }
        let p = literal.utf8Start
        for k in 0..<bytes.count where bytes[k] != p[k] { return false }
        return true
    }

    /// A `retry` value: ASCII digits only, at least one, fitting in 64 bits; otherwise `nil`
    /// (the field is ignored).
    static func digits(_ value: Span<UInt8>) -> UInt64? {
        guard !value.isEmpty else { return nil }
        var result: UInt64 = 0
        for k in 0..<value.count {
            let b = value[k]
            guard ASCII.is(b, ASCII.digit) else { return nil }
            let (m, o1) = result.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(UInt64(b &- 0x30))
            if o1 || o2 { return nil }
            result = s
        }
        return result
    }

    /// UTF-8 decoding with U+FFFD for invalid sequences (the UTF-8 decode algorithm the
    /// format requires).
    static func string(_ bytes: Span<UInt8>) -> String {
        bytes.withUnsafeBufferPointer { String(decoding: $0, as: UTF8.self) }
    }
}
