public import WireCore

/// The permessage-deflate configuration both ends agreed on (RFC 7692 §7.1): the four
/// extension parameters, with absent ones at their defaults (context takeover, 15 bits).
///
/// The names follow the RFC and so speak of server and client; the role helpers translate
/// them into what one end sends and receives (`sendWindowBits(as:)` is the window our
/// compressor may use, `receiveWindowBits(as:)` the window our inflater needs).
public struct PerMessageDeflateParameters: Sendable, Hashable, CustomStringConvertible {
    /// The server resets its compressor after each message (RFC 7692 §7.1.1.1).
    public var serverNoContextTakeover: Bool
    /// The client resets its compressor after each message (RFC 7692 §7.1.1.2).
    public var clientNoContextTakeover: Bool
    /// The largest LZ77 window the server compresses with, 8...15 (RFC 7692 §7.1.2.1).
    public var serverMaxWindowBits: Int
    /// The largest LZ77 window the client compresses with, 8...15 (RFC 7692 §7.1.2.2).
    public var clientMaxWindowBits: Int

    /// The extension token, `permessage-deflate` (RFC 7692 §7).
    public static let extensionName = "permessage-deflate"
    /// The window sizes RFC 7692 allows.
    public static let windowBitsRange = 8...15

    public init(
        serverNoContextTakeover: Bool = false,
        clientNoContextTakeover: Bool = false,
        serverMaxWindowBits: Int = 15,
        clientMaxWindowBits: Int = 15
    ) {
        self.serverNoContextTakeover = serverNoContextTakeover
        self.clientNoContextTakeover = clientNoContextTakeover
        self.serverMaxWindowBits = serverMaxWindowBits
        self.clientMaxWindowBits = clientMaxWindowBits
    }

    /// Window bits of the compressor `role` sends with.
    public func sendWindowBits(as role: Role) -> Int {
        role == .server ? serverMaxWindowBits : clientMaxWindowBits
    }

    /// Window bits of the inflater `role` receives with (the peer's compressor window).
    public func receiveWindowBits(as role: Role) -> Int { sendWindowBits(as: role.peer) }

    /// Whether `role` resets its compressor after every message.
    public func sendNoContextTakeover(as role: Role) -> Bool {
        role == .server ? serverNoContextTakeover : clientNoContextTakeover
    }

    /// Whether the peer of `role` resets its compressor after every message, so `role`'s
    /// inflater can reset (and free its window) too.
    public func receiveNoContextTakeover(as role: Role) -> Bool { sendNoContextTakeover(as: role.peer) }

    /// The parameters written as an extension, omitting defaults:
    /// `permessage-deflate; server_no_context_takeover; client_max_window_bits=10`.
    package var `extension`: WebSocketExtension {
        var parameters: [WebSocketExtension.Parameter] = []
        if serverNoContextTakeover { parameters.append(.init(PerMessageDeflateParameterName.serverNoContextTakeover)) }
        if clientNoContextTakeover { parameters.append(.init(PerMessageDeflateParameterName.clientNoContextTakeover)) }
        if serverMaxWindowBits != 15 {
            parameters.append(.init(PerMessageDeflateParameterName.serverMaxWindowBits, value: String(serverMaxWindowBits)))
        }
        if clientMaxWindowBits != 15 {
            parameters.append(.init(PerMessageDeflateParameterName.clientMaxWindowBits, value: String(clientMaxWindowBits)))
        }
        return WebSocketExtension(name: Self.extensionName, parameters: parameters)
    }

    public var description: String { self.extension.headerValue }

    /// Reads agreed parameters written as a server's response element (every value explicit,
    /// `client_max_window_bits` with a value), e.g. for `wirecodec ws --deflate '...'`.
    /// Unknown, repeated or out-of-range parameters are errors.
    public init(parsing text: String) throws(PerMessageDeflateNegotiationError) {
        let extensions: [WebSocketExtension]
        do { extensions = try ExtensionHeader.parse([text]) } catch { throw .init(.malformed, syntax: error) }
        guard extensions.count == 1, extensions[0].hasName(Self.extensionName) else {
            throw .init(.unexpectedExtension)
        }
        let fields = try PerMessageDeflateFields(extensions[0], isOffer: false)
        self.init(
            serverNoContextTakeover: fields.serverNoContextTakeover,
            clientNoContextTakeover: fields.clientNoContextTakeover,
            serverMaxWindowBits: fields.serverMaxWindowBits ?? 15,
            clientMaxWindowBits: fields.clientMaxWindowBits.value ?? 15
        )
    }
}

/// The parameter tokens of RFC 7692 §7.1, lower-case.
enum PerMessageDeflateParameterName {
    static let serverNoContextTakeover = "server_no_context_takeover"
    static let clientNoContextTakeover = "client_no_context_takeover"
    static let serverMaxWindowBits = "server_max_window_bits"
    static let clientMaxWindowBits = "client_max_window_bits"
}

