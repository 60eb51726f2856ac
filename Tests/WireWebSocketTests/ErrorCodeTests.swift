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

    @Test func errorsStaySmall() {
        #expect(MemoryLayout<WebSocketProtocolError>.size <= 12)
        let error = WebSocketProtocolError(.invalidUTF8, offset: 7)
        #expect(error.description == "WebSocketProtocolError(invalid-utf8, close code 1007, at byte 7)")
    }
}
