import Testing
import TestSupport
import WireCore
import WireHTTP1
import HTTPTypes
import NIOCore
import NIOEmbedded
import NIOHTTP1

// Our HTTP/1.1 request parser against NIOHTTP1's HTTPRequestDecoder (llhttp) on generated
// and mutated requests. Both read the same bytes, then the end of the stream; the comparison is the
// list of complete messages (method, target, version, fields, body, trailers) and whether
// the input was refused. Every disagreement is either a bug or one of the deliberate
// differences below (listed with examples in Spec/http1.md, "Differences from NIOHTTP1").

/// A complete request as both sides report it.
struct DiffMessage: Equatable, CustomStringConvertible {
    var method: String
    var target: String
    var version: String
    var fields: [[String]]
    var body: [UInt8]
    var trailers: [[String]]
    var description: String { "\(method) \(target) \(version) \(fields) body=\(body.count) trailers=\(trailers)" }
}

struct DiffOutcome: Equatable, CustomStringConvertible {
    var messages: [DiffMessage]
    /// The error code (ours) or description (NIO's), if the input was refused.
    var error: String?
    var description: String { "\(messages.count) messages, error: \(error ?? "none")" }
}

func latin1String(_ bytes: some Sequence<UInt8>) -> String {
    var s = ""
    for b in bytes { s.unicodeScalars.append(Unicode.Scalar(b)) }
    return s
}

func ourOutcome(_ input: [UInt8]) -> DiffOutcome {
    var parser = HTTP1Parser(parsing: .request)
    var messages: [DiffMessage] = []
    var current: DiffMessage? = nil
    var offset = 0
    do throws(HTTP1ParseError) {
        while true {
            let step = try input.withUnsafeBufferPointer { (buffer) throws(HTTP1ParseError) -> HTTP1ParseStep in
                try parser.parse(UnsafeBufferPointer(rebasing: buffer[offset...]))
            }
            let base = offset
            offset += step.consumed
            guard let event = step.event else {
                if parser.pause == .awaitingProtocolDecision {
                    // An upgrade or CONNECT request: NIO hands the rest to the upgrader.
                    return DiffOutcome(messages: messages, error: nil)
                }
                // The end of the stream: a message cut short is an error on both sides.
                let last = try parser.finish()
                if case .end = last.event, let current { messages.append(current) }
                break
            }
            switch event {
            case .requestHead(let head):
                var fields: [[String]] = []
                for i in 0..<head.fields.count {
                    fields.append([head.fields.name(at: i), String(decoding: head.fields.valueBytes(at: i), as: UTF8.self)])
                }
                current = DiffMessage(method: head.method, target: head.target, version: "\(head.version)",
                                      fields: fields, body: [], trailers: [])
            case .body(let range):
                current?.body += input[(base + range.lowerBound)..<(base + range.upperBound)]
            case .chunkExtensions, .responseHead:
                break
            case .end(let trailers):
                if let trailers {
                    for i in 0..<trailers.count {
                        current?.trailers.append([trailers.name(at: i), String(decoding: trailers.valueBytes(at: i), as: UTF8.self)])
                    }
                }
                if let current { messages.append(current) }
                current = nil
            }
        }
    } catch {
        return DiffOutcome(messages: messages, error: error.code.name)
    }
    return DiffOutcome(messages: messages, error: nil)
}

private final class RequestCollector: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    var messages: [DiffMessage] = []
    var current: DiffMessage? = nil

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            current = DiffMessage(
                method: head.method.rawValue, target: head.uri,
                version: "HTTP/\(head.version.major).\(head.version.minor)",
                fields: head.headers.map { [$0.name, $0.value] }, body: [], trailers: [])
        case .body(let buffer):
            current?.body += buffer.readableBytesView
        case .end(let trailers):
            current?.trailers = trailers.map { $0.map { [$0.name, $0.value] } } ?? []
            if let current { messages.append(current) }
            current = nil
        }
    }
}

func nioOutcome(_ input: [UInt8]) -> DiffOutcome {
    let channel = EmbeddedChannel()
    let collector = RequestCollector()
    try! channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes)))
    try! channel.pipeline.syncOperations.addHandler(collector)
    var refusal: String? = nil
    do {
        try channel.writeInbound(channel.allocator.buffer(bytes: input))
    } catch {
        refusal = "\(error)"
    }
    do {
        _ = try channel.finish(acceptAlreadyClosed: true)
    } catch {
        if refusal == nil { refusal = "at end of stream: \(error)" }
    }
    return DiffOutcome(messages: collector.messages, error: refusal)
}

