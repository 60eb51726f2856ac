import WireCore

// The whole-head fast path: a head that arrives wholly inside one input, written the way
// browsers, curl and HTTP libraries write them, is parsed in one pass over the input, then
// copied into storage in one block.
//
// It accepts a strict subset of what the line-by-line parser (`HTTP1HeadParser.swift`)
// accepts, and gives the same result for it: CRLF line endings, `token SP /target SP
// HTTP/1.x` or `HTTP/1.x SP 3DIGIT SP reason`, field lines `token ":" OWS value OWS` with no
// CTL but HTAB in the value, every limit respected. Anything else (a split head, empty lines
// before the request line, bare LF or CR, obs-fold, other target forms, a limit reached, any
// byte a rule rejects) returns `nil` before anything observable changed, and the line-by-line
// parser reads the same bytes from the start: it alone decides every error, its offset and
// every leniency. `ParserFastPathTests` checks that both paths agree on random heads.

extension HTTP1Parser {
    /// Parses a head wholly inside `p[0..<count]` at the start of a message, or returns `nil`
    /// (nothing consumed, nothing changed that the line-by-line parser relies on).
    @inline(__always)
    mutating func parseWholeHead(_ p: UnsafePointer<UInt8>, _ count: Int) throws(HTTP1ParseError) -> HTTP1ParseStep? {
        let limits = configuration.limits
        // The head, its final CRLF included, must fit the section limit: beyond it the careful
        // path reports the limit.
        let window = Swift.min(count, limits.maxHeaderSectionBytes)
        let lineEnd = kind == .request ? fastRequestLine(p, window, count) : fastStatusLine(p, window, count)
        guard lineEnd > 0, lineEnd <= limits.maxStartLineLength &- section.leadingEmptyBytes else { return nil }

        prepareStorage(trailers: false)
        // `self.storage` keeps it alive and is not replaced before this returns: no retain.
        unowned(unsafe) let s = storage
        let isRequest = kind == .request
        // (A request never ignores them: no call, no copy of the parser for the getter.)
        let framingIgnored = isRequest ? false : framingFieldsIgnored
        var capacity = Swift.min(s.fieldCapacity, limits.maxFieldCount)
        var framing = HTTP1FramingFields()
        var fieldCount = 0
        var end = Self.fieldLines(
            p, from: lineEnd &+ 2, window: window, readable: count, into: s.fields, capacity: capacity,
            count: &fieldCount, isRequest: isRequest, framingIgnored: framingIgnored, framing: &framing)
        if end == Self.needsCapacity && capacity < limits.maxFieldCount {
            // More fields than storage holds yet: grow once, scan again.
            while s.fieldCapacity < limits.maxFieldCount && s.fieldCapacity < window { s.growFields() }
            capacity = Swift.min(s.fieldCapacity, limits.maxFieldCount)
            framing = HTTP1FramingFields()
            end = Self.fieldLines(
                p, from: lineEnd &+ 2, window: window, readable: count, into: s.fields, capacity: capacity,
                count: &fieldCount, isRequest: isRequest, framingIgnored: framingIgnored, framing: &framing)
        }
        guard end > 0 else { return nil }
        s.fieldCount = fieldCount
        // `s.append(p, count: end)` with plain accesses to its fields (a method call on `s`
        // would retain it; growing is the rare case).
        let start = s.byteCount
        if start &+ end > s.byteCapacity { s.growBytes(minimum: start &+ end) }
        (s.bytes + start).update(from: p, count: end)
        s.byteCount = start &+ end
        if section.leadingEmptyBytes != 0 { section = HTTP1SectionProgress() }
        return HTTP1ParseStep(consumed: end, event: try completeHead(framing, base: streamOffset))
    }

    /// What ``fieldLines(_:from:window:readable:into:capacity:count:isRequest:framingIgnored:framing:)``
    /// returns when the fields outnumber `capacity`.
    static var needsCapacity: Int { -2 }

