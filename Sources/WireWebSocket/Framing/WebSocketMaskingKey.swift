/// The 32-bit masking key of a client frame (RFC 6455 §5.3).
///
/// Byte `i` of a masked payload is XOR-ed with key byte `i % 4`. When a payload arrives in
/// pieces, each piece is masked from a *phase* (the payload offset of its first byte, mod 4),
/// so the key lines up across any split.
///
/// Masking is word-wise: 32 bytes per step as `SIMD4<UInt64>` (the key rotated to the phase and
/// repeated over the vector), then 8-byte words, then at most 7 single bytes.
public struct WebSocketMaskingKey: Sendable, Hashable, CustomStringConvertible {
    /// The four key bytes in wire order, as they lie in memory (`storage`'s in-memory bytes
    /// are the key bytes 0, 1, 2, 3 whatever the machine's byte order).
    @usableFromInline
    var storage: UInt32

    /// A key from its four bytes in wire order.
    @inlinable
    public init(_ b0: UInt8, _ b1: UInt8, _ b2: UInt8, _ b3: UInt8) {
        storage = UInt32(bigEndian: UInt32(b0) << 24 | UInt32(b1) << 16 | UInt32(b2) << 8 | UInt32(b3))
    }

    /// A key from exactly four bytes in wire order, or `nil` for another count.
    public init?<Bytes: Collection<UInt8>>(_ bytes: Bytes) {
        guard bytes.count == 4 else { return nil }
        var it = bytes.makeIterator()
        self.init(it.next()!, it.next()!, it.next()!, it.next()!)
    }

    /// A key from its wire bytes read as a big-endian number (`0x37FA213D` is `37 fa 21 3d`).
    @inlinable
    public init(networkOrder value: UInt32) {
        storage = UInt32(bigEndian: value)
    }

    /// The key as a big-endian number of its wire bytes.
    @inlinable
    public var networkOrder: UInt32 { UInt32(bigEndian: storage) }

