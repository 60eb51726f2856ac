import HTTPTypes
import WireCore

/// What the fields of a head say about its framing, gathered while they are written.
struct FieldScan {
    var contentLength: Int?
    var sawTransferEncoding = false
    /// A Transfer-Encoding line with at least one coding was seen.
    var sawTransferCoding = false
    var lastCodingIsChunked = false
    var chunkedBeforeLast = false
    var sawHost = false
    /// A `TE` field was written; one of its codings is `chunked`.
    var sawTE = false
    var teNamesChunked = false
    /// `Connection` lists the `TE` option.
    var connectionHasTE = false
    /// An `Upgrade` field was written; `Connection` lists the `upgrade` option.
    var sawUpgrade = false
    var connectionHasUpgrade = false
    /// `Expect` holds `100-continue`.
    var expectsContinue = false

    /// Called after the line was checked: `name` is a token, `value` holds no CTL but HTAB.
    mutating func note(name: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>) throws(HTTP1UsageError) {
        // Most names are none of the ones below: their length says so at once. The mask holds
        // the length of every case of the switch (2, 4, 6, 7, 10, 14, 17).
        let n = name.count
        guard n <= 17, (0x2_44D4 &>> n) & 1 != 0 else { return }
        switch n {
        case 14 where HTTP1Bytes.equalsLowercaseWords(name, "content-length"):
            guard let n = HTTP1Bytes.parseContentLength(value) else {
                throw HTTP1UsageError(.invalidContentLength)
            }
            if let previous = contentLength, previous != n { throw HTTP1UsageError(.invalidContentLength) }
            contentLength = n
        case 17 where HTTP1Bytes.equalsLowercaseWords(name, "transfer-encoding"):
            let codings = HTTP1Bytes.transferCodings(value)
            sawTransferEncoding = true
            // A line of empty elements adds nothing (RFC 9110 §5.6.1); a later line continues
            // the list (RFC 9110 §5.3).
            guard codings.hasElements else { break }
            if sawTransferCoding && lastCodingIsChunked { chunkedBeforeLast = true }
            if codings.chunkedBeforeLast { chunkedBeforeLast = true }
            lastCodingIsChunked = codings.lastIsChunked
            sawTransferCoding = true
        case 4 where HTTP1Bytes.equalsLowercaseWords(name, "host"):
            sawHost = true
        case 2 where HTTP1Bytes.equalsLowercaseWords(name, "te"):
            sawTE = true
            if Self.list(value, contains: "chunked") { teNamesChunked = true }
        case 10 where HTTP1Bytes.equalsLowercaseWords(name, "connection"):
            // The usual values name neither option.
            if HTTP1Bytes.equalsLowercaseWords(value, "keep-alive")
                || HTTP1Bytes.equalsLowercaseWords(value, "close")
            {
                break
            }
            if Self.list(value, contains: "te") { connectionHasTE = true }
            if Self.list(value, contains: "upgrade") { connectionHasUpgrade = true }
        case 7 where HTTP1Bytes.equalsLowercaseWords(name, "upgrade"):
            sawUpgrade = true
        case 6 where HTTP1Bytes.equalsLowercaseWords(name, "expect"):
            if Self.list(value, contains: "100-continue") { expectsContinue = true }
        default:
            break
        }
    }

    /// RFC 9112 §6.3 for requests: chunked, Content-Length, or no body.
    func requestFraming() throws(HTTP1UsageError) -> HTTP1Serializer.Framing {
        // RFC 9112 §7.4: chunked is never named in TE (always acceptable), and TE travels with
        // the TE connection option so that intermediaries do not forward it.
        if sawTE && (teNamesChunked || !connectionHasTE) { throw HTTP1UsageError(.invalidTE) }
        // RFC 9110 §7.8: Upgrade travels with the upgrade connection option.
        if sawUpgrade && !connectionHasUpgrade { throw HTTP1UsageError(.upgradeWithoutConnectionOption) }
        // RFC 9110 §10.1.1: no 100-continue expectation without content to wait for.
        if expectsContinue && !sawTransferEncoding && (contentLength ?? 0) == 0 {
            throw HTTP1UsageError(.expectationWithoutContent)
        }
        if sawTransferEncoding {
            guard contentLength == nil else { throw HTTP1UsageError(.conflictingFraming) }
            guard lastCodingIsChunked, !chunkedBeforeLast else { throw HTTP1UsageError(.requestCodingNotChunked) }
            return .chunked
        }
        if let contentLength { return .contentLength(contentLength) }
        return .none
    }