/// Why a permessage-deflate offer was declined (server) or an answer rejected (client).
public struct PerMessageDeflateNegotiationError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: Hashable, Sendable {
            case malformed, unknownParameter, duplicateParameter, invalidValue
            case parameterNotOffered, missingParameter, windowBits8Unsupported
            case unexpectedExtension, multipleAnswers, disabled
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The header does not follow the RFC 6455 §9.1 grammar (`syntax` says where).
        public static let malformed = Code(.malformed)
        /// A parameter RFC 7692 does not define (§7: decline / fail).
        public static let unknownParameter = Code(.unknownParameter)
        /// A parameter given twice (§7: decline / fail).
        public static let duplicateParameter = Code(.duplicateParameter)
        /// A value where none is allowed, none where one is needed, or out of 8...15.
        public static let invalidValue = Code(.invalidValue)
        /// The answer holds a parameter the offer did not allow (`client_max_window_bits`
        /// not offered, §7.1.2.2) or a window larger than offered (§7.1.2.1).
        public static let parameterNotOffered = Code(.parameterNotOffered)
        /// The answer lacks a parameter the offer required (`server_no_context_takeover`,
        /// `server_max_window_bits`, §7.1.1.1, §7.1.2.1).
        public static let missingParameter = Code(.missingParameter)
        /// Our compressor would have to use an 8-bit window, which zlib cannot produce for
        /// raw deflate (see Spec/permessage-deflate.md, "window bits 8").
        public static let windowBits8Unsupported = Code(.windowBits8Unsupported)
        /// An answer names an extension other than permessage-deflate.
        public static let unexpectedExtension = Code(.unexpectedExtension)
        /// The server accepted permessage-deflate more than once.
        public static let multipleAnswers = Code(.multipleAnswers)
        /// The server policy has permessage-deflate turned off.
        public static let disabled = Code(.disabled)

        /// Stable kebab-case name (printed by the CLI).
        public var name: String {
            switch base {
            case .malformed: "malformed"
            case .unknownParameter: "unknown-parameter"
            case .duplicateParameter: "duplicate-parameter"
            case .invalidValue: "invalid-value"
            case .parameterNotOffered: "parameter-not-offered"
            case .missingParameter: "missing-parameter"
            case .windowBits8Unsupported: "window-bits-8-unsupported"
            case .unexpectedExtension: "unexpected-extension"
            case .multipleAnswers: "multiple-answers"
            case .disabled: "disabled"
            }
        }
        public var description: String { name }
    }

    public var code: Code
    /// The parameter concerned, as written, when there is one.
    public var parameter: String?
    /// The syntax error behind `.malformed`.
    package var syntax: ExtensionHeaderError?

    package init(_ code: Code, parameter: String? = nil, syntax: ExtensionHeaderError? = nil) {
        self.code = code
        self.parameter = parameter
        self.syntax = syntax
    }

    public var description: String {
        var text = code.name
        if let parameter { text += " (\(parameter))" }
        if let syntax { text += ": \(syntax)" }
        return text
    }
}

/// The four parameters of one permessage-deflate element, checked for the RFC 7692 §7
/// rules common to offers and answers: known names only, each at most once, values as the
/// parameter requires.
struct PerMessageDeflateFields: Hashable {
    enum ClientWindow: Hashable {
        case absent, valueless, bits(Int)
        var value: Int? { if case .bits(let bits) = self { bits } else { nil } }
    }
    var serverNoContextTakeover = false
    var clientNoContextTakeover = false
    var serverMaxWindowBits: Int?
    var clientMaxWindowBits = ClientWindow.absent

    /// `isOffer`: `client_max_window_bits` may then have no value (§7.1.2.2); in an
    /// answer it must have one.
    init(_ element: WebSocketExtension, isOffer: Bool) throws(PerMessageDeflateNegotiationError) {
        var seen: (Bool, Bool, Bool, Bool) = (false, false, false, false)
        typealias Name = PerMessageDeflateParameterName
        for parameter in element.parameters {
            let name = parameter.name
            if ExtensionHeader.equalsIgnoringCase(name, Name.serverNoContextTakeover) {
                try Self.once(&seen.0, name)
                guard parameter.value == nil else { throw .init(.invalidValue, parameter: name) }
                serverNoContextTakeover = true
            } else if ExtensionHeader.equalsIgnoringCase(name, Name.clientNoContextTakeover) {
                try Self.once(&seen.1, name)
                guard parameter.value == nil else { throw .init(.invalidValue, parameter: name) }
                clientNoContextTakeover = true
            } else if ExtensionHeader.equalsIgnoringCase(name, Name.serverMaxWindowBits) {
                try Self.once(&seen.2, name)
                serverMaxWindowBits = try Self.windowBits(parameter.value, name)
            } else if ExtensionHeader.equalsIgnoringCase(name, Name.clientMaxWindowBits) {
                try Self.once(&seen.3, name)
                if parameter.value == nil && isOffer {
                    clientMaxWindowBits = .valueless
                } else {
                    clientMaxWindowBits = .bits(try Self.windowBits(parameter.value, name))
                }
            } else {
                throw .init(.unknownParameter, parameter: name)
            }
        }
    }

    private static func once(_ seen: inout Bool, _ name: String) throws(PerMessageDeflateNegotiationError) {
        if seen { throw .init(.duplicateParameter, parameter: name) }
        seen = true
    }

    /// `1*DIGIT` with a value in 8...15 (RFC 7692 §7.1.2.1). Quoted values arrive unquoted.
    private static func windowBits(_ value: String?, _ name: String) throws(PerMessageDeflateNegotiationError) -> Int {
        guard let value, !value.isEmpty, value.utf8.count <= 4,
            value.utf8.allSatisfy({ ASCII.is($0, ASCII.digit) }),
            let bits = Int(value), PerMessageDeflateParameters.windowBitsRange.contains(bits)
        else { throw .init(.invalidValue, parameter: name) }
        return bits
    }
}
