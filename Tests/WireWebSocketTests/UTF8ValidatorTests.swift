import Testing
import WireWebSocket
import TestSupport

/// A by-the-book reference: the set of every proper prefix and full encoding of every Unicode
/// scalar (computed from the code-point arithmetic of RFC 3629 §3, not from the validator's
/// tables). The first invalid byte is the one that makes the current sequence no longer a
/// prefix of any encoding.
enum ReferenceUTF8 {
    static func encode(_ v: UInt32) -> [UInt8] {
        switch v {
        case 0..<0x80: [UInt8(v)]
        case 0x80..<0x800: [UInt8(0xC0 | v >> 6), UInt8(0x80 | v & 0x3F)]
        case 0x800..<0x10000: [UInt8(0xE0 | v >> 12), UInt8(0x80 | v >> 6 & 0x3F), UInt8(0x80 | v & 0x3F)]
        default: [UInt8(0xF0 | v >> 18), UInt8(0x80 | v >> 12 & 0x3F), UInt8(0x80 | v >> 6 & 0x3F), UInt8(0x80 | v & 0x3F)]
        }
    }

    /// Prefixes of length 1...3 of multi-byte encodings, keyed as big-endian integers with the length.
    static let prefixes: Set<[UInt8]> = {
        var set = Set<[UInt8]>()
        for v in UInt32(0x80)...0x10FFFF where !(0xD800...0xDFFF).contains(v) {
            let e = encode(v)
            for k in 1..<e.count { set.insert(Array(e[..<k])) }
        }
        return set
    }()

    /// (first invalid offset, ends mid-sequence).
    static func check(_ b: [UInt8]) -> (invalid: Int?, truncated: Bool) {
        var i = 0
        while i < b.count {
            if b[i] < 0x80 { i += 1; continue }
            var k = 1
            var seq = [b[i]]
            guard prefixes.contains(seq) else { return (i, false) }
            while true {
                if i + k == b.count { return (nil, true) }
                seq.append(b[i + k])
                let full = seq.count >= 2 && isEncoding(seq)
                if full { i += k + 1; break }
                if !prefixes.contains(seq) { return (i + k, false) }
                k += 1
            }
        }
        return (nil, false)
    }

    static func isEncoding(_ seq: [UInt8]) -> Bool {
        // Decode by value and re-encode: equal only for the shortest form of a scalar.
        guard seq.dropFirst().allSatisfy({ $0 & 0xC0 == 0x80 }) else { return false }
        let lead = seq[0]
        let bits: UInt32
        switch seq.count {
        case 2 where lead & 0xE0 == 0xC0: bits = UInt32(lead & 0x1F)
        case 3 where lead & 0xF0 == 0xE0: bits = UInt32(lead & 0x0F)
        case 4 where lead & 0xF8 == 0xF0: bits = UInt32(lead & 0x07)
        default: return false
        }
        let v = seq.dropFirst().reduce(bits) { $0 << 6 | UInt32($1 & 0x3F) }
        return v <= 0x10FFFF && !(0xD800...0xDFFF).contains(v) && encode(v) == seq
    }
}

/// Runs the validator over `pieces`; returns the overall offset of the first invalid byte and
/// whether the end was complete.
func validate(_ pieces: [ArraySlice<UInt8>]) -> (invalid: Int?, complete: Bool) {
    var v = UTF8Validator()
    var base = 0
    for piece in pieces {
        let chunk = Array(piece)
        if let bad = v.validate(chunk.span) { return (base + bad, false) }
        base += chunk.count
    }
    return (nil, v.finish())
}

@Suite struct UTF8ValidatorTests {
    struct Case: Sendable, CustomStringConvertible {
        var hex: String
        var invalidAt: Int?
        var truncated = false
        var description: String { hex }
    }

