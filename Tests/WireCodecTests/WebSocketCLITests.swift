import Testing
import WireCodecCLI
import WireCore
import WireWebSocket

@Suite struct WebSocketCLITests {
    static func lines(_ hexText: String, role: Role, maxMessageBytes: Int? = nil) throws -> [String] {
        let input = try CLIInput.decodeHex(Array(hexText.utf8))
        let options = WebSocketDecode.Options(role: role, limits: WebSocketDecode.Options.limits(maxMessageBytes: maxMessageBytes))
        return WebSocketDecode.decode(input, options: options).map(\.serialized)
    }

    @Test func decodeContractLines() throws {
        #expect(try Self.lines("81 85 37 fa 21 3d 7f 9f 4d 51 58 89 80 00 00 00 00 8a 81 01 02 03 04 00 82 80 01 01 01 01 88 87 00 00 00 00 03 e8 62 79 65 c3 a9", role: .server) == [
            #"{"type":"text","data_b64":"SGVsbG8="}"#,
            #"{"type":"ping","data_b64":""}"#,
            #"{"type":"pong","data_b64":"AQ=="}"#,
            #"{"type":"binary","data_b64":""}"#,
            #"{"type":"close","code":1000,"reason":"bye\u00e9"}"#,
        ])
        #expect(try Self.lines("88 00", role: .client) == [#"{"type":"close","code":null,"reason":""}"#])
    }

    @Test func decodeErrorAndIncomplete() throws {
        #expect(try Self.lines("81 05 48 65 6c 6c 6f 83 00", role: .client) == [
            #"{"type":"text","data_b64":"SGVsbG8="}"#, #"{"type":"error","close_code":1002,"reason":"reserved-opcode"}"#,
        ])
        #expect(try Self.lines("81 02 c3 28", role: .client) == [#"{"type":"error","close_code":1007,"reason":"invalid-utf8"}"#])
        #expect(try Self.lines("88 02 03 ed", role: .client) == [#"{"type":"error","close_code":1002,"reason":"invalid-close-code"}"#])
        #expect(try Self.lines("82 03 01 02 03", role: .client, maxMessageBytes: 2) == [#"{"type":"error","close_code":1009,"reason":"message-too-large"}"#])
        #expect(try Self.lines("81 05 48 65", role: .client) == [#"{"type":"incomplete"}"#])
        // Mid-message: the first fragment is complete but the message is not.
        #expect(try Self.lines("01 01 48 89 00", role: .client) == [#"{"type":"ping","data_b64":""}"#, #"{"type":"incomplete"}"#])
        // Nothing after a close frame is decoded.
        #expect(try Self.lines("88 00 83 00", role: .client) == [#"{"type":"close","code":null,"reason":""}"#])
    }

    @Test func encodeThenDecodeRoundTrips() throws {
        let lines = [
            #"{"type":"text","data_b64":"SGVsbG8="}"#, #"{"type":"binary","data_b64":"AAEC/w=="}"#,
            #"{"type":"ping","data_b64":"cGluZw=="}"#, #"{"type":"pong","data_b64":""}"#,
            #"{"type":"text","data_b64":""}"#, #"{"type":"close","code":4000,"reason":"\u00e9t\u00e9"}"#,
        ]
        let input = Array((lines.joined(separator: "\n") + "\n").utf8)
        for role in [Role.client, .server] {
            for fragment in [nil, 1, 3] as [Int?] {
                let bytes = try WebSocketEncode.encode(input, options: .init(role: role, fragmentSize: fragment))
                let decoded = WebSocketDecode.decode(bytes, options: .init(role: role.peer)).map(\.serialized)
                #expect(decoded == lines, "\(role) \(String(describing: fragment))")
            }
        }
    }

    @Test func encodeWithFixedKeyMatchesRFCExample() throws {
        let key = try WebSocketEncode.maskingKey(hex: "37fa213d")
        let bytes = try WebSocketEncode.encode(Array(#"{"type":"text","data_b64":"SGVsbG8="}"#.utf8), options: .init(role: .client, maskingKey: key))
        #expect(bytes == (try CLIInput.decodeHex(Array("81 85 37 fa 21 3d 7f 9f 4d 51 58".utf8))))
        #expect(throws: CLIUsageError.self) { try WebSocketEncode.maskingKey(hex: "37fa21") }
    }

    @Test func encodeRawFramesAndRefusals() throws {
        let raw = try WebSocketEncode.encode(Array(#"{"type":"frame","fin":false,"rsv":4,"opcode":11,"data_b64":"AA=="}"#.utf8), options: .init(role: .server))
        #expect(raw == [0x4B, 0x01, 0x00])
        #expect(throws: CLIUsageError.self) { try WebSocketEncode.encode(Array(#"{"type":"close","code":1006}"#.utf8), options: .init(role: .server)) }
        #expect(throws: CLIUsageError.self) { try WebSocketEncode.encode(Array(#"{"type":"nope"}"#.utf8), options: .init(role: .server)) }
        #expect(throws: CLIUsageError.self) { try WebSocketEncode.encode(Array("{".utf8), options: .init(role: .server)) }
        // Lines that end a decode run write nothing.
        #expect(try WebSocketEncode.encode(Array(#"{"type":"incomplete"}"#.utf8), options: .init(role: .server)).isEmpty)
    }

    @Test func prettyRendersFramesAndMessages() throws {
        let input = try CLIInput.decodeHex(Array("81 85 37 fa 21 3d 7f 9f 4d 51 58 8f 80 00 00 00 00".utf8))
        let text = WebSocketDecode.render(WebSocketDecode.trace(input, options: .init(role: .server)), pretty: true)
        #expect(text.contains("frame  FIN RSV=000 text(1)"))
        #expect(text.contains("mask=37fa213d"))
        #expect(text.contains(#"5 bytes  "Hello""#))
        #expect(text.contains("reserved-opcode (fail with close code 1002)"))
    }
}

@Suite struct JSONParseTests {
    @Test(arguments: [
        #"{"a":1,"b":[true,false,null],"c":"x\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"}"#, #"[]"#, #"{}"#, #" -12 "#, #""""#,
    ])
    func parsesAndReserializes(text: String) throws {
        let value = try JSONParse.parse(text)
        #expect(try JSONParse.parse(value.serialized) == value)
    }

    @Test func keepsKeyOrderAndValues() throws {
        let value = try JSONParse.parse(#"{"type":"close","code":null,"reason":"\u00e9"}"#)
        #expect(value == .object([("type", .string("close")), ("code", .null), ("reason", .string("é"))]))
        #expect(value["reason"] == .string("é"))
    }

    @Test(arguments: [#"{"a":1,}"#, #"{"a" 1}"#, #"[1 2]"#, #"1.5"#, #"01"#, #""\x""#, #""\ud800""#, #"{"a":1,"a":2}"#, "\"a\u{01}\"", "tru", "[1] x"])
    func rejects(text: String) {
        #expect(throws: CLIUsageError.self) { try JSONParse.parse(text) }
    }
}
