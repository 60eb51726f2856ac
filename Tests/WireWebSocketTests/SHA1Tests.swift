import PropertyBased
import TestSupport
import Testing
import WireCore
import WireWebSocket

private func hex(_ bytes: [UInt8]) -> String {
    bytes.map { String($0 >> 4, radix: 16) + String($0 & 15, radix: 16) }.joined()
}

@Suite struct SHA1Tests {
    /// FIPS 180-2 appendix A (one block, two blocks, one million 'a') and the empty message.
    @Test(arguments: [
        ("", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        ("abc", "a9993e364706816aba3e25717850c26c9cd0d89d"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "84983e441c3bd26ebaae4aa1f95129e5e54670f1"),
        ("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
         "a49b2446a02c645bf419f995b67091253a04a259"),
    ])
    func fipsVectors(message: String, digest: String) {
        #expect(hex(SHA1.hash(Array(message.utf8))) == digest)
    }

    @Test func oneMillionA() {
        let message = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        #expect(hex(SHA1.hash(message)) == "34aa973cd4c4daa4f61eeb2bdbad27316534016f")
        // The same fed in uneven pieces.
        var sha = SHA1()
        var start = 0
        var size = 1
        while start < message.count {
            let end = min(message.count, start + size)
            sha.update(message[start..<end])
            start = end
            size = size % 97 + 13
        }
        #expect(hex(sha.finalize()) == "34aa973cd4c4daa4f61eeb2bdbad27316534016f")
    }

    /// Lengths around the padding boundaries (55/56 bytes leave room for the length or not);
    /// digests from Python's hashlib for bytes `i % 251`.
    @Test(arguments: [
        (55, "8ae2d46729cfe68ff927af5eec9c7d1b66d65ac2"), (56, "636e2ec698dac903498e648bd2f3af641d3c88cb"),
        (57, "7cb1330f35244b57437539253304ea78a6b7c443"), (63, "6d942da0c4392b123528f2905c713a3ce28364bd"),
        (64, "c6138d514ffa2135bfce0ed0b8fac65669917ec7"), (65, "69bd728ad6e13cd76ff19751fde427b00e395746"),
        (119, "41c89d06001bab4ab78736b44efe7ce18ce6ae08"), (120, "d3dbd653bd8597b7475321b60a36891278e6a04a"),
        (127, "89d7312a903f65cd2b3e34a975e55dbea9033353"), (128, "e6434bc401f98603d7eda504790c98c67385d535"),
    ])
    func paddingBoundaries(length: Int, digest: String) {
        let message = (0..<length).map { UInt8($0 % 251) }
        #expect(hex(SHA1.hash(message)) == digest)
        for chunking in Chunkings.standard(of: message, randomCount: 4) {
            var sha = SHA1()
            for piece in chunking { sha.update(Array(piece).span) }
            #expect(hex(sha.finalize()) == digest)
        }
    }

    @Test func anySplitGivesTheSameDigest() async {
        await propertyCheck(count: 200, input: Gen.uint8().array(of: 0...300), Gen.int(in: 0...300)) { message, cut in
            let cut = min(cut, message.count)
            var sha = SHA1()
            sha.update(Array(message[..<cut]).span)
            sha.update(Array(message[cut...]).span)
            #expect(sha.finalize() == SHA1.hash(message.span))
        }
    }

    /// RFC 6455 §1.3 and §4.2.2: the accept value of the example key.
    @Test func rfc6455AcceptExample() {
        let key = "dGhlIHNhbXBsZSBub25jZQ=="
        let digest = SHA1.hash(Array((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").utf8))
        #expect(hex(digest) == "b37a4f2cc0624f1690f64606cf385945b2bec4ea")
        #expect(Base64.encode(digest) == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }
}
