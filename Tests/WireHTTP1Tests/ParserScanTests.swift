import Testing
import TestSupport
import WireCore
@testable import WireHTTP1

/// The SIMD scanners agree with their scalar twins on random bytes at every alignment and
/// every length, including where the first hit sits in each lane.
@Suite struct ParserScanTests {
    typealias Scanner = @Sendable (UnsafePointer<UInt8>, Int, Int) -> Int

    static let pairs: [(String, Scanner, Scanner)] = [
        ("lineFeed", Scan.lineFeed, Scan.lineFeedScalar),
        ("fieldValueEnd", Scan.fieldValueEnd, Scan.fieldValueEndScalar),
        ("visibleEnd", Scan.visibleEnd, Scan.visibleEndScalar),
        ("tokenEnd", Scan.tokenEnd, Scan.tokenEndScalar),
        ("tokenEndFast", { p, from, end in Scan.tokenEndFast(p, from, end) }, Scan.tokenEndScalar),
        ("firstControl", { p, from, end in Scan.firstControl(p, from, end, end) }, Scan.fieldValueEndScalar),
    ]

    /// Random bytes biased toward the ones the scanners stop at.
    static func randomBytes(_ count: Int, _ rng: inout SplitMix64) -> [UInt8] {
        let interesting: [UInt8] = [0x0A, 0x0D, 0x09, 0x20, 0x00, 0x7F, 0x80, 0xFF, 0x21, 0x7E, 0x3A, 0x1F]
        return (0..<count).map { _ in
            let r = rng.next()
            if r % 8 == 0 { return interesting[Int(r >> 8) % interesting.count] }
            // Mostly ordinary visible ASCII, so scans run far.
            return UInt8(0x21 + (r >> 16) % 94)
        }
    }

    @Test(arguments: 0..<6)
    func vectorMatchesScalar(_ which: Int) {
        let (name, fast, slow) = Self.pairs[which]
        var rng = SplitMix64(seed: 0xC0FFEE &+ UInt64(which))
        for _ in 0..<300 {
            let bytes = Self.randomBytes(Int(rng.next() % 80), &rng)
            bytes.withUnsafeBufferPointer { buffer in
                guard let p = buffer.baseAddress else { return }
                for from in 0...min(bytes.count, 17) {
                    for end in from...bytes.count {
                        let a = fast(p, from, end)
                        let b = slow(p, from, end)
                        if a != b {
                            Issue.record("\(name) \(bytes) from \(from) end \(end): \(a) vs \(b)")
                            return
                        }
                    }
                }
            }
        }
    }

    @Test(arguments: 0..<6)
    func everyLanePositionIsFound(_ which: Int) {
        let (name, fast, slow) = Self.pairs[which]
        // A run of 'a' (passes every scanner except LF's... which it passes too) with one
        // stopping byte at each position.
        for stop: UInt8 in [0x0A, 0x00, 0x20, 0x7F, 0x3A] {
            for position in 0..<48 {
                var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: 48)
                bytes[position] = stop
                bytes.withUnsafeBufferPointer { buffer in
                    let p = buffer.baseAddress!
                    #expect(fast(p, 0, 48) == slow(p, 0, 48), "\(name) stop \(stop) at \(position)")
                }
            }
        }
    }
}

extension ParserScanTests {
    /// `firstControl` and `tokenEndFast` may load past `end` (up to the buffer end) and must
    /// ignore those lanes.
    @Test func vectorScansIgnoreBytesPastTheEnd() {
        var rng = SplitMix64(seed: 99)
        for _ in 0..<300 {
            let bytes = Self.randomBytes(Int(rng.next() % 70), &rng)
            bytes.withUnsafeBufferPointer { buffer in
                guard let p = buffer.baseAddress else { return }
                for from in 0...min(bytes.count, 17) {
                    for end in from...bytes.count {
                        let fast = Scan.firstControl(p, from, end, bytes.count)
                        let slow = Scan.fieldValueEndScalar(p, from, end)
                        let fastToken = Scan.tokenEndFast(p, from, end, readable: bytes.count)
                        let slowToken = Scan.tokenEndScalar(p, from, end)
                        if fast != slow || fastToken != slowToken {
                            Issue.record("\(bytes) from \(from) end \(end): \(fast) vs \(slow)")
                            return
                        }
                    }
                }
            }
        }
    }
}

