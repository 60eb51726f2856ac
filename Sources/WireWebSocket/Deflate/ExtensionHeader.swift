import WireCore

/// One extension named in a `Sec-WebSocket-Extensions` field (RFC 6455 §9.1): a token and
/// its parameters, in the order they were written.
///
/// Parameters are a list, not a dictionary: order is kept and a repeated name stays visible,
/// so each extension's own rules (RFC 7692 §7 forbids repeats) decide what a repeat means.
package struct WebSocketExtension: Sendable, Hashable {
    /// A parameter: a token name and an optional value (a token, or a quoted string whose
    /// unescaped content is a token, RFC 6455 §9.1).
    package struct Parameter: Sendable, Hashable {
        package var name: String
        /// `nil` for a valueless parameter such as `client_no_context_takeover`.
        package var value: String?

        package init(_ name: String, value: String? = nil) {
            self.name = name
            self.value = value
        }
    }

    /// The extension token as written (compare with `hasName(_:)`: tokens are
    /// case-insensitive).
    package var name: String
    package var parameters: [Parameter]

    package init(name: String, parameters: [Parameter] = []) {
        self.name = name
        self.parameters = parameters
    }

    /// Whether the extension token equals `lowercased` ignoring ASCII case.
    package func hasName(_ lowercased: String) -> Bool {
        ExtensionHeader.equalsIgnoringCase(name, lowercased)
    }

    /// The extension as it is written in a header: `name; p1; p2=v`.
    package var headerValue: String {
        var text = name
        for parameter in parameters {
            text += "; " + parameter.name
            if let value = parameter.value {
                text += "=" + (ExtensionHeader.isToken(value) ? value : ExtensionHeader.quoted(value))
            }
        }
        return text
    }
}

/// A `Sec-WebSocket-Extensions` syntax error, with the byte offset in the field line.
package struct ExtensionHeaderError: Error, Hashable, Sendable, CustomStringConvertible {
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: Hashable, Sendable {
            case empty, expectedExtensionName, expectedParameterName, expectedParameterValue
            case unterminatedQuotedString, quotedValueNotToken, unexpectedCharacter
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The field has no extension at all (`1#extension` needs one).
        package static let empty = Code(.empty)
        /// An element does not start with a token.
        package static let expectedExtensionName = Code(.expectedExtensionName)
        /// A `;` is not followed by a parameter token.
        package static let expectedParameterName = Code(.expectedParameterName)
        /// An `=` is not followed by a token or quoted string.
        package static let expectedParameterValue = Code(.expectedParameterValue)
        /// A quoted string has no closing quote.
        package static let unterminatedQuotedString = Code(.unterminatedQuotedString)
        /// A quoted value is empty or not a token once unescaped (RFC 6455 §9.1).
        package static let quotedValueNotToken = Code(.quotedValueNotToken)
        /// A character the grammar does not allow here (after a token, or a control byte).
        package static let unexpectedCharacter = Code(.unexpectedCharacter)

        /// Stable kebab-case name (printed by the CLI).
        package var name: String {
            switch base {
            case .empty: "empty"
            case .expectedExtensionName: "expected-extension-name"
            case .expectedParameterName: "expected-parameter-name"
            case .expectedParameterValue: "expected-parameter-value"
            case .unterminatedQuotedString: "unterminated-quoted-string"
            case .quotedValueNotToken: "quoted-value-not-token"
            case .unexpectedCharacter: "unexpected-character"
            }
        }
        package var description: String { name }
    }

    package var code: Code
    /// Offset of the offending byte in the field line.
    package var offset: Int
    /// Which field line (0-based) when several were parsed together.
    package var line: Int

    package init(_ code: Code, offset: Int, line: Int = 0) {
        self.code = code
        self.offset = offset
        self.line = line
    }

    package var description: String { "\(code.name) at line \(line) offset \(offset)" }
}

