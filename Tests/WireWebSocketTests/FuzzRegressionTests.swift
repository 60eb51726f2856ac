import Testing
import TestSupport
import WireCore
@testable import WireWebSocket

/// Inputs the fuzz targets (Tests/Fuzz, Spec/fuzzing.md) found, minimised to what they show.
@Suite struct WebSocketFuzzRegressionTests {
    /// ws-decoder: an error found in inflated data (corrupt deflate, or invalid UTF-8 in the
    /// inflated text) was reported at the offset of whichever input piece was being inflated,
    /// so the same bytes split differently gave different offsets. Such errors are reported at
    /// the first payload byte of the frame being inflated, whatever the split.
    @Test(arguments: [
        // A stored block "hello" (not final), then a block of the reserved type 3 (corrupt).
        ([0x00, 0x05, 0x00, 0xFA, 0xFF, 0x68, 0x65, 0x6C, 0x6C, 0x6F, 0x07] as [UInt8], "invalid-compressed-data"),
        // A final stored block "a\u{FF}b": the inflated text is not UTF-8.
        ([0x01, 0x03, 0x00, 0xFC, 0xFF, 0x61, 0xFF, 0x62], "invalid-utf8"),
    ])
    func inflatedErrorOffsetDoesNotDependOnTheSplit(payload: [UInt8], code: String) {
        let frame: [UInt8] = [0xC1, UInt8(payload.count)] + payload   // FIN, RSV1, text, unmasked
        for chunks in Chunkings.standard(of: frame) {
            let result = decodeMessages(chunks, role: .client)
            guard case .failure(let error) = result else {
                Issue.record("decoded \(result) for \(chunks)")
                continue
            }
            #expect(error.code.name == code)
            #expect(error.offset == 2, "chunks \(chunks.map(\.count))")
        }
    }

    /// ws-decoder: corrupt deflate data after inflated bytes that are not UTF-8 failed with
    /// `invalid-compressed-data` when both arrived in one piece (zlib failed before the
    /// assembler saw the output) but with `invalid-utf8` when split (the output was checked
    /// first). What zlib produced before failing is now checked first, whatever the split.
    @Test func invalidTextBeforeCorruptDataFailsTheSameWayUnderEverySplit() {
        // A stored block (not final) holding "a\u{FF}", then a block of the reserved type 3.
        let payload: [UInt8] = [0x00, 0x02, 0x00, 0xFD, 0xFF, 0x61, 0xFF, 0x07]
        let frame: [UInt8] = [0xC1, UInt8(payload.count)] + payload
        for chunks in Chunkings.standard(of: frame) {
            let result = decodeMessages(chunks, role: .client)
            guard case .failure(let error) = result else {
                Issue.record("decoded \(result) for \(chunks)")
                continue
            }
            #expect(error.code.name == "invalid-utf8", "chunks \(chunks.map(\.count))")
            #expect(error.closeCode == .invalidFramePayloadData)
            #expect(error.offset == 2)
        }
    }

    /// Differential test against NIOWebSocket: with `allowNonMinimalLengths`, a control frame
    /// whose length (≤ 125) was written in the 16- or 64-bit form failed with
    /// `control-frame-too-long`, judged by the 7-bit length field alone. The limit is on the
    /// length itself (RFC 6455 §5.5).
    @Test func nonMinimalControlFrameLengthIsJudgedByItsValue() {
        // Unmasked pings (client role) carrying "hi", the length written as 16 and as 64 bits.
        let short16 = hex("89 7e 0002 6869")
        let short64 = hex("89 7f 0000000000000002 6869")
        for input in [short16, short64] {
            for chunks in Chunkings.standard(of: input) {
                let lenient = parseStreaming(chunks, role: .client, allowNonMinimalLengths: true)
                #expect(lenient.error == nil, "\(lenient)")
                #expect(lenient.frames == [WebSocketFrame(opcode: .ping, payload: Array("hi".utf8))])
            }
            // Strict (the default): refused as soon as the first two bytes are in.
            #expect(parseStreaming(input, role: .client).error?.closeCode == .protocolError)
        }
        // 126 bytes is too long for a control frame however it is written.
        let long16 = hex("89 7e 007e") + [UInt8](repeating: 0x61, count: 126)
        let result = parseStreaming(long16, role: .client, allowNonMinimalLengths: true)
        #expect(result.error?.code == .controlFrameTooLong)
        #expect(result.error?.closeCode == .protocolError)
    }

    /// ws-assembler: a compressed text message's inflated piece that is both over the
    /// message limit and not UTF-8 failed with `message-too-large` when it came in one piece,
    /// but with `invalid-utf8` when split (the first part was checked alone). The violation
    /// that comes first in the message is reported, whatever the split.
    @Test func earliestViolationWinsInAnOversizedPiece() {
        // 16 bytes of application data, the 3rd not UTF-8, with room for 8.
        let data: [UInt8] = Array("ab".utf8) + [0xFF] + Array("cdefghijklmno".utf8)
        let header = WebSocketFrameHeader(fin: true, reserved: .rsv1, opcode: .text, payloadLength: 16)
        for cut in 0...data.count {
            var assembler = WebSocketMessageAssembler(limits: WebSocketLimits(maxFrameSize: 125, maxMessageSize: 8))
            var caught: WebSocketProtocolError? = nil
            do throws(WebSocketProtocolError) {
                _ = try assembler.frameStarted(header, at: 0)
                let first = Array(data[..<cut]), second = Array(data[cut...])
                try assembler.payload(first.span, at: 2)
                try assembler.payload(second.span, at: 2 + cut)
            } catch {
                caught = error
            }
            #expect(caught?.code == .invalidUTF8, "cut at \(cut)")
            #expect(caught?.offset == 4, "cut at \(cut)")
        }
    }

    /// pmd-inflate (CI smoke run): a stream that the peer said it compressed with a 12-bit
    /// window but whose matches reach further back (up to 32 KiB) inflated whole, yet failed
    /// with 1007 when its second piece was inflated in smaller output steps: zlib accepts a
    /// distance beyond its window when the match lies in the output of the same call. Our
    /// inflater now always keeps a 15-bit window, so what a stream decodes to no longer depends
    /// on how it was cut (zlib's output for it: 29,315 bytes, as Python's zlib gives).
    @Test func distanceBeyondTheAgreedWindowInflatesTheSameUnderEverySplit() throws {
        let message = hex("ecc13101 000000c2 a0f54f6d 085fa000 00000000 00000000 00fd0000 00000000 00000000 00000000 00000000 17b7d2c3 105d7866 c5cb")
        let parameters = PerMessageDeflateParameters(clientNoContextTakeover: true, clientMaxWindowBits: 12)
        var whole = makeDeflate(parameters, role: .server)
        let expected = try inflated(&whole, [message])
        #expect(expected.count == 29_315)
        for chunks in Chunkings.standard(of: message, randomCount: 8) {
            var pmd = makeDeflate(parameters, role: .server)
            let pieces = chunks.map { Array($0) }.filter { !$0.isEmpty }
            #expect(try inflated(&pmd, pieces) == expected, "pieces \(pieces.map(\.count))")
        }
    }
}