    /// Field lines `token ":" OWS value OWS CRLF` from `p[from...]` up to the empty line, all
    /// before `window`. Writes one entry per line into `fields` (offsets from `p`), notes the
    /// framing fields, and returns the index after the empty line's LF; -1 for anything else
    /// (the careful path's job), or ``needsCapacity`` when there are more than `capacity`
    /// lines. Vector loads may read up to `readable` (>= `window`).
    @inline(__always)
    static func fieldLines(
        _ p: UnsafePointer<UInt8>, from: Int, window: Int, readable: Int,
        into fields: UnsafeMutablePointer<HTTP1FieldEntry>, capacity: Int, count: inout Int,
        isRequest: Bool, framingIgnored: Bool, framing: inout HTTP1FramingFields
    ) -> Int {
        var pos = from
        var n = 0
        while true {
            guard pos &+ 1 < window else { return -1 }
            if p[pos] == 0x0D {
                guard p[pos &+ 1] == 0x0A else { return -1 }
                count = n
                return pos &+ 2
            }
            let nameEnd = Scan.tokenEndFast(p, pos, window, readable: readable)
            guard nameEnd > pos, nameEnd < window, p[nameEnd] == UInt8(ascii: ":") else { return -1 }
            var valueStart = nameEnd &+ 1
            if valueStart < window && p[valueStart] == 0x20 { valueStart &+= 1 }  // the usual single SP
            while valueStart < window, Scan.isBlank(p[valueStart]) { valueStart &+= 1 }
            let stop = Scan.firstControl(p, valueStart, window, readable)
            guard stop &+ 1 < window, p[stop] == 0x0D, p[stop &+ 1] == 0x0A else { return -1 }
            var valueEnd = stop
            if valueEnd > valueStart && Scan.isBlank(p[valueEnd &- 1]) {
                repeat { valueEnd &-= 1 } while valueEnd > valueStart && Scan.isBlank(p[valueEnd &- 1])
            }
            guard n < capacity else { return needsCapacity }
            fields[n] = HTTP1FieldEntry(
                nameStart: Int32(truncatingIfNeeded: pos), nameEnd: Int32(truncatingIfNeeded: nameEnd),
                valueStart: Int32(truncatingIfNeeded: valueStart), valueEnd: Int32(truncatingIfNeeded: valueEnd))
            n &+= 1
            // Host, Expect, Upgrade, Connection, Content-Length, Transfer-Encoding: lengths
            // 4, 6, 7, 10, 14, 17.
            let length = nameEnd &- pos
            if length <= 17 && (0x2_44D0 &>> length) & 1 != 0 {
                guard
                    noteFramingField(
                        p, nameStart: pos, length: length, valueStart: valueStart, valueEnd: valueEnd,
                        readable: readable, isRequest: isRequest, framingIgnored: framingIgnored, &framing)
                else { return -1 }
            }
            pos = stop &+ 2
        }
    }

    /// What one field line says about framing and the connection, as ``scanFramingFields(base:)``
    /// reads it, for the plain spellings only: false leaves the head to the careful path
    /// (which reports any error, or reads the unusual spelling).
    @inline(never)
    static func noteFramingField(
        _ p: UnsafePointer<UInt8>, nameStart: Int, length: Int, valueStart vs: Int, valueEnd ve: Int, readable: Int,
        isRequest: Bool, framingIgnored: Bool, _ f: inout HTTP1FramingFields
    ) -> Bool {
        switch length {
        case 4 where Scan.load32(p, nameStart) | 0x2020_2020 == 0x7473_6F68:  // host
            guard isRequest else { return true }
            guard f.hostCount == 0 else { return false }
            f.hostCount = 1
            return Scan.isPlainHost(p, vs, ve, readable: readable)
        case 6 where Scan.matches4to8(p, nameStart, 6, 0x6570_7865, 0x7463_6570):  // expect
            if Scan.equalsLowercase(p, vs, ve &- vs, "100-continue") { f.flags.insert(.expectContinue) }
        case 7 where Scan.matches4to8(p, nameStart, 7, 0x7267_7075, 0x6564_6172):  // upgrade
            f.flags.insert(.hasUpgrade)
        case 10 where Scan.matches8to16(p, nameStart, 10, 0x6974_6365_6E6E_6F63, 0x6E6F_6974_6365_6E6E):
            HTTP1Parser.scanConnection(p, vs, ve, &f.flags)  // connection
        case 14 where !framingIgnored && Scan.matches8to16(p, nameStart, 14, 0x2D74_6E65_746E_6F63, 0x6874_676E_656C_2D74):
            // content-length: 1 to 18 digits, once.
            guard f.contentLength == nil, ve > vs, ve &- vs <= 18 else { return false }
            var value = 0
            for i in vs..<ve {
                let d = p[i] &- UInt8(ascii: "0")
                guard d < 10 else { return false }
                value = value &* 10 &+ Int(d)
            }
            f.contentLength = value
            f.contentLengthOffset = nameStart
        case 17
        where !framingIgnored && Scan.matches8to16(p, nameStart, 16, 0x7265_6673_6E61_7274, 0x6E69_646F_636E_652D)
            && p[nameStart &+ 16] | 0x20 == UInt8(ascii: "g"):
            // transfer-encoding: exactly `chunked`, once.
            guard f.transferEncodingOffset < 0, ve &- vs == 7,
                Scan.matches4to8(p, vs, 7, 0x6E75_6863, 0x6465_6B6E)
            else { return false }
            f.codings = HTTP1Syntax.chunkedBit
            f.chunkedFinal = true
            f.transferEncodingOffset = nameStart
        default:
            break
        }
        return true
    }

