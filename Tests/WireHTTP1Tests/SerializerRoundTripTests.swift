import HTTPTypes
import PropertyBased
import Testing
import TestSupport
import WireCore
import WireHTTP1

/// Property: serialize → parse is the identity on random valid messages (requests and
/// responses; Content-Length, chunked with extensions and trailers, no body), whatever the
/// parser's input is cut into.
@Suite struct SerializerRoundTripTests {
    /// A message as plain values, the way both sides should see it.
    struct Message: Equatable, CustomStringConvertible {
        var startLine: [String]  // method + target, or status + reason
        var fields: [[UInt8]]    // "name: value" per field, as bytes
        var body: [UInt8]
        var trailers: [[UInt8]]
        var description: String { "\(startLine) \(fields.count) fields, \(body.count) body bytes, \(trailers.count) trailers" }
    }

    static let tokenChars = Array("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)
    static let reserved: Set<String> = ["content-length", "transfer-encoding", "host", "connection", "upgrade", "expect", "trailer", "te"]

    static func token(_ rng: inout SplitMix64, _ range: ClosedRange<Int>) -> String {
        let n = Int(rng.next() % UInt64(range.count)) + range.lowerBound
        return String(decoding: (0..<n).map { _ in tokenChars[Int(rng.next() % UInt64(tokenChars.count))] }, as: UTF8.self)
    }

    /// field-content: VCHAR, obs-text, SP/HTAB inside; never starting or ending with whitespace.
    static func value(_ rng: inout SplitMix64) -> [UInt8] {
        let n = Int(rng.next() % 24)
        var bytes: [UInt8] = []
        for i in 0..<n {
            let r = rng.next() % 20
            let inner = i > 0 && i < n - 1
            if r == 0 && inner {
                bytes.append(0x20)
            } else if r == 1 && inner {
                bytes.append(0x09)
            } else if r == 2 {
                bytes.append(UInt8(0x80 + rng.next() % 0x80))
            } else {
                bytes.append(UInt8(0x21 + rng.next() % 0x5E))
            }
        }
        return bytes
    }

    static func randomFields(_ rng: inout SplitMix64) -> [(name: String, value: String, bytes: [UInt8])] {
        (0..<Int(rng.next() % 8)).compactMap { _ in
            let name = token(&rng, 1...12)
            guard !reserved.contains(name.lowercased()) else { return nil }
            let v = value(&rng)
            // The raw API takes Strings; ISO-8859-1 is how obs-text octets become a String here,
            // and the serializer writes UTF-8: compare with the UTF-8 octets.
            var string = ""
            for b in v { string.unicodeScalars.append(Unicode.Scalar(b)) }
            return (name, string, Array(name.utf8) + [0x3A, 0x20] + Array(string.utf8))
        }
    }

    /// Builds, serializes and returns (bytes, the message as a parser should see it).
    static func make(seed: Int, kind: HTTP1MessageKind) throws -> ([UInt8], Message) {
        var rng = SplitMix64(seed: UInt64(seed))
        var serializer = HTTP1Serializer(role: kind == .request ? .client : .server)
        var out: [UInt8] = []
        var fields = randomFields(&rng)
        let framing = rng.next() % 3  // 0: Content-Length, 1: chunked, 2: none (request) / length 0
        let body = (0..<Int(rng.next() % 300)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        var expectedBody = body
        switch framing {
        case 0: fields.append(("Content-Length", String(body.count), Array("Content-Length: \(body.count)".utf8)))
        case 1: fields.append(("Transfer-Encoding", "chunked", Array("Transfer-Encoding: chunked".utf8)))
        default: expectedBody = []
        }
        let startLine: [String]
        if kind == .request {
            let host = ("Host", "example.com", Array("Host: example.com".utf8))
            fields.insert(host, at: Int(rng.next() % UInt64(fields.count + 1)))
            let method = ["GET", "POST", "PUT", "DELETE", "PATCH", token(&rng, 1...10)][Int(rng.next() % 6)]
            var target = "/"
            let pchars = Array("abcxyzABCXYZ0189-._~!$&'()*+,;=:@/?".utf8)
            for _ in 0..<Int(rng.next() % 30) { target.unicodeScalars.append(Unicode.Scalar(pchars[Int(rng.next() % UInt64(pchars.count))])) }
            startLine = [method, target]
            try serializer.writeRequestHead(method: method, target: target, fields: fields.map { ($0.name, $0.value) }, into: &out)
        } else {
            let statuses = [200, 201, 202, 206, 301, 400, 404, 418, 500, 503, 599]
            let status = statuses[Int(rng.next() % UInt64(statuses.count))]
            let reason = rng.next() % 4 == 0 ? "" : token(&rng, 1...8) + " " + token(&rng, 1...8)
            startLine = [String(status), reason]
            if framing == 2 { fields.append(("Content-Length", "0", Array("Content-Length: 0".utf8))) }
            try serializer.writeResponseHead(status: status, reason: reason, fields: fields.map { ($0.name, $0.value) }, into: &out)
        }
        var trailers: [[UInt8]] = []
        if framing == 1 {
            var offset = 0
            while offset < body.count {
                let n = min(body.count - offset, Int(rng.next() % 64) + 1)
                let chunk = Array(body[offset..<(offset + n)])
                let extensions = rng.next() % 4 == 0
                    ? [HTTP1Serializer.ChunkExtension(name: token(&rng, 1...6), value: rng.next() % 2 == 0 ? nil : "v \"q\"")] : []
                try serializer.writeChunk(chunk.span, extensions: extensions, into: &out)
                offset += n
            }
            var trailerFields = HTTPFields()
            for f in randomFields(&rng) where !f.value.unicodeScalars.contains(where: { $0.value >= 0x80 }) {
                trailerFields.append(HTTPField(name: HTTPField.Name(f.name)!, value: f.value))
                trailers.append(f.bytes)
            }
            try serializer.writeEnd(trailers: trailerFields, into: &out)
        } else {
            if framing == 0 { try serializer.writeBody(body.span, into: &out) }
            try serializer.writeEnd(into: &out)
        }
        return (out, Message(startLine: startLine, fields: fields.map(\.bytes), body: expectedBody, trailers: trailers))
    }

    /// Parses `pieces` (one message) into a `Message`.
    static func parse(_ pieces: [ArraySlice<UInt8>], kind: HTTP1MessageKind) throws -> Message? {
        var parser = HTTP1Parser(parsing: kind)
        var message = Message(startLine: [], fields: [], body: [], trailers: [])
        var done = false
        func lines(_ block: HTTP1FieldBlock) -> [[UInt8]] {
            (0..<block.count).map { i in block.withField(at: i) { n, v in
                var line: [UInt8] = []
                n.withUnsafeBufferPointer { line += $0 }
                line += [0x3A, 0x20]
                v.withUnsafeBufferPointer { line += $0 }
                return line
            } }
        }
        var pending: [UInt8] = []
        for piece in pieces {
            pending += piece
            while !done {
                let (step, bodyBytes): (HTTP1ParseStep, [UInt8]) = try pending.withUnsafeBufferPointer { buffer in
                    let step = try parser.parse(buffer)
                    if case .body(let r)? = step.event { return (step, Array(buffer[r])) }
                    return (step, [])
                }
                pending.removeFirst(step.consumed)
                guard let event = step.event else { break }
                switch event {
                case .requestHead(let h): message.startLine = [h.method, h.target]; message.fields = lines(h.fields)
                case .responseHead(let h): message.startLine = [String(h.status), h.reason]; message.fields = lines(h.fields)
                case .body: message.body += bodyBytes
                case .chunkExtensions: break
                case .end(let t): message.trailers = t.map(lines) ?? []; done = true
                }
            }
        }
        return done && pending.isEmpty ? message : nil
    }

    @Test func requestsRoundTrip() async {
        await propertyCheck(count: 300, input: Gen.int(in: 0...Int.max)) { seed in
            do {
                let (bytes, expected) = try Self.make(seed: seed, kind: .request)
                var rng = SplitMix64(seed: UInt64(seed))
                let whole = try Self.parse([bytes[...]], kind: .request)
                let dripped = try Self.parse(Chunkings.random(of: bytes, maxPiece: 17, using: &rng), kind: .request)
                #expect(whole == expected, "seed \(seed)")
                #expect(dripped == expected, "seed \(seed)")
            } catch {
                Issue.record("seed \(seed): \(error)")
            }
        }
    }

    @Test func responsesRoundTrip() async {
        await propertyCheck(count: 300, input: Gen.int(in: 0...Int.max)) { seed in
            do {
                let (bytes, expected) = try Self.make(seed: seed, kind: .response)
                var rng = SplitMix64(seed: UInt64(seed))
                let whole = try Self.parse([bytes[...]], kind: .response)
                let dripped = try Self.parse(Chunkings.random(of: bytes, maxPiece: 17, using: &rng), kind: .response)
                #expect(whole == expected, "seed \(seed)")
                #expect(dripped == expected, "seed \(seed)")
            } catch {
                Issue.record("seed \(seed): \(error)")
            }
        }
    }
}