// MARK: - Generated requests

/// A random request, mostly valid, built from parts that matter for framing and smuggling.
func generateRequest(_ rng: inout SplitMix64) -> [UInt8] {
    let methods = ["GET", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "HEAD", "X-Custom"]
    let targets = ["/", "/index.html", "/a/b?c=d&e=f", "/%7Euser", "/path;param", "*", "http://example.com/x",
                   "/q?x=\"y\"", "/sp%20ace", "/~!$&'()*+,;=:@"]
    let method = rng.pick(methods)
    var target = rng.pick(targets)
    if target == "*" && method != "OPTIONS" { target = "/" }
    let version = rng.chance(90) ? "HTTP/1.1" : "HTTP/1.0"
    var lines: [String] = ["\(method) \(target) \(version)"]
    if version == "HTTP/1.1" || rng.chance(50) { lines.append("Host: \(rng.pick(["example.com", "example.com:8080", "127.0.0.1", "[::1]:80"]))") }
    let extra = ["Accept: */*", "User-Agent: diff/1.0", "X-Empty:", "X-Spaces:   padded   ", "Cookie: a=b; c=d",
                 "Accept-Encoding: gzip, deflate", "X-Tab:\tvalue", "x-lower: v", "X-Quote: \"q\"", "Connection: keep-alive",
                 "Connection: close", "X-Latin1: caf\u{E9}"]
    for _ in 0..<rng.below(5) { lines.append(rng.pick(extra)) }
    var body: [UInt8] = []
    let bodyBytes = (0..<rng.below(40)).map { _ in UInt8(truncatingIfNeeded: 0x20 + rng.below(95)) }
    switch rng.below(5) {
    case 0, 1:
        break
    case 2:
        lines.append("Content-Length: \(bodyBytes.count)")
        body = bodyBytes
    case 3:
        if version == "HTTP/1.1" {
            lines.append("Transfer-Encoding: chunked")
            var rest = bodyBytes[...]
            while !rest.isEmpty {
                let n = Swift.min(rest.count, 1 + rng.below(12))
                let ext = rng.chance(20) ? ";name=value" : ""
                body += Array("\(String(n, radix: 16))\(ext)\r\n".utf8) + rest.prefix(n) + Array("\r\n".utf8)
                rest = rest.dropFirst(n)
            }
            body += Array("0\r\n".utf8)
            if rng.chance(30) { body += Array("X-Trailer: t\r\n".utf8) }
            body += Array("\r\n".utf8)
        }
    default:
        lines.append("Content-Length: \(bodyBytes.count)")
        if rng.chance(50) { lines.append("Content-Length: \(bodyBytes.count)") }
        body = bodyBytes
    }
    // Shuffle the field lines after the request line (Host stays somewhere).
    var fields = Array(lines.dropFirst())
    for i in fields.indices.reversed() { fields.swapAt(i, rng.below(i + 1)) }
    let head = ([lines[0]] + fields).joined(separator: "\r\n") + "\r\n\r\n"
    var bytes: [UInt8] = []
    for scalar in head.unicodeScalars { bytes.append(UInt8(truncatingIfNeeded: scalar.value)) }
    return bytes + body
}

/// One to three random edits: a byte replaced by, or inserted as, one of the bytes parsers
/// care about, or a byte deleted.
func mutate(_ input: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
    let interesting: [UInt8] = [0x0D, 0x0A, 0x20, 0x09, 0x3A, 0x00, 0x7F, 0x80, 0xFF, 0x61, 0x30, 0x3B, 0x22, 0x2C,
                                0x2D, 0x2B, 0x46, 0x78]
    var bytes = input
    for _ in 0..<(1 + rng.below(3)) where !bytes.isEmpty {
        let i = rng.below(bytes.count)
        switch rng.below(3) {
        case 0: bytes[i] = rng.pick(interesting)
        case 1: bytes.insert(rng.pick(interesting), at: i)
        default: bytes.remove(at: i)
        }
    }
    return bytes
}

/// llhttp's method table: NIOHTTP1 refuses any other method with "invalid HTTP method".
let llhttpMethods: Set<String> = [
    "DELETE", "GET", "HEAD", "POST", "PUT", "CONNECT", "OPTIONS", "TRACE", "COPY", "LOCK", "MKCOL", "MOVE",
    "PROPFIND", "PROPPATCH", "SEARCH", "UNLOCK", "BIND", "REBIND", "UNBIND", "ACL", "REPORT", "MKACTIVITY",
    "CHECKOUT", "MERGE", "M-SEARCH", "NOTIFY", "SUBSCRIBE", "UNSUBSCRIBE", "PATCH", "PURGE", "MKCALENDAR",
    "LINK", "UNLINK", "SOURCE", "QUERY",
]

