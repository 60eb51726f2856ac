import Testing
import TestSupport
import WireCore
import WireWebSocket

/// Gather writes (WS-5.2-12): a transport writes the header alone and then the payload, masked
/// in place in its own buffer, without copying it behind the header. The bytes on the wire are
/// the same as the send pipeline's.
@Suite struct GatherWriteTests {
    @Test(arguments: [Role.client, .server], [0, 1, 125, 126, 65535, 65536])
    func headerThenPayloadEqualsWriteFrame(role: Role, length: Int) throws {
        var rng = SplitMix64(seed: UInt64(length) &+ 7)
        let payload = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let expected = try sent(.binary, payload, by: role)
        // The same header (the sender's masking key, when it masks).
        var parser = WebSocketFrameParser(role: role.peer)
        guard case .head(let sentHeader)? = try parser.parse(expected.span).event else {
            Issue.record("the sender wrote no frame header")
            return
        }
        let header = WebSocketFrameHeader(opcode: .binary, maskingKey: sentHeader.maskingKey, payloadLength: payload.count)

        // The header into a fixed 14-byte scratch (as a transport's iovec would point at it).
        #expect((header.maskingKey != nil) == (role == .client))
        var scratch = [UInt8](repeating: 0, count: WebSocketFrameHeader.maxEncodedSize)
        let headerLength = scratch.withUnsafeMutableBytes { header.write(to: $0.baseAddress!) }
        #expect(headerLength == header.encodedSize)
        // The payload masked in place in the application's own buffer.
        var body = payload
        header.maskingKey?.apply(to: &body)
        #expect(Array(scratch.prefix(headerLength)) + body == expected)

        // And the header written by `write(into:)` is the same bytes.
        var appended: [UInt8] = []
        header.write(into: &appended)
        #expect(appended == Array(scratch.prefix(headerLength)))
    }
}
