/// Writes `text/event-stream` bytes (WHATWG HTML §9.2.5) into a buffer you own.
///
/// Each function appends complete lines and never allocates once `out` has capacity. What
/// it writes reads back, through any conforming parser, as what was asked for:
///
/// - ``writeEvent(data:type:id:retry:into:)``: one event; the data is split at every CRLF,
///   LF and CR into `data:` lines (a client joins them with LF), then a blank line
///   dispatches it.
/// - ``writeComment(_:into:)``: a comment line, `: text`; with empty text, `:` alone: the
///   cheapest heartbeat that keeps an idle connection open through proxies without
///   dispatching anything.
/// - ``writeRetry(milliseconds:into:)``: the client's reconnection time, alone.
///
/// A value starting with a space keeps it: every value is written after `: `, and a parser
/// drops exactly one space. Event names, ids and comments that cannot be carried (a line
/// break would end the field early and let the rest be read as other fields; an id with NUL
/// is ignored by clients) fail with ``SSEUsageError`` before anything is written.
public enum SSESerializer {
    /// Writes one event: `event:` (when `type` is given), `id:` (when given; `""` resets the
    /// client's last event ID), `retry:` (when given), the data lines and a blank line.
    ///
    /// - Parameters:
    ///   - data: the event's data; CRLF, LF and CR each become a line break (a client
    ///     reports LF). Empty data is still dispatched (one empty `data:` line).
    ///   - type: the event type; `nil` or empty means the default, `message`.
    /// - Throws: ``SSEUsageError`` for a `type` with CR or LF, or an `id` with CR, LF or NUL.
    public static func writeEvent(
        data: String, type: String? = nil, id: String? = nil, retry: UInt64? = nil,
        into out: inout [UInt8]
    ) throws(SSEUsageError) {
        try validate(type: type, id: id)
        var data = data
        data.withUTF8 { bytes in
            writeValidatedEvent(data: bytes.span, type: type, id: id, retry: retry, into: &out)
        }
    }

    /// Writes one event whose data is UTF-8 bytes (a client decodes invalid sequences to
    /// U+FFFD). Same rules as ``writeEvent(data:type:id:retry:into:)-(String,_,_,_,_)``.
    public static func writeEvent(
        data: Span<UInt8>, type: String? = nil, id: String? = nil, retry: UInt64? = nil,
        into out: inout [UInt8]
    ) throws(SSEUsageError) {
        try validate(type: type, id: id)
        writeValidatedEvent(data: data, type: type, id: id, retry: retry, into: &out)
    }

    static func validate(type: String?, id: String?) throws(SSEUsageError) {
        if let type, type.utf8.contains(where: { $0 == SSEBytes.cr || $0 == SSEBytes.lf }) {
            throw SSEUsageError(.invalidEventType)
        }
        if let id, id.utf8.contains(where: { $0 == SSEBytes.cr || $0 == SSEBytes.lf || $0 == 0 }) {
            throw SSEUsageError(.invalidID)
        }
    }

    static func writeValidatedEvent(
        data: Span<UInt8>, type: String?, id: String?, retry: UInt64?, into out: inout [UInt8]
    ) {
        if let type, !type.isEmpty { writeField("event", type.utf8, into: &out) }
        if let id { writeField("id", id.utf8, into: &out) }
        if let retry { writeRetry(milliseconds: retry, into: &out) }
        writeDataLines(data, into: &out)
        out.append(SSEBytes.lf)
    }

    /// Writes a comment line: `: text` (or `:` for empty text). Clients ignore it; use it
    /// as a heartbeat.
    /// - Throws: ``SSEUsageError`` (`invalid-comment`) when `text` holds CR or LF.
    public static func writeComment(_ text: String, into out: inout [UInt8]) throws(SSEUsageError) {
        if text.utf8.contains(where: { $0 == SSEBytes.cr || $0 == SSEBytes.lf }) {
            throw SSEUsageError(.invalidComment)
        }
        out.append(SSEBytes.colon)
        if !text.isEmpty {
            out.append(SSEBytes.space)
            out.append(contentsOf: text.utf8)
        }
        out.append(SSEBytes.lf)
    }

    /// Writes `retry: N`: the client waits N milliseconds before reconnecting.
    public static func writeRetry(milliseconds: UInt64, into out: inout [UInt8]) {
        out.append(contentsOf: "retry: ".utf8)
        appendDecimal(milliseconds, into: &out)
        out.append(SSEBytes.lf)
    }

    // MARK: Pieces

    static func writeField(_ name: StaticString, _ value: String.UTF8View, into out: inout [UInt8]) {
        out.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
        out.append(SSEBytes.colon)
        if !value.isEmpty {
            out.append(SSEBytes.space)
            out.append(contentsOf: value)
        }
        out.append(SSEBytes.lf)
    }

    /// `data: line` for each line of `data` (split at CRLF, LF and CR).
    static func writeDataLines(_ data: Span<UInt8>, into out: inout [UInt8]) {
        data.withUnsafeBufferPointer { bytes in
            var start = 0
            let end = bytes.count
            while true {
                let lineEnd = SSEBytes.firstLineEnd(data, from: start)
                out.append(contentsOf: "data:".utf8)
                if lineEnd > start {
                    out.append(SSEBytes.space)
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<lineEnd]))
                }
                out.append(SSEBytes.lf)
                if lineEnd == end { return }
                start = lineEnd &+ 1
                if bytes[lineEnd] == SSEBytes.cr && start < end && bytes[start] == SSEBytes.lf { start &+= 1 }
            }
        }
    }

    static func appendDecimal(_ value: UInt64, into out: inout [UInt8]) {
        var digits: InlineArray<20, UInt8> = .init(repeating: 0)
        var n = value
        var count = 0
        repeat {
            digits[count] = UInt8(truncatingIfNeeded: n % 10) &+ 0x30
            n /= 10
            count &+= 1
        } while n > 0
        while count > 0 {
            count &-= 1
            out.append(digits[count])
        }
    }
}
