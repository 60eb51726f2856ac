import WireCore

#if arch(x86_64)
// The compiler's own x86 SIMD intrinsics (a Clang module shipped with every toolchain; no
// library, no I/O): `pmovmskb`, one bit per lane, which Swift's SIMD types do not expose.
import _Builtin_intrinsics.intel
#endif

// Byte scanners over raw memory, SIMD where lines are long. Every function has a scalar
// twin used by the tests to check the vector path at every alignment.
//
// Vector idioms (see STYLE.md): compare with `SIMD16<UInt8>(repeating:)`, turn the lane mask
// into one bit per lane (`laneBits`: `pmovmskb` on x86-64, a multiply elsewhere), first lane =
// trailing zeros.

@usableFromInline
enum Scan {
    /// One bit per lane of a 16-lane mask (bit `i` set when lane `i` is): a zero test is one
    /// instruction, and the first lane is the trailing zero count.
    @inline(__always)
    static func laneBits(_ mask: SIMDMask<SIMD16<Int8>>) -> UInt32 {
        #if arch(x86_64)
        UInt32(truncatingIfNeeded: _mm_movemask_epi8(unsafeBitCast(mask, to: SIMD2<Int64>.self)))
        #else
        laneBitsPortable(mask)
        #endif
    }

    /// ``laneBits(_:)`` without intrinsics: each half's lanes (0x00 or 0xFF) keep one distinct
    /// bit each, and a multiply sums them into the top byte. The tests compare both.
    @inline(__always)
    static func laneBitsPortable(_ mask: SIMDMask<SIMD16<Int8>>) -> UInt32 {
        let halves = unsafeBitCast(mask, to: SIMD2<UInt64>.self)
        let low = ((halves[0] & 0x8040_2010_0804_0201) &* 0x0101_0101_0101_0101) &>> 56
        let high = ((halves[1] & 0x8040_2010_0804_0201) &* 0x0101_0101_0101_0101) &>> 56
        return UInt32(truncatingIfNeeded: low | high &<< 8)
    }

    /// The index of the first lane set in a 16-lane mask, or `nil`.
    @inline(__always)
    static func firstLane(_ mask: SIMDMask<SIMD16<Int8>>) -> Int? {
        let b = laneBits(mask)
        return b == 0 ? nil : b.trailingZeroBitCount
    }