@Suite struct ParserByteClassTests {
    @Test(arguments: [
        "host", "HOST", "Host", "expect", "EXPECT", "upgrade", "Upgrade", "connection", "CONNECTION",
        "content-length", "Content-Length", "transfer-encoding", "TRANSFER-ENCODING",
    ])
    func framingNamesAreRecognisedInAnyCase(_ name: String) {
        let bytes = Array(name.utf8)
        let lower = name.lowercased()
        bytes.withUnsafeBufferPointer { b in
            let p = b.baseAddress!
            let n = bytes.count
            let hits = [
                n == 4 && Scan.load32(p, 0) | 0x2020_2020 == 0x7473_6F68,
                n == 6 && Scan.matches4to8(p, 0, n, 0x6570_7865, 0x7463_6570),
                n == 7 && Scan.matches4to8(p, 0, n, 0x7267_7075, 0x6564_6172),
                n == 10 && Scan.matches8to16(p, 0, n, 0x6974_6365_6E6E_6F63, 0x6E6F_6974_6365_6E6E),
                n == 14 && Scan.matches8to16(p, 0, n, 0x2D74_6E65_746E_6F63, 0x6874_676E_656C_2D74),
            ]
            let expected = ["host", "expect", "upgrade", "connection", "content-length"].map { $0 == lower }
            #expect(hits == expected)
        }
    }

    @Test func nearMissesAreNotFramingFields() {
        // Same length, one byte off, or a byte whose 0x20 bit differs outside letters.
        let text = "POST / HTTP/1.1\r\nHost: h\r\nContent_Length: 5\r\nTransfer-Encodinh: chunked\r\nHosu: x y\r\n\r\n"
        #expect(summary(text) == ["head POST / HTTP/1.1", "end"])
    }

    @Test func tokenMasksMatchTheSharedTable() {
        for b in 0...255 {
            let byte = UInt8(b)
            #expect(Scan.isToken(byte) == ASCII.isTokenCharacter(byte), "byte \(b)")
            #expect(Scan.isBlank(byte) == ASCII.is(byte, ASCII.whitespace), "byte \(b)")
            #expect(Scan.isDigit(byte) == ASCII.is(byte, ASCII.digit), "byte \(b)")
            #expect(Scan.isRegName(byte) == isRegNameCharacter(byte), "byte \(b)")
        }
    }
}

/// `unreserved / sub-delims` of RFC 3986 §2 (the characters of a reg-name besides `%`), as the
/// grammar defines them: the parser's table (`Scan.isRegName`) is checked against it.
private func isRegNameCharacter(_ b: UInt8) -> Bool {
    switch b {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
        UInt8(ascii: "0")...UInt8(ascii: "9"),
        UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"),
        UInt8(ascii: "!"), UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "'"),
        UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "*"), UInt8(ascii: "+"),
        UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "="):
        true
    default:
        false
    }
}

extension ParserScanTests {
    /// `laneBits` (`pmovmskb` on x86-64) and its portable twin give one bit per lane, bit `i`
    /// for lane `i`, on random lane masks.
    @Test func laneBitsMatchThePortablePath() {
        var rng = SplitMix64(seed: 0x1A7E)
        for _ in 0..<2000 {
            let r = rng.next()
            var lanes = SIMD16<UInt8>()
            var expected: UInt32 = 0
            for lane in 0..<16 where (r >> UInt64(lane)) & 1 != 0 {
                lanes[lane] = 0x0A
                expected |= 1 << UInt32(lane)
            }
            let mask = lanes .== SIMD16(repeating: 0x0A)
            #expect(Scan.laneBits(mask) == expected)
            #expect(Scan.laneBitsPortable(mask) == expected)
        }
    }
}
