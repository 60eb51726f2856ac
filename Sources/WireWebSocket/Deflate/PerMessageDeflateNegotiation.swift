// permessage-deflate negotiation (RFC 7692 §5, §7.1), kept apart from the negotiated
// extension (`PerMessageDeflate`): a client builds offers and checks the answer, a server
// picks the first acceptable offer under its policy. Both end in `PerMessageDeflateParameters`.

/// What a client asks for: one or more permessage-deflate offers, most preferred first
/// (later ones are fallbacks, RFC 7692 §5.1).
public struct PerMessageDeflateClientOffer: Sendable, Hashable {
    /// One permessage-deflate element of the client's `Sec-WebSocket-Extensions`.
    public struct Offer: Sendable, Hashable {
        /// How the offer speaks of the client's own window (`client_max_window_bits`).
        public enum ClientWindow: Sendable, Hashable {
            /// Not mentioned: the server cannot limit our window; we use 15 bits.
            case notOffered
            /// Valueless: the server may answer with a limit (RFC 7692 §7.1.2.2).
            case negotiable
            /// With a value 9...15: we will use at most this, and the server may lower it.
            /// (8 would force our compressor to a window zlib cannot produce; an answer
            /// of 8 fails with `.windowBits8Unsupported`.)
            case limit(Int)
        }

        /// Ask the server to reset its compressor per message (saves our inflate memory
        /// between messages).
        public var requestServerNoContextTakeover: Bool
        /// Tell the server we reset our compressor per message.
        public var clientNoContextTakeover: Bool
        /// Ask the server to compress with at most this many window bits (8...15).
        public var requestServerMaxWindowBits: Int?
        public var clientMaxWindowBits: ClientWindow

        public init(
            requestServerNoContextTakeover: Bool = false,
            clientNoContextTakeover: Bool = false,
            requestServerMaxWindowBits: Int? = nil,
            clientMaxWindowBits: ClientWindow = .negotiable
        ) {
            self.requestServerNoContextTakeover = requestServerNoContextTakeover
            self.clientNoContextTakeover = clientNoContextTakeover
            self.requestServerMaxWindowBits = requestServerMaxWindowBits
            self.clientMaxWindowBits = clientMaxWindowBits
        }

        /// The offer as a header element.
        package var `extension`: WebSocketExtension {
            typealias Name = PerMessageDeflateParameterName
            var parameters: [WebSocketExtension.Parameter] = []
            if requestServerNoContextTakeover { parameters.append(.init(Name.serverNoContextTakeover)) }
            if clientNoContextTakeover { parameters.append(.init(Name.clientNoContextTakeover)) }
            if let bits = requestServerMaxWindowBits {
                parameters.append(.init(Name.serverMaxWindowBits, value: String(bits)))
            }
            switch clientMaxWindowBits {
            case .notOffered: break
            case .negotiable: parameters.append(.init(Name.clientMaxWindowBits))
            case .limit(let bits): parameters.append(.init(Name.clientMaxWindowBits, value: String(bits)))
            }
            return WebSocketExtension(name: PerMessageDeflateParameters.extensionName, parameters: parameters)
        }

        /// Checks one answer element against this offer (RFC 7692 §7.1 per parameter).
        package func agreedParameters(
            answer: WebSocketExtension
        ) throws(PerMessageDeflateNegotiationError) -> PerMessageDeflateParameters {
            guard answer.hasName(PerMessageDeflateParameters.extensionName) else { throw .init(.unexpectedExtension) }
            let fields = try PerMessageDeflateFields(answer, isOffer: false)
            typealias Name = PerMessageDeflateParameterName
            var agreed = PerMessageDeflateParameters()

            // §7.1.1.1: the server may add it unasked; if we asked, it must be there.
            if requestServerNoContextTakeover && !fields.serverNoContextTakeover {
                throw .init(.missingParameter, parameter: Name.serverNoContextTakeover)
            }
            agreed.serverNoContextTakeover = fields.serverNoContextTakeover
            // §7.1.1.2: the server may always ask us to reset; our own hint binds us too.
            agreed.clientNoContextTakeover = fields.clientNoContextTakeover || clientNoContextTakeover

            // §7.1.2.1: unasked the server may still limit itself; asked, it must answer ≤ N.
            if let requested = requestServerMaxWindowBits {
                guard let answered = fields.serverMaxWindowBits else {
                    throw .init(.missingParameter, parameter: Name.serverMaxWindowBits)
                }
                guard answered <= requested else { throw .init(.parameterNotOffered, parameter: Name.serverMaxWindowBits) }
            }
            agreed.serverMaxWindowBits = fields.serverMaxWindowBits ?? 15

            // §7.1.2.2: only when offered; an offered limit binds us even if not echoed.
            switch (clientMaxWindowBits, fields.clientMaxWindowBits.value) {
            case (.notOffered, nil): agreed.clientMaxWindowBits = 15
            case (.notOffered, .some): throw .init(.parameterNotOffered, parameter: Name.clientMaxWindowBits)
            case (.negotiable, let answered): agreed.clientMaxWindowBits = answered ?? 15
            case (.limit(let limit), nil): agreed.clientMaxWindowBits = limit
            case (.limit(let limit), let answered?):
                guard answered <= limit else { throw .init(.parameterNotOffered, parameter: Name.clientMaxWindowBits) }
                agreed.clientMaxWindowBits = answered
            }
            if agreed.clientMaxWindowBits == 8 {
                throw .init(.windowBits8Unsupported, parameter: Name.clientMaxWindowBits)
            }
            return agreed
        }
    }

