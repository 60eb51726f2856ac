import HTTPTypes
import Testing
import TestSupport
@testable import WireHTTP1

/// The whole-head fast path (`HTTP1HeadFastPath.swift`) against the line-by-line parser.
///
/// A head given whole in one input takes the fast path when it is plain; the same bytes fed
/// one at a time never can (no call sees a whole head), so every difference between the two
/// runs is a fast-path bug: events, every head property, errors (code and offset) and pauses
/// must agree. The heads are random but built from the pieces each rule looks at, so that
/// both the plain spellings and every near miss (bare LF, obs-fold, CTLs, odd targets,
/// framing fields, limits) come up often.
@Suite struct ParserFastPathTests {
    /// Everything a caller can read from one parse, as text.
    static func transcript(_ events: [Ev]) -> [String] {
        events.map { event in
            switch event {
            case .request(let h):
                "request \(h.method) \(h.target) \(h.version) \(h.targetForm) \(h.framing) offset=\(h.streamOffset) "
                    + "keepAlive=\(h.keepAlive) upgrade=\(h.isUpgradeRequest) continue=\(h.expectsContinue) "
                    + "head=\(h.isHEAD) connect=\(h.isCONNECT) \(Self.fields(h.fields))"
            case .response(let h):
                "response \(h.version) \(h.status) \(h.reason) \(h.framing) offset=\(h.streamOffset) "
                    + "keepAlive=\(h.keepAlive) upgrade=\(h.hasUpgrade) \(Self.fields(h.fields))"
            default:
                event.description
            }
        }
    }

    static func fields(_ block: HTTP1FieldBlock) -> String {
        (0..<block.count).map { i in
            block.withField(at: i) { name, value in "\(Self.array(name))=\(Self.array(value))" }
        }.joined(separator: ",")
    }

    static func array(_ span: Span<UInt8>) -> [UInt8] {
        (0..<span.count).map { span[$0] }
    }

    static func check(
        _ bytes: [UInt8], kind: HTTP1MessageKind, configuration: HTTP1ParserConfiguration = .init(),
        expecting methods: [HTTPRequest.Method] = []
    ) {
        let whole = transcript(drive([bytes[...]], kind: kind, configuration: configuration, expecting: methods))
        let dripped = transcript(
            drive(bytes.map { [$0][...] }, kind: kind, configuration: configuration, expecting: methods))
        #expect(whole == dripped, "\(String(decoding: bytes, as: UTF8.self).debugDescription)")
    }

    // MARK: Random heads

    struct Generator {
        var rng: SplitMix64

        mutating func pick<T>(_ options: [T]) -> T { options[Int(rng.next() % UInt64(options.count))] }
        mutating func chance(_ percent: UInt64) -> Bool { rng.next() % 100 < percent }

        mutating func bytes(_ count: Int, from alphabet: [UInt8]) -> [UInt8] {
            (0..<count).map { _ in pick(alphabet) }
        }

        static let tokenBytes = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-!#$%&'*+.^_`|~".utf8)
        static let oddBytes: [UInt8] = [0x00, 0x09, 0x0A, 0x0D, 0x1F, 0x20, 0x22, 0x2C, 0x3A, 0x3B, 0x7F, 0x80, 0xFF]
        static let valueBytes = Array("abc XYZ 019 ,;=/\"()-_.:*".utf8) + [0x09, 0x80, 0xC3, 0xA9]

        mutating func lineEnd() -> [UInt8] {
            chance(94) ? [0x0D, 0x0A] : pick([[0x0A], [0x0D], [0x0D, 0x0D, 0x0A], [0x20, 0x0D, 0x0A]])
        }

        mutating func token(_ maxLength: Int) -> [UInt8] {
            var t = bytes(1 + Int(rng.next() % UInt64(maxLength)), from: Self.tokenBytes)
            if chance(4) { t[Int(rng.next() % UInt64(t.count))] = pick(Self.oddBytes) }
            return t
        }

        mutating func value() -> [UInt8] {
            let length = pick([0, 1, 3, 7, 15, 16, 17, 31, 33, 70])
            var v = bytes(length, from: Self.valueBytes)
            if chance(5) && !v.isEmpty { v[Int(rng.next() % UInt64(v.count))] = pick(Self.oddBytes) }
            return v
        }