    /// Whether a comma-separated list holds `token` (ASCII case-insensitive) as an element's
    /// first word, parameters after `;` ignored (RFC 9110 §5.6.1).
    static func list(_ value: UnsafeBufferPointer<UInt8>, contains token: StaticString) -> Bool {
        var i = 0
        while i < value.count {
            while i < value.count, value[i] == 0x20 || value[i] == 0x09 || value[i] == UInt8(ascii: ",") { i += 1 }
            let start = i
            while i < value.count, value[i] != UInt8(ascii: ","), value[i] != UInt8(ascii: ";"),
                value[i] != 0x20, value[i] != 0x09
            {
                i += 1
            }
            if i > start, HTTP1Bytes.equalsLowercase(UnsafeBufferPointer(rebasing: value[start..<i]), token) { return true }
            while i < value.count, value[i] != UInt8(ascii: ",") { i += 1 }
        }
        return false
    }

    /// RFC 9112 §6.3 for responses; `nil` for a 1xx (complete with its head).
    func responseFraming(status: Int, requestMethod: HTTPRequest.Method?) throws(HTTP1UsageError) -> HTTP1Serializer.Framing? {
        let framing = try bodyFraming(status: status, requestMethod: requestMethod)
        // RFC 9110 §7.8, §15.2.2, §15.5.22: a 101 and a 426 name their protocols in Upgrade,
        // and Upgrade travels with the upgrade connection option.
        if (status == 101 || status == 426) && !sawUpgrade { throw HTTP1UsageError(.missingUpgrade) }
        if sawUpgrade && !connectionHasUpgrade { throw HTTP1UsageError(.upgradeWithoutConnectionOption) }
        return framing
    }

    private func bodyFraming(status: Int, requestMethod: HTTPRequest.Method?) throws(HTTP1UsageError) -> HTTP1Serializer.Framing? {
        if sawTransferEncoding && contentLength != nil { throw HTTP1UsageError(.conflictingFraming) }
        if chunkedBeforeLast { throw HTTP1UsageError(.conflictingFraming) }
        let framed = sawTransferEncoding || contentLength != nil
        switch status {
        case 100..<200:
            // RFC 9110 §8.6, RFC 9112 §6.1: no Content-Length or Transfer-Encoding in 1xx.
            guard !framed else { throw HTTP1UsageError(.framingNotAllowed) }
            return nil
        case 204:
            guard !framed else { throw HTTP1UsageError(.framingNotAllowed) }
            return HTTP1Serializer.Framing.none
        case 200..<300 where requestMethod == .connect:
            // RFC 9110 §9.3.6: the tunnel starts after the head.
            guard !framed else { throw HTTP1UsageError(.framingNotAllowed) }
            return HTTP1Serializer.Framing.none
        case 304:
            return HTTP1Serializer.Framing.none
        default:
            if requestMethod == .head { return HTTP1Serializer.Framing.none }
            if sawTransferEncoding { return lastCodingIsChunked ? .chunked : .untilClose }
            if let contentLength { return .contentLength(contentLength) }
            return .untilClose
        }
    }
}

