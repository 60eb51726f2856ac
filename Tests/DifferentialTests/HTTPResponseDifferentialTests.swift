import Testing
import TestSupport
import WireCore
import WireHTTP1
import HTTPTypes
import NIOCore
import NIOEmbedded
import NIOHTTP1

// Our response parser against NIOHTTP1's HTTPResponseDecoder on generated and mutated
// responses, each answering a GET or a HEAD sent before (both sides are told the methods).
// Same comparison and rules as the request test; differences in Spec/http1.md. NIO's
// decoder does not deliver 1xx responses (other than 101) and replaces the reason phrase of
// a known status with its own, so 1xx heads and reason phrases are left out of the
// comparison (API shape, not parsing).

func ourResponses(_ input: [UInt8], methods: [HTTPRequest.Method]) -> DiffOutcome {
    var parser = HTTP1Parser(parsing: .response)
    for m in methods { parser.expectResponse(to: m) }
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
                if parser.pause != nil { return DiffOutcome(messages: messages, error: nil) }
                let last = try parser.finish()
                if case .end = last.event, let current { messages.append(current) }
                break
            }
            switch event {
            case .responseHead(let head):
                var fields: [[String]] = []
                for i in 0..<head.fields.count {
                    fields.append([head.fields.name(at: i), String(decoding: head.fields.valueBytes(at: i), as: UTF8.self)])
                }
                let m = DiffMessage(method: "\(head.status)", target: "", version: "\(head.version)",
                                    fields: fields, body: [], trailers: [])
                if head.status == 101 { messages.append(m) } else if !head.isInformational { current = m }
            case .body(let range):
                current?.body += input[(base + range.lowerBound)..<(base + range.upperBound)]
            case .end(let trailers):
                if let trailers {
                    for i in 0..<trailers.count {
                        current?.trailers.append([trailers.name(at: i), String(decoding: trailers.valueBytes(at: i), as: UTF8.self)])
                    }
                }
                if let current { messages.append(current) }
                current = nil
            default:
                break
            }
        }
    } catch {
        return DiffOutcome(messages: messages, error: error.code.name)
    }
    return DiffOutcome(messages: messages, error: nil)
}

private final class ResponseCollector: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart
    var messages: [DiffMessage] = []
    var current: DiffMessage? = nil
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            let m = DiffMessage(method: "\(head.status.code)", target: "",
                                version: "HTTP/\(head.version.major).\(head.version.minor)",
                                fields: head.headers.map { [$0.name, $0.value] }, body: [], trailers: [])
            if head.status.code < 200 && head.status.code != 101 { messages.append(m) } else { current = m }
        case .body(let buffer):
            current?.body += buffer.readableBytesView
        case .end(let trailers):
            current?.trailers = trailers.map { $0.map { [$0.name, $0.value] } } ?? []
            if let current { messages.append(current) }
            current = nil
        }
    }
}

func nioResponses(_ input: [UInt8], methods: [HTTPRequest.Method]) -> DiffOutcome {
    let channel = EmbeddedChannel()
    let collector = ResponseCollector()
    try! channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(HTTPResponseDecoder(leftOverBytesStrategy: .forwardBytes)))
    try! channel.pipeline.syncOperations.addHandler(collector)
    for m in methods {
        let head = HTTPRequestHead(version: .http1_1, method: m == .head ? .HEAD : .GET, uri: "/")
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
    }
    channel.flush()
    while (try? channel.readOutbound(as: HTTPClientRequestPart.self)) ?? nil != nil {}
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

/// A random response: status, framing, fields; `last` allows a body read until close.
func generateResponse(_ rng: inout SplitMix64, head: Bool, last: Bool) -> [UInt8] {
    let statuses = [200, 200, 200, 201, 204, 301, 304, 404, 500, 100, 103]
    let status = rng.pick(statuses)
    let version = rng.chance(90) ? "HTTP/1.1" : "HTTP/1.0"
    let reasons = ["OK", "", "Not Found", "Weird  Reason", "Caf\u{E9}"]
    var lines = ["\(version) \(status) \(rng.pick(reasons))"]
    let extra = ["Server: diff", "X-Empty:", "Content-Type: text/plain", "Cache-Control: no-cache, private",
                 "X-Spaces:   padded   ", "Connection: keep-alive"]
    for _ in 0..<rng.below(4) { lines.append(rng.pick(extra)) }
    let bodyBytes = (0..<rng.below(30)).map { _ in UInt8(truncatingIfNeeded: 0x20 + rng.below(95)) }
    var body: [UInt8] = []
    let bodiless = head || status < 200 || status == 204 || status == 304
    switch rng.below(4) {
    case 0 where last && !bodiless:
        body = bodyBytes   // until close
    case 1 where version == "HTTP/1.1" && status >= 200:
        lines.append("Transfer-Encoding: chunked")
        if !bodiless {
            if !bodyBytes.isEmpty { body += Array("\(String(bodyBytes.count, radix: 16))\r\n".utf8) + bodyBytes + Array("\r\n".utf8) }
            body += Array("0\r\n".utf8)
            if rng.chance(30) { body += Array("X-Trailer: t\r\n".utf8) }
            body += Array("\r\n".utf8)
        }
    default:
        if status >= 200 && status != 204 {
            lines.append("Content-Length: \(bodyBytes.count)")
            if !bodiless { body = bodyBytes }
        }
    }
    let text = lines.joined(separator: "\r\n") + "\r\n\r\n"
    var bytes: [UInt8] = []
    for scalar in text.unicodeScalars { bytes.append(UInt8(truncatingIfNeeded: scalar.value)) }
    return bytes + body
}

@Suite struct HTTPResponseDifferentialTests {
    @Test func responsesAgreeWithNIOHTTP1() {
        var rng = SplitMix64(seed: DifferentialRun.seed &+ 2)
        var agreed = 0
        var deliberate: [String: Int] = [:]
        var unexplained: [String] = []
        let count = DifferentialRun.count(1000)
        for i in 0..<count {
            let n = 1 + rng.below(3)
            var methods: [HTTPRequest.Method] = []
            var input: [UInt8] = []
            for k in 0..<n {
                let head = rng.chance(20)
                methods.append(head ? .head : .get)
                input += generateResponse(&rng, head: head, last: k == n - 1)
            }
            if i % 2 == 1 { input = mutate(input, &rng) }
            let ours = ourResponses(input, methods: methods)
            let (nio, trimmed) = withoutTrailingWhitespace(nioResponses(input, methods: methods))
            if trimmed { deliberate[HTTPDifference.trailingWhitespaceKept.rawValue, default: 0] += 1 }
            if ours.messages == nio.messages && (ours.error == nil) == (nio.error == nil) {
                agreed += 1
                continue
            }
            if let reason = deliberateHTTPDifference(input, ours: ours, nio: nio) {
                deliberate[reason.rawValue + (reason == .stricter ? " (\(ours.error!))" : ""), default: 0] += 1
            } else if unexplained.count < 20 {
                unexplained.append("\(methods) \(escaped(input))\n    ours: \(ours)\n    nio:  \(nio)\n    ours msgs: \(ours.messages)\n    nio msgs: \(nio.messages)")
            }
        }
        print("HTTP response differential: \(agreed) of \(count) agree; deliberate differences:")
        for (reason, n) in deliberate.sorted(by: { $0.key < $1.key }) { print("  \(n)× \(reason)") }
        #expect(unexplained.isEmpty, "\(unexplained.count) unexplained disagreements:\n\(unexplained.joined(separator: "\n"))")
    }
}
