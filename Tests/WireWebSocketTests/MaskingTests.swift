import Testing
import WireWebSocket
import TestSupport

/// Word-wise (SIMD) masking equals the byte-by-byte definition of RFC 6455 §5.3 for every
/// length, alignment and phase.
@Suite struct MaskingTests {
    static func reference(_ bytes: [UInt8], key: [UInt8], phase: Int) -> [UInt8] {
        bytes.enumerated().map { $0.element ^ key[($0.offset + phase) % 4] }
    }

    @Test func everyLengthAlignmentAndPhase() {
        var rng = SplitMix64(seed: 42)
        for length in Array(0...80) + [127, 128, 1000, 4099] {
            let keyBytes = (0..<4).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let key = WebSocketMaskingKey(keyBytes)!
            let data = (0..<(length + 16)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            for alignment in 0..<16 {
                let source = Array(data[alignment..<(alignment + length)])
                for phase in 0..<4 {
                    let expected = Self.reference(source, key: keyBytes, phase: phase)
                    // In place on an array, on a sub-range.
                    var inPlace = data
                    key.apply(to: &inPlace, range: alignment..<(alignment + length), phase: phase)
                    #expect(Array(inPlace[alignment..<(alignment + length)]) == expected, "len \(length) align \(alignment) phase \(phase)")
                    #expect(inPlace[..<alignment] == data[..<alignment])
                    // Copying.
                    var appended: [UInt8] = [9]
                    key.apply(source.span, phase: phase + 4, appendingTo: &appended)
                    #expect(appended == [9] + expected)
                    // Copying from a misaligned source to a destination misaligned differently.
                    let pad = [UInt8](repeating: 7, count: (alignment &* 5 &+ phase) % 16)
                    var copied = pad
                    key.apply(data.span.extracting(alignment..<(alignment + length)), phase: phase, appendingTo: &copied)
                    #expect(copied == pad + expected, "len \(length) align \(alignment) phase \(phase) pad \(pad.count)")
                    // Through MutableSpan.
                    var viaSpan = source
                    var ms = viaSpan.mutableSpan
                    key.apply(to: &ms, phase: phase)
                    #expect(viaSpan == expected)
                }
            }
        }
    }

    @Test func maskingTwiceIsIdentity() async {
        var rng = SplitMix64(seed: 7)
        for _ in 0..<50 {
            let length = Int.random(in: 0...300, using: &rng)
            let data = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let key = WebSocketMaskingKey.random(using: &rng)
            var copy = data
            key.apply(to: &copy, phase: 3)
            key.apply(to: &copy, phase: 3)
            #expect(copy == data)
        }
    }

    @Test func keyBytesRoundTrip() {
        let key = WebSocketMaskingKey(networkOrder: 0x37FA_213D)
        #expect(key.bytes == [0x37, 0xFA, 0x21, 0x3D])
        #expect(key == WebSocketMaskingKey(0x37, 0xFA, 0x21, 0x3D))
        #expect(key.description == "37fa213d")
        #expect(WebSocketMaskingKey([1, 2, 3]) == nil)
    }
}
