import WireCore

// Head and trailer sections, line by line (RFC 9112 §2.1, §3, §4, §5).
//
// Section bytes are kept in storage exactly as received (line endings included), so a storage
// offset plus `section.streamBase` is a stream offset. Lines wholly inside the input are
// parsed in place and copied in one block when the call ends; a line split across calls is
// completed in storage and parsed there.

extension HTTP1Parser {
    /// Bytes the current line may still take (terminator included) before a limit trips.
    @inline(__always)
    func lineBudget(_ lineOffset: Int, trailers: Bool) -> Int {
        let limits = configuration.limits
        if trailers { return limits.maxTrailerSectionBytes &- lineOffset }
        if case .startLine = state {
            return Swift.min(
                limits.maxStartLineLength &+ 2 &- section.leadingEmptyBytes,
                limits.maxHeaderSectionBytes &- lineOffset)
        }
        return limits.maxHeaderSectionBytes &- lineOffset
    }

    @inline(__always)
    func limitError(trailers: Bool, at offset: Int) -> HTTP1ParseError {
        if trailers { return HTTP1ParseError(.trailerTooLarge, offset: offset) }
        if case .startLine = state { return HTTP1ParseError(.startLineTooLong, offset: offset) }
        return HTTP1ParseError(.headerTooLarge, offset: offset)
    }

    /// Makes sure the section storage may be written: fresh at a message start, and never
    /// shared with a copy of this parser.
    @inline(__always)
    mutating func prepareStorage(trailers: Bool) {
        if trailers {
            if trailerStorage == nil {
                trailerStorage = HTTP1HeadStorage(byteCapacity: 256, fieldCapacity: 8)
            } else if needsFreshTrailers {
                if isKnownUniquelyReferenced(&trailerStorage!) {
                    trailerStorage!.reset()
                } else {
                    trailerStorage = HTTP1HeadStorage(byteCapacity: 256, fieldCapacity: 8)
                }
            } else if !isKnownUniquelyReferenced(&trailerStorage!) {
                trailerStorage = trailerStorage!.copy()
            }
            needsFreshTrailers = false
        } else if needsFreshStorage {
            needsFreshStorage = false
            if isKnownUniquelyReferenced(&storage) {
                storage.reset()
            } else {
                storage = HTTP1HeadStorage()
            }
        } else if !isKnownUniquelyReferenced(&storage) {
            storage = storage.copy()
        }
    }

