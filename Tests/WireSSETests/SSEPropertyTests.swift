import Testing
import PropertyBased
import TestSupport
import WireSSE

/// A second, deliberately naive reading of WHATWG HTML §9.2.5–9.2.6 over a whole stream:
/// decode (one BOM dropped, U+FFFD for bad bytes), split into lines on Unicode scalars, then
/// the field rules with `String` operations. The parser must agree with it on any input.
enum SSEReferenceModel {
    static func run(_ bytes: [UInt8]) -> (events: [SSEParseEvent], lastEventID: String, retry: UInt64?) {
        let body = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? Array(bytes.dropFirst(3)) : bytes
        let scalars = Array(String(decoding: body, as: UTF8.self).unicodeScalars)
        var lines: [String] = []
        var current = String.UnicodeScalarView()
        var k = 0
        while k < scalars.count {
            let s = scalars[k]
            if s == "\r" || s == "\n" {
                lines.append(String(current))
                current = String.UnicodeScalarView()
                if s == "\r" && k + 1 < scalars.count && scalars[k + 1] == "\n" { k += 1 }
            } else {
                current.append(s)
            }
            k += 1
        }
        // An unterminated last line is never processed.
        var events: [SSEParseEvent] = []
        var data = "", type = "", idBuffer = "", lastEventID = ""
        var retry: UInt64? = nil
        for line in lines {
            if line.isEmpty {
                lastEventID = idBuffer
                if data.isEmpty { type = ""; continue }
                if data.hasSuffix("\n") { data.removeLast() }
                events.append(.event(SSEEvent(type: type.isEmpty ? "message" : type, data: data, lastEventID: lastEventID)))
                data = ""; type = ""
                continue
            }
            if line.hasPrefix(":") { continue }
            var field = line, value = ""
            if let colon = line.firstIndex(of: ":") {
                field = String(line[..<colon])
                value = String(line[line.index(after: colon)...])
                if value.hasPrefix(" ") { value.removeFirst() }
            }
            switch field {
            case "event": type = value
            case "data": data += value + "\n"
            case "id": if !value.contains("\u{0}") { idBuffer = value }
            case "retry":
                if !value.isEmpty, value.allSatisfy({ $0.isASCII && $0.isNumber }), let n = UInt64(value) {
                    retry = n
                    events.append(.retry(n))
                }
            default: break
            }
        }
        return (events, lastEventID, retry)
    }
}

@Suite struct SSEPropertyTests {
    /// Pieces random streams are made of: field names, separators, every line end, UTF-8,
    /// NUL, a BOM, a stray byte.
    static let tokens: [[UInt8]] = [
        "data", "event", "id", "retry", "data: ", "id: ", "event: ", "retry: ", ":", " ", "  ",
        "\r", "\n", "\r\n", "\n\n", "\r\r", "a", "xyz", "é", "€", "𝄞", "\u{0}", "1", "42", "007", "-",
        "Data", "\t",
    ].map { Array($0.utf8) } + [[0xEF, 0xBB, 0xBF], [0xFF], [0xC3], [0xE2, 0x82]]

    static func randomStream(_ rng: inout SplitMix64) -> [UInt8] {
        var bytes: [UInt8] = []
        if Int.random(in: 0..<4, using: &rng) == 0 { bytes += [0xEF, 0xBB, 0xBF] }
        for _ in 0..<Int.random(in: 0...60, using: &rng) {
            bytes += tokens.randomElement(using: &rng)!
        }
        return bytes
    }

    /// The parser agrees with the reference model on random streams, under random splits.
    @Test func agreesWithTheReferenceModel() async {
        await propertyCheck(count: 400, input: Gen.uint64()) { seed in
            var rng = SplitMix64(seed: seed)
            let bytes = Self.randomStream(&rng)
            let expected = SSEReferenceModel.run(bytes)
            let whole = parseSSE(bytes)
            #expect(whole.error == nil)
            #expect(whole.events == expected.events, "\(bytes)")
            #expect(whole.lastEventID == expected.lastEventID)
            #expect(whole.reconnectionTime == expected.retry)
            let pieces = Chunkings.random(of: bytes, maxPiece: Int.random(in: 1...8, using: &rng), using: &rng)
            #expect(parseSSE(pieces) == whole)
        }
    }

