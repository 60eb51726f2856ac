import WireCore

// The chunked transfer coding (RFC 9112 §7.1):
//
//   chunked-body = *chunk last-chunk trailer-section CRLF
//   chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//   chunk-size   = 1*HEXDIG
//   chunk-ext    = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
//   chunk-ext-val = token / quoted-string

extension HTTP1Parser {
    /// Runs the chunked states on `p[0..<count]` until an event or the end of the input.
    mutating func parseChunked(_ p: UnsafePointer<UInt8>, _ count: Int) throws(HTTP1ParseError) -> HTTP1ParseStep {
        var pos = 0
        // The usual case in one step: the CRLF after the previous chunk's data, a size line of
        // hex digits and CRLF, then this chunk's data (or the last chunk and an empty trailer
        // section). Anything else, or any limit reached, is left to the states below.
        if case .chunkDataCR = state, count >= 2, p[0] == 0x0D, p[1] == 0x0A {
            pos = 2
            state = .chunkSize
        }
        if case .chunkSize = state, lineBuffer?.byteCount ?? 0 == 0 {
            var i = pos
            var size = 0
            let digitsEnd = Swift.min(count, pos &+ 15)
            while i < digitsEnd {
                let b = p[i]
                let decimal = b &- UInt8(ascii: "0")
                let letter = (b | 0x20) &- UInt8(ascii: "a")
                guard decimal < 10 || letter < 6 else { break }
                size = size &<< 4 | Int(decimal < 10 ? decimal : letter &+ 10)
                i &+= 1
            }
            let (total, overflow) = bodyBytes.addingReportingOverflow(size)
            if i > pos, i &+ 1 < count, p[i] == 0x0D, p[i &+ 1] == 0x0A, !overflow,
                total <= configuration.limits.maxBodyBytes
            {
                bodyBytes = total
                pos = i &+ 2
                if size != 0 {
                    let n = Swift.min(size, count &- pos)
                    state = n == size ? .chunkDataCR : .chunkData(remaining: size &- n)
                    if n == 0 { return HTTP1ParseStep(consumed: pos, event: nil) }
                    return HTTP1ParseStep(consumed: pos &+ n, event: .body(pos..<(pos &+ n)))
                }
                state = .trailerLines
                section = HTTP1SectionProgress()
                needsFreshTrailers = true
                if pos &+ 1 < count, p[pos] == 0x0D, p[pos &+ 1] == 0x0A, configuration.limits.maxTrailerSectionBytes >= 2 {
                    endMessage()
                    return HTTP1ParseStep(consumed: pos &+ 2, event: .end(trailers: nil))
                }
            }
        }
        while pos < count {
            switch state {
            case .chunkSize:
                guard let line = try chunkLine(p, count, from: pos) else {
                    return HTTP1ParseStep(consumed: count, event: nil)
                }
                let event = try chunkSizeLine(line.base, line.length, streamBase: line.streamBase)
                pos = line.next
                if line.start < 0 { lineBuffer!.reset() }
                if let event { return HTTP1ParseStep(consumed: pos, event: event) }
            case .chunkData(let remaining):
                let n = Swift.min(remaining, count &- pos)
                state = n == remaining ? .chunkDataCR : .chunkData(remaining: remaining &- n)
                return HTTP1ParseStep(consumed: pos &+ n, event: .body(pos..<(pos &+ n)))
            case .chunkDataCR:
                let b = p[pos]
                if b == 0x0D {
                    state = .chunkDataLF
                } else if b == 0x0A && configuration.allowBareLF {
                    state = .chunkSize
                } else {
                    throw HTTP1ParseError(b == 0x0A ? .bareLF : .invalidChunkTerminator, offset: streamOffset &+ pos)
                }
                pos &+= 1
            case .chunkDataLF:
                guard p[pos] == 0x0A else { throw HTTP1ParseError(.bareCR, offset: streamOffset &+ pos &- 1) }
                state = .chunkSize
                pos &+= 1
            case .trailerLines:
                return try parseSection(p, count, from: pos, trailers: true)
            default:
                preconditionFailure("not a chunked state")
            }
        }
        return HTTP1ParseStep(consumed: count, event: nil)
    }