        mutating func ows() -> [UInt8] { pick([[], [0x20], [0x20], [0x20], [0x09], [0x20, 0x20], [0x20, 0x09]]) }

        mutating func framingField() -> [UInt8] {
            let (name, values): (String, [String]) = pick([
                ("Host", ["a", "app.example.com", "a.b:8080", "[::1]:80", "", ":80", "a b", "x%41y", "h_st", "A-Z.9"]),
                ("HOST", ["example.com"]),
                ("Content-Length", ["0", "5", "18", "007", "5, 5", "5,6", "", "x", "99999999999999999999", "-1"]),
                ("Transfer-Encoding", ["chunked", "CHUNKED", "gzip, chunked", "chunked, gzip", "identity", "", "chunked,"]),
                ("Connection", ["keep-alive", "close", "Upgrade", "keep-alive, Upgrade", "CLOSE", "foo"]),
                ("Upgrade", ["websocket", "h2c"]),
                ("Expect", ["100-continue", "100-Continue", "nothing"]),
            ])
            return Array(name.utf8) + [0x3A] + ows() + Array(pick(values).utf8) + ows() + lineEnd()
        }

        mutating func fieldLines() -> [UInt8] {
            var head: [UInt8] = []
            for _ in 0..<pick([0, 1, 2, 3, 5, 9]) {
                if chance(30) {
                    head += framingField()
                } else if chance(3) {
                    head += [pick([0x20, 0x09])] + value() + lineEnd()  // obs-fold or whitespace
                } else {
                    head += token(20) + (chance(3) ? [0x20] : []) + [0x3A] + ows() + value() + ows() + lineEnd()
                }
            }
            return head + lineEnd()
        }

        mutating func request() -> [UInt8] {
            var head: [UInt8] = chance(5) ? [0x0D, 0x0A] : []
            head += Array(pick(["GET", "GET", "POST", "HEAD", "OPTIONS", "CONNECT", "PUT"]).utf8)
            if chance(5) { head = token(10) }
            head += chance(97) ? [0x20] : [0x09]
            head += Array(pick(["/", "/", "/a/b?c=d&e", "*", "http://a.b/c", "a.b:443", "/x y", "/%7E"]).utf8)
            if chance(5) { head += [pick(Self.oddBytes)] }
            head += Array(pick([" HTTP/1.1", " HTTP/1.1", " HTTP/1.0", " HTTP/2.0", " HTTP/1.1 ", " http/1.1", "HTTP/1.1"]).utf8)
            head += lineEnd()
            if chance(70) { head += Array("Host: h\r\n".utf8) }
            return head + fieldLines()
        }

        mutating func response() -> [UInt8] {
            var head = Array(pick(["HTTP/1.1", "HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/1.1 "]).utf8)
            head += Array(pick([" 200 OK", " 204 No Content", " 101 Switching", " 100 Continue", " 304 ", " 200",
                " 099 x", " 600 x", " 2x0 y", " 404 Not\u{1}Found", " 200 caf\u{E9}"]).utf8)
            head += lineEnd()
            return head + fieldLines()
        }
    }

    @Test(arguments: 0..<8)
    func wholeHeadsAgreeWithDrippedHeads(seed: UInt64) {
        var g = Generator(rng: SplitMix64(seed: 0xFA57 &+ seed))
        for _ in 0..<400 {
            var request = g.request()
            if g.chance(50) { request += Array("abcde".utf8) }  // a body or the next request
            Self.check(request, kind: .request)
            Self.check(
                g.response() + Array("hello".utf8), kind: .response,
                expecting: g.pick([[], [.get], [.head], [.connect], [.post, .get]]))
        }
    }

