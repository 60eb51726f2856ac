import WireCore

// The end of a head: framing and connection fields (RFC 9112 §6, §9.3; RFC 9110 §7.2, §7.8,
// §8.6, §10.1.1), the body length (RFC 9112 §6.3) and what the parser does next.

/// What the framing fields of a head said.
struct HTTP1FramingFields {
    var flags: HTTP1HeadFlags = []
    var contentLength: Int? = nil
    var contentLengthOffset = 0
    var hostCount = 0
    var codings: UInt8 = 0
    var chunkedFinal = false
    var transferEncodingOffset = -1
}

extension HTTP1Parser {
    /// Called on the empty line ending a head or trailer section (all of it in storage).
    mutating func completeSection(trailers: Bool) throws(HTTP1ParseError) -> HTTP1ParseEvent {
        let base = section.streamBase
        section = HTTP1SectionProgress()
        if trailers {
            let t = trailerStorage!
            endMessage()
            return .end(trailers: t.fieldCount == 0 ? nil : HTTP1FieldBlock(storage: t, fields: 0..<Int32(t.fieldCount)))
        }
        return try completeHead(scanFramingFields(base: base, framingIgnored: framingFieldsIgnored), base: base)
    }

    /// A response whose length is fixed by its status or by the request it answers (1xx,
    /// 204, 304, an answer to HEAD, a 2xx to CONNECT) ends at its head whatever its framing
    /// fields say, and a client ignores them (RFC 9112 §6.3 rules 1–2): they are neither
    /// read nor checked. Known once the start line is parsed.
    var framingFieldsIgnored: Bool {
        @inline(__always) get {
            guard kind == .response else { return false }
            let status = start.status
            let request = expectedIndex < expected.count ? expected[expectedIndex] : .other
            return status < 200 || status == 204 || status == 304 || request == .head
                || (request == .connect && status < 300)
        }
    }

    /// The end of a head whose framing fields `f` say what follows; `base` is the stream
    /// offset of storage offset 0.
    mutating func completeHead(_ f: HTTP1FramingFields, base: Int) throws(HTTP1ParseError) -> HTTP1ParseEvent {
        var flags = start.flags.union(f.flags)

        if f.transferEncodingOffset >= 0 {
            if start.version == .http1_0 {
                throw HTTP1ParseError(.transferEncodingInHTTP10, offset: base &+ f.transferEncodingOffset)
            }
            if f.contentLength != nil {
                throw HTTP1ParseError(
                    .contentLengthAndTransferEncoding,
                    offset: base &+ Swift.max(f.transferEncodingOffset, f.contentLengthOffset))
            }
            if kind == .request && !f.chunkedFinal {
                throw HTTP1ParseError(.chunkedNotFinal, offset: base &+ f.transferEncodingOffset)
            }
        }
        var framing: HTTP1BodyFraming =
            f.transferEncodingOffset >= 0
            ? (f.chunkedFinal ? .chunked : .untilClose)
            : f.contentLength.map { .contentLength($0) } ?? (kind == .request ? .none : .untilClose)

        let event: HTTP1ParseEvent
        if kind == .request {
            if f.hostCount == 0 && start.version == .http1_1 {
                throw HTTP1ParseError(.missingHost, offset: base &+ storage.byteCount &- 2)
            }
            try checkBodyLimit(framing, offset: base &+ f.contentLengthOffset)
            storage.info.methodEnd = start.methodEnd
            storage.info.targetStart = start.targetStart
            storage.info.targetEnd = start.targetEnd
            storage.info.flags = flags
            storage.info.streamOffset = base
            storage.info.version = start.version
            storage.info.framing = framing
            storage.info.targetForm = start.targetForm
            let head = HTTP1RequestHead(storage: storage)
            if head.isCONNECT || head.isUpgradeRequest { pauseAfterEnd = .awaitingProtocolDecision }
            event = .requestHead(head)
        } else {
            let status = start.status
            if status < 200 {
                framing = .none
            } else {
                let request = nextExpectedRequest()
                if request == .head { flags.insert(.head) }
                if request == .connect && status < 300 {
                    framing = .none
                    pauseAfterEnd = .switchedProtocols
                } else if request == .head || status == 204 || status == 304 {
                    framing = .none
                }
            }
            try checkBodyLimit(framing, offset: base &+ f.contentLengthOffset)
            storage.info.reasonStart = start.reasonStart
            storage.info.reasonEnd = start.reasonEnd
            storage.info.flags = flags
            storage.info.streamOffset = base
            storage.info.version = start.version
            storage.info.status = status
            storage.info.framing = framing
            event = .responseHead(HTTP1ResponseHead(storage: storage))
            if status < 200 {
                if status == 101 {
                    state = .paused(.switchedProtocols)
                } else {
                    beginNextMessage()
                }
                return event
            }
        }
        switch framing {
        case .none, .contentLength(0): state = .end
        case .contentLength(let n): state = .contentLength(remaining: n)
        case .chunked: state = .chunkSize
        case .untilClose: state = .untilClose
        }
        return event
    }