extension HTTP1Serializer {
    static func writeRequestHead(
        _ request: HTTPRequest, targetForm: TargetForm, into out: inout [UInt8]
    ) throws(HTTP1UsageError) -> Framing {
        // Request line.
        let ok = HTTP1Bytes.withBytes(request.method.rawValue) { HTTP1Bytes.appendToken($0, to: &out) }
        guard ok else { throw HTTP1UsageError(.invalidMethod) }
        out.append(0x20)
        let authority = request.authority
        if request.method == .connect {
            guard let authority else { throw HTTP1UsageError(.missingTarget) }
            try appendTarget(authority, into: &out)
        } else {
            guard let path = request.path else { throw HTTP1UsageError(.missingTarget) }
            if targetForm == .absolute && path != "*" {
                guard let scheme = request.scheme, let authority else { throw HTTP1UsageError(.missingTarget) }
                try appendTarget(scheme, into: &out)
                HTTP1Bytes.append("://", to: &out)
                try appendTarget(authority, into: &out)
            }
            // RFC 9112 §3.2.1: an empty path is sent as "/".
            try appendTarget(path.isEmpty ? "/" : path, into: &out)
        }
        HTTP1Bytes.append(" HTTP/1.1\r\n", to: &out)

        // Host first (RFC 9112 §3.2), then the fields.
        var scan = FieldScan()
        if let authority {
            HTTP1Bytes.append("Host: ", to: &out)
            let ok = HTTP1Bytes.withBytes(authority) { HTTP1Bytes.appendFieldValue($0, to: &out) }
            guard ok else { throw HTTP1UsageError(.invalidFieldValue) }
            appendCRLF(&out)
            scan.sawHost = true
        }
        let hadAuthority = authority != nil
        try writeFields(request.headerFields, isRequest: true, into: &out, scan: &scan, hostWritten: hadAuthority)
        if !scan.sawHost {
            HTTP1Bytes.append("Host: \r\n", to: &out)
        }
        appendCRLF(&out)
        return try scan.requestFraming()
    }

    private static func appendTarget(_ string: String, into out: inout [UInt8]) throws(HTTP1UsageError) {
        let ok = HTTP1Bytes.withBytes(string) { bytes -> Bool in
            guard HTTP1Bytes.isTarget(bytes) else { return false }
            out.append(contentsOf: bytes)
            return true
        }
        guard ok else { throw HTTP1UsageError(.invalidTarget) }
    }

    static func writeRequestLine(method: String, target: String, into out: inout [UInt8]) throws(HTTP1UsageError) {
        let ok = HTTP1Bytes.withBytes(method) { HTTP1Bytes.appendToken($0, to: &out) }
        guard ok else { throw HTTP1UsageError(.invalidMethod) }
        out.append(0x20)
        try appendTarget(target, into: &out)
        HTTP1Bytes.append(" HTTP/1.1\r\n", to: &out)
    }

    static func writeStatusLine(code: Int, reasonPhrase: String, into out: inout [UInt8]) throws(HTTP1UsageError) {
        guard (100...999).contains(code) else { throw HTTP1UsageError(.invalidStatus) }
        let ok = HTTP1Bytes.withBytes(reasonPhrase) { reason in HTTP1Bytes.appendStatusLine(code, reason, to: &out) }
        guard ok else { throw HTTP1UsageError(.invalidReasonPhrase) }
    }

    /// One `name: value\r\n` line from strings.
    static func writeField(name: String, value: String, into out: inout [UInt8], scan: inout FieldScan) throws(HTTP1UsageError) {
        try HTTP1Bytes.withBytes(name) { (nameBytes) throws(HTTP1UsageError) in
            try HTTP1Bytes.withBytes(value) { (valueBytes) throws(HTTP1UsageError) in
                try writeField(name: nameBytes, value: valueBytes, into: &out, scan: &scan)
            }
        }
    }

    @inline(__always)
    static func writeField(
        name: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>,
        into out: inout [UInt8], scan: inout FieldScan
    ) throws(HTTP1UsageError) {
        if let invalid = HTTP1Bytes.appendFieldLine(name, value, to: &out) { throw HTTP1UsageError(invalid) }
        try scan.note(name: name, value: value)
    }

    /// Writes `fields` in order, skipping pseudo-header fields; for requests, joins `Cookie`
    /// fields into one line and refuses a `Host` field when the authority was written as Host.
    static func writeFields(
        _ fields: HTTPFields, isRequest: Bool, into out: inout [UInt8], scan: inout FieldScan,
        hostWritten: Bool = false
    ) throws(HTTP1UsageError) {
        var cookieWritten = false
        for index in fields.indices {
            try HTTP1Bytes.withBytes(fields[index].name.rawName) { (nameBytes) throws(HTTP1UsageError) in
                if nameBytes.first == UInt8(ascii: ":") { return }  // pseudo-header: not a field in HTTP/1.1
                if isRequest {
                    if nameBytes.count == 4 && hostWritten && HTTP1Bytes.equalsLowercase(nameBytes, "host") {
                        throw HTTP1UsageError(.conflictingHost)
                    }
                    if nameBytes.count == 6 && HTTP1Bytes.equalsLowercase(nameBytes, "cookie") {
                        if cookieWritten { return }
                        cookieWritten = true
                        try writeJoinedCookies(fields, from: index, name: nameBytes, into: &out)
                        return
                    }
                }
                try fields[index].withUnsafeBytesOfValue { (valueBytes) throws(HTTP1UsageError) in
                    try writeField(name: nameBytes, value: valueBytes, into: &out, scan: &scan)
                }
            }
        }
    }