/// The deliberate differences, each listed in Spec/http1.md ("Differences from NIOHTTP1").
enum HTTPDifference: String, CaseIterable {
    /// llhttp keeps a field value's trailing whitespace (and then refuses it in
    /// Content-Length); RFC 9110 §5.5 excludes it from the value, and we drop it.
    case trailingWhitespaceKept = "D-H1: NIO keeps trailing whitespace in field values"
    /// llhttp knows a fixed list of methods; any token is a method (RFC 9110 §9.1).
    case unknownMethod = "D-H2: NIO refuses methods outside llhttp's table"
    /// Repeated identical Content-Length values: RFC 9110 §8.6 lets a recipient accept them.
    case repeatedContentLength = "D-H3: NIO refuses identical repeated Content-Length"
    /// After a message without keep-alive, llhttp refuses more bytes; our parser reads on and
    /// leaves closing to HTTP1Connection (which reads no further request).
    case dataAfterClose = "D-H4: NIO refuses bytes after a Connection: close message"
    /// We refuse what llhttp accepts (stricter on purpose): the code says what.
    case stricter = "D-H5: we refuse, NIO accepts"
    /// llhttp parses an absolute-form target as a URL and refuses some (a scheme with `-`,
    /// which RFC 3986 allows; a `"` in the authority, which it does not); we check the
    /// target's bytes and its form only.
    case absoluteFormURL = "D-H6: NIO's URL parser refuses an absolute-form target"
    /// RFC 9110 §5.6.1: a recipient must accept empty list elements (`chunked,`); llhttp
    /// refuses them in Transfer-Encoding.
    case emptyListElement = "D-H7: NIO refuses empty elements in Transfer-Encoding"
    /// RFC 9112 §7.1.1: chunk extensions allow BWS (SP or HTAB) around `;` and `=`; llhttp
    /// refuses an HTAB there.
    case chunkExtensionTab = "D-H8: NIO refuses HTAB in a chunk extension's whitespace"
    /// `Transfer-Encoding: chunked` followed by whitespace: the value is `chunked` (RFC 9110
    /// §5.5), and we frame the body as chunked; llhttp does not recognise it and reads the
    /// body another way (a response: until the connection closes). A framing disagreement:
    /// a proxy built on one and a server built on the other would see different messages.
    case transferEncodingWhitespace = "D-H9: NIO does not see `chunked` followed by whitespace as chunked"
    /// A response whose length is fixed by its status or request (1xx, 204, 304, an answer to
    /// HEAD, a 2xx to CONNECT) ends at its head whatever its framing fields say, and a client
    /// ignores them (RFC 9112 §6.3): we do not check them, llhttp refuses a malformed one.
    case ignoredFramingFields = "D-H10: NIO checks framing fields a bodyless response does not use"
}

/// Our error codes for inputs llhttp (as NIOHTTP1 configures it) accepts: each a rule we
/// enforce on purpose (Spec/http1.md, D-H5).
let stricterCodes: Set<String> = [
    "invalid-host", "missing-host", "multiple-host", "obs-fold", "bare-lf", "bare-cr", "invalid-target",
    "whitespace-before-colon", "invalid-field-value", "invalid-field-name", "invalid-chunk-extension",
    "invalid-version", "invalid-request-line", "whitespace-after-start-line", "invalid-target-form",
    "invalid-chunk-size", "invalid-transfer-encoding", "unknown-transfer-coding", "invalid-content-length",
    "chunked-not-final", "repeated-transfer-coding", "invalid-method", "invalid-chunk-terminator",
    "content-length-and-transfer-encoding", "transfer-encoding-in-http10", "unsupported-version",
    "conflicting-content-length", "missing-colon", "invalid-reason-phrase", "invalid-status-line",
    "invalid-status-code",
]

/// NIO's values without trailing SP/HTAB (D-H1), counted when it changed something.
func withoutTrailingWhitespace(_ outcome: DiffOutcome) -> (DiffOutcome, Bool) {
    var changed = false
    var result = outcome
    func trim(_ list: [[String]]) -> [[String]] {
        list.map { pair in
            var v = Substring(pair[1])
            while let last = v.last, last == " " || last == "\t" { v = v.dropLast() }
            if v.count != pair[1].count { changed = true }
            return [pair[0], String(v)]
        }
    }
    for i in result.messages.indices {
        result.messages[i].fields = trim(result.messages[i].fields)
        result.messages[i].trailers = trim(result.messages[i].trailers)
    }
    return (result, changed)
}

