// Fuzz targets for HTTP1Parser: requests, responses (with a queue of request methods, so
// HEAD and CONNECT answers are covered) and chunked bodies.
//
// Invariants checked on every input, besides "no crash, no memory error":
// - every chunking of the input gives the same events, errors (code and offset) and pauses;
// - a step without an event consumed the whole input unless the parser is paused;
// - an error carries a status hint (400, 413, 414, 431, 501, 505) and an offset within the
//   stream; the parser then rethrows the same error;
// - heads, bodies and trailers respect the configured limits, and the parser's storage
//   stays within a constant factor of them;
// - the messages accepted (HTTP/1.1, UTF-8 text) re-serialize with HTTP1Serializer and
//   re-parse to the same heads, bodies and trailers.

@testable import WireHTTP1
import WireCore
import HTTPTypes

/// A parsed head reduced to comparable data.
struct HeadSnapshot: Equatable, CustomStringConvertible {
    var startLine: [[UInt8]]          // method, target / reason
    var status: Int
    var version: HTTP1Version
    var framing: HTTP1BodyFraming
    var fields: [[UInt8]]             // name, value, name, value, ...
    var keepAlive: Bool
    var upgrade: Bool

    var description: String {
        let s = startLine.map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ")
        return "\(s) \(status) \(version) \(framing) fields=\(fields.count / 2)"
    }
}

func fieldList(_ block: HTTP1FieldBlock) -> [[UInt8]] {
    var out: [[UInt8]] = []
    for i in 0..<block.count {
        block.withField(at: i) { name, value in
            out.append(name.withUnsafeBufferPointer { Array($0) })
            out.append(value.withUnsafeBufferPointer { Array($0) })
        }
    }
    return out
}

func snapshot(_ head: HTTP1RequestHead) -> HeadSnapshot {
    let method = head.withMethod { $0.withUnsafeBufferPointer { Array($0) } }
    let target = head.withTarget { $0.withUnsafeBufferPointer { Array($0) } }
    return HeadSnapshot(startLine: [method, target], status: 0, version: head.version, framing: head.framing,
                        fields: fieldList(head.fields), keepAlive: head.keepAlive, upgrade: head.isUpgradeRequest)
}

func snapshot(_ head: HTTP1ResponseHead) -> HeadSnapshot {
    let reason = head.withReason { $0.withUnsafeBufferPointer { Array($0) } }
    return HeadSnapshot(startLine: [reason], status: head.status, version: head.version, framing: head.framing,
                        fields: fieldList(head.fields), keepAlive: head.keepAlive, upgrade: head.hasUpgrade)
}

enum ParseRecord: Equatable, CustomStringConvertible {
    case request(HeadSnapshot)
    case response(HeadSnapshot)
    case body([UInt8])
    case chunkExtensions([[UInt8]])
    case end(trailers: [[UInt8]]?)
    case paused(HTTP1ParserPause, offset: Int)
    case error(String, offset: Int)

    var description: String {
        switch self {
        case .request(let h): "request(\(h))"
        case .response(let h): "response(\(h))"
        case .body(let b): "body(\(b.count) bytes)"
        case .chunkExtensions(let e): "chunkExtensions(\(e.count / 2))"
        case .end(let t): "end(trailers: \(t.map { "\($0.count / 2)" } ?? "nil"))"
        case .paused(let p, let o): "paused(\(p) at \(o))"
        case .error(let c, let o): "error(\(c) at \(o))"
        }
    }
}

let allowedStatusHints: Set<Int> = [400, 413, 414, 431, 501, 505]

/// What the parser target varies, from the input's first byte(s).
struct ParserSetup {
    var configuration: HTTP1ParserConfiguration
    var methods: [HTTPRequest.Method]
    /// Requests paused for a protocol decision: accept (stop) or decline (go on).
    var acceptSwitch: Bool

    init(_ reader: inout ByteReader, kind: HTTP1MessageKind) {
        let a = reader.byte()
        var limits = HTTP1Limits()
        if a & 0x04 != 0 {
            // Small limits, so that the fuzzer reaches every limit check.
            let b = reader.byte()
            limits = HTTP1Limits(
                maxStartLineLength: 16 + Int(b & 0x3F), maxTargetLength: 8 + Int(b & 0x1F),
                maxHeaderSectionBytes: 64 + Int(b) * 2, maxFieldCount: 1 + Int(b & 0x07),
                maxBodyBytes: Int(b) * 4, maxChunkExtensionBytes: Int(b & 0x1F),
                maxTrailerSectionBytes: 8 + Int(b & 0x3F))
        }
        configuration = HTTP1ParserConfiguration(
            limits: limits, allowBareLF: a & 0x01 != 0, obsFold: a & 0x02 != 0 ? .replaceWithSpace : .byRole)
        acceptSwitch = a & 0x08 != 0
        methods = []
        if kind == .response {
            // Two bits per queued request: other, HEAD, CONNECT, other.
            let m = reader.byte()
            for i in 0..<4 {
                switch (m >> (2 * i)) & 3 {
                case 1: methods.append(.head)
                case 2: methods.append(.connect)
                default: methods.append(.get)
                }
            }
        }
    }
}