    /// The most bytes a chunk-size line may take: 16 hex digits, the extensions, CRLF.
    var chunkLineBudget: Int { configuration.limits.maxChunkExtensionBytes &+ 18 }

    /// A complete chunk-size line starting at `p[from]` (or in the line buffer, if an earlier
    /// call left part of it there), or `nil` after buffering a partial line.
    mutating func chunkLine(
        _ p: UnsafePointer<UInt8>, _ count: Int, from: Int
    ) throws(HTTP1ParseError) -> (base: UnsafePointer<UInt8>, length: Int, start: Int, next: Int, streamBase: Int)? {
        if lineBuffer != nil && lineBuffer!.byteCount > 0 {
            if !isKnownUniquelyReferenced(&lineBuffer!) { lineBuffer = lineBuffer!.copy() }
            let buffer = lineBuffer!
            let window = Swift.min(count, from &+ Swift.max(0, chunkLineBudget &- buffer.byteCount))
            let lf = Scan.lineFeed(p, from, window)
            if lf == window {
                if window < count { throw HTTP1ParseError(.chunkExtensionTooLarge, offset: streamOffset &+ window) }
                buffer.append(p + from, count: count &- from)
                return nil
            }
            buffer.append(p + from, count: lf &+ 1 &- from)
            return (UnsafePointer(buffer.bytes), buffer.byteCount, -1, lf &+ 1, lineBufferStreamStart)
        }
        let window = Swift.min(count, from &+ chunkLineBudget)
        let lf = Scan.lineFeed(p, from, window)
        if lf == window {
            if window < count { throw HTTP1ParseError(.chunkExtensionTooLarge, offset: streamOffset &+ window) }
            if lineBuffer == nil || !isKnownUniquelyReferenced(&lineBuffer!) {
                lineBuffer = HTTP1HeadStorage(byteCapacity: 64, fieldCapacity: 1)
            }
            lineBuffer!.append(p + from, count: count &- from)
            lineBufferStreamStart = streamOffset &+ from
            return nil
        }
        return (p + from, lf &+ 1 &- from, from, lf &+ 1, streamOffset &+ from)
    }

    /// Parses a complete chunk-size line (`length` includes LF) and moves to the chunk data,
    /// or to the trailer section after the last chunk. Returns the extensions event, if any.
    mutating func chunkSizeLine(
        _ line: UnsafePointer<UInt8>, _ length: Int, streamBase: Int
    ) throws(HTTP1ParseError) -> HTTP1ParseEvent? {
        var end = length &- 1
        if end > 0 && line[end &- 1] == 0x0D {
            end &-= 1
        } else if !configuration.allowBareLF {
            // Report the earliest violation: one in the line's content comes first.
            let bareLF = HTTP1ParseError(.bareLF, offset: streamBase &+ end)
            do {
                _ = try chunkSizeContent(line, end, streamBase: streamBase)
            } catch {
                if error.offset < bareLF.offset { throw error }
            }
            throw bareLF
        }
        return try chunkSizeContent(line, end, streamBase: streamBase)
    }

    /// The content `line[0..<end]` of a chunk-size line: size, then extensions.
    mutating func chunkSizeContent(
        _ line: UnsafePointer<UInt8>, _ end: Int, streamBase: Int
    ) throws(HTTP1ParseError) -> HTTP1ParseEvent? {
        var i = 0
        var size = 0
        while i < end, let digit = ASCII.hexValue(line[i]) {
            if size > Int.max >> 4 { throw HTTP1ParseError(.chunkSizeOverflow, offset: streamBase &+ i) }
            size = size << 4 | Int(digit)
            i &+= 1
        }
        if i == 0 {
            throw HTTP1ParseError(end > 0 && line[0] == 0x0D ? .bareCR : .invalidChunkSize, offset: streamBase)
        }
        if end &- i > configuration.limits.maxChunkExtensionBytes {
            throw HTTP1ParseError(.chunkExtensionTooLarge, offset: streamBase &+ i &+ configuration.limits.maxChunkExtensionBytes)
        }
        let (total, overflow) = bodyBytes.addingReportingOverflow(size)
        if overflow || total > configuration.limits.maxBodyBytes {
            throw HTTP1ParseError(.bodyTooLarge, offset: streamBase)
        }
        bodyBytes = total
        let extensions = i < end ? try chunkExtensions(line, from: i, end: end, streamBase: streamBase) : nil
        if size == 0 {
            state = .trailerLines
            section = HTTP1SectionProgress()
            needsFreshTrailers = true
        } else {
            state = .chunkData(remaining: size)
        }
        return extensions.map { .chunkExtensions($0) }
    }