/// Explains a disagreement at the first message where the two sides part, or returns `nil`.
/// The Content-Length field lines of `input`, without their CRLF.
func contentLengthLines(_ input: [UInt8]) -> [ArraySlice<UInt8>] {
    input.split(separator: 0x0A).map { $0.last == 0x0D ? $0.dropLast() : $0 }.filter {
        latin1String($0).lowercased().hasPrefix("content-length:")
    }
}

/// The lines of `input` that look like chunk-size lines (hex digits, then `;`).
func chunkSizeLines(_ input: [UInt8]) -> [ArraySlice<UInt8>] {
    input.split(separator: 0x0A).filter { line in
        guard let first = line.first, first.isHexDigit else { return false }
        return line.contains(UInt8(ascii: ";"))
    }
}

extension UInt8 {
    var isHexDigit: Bool { (0x30...0x39).contains(self) || (0x41...0x46).contains(self) || (0x61...0x66).contains(self) }
}

func deliberateHTTPDifference(_ input: [UInt8], ours: DiffOutcome, nio: DiffOutcome) -> HTTPDifference? {
    let k = zip(ours.messages, nio.messages).prefix(while: { $0 == $1 }).count
    // NIO stopped after a message that ends the connection (HTTP/1.0, or `Connection:
    // close`; for responses also an HTTP/1.0 1xx, which NIO does not deliver) and we read on.
    if let error = nio.error, error.contains("data received after completed connection"), k == nio.messages.count,
       latin1String(input).contains("HTTP/1.0") || nio.messages.contains(where: { m in
           m.fields.contains { $0[0].lowercased() == "connection" && $0[1].lowercased().contains("close") } }) {
        return .dataAfterClose
    }
    let ourNext = k < ours.messages.count ? ours.messages[k] : nil
    let nioNext = k < nio.messages.count ? nio.messages[k] : nil
    switch (ourNext, nioNext) {
    case (let m?, nil):
        // We read a message NIO refused (or stopped before).
        guard let error = nio.error else { return nil }
        if error.contains("invalid HTTP method") && !llhttpMethods.contains(m.method) { return .unknownMethod }
        if error.contains("invalid character in content-length header"),
           contentLengthLines(input).contains(where: { $0.last == 0x09 || $0.last == 0x20 }) {
            return .trailingWhitespaceKept
        }
        if error.contains("invalid URL") && !m.target.hasPrefix("/") && m.target.contains(":") { return .absoluteFormURL }
        if error.contains("strict mode assertion"), m.fields.contains(where: { $0[0].lowercased() == "transfer-encoding" }),
           chunkSizeLines(input).contains(where: { $0.contains(0x09) }) {
            return .chunkExtensionTab
        }
        if error.contains("http_parser error") {
            let te = m.fields.filter { $0[0].lowercased() == "transfer-encoding" }.map { $0[1] }
            if te.contains(where: { $0.split(separator: ",", omittingEmptySubsequences: false).contains { $0.allSatisfy { $0 == " " || $0 == "\t" } } }) {
                return .emptyListElement
            }
        }
        if error.contains("unexpected content-length header") {
            let values = m.fields.filter { $0[0].lowercased() == "content-length" }.map { $0[1] }
            if values.count > 1 && Set(values.map { Int($0) }).count == 1 && Int(values[0]) != nil { return .repeatedContentLength }
        }
        let lowered = error.lowercased()
        if lowered.contains("content-length") || lowered.contains("transfer-encoding") || lowered.contains("http_parser error"),
           m.body.isEmpty,
           m.fields.contains(where: { ["content-length", "transfer-encoding"].contains($0[0].lowercased()) }) {
            return .ignoredFramingFields
        }
        if error.contains("data received after completed connection: close message"), k > 0 {
            let previous = ours.messages[k - 1]
            let close = previous.fields.contains { $0[0].lowercased() == "connection" && $0[1].lowercased().contains("close") }
            if close || previous.version == "HTTP/1.0" { return .dataAfterClose }
        }
        return nil
    case (nil, _?):
        // NIO read a message we refused.
        if let code = ours.error, stricterCodes.contains(code) { return .stricter }
        return nil
    case (let m?, _?):
        // Both read a message here and differ: the framing of `chunked` + whitespace.
        let te = m.fields.filter { $0[0].lowercased() == "transfer-encoding" }.map { $0[1].lowercased() }
        let raw = input.split(separator: 0x0A).map { latin1String($0).lowercased() }
        if te.last?.hasSuffix("chunked") == true,
           raw.contains(where: { $0.hasPrefix("transfer-encoding:") && ($0.hasSuffix("\t\r") || $0.hasSuffix(" \r")) }) {
            return .transferEncodingWhitespace
        }
        return nil
    case (nil, nil):
        // The same messages; only one side refused what followed them.
        if let code = ours.error, nio.error == nil, stricterCodes.contains(code) { return .stricter }
        return nil
    }
}