/// Parses `input` cut into `pieces`, then ends the stream; returns the events.
func runParser(kind: HTTP1MessageKind, setup: ParserSetup, input: UnsafeBufferPointer<UInt8>,
               pieces: [Range<Int>]) -> [ParseRecord] {
    var parser = HTTP1Parser(parsing: kind, configuration: setup.configuration)
    for m in setup.methods { parser.expectResponse(to: m) }
    var records: [ParseRecord] = []
    let limits = setup.configuration.limits
    var bodyInMessage = 0
    var stopped = false

    func add(_ r: ParseRecord) {
        if case .body(let b) = r, case .body(let previous)? = records.last {
            records[records.count - 1] = .body(previous + b)
        } else {
            records.append(r)
        }
    }

    func fail(_ first: HTTP1ParseError, total: Int) {
        check(allowedStatusHints.contains(first.statusHint), "status hint \(first.statusHint) for \(first.code)")
        check(first.offset >= 0 && first.offset <= total, "offset \(first.offset) outside 0...\(total)")
        // A failed parser rethrows the same error.
        do {
            _ = try parser.parse(UnsafeBufferPointer<UInt8>(start: nil, count: 0))
            check(false, "no error after \(first)")
        } catch {
            check(error == first, "\(error) after \(first)")
        }
        add(.error(first.code.name, offset: first.offset))
        stopped = true
    }

    func handle(_ event: HTTP1ParseEvent, _ buffer: UnsafeBufferPointer<UInt8>) {
        switch event {
        case .requestHead(let head):
            check(head.fields.count <= limits.maxFieldCount, "too many fields")
            check(head.withTarget { $0.count } <= limits.maxTargetLength, "target longer than the limit")
            bodyInMessage = 0
            _ = try? head.httpRequest(scheme: "https")
            add(.request(snapshot(head)))
        case .responseHead(let head):
            check(head.fields.count <= limits.maxFieldCount, "too many fields")
            check((100...599).contains(head.status), "status \(head.status)")
            bodyInMessage = 0
            _ = try? head.httpResponse()
            add(.response(snapshot(head)))
        case .body(let range):
            check(!range.isEmpty && range.lowerBound >= 0 && range.upperBound <= buffer.count, "body range \(range) of \(buffer.count)")
            bodyInMessage += range.count
            check(bodyInMessage <= limits.maxBodyBytes, "body over the limit")
            add(.body(Array(buffer[range])))
        case .chunkExtensions(let block):
            check(block.count > 0, "empty extension block")
            add(.chunkExtensions(fieldList(block)))
        case .end(let trailers):
            if let trailers {
                check(trailers.count > 0 && trailers.count <= limits.maxFieldCount, "trailer count \(trailers.count)")
            }
            add(.end(trailers: trailers.map(fieldList)))
        }
    }

    for piece in pieces where !stopped {
        var buffer = UnsafeBufferPointer(rebasing: input[piece])
        while !stopped {
            let step: HTTP1ParseStep
            do {
                step = try parser.parse(buffer)
            } catch {
                fail(error, total: input.count)
                break
            }
            check(step.consumed >= 0 && step.consumed <= buffer.count, "consumed \(step.consumed) of \(buffer.count)")
            if let event = step.event {
                handle(event, buffer)
                buffer = UnsafeBufferPointer(rebasing: buffer[step.consumed...])
                continue
            }
            if let pause = parser.pause {
                check(step.consumed == 0, "consumed while paused")
                add(.paused(pause, offset: parser.streamOffset))
                if pause == .awaitingProtocolDecision && !setup.acceptSwitch {
                    parser.declineProtocolSwitch()
                    continue
                }
                if pause == .awaitingProtocolDecision { parser.acceptProtocolSwitch() }
                stopped = true
                break
            }
            check(step.consumed == buffer.count, "no event but \(buffer.count - step.consumed) bytes left")
            break
        }
        // Storage stays proportional to the limits, whatever the split.
        let bound = 2 * Swift.max(limits.maxHeaderSectionBytes, limits.maxTrailerSectionBytes, limits.maxStartLineLength) + 2048
        check(parser.storage.byteCapacity <= bound, "head storage \(parser.storage.byteCapacity) > \(bound)")
        if let t = parser.trailerStorage { check(t.byteCapacity <= bound, "trailer storage \(t.byteCapacity)") }
        if let l = parser.lineBuffer { check(l.byteCapacity <= 2 * (limits.maxChunkExtensionBytes + 64), "line buffer \(l.byteCapacity)") }
    }
    if !stopped {
        do {
            let step = try parser.finish()
            if let event = step.event { handle(event, UnsafeBufferPointer(start: nil, count: 0)) }
            if let pause = parser.pause, pause != .endOfStream { add(.paused(pause, offset: parser.streamOffset)) }
        } catch {
            fail(error, total: input.count)
        }
    }
    return records
}