    func checkBodyLimit(_ framing: HTTP1BodyFraming, offset: Int) throws(HTTP1ParseError) {
        if case .contentLength(let n) = framing, n > configuration.limits.maxBodyBytes {
            throw HTTP1ParseError(.bodyTooLarge, offset: offset)
        }
    }

    mutating func nextExpectedRequest() -> HTTP1ExpectedRequest {
        guard expectedIndex < expected.count else { return .other }
        defer { expectedIndex &+= 1 }
        return expected[expectedIndex]
    }

    /// Reads Host, Content-Length, Transfer-Encoding, Connection, Upgrade and Expect.
    func scanFramingFields(base: Int, framingIgnored: Bool = false) throws(HTTP1ParseError) -> HTTP1FramingFields {
        var f = HTTP1FramingFields()
        let p = UnsafePointer(storage.bytes)
        for i in 0..<storage.fieldCount {
            let e = storage.fields[i]
            let nameStart = Int(e.nameStart)
            let n = Int(e.nameEnd &- e.nameStart)
            let vs = Int(e.valueStart)
            let ve = Int(e.valueEnd)
            switch n {
            case 4 where Scan.load32(p, nameStart) | 0x2020_2020 == 0x7473_6F68:  // host
                guard kind == .request else { break }
                f.hostCount &+= 1
                if f.hostCount > 1 { throw HTTP1ParseError(.multipleHost, offset: base &+ nameStart) }
                guard HTTP1Syntax.isValidHost(p, vs, ve, portRequired: false) else {
                    throw HTTP1ParseError(.invalidHost, offset: base &+ vs)
                }
            case 6 where Scan.matches4to8(p, nameStart, n, 0x6570_7865, 0x7463_6570):  // expect
                if Scan.equalsLowercase(p, vs, ve &- vs, "100-continue") { f.flags.insert(.expectContinue) }
            case 7 where Scan.matches4to8(p, nameStart, n, 0x7267_7075, 0x6564_6172):  // upgrade
                f.flags.insert(.hasUpgrade)
            case 10 where Scan.matches8to16(p, nameStart, n, 0x6974_6365_6E6E_6F63, 0x6E6F_6974_6365_6E6E):
                Self.scanConnection(p, vs, ve, &f.flags)  // connection
            case 14 where !framingIgnored && Scan.matches8to16(p, nameStart, n, 0x2D74_6E65_746E_6F63, 0x6874_676E_656C_2D74):
                try scanContentLength(p, vs, ve, base: base, &f)  // content-length
                f.contentLengthOffset = nameStart
            case 17
            where !framingIgnored && Scan.matches8to16(p, nameStart, 16, 0x7265_6673_6E61_7274, 0x6E69_646F_636E_652D)
                && p[nameStart &+ 16] | 0x20 == UInt8(ascii: "g"):  // transfer-encoding
                try scanTransferEncoding(p, vs, ve, base: base, &f)
                f.transferEncodingOffset = nameStart
            default:
                break
            }
        }
        return f
    }

