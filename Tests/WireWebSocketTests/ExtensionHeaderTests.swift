import PropertyBased
import Testing
import TestSupport
@testable import WireWebSocket

private func parse(_ text: String) throws(ExtensionHeaderError) -> [WebSocketExtension] {
    let bytes = Array(text.utf8)
    return try ExtensionHeader.parse(bytes.span)
}

private func elements(_ text: String) -> [ExtensionHeader.Element] {
    let bytes = Array(text.utf8)
    return ExtensionHeader.elements(of: bytes.span)
}

private typealias P = WebSocketExtension.Parameter

@Suite struct ExtensionHeaderTests {
    @Test func singleExtensionWithoutParameters() throws {
        #expect(try parse("permessage-deflate") == [WebSocketExtension(name: "permessage-deflate")])
    }

    @Test func browserOffer() throws {
        let parsed = try parse("permessage-deflate; client_max_window_bits")
        #expect(parsed == [WebSocketExtension(name: "permessage-deflate", parameters: [P("client_max_window_bits")])])
    }

    @Test func severalExtensionsParametersAndOrderAreKept() throws {
        let parsed = try parse("foo; b=2; a=1; b=3, permessage-deflate; server_max_window_bits=10, bar")
        #expect(parsed.map(\.name) == ["foo", "permessage-deflate", "bar"])
        // A repeated parameter stays visible, in order: no dictionary.
        #expect(parsed[0].parameters == [P("b", value: "2"), P("a", value: "1"), P("b", value: "3")])
        #expect(parsed[1].parameters == [P("server_max_window_bits", value: "10")])
    }

    @Test func namesAreCaseInsensitiveAndKeptAsWritten() throws {
        let parsed = try parse("PerMessage-Deflate; Client_Max_Window_Bits")
        #expect(parsed[0].name == "PerMessage-Deflate")
        #expect(parsed[0].hasName("permessage-deflate"))
        #expect(!parsed[0].hasName("permessage-deflatex"))
    }

    @Test(arguments: [
        "permessage-deflate;client_max_window_bits=10",
        "permessage-deflate ; client_max_window_bits = 10 ",
        "\tpermessage-deflate\t;\tclient_max_window_bits\t=\t10\t",
        "permessage-deflate; client_max_window_bits=\"10\"",
        "permessage-deflate; client_max_window_bits=\"1\\0\"",
        ", ,permessage-deflate; client_max_window_bits=10,, ",
    ])
    func whitespaceQuotingAndEmptyElements(_ text: String) throws {
        let parsed = try parse(text)
        #expect(parsed == [WebSocketExtension(name: "permessage-deflate", parameters: [P("client_max_window_bits", value: "10")])])
    }