    /// Every cut point and byte-by-byte reads of streams rich in CR, LF and BOM bytes.
    @Test func everySplitOfRandomStreams() {
        var rng = SplitMix64(seed: 0x55E)
        for _ in 0..<40 {
            let bytes = Self.randomStream(&rng)
            let whole = parseSSE(bytes)
            for pieces in Chunkings.standard(of: bytes, randomCount: 4, seed: rng.next()) {
                #expect(parseSSE(pieces) == whole)
            }
        }
    }

    struct Outbound: Hashable {
        var data: String
        var type: String?
        var id: String?
        var retry: UInt64?
    }

    static let dataPieces = ["a", "b c", " ", "\n", "\r", "\r\n", "ü", "€", "𝄞", ":", "data: x", "\u{0}", "id: 1", ""]

    static func randomOutbound(_ rng: inout SplitMix64) -> Outbound {
        func text(_ pieces: [String], max: Int) -> String {
            (0..<Int.random(in: 0...max, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined()
        }
        let safe = ["a", "Z", " ", ":", "ü", "𝄞", "-", "1"]
        return Outbound(
            data: text(dataPieces, max: 8),
            type: Bool.random(using: &rng) ? text(safe, max: 4) : nil,
            id: Bool.random(using: &rng) ? text(safe, max: 4) : nil,
            retry: Int.random(in: 0..<4, using: &rng) == 0 ? UInt64.random(in: 0...100_000, using: &rng) : nil)
    }

    /// serialize → parse gives back each event: data with every line break as LF, the type
    /// (`message` when none), the last event ID carried forward, and each retry.
    @Test func roundTrip() async {
        await propertyCheck(count: 300, input: Gen.uint64()) { seed in
            var rng = SplitMix64(seed: seed)
            let outbound = (0..<Int.random(in: 1...6, using: &rng)).map { _ in Self.randomOutbound(&rng) }
            var bytes: [UInt8] = []
            var expected: [SSEParseEvent] = []
            var lastID = ""
            for o in outbound {
                if Bool.random(using: &rng) { try SSESerializer.writeComment("hb", into: &bytes) }
                try SSESerializer.writeEvent(data: o.data, type: o.type, id: o.id, retry: o.retry, into: &bytes)
                if let id = o.id { lastID = id }
                if let r = o.retry { expected.append(.retry(r)) }
                let data = Self.normalizingLineBreaks(o.data)
                let type = (o.type ?? "").isEmpty ? "message" : o.type!
                expected.append(.event(SSEEvent(type: type, data: data, lastEventID: lastID)))
            }
            let outcome = parseSSE(Chunkings.random(of: bytes, maxPiece: Int.random(in: 1...30, using: &rng), using: &rng))
            #expect(outcome.events == expected)
            #expect(outcome.end == .clean)
            #expect(outcome.lastEventID == lastID)
        }
    }

    /// CRLF, then lone CR, as LF (on scalars: "\r\n" is one `Character`).
    static func normalizingLineBreaks(_ s: String) -> String {
        var out = String.UnicodeScalarView()
        var previousCR = false
        for scalar in s.unicodeScalars {
            if scalar == "\n" && previousCR { previousCR = false; continue }
            previousCR = scalar == "\r"
            out.append(previousCR ? "\n" : scalar)
        }
        return String(out)
    }

    /// The bytes overload writes exactly what the String one writes, for random data.
    @Test func byteAndStringWritersAgree() async {
        await propertyCheck(count: 100, input: Gen.uint64()) { seed in
            var rng = SplitMix64(seed: seed)
            let o = Self.randomOutbound(&rng)
            var a: [UInt8] = [], b: [UInt8] = []
            try SSESerializer.writeEvent(data: o.data, type: o.type, id: o.id, retry: o.retry, into: &a)
            try SSESerializer.writeEvent(data: Array(o.data.utf8).span, type: o.type, id: o.id, retry: o.retry, into: &b)
            #expect(a == b)
        }
    }
}