    /// Parses head or trailer lines from `p[from..<count]` until the section completes
    /// (returning its event) or the input runs out.
    mutating func parseSection(
        _ p: UnsafePointer<UInt8>, _ count: Int, from: Int, trailers: Bool
    ) throws(HTTP1ParseError) -> HTTP1ParseStep {
        prepareStorage(trailers: trailers)
        let target = trailers ? trailerStorage! : storage
        var pos = from

        // A line begun in an earlier call: complete it in storage.
        if section.pendingLineStart >= 0 {
            let lineStart = section.pendingLineStart
            let have = target.byteCount &- lineStart
            let window = Swift.min(count, pos &+ Swift.max(0, lineBudget(lineStart, trailers: trailers) &- have))
            let lf = Scan.lineFeed(p, pos, window)
            if lf == window {
                if window < count { throw limitError(trailers: trailers, at: streamOffset &+ window) }
                target.append(p + pos, count: count &- pos)
                return HTTP1ParseStep(consumed: count, event: nil)
            }
            target.append(p + pos, count: lf &+ 1 &- pos)
            pos = lf &+ 1
            section.pendingLineStart = -1
            let action = try processLine(
                target.bytes + lineStart, length: target.byteCount &- lineStart, at: lineStart,
                into: target, trailers: trailers)
            switch action {
            case .next: break
            case .skip:
                section.leadingEmptyBytes &+= target.byteCount &- lineStart
                target.reset()
            case .fold(let valueEnd): fold(target, lineStart: lineStart, valueEnd: valueEnd)
            case .complete: return HTTP1ParseStep(consumed: pos, event: try completeSection(trailers: trailers))
            }
        }

        // Lines wholly inside the input: parsed in place, copied as one block.
        var copyStart = pos
        section.streamBase = streamOffset &+ copyStart &- target.byteCount
        while true {
            let lineOffset = target.byteCount &+ (pos &- copyStart)
            let window = Swift.min(count, pos &+ Swift.max(0, lineBudget(lineOffset, trailers: trailers)))
            // One SIMD pass finds the first CTL: normally the line's CR LF, which proves the
            // content clean. Anything else goes the careful way.
            let stop = Scan.firstControl(p, pos, window, count)
            let action: HTTP1LineAction
            if stop &+ 1 < window && p[stop] == 0x0D && p[stop &+ 1] == 0x0A {
                action = try processContent(
                    p + pos, stop &- pos, at: lineOffset, into: target, trailers: trailers, clean: true,
                    readable: count &- pos)
                pos = stop &+ 2
            } else {
                let lf = Scan.lineFeed(p, stop, window)
                if lf == window {
                    if window < count { throw limitError(trailers: trailers, at: streamOffset &+ window) }
                    if pos < count { section.pendingLineStart = lineOffset }
                    target.append(p + copyStart, count: count &- copyStart)
                    return HTTP1ParseStep(consumed: count, event: nil)
                }
                action = try processLine(p + pos, length: lf &+ 1 &- pos, at: lineOffset, into: target, trailers: trailers)
                pos = lf &+ 1
            }
            switch action {
            case .next:
                continue
            case .skip:
                section.leadingEmptyBytes &+= pos &- copyStart
                copyStart = pos
                section.streamBase = streamOffset &+ pos
            case .fold(let valueEnd):
                target.append(p + copyStart, count: pos &- copyStart)
                copyStart = pos
                fold(target, lineStart: lineOffset, valueEnd: valueEnd)
            case .complete:
                target.append(p + copyStart, count: pos &- copyStart)
                return HTTP1ParseStep(consumed: pos, event: try completeSection(trailers: trailers))
            }
        }
    }

    /// Merges an obs-fold continuation (already in storage at `lineStart`) into the previous
    /// field: the fold and the whitespace around it become SP octets (RFC 9112 §5.2), so
    /// storage offsets still match stream offsets.
    func fold(_ target: HTTP1HeadStorage, lineStart: Int, valueEnd: Int?) {
        guard let valueEnd else { return }
        let last = target.fieldCount &- 1
        var content = lineStart
        while Scan.isBlank(target.bytes[content]) { content &+= 1 }
        if target.fields[last].valueStart == target.fields[last].valueEnd {
            target.fields[last].valueStart = Int32(content)
        } else {
            for i in Int(target.fields[last].valueEnd)..<content { target.bytes[i] = 0x20 }
        }
        target.fields[last].valueEnd = Int32(valueEnd)
    }

    /// Parses one complete line (`length` includes its LF) whose storage offset is `offset`.
    @inline(__always)
    mutating func processLine(
        _ line: UnsafePointer<UInt8>, length: Int, at offset: Int, into target: HTTP1HeadStorage, trailers: Bool
    ) throws(HTTP1ParseError) -> HTTP1LineAction {
        let streamBase = section.streamBase &+ offset
        var end = length &- 1
        if end > 0 && line[end &- 1] == 0x0D {
            end &-= 1
        } else if !configuration.allowBareLF {
            // The content before the bare LF may break a rule too: the earliest violation is
            // the one reported (the parser fails either way, so what the check leaves behind
            // does not matter).
            let bareLF = HTTP1ParseError(.bareLF, offset: streamBase &+ end)
            do {
                _ = try processContent(line, end, at: offset, into: target, trailers: trailers, clean: false, readable: length)
            } catch {
                if error.offset < bareLF.offset { throw error }
            }
            throw bareLF
        }
        return try processContent(line, end, at: offset, into: target, trailers: trailers, clean: false, readable: length)
    }