    @inline(__always)
    static func load(_ p: UnsafePointer<UInt8>, _ i: Int) -> SIMD16<UInt8> {
        UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<UInt8>.self)
    }

    /// The first index in `from..<end` whose byte `hit` flags (`scalar` says the same of one
    /// byte), or `end`. Vector loads read only `p[from..<readable]` (`readable >= end`): when
    /// fewer than 16 bytes remain, the last 16 readable bytes are loaded and the lanes before
    /// `i` shifted out, so a scan near the end of the input needs no byte loop (unless the
    /// whole input is shorter than 16 bytes).
    @inline(__always)
    static func firstHit(
        _ p: UnsafePointer<UInt8>, _ from: Int, _ end: Int, _ readable: Int,
        wide: Bool = false, _ hit: (SIMD16<UInt8>) -> SIMDMask<SIMD16<Int8>>, scalar: (UInt8) -> Bool
    ) -> Int {
        var i = from
        if wide {
            // Two vectors per test while 32 bytes are readable: long values and targets.
            while i < end && i &+ 32 <= readable {
                let m = laneBits(hit(load(p, i))) | laneBits(hit(load(p, i &+ 16))) &<< 16
                if m != 0 { return Swift.min(i &+ m.trailingZeroBitCount, end) }
                i &+= 32
            }
        }
        while i < end {
            if i &+ 16 <= readable {
                let m = laneBits(hit(load(p, i)))
                if m != 0 { return Swift.min(i &+ m.trailingZeroBitCount, end) }
                i &+= 16
            } else if readable >= 16 {
                let base = readable &- 16
                let m = laneBits(hit(load(p, base))) &>> UInt32(truncatingIfNeeded: i &- base)
                return m != 0 ? Swift.min(i &+ m.trailingZeroBitCount, end) : end
            } else {
                while i < end {
                    if scalar(p[i]) { return i }
                    i &+= 1
                }
                return end
            }
        }
        return end
    }

    /// The first index in `from..<end` holding LF, or `end`.
    @inline(__always)
    static func lineFeed(_ p: UnsafePointer<UInt8>, _ from: Int, _ end: Int) -> Int {
        lineFeed(p, from, end, readable: end)
    }

    @inline(__always)
    static func lineFeed(_ p: UnsafePointer<UInt8>, _ from: Int, _ end: Int, readable: Int) -> Int {
        let lf = SIMD16<UInt8>(repeating: 0x0A)
        return firstHit(p, from, end, readable, { $0 .== lf }, scalar: { $0 == 0x0A })
    }

    static func lineFeedScalar(_ p: UnsafePointer<UInt8>, _ from: Int, _ end: Int) -> Int {
        var i = from
        while i < end, p[i] != 0x0A { i += 1 }
        return i
    }

    /// The first index in `from..<end` holding a byte not allowed inside a field value
    /// (a CTL other than HTAB, or DEL: RFC 9110 §5.5), or `end`.
    @inline(__always)
    static func fieldValueEnd(_ p: UnsafePointer<UInt8>, _ from: Int, _ end: Int) -> Int {
        firstControl(p, from, end, end)
    }

    /// The first index in `from..<end` holding a CTL other than HTAB, or DEL, or `end`.
    /// Vector loads may read up to `bufferEnd` (which must be >= `end`); lanes at or past
    /// `end` are ignored. The vector test stops at HTAB too (two operations fewer per 16
    /// bytes); an HTAB, rare in field values, just resumes the scan after it.
    @inline(__always)
    static func firstControl(_ p: UnsafePointer<UInt8>, _ from: Int, _ end: Int, _ bufferEnd: Int) -> Int {
        let last = SIMD16<UInt8>(repeating: 0x1F)
        let del = SIMD16<UInt8>(repeating: 0x7F)
        var i = from
        while true {
            let stop = firstHit(
                p, i, end, bufferEnd, wide: true, { ($0 .<= last) .| ($0 .== del) },
                scalar: { $0 <= 0x1F || $0 == 0x7F })
            if stop == end || p[stop] != 0x09 { return stop }
            i = stop &+ 1
        }
    }

    static func fieldValueEndScalar(_ p: UnsafePointer<UInt8>, _ from: Int, _ end: Int) -> Int {
        var i = from
        while i < end, ASCII.isFieldValueCharacter(p[i]) { i += 1 }
        return i
    }

    /// The first index in `from..<end` holding a byte that is not VCHAR (so SP, CTLs, DEL
    /// and obs-text stop it), or `end`: the request-target scan.
    @inline(__always)
    static func visibleEnd(_ p: UnsafePointer<UInt8>, _ from: Int, _ end: Int) -> Int {
        visibleEnd(p, from, end, readable: end)
    }

    /// `visibleEnd` whose vector loads may read up to `readable` (>= `end`).
    @inline(__always)
    static func visibleEnd(_ p: UnsafePointer<UInt8>, _ from: Int, _ end: Int, readable: Int) -> Int {
        let low = SIMD16<UInt8>(repeating: 0x21)
        let span = SIMD16<UInt8>(repeating: 0x7E - 0x21)
        return firstHit(
            p, from, end, readable, wide: true, { $0 &- low .> span }, scalar: { $0 &- 0x21 > 0x7E - 0x21 })
    }

    static func visibleEndScalar(_ p: UnsafePointer<UInt8>, _ from: Int, _ end: Int) -> Int {
        var i = from
        while i < end, ASCII.is(p[i], ASCII.vchar) { i += 1 }
        return i
    }

    /// `ASCII.tchar` as two 64-bit masks (bytes 0-63, 64-127): a test with no memory access,
    /// which matters because a table in another module is reached through an accessor call.
    /// `ParserScanTests` checks the masks against `ASCII.classes`.
    static let tokenMaskLow: UInt64 = 0x03FF_6CFA_0000_0000
    static let tokenMaskHigh: UInt64 = 0x57FF_FFFF_C7FF_FFFE

    /// Whether `b` is a `tchar` (RFC 9110 §5.6.2).
    @inline(__always)
    static func isToken(_ b: UInt8) -> Bool {
        let mask = b < 64 ? tokenMaskLow : b < 128 ? tokenMaskHigh : 0
        return (mask &>> UInt64(b & 63)) & 1 != 0
    }

    /// SP or HTAB.
    @inline(__always)
    static func isBlank(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 }

    /// DIGIT.
    @inline(__always)
    static func isDigit(_ b: UInt8) -> Bool { b &- 0x30 < 10 }

    /// The first index in `from..<end` holding a byte that is not a `tchar`, or `end`.
    @inline(__always)
    static func tokenEnd(_ p: UnsafePointer<UInt8>, _ from: Int, _ end: Int) -> Int {
        var i = from
        while i &+ 4 <= end {
            if !isToken(p[i]) { return i }
            if !isToken(p[i &+ 1]) { return i &+ 1 }
            if !isToken(p[i &+ 2]) { return i &+ 2 }
            if !isToken(p[i &+ 3]) { return i &+ 3 }
            i &+= 4
        }
        while i < end {
            if !isToken(p[i]) { return i }
            i &+= 1
        }
        return end
    }

    /// `tokenEnd` with a vector pass for the usual name characters (letters, digits, `-`),
    /// falling back to the mask for the rest.
    /// Vector loads may read up to `readable` (>= `end`); lanes at or past `end` are ignored.
    @inline(__always)
    static func tokenEndFast(_ p: UnsafePointer<UInt8>, _ from: Int, _ end: Int) -> Int {
        tokenEndFast(p, from, end, readable: end)
    }

    /// `tokenEndFast` whose vector loads may read up to `readable` (>= `end`).
    @inline(__always)
    static func tokenEndFast(_ p: UnsafePointer<UInt8>, _ from: Int, _ end: Int, readable: Int) -> Int {
        let caseBit = SIMD16<UInt8>(repeating: 0x20)
        let a = SIMD16<UInt8>(repeating: UInt8(ascii: "a"))
        let zero = SIMD16<UInt8>(repeating: UInt8(ascii: "0"))
        let letters = SIMD16<UInt8>(repeating: 25)
        let digits = SIMD16<UInt8>(repeating: 9)
        let dash = SIMD16<UInt8>(repeating: UInt8(ascii: "-"))
        var i = from
        while true {
            let stop = firstHit(
                p, i, end, readable,
                { v in .!(((v | caseBit) &- a .<= letters) .| (v &- zero .<= digits) .| (v .== dash)) },
                scalar: { b in !((b | 0x20) &- 0x61 <= 25 || b &- 0x30 <= 9 || b == 0x2D) })
            if stop == end || p[stop] == UInt8(ascii: ":") || !isToken(p[stop]) { return stop }
            i = stop &+ 1
        }
    }

    static func tokenEndScalar(_ p: UnsafePointer<UInt8>, _ from: Int, _ end: Int) -> Int {
        var i = from
        while i < end, ASCII.isTokenCharacter(p[i]) { i += 1 }
        return i
    }

    /// Case-insensitive comparison of `p[start..<start+n]` with a lower-case ASCII literal
    /// of the same length `n`.
    @inline(__always)
    static func equalsLowercase(_ p: UnsafePointer<UInt8>, _ start: Int, _ n: Int, _ literal: StaticString) -> Bool {
        guard literal.utf8CodeUnitCount == n else { return false }
        let l = literal.utf8Start
        for j in 0..<n where ASCII.lowercased(p[start &+ j]) != l[j] { return false }
        return true
    }

    // MARK: Names compared by words

    @inline(__always)
    static func load64(_ p: UnsafePointer<UInt8>, _ i: Int) -> UInt64 {
        UInt64(littleEndian: UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self))
    }

    @inline(__always)
    static func load32(_ p: UnsafePointer<UInt8>, _ i: Int) -> UInt32 {
        UInt32(littleEndian: UnsafeRawPointer(p + i).loadUnaligned(as: UInt32.self))
    }

    /// Case-insensitive match of a 4...8-byte token against a lower-case literal given as its
    /// first and last four bytes (little-endian). OR-ing 0x20 lower-cases letters and leaves
    /// `-` and digits alone; no other token byte can turn into a letter or `-`.
    @inline(__always)
    static func matches4to8(_ p: UnsafePointer<UInt8>, _ start: Int, _ n: Int, _ first: UInt32, _ last: UInt32) -> Bool {
        load32(p, start) | 0x2020_2020 == first && load32(p, start &+ n &- 4) | 0x2020_2020 == last
    }

    /// The same for 8...16 bytes, with the first and last eight bytes.
    @inline(__always)
    static func matches8to16(_ p: UnsafePointer<UInt8>, _ start: Int, _ n: Int, _ first: UInt64, _ last: UInt64) -> Bool {
        load64(p, start) | 0x2020_2020_2020_2020 == first
            && load64(p, start &+ n &- 8) | 0x2020_2020_2020_2020 == last
    }

    /// Whether `p[start..<end]` is a Host value in its usual spelling, `[A-Za-z0-9.-]+`
    /// with an optional `:port`, and otherwise whether it passes the full grammar
    /// (``HTTP1Syntax/isValidHost(_:_:_:portRequired:)``). Vector loads may read up to
    /// `readable`.
    @inline(__always)
    static func isPlainHost(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int, readable: Int) -> Bool {
        let caseBit = SIMD16<UInt8>(repeating: 0x20)
        let a = SIMD16<UInt8>(repeating: UInt8(ascii: "a"))
        let letters = SIMD16<UInt8>(repeating: 25)
        let dash = SIMD16<UInt8>(repeating: UInt8(ascii: "-"))
        let slash = SIMD16<UInt8>(repeating: UInt8(ascii: "/"))
        let zero = SIMD16<UInt8>(repeating: UInt8(ascii: "0"))
        let digits = SIMD16<UInt8>(repeating: 9)
        // "-", ".", digits and letters: `-` and `.` are 0x2D and 0x2E, `/` (0x2F) is not.
        let stop = firstHit(
            p, start, end, readable,
            { v in
                .!(((v | caseBit) &- a .<= letters) .| (v &- zero .<= digits)
                    .| ((v &- dash .<= SIMD16(repeating: 1)) .& (v .!= slash)))
            },
            scalar: { b in !((b | 0x20) &- 0x61 <= 25 || b &- 0x30 <= 9 || b == 0x2D || b == 0x2E) })
        if stop == end { return true }
        if stop > start && p[stop] == UInt8(ascii: ":") {
            var i = stop &+ 1
            while i < end, isDigit(p[i]) { i &+= 1 }
            if i == end { return true }
        }
        return HTTP1Syntax.isValidHost(p, start, end, portRequired: false)
    }

    /// `unreserved / sub-delims` of RFC 3986 as masks (checked against the grammar by tests).
    static let regNameMaskLow: UInt64 = 0x2BFF_7FD2_0000_0000
    static let regNameMaskHigh: UInt64 = 0x47FF_FFFE_87FF_FFFE

    @inline(__always)
    static func isRegName(_ b: UInt8) -> Bool {
        let mask = b < 64 ? regNameMaskLow : b < 128 ? regNameMaskHigh : 0
        return (mask &>> UInt64(b & 63)) & 1 != 0
    }
}