    @Test func severalFieldLinesAreOneList() throws {
        let parsed = try ExtensionHeader.parse(["a; x", "b, c; y=1"])
        #expect(parsed.map(\.name) == ["a", "b", "c"])
        #expect(ExtensionHeader.elements(of: ["a", "b c"]) == [
            .valid(WebSocketExtension(name: "a")),
            .malformed(name: "b", error: ExtensionHeaderError(.unexpectedCharacter, offset: 2, line: 1)),
        ])
    }

    struct Malformed: Sendable, CustomTestStringConvertible {
        var text: String
        var code: ExtensionHeaderError.Code
        var offset: Int
        var testDescription: String { text }
    }

    @Test(arguments: [
        Malformed(text: "", code: .empty, offset: 0),
        Malformed(text: " , ", code: .empty, offset: 0),
        Malformed(text: ";", code: .expectedExtensionName, offset: 0),
        Malformed(text: "=x", code: .expectedExtensionName, offset: 0),
        Malformed(text: "a;", code: .expectedParameterName, offset: 2),
        Malformed(text: "a; =1", code: .expectedParameterName, offset: 3),
        Malformed(text: "a; b=", code: .expectedParameterValue, offset: 5),
        Malformed(text: "a; b= ;", code: .expectedParameterValue, offset: 6),
        Malformed(text: "a b", code: .unexpectedCharacter, offset: 2),
        Malformed(text: "a; b c", code: .unexpectedCharacter, offset: 5),
        Malformed(text: "a; b=c d", code: .unexpectedCharacter, offset: 7),
        Malformed(text: "a; b=\"c", code: .unterminatedQuotedString, offset: 5),
        Malformed(text: "a; b=\"c\\", code: .unterminatedQuotedString, offset: 5),
        Malformed(text: "a; b=\"\"", code: .quotedValueNotToken, offset: 5),
        Malformed(text: "a; b=\"c d\"", code: .quotedValueNotToken, offset: 5),
        Malformed(text: "a; b=\"c,d\"", code: .quotedValueNotToken, offset: 5),
        Malformed(text: "a; b=\"c\u{1}\"", code: .unexpectedCharacter, offset: 7),
        Malformed(text: "a\u{0}", code: .unexpectedCharacter, offset: 1),
        Malformed(text: "a; b=1=2", code: .unexpectedCharacter, offset: 6),
        Malformed(text: "a; b=\"1\"x", code: .unexpectedCharacter, offset: 8),
        Malformed(text: "a/b", code: .unexpectedCharacter, offset: 1),
    ])
    func malformedValuesAreTypedErrors(_ c: Malformed) {
        #expect(throws: ExtensionHeaderError(c.code, offset: c.offset)) { try parse(c.text) }
    }

    @Test func lenientParsingDeclinesOneElementAndGoesOn() {
        #expect(elements("x y, permessage-deflate") == [
            .malformed(name: "x", error: ExtensionHeaderError(.unexpectedCharacter, offset: 2)),
            .valid(WebSocketExtension(name: "permessage-deflate")),
        ])
        // A comma inside a quoted string does not end the element, even after an error there.
        #expect(elements("a; b=\"\u{1}, c\", d") == [
            .malformed(name: "a", error: ExtensionHeaderError(.unexpectedCharacter, offset: 6)),
            .valid(WebSocketExtension(name: "d")),
        ])
        #expect(elements("a; b=\"c, d\" e, f") == [
            .malformed(name: "a", error: ExtensionHeaderError(.quotedValueNotToken, offset: 5)),
            .valid(WebSocketExtension(name: "f")),
        ])
        #expect(elements(";;, f") == [
            .malformed(name: nil, error: ExtensionHeaderError(.expectedExtensionName, offset: 0)),
            .valid(WebSocketExtension(name: "f")),
        ])
    }

    @Test func serializationRoundTrips() throws {
        let extensions = [
            WebSocketExtension(name: "permessage-deflate", parameters: [P("client_max_window_bits"), P("server_max_window_bits", value: "10")]),
            WebSocketExtension(name: "x-odd", parameters: [P("q", value: "needs quoting")]),
        ]
        let text = ExtensionHeader.serialize(extensions)
        #expect(text == "permessage-deflate; client_max_window_bits; server_max_window_bits=10, x-odd; q=\"needs quoting\"")
        // The quoted non-token value is written faithfully, and rejected on the way in (§9.1).
        #expect(throws: ExtensionHeaderError.self) { try parse(text) }
        #expect(try parse(ExtensionHeader.serialize([extensions[0]])) == [extensions[0]])
    }

    /// Random byte mutations of valid headers never crash; strict parsing succeeds exactly
    /// when every lenient element is valid; what parses re-serializes to the same list.
    @Test func randomMutationsNeverCrash() throws {
        let seeds = [
            "permessage-deflate; client_max_window_bits; server_max_window_bits=10, permessage-deflate",
            "a; b=\"c\\d\", e; f, g=h",
            "permessage-deflate;server_no_context_takeover;client_no_context_takeover",
        ]
        let alphabet: [UInt8] = Array(" \t,;=\"\\a1_-".utf8) + [0x00, 0x7F, 0xC3, 0xFF]
        var rng = SplitMix64(seed: 0x7692)
        for round in 0..<3000 {
            var bytes = Array(seeds[round % seeds.count].utf8)
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                let at = Int(rng.next() % UInt64(bytes.count + 1))
                switch rng.next() % 3 {
                case 0: bytes.insert(alphabet[Int(rng.next() % UInt64(alphabet.count))], at: at)
                case 1: if at < bytes.count { bytes.remove(at: at) }
                default: if at < bytes.count { bytes[at] = alphabet[Int(rng.next() % UInt64(alphabet.count))] }
                }
            }
            let lenient = ExtensionHeader.elements(of: bytes.span)
            let allValid = lenient.allSatisfy { if case .valid = $0 { true } else { false } }
            let strict = Result { () throws(ExtensionHeaderError) in try ExtensionHeader.parse(bytes.span) }
            switch strict {
            case .success(let parsed):
                #expect(allValid)
                let again = try ExtensionHeader.parse([ExtensionHeader.serialize(parsed)])
                #expect(again == parsed)
            case .failure:
                #expect(!allValid || lenient.isEmpty)
            }
        }
    }

    @Test func generatedHeadersParseBack() async {
        let characters = Array("abcXYZ019!#$%&'*+-.^_`|~")
        let token = Gen.int(in: 0...(characters.count - 1)).array(of: 1...6).map { String($0.map { characters[$0] }) }
        let parameter = zip(token, Gen.bool, token)
        let ext = zip(token, parameter.array(of: 0...3))
        await propertyCheck(input: ext.array(of: 1...4)) { list in
            let extensions = list.map { name, parameters in
                WebSocketExtension(name: name, parameters: parameters.map { P($0.0, value: $0.1 ? $0.2 : nil) })
            }
            let parsed = Result { () throws(ExtensionHeaderError) in
                try ExtensionHeader.parse([ExtensionHeader.serialize(extensions)])
            }
            #expect(parsed == .success(extensions))
        }
    }
}