    /// `token SP origin-form SP HTTP/1.x CRLF` at the start of `p[0..<window]`: records the
    /// start line and returns the index of its CR, or 0 when the line is anything else.
    @inline(__always)
    mutating func fastRequestLine(_ p: UnsafePointer<UInt8>, _ window: Int, _ readable: Int) -> Int {
        guard window >= 16 else { return 0 }
        let methodEnd: Int
        var flags: HTTP1HeadFlags = []
        let first4 = Scan.load32(p, 0)
        if first4 == 0x2054_4547 {  // "GET "
            methodEnd = 3
        } else {
            methodEnd = Scan.tokenEnd(p, 0, Swift.min(window, 24))
            guard methodEnd > 0, methodEnd &+ 1 < window, p[methodEnd] == 0x20 else { return 0 }
            if methodEnd == 4 && first4 == 0x4441_4548 {  // "HEAD"
                flags = .head
            } else if methodEnd == 7 && Scan.equalsExact(p, 7, "CONNECT") {
                return 0  // authority-form: the careful path
            }
        }
        let targetStart = methodEnd &+ 1
        guard p[targetStart] == UInt8(ascii: "/") else { return 0 }
        let targetEnd = Scan.visibleEnd(p, targetStart, window, readable: readable)
        guard targetEnd &+ 11 <= window, p[targetEnd] == 0x20,
            targetEnd &- targetStart <= configuration.limits.maxTargetLength
        else { return 0 }
        let version = Scan.load64(p, targetEnd &+ 1)
        let version11: UInt64 = 0x312E_312F_5054_5448  // "HTTP/1.1"
        guard version | 0x0100_0000_0000_0000 == version11,
            p[targetEnd &+ 9] == 0x0D, p[targetEnd &+ 10] == 0x0A
        else { return 0 }
        start.methodEnd = Int32(truncatingIfNeeded: methodEnd)
        start.targetStart = Int32(truncatingIfNeeded: targetStart)
        start.targetEnd = Int32(truncatingIfNeeded: targetEnd)
        start.version = version == version11 ? .http1_1 : .http1_0
        start.targetForm = .origin
        start.flags = flags
        return targetEnd &+ 9
    }

    /// `HTTP/1.x SP 3DIGIT SP reason CRLF` at the start of `p[0..<window]`: records the status
    /// line and returns the index of its CR, or 0 when the line is anything else.
    @inline(__always)
    mutating func fastStatusLine(_ p: UnsafePointer<UInt8>, _ window: Int, _ readable: Int) -> Int {
        guard window >= 16 else { return 0 }
        let version = Scan.load64(p, 0)
        let version11: UInt64 = 0x312E_312F_5054_5448  // "HTTP/1.1"
        guard version | 0x0100_0000_0000_0000 == version11, p[8] == 0x20, p[12] == 0x20 else { return 0 }
        let d0 = p[9] &- UInt8(ascii: "0")
        let d1 = p[10] &- UInt8(ascii: "0")
        let d2 = p[11] &- UInt8(ascii: "0")
        guard d0 &- 1 < 5, d1 < 10, d2 < 10 else { return 0 }
        let end = Scan.firstControl(p, 13, window, readable)
        guard end &+ 1 < window, p[end] == 0x0D, p[end &+ 1] == 0x0A else { return 0 }
        start.version = version == version11 ? .http1_1 : .http1_0
        start.status = Int(d0) &* 100 &+ Int(d1) &* 10 &+ Int(d2)
        start.reasonStart = 13
        start.reasonEnd = Int32(truncatingIfNeeded: end)
        return end
    }
}