/// Checks that every chunking of `input` gives the same events; returns them.
func parseAllWays(kind: HTTP1MessageKind, setup: ParserSetup, input: UnsafeBufferPointer<UInt8>) -> [ParseRecord] {
    let ways = chunkings(count: input.count, seed: inputSeed(input))
    let reference = runParser(kind: kind, setup: setup, input: input, pieces: ways[0])
    for pieces in ways.dropFirst() {
        let other = runParser(kind: kind, setup: setup, input: input, pieces: pieces)
        check(other == reference, "chunking \(pieces.prefix(8)) changed the events: \(diffDescription(reference, other))")
    }
    return reference
}

/// Re-serializes the complete HTTP/1.1 messages of `records` and parses them again.
func checkRoundTrip(kind: HTTP1MessageKind, setup: ParserSetup, records: [ParseRecord]) {
    var serializer = HTTP1Serializer(role: kind == .request ? .client : .server)
    var out: [UInt8] = []
    var expected: [ParseRecord] = []
    var current: [ParseRecord] = []
    var methodIndex = 0
    func text(_ bytes: [UInt8]) -> String? { String(validating: bytes, as: UTF8.self) }
    func pairs(_ list: [[UInt8]]) -> [(name: String, value: String)]? {
        var result: [(name: String, value: String)] = []
        var i = 0
        while i + 1 < list.count {
            guard let n = text(list[i]), let v = text(list[i + 1]) else { return nil }
            result.append((n, v))
            i += 2
        }
        return result
    }
    var body: [UInt8] = []
    loop: for record in records {
        switch record {
        case .request(let head), .response(let head):
            guard head.version == .http1_1, let fields = pairs(head.fields) else { break loop }
            body = []
            current = [record]
            let answering: HTTPRequest.Method = methodIndex < setup.methods.count ? setup.methods[methodIndex] : .get
            do {
                if kind == .request {
                    guard let method = text(head.startLine[0]), let target = text(head.startLine[1]) else { break loop }
                    try serializer.writeRequestHead(method: method, target: target, fields: fields, into: &out)
                } else {
                    guard let reason = text(head.startLine[0]) else { break loop }
                    try serializer.writeResponseHead(status: head.status, reason: reason, fields: fields,
                                                     respondingTo: answering, into: &out)
                    if head.status < 200 {
                        if head.status == 101 { break loop }
                        expected += current
                        current = []
                    }
                }
            } catch {
                // A sender must not put Content-Length or Transfer-Encoding on a 1xx or 204
                // response, nor on a 2xx answer to CONNECT (RFC 9110 §8.6, RFC 9112 §6.1); a
                // recipient ignores them there.
                if error.code == .framingNotAllowed
                    && (head.status < 200 || head.status == 204 || (answering == .connect && head.status < 300)) {
                    break loop
                }
                // A recipient may accept a Content-Length list of identical values (RFC 9110
                // §8.6: "42, 42"); a sender must send one value, so the serializer refuses it.
                if error.code == .invalidContentLength && fields.contains(where: {
                    $0.name.lowercased() == "content-length" && $0.value.contains(",")
                }) {
                    break loop
                }
                // A recipient ignores empty list elements ("chunked, " or an empty
                // Transfer-Encoding line); a sender must not generate them (RFC 9110 §5.6.1).
                if error.code == .requestCodingNotChunked && fields.contains(where: { field in
                    field.name.lowercased() == "transfer-encoding"
                        && field.value.split(separator: ",", omittingEmptySubsequences: false).contains {
                            $0.allSatisfy { $0 == " " || $0 == "\t" }
                        }
                }) {
                    break loop
                }
                // Rules only a sender keeps (issue 14's audit): Upgrade with its connection
                // option and on every 101/426, TE with its option and without chunked, no
                // 100-continue without content. A recipient does not check them.
                if [HTTP1UsageError.Code.missingUpgrade, .upgradeWithoutConnectionOption, .invalidTE,
                    .expectationWithoutContent].contains(error.code) {
                    break loop
                }
                // A response whose length its status or request fixes (1xx, 204, 304, an
                // answer to HEAD, a 2xx to CONNECT) has its framing fields ignored by a
                // recipient, unchecked (RFC 9112 §6.3); the serializer checks them on send.
                if kind == .response
                    && (head.status < 200 || head.status == 204 || head.status == 304 || answering == .head
                        || (answering == .connect && head.status < 300))
                    && fields.contains(where: { ["content-length", "transfer-encoding"].contains($0.name.lowercased()) }) {
                    break loop
                }
                check(false, "the serializer refused a parsed head \(head): \(error)")
            }
        case .body(let bytes):
            body += bytes
            current.append(record)
        case .chunkExtensions:
            continue
        case .end(let trailers):
            var trailerFields: HTTPFields? = nil
            if let trailers {
                guard let list = pairs(trailers) else { break loop }
                var f = HTTPFields()
                for p in list {
                    guard let name = HTTPField.Name(p.name) else { break loop }
                    f.append(HTTPField(name: name, value: p.value))
                }
                trailerFields = f
            }
            do {
                try serializer.writeBody(body.span, into: &out)
                try serializer.writeEnd(trailers: trailerFields, into: &out)
            } catch {
                // The serializer refuses trailers that must not be trailers (RFC 9110 §6.5.1),
                // which the parser passes on; stop the comparison there.
                if error.code == .fieldNotAllowedInTrailers { break loop }
                check(false, "the serializer refused a parsed body/end: \(error)")
            }
            current.append(record)
            let untilClose: Bool
            if case .response(let h) = current.first, h.framing == .untilClose { untilClose = true } else { untilClose = false }
            expected += current
            current = []
            if kind == .response { methodIndex += 1 }
            if untilClose { break loop }
        case .paused, .error:
            break loop
        }
    }
    guard !expected.isEmpty else { return }
    var again = out
    // The serializer's form can be longer than what was parsed (CRLF for a lenient bare LF,
    // `: ` after each field name, a reason phrase for an empty one): re-parse under the
    // default size limits, keeping the field count and body limits.
    var reparseSetup = setup
    let small = setup.configuration.limits
    reparseSetup.configuration.limits = HTTP1Limits(maxFieldCount: small.maxFieldCount, maxBodyBytes: small.maxBodyBytes)
    let reparsed: [ParseRecord] = again.withUnsafeMutableBufferPointer { buffer in
        runParser(kind: kind, setup: reparseSetup, input: UnsafeBufferPointer(buffer), pieces: [0..<buffer.count])
    }
    // Compare message by message, ignoring chunk extensions (they are not re-serialized) and
    // how the body was cut.
    func normalized(_ records: [ParseRecord]) -> [ParseRecord] {
        var out: [ParseRecord] = []
        for r in records {
            if case .chunkExtensions = r { continue }
            if case .body(let b) = r, case .body(let previous)? = out.last {
                out[out.count - 1] = .body(previous + b)
            } else {
                out.append(r)
            }
        }
        return out
    }
    let want = normalized(expected)
    let got = Array(normalized(reparsed).prefix(want.count))
    check(got == want, "round trip changed the messages: \(diffDescription(want, got))\n\(hex(out.prefix(400)))")
}