    /// The offers in order of preference.
    public var offers: [Offer]

    /// The default asks for nothing and lets the server limit our window, as browsers do:
    /// `permessage-deflate; client_max_window_bits`.
    public init(_ offers: [Offer] = [Offer()]) {
        self.offers = offers
    }

    /// The elements to send, in order.
    package var extensions: [WebSocketExtension] { offers.map(\.extension) }

    /// The `Sec-WebSocket-Extensions` value: the offers comma-separated.
    public var headerValue: String { ExtensionHeader.serialize(extensions) }

    /// Checks the server's `Sec-WebSocket-Extensions` field lines (RFC 6455 §9.1, RFC 7692 §5).
    ///
    /// Returns `nil` when the server did not accept permessage-deflate (no field, or no
    /// lines). The answer is checked against each offer in turn and the first it fits wins;
    /// if it fits none, the error for the first offer is thrown. Any other extension in the
    /// answer fails with `.unexpectedExtension` (we offered only this one, RFC 6455 §4.1);
    /// a caller that offers more extensions filters the elements and uses
    /// `validate(answer:)` with the permessage-deflate ones.
    public func validate(answerLines lines: [String]) throws(PerMessageDeflateNegotiationError) -> PerMessageDeflateParameters? {
        if lines.allSatisfy({ $0.utf8.allSatisfy { $0 == 0x20 || $0 == 0x09 } }) { return nil }
        let elements: [WebSocketExtension]
        do { elements = try ExtensionHeader.parse(lines) } catch { throw .init(.malformed, syntax: error) }
        for element in elements where !element.hasName(PerMessageDeflateParameters.extensionName) {
            throw .init(.unexpectedExtension, parameter: element.name)
        }
        return try validate(answer: elements)
    }

    /// Checks the server's permessage-deflate answer elements: none means not accepted,
    /// more than one fails (a server accepts at most one offer).
    package func validate(answer: [WebSocketExtension]) throws(PerMessageDeflateNegotiationError) -> PerMessageDeflateParameters? {
        guard let element = answer.first else { return nil }
        guard answer.count == 1 else { throw .init(.multipleAnswers) }
        var firstError: PerMessageDeflateNegotiationError?
        for offer in offers {
            do {
                return try offer.agreedParameters(answer: element)
            } catch {
                if firstError == nil { firstError = error }
            }
        }
        throw firstError ?? .init(.parameterNotOffered)
    }
}

/// How a server answers permessage-deflate offers (RFC 7692 §5, §7.1).
///
/// Window sizes the policy allows are upper bounds: a client may ask for less. Values
/// outside the allowed ranges are clamped (server window 9...15: our compressor never uses
/// 8; client window 8...15).
public struct PerMessageDeflateServerPolicy: Sendable, Hashable {
    /// Off: every offer is declined with `.disabled`.
    public var isEnabled: Bool
    /// The largest window our compressor uses (announced with `server_max_window_bits`
    /// when below 15).
    public var maxServerWindowBits: Int
    /// The largest window we let the client use, when the client offered
    /// `client_max_window_bits` (otherwise RFC 7692 gives us no say and it may use 15).
    public var maxClientWindowBits: Int
    /// Reset our compressor per message, freeing its memory between messages.
    public var serverNoContextTakeover: Bool
    /// Demand that the client resets its compressor per message, so our inflater can free
    /// its window between messages.
    public var clientNoContextTakeover: Bool

    public init(
        isEnabled: Bool = true,
        maxServerWindowBits: Int = 15,
        maxClientWindowBits: Int = 15,
        serverNoContextTakeover: Bool = false,
        clientNoContextTakeover: Bool = false
    ) {
        self.isEnabled = isEnabled
        self.maxServerWindowBits = maxServerWindowBits
        self.maxClientWindowBits = maxClientWindowBits
        self.serverNoContextTakeover = serverNoContextTakeover
        self.clientNoContextTakeover = clientNoContextTakeover
    }

    /// A declined offer: its position among the permessage-deflate elements of the request
    /// (0-based), and why.
    public struct Declined: Sendable, Hashable {
        public var offerIndex: Int
        public var reason: PerMessageDeflateNegotiationError
    }

