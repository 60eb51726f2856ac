import WireCore

// Byte scanners over raw memory, SIMD where lines are long. Every function has a scalar
// twin used by the tests to check the vector path at every alignment.
//
// Vector idioms (see STYLE.md): compare with `SIMD16<UInt8>(repeating:)`, read the lane
// mask through `unsafeBitCast(_, to: SIMD2<UInt64>.self)`, first lane = trailing zeros / 8.

@usableFromInline
enum Scan {
    /// The index of the first lane set in a 16-lane mask, or `nil`.
    @inline(__always)
    static func firstLane(_ mask: SIMDMask<SIMD16<Int8>>) -> Int? {
        let words = unsafeBitCast(mask, to: SIMD2<UInt64>.self)
        if words[0] != 0 { return words[0].trailingZeroBitCount &>> 3 }
        if words[1] != 0 { return 8 &+ words[1].trailingZeroBitCount &>> 3 }
        return nil
    }

    @inline(__always)
    static func load(_ p: UnsafePointer<UInt8>, _ i: Int) -> SIMD16<UInt8> {
        UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<UInt8>.self)
    }

    /// The first index in `from..<end` holding LF, or `end`.
    @inline(__always)
    static func lineFeed(_ p: UnsafePointer<UInt8>, _ from: Int, _ end: Int) -> Int {
        var i = from
        let lf = SIMD16<UInt8>(repeating: 0x0A)
        while i &+ 16 <= end {
            if let lane = firstLane(load(p, i) .== lf) { return i &+ lane }
            i &+= 16
        }
        while i < end {
            if p[i] == 0x0A { return i }
            i &+= 1
        }
        return end
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
        var i = from
        let space = SIMD16<UInt8>(repeating: 0x20)
        let tab = SIMD16<UInt8>(repeating: 0x09)
        let del = SIMD16<UInt8>(repeating: 0x7F)
        while i &+ 16 <= end {
            let v = load(p, i)
            let bad = ((v .< space) .& (v .!= tab)) .| (v .== del)
            if let lane = firstLane(bad) { return i &+ lane }
            i &+= 16
        }
        while i < end {
            let b = p[i]
            if (b < 0x20 && b != 0x09) || b == 0x7F { return i }
            i &+= 1
        }
        return end
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
        var i = from
        let low = SIMD16<UInt8>(repeating: 0x21)
        let span = SIMD16<UInt8>(repeating: 0x7E - 0x21)
        while i &+ 16 <= end {
            let v = load(p, i) &- low
            if let lane = firstLane(v .> span) { return i &+ lane }
            i &+= 16
        }
        while i < end {
            if p[i] &- 0x21 > 0x7E - 0x21 { return i }
            i &+= 1
        }
        return end
    }

    static func visibleEndScalar(_ p: UnsafePointer<UInt8>, _ from: Int, _ end: Int) -> Int {
        var i = from
        while i < end, ASCII.is(p[i], ASCII.vchar) { i += 1 }
        return i
    }

    /// The first index in `from..<end` holding a byte that is not a `tchar`, or `end`.
    @inline(__always)
    static func tokenEnd(_ p: UnsafePointer<UInt8>, _ from: Int, _ end: Int) -> Int {
        var i = from
        while i &+ 4 <= end {
            if !ASCII.isTokenCharacter(p[i]) { return i }
            if !ASCII.isTokenCharacter(p[i &+ 1]) { return i &+ 1 }
            if !ASCII.isTokenCharacter(p[i &+ 2]) { return i &+ 2 }
            if !ASCII.isTokenCharacter(p[i &+ 3]) { return i &+ 3 }
            i &+= 4
        }
        while i < end {
            if !ASCII.isTokenCharacter(p[i]) { return i }
            i &+= 1
        }
        return end
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
}