    /// The field lines of a response, in order, pseudo-header fields skipped: as many lines as
    /// fit written straight into the array's new capacity (one reservation for the usual
    /// head), each checked where it lies (`HTTP1Bytes.appendFieldLine`'s rules).
    static func writeResponseFields(
        _ fields: HTTPFields, into out: inout [UInt8], scan: inout FieldScan
    ) throws(HTTP1UsageError) {
        var index = fields.startIndex
        let end = fields.endIndex
        var reserve = 512
        var failure: HTTP1UsageError? = nil
        while index < end {
            var needed = 0
            out.append(addingCapacity: reserve) { (span: inout OutputSpan<UInt8>) in
                span.withUnsafeMutableBufferPointer { buffer, initialized in
                    let base = buffer.baseAddress!
                    let capacity = buffer.count
                    var w = initialized
                    while index < end {
                        let field = fields[index]
                        let written: Int = HTTP1Bytes.withBytes(field.name.rawName) { name in
                            if name.first == UInt8(ascii: ":") { return 0 }  // pseudo-header field
                            return field.withUnsafeBytesOfValue { value in
                                let total = name.count &+ value.count &+ 4
                                guard w &+ total &+ HTTP1Bytes.scanSlack <= capacity else {
                                    needed = total &+ HTTP1Bytes.scanSlack
                                    return -1
                                }
                                if let invalid = HTTP1Bytes.writeFieldLine(
                                    name, value, at: base + w, readable: capacity &- w, checkName: false)
                                {
                                    failure = HTTP1UsageError(invalid)
                                } else {
                                    do throws(HTTP1UsageError) {
                                        try scan.note(name: name, value: value)
                                    } catch {
                                        failure = error
                                    }
                                }
                                return total
                            }
                        }
                        if written < 0 { break }
                        w &+= written
                        index &+= 1
                        if failure != nil {
                            index = end
                            break
                        }
                    }
                    initialized = w
                }
            }
            reserve = Swift.max(reserve &* 2, needed)
        }
        if let failure { throw failure }
    }

    private static func writeJoinedCookies(
        _ fields: HTTPFields, from first: Int, name: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]
    ) throws(HTTP1UsageError) {
        guard HTTP1Bytes.appendToken(name, to: &out) else { throw HTTP1UsageError(.invalidFieldName) }
        HTTP1Bytes.append(": ", to: &out)
        var separator = false
        for index in first..<fields.endIndex where fields[index].name == .cookie {
            if separator { HTTP1Bytes.append("; ", to: &out) }
            separator = true
            let ok = fields[index].withUnsafeBytesOfValue { HTTP1Bytes.appendFieldValue($0, to: &out) }
            guard ok else { throw HTTP1UsageError(.invalidFieldValue) }
        }
        appendCRLF(&out)
    }

    /// Trailer fields (RFC 9112 §7.1.2), refusing the ones that frame or route a message
    /// (RFC 9110 §6.5.1).
    static func writeTrailers(_ trailers: HTTPFields, into out: inout [UInt8]) throws(HTTP1UsageError) {
        for field in trailers {
            try HTTP1Bytes.withBytes(field.name.rawName) { (nameBytes) throws(HTTP1UsageError) in
                if nameBytes.first == UInt8(ascii: ":") { return }
                if HTTP1Bytes.equalsLowercase(nameBytes, "content-length")
                    || HTTP1Bytes.equalsLowercase(nameBytes, "transfer-encoding")
                    || HTTP1Bytes.equalsLowercase(nameBytes, "host")
                    || HTTP1Bytes.equalsLowercase(nameBytes, "trailer")
                {
                    throw HTTP1UsageError(.fieldNotAllowedInTrailers)
                }
                var scan = FieldScan()
                try field.withUnsafeBytesOfValue { (valueBytes) throws(HTTP1UsageError) in
                    try writeField(name: nameBytes, value: valueBytes, into: &out, scan: &scan)
                }
            }
        }
    }
}
