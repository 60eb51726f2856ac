/// A configured limit exceeded while parsing an event stream.
///
/// The WHATWG event-stream format has no syntax errors: every byte sequence is a stream
/// (unknown fields, bad `retry` values and stray bytes are ignored by the rules). What can go
/// wrong is size: a line or an event larger than ``SSELimits`` allows, which a client must
/// refuse rather than buffer without bound. After an error the parser is failed: every later
/// call rethrows the same error.
public struct SSEParseError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong.
    public var code: Code
    /// The absolute position in the stream, counted in bytes from the first byte ever given
    /// to the parser (the BOM included): for `line-too-long` the first byte past the limit,
    /// for `event-too-large` the first byte of the `data` line that would take the event over
    /// it. The same whatever the reads looked like.
    public var offset: Int

    public init(_ code: Code, offset: Int) {
        self.code = code
        self.offset = offset
    }

    public var description: String { "SSEParseError(\(code.name) at offset \(offset))" }
}

extension SSEParseError {
    /// A growable set of error codes: new codes may be added in any release, so switch over
    /// them with a `default` (or compare with `==`).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Base: UInt8, Sendable, CaseIterable {
            case lineTooLong, eventTooLarge
        }

        let base: Base

        init(_ base: Base) { self.base = base }

        /// A line (without its line end) is longer than ``SSELimits/maxLineLength``.
        public static let lineTooLong = Code(.lineTooLong)
        /// The data of one event (the `data` values joined with LF) would exceed
        /// ``SSELimits/maxEventSize``.
        public static let eventTooLarge = Code(.eventTooLarge)

        /// Every code, in declaration order.
        public static var allCases: [Code] { Base.allCases.map(Code.init) }

        /// The stable short kebab-case name (printed by the CLI).
        public var name: String {
            switch base {
            case .lineTooLong: "line-too-long"
            case .eventTooLarge: "event-too-large"
            }
        }

        public var description: String { name }
    }
}

/// A caller asked the serializer for something the event-stream format cannot carry: a line
/// break in an event name, id or comment (it would end the field early and let the rest be
/// read as other fields: an injection), a NUL in an id (clients ignore such an id).
///
/// Nothing is written when one is thrown: the output buffer is left as it was.
public struct SSEUsageError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong.
    public var code: Code

    public init(_ code: Code) { self.code = code }

    public var description: String { "SSEUsageError(\(code.name))" }

    /// A growable set of error codes.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Base: UInt8, Sendable, CaseIterable {
            case invalidEventType, invalidID, invalidComment
        }

        let base: Base

        init(_ base: Base) { self.base = base }

        /// The event name holds CR or LF.
        public static let invalidEventType = Code(.invalidEventType)
        /// The id holds CR, LF or NUL (a client ignores an id with NUL, WHATWG HTML §9.2.6).
        public static let invalidID = Code(.invalidID)
        /// The comment holds CR or LF.
        public static let invalidComment = Code(.invalidComment)

        /// Every code, in declaration order.
        public static var allCases: [Code] { Base.allCases.map(Code.init) }

        /// The stable short kebab-case name.
        public var name: String {
            switch base {
            case .invalidEventType: "invalid-event-type"
            case .invalidID: "invalid-id"
            case .invalidComment: "invalid-comment"
            }
        }

        public var description: String { name }
    }
}
