import Testing
import WireCodecCLI
import WireCore
import WireWebSocket

/// `wirecodec ws decode/encode --deflate '...'`: the agreed parameters are honoured.
@Suite struct PerMessageDeflateCLITests {
    static func decode(_ bytes: [UInt8], role: Role = .client, deflate: String?) throws -> [String] {
        let parameters = try deflate.map { text throws(PerMessageDeflateNegotiationError) in try PerMessageDeflateParameters(parsing: text) }
        return WebSocketDecode.decode(bytes, options: .init(role: role, deflate: parameters)).map(\.serialized)
    }

    static func encode(_ lines: String, role: Role = .server, fragmentSize: Int? = nil, deflate: String) throws -> [UInt8] {
        let parameters = try PerMessageDeflateParameters(parsing: deflate)
        return try WebSocketEncode.encode(Array(lines.utf8), options: .init(
            role: role, maskingKey: role == .client ? WebSocketMaskingKey([1, 2, 3, 4]) : nil,
            fragmentSize: fragmentSize, deflate: parameters))
    }

    static let hello = #"{"type":"text","data_b64":"SGVsbG8="}"#

    /// RFC 7692 §7.2.3.2 through the CLI: with context takeover the second "Hello" is
    /// `f2 00 11 00 00`; with server_no_context_takeover both are the full form.
    @Test func encodeHonoursContextTakeover() throws {
        let twice = Self.hello + "\n" + Self.hello + "\n"
        #expect(try Self.encode(twice, deflate: "permessage-deflate")
            == [0xC1, 0x07, 0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00, 0xC1, 0x05, 0xF2, 0x00, 0x11, 0x00, 0x00])
        #expect(try Self.encode(twice, deflate: "permessage-deflate; server_no_context_takeover")
            == [0xC1, 0x07, 0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00, 0xC1, 0x07, 0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00])
        // RSV1 on the first fragment only.
        #expect(try Self.encode(Self.hello, fragmentSize: 4, deflate: "permessage-deflate")
            == [0x41, 0x04, 0xF2, 0x48, 0xCD, 0xC9, 0x80, 0x03, 0xC9, 0x07, 0x00])
    }

    @Test func decodeInflatesAndReportsErrors() throws {
        let frames: [UInt8] = [0xC1, 0x07, 0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00, 0xC1, 0x05, 0xF2, 0x00, 0x11, 0x00, 0x00]
        #expect(try Self.decode(frames, deflate: "permessage-deflate") == [Self.hello, Self.hello])
        // Without --deflate RSV1 is a protocol error; with the context dropped the second fails.
        #expect(try Self.decode(frames, deflate: nil) == [#"{"type":"error","close_code":1002,"reason":"reserved-bits-set"}"#])
        #expect(try Self.decode(frames, deflate: "permessage-deflate; server_no_context_takeover")
            == [Self.hello, #"{"type":"error","close_code":1007,"reason":"invalid-compressed-data"}"#])
    }

    /// Every window and takeover setting, both roles: encode then decode gives the lines back.
    @Test(arguments: [
        "permessage-deflate",
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
        "permessage-deflate; server_max_window_bits=9; client_max_window_bits=9",
        "permessage-deflate; server_max_window_bits=12; client_max_window_bits=10; client_no_context_takeover",
    ], Role.allCases)
    func roundTrip(deflate: String, role: Role) throws {
        let lines = [Self.hello, #"{"type":"binary","data_b64":""}"#, #"{"type":"ping","data_b64":"AQI="}"#, Self.hello]
        let wire = try Self.encode(lines.joined(separator: "\n"), role: role, fragmentSize: 2, deflate: deflate)
        #expect(try Self.decode(wire, role: role.peer, deflate: deflate) == lines)
    }

    @Test func eightBitsForOurCompressorIsAUsageError() {
        #expect(throws: CLIUsageError.self) {
            _ = try Self.encode(Self.hello, role: .client, deflate: "permessage-deflate; client_max_window_bits=8")
        }
        // Receiving from a peer that compresses with 8 is fine.
        #expect((try? Self.decode([], role: .client, deflate: "permessage-deflate; server_max_window_bits=8")) == [])
    }
}