/// The `Sec-WebSocket-Extensions` grammar of RFC 6455 §9.1:
///
/// ```
/// extension-list = 1#extension
/// extension      = extension-token *( ";" extension-param )
/// extension-param = token [ "=" (token | quoted-string) ]
/// ```
///
/// with optional whitespace (SP/HTAB) allowed around `,`, `;` and `=` (the implied `*LWS` of
/// RFC 2616 §2.1 that RFC 6455 builds on), empty list elements ignored (RFC 9110 §5.6.1), and
/// the rule that a quoted value must still be a token after unescaping. Several field lines
/// are one comma-separated list (RFC 9110 §5.3). Names are case-insensitive tokens; values
/// are kept as written.
package enum ExtensionHeader {
    /// A list element: a well-formed extension, or a malformed one with the reason. Lenient
    /// parsing (`elements(of:)`) goes on after a malformed element, so a server can decline
    /// that offer and consider the next one.
    package enum Element: Sendable, Hashable {
        case valid(WebSocketExtension)
        /// `name` is the element's leading token when there is one.
        case malformed(name: String?, error: ExtensionHeaderError)
    }

    /// Parses one field line strictly: any syntax error fails the whole value.
    package static func parse(_ value: Span<UInt8>) throws(ExtensionHeaderError) -> [WebSocketExtension] {
        var result: [WebSocketExtension] = []
        for element in elements(of: value, line: 0) {
            switch element {
            case .valid(let ext): result.append(ext)
            case .malformed(_, let error): throw error
            }
        }
        if result.isEmpty { throw ExtensionHeaderError(.empty, offset: 0) }
        return result
    }

    /// Parses several field lines strictly, as one list.
    package static func parse(_ values: some Sequence<String>) throws(ExtensionHeaderError) -> [WebSocketExtension] {
        var result: [WebSocketExtension] = []
        for element in elements(of: values) {
            switch element {
            case .valid(let ext): result.append(ext)
            case .malformed(_, let error): throw error
            }
        }
        if result.isEmpty { throw ExtensionHeaderError(.empty, offset: 0) }
        return result
    }

    /// Parses several field lines leniently: every list element in order, malformed ones
    /// included with their reason.
    package static func elements(of values: some Sequence<String>) -> [Element] {
        var result: [Element] = []
        for (line, value) in values.enumerated() {
            let bytes = Array(value.utf8)
            result += elements(of: bytes.span, line: line)
        }
        return result
    }

    /// Parses one field line leniently (see `Element`).
    package static func elements(of value: Span<UInt8>, line: Int = 0) -> [Element] {
        var parser = Parser(line: line)
        var result: [Element] = []
        while let element = parser.nextElement(value) {
            result.append(element)
        }
        return result
    }

    /// Writes extensions as one field value (`a; p=1, b`).
    package static func serialize(_ extensions: [WebSocketExtension]) -> String {
        extensions.map(\.headerValue).joined(separator: ", ")
    }

    // MARK: helpers

    static func isToken(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy(ASCII.isTokenCharacter)
    }

    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            if scalar == "\"" || scalar == "\\" { out += "\\" }
            out.unicodeScalars.append(scalar)
        }
        return out + "\""
    }

    static func equalsIgnoringCase(_ text: String, _ lowercased: String) -> Bool {
        text.utf8.count == lowercased.utf8.count
            && zip(text.utf8, lowercased.utf8).allSatisfy { ASCII.lowercased($0) == $1 }
    }

    /// A cursor over one field line.
    private struct Parser {
        var index = 0
        let line: Int
        /// Set while inside a quoted string, so recovery after an error there resumes correctly.
        var inQuotedString = false

        init(line: Int) { self.line = line }

        private static let comma = UInt8(ascii: ","), semicolon = UInt8(ascii: ";")
        private static let equals = UInt8(ascii: "="), quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")

        mutating func skipWhitespace(_ bytes: Span<UInt8>) {
            while index < bytes.count, ASCII.is(bytes[index], ASCII.whitespace) { index &+= 1 }
        }

        mutating func token(_ bytes: Span<UInt8>) -> String? {
            let start = index
            while index < bytes.count, ASCII.isTokenCharacter(bytes[index]) { index &+= 1 }
            guard index > start else { return nil }
            return Self.string(bytes, start..<index)
        }

        static func string(_ bytes: Span<UInt8>, _ range: Range<Int>) -> String {
            // Token characters are ASCII, so this never needs repair.
            String(unsafeUninitializedCapacity: range.count) { buffer in
                for (i, j) in range.enumerated() { buffer[i] = bytes[j] }
                return range.count
            }
        }

        /// Returns the next non-empty element, or nil at the end of the line.
        mutating func nextElement(_ bytes: Span<UInt8>) -> Element? {
            // Empty elements (", ,") are skipped.
            while true {
                skipWhitespace(bytes)
                guard index < bytes.count else { return nil }
                if bytes[index] == Self.comma { index &+= 1 } else { break }
            }
            var name: String?
            do throws(ExtensionHeaderError) {
                let ext = try element(bytes, name: &name)
                return .valid(ext)
            } catch {
                skipToNextElement(bytes)
                return .malformed(name: name, error: error)
            }
        }

        private func fail(_ code: ExtensionHeaderError.Code, at offset: Int) -> ExtensionHeaderError {
            ExtensionHeaderError(code, offset: offset, line: line)
        }

        private mutating func element(
            _ bytes: Span<UInt8>, name: inout String?
        ) throws(ExtensionHeaderError) -> WebSocketExtension {
            guard let extensionName = token(bytes) else { throw fail(.expectedExtensionName, at: index) }
            name = extensionName
            var ext = WebSocketExtension(name: extensionName)
            while true {
                skipWhitespace(bytes)
                guard index < bytes.count else { return ext }
                switch bytes[index] {
                case Self.comma:
                    index &+= 1
                    return ext
                case Self.semicolon:
                    index &+= 1
                    skipWhitespace(bytes)
                    ext.parameters.append(try parameter(bytes))
                default:
                    throw fail(.unexpectedCharacter, at: index)
                }
            }
        }

        private mutating func parameter(_ bytes: Span<UInt8>) throws(ExtensionHeaderError) -> WebSocketExtension.Parameter {
            guard let name = token(bytes) else { throw fail(.expectedParameterName, at: index) }
            let save = index
            skipWhitespace(bytes)
            guard index < bytes.count, bytes[index] == Self.equals else {
                index = save
                return .init(name)
            }
            index &+= 1
            skipWhitespace(bytes)
            guard index < bytes.count else { throw fail(.expectedParameterValue, at: index) }
            if bytes[index] == Self.quote {
                return .init(name, value: try quotedValue(bytes))
            }
            guard let value = token(bytes) else { throw fail(.expectedParameterValue, at: index) }
            return .init(name, value: value)
        }

        /// A quoted-string (RFC 9110 §5.6.4) whose unescaped content must be a token.
        private mutating func quotedValue(_ bytes: Span<UInt8>) throws(ExtensionHeaderError) -> String {
            let open = index
            index &+= 1
            inQuotedString = true
            var content: [UInt8] = []
            while index < bytes.count {
                let byte = bytes[index]
                if byte == Self.quote {
                    index &+= 1
                    inQuotedString = false
                    guard !content.isEmpty, content.allSatisfy(ASCII.isTokenCharacter) else {
                        throw fail(.quotedValueNotToken, at: open)
                    }
                    return String(decoding: content, as: UTF8.self)
                }
                if byte == Self.backslash {
                    index &+= 1
                    guard index < bytes.count else { break }
                }
                let escaped = bytes[index]
                // qdtext / quoted-pair allow HTAB, SP, VCHAR and obs-text; not other controls.
                guard ASCII.isFieldValueCharacter(escaped) else { throw fail(.unexpectedCharacter, at: index) }
                content.append(escaped)
                index &+= 1
            }
            throw fail(.unterminatedQuotedString, at: open)
        }

        /// After an error: skip to just past the next comma that is not inside a quoted string.
        private mutating func skipToNextElement(_ bytes: Span<UInt8>) {
            var inQuotes = inQuotedString
            inQuotedString = false
            while index < bytes.count {
                let byte = bytes[index]
                index &+= 1
                if inQuotes {
                    if byte == Self.backslash { index &+= 1 } else if byte == Self.quote { inQuotes = false }
                } else if byte == Self.quote {
                    inQuotes = true
                } else if byte == Self.comma {
                    return
                }
            }
            index = bytes.count
        }
    }
}