    /// Autobahn 6.x-style sequences: valid edge code points, overlongs, surrogates, > U+10FFFF,
    /// stray and missing continuation bytes, truncation.
    static let cases: [Case] = [
        Case(hex: "ce ba e1 bd b9 cf 83 ce bc ce b5", invalidAt: nil),  // κόσμε
        Case(hex: "00", invalidAt: nil), Case(hex: "7f", invalidAt: nil),
        Case(hex: "c2 80", invalidAt: nil), Case(hex: "df bf", invalidAt: nil),
        Case(hex: "e0 a0 80", invalidAt: nil), Case(hex: "ef bf bf", invalidAt: nil),
        Case(hex: "ed 9f bf", invalidAt: nil), Case(hex: "ee 80 80", invalidAt: nil),
        Case(hex: "f0 90 80 80", invalidAt: nil), Case(hex: "f4 8f bf bf", invalidAt: nil),
        Case(hex: "c0 80", invalidAt: 0), Case(hex: "c1 bf", invalidAt: 0),
        Case(hex: "e0 80 80", invalidAt: 1), Case(hex: "e0 9f bf", invalidAt: 1),
        Case(hex: "f0 80 80 80", invalidAt: 1), Case(hex: "f0 8f bf bf", invalidAt: 1),
        Case(hex: "ed a0 80", invalidAt: 1), Case(hex: "ed bf bf", invalidAt: 1),
        Case(hex: "ed a0 80 ed b0 80", invalidAt: 1),
        Case(hex: "f4 90 80 80", invalidAt: 1), Case(hex: "f5 80 80 80", invalidAt: 0),
        Case(hex: "f7 bf bf bf", invalidAt: 0), Case(hex: "f8 88 80 80 80", invalidAt: 0),
        Case(hex: "fe", invalidAt: 0), Case(hex: "ff", invalidAt: 0),
        Case(hex: "80", invalidAt: 0), Case(hex: "41 bf", invalidAt: 1),
        Case(hex: "c2 41", invalidAt: 1), Case(hex: "e1 80 41", invalidAt: 2),
        Case(hex: "f1 80 80 41", invalidAt: 3), Case(hex: "e1 c0", invalidAt: 1),
        Case(hex: "ce ba e1 bd b9 cf 83 ce bc ce b5 ed a0 80 65 64 69 74 65 64", invalidAt: 12),
        Case(hex: "c2", invalidAt: nil, truncated: true), Case(hex: "e1 80", invalidAt: nil, truncated: true),
        Case(hex: "f4 8f bf", invalidAt: nil, truncated: true),
        Case(hex: "41 42 43 44 45 46 47 48 49 4a 4b 4c 4d 4e 4f 50 51 52 53 54 55 56 57 58 59 5a 61 62 63 64 65 66 67 68 c3", invalidAt: nil, truncated: true),
        Case(hex: "41 42 43 44 45 46 47 48 49 4a 4b 4c 4d 4e 4f 50 51 52 53 54 55 56 57 58 59 5a 61 62 63 64 65 66 67 68 ff", invalidAt: 34),
        Case(hex: "41 42 43 44 45 46 47 48 49 4a 4b 4c 4d 4e 4f 50 51 52 53 54 55 56 57 58 59 5a 61 62 63 64 65 66 67 68 c3 28", invalidAt: 35),
    ]

    @Test(arguments: cases)
    func knownSequencesUnderEverySplit(_ c: Case) {
        let bytes = hex(c.hex)
        let reference = ReferenceUTF8.check(bytes)
        #expect(reference.invalid == c.invalidAt && reference.truncated == c.truncated, "reference disagrees with the table")
        for pieces in Chunkings.standard(of: bytes, randomCount: 8) {
            let result = validate(pieces)
            #expect(result.invalid == c.invalidAt, "\(c.hex) split \(pieces.map(\.count))")
            #expect(result.complete == (c.invalidAt == nil && !c.truncated), "\(c.hex) split \(pieces.map(\.count))")
        }
    }