    /// Connection options (RFC 9110 §7.6.1): `close`, `keep-alive`, `upgrade`.
    static func scanConnection(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int, _ flags: inout HTTP1HeadFlags) {
        // The values browsers and libraries send, alone.
        switch end &- start {
        case 10 where Scan.matches8to16(p, start, 10, 0x696C_612D_7065_656B, 0x6576_696C_612D_7065):
            flags.insert(.connectionKeepAlive)
            return
        case 5 where Scan.matches4to8(p, start, 5, 0x736F_6C63, 0x6573_6F6C):
            flags.insert(.connectionClose)
            return
        case 7 where Scan.matches4to8(p, start, 7, 0x7267_7075, 0x6564_6172):
            flags.insert(.connectionUpgrade)
            return
        default:
            break
        }
        var i = start
        while i < end {
            while i < end, p[i] == UInt8(ascii: ",") || Scan.isBlank(p[i]) { i &+= 1 }
            let tokenStart = i
            i = Scan.tokenEnd(p, i, end)
            switch i &- tokenStart {
            case 5 where Scan.matches4to8(p, tokenStart, 5, 0x736F_6C63, 0x6573_6F6C):
                flags.insert(.connectionClose)
            case 10 where Scan.matches8to16(p, tokenStart, 10, 0x696C_612D_7065_656B, 0x6576_696C_612D_7065):
                flags.insert(.connectionKeepAlive)
            case 7 where Scan.matches4to8(p, tokenStart, 7, 0x7267_7075, 0x6564_6172):
                flags.insert(.connectionUpgrade)
            default:
                break
            }
            while i < end, p[i] != UInt8(ascii: ",") { i &+= 1 }
        }
    }

    /// `Content-Length = 1*DIGIT`; a list of identical values is folded into one, differing
    /// values are an error (RFC 9110 §8.6, RFC 9112 §6.3).
    func scanContentLength(
        _ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int, base: Int, _ f: inout HTTP1FramingFields
    ) throws(HTTP1ParseError) {
        var i = start
        repeat {
            let elementStart = i
            var value = 0
            while i < end, Scan.isDigit(p[i]) {
                let (m, o1) = value.multipliedReportingOverflow(by: 10)
                let (s, o2) = m.addingReportingOverflow(Int(p[i] &- UInt8(ascii: "0")))
                if o1 || o2 { throw HTTP1ParseError(.invalidContentLength, offset: base &+ i) }
                value = s
                i &+= 1
            }
            if i == elementStart { throw HTTP1ParseError(.invalidContentLength, offset: base &+ i) }
            if let previous = f.contentLength, previous != value {
                throw HTTP1ParseError(.conflictingContentLength, offset: base &+ elementStart)
            }
            f.contentLength = value
            while i < end, Scan.isBlank(p[i]) { i &+= 1 }
            if i == end { return }
            guard p[i] == UInt8(ascii: ",") else { throw HTTP1ParseError(.invalidContentLength, offset: base &+ i) }
            i &+= 1
            while i < end, Scan.isBlank(p[i]) { i &+= 1 }
        } while true
    }

    /// `Transfer-Encoding = #transfer-coding` (RFC 9112 §6.1): known codings, none repeated,
    /// nothing after `chunked`, no parameters.
    func scanTransferEncoding(
        _ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int, base: Int, _ f: inout HTTP1FramingFields
    ) throws(HTTP1ParseError) {
        var i = start
        var any = false
        while i < end {
            if p[i] == UInt8(ascii: ",") || Scan.isBlank(p[i]) {
                i &+= 1
                continue
            }
            let tokenStart = i
            i = Scan.tokenEnd(p, i, end)
            guard i > tokenStart else { throw HTTP1ParseError(.invalidTransferEncoding, offset: base &+ i) }
            guard let bit = HTTP1Syntax.transferCoding(p, tokenStart, i &- tokenStart) else {
                throw HTTP1ParseError(.unknownTransferCoding, offset: base &+ tokenStart)
            }
            if f.chunkedFinal { throw HTTP1ParseError(.chunkedNotFinal, offset: base &+ tokenStart) }
            if f.codings & bit != 0 { throw HTTP1ParseError(.repeatedTransferCoding, offset: base &+ tokenStart) }
            f.codings |= bit
            f.chunkedFinal = bit == HTTP1Syntax.chunkedBit
            any = true
            while i < end, Scan.isBlank(p[i]) { i &+= 1 }
            if i < end && p[i] != UInt8(ascii: ",") {
                throw HTTP1ParseError(.invalidTransferEncoding, offset: base &+ i)
            }
        }
        if !any && f.codings == 0 { throw HTTP1ParseError(.invalidTransferEncoding, offset: base &+ start) }
    }
}
