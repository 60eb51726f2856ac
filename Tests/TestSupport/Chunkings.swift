/// Ways to cut an input into consecutive pieces, for checking that an incremental decoder
/// gives the same result whatever the reads look like (the drip-feed idea of
/// `ByteToMessageDecoderVerifier`, for `Span`-based decoders).
public enum Chunkings {
    /// Every single cut point (two pieces), one byte at a time, and `randomCount` random
    /// chunkings drawn from `seed`. The unsplit input comes first.
    public static func standard(
        of bytes: [UInt8], randomCount: Int = 16, seed: UInt64 = 0x5EED
    ) -> [[ArraySlice<UInt8>]] {
        var result: [[ArraySlice<UInt8>]] = [[bytes[...]]]
        if bytes.count > 1 {
            for cut in 1..<bytes.count {
                result.append([bytes[..<cut], bytes[cut...]])
            }
            result.append(bytes.indices.map { bytes[$0...$0] })
        }
        var rng = SplitMix64(seed: seed)
        for _ in 0..<randomCount {
            result.append(random(of: bytes, maxPiece: Swift.max(1, bytes.count / 4), using: &rng))
        }
        return result
    }

    /// One random chunking with pieces of 1...`maxPiece` bytes (and some empty pieces, which
    /// decoders must tolerate).
    public static func random(
        of bytes: [UInt8], maxPiece: Int, using rng: inout SplitMix64
    ) -> [ArraySlice<UInt8>] {
        var pieces: [ArraySlice<UInt8>] = []
        var start = 0
        while start < bytes.count {
            if rng.next() % 16 == 0 { pieces.append(bytes[start..<start]) }
            let length = Int(rng.next() % UInt64(maxPiece)) + 1
            let end = Swift.min(bytes.count, start + length)
            pieces.append(bytes[start..<end])
            start = end
        }
        return pieces
    }
}

/// A small deterministic generator (SplitMix64) so failures reproduce from a printed seed.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