    /// Parses the content `line[0..<end]` of a complete line. `clean` says the content is
    /// known to hold no CTL but HTAB (the fast path checked it while finding the line end).
    @inline(__always)
    mutating func processContent(
        _ line: UnsafePointer<UInt8>, _ end: Int, at offset: Int, into target: HTTP1HeadStorage, trailers: Bool,
        clean: Bool, readable: Int
    ) throws(HTTP1ParseError) -> HTTP1LineAction {
        let streamBase = section.streamBase &+ offset
        if case .startLine = state {
            if end == 0 {
                if kind == .request { return .skip }
                throw HTTP1ParseError(.invalidStatusLine, offset: streamBase)
            }
            if kind == .request {
                try parseRequestLine(line, end, offset: offset, streamBase: streamBase)
            } else {
                try parseStatusLine(line, end, offset: offset, streamBase: streamBase)
            }
            state = .fieldLines
            return .next
        }
        if end == 0 { return .complete }
        if Scan.isBlank(line[0]) {
            return try foldLine(line, end, offset: offset, target: target, streamBase: streamBase, trailers: trailers)
        }
        try parseFieldLine(line, end, offset: offset, target: target, streamBase: streamBase, clean: clean, readable: readable)
        return .next
    }

    @inline(__always)
    func parseFieldLine(
        _ line: UnsafePointer<UInt8>, _ end: Int, offset: Int, target: HTTP1HeadStorage, streamBase: Int, clean: Bool,
        readable: Int
    ) throws(HTTP1ParseError) {
        let nameEnd = Scan.tokenEndFast(line, 0, end, readable: readable)
        guard nameEnd < end, line[nameEnd] == UInt8(ascii: ":"), nameEnd > 0 else {
            if nameEnd == end { throw HTTP1ParseError(.missingColon, offset: streamBase &+ end) }
            let b = line[nameEnd]
            var afterBlank = nameEnd
            while afterBlank < end, Scan.isBlank(line[afterBlank]) { afterBlank &+= 1 }
            let code: HTTP1ParseError.Code =
                b == 0x0D ? .bareCR
                : nameEnd > 0 && afterBlank > nameEnd && afterBlank < end && line[afterBlank] == UInt8(ascii: ":")
                    ? .whitespaceBeforeColon
                : .invalidFieldName
            throw HTTP1ParseError(code, offset: streamBase &+ nameEnd)
        }
        var valueStart = nameEnd &+ 1
        while valueStart < end, Scan.isBlank(line[valueStart]) { valueStart &+= 1 }
        if !clean {
            let bad = Scan.fieldValueEnd(line, valueStart, end)
            if bad < end {
                throw HTTP1ParseError(line[bad] == 0x0D ? .bareCR : .invalidFieldValue, offset: streamBase &+ bad)
            }
        }
        var valueEnd = end
        while valueEnd > valueStart, Scan.isBlank(line[valueEnd &- 1]) { valueEnd &-= 1 }
        if target.fieldCount >= configuration.limits.maxFieldCount {
            throw HTTP1ParseError(.tooManyHeaders, offset: streamBase)
        }
        let o = Int32(truncatingIfNeeded: offset)
        target.appendField(
            HTTP1FieldEntry(
                nameStart: o, nameEnd: o &+ Int32(truncatingIfNeeded: nameEnd),
                valueStart: o &+ Int32(truncatingIfNeeded: valueStart), valueEnd: o &+ Int32(truncatingIfNeeded: valueEnd)))
    }

    /// Whether obs-fold is replaced with SP: per role by default (RFC 9112 §5.2: a user agent
    /// must unfold a response; a server may refuse a request, and we do).
    var unfoldsObsFold: Bool {
        switch configuration.obsFold {
        case .byRole: kind == .response
        case .reject: false
        case .replaceWithSpace: true
        }
    }

    /// A field line starting with whitespace: obs-fold (RFC 9112 §5.2), or whitespace right
    /// after the start line (RFC 9112 §2.2).
    func foldLine(
        _ line: UnsafePointer<UInt8>, _ end: Int, offset: Int, target: HTTP1HeadStorage, streamBase: Int, trailers: Bool
    ) throws(HTTP1ParseError) -> HTTP1LineAction {
        if target.fieldCount == 0 && !trailers {
            throw HTTP1ParseError(.whitespaceAfterStartLine, offset: streamBase)
        }
        guard unfoldsObsFold, target.fieldCount > 0 else {
            throw HTTP1ParseError(.obsFold, offset: streamBase)
        }
        let bad = Scan.fieldValueEnd(line, 0, end)
        if bad < end {
            throw HTTP1ParseError(line[bad] == 0x0D ? .bareCR : .invalidFieldValue, offset: streamBase &+ bad)
        }
        var valueEnd = end
        while valueEnd > 0, Scan.isBlank(line[valueEnd &- 1]) { valueEnd &-= 1 }
        return .fold(valueEnd: valueEnd == 0 ? nil : offset &+ valueEnd)
    }