    @Test func agreesWithReferenceAndStdlibOnRandomText() {
        var rng = SplitMix64(seed: 0x0711)
        let scalars: [ClosedRange<UInt32>] = [0...0x7F, 0x80...0x7FF, 0x800...0xD7FF, 0xE000...0xFFFF, 0x10000...0x10FFFF]
        for round in 0..<1500 {
            var bytes: [UInt8] = []
            for _ in 0..<Int.random(in: 0...40, using: &rng) {
                let range = scalars[Int.random(in: 0..<scalars.count, using: &rng)]
                bytes += ReferenceUTF8.encode(UInt32.random(in: range, using: &rng))
            }
            // Mutate some inputs: flip, drop or insert a byte.
            if round % 2 == 1 && !bytes.isEmpty {
                let at = Int.random(in: 0..<bytes.count, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: bytes[at] ^= UInt8(1 << Int.random(in: 0..<8, using: &rng))
                case 1: bytes.remove(at: at)
                default: bytes.insert(UInt8.random(in: 0x80...0xFF, using: &rng), at: at)
                }
            }
            let reference = ReferenceUTF8.check(bytes)
            let pieces = Chunkings.random(of: bytes, maxPiece: 7, using: &rng)
            let result = validate(pieces)
            #expect(result.invalid == reference.invalid, "\(bytes)")
            #expect(result.complete == (reference.invalid == nil && !reference.truncated), "\(bytes)")
            #expect(UTF8Validator.isValid(bytes.span) == (String(validating: bytes, as: UTF8.self) != nil), "\(bytes)")
        }
    }

    @Test func everySplitOfEveryMultiByteBoundary() {
        // 1-, 2-, 3- and 4-byte characters after every ASCII prefix length (exercising the
        // word-wise fast path's exits), split everywhere.
        for character in ["a", "é", "€", "😀"] {
            for prefix in 0..<40 {
                let bytes = Array(String(repeating: "x", count: prefix).utf8) + Array(character.utf8) + Array("yz".utf8)
                for pieces in Chunkings.standard(of: bytes, randomCount: 2) {
                    let result = validate(pieces)
                    #expect(result.invalid == nil && result.complete)
                }
            }
        }
    }

    @Test func longTextsAtEveryAlignmentAgreeWithTheReference() {
        // Long enough for the 16-byte blocks (ASCII runs skipped, DFA words), started at every
        // offset of a 16-byte block, whole and in random pieces, valid and mutated.
        var rng = SplitMix64(seed: 0x0718)
        let scalars: [ClosedRange<UInt32>] = [0...0x7F, 0x80...0x7FF, 0x800...0xD7FF, 0xE000...0xFFFF, 0x10000...0x10FFFF]
        for round in 0..<300 {
            var bytes: [UInt8] = []
            while bytes.count < Int.random(in: 16...300, using: &rng) {
                if Int.random(in: 0..<4, using: &rng) == 0 {
                    bytes += Array(repeating: UInt8(ascii: "a") + UInt8(bytes.count % 26), count: Int.random(in: 1...40, using: &rng))
                } else {
                    let range = scalars[Int.random(in: 0..<scalars.count, using: &rng)]
                    bytes += ReferenceUTF8.encode(UInt32.random(in: range, using: &rng))
                }
            }
            if round % 3 != 0 {
                let at = Int.random(in: 0..<bytes.count, using: &rng)
                switch Int.random(in: 0..<4, using: &rng) {
                case 0: bytes[at] ^= UInt8(1 << Int.random(in: 0..<8, using: &rng))
                case 1: bytes.remove(at: at)
                case 2: bytes.insert(UInt8.random(in: 0x80...0xFF, using: &rng), at: at)
                default: bytes[at] = UInt8.random(in: 0xC0...0xFF, using: &rng)
                }
            }
            for offset in 0..<min(16, bytes.count) {
                let slice = Array(bytes[offset...])
                let reference = ReferenceUTF8.check(slice)
                let whole = validate([slice[...]])
                #expect(whole.invalid == reference.invalid, "offset \(offset): \(slice)")
                #expect(whole.complete == (reference.invalid == nil && !reference.truncated), "offset \(offset): \(slice)")
                let pieces = Chunkings.random(of: slice, maxPiece: 40, using: &rng)
                let split = validate(pieces)
                #expect(split.invalid == reference.invalid, "offset \(offset) split \(pieces.map(\.count))")
                #expect(split.complete == whole.complete, "offset \(offset) split \(pieces.map(\.count))")
            }
        }
    }

    @Test func failureIsSticky() {
        var v = UTF8Validator()
        let ff: [UInt8] = [0xFF], a: [UInt8] = [0x41]
        let first = v.validate(ff.span)
        #expect(first == 0)
        #expect(v.hasFailed)
        let second = v.validate(a.span)
        #expect(second == 0)
        let finished = v.finish()
        #expect(!finished)
        let afterReset = v.validate(a.span)  // finish() resets for the next message
        #expect(afterReset == nil)
    }
}
