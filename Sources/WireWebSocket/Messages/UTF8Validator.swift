/// An incremental UTF-8 validator (RFC 3629, as RFC 6455 §5.6 and §8.1 require for text).
///
/// Feed it the bytes of a text message in pieces split anywhere; it reports the index of the
/// first invalid byte as soon as that byte arrives. Overlong forms, surrogates (U+D800–DFFF),
/// code points above U+10FFFF and stray continuation bytes are invalid; a sequence cut off by
/// the end of the message is caught by ``finish()``.
///
/// ASCII runs are skipped 32 bytes per step (four 64-bit words or-ed together and tested against
/// the high bits); multi-byte sequences lying wholly in the piece are checked in one go, and
/// only a sequence split across pieces goes through the byte-at-a-time state.
public struct UTF8Validator: Sendable, Hashable {
    /// Continuation bytes still expected by a sequence split across pieces.
    @usableFromInline var needed: UInt8 = 0
    /// The range the next continuation byte must lie in (narrower than 80–BF right after
    /// E0, ED, F0 and F4: that is how overlongs, surrogates and > U+10FFFF are excluded).
    @usableFromInline var lower: UInt8 = 0x80
    @usableFromInline var upper: UInt8 = 0xBF
    @usableFromInline var failed = false

    public init() {}

    /// Whether the bytes so far end on a character boundary (no sequence is half-read) and
    /// nothing invalid was seen.
    @inlinable
    public var isComplete: Bool { needed == 0 && !failed }

    /// Whether an invalid byte was seen.
    @inlinable
    public var hasFailed: Bool { failed }

    /// Validates the next piece. Returns `nil` when it is valid so far, or the index in `bytes`
    /// of the first invalid byte (after which the validator stays failed).
    @inlinable
    public mutating func validate(_ bytes: Span<UInt8>) -> Int? {
        if failed { return 0 }
        let result = bytes.withUnsafeBytes { raw -> Int? in
            guard let base = raw.baseAddress else { return nil }
            return validate(base, count: raw.count)
        }
        if result != nil { failed = true }
        return result
    }

    /// Ends the text: returns `false` if a sequence is unfinished (or anything failed) and
    /// resets the validator for the next message.
    @inlinable
    public mutating func finish() -> Bool {
        let ok = isComplete
        self = UTF8Validator()
        return ok
    }

    /// Whether `bytes` is entirely valid UTF-8.
    @inlinable
    public static func isValid(_ bytes: Span<UInt8>) -> Bool {
        var v = UTF8Validator()
        return v.validate(bytes) == nil && v.finish()
    }

    @usableFromInline
    static let highBits: UInt64 = 0x8080_8080_8080_8080

    @inlinable
    mutating func validate(_ p: UnsafeRawPointer, count n: Int) -> Int? {
        var i = 0
        // A sequence left unfinished by the previous piece.
        while needed > 0 {
            if i == n { return nil }
            let b = p.load(fromByteOffset: i, as: UInt8.self)
            if b < lower || b > upper { return i }
            lower = 0x80
            upper = 0xBF
            needed &-= 1
            i &+= 1
        }
        while i < n {
            // ASCII fast path, entered only on an ASCII byte (text in other scripts goes
            // straight from one multi-byte sequence to the next).
            if p.load(fromByteOffset: i, as: UInt8.self) < 0x80 {
                i &+= 1
                while i &+ 32 <= n {
                    let w = p.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                        | p.loadUnaligned(fromByteOffset: i &+ 8, as: UInt64.self)
                        | p.loadUnaligned(fromByteOffset: i &+ 16, as: UInt64.self)
                        | p.loadUnaligned(fromByteOffset: i &+ 24, as: UInt64.self)
                    if w & Self.highBits != 0 { break }
                    i &+= 32
                }
                while i &+ 8 <= n {
                    let w = p.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                    if w & Self.highBits != 0 {
                        #if _endian(little)
                        i &+= (w & Self.highBits).trailingZeroBitCount >> 3
                        #endif
                        break
                    }
                    i &+= 8
                }
                continue
            }
            let lead = p.load(fromByteOffset: i, as: UInt8.self)
            // Length and the range of the first continuation byte (RFC 3629 §4).
            let length: Int
            var lo: UInt8 = 0x80
            var hi: UInt8 = 0xBF
            switch lead {
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; lo = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; hi = 0x9F
            case 0xF0: length = 4; lo = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; hi = 0x8F
            default: return i  // 80–C1 (continuation or overlong lead), F5–FF
            }
            if i &+ length <= n {
                let b1 = p.load(fromByteOffset: i &+ 1, as: UInt8.self)
                if b1 < lo || b1 > hi { return i &+ 1 }
                if length >= 3 {
                    let b2 = p.load(fromByteOffset: i &+ 2, as: UInt8.self)
                    if b2 & 0xC0 != 0x80 { return i &+ 2 }
                    if length == 4 {
                        let b3 = p.load(fromByteOffset: i &+ 3, as: UInt8.self)
                        if b3 & 0xC0 != 0x80 { return i &+ 3 }
                    }
                }
                i &+= length
            } else {
                // The sequence continues in the next piece: check what is here, keep the rest.
                needed = UInt8(truncatingIfNeeded: length &- 1)
                lower = lo
                upper = hi
                i &+= 1
                while i < n {
                    let b = p.load(fromByteOffset: i, as: UInt8.self)
                    if b < lower || b > upper { return i }
                    lower = 0x80
                    upper = 0xBF
                    needed &-= 1
                    i &+= 1
                }
                return nil
            }
        }
        return nil
    }
}
