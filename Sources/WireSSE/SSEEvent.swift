/// An event an ``SSEParser`` dispatched: what a browser's `EventSource` hands to its
/// listeners as a `MessageEvent` (WHATWG HTML §9.2.6, "dispatch the event").
public struct SSEEvent: Sendable, Hashable {
    /// The event type: the value of the last non-empty `event` field of the event, or
    /// `"message"` when there was none.
    public var type: String
    /// The `data` values of the event joined with LF (U+FFFD replaces invalid UTF-8).
    public var data: String
    /// The stream's last event ID string when the event was dispatched: the latest `id`
    /// field seen at or before this event's blank line, persisting across events. Empty
    /// until the stream sends an `id`.
    public var lastEventID: String

    public init(type: String = "message", data: String, lastEventID: String = "") {
        self.type = type
        self.data = data
        self.lastEventID = lastEventID
    }
}

/// What an ``SSEParser`` found.
public enum SSEParseEvent: Sendable, Hashable {
    /// A blank line ended an event with data.
    case event(SSEEvent)
    /// A `retry` field of ASCII digits set the reconnection time, in milliseconds.
    case retry(UInt64)
    /// A comment line (the text after the `:`), when
    /// ``SSEParserConfiguration/reportsComments`` is on.
    case comment(String)
}

/// The result of one ``SSEParser/parse(_:from:)`` call.
public struct SSEParseStep: Sendable, Hashable {
    /// How many bytes after `from` were used. The parser keeps what it needs of a partial
    /// line, so the caller never holds on to consumed bytes.
    public var consumed: Int
    /// The event, or `nil` when all of the input was consumed (feed more).
    public var event: SSEParseEvent?

    public init(consumed: Int, event: SSEParseEvent?) {
        self.consumed = consumed
        self.event = event
    }
}

/// How an event stream ended (``SSEParser/finish()``).
public enum SSEStreamEnd: Sendable, Hashable {
    /// At an event boundary: nothing was pending.
    case clean
    /// Inside an event or a line: what was pending (a line without its line end, fields
    /// without their blank line) is discarded, as §9.2.5 says.
    case discardedIncompleteEvent
}
