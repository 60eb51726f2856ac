import WireCore

/// The byte-level writers behind ``HTTP1Serializer``: every piece of a head is validated while
/// it is copied, straight from the caller's storage into the output array, with no `String`
/// built on the way.
enum HTTP1Bytes {
    // MARK: Literals

    @inline(__always)
    static func append(_ literal: StaticString, to out: inout [UInt8]) {
        literal.withUTF8Buffer { out.append(contentsOf: $0) }
    }

    @inline(__always)
    static func appendCRLF(to out: inout [UInt8]) {
        out.append(0x0D)
        out.append(0x0A)
    }

    /// A non-negative integer in decimal.
    static func appendDecimal(_ value: Int, to out: inout [UInt8]) {
        precondition(value >= 0)
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: enough for Int.max
        var v = UInt64(value)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                count &+= 1
                buffer[24 &- count] = UInt8(truncatingIfNeeded: v % 10) &+ 0x30
                v /= 10
            } while v != 0
            out.append(contentsOf: buffer[(24 &- count)...])
        }
    }

    /// A non-negative integer in lower-case hex (chunk sizes, RFC 9112 §7.1).
    static func appendHex(_ value: Int, to out: inout [UInt8]) {
        precondition(value >= 0)
        let v = UInt64(value)
        let nibbles = v == 0 ? 1 : (64 &- v.leadingZeroBitCount &+ 3) / 4
        var shift = (nibbles &- 1) &* 4
        while shift >= 0 {
            let nibble = UInt8(truncatingIfNeeded: (v >> UInt64(shift)) & 0xF)
            out.append(nibble < 10 ? nibble &+ 0x30 : nibble &+ 0x57)
            shift &-= 4
        }
    }

    // MARK: Strings without copying

    /// Lends the UTF-8 bytes of `string` (contiguous for every native string; others are made
    /// contiguous once).
    @inline(__always)
    static func withBytes<R, E: Error>(
        _ string: String, _ body: (UnsafeBufferPointer<UInt8>) throws(E) -> R
    ) throws(E) -> R {
        let lent: Result<R, E>? = string.utf8.withContiguousStorageIfAvailable { buffer in
            Result { () throws(E) -> R in try body(buffer) }
        }
        if let lent { return try lent.get() }
        var copy = string
        copy.makeContiguousUTF8()
        let again: Result<R, E>? = copy.utf8.withContiguousStorageIfAvailable { buffer in
            Result { () throws(E) -> R in try body(buffer) }
        }
        return try again!.get()
    }

    // MARK: Whole lines, validated where they are written

    /// Room for vector loads past a line written into the array's new capacity.
    static let scanSlack = 16

    /// Appends `name: value` CRLF with one capacity check and two copies, then checks the
    /// copies where they lie (vector scans may read into the reserved slack): the name a token
    /// (RFC 9110 §5.6.2), the value field content without leading or trailing whitespace
    /// (RFC 9110 §5.5). Returns what is invalid, or `nil`; on error the line stays in `out`
    /// (the caller removes the whole head).
    @inline(__always)
    static func appendFieldLine(
        _ name: UnsafeBufferPointer<UInt8>, _ value: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]
    ) -> HTTP1UsageError.Code? {
        let n = name.count
        let v = value.count
        let total = n &+ v &+ 4
        var invalid: HTTP1UsageError.Code? = nil
        out.append(addingCapacity: total &+ scanSlack) { (span: inout OutputSpan<UInt8>) in
            span.withUnsafeMutableBufferPointer { buffer, initialized in
                invalid = writeFieldLine(
                    name, value, at: buffer.baseAddress! + initialized, readable: buffer.count &- initialized)
                initialized &+= total
            }
        }
        return invalid
    }

    /// Writes `name: value` CRLF at `line` (with `readable >= length + scanSlack` bytes of
    /// room) and checks it there; returns what is invalid, or `nil`.
    /// `checkName: false` for an `HTTPField.Name`, which HTTPTypes only builds from a token
    /// (pseudo-header names, which start with `:`, are never written).
    @inline(__always)
    static func writeFieldLine(
        _ name: UnsafeBufferPointer<UInt8>, _ value: UnsafeBufferPointer<UInt8>, at line: UnsafeMutablePointer<UInt8>,
        readable: Int, checkName: Bool = true
    ) -> HTTP1UsageError.Code? {
        let n = name.count
        let v = value.count
        if n > 0 { copyBytes(line, name.baseAddress!, n) }
        line[n] = UInt8(ascii: ":")
        line[n &+ 1] = 0x20
        if v > 0 { copyBytes(line + (n &+ 2), value.baseAddress!, v) }
        let valueEnd = n &+ 2 &+ v
        line[valueEnd] = 0x0D
        line[valueEnd &+ 1] = 0x0A
        if checkName && (n == 0 || Scan.tokenEndFast(line, 0, n, readable: readable) != n) { return .invalidFieldName }
        if v > 0
            && (Scan.isBlank(line[n &+ 2]) || Scan.isBlank(line[valueEnd &- 1])
                || Scan.firstControl(line, n &+ 2, valueEnd, readable) != valueEnd)
        {
            return .invalidFieldValue
        }
        return nil
    }

    /// Appends `HTTP/1.1 ddd reason` CRLF the same way; false when the reason phrase holds a
    /// byte it may not (RFC 9112 §4: HTAB, SP, VCHAR, obs-text), the line then left in `out`.
    @inline(__always)
    static func appendStatusLine(_ code: Int, _ reason: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) -> Bool {
        let r = reason.count
        let total = 15 &+ r
        var ok = true
        out.append(addingCapacity: total &+ scanSlack) { (span: inout OutputSpan<UInt8>) in
            span.withUnsafeMutableBufferPointer { buffer, initialized in
                let line = buffer.baseAddress! + initialized
                let readable = buffer.count &- initialized
                UnsafeMutableRawPointer(line).storeBytes(of: UInt64(0x312E_312F_5054_5448).littleEndian, as: UInt64.self)
                line[8] = 0x20
                line[9] = UInt8(truncatingIfNeeded: code / 100) &+ 0x30
                line[10] = UInt8(truncatingIfNeeded: code / 10 % 10) &+ 0x30
                line[11] = UInt8(truncatingIfNeeded: code % 10) &+ 0x30
                line[12] = 0x20
                if r > 0 { copyBytes(line + 13, reason.baseAddress!, r) }
                line[13 &+ r] = 0x0D
                line[14 &+ r] = 0x0A
                initialized &+= total
                ok = Scan.firstControl(line, 13, 13 &+ r, readable) == 13 &+ r
            }
        }
        return ok
    }

    /// Copies `n > 0` bytes: up to 16 with two overlapping loads and stores each (no call, no
    /// loop: most names and values are that short), longer ones with `memmove`.
    @inline(__always)
    static func copyBytes(_ to: UnsafeMutablePointer<UInt8>, _ from: UnsafePointer<UInt8>, _ n: Int) {
        let d = UnsafeMutableRawPointer(to)
        let s = UnsafeRawPointer(from)
        if n >= 8 {
            if n <= 16 {
                let head = s.loadUnaligned(as: UInt64.self)
                let tail = s.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self)
                d.storeBytes(of: head, as: UInt64.self)
                d.storeBytes(of: tail, toByteOffset: n &- 8, as: UInt64.self)
            } else {
                d.copyMemory(from: s, byteCount: n)
            }
        } else if n >= 4 {
            let head = s.loadUnaligned(as: UInt32.self)
            let tail = s.loadUnaligned(fromByteOffset: n &- 4, as: UInt32.self)
            d.storeBytes(of: head, as: UInt32.self)
            d.storeBytes(of: tail, toByteOffset: n &- 4, as: UInt32.self)
        } else {
            to[0] = from[0]
            to[n &>> 1] = from[n &>> 1]
            to[n &- 1] = from[n &- 1]
        }
    }

    // MARK: Validating appenders (false: invalid, nothing meaningful written)

    /// A token (RFC 9110 §5.6.2): methods, field names, extension names.
    @inline(__always)
    static func appendToken(_ bytes: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) -> Bool {
        guard isToken(bytes) else { return false }
        out.append(contentsOf: bytes)
        return true
    }

    static func isToken(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard !bytes.isEmpty else { return false }
        for b in bytes where !ASCII.isTokenCharacter(b) { return false }
        return true
    }

    /// A field value (RFC 9110 §5.5): field-content octets, no leading or trailing whitespace.
    @inline(__always)
    static func appendFieldValue(_ bytes: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) -> Bool {
        guard isFieldValue(bytes) else { return false }
        out.append(contentsOf: bytes)
        return true
    }

    static func isFieldValue(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let first = bytes.first, let last = bytes.last else { return true }
        if ASCII.is(first, ASCII.whitespace) || ASCII.is(last, ASCII.whitespace) { return false }
        return hasOnlyFieldContent(bytes)
    }

    /// Whether every octet is VCHAR, obs-text, SP or HTAB. Eight octets at a time: a word with
    /// no octet below 0x20 and none equal to 0x7F is fine as it is; only words that have one
    /// are looked at octet by octet (HTAB is below 0x20 and allowed).
    static func hasOnlyFieldContent(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let count = bytes.count
        guard let base = bytes.baseAddress else { return true }
        let raw = UnsafeRawPointer(base)
        var i = 0
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        while i &+ 8 <= count {
            let w = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            let below20 = (w &- ones &* 0x20) & ~w & highs
            let x7F = w ^ (ones &* 0x7F)
            let is7F = (x7F &- ones) & ~x7F & highs
            if below20 | is7F != 0 {
                for j in i..<(i &+ 8) where !ASCII.isFieldValueCharacter(base[j]) { return false }
            }
            i &+= 8
        }
        while i < count {
            if !ASCII.isFieldValueCharacter(base[i]) { return false }
            i &+= 1
        }
        return true
    }

    /// A request target (RFC 9112 §3.2): non-empty, VCHAR only (no SP, CTL or obs-text).
    static func isTarget(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard !bytes.isEmpty else { return false }
        for b in bytes where !ASCII.is(b, ASCII.vchar) { return false }
        return true
    }

    /// A reason phrase (RFC 9112 §4): HTAB, SP, VCHAR, obs-text; may be empty.
    static func isReasonPhrase(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        hasOnlyFieldContent(bytes)
    }

    /// Writes `token` or, when it is not a token, a quoted-string (RFC 9110 §5.6.4) with `"` and
    /// `\` escaped. False when an octet cannot appear even in a quoted-string (CTL but HTAB).
    static func appendTokenOrQuotedString(_ bytes: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) -> Bool {
        if isToken(bytes) {
            out.append(contentsOf: bytes)
            return true
        }
        guard hasOnlyFieldContent(bytes) else { return false }
        out.append(UInt8(ascii: "\""))
        for b in bytes {
            if b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") { out.append(UInt8(ascii: "\\")) }
            out.append(b)
        }
        out.append(UInt8(ascii: "\""))
        return true
    }

    /// Case-insensitive comparison with a lower-case ASCII literal.
    @inline(__always)
    static func equalsLowercase(_ bytes: UnsafeBufferPointer<UInt8>, _ literal: StaticString) -> Bool {
        guard bytes.count == literal.utf8CodeUnitCount else { return false }
        let start = literal.utf8Start
        for i in 0..<bytes.count where ASCII.lowercased(bytes[i]) != start[i] { return false }
        return true
    }

    /// `equalsLowercase` for a token or checked field value (no CTL): compares words with the
    /// ASCII case bit set, which lower-cases letters and leaves `-`, digits and the other token
    /// characters alone (only CTLs could turn into `-` or a digit).
    @inline(__always)
    static func equalsLowercaseWords(_ bytes: UnsafeBufferPointer<UInt8>, _ literal: StaticString) -> Bool {
        let n = literal.utf8CodeUnitCount
        guard bytes.count == n, let p = bytes.baseAddress else { return false }
        let l = UnsafeRawPointer(literal.utf8Start)
        let b = UnsafeRawPointer(p)
        if n >= 8 {
            let head = b.loadUnaligned(as: UInt64.self) | 0x2020_2020_2020_2020
            let tail = b.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self) | 0x2020_2020_2020_2020
            return head == l.loadUnaligned(as: UInt64.self) && tail == l.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self)
                && (n <= 16 || equalsLowercase(bytes, literal))
        }
        if n >= 4 {
            let head = b.loadUnaligned(as: UInt32.self) | 0x2020_2020
            let tail = b.loadUnaligned(fromByteOffset: n &- 4, as: UInt32.self) | 0x2020_2020
            return head == l.loadUnaligned(as: UInt32.self) && tail == l.loadUnaligned(fromByteOffset: n &- 4, as: UInt32.self)
        }
        return equalsLowercase(bytes, literal)
    }

    /// Parses a Content-Length value: digits only, overflow-checked (RFC 9110 §8.6).
    static func parseContentLength(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        guard !bytes.isEmpty else { return nil }
        if bytes.count <= 18 {
            // No overflow is possible below 19 digits.
            var value = 0
            for b in bytes {
                let digit = b &- 0x30
                guard digit < 10 else { return nil }
                value = value &* 10 &+ Int(digit)
            }
            return value
        }
        var value = 0
        for b in bytes {
            guard ASCII.is(b, ASCII.digit) else { return nil }
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(Int(b &- 0x30))
            if o1 || o2 { return nil }
            value = sum
        }
        return value
    }

    /// What a Transfer-Encoding value says: whether its last coding is `chunked` and whether
    /// `chunked` appears before the end (which RFC 9112 §6.1 forbids).
    /// The transfer codings of one field line: whether the last is `chunked`, whether
    /// `chunked` comes before the last, and whether there is any element at all (empty list
    /// elements are ignored, RFC 9110 §5.6.1, as the parser ignores them).
    static func transferCodings(_ bytes: UnsafeBufferPointer<UInt8>) -> (lastIsChunked: Bool, chunkedBeforeLast: Bool, hasElements: Bool) {
        var lastIsChunked = false
        var chunkedBeforeLast = false
        var start = 0
        var i = 0
        func element(_ from: Int, _ to: Int) -> Bool {
            var a = from, b = to
            while a < b, ASCII.is(bytes[a], ASCII.whitespace) { a &+= 1 }
            while b > a, ASCII.is(bytes[b &- 1], ASCII.whitespace) { b &-= 1 }
            if a == b { return false }
            return equalsLowercase(UnsafeBufferPointer(rebasing: bytes[a..<b]), "chunked")
        }
        var sawElement = false
        while i <= bytes.count {
            if i == bytes.count || bytes[i] == UInt8(ascii: ",") {
                let isChunked = element(start, i)
                var nonEmpty = false
                for j in start..<i where !ASCII.is(bytes[j], ASCII.whitespace) { nonEmpty = true; break }
                if nonEmpty {
                    if sawElement && lastIsChunked { chunkedBeforeLast = true }
                    lastIsChunked = isChunked
                    sawElement = true
                }
                start = i &+ 1
            }
            i &+= 1
        }
        return (lastIsChunked, chunkedBeforeLast, sawElement)
    }
}
