/// SHA-1 (FIPS 180-4 §6.1), for the opening handshake's `Sec-WebSocket-Accept`
/// (RFC 6455 §4.2.2: base64 of the SHA-1 of the key and a fixed GUID).
///
/// SHA-1 is broken as a collision-resistant hash; RFC 6455 uses it only to prove that the
/// server read the client's key, and this type exists for that. Do not use it for security.
///
/// ```swift
/// var sha = SHA1()
/// sha.update(Array("abc".utf8).span)
/// let digest = sha.finalize()        // a9 99 3e 36 ...
/// ```
package struct SHA1: Sendable {
    /// The digest length in bytes.
    package static let digestByteCount = 20

    /// H0...H4 (FIPS 180-4 §5.3.1).
    private var h0: UInt32 = 0x6745_2301
    private var h1: UInt32 = 0xEFCD_AB89
    private var h2: UInt32 = 0x98BA_DCFE
    private var h3: UInt32 = 0x1032_5476
    private var h4: UInt32 = 0xC3D2_E1F0
    /// A partial block (up to 63 bytes) waiting for more input.
    private var block: InlineArray<64, UInt8> = .init(repeating: 0)
    private var blockCount = 0
    /// Message length in bytes so far.
    private var length: UInt64 = 0

    package init() {}

    /// Hashes more of the message.
    package mutating func update(_ bytes: Span<UInt8>) {
        length &+= UInt64(bytes.count)
        bytes.withUnsafeBytes { raw in
            var i = 0
            let count = raw.count
            if blockCount > 0 {
                while blockCount < 64 && i < count {
                    block[blockCount] = raw[i]
                    blockCount &+= 1
                    i &+= 1
                }
                guard blockCount == 64 else { return }
                let copy = block
                withUnsafeBytes(of: copy) { compress($0.baseAddress!) }
                blockCount = 0
            }
            while count &- i >= 64 {
                compress(raw.baseAddress! + i)
                i &+= 64
            }
            while i < count {
                block[blockCount] = raw[i]
                blockCount &+= 1
                i &+= 1
            }
        }
    }

    /// Hashes more of the message (convenience for strings and arrays).
    package mutating func update(_ bytes: some Sequence<UInt8>) {
        let array = Array(bytes)
        update(array.span)
    }

    /// Pads the message (FIPS 180-4 §5.1.1) and returns the 20-byte digest.
    package consuming func finalize() -> [UInt8] {
        let bitLength = length &* 8
        var padding: [UInt8] = [0x80]
        let afterOne = (blockCount + 1) % 64
        let zeros = afterOne <= 56 ? 56 - afterOne : 120 - afterOne
        padding.append(contentsOf: repeatElement(0, count: zeros))
        for shift in stride(from: 56, through: 0, by: -8) {
            padding.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift)))
        }
        let savedLength = length
        update(padding.span)
        precondition(blockCount == 0, "padding ends on a block boundary")
        length = savedLength
        var digest: [UInt8] = []
        digest.reserveCapacity(Self.digestByteCount)
        for word in [h0, h1, h2, h3, h4] {
            digest.append(UInt8(truncatingIfNeeded: word >> 24))
            digest.append(UInt8(truncatingIfNeeded: word >> 16))
            digest.append(UInt8(truncatingIfNeeded: word >> 8))
            digest.append(UInt8(truncatingIfNeeded: word))
        }
        return digest
    }

    /// The digest of `bytes`.
    package static func hash(_ bytes: Span<UInt8>) -> [UInt8] {
        var sha = SHA1()
        sha.update(bytes)
        return sha.finalize()
    }

    /// The digest of `bytes` (convenience for strings and arrays).
    package static func hash(_ bytes: some Sequence<UInt8>) -> [UInt8] {
        var sha = SHA1()
        sha.update(bytes)
        return sha.finalize()
    }

    /// Processes one 64-byte block (FIPS 180-4 §6.1.2), with the 16-word rolling schedule.
    private mutating func compress(_ p: UnsafeRawPointer) {
        var w: InlineArray<16, UInt32> = .init(repeating: 0)
        for t in 0..<16 {
            w[t] = UInt32(bigEndian: p.loadUnaligned(fromByteOffset: t &* 4, as: UInt32.self))
        }
        var a = h0, b = h1, c = h2, d = h3, e = h4
        for t in 0..<80 {
            let word: UInt32
            if t < 16 {
                word = w[t]
            } else {
                let x = w[(t &- 3) & 15] ^ w[(t &- 8) & 15] ^ w[(t &- 14) & 15] ^ w[t & 15]
                word = x << 1 | x >> 31
                w[t & 15] = word
            }
            let f: UInt32
            let k: UInt32
            switch t {
            case 0..<20:
                f = (b & c) | (~b & d)
                k = 0x5A82_7999
            case 20..<40:
                f = b ^ c ^ d
                k = 0x6ED9_EBA1
            case 40..<60:
                f = (b & c) | (b & d) | (c & d)
                k = 0x8F1B_BCDC
            default:
                f = b ^ c ^ d
                k = 0xCA62_C1D6
            }
            let temp = (a << 5 | a >> 27) &+ f &+ e &+ k &+ word
            e = d
            d = c
            c = b << 30 | b >> 2
            b = a
            a = temp
        }
        h0 &+= a
        h1 &+= b
        h2 &+= c
        h3 &+= d
        h4 &+= e
    }
}