    /// Parses `*( BWS ";" BWS name [ BWS "=" BWS value ] )` from `line[from..<end]` into the
    /// extension storage (RFC 9112 §7.1.1).
    mutating func chunkExtensions(
        _ line: UnsafePointer<UInt8>, from: Int, end: Int, streamBase: Int
    ) throws(HTTP1ParseError) -> HTTP1FieldBlock {
        if extensionStorage == nil || !isKnownUniquelyReferenced(&extensionStorage!) {
            extensionStorage = HTTP1HeadStorage(byteCapacity: 64, fieldCapacity: 4)
        } else {
            extensionStorage!.reset()
        }
        let out = extensionStorage!
        var i = from
        @inline(__always) func skipBWS() { while i < end, Scan.isBlank(line[i]) { i &+= 1 } }
        while i < end {
            skipBWS()
            guard i < end, line[i] == UInt8(ascii: ";") else {
                throw HTTP1ParseError(
                    i < end && line[i] == 0x0D ? .bareCR : out.fieldCount == 0 ? .invalidChunkSize : .invalidChunkExtension,
                    offset: streamBase &+ i)
            }
            i &+= 1
            skipBWS()
            let nameStart = i
            i = Scan.tokenEnd(line, i, end)
            guard i > nameStart else { throw HTTP1ParseError(.invalidChunkExtension, offset: streamBase &+ i) }
            let storedName = out.append(line + nameStart, count: i &- nameStart)
            let storedNameEnd = out.byteCount
            var j = i
            while j < end, Scan.isBlank(line[j]) { j &+= 1 }
            if j < end && line[j] == UInt8(ascii: "=") {
                i = j &+ 1
                skipBWS()
                if i < end && line[i] == UInt8(ascii: "\"") {
                    i = try quotedString(line, from: i, end: end, into: out, streamBase: streamBase)
                } else {
                    let valueStart = i
                    i = Scan.tokenEnd(line, i, end)
                    guard i > valueStart else { throw HTTP1ParseError(.invalidChunkExtension, offset: streamBase &+ i) }
                    out.append(line + valueStart, count: i &- valueStart)
                }
            }
            out.appendField(
                HTTP1FieldEntry(
                    nameStart: Int32(storedName), nameEnd: Int32(storedNameEnd),
                    valueStart: Int32(storedNameEnd), valueEnd: Int32(out.byteCount)))
        }
        return HTTP1FieldBlock(storage: out, fields: 0..<Int32(out.fieldCount))
    }

    /// Copies the content of the quoted-string at `line[from]` (RFC 9110 §5.6.4), unescaped,
    /// into `out`; returns the index after the closing quote.
    func quotedString(
        _ line: UnsafePointer<UInt8>, from: Int, end: Int, into out: HTTP1HeadStorage, streamBase: Int
    ) throws(HTTP1ParseError) -> Int {
        var i = from &+ 1
        while i < end {
            let b = line[i]
            if b == UInt8(ascii: "\"") { return i &+ 1 }
            if b == UInt8(ascii: "\\") {
                i &+= 1
                guard i < end, ASCII.isFieldValueCharacter(line[i]) else { break }
                out.appendByte(line[i])
            } else {
                guard ASCII.isFieldValueCharacter(b) else { break }
                out.appendByte(b)
            }
            i &+= 1
        }
        throw HTTP1ParseError(i < end && line[i] == 0x0D ? .bareCR : .invalidChunkExtension, offset: streamBase &+ i)
    }
}