    // MARK: Start lines

    /// `HTTP/` DIGIT `.` DIGIT at `line[at..<at+8]`, which the caller checked is in range.
    @inline(__always)
    func parseVersion(_ line: UnsafePointer<UInt8>, at: Int, streamBase: Int) throws(HTTP1ParseError) -> HTTP1Version {
        let v = line + at
        guard v[0] == UInt8(ascii: "H"), v[1] == UInt8(ascii: "T"), v[2] == UInt8(ascii: "T"),
            v[3] == UInt8(ascii: "P"), v[4] == UInt8(ascii: "/"), v[6] == UInt8(ascii: "."),
            Scan.isDigit(v[5]), Scan.isDigit(v[7])
        else { throw HTTP1ParseError(.invalidVersion, offset: streamBase &+ at) }
        guard v[5] == UInt8(ascii: "1"), v[7] <= UInt8(ascii: "1") else {
            throw HTTP1ParseError(.unsupportedVersion, offset: streamBase &+ at)
        }
        return v[7] == UInt8(ascii: "1") ? .http1_1 : .http1_0
    }

    /// `method SP request-target SP HTTP-version` (RFC 9112 §3).
    mutating func parseRequestLine(
        _ line: UnsafePointer<UInt8>, _ end: Int, offset: Int, streamBase: Int
    ) throws(HTTP1ParseError) {
        let methodEnd = Scan.tokenEnd(line, 0, end)
        guard methodEnd > 0, methodEnd < end, line[methodEnd] == 0x20 else {
            let code: HTTP1ParseError.Code =
                methodEnd == end ? .invalidRequestLine
                : line[methodEnd] == 0x0D ? .bareCR
                : methodEnd > 0 || line[0] != 0x20 ? .invalidMethod
                : .invalidRequestLine
            throw HTTP1ParseError(code, offset: streamBase &+ methodEnd)
        }
        let targetStart = methodEnd &+ 1
        let targetEnd = Scan.visibleEnd(line, targetStart, end)
        guard targetEnd > targetStart, targetEnd < end, line[targetEnd] == 0x20 else {
            let code: HTTP1ParseError.Code =
                targetEnd == end || targetEnd == targetStart ? .invalidRequestLine
                : line[targetEnd] == 0x0D ? .bareCR
                : .invalidTarget
            throw HTTP1ParseError(code, offset: streamBase &+ targetEnd)
        }
        if targetEnd &- targetStart > configuration.limits.maxTargetLength {
            throw HTTP1ParseError(.targetTooLong, offset: streamBase &+ targetStart &+ configuration.limits.maxTargetLength)
        }
        guard end &- targetEnd == 9 else {
            let cr = Self.carriageReturn(line, targetEnd, end)
            throw HTTP1ParseError(cr == nil ? .invalidVersion : .bareCR, offset: streamBase &+ (cr ?? targetEnd &+ 1))
        }
        let version = try parseVersion(line, at: targetEnd &+ 1, streamBase: streamBase)

        var flags: HTTP1HeadFlags = []
        let isConnect = Scan.equalsExact(line, methodEnd, "CONNECT")
        if isConnect { flags.insert(.connect) }
        if Scan.equalsExact(line, methodEnd, "HEAD") { flags.insert(.head) }
        let form = try targetForm(
            line, targetStart, targetEnd, isConnect: isConnect,
            isOptions: Scan.equalsExact(line, methodEnd, "OPTIONS"), streamBase: streamBase)

        let o = Int32(truncatingIfNeeded: offset)
        start.methodEnd = o &+ Int32(truncatingIfNeeded: methodEnd)
        start.targetStart = o &+ Int32(truncatingIfNeeded: targetStart)
        start.targetEnd = o &+ Int32(truncatingIfNeeded: targetEnd)
        start.version = version
        start.targetForm = form
        start.flags = flags
    }