    /// Chunked bodies: the one-step chunk path (CRLF, size line, data) against the states.
    @Test(arguments: 0..<4)
    func chunkedBodiesAgree(seed: UInt64) {
        var g = Generator(rng: SplitMix64(seed: 0xC4C4 &+ seed))
        for _ in 0..<300 {
            var message = Array("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)
            for _ in 0..<g.pick([0, 1, 2, 5]) {
                let size = g.pick([1, 2, 15, 16, 255, 4096])
                var sizeLine = Array(String(size, radix: 16, uppercase: g.chance(30)).utf8)
                if g.chance(10) { sizeLine = Array("000".utf8) + sizeLine }
                if g.chance(5) { sizeLine += Array(";ext=1".utf8) }
                if g.chance(3) { sizeLine = Array("@".utf8) }
                if g.chance(3) { sizeLine = Array("1234567890abcdef1".utf8) }
                message += sizeLine + g.lineEnd() + g.bytes(size, from: Array("xyz\r\n".utf8))
                message += g.chance(95) ? [0x0D, 0x0A] : g.pick([[0x0A], [0x0D], [0x41, 0x0D, 0x0A]])
            }
            message += Array((g.chance(95) ? "0" : "00").utf8) + g.lineEnd()
            if g.chance(20) { message += Array("Trailer-Field: x\r\n".utf8) }
            message += g.lineEnd()
            if g.chance(50) { message += Array("GET / HTTP/1.1\r\nHost: h\r\n\r\n".utf8) }
            let limits = HTTP1Limits(maxBodyBytes: g.pick([.max, .max, 0, 1, 100, 5000]), maxTrailerSectionBytes: g.pick([16384, 1, 2, 3]))
            Self.check(message, kind: .request, configuration: HTTP1ParserConfiguration(limits: limits))
            // The same body cut in two at every chunk boundary region.
            let cut = Int(g.rng.next() % UInt64(message.count))
            let whole = Self.transcript(drive([message[...]], kind: .request, configuration: .init(limits: limits)))
            let split = Self.transcript(drive([message[..<cut], message[cut...]], kind: .request, configuration: .init(limits: limits)))
            #expect(whole == split)
        }
    }

    /// Limits: the fast path must leave every limit to the careful path.
    @Test(arguments: 0..<4)
    func limitsAgree(seed: UInt64) {
        var g = Generator(rng: SplitMix64(seed: 0x1111 &+ seed))
        for _ in 0..<300 {
            let limits = HTTP1Limits(
                maxStartLineLength: g.pick([8, 14, 16, 17, 24, 100]), maxTargetLength: g.pick([0, 1, 2, 5, 50]),
                maxHeaderSectionBytes: g.pick([20, 40, 64, 100, 1000]), maxFieldCount: g.pick([0, 1, 2, 3, 40]))
            let configuration = HTTP1ParserConfiguration(limits: limits)
            Self.check(g.request(), kind: .request, configuration: configuration)
            Self.check(g.response(), kind: .response, configuration: configuration)
        }
    }

    /// More field lines than the storage first holds (it grows, the fast path scans again).
    @Test func manyFields() {
        for count in [31, 32, 33, 64, 100, 255, 256, 257] {
            var head = Array("GET / HTTP/1.1\r\nHost: h\r\n".utf8)
            for i in 0..<count { head += Array("X-\(i): \(i)\r\n".utf8) }
            head += [0x0D, 0x0A]
            Self.check(head, kind: .request)
        }
    }

    /// The plain heads really take the fast path (so the comparisons above test it).
    @Test func plainHeadsTakeTheFastPath() throws {
        let heads = [
            "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
            "POST /x?y HTTP/1.0\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\n",
            "HEAD / HTTP/1.1\r\nHost: a.b:80\r\nTransfer-Encoding: chunked\r\n\r\n",
        ]
        for head in heads {
            var parser = HTTP1Parser(parsing: .request)
            let bytes = Array(head.utf8)
            let step = try bytes.withUnsafeBufferPointer { buffer in
                try #require(try parser.parseWholeHead(buffer.baseAddress!, buffer.count))
            }
            #expect(step.consumed == bytes.count)
        }
        var parser = HTTP1Parser(parsing: .response)
        let bytes = Array("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".utf8)
        let step = try bytes.withUnsafeBufferPointer { buffer in
            try #require(try parser.parseWholeHead(buffer.baseAddress!, buffer.count))
        }
        #expect(step.consumed == bytes.count)
    }
}
