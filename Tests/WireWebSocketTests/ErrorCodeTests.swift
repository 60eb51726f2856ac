import Testing
import WireWebSocket

/// `WebSocketProtocolError.Code` is one byte indexing a table of names: each code must name
/// itself, and no two codes may share an index.
@Suite struct ErrorCodeTests {
    static let codes: [(WebSocketProtocolError.Code, String)] = [
        (.reservedOpcode, "reserved-opcode"), (.reservedBitsSet, "reserved-bits-set"),
        (.controlFrameTooLong, "control-frame-too-long"), (.fragmentedControlFrame, "fragmented-control-frame"),
        (.payloadLengthHighBit, "payload-length-high-bit"), (.nonMinimalLength, "non-minimal-length"),
        (.unmaskedFrame, "unmasked-frame"), (.maskedFrame, "masked-frame"), (.frameTooLarge, "frame-too-large"),
        (.unexpectedContinuation, "unexpected-continuation"), (.expectedContinuation, "expected-continuation"),
        (.messageTooLarge, "message-too-large"), (.invalidUTF8, "invalid-utf8"),
        (.misplacedReservedBit, "misplaced-reserved-bit"), (.closePayloadTooShort, "close-payload-too-short"),
        (.invalidCloseCode, "invalid-close-code"), (.invalidCloseReason, "invalid-close-reason"),
        (.invalidCompressedData, "invalid-compressed-data"),
    ]

    @Test func everyCodeNamesItself() {
        for (code, name) in Self.codes {
            #expect(code.name == name)
            #expect(code.description == name)
        }
        #expect(Set(Self.codes.map(\.0)).count == Self.codes.count)
    }

    /// `WebSocketHandshakeError.Code` is stored the same way (one byte): every code names
    /// itself with its stable kebab-case name, and no two share an index.
    @Test func handshakeCodesNameThemselves() {
        let codes: [(WebSocketHandshakeError.Code, String)] = [
            (.methodNotGET, "method-not-get"), (.httpVersionTooOld, "http-version-too-old"), (.missingHost, "missing-host"),
            (.unexpectedBody, "unexpected-body"), (.missingKey, "missing-key"), (.invalidKey, "invalid-key"),
            (.unsupportedVersion, "unsupported-version"), (.originNotAllowed, "origin-not-allowed"),
            (.invalidSubprotocolList, "invalid-subprotocol-list"), (.malformedHTTP, "malformed-http"),
            (.missingUpgrade, "missing-upgrade"), (.missingConnectionUpgrade, "missing-connection-upgrade"),
            (.missingAccept, "missing-accept"), (.acceptMismatch, "accept-mismatch"),
            (.subprotocolNotOffered, "subprotocol-not-offered"), (.extensionNotOffered, "extension-not-offered"),
            (.extensionNegotiationFailed, "extension-negotiation-failed"), (.malformedExtensions, "malformed-extensions"),
            (.timedOut, "handshake-timed-out"), (.endOfStream, "end-of-stream"),
            (.methodNotCONNECT, "method-not-connect"), (.missingProtocol, "missing-protocol"),
            (.unsupportedProtocol, "unsupported-protocol"), (.missingScheme, "missing-scheme"),
            (.invalidScheme, "invalid-scheme"), (.missingPath, "missing-path"),
            (.connectionSpecificField, "connection-specific-field"),
        ]
        for (code, name) in codes {
            #expect(code.name == name)
            #expect(code.description == name)
        }
        #expect(Set(codes.map(\.0)).count == codes.count)
        #expect(MemoryLayout<WebSocketHandshakeError.Code>.size == 1)
    }

    @Test func errorsStaySmall() {
        #expect(MemoryLayout<WebSocketProtocolError>.size <= 12)
        let error = WebSocketProtocolError(.invalidUTF8, offset: 7)
        #expect(error.description == "WebSocketProtocolError(invalid-utf8, close code 1007, at byte 7)")
    }
}