    /// Which form the request-target has, checked against the method (RFC 9112 §3.2).
    func targetForm(
        _ line: UnsafePointer<UInt8>, _ start: Int, _ end: Int, isConnect: Bool, isOptions: Bool, streamBase: Int
    ) throws(HTTP1ParseError) -> HTTP1RequestTargetForm {
        if isConnect {
            guard HTTP1Syntax.isValidHost(line, start, end, portRequired: true) else {
                throw HTTP1ParseError(.invalidTargetForm, offset: streamBase &+ start)
            }
            return .authority
        }
        let first = line[start]
        if first == UInt8(ascii: "/") { return .origin }
        if first == UInt8(ascii: "*") && end &- start == 1 {
            guard isOptions else { throw HTTP1ParseError(.invalidTargetForm, offset: streamBase &+ start) }
            return .asterisk
        }
        guard HTTP1Syntax.schemeEnd(line, start, end) != nil else {
            throw HTTP1ParseError(.invalidTargetForm, offset: streamBase &+ start)
        }
        return .absolute
    }

    /// `HTTP-version SP status-code SP [reason-phrase]` (RFC 9112 §4).
    mutating func parseStatusLine(
        _ line: UnsafePointer<UInt8>, _ end: Int, offset: Int, streamBase: Int
    ) throws(HTTP1ParseError) {
        guard end >= 8 else {
            let bad = Scan.fieldValueEnd(line, 0, end)
            if bad < end && line[bad] == 0x0D { throw HTTP1ParseError(.bareCR, offset: streamBase &+ bad) }
            throw HTTP1ParseError(.invalidVersion, offset: streamBase)
        }
        let version = try parseVersion(line, at: 0, streamBase: streamBase)
        guard end >= 13, line[8] == 0x20 else {
            throw HTTP1ParseError(.invalidStatusLine, offset: streamBase &+ Swift.min(8, end))
        }
        let d0 = line[9] &- UInt8(ascii: "0")
        let d1 = line[10] &- UInt8(ascii: "0")
        let d2 = line[11] &- UInt8(ascii: "0")
        guard d0 < 10, d1 < 10, d2 < 10, line[12] == 0x20 else {
            throw HTTP1ParseError(.invalidStatusCode, offset: streamBase &+ 9)
        }
        let status = Int(d0) * 100 + Int(d1) * 10 + Int(d2)
        guard (100...599).contains(status) else {
            throw HTTP1ParseError(.invalidStatusCode, offset: streamBase &+ 9)
        }
        let bad = Scan.fieldValueEnd(line, 13, end)
        if bad < end {
            throw HTTP1ParseError(line[bad] == 0x0D ? .bareCR : .invalidReasonPhrase, offset: streamBase &+ bad)
        }
        let o = Int32(truncatingIfNeeded: offset)
        start.version = version
        start.status = status
        start.reasonStart = o &+ 13
        start.reasonEnd = o &+ Int32(truncatingIfNeeded: end)
    }
}

extension HTTP1Parser {
    /// The index of the first CR in `line[from..<end]`, if any.
    static func carriageReturn(_ line: UnsafePointer<UInt8>, _ from: Int, _ end: Int) -> Int? {
        var i = from
        while i < end {
            if line[i] == 0x0D { return i }
            i &+= 1
        }
        return nil
    }
}

extension Scan {
    /// Whether `p[0..<n]` is exactly the (case-sensitive) ASCII literal.
    @inline(__always)
    static func equalsExact(_ p: UnsafePointer<UInt8>, _ n: Int, _ literal: StaticString) -> Bool {
        guard literal.utf8CodeUnitCount == n else { return false }
        let l = literal.utf8Start
        for j in 0..<n where p[j] != l[j] { return false }
        return true
    }
}

extension HTTP1HeadStorage {
    /// A copy with the same bytes and fields (used when a copied parser would share storage).
    func copy() -> HTTP1HeadStorage {
        let new = HTTP1HeadStorage(byteCapacity: Swift.max(byteCapacity, 1), fieldCapacity: Swift.max(fieldCapacity, 1))
        new.bytes.update(from: bytes, count: byteCount)
        new.byteCount = byteCount
        new.fields.update(from: fields, count: fieldCount)
        new.fieldCount = fieldCount
        new.info = info
        return new
    }
}
