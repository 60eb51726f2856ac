import Testing
import WireCore
@testable import WireWebSocket

/// The close payload rule, in the one place the connection writes close frames through.
@Suite struct ClosePayloadTests {
    /// A close the connection decides on itself with a reason longer than a close frame holds
    /// (125 − 2 bytes) is cut at a character boundary, never inside a UTF-8 sequence: the peer
    /// would fail the connection with 1007 on a split character (§5.5.1, §8.1).
    @Test func ownCloseReasonIsCutAtACharacterBoundary() throws {
        var connection = openConnection(.server)
        let reason = String(repeating: "é", count: 62)          // 124 bytes: byte 123 splits an é
        connection.writeOwnClose(WebSocketClose(code: .normalClosure, reason: reason))
        let written = try #require(frames(connection.takeOutbound(), sentBy: .server).first)
        #expect(written.opcode == .close)
        #expect(written.payload.count <= 125)
        let close = try WebSocketClose.parse(written.payload.span)
        #expect(close.code == .normalClosure)
        #expect(close.reason == String(repeating: "é", count: 61))
    }
}