    /// The four key bytes in wire order.
    public var bytes: [UInt8] {
        let v = networkOrder
        return [UInt8(v >> 24), UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)]
    }

    /// A fresh key from `generator` (RFC 6455 §5.3: "MUST be ... derived from a strong source
    /// of entropy"; the default generator of the serializer is `SystemRandomNumberGenerator`).
    @inlinable
    public static func random<G: RandomNumberGenerator>(using generator: inout G) -> WebSocketMaskingKey {
        WebSocketMaskingKey(networkOrder: UInt32(truncatingIfNeeded: generator.next()))
    }

    /// Eight hex digits of the wire bytes, e.g. `37fa213d`.
    public var description: String {
        let hex = String(networkOrder, radix: 16)
        return String(repeating: "0", count: 8 - hex.count) + hex
    }

    // MARK: Masking

    /// The key as it lies in memory, rotated so that its first byte is key byte `phase % 4`,
    /// and repeated to 64 bits.
    @inlinable @inline(__always)
    func word(phase: Int) -> UInt64 {
        let shift = UInt32(truncatingIfNeeded: (phase & 3) &<< 3)
        #if _endian(little)
        let rotated = storage >> shift | storage << ((32 &- shift) & 31)
        #else
        let rotated = storage << shift | storage >> ((32 &- shift) & 31)
        #endif
        let r = shift == 0 ? storage : rotated
        return UInt64(r) | UInt64(r) << 32
    }

    /// XORs `count` bytes from `source` with the key starting at `phase` and stores them at
    /// `destination` (which may equal `source`: masking in place).
    @inlinable
    func xor(from source: UnsafeRawPointer, to destination: UnsafeMutableRawPointer, count: Int, phase: Int) {
        if count >= 64 && UInt(bitPattern: destination) & 15 != 0 {
            xorAligning(from: source, to: destination, count: count, phase: phase)
        } else {
            xorWords(from: source, to: destination, count: count, phase: phase)
        }
    }

    /// ``xor(from:to:count:phase:)`` for a long run whose destination is not 16-byte aligned:
    /// single bytes until it is, so that no vector store straddles two cache lines (a copy into
    /// a buffer: source and destination are usually misaligned alike, by a frame header).
    @usableFromInline @inline(never)
    func xorAligning(from source: UnsafeRawPointer, to destination: UnsafeMutableRawPointer, count: Int, phase: Int) {
        let head = (16 &- Int(bitPattern: UInt(bitPattern: destination) & 15)) & 15
        var key = self.word(phase: phase)
        #if !_endian(little)
        key = key.byteSwapped
        #endif
        for i in 0..<head {
            let b = source.load(fromByteOffset: i, as: UInt8.self)
            destination.storeBytes(of: b ^ UInt8(truncatingIfNeeded: key), toByteOffset: i, as: UInt8.self)
            key = key >> 8 | key << 56      // the key at the next byte's phase
        }
        xorWords(from: source + head, to: destination + head, count: count &- head, phase: phase &+ head)
    }

    /// ``xor(from:to:count:phase:)`` without aligning the destination first.
    @inlinable @inline(__always)
    func xorWords(from source: UnsafeRawPointer, to destination: UnsafeMutableRawPointer, count: Int, phase: Int) {
        let word = self.word(phase: phase)
        var i = 0
        if count >= 32 {
            let vector = SIMD4<UInt64>(repeating: word)
            while i &+ 32 <= count {
                let v = source.loadUnaligned(fromByteOffset: i, as: SIMD4<UInt64>.self)
                destination.storeBytes(of: v ^ vector, toByteOffset: i, as: SIMD4<UInt64>.self)
                i &+= 32
            }
        }
        while i &+ 8 <= count {
            let v = source.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            destination.storeBytes(of: v ^ word, toByteOffset: i, as: UInt64.self)
            i &+= 8
        }
        // Tail: at most 7 bytes; `i` is a multiple of 8, so the phase is unchanged.
        var tail = word
        #if !_endian(little)
        tail = tail.byteSwapped
        #endif
        while i < count {
            let b = source.load(fromByteOffset: i, as: UInt8.self)
            destination.storeBytes(of: b ^ UInt8(truncatingIfNeeded: tail), toByteOffset: i, as: UInt8.self)
            tail >>= 8
            i &+= 1
        }
    }

    /// Masks (or unmasks: the operation is its own inverse) `bytes` in place, the first byte
    /// being at payload offset `phase` (only `phase % 4` matters).
    @inlinable
    public func apply(to bytes: inout MutableSpan<UInt8>, phase: Int = 0) {
        let count = bytes.count
        bytes.withUnsafeMutableBytes { raw in
            guard let base = raw.baseAddress else { return }
            xor(from: base, to: base, count: count, phase: phase)
        }
    }

    /// Masks (or unmasks) `array[range]` in place, the first byte being at payload offset `phase`.
    @inlinable
    public func apply(to array: inout [UInt8], range: Range<Int>? = nil, phase: Int = 0) {
        let range = range ?? array.indices
        precondition(range.lowerBound >= 0 && range.upperBound <= array.count, "range out of bounds")
        array.withUnsafeMutableBytes { raw in
            guard let base = raw.baseAddress else { return }
            xor(from: base + range.lowerBound, to: base + range.lowerBound, count: range.count, phase: phase)
        }
    }

    /// Appends `source` masked (or unmasked) to `out`, the first byte being at payload offset
    /// `phase`. `out` grows at most once.
    @inlinable
    public func apply(_ source: Span<UInt8>, phase: Int = 0, appendingTo out: inout [UInt8]) {
        let count = source.count
        guard count > 0 else { return }
        let start = out.count
        // Copy (memcpy) then XOR in place: Array has no "append uninitialized".
        source.withUnsafeBytes { src in out.append(contentsOf: src) }
        out.withUnsafeMutableBytes { dst in
            let base = dst.baseAddress! + start
            xor(from: base, to: base, count: count, phase: phase)
        }
    }

    /// Masks (or unmasks) `source` into `destination`, which must be at least as long, the first
    /// byte being at payload offset `phase`. For callers that manage their own buffers.
    @inlinable
    public func apply(_ source: UnsafeRawBufferPointer, phase: Int = 0, into destination: UnsafeMutableRawBufferPointer) {
        precondition(destination.count >= source.count, "destination too small")
        guard let src = source.baseAddress, let dst = destination.baseAddress else { return }
        xor(from: src, to: dst, count: source.count, phase: phase)
    }
}
