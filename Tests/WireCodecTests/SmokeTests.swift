import Testing
import WireCore

@Suite struct ASCIITests {
    @Test func tableMatchesTheGrammar() {
        let tcharExtras = Set("!#$%&'*+-.^_`|~".utf8)
        for b in 0...255 {
            let byte = UInt8(b)
            let isAlnum = (0x30...0x39).contains(b) || (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b)
            #expect(ASCII.isTokenCharacter(byte) == (isAlnum || tcharExtras.contains(byte)), "tchar \(b)")
            #expect(ASCII.is(byte, ASCII.vchar) == (0x21...0x7E).contains(b), "vchar \(b)")
            #expect(ASCII.is(byte, ASCII.obsText) == (b >= 0x80), "obs-text \(b)")
            #expect(ASCII.is(byte, ASCII.control) == (b < 0x20 || b == 0x7F), "CTL \(b)")
            #expect(ASCII.is(byte, ASCII.whitespace) == (b == 0x20 || b == 0x09), "WS \(b)")
            #expect(ASCII.is(byte, ASCII.digit) == (0x30...0x39).contains(b), "DIGIT \(b)")
            #expect((ASCII.hexValue(byte) != nil) == ASCII.is(byte, ASCII.hexDigit), "HEXDIG \(b)")
        }
        #expect(ASCII.hexValue(UInt8(ascii: "f")) == 15)
        #expect(ASCII.hexValue(UInt8(ascii: "A")) == 10)
        #expect(ASCII.lowercased(UInt8(ascii: "Z")) == UInt8(ascii: "z"))
        #expect(ASCII.lowercased(UInt8(ascii: "[")) == UInt8(ascii: "["))
    }

    @Test func caseInsensitiveLiteralComparison() {
        // `#expect` cannot capture a `Span` (it is not Escapable): compare first.
        func matches(_ text: String) -> Bool {
            ASCII.equalsCaseInsensitive(Array(text.utf8).span, lowercase: "websocket")
        }
        #expect(matches("WebSocket"))
        #expect(!matches("WebSockets"))
        #expect(!matches("WebSocke\u{7B}"))
    }

    @Test func roleHasAPeer() {
        #expect(Role.client.peer == .server)
        #expect(Role.server.peer == .client)
    }
}
