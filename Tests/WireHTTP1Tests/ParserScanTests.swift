import Testing
import TestSupport
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

    @Test(arguments: 0..<4)
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

    @Test(arguments: 0..<4)
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