    /// The accepted offer: what both ends use, and the element to answer with.
    public struct Acceptance: Sendable, Hashable {
        public var offerIndex: Int
        public var parameters: PerMessageDeflateParameters
        package var response: WebSocketExtension
        /// `response` written as a header value.
        public var headerValue: String { response.headerValue }
    }

    public struct Outcome: Sendable, Hashable {
        /// `nil`: answer without permessage-deflate.
        public var acceptance: Acceptance?
        /// Offers considered and declined before the accepted one (or all, if none was).
        public var declined: [Declined]
    }

    /// Picks the first acceptable permessage-deflate offer among the request's
    /// `Sec-WebSocket-Extensions` field lines; other extensions are skipped, malformed
    /// elements are declined with their syntax error and negotiation goes on.
    public func negotiate(requestLines lines: [String]) -> Outcome {
        negotiate(offers: ExtensionHeader.elements(of: lines))
    }

    /// Picks the first acceptable permessage-deflate offer among parsed elements.
    package func negotiate(offers elements: [ExtensionHeader.Element]) -> Outcome {
        var declined: [Declined] = []
        var index = 0
        for element in elements {
            let result: Result<(PerMessageDeflateParameters, WebSocketExtension), PerMessageDeflateNegotiationError>
            switch element {
            case .valid(let ext):
                guard ext.hasName(PerMessageDeflateParameters.extensionName) else { continue }
                do throws(PerMessageDeflateNegotiationError) {
                    result = .success(try answer(ext))
                } catch {
                    result = .failure(error)
                }
            case .malformed(let name, let error):
                guard let name, ExtensionHeader.equalsIgnoringCase(name, PerMessageDeflateParameters.extensionName) else {
                    continue
                }
                result = .failure(.init(.malformed, syntax: error))
            }
            switch result {
            case .success(let (parameters, response)):
                return Outcome(
                    acceptance: Acceptance(offerIndex: index, parameters: parameters, response: response),
                    declined: declined)
            case .failure(let reason):
                declined.append(Declined(offerIndex: index, reason: reason))
            }
            index += 1
        }
        return Outcome(acceptance: nil, declined: declined)
    }

    /// The agreed parameters and response for one well-formed offer, or why it is declined.
    package func answer(
        _ offer: WebSocketExtension
    ) throws(PerMessageDeflateNegotiationError) -> (PerMessageDeflateParameters, WebSocketExtension) {
        guard isEnabled else { throw .init(.disabled) }
        let fields = try PerMessageDeflateFields(offer, isOffer: true)
        typealias Name = PerMessageDeflateParameterName
        var agreed = PerMessageDeflateParameters()
        var response: [WebSocketExtension.Parameter] = []

        // §7.1.1.1: accepting an offer with it means including it; we may add it unasked.
        agreed.serverNoContextTakeover = fields.serverNoContextTakeover || serverNoContextTakeover
        if agreed.serverNoContextTakeover { response.append(.init(Name.serverNoContextTakeover)) }
        // §7.1.1.2: we may always demand it; echoing the client's hint is harmless.
        agreed.clientNoContextTakeover = fields.clientNoContextTakeover || clientNoContextTakeover
        if agreed.clientNoContextTakeover { response.append(.init(Name.clientNoContextTakeover)) }

        // §7.1.2.1: an offered limit must be answered with a value ≤ it; our own limit may be
        // announced unasked. zlib cannot deflate raw with 8, so an offer demanding 8 is declined.
        let serverCap = Swift.min(15, Swift.max(9, maxServerWindowBits))
        let serverBits = Swift.min(fields.serverMaxWindowBits ?? 15, serverCap)
        if serverBits == 8 { throw .init(.windowBits8Unsupported, parameter: Name.serverMaxWindowBits) }
        agreed.serverMaxWindowBits = serverBits
        if fields.serverMaxWindowBits != nil || serverBits < 15 {
            response.append(.init(Name.serverMaxWindowBits, value: String(serverBits)))
        }

        // §7.1.2.2: only if offered may we answer it, with a value ≤ the offered hint.
        let clientCap = Swift.min(15, Swift.max(8, maxClientWindowBits))
        switch fields.clientMaxWindowBits {
        case .absent:
            agreed.clientMaxWindowBits = 15
        case .valueless:
            agreed.clientMaxWindowBits = clientCap
            if clientCap < 15 { response.append(.init(Name.clientMaxWindowBits, value: String(clientCap))) }
        case .bits(let hint):
            agreed.clientMaxWindowBits = Swift.min(hint, clientCap)
            response.append(.init(Name.clientMaxWindowBits, value: String(agreed.clientMaxWindowBits)))
        }
        return (agreed, WebSocketExtension(name: PerMessageDeflateParameters.extensionName, parameters: response))
    }
}