let httpRequestTarget = FuzzTarget(name: "http-request") { data in
    var reader = ByteReader(data)
    let setup = ParserSetup(&reader, kind: .request)
    let records = parseAllWays(kind: .request, setup: setup, input: reader.rest)
    checkRoundTrip(kind: .request, setup: setup, records: records)
}

let httpResponseTarget = FuzzTarget(name: "http-response") { data in
    var reader = ByteReader(data)
    let setup = ParserSetup(&reader, kind: .response)
    let records = parseAllWays(kind: .response, setup: setup, input: reader.rest)
    checkRoundTrip(kind: .response, setup: setup, records: records)
}

/// The response parser with every response answering HEAD: no response has a body.
let httpResponseHeadTarget = FuzzTarget(name: "http-response-head") { data in
    var reader = ByteReader(data)
    var setup = ParserSetup(&reader, kind: .response)
    setup.methods = Array(repeating: .head, count: 512)   // more than max_len allows responses
    let records = parseAllWays(kind: .response, setup: setup, input: reader.rest)
    for r in records {
        if case .body = r { check(false, "a body in a response to HEAD") }
    }
    checkRoundTrip(kind: .response, setup: setup, records: records)
}

/// Chunked bodies: the input is the body of a chunked request.
let httpChunkedTarget = FuzzTarget(name: "http-chunked") { data in
    var reader = ByteReader(data)
    let setup = ParserSetup(&reader, kind: .request)
    let head = Array("POST /upload HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)
    let input = head + Array(reader.rest)
    input.withUnsafeBufferPointer { buffer in
        let records = parseAllWays(kind: .request, setup: setup, input: buffer)
        checkRoundTrip(kind: .request, setup: setup, records: records)
        // The decoded body never exceeds the input.
        var bodyBytes = 0
        for r in records { if case .body(let b) = r { bodyBytes += b.count } }
        check(bodyBytes <= buffer.count - head.count, "more body than input")
    }
}
