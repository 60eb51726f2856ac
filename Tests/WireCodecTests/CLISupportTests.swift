import Testing
import WireCodecCLI
import WireCore

@Suite struct CLISupportTests {
    @Test func jsonKeepsKeyOrderAndEscapes() {
        let value = JSONValue.object([
            ("type", .string("text")),
            ("code", .null),
            ("data", .latin1([0x00, 0x22, 0x5C, 0xFF, 0x41])),
            ("list", .array([.int(-1), .bool(true)])),
        ])
        #expect(value.serialized == #"{"type":"text","code":null,"data":"\u0000\"\\\u00ffA","list":[-1,true]}"#)
        #expect(JSONValue.string("\u{1F600}").serialized == #""\ud83d\ude00""#)
    }

    @Test(arguments: [
        ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy"),
    ])
    func base64MatchesRFC4648Vectors(plain: String, encoded: String) throws {
        #expect(Base64.encode(Array(plain.utf8)) == encoded)
        #expect(try Base64.decode(Array(encoded.utf8)) == Array(plain.utf8))
    }

    @Test(arguments: ["Zg=", "Z===", "Zm9v!", "Zg==Zg==", "Z"])
    func base64RejectsMalformedText(text: String) {
        #expect(throws: Base64.DecodingError.self) { try Base64.decode(Array(text.utf8)) }
    }

    @Test func hexInputIgnoresWhitespace() throws {
        #expect(try CLIInput.decodeHex(Array("81 05\n48 65\t6c6C6f".utf8)) == [0x81, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F])
        #expect(throws: CLIUsageError.self) { try CLIInput.decodeHex(Array("8".utf8)) }
        #expect(throws: CLIUsageError.self) { try CLIInput.decodeHex(Array("zz".utf8)) }
    }
}