@Suite struct HTTPDifferentialTests {
    /// The examples in Spec/http1.md, each classified as its difference.
    @Test(arguments: [
        ("GET / HTTP/1.1\r\nHost: a\r\nX-Spaces: padded  \r\n\r\n", HTTPDifference.trailingWhitespaceKept),
        ("X-Custom / HTTP/1.1\r\nHost: a\r\n\r\n", .unknownMethod),
        ("PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nContent-Length: 02\r\n\r\nhi", .repeatedContentLength),
        ("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", .dataAfterClose),
        ("GET / HTTP/1.1\r\n\r\n", .stricter),
        ("OPTIONS http:/example.com/x HTTP/1.1\r\nHost: a\r\n\r\n", .absoluteFormURL),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked,\r\n\r\n0\r\n\r\n", .emptyListElement),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1;a\t=b\r\nx\r\n0\r\n\r\n", .chunkExtensionTab),
    ])
    func documentedRequestExample(text: String, difference: HTTPDifference) {
        let input = Array(text.utf8)
        let ours = ourOutcome(input)
        let (nio, trimmed) = withoutTrailingWhitespace(nioOutcome(input))
        if difference == .trailingWhitespaceKept {
            #expect(trimmed && ours.messages == nio.messages)
        } else {
            #expect(ours != nio)
            #expect(deliberateHTTPDifference(input, ours: ours, nio: nio) == difference)
        }
    }

    /// D-H9, the one difference in framing: `Transfer-Encoding: chunked` + HTAB. We read a
    /// chunked body; NIO reads the response until the connection closes, chunk lines and all.
    @Test func chunkedWithTrailingWhitespaceIsChunked() {
        let input = Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\t\r\n\r\n2\r\nhi\r\n0\r\n\r\n".utf8)
        let ours = ourResponses(input, methods: [.get])
        let nio = nioResponses(input, methods: [.get])
        #expect(ours.messages.first?.body == Array("hi".utf8))
        #expect(nio.messages.first?.body == Array("2\r\nhi\r\n0\r\n\r\n".utf8))
        #expect(deliberateHTTPDifference(input, ours: ours, nio: nio) == .transferEncodingWhitespace)
    }

    @Test func requestsAgreeWithNIOHTTP1() {
        var rng = SplitMix64(seed: DifferentialRun.seed)
        var agreed = 0
        var deliberate: [String: Int] = [:]
        var unexplained: [String] = []
        let count = DifferentialRun.count(1500)
        for i in 0..<count {
            var input = generateRequest(&rng)
            if rng.chance(30) { input += generateRequest(&rng) }   // pipelined
            if i % 2 == 1 { input = mutate(input, &rng) }
            let ours = ourOutcome(input)
            let (nio, trimmed) = withoutTrailingWhitespace(nioOutcome(input))
            if trimmed { deliberate[HTTPDifference.trailingWhitespaceKept.rawValue, default: 0] += 1 }
            if ours.messages == nio.messages && (ours.error == nil) == (nio.error == nil) {
                agreed += 1
                continue
            }
            if let reason = deliberateHTTPDifference(input, ours: ours, nio: nio) {
                deliberate[reason.rawValue + (reason == .stricter ? " (\(ours.error!))" : ""), default: 0] += 1
            } else if unexplained.count < 20 {
                unexplained.append("\(escaped(input))\n    ours: \(ours)\n    nio:  \(nio)\n    ours msgs: \(ours.messages)\n    nio msgs: \(nio.messages)")
            }
        }
        print("HTTP differential: \(agreed) of \(count) agree; deliberate differences:")
        for (reason, n) in deliberate.sorted(by: { $0.key < $1.key }) { print("  \(n)× \(reason)") }
        #expect(unexplained.isEmpty, "\(unexplained.count) unexplained disagreements:\n\(unexplained.joined(separator: "\n"))")
    }
}
