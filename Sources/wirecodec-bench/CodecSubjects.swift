import HTTPTypes
import WireCodec

/// The `wirecodec` subject of each workload, written as an application would use the codec's
/// public API (nothing internal): a parser per connection, reusable output buffers.
enum CodecSubjects {
    // MARK: HTTP/1.1

    /// One `HTTP1Parser` per connection; each op parses the buffer's messages to `.end`,
    /// reading each head's field count and target (a head one can read fields from).
    static func parseRequests(_ input: [UInt8]) -> BenchCase? {
        let peer = HTTP1ParserSubject(kind: .request, input: input)
        return BenchCase(subject: Report.codec, run: peer.run, digest: peer.digest)
    }

    static func parseResponses(_ input: [UInt8]) -> BenchCase? {
        let peer = HTTP1ParserSubject(kind: .response, input: input)
        return BenchCase(subject: Report.codec, run: peer.run, digest: peer.digest)
    }

    /// `HTTP1Serializer` writing the response head (an `HTTPResponse`), body and end into a
    /// reused array.
    static func serializeResponse() -> BenchCase? {
        let peer = HTTP1SerializerSubject()
        return BenchCase(subject: Report.codec, run: peer.run, digest: peer.digest)
    }

    // MARK: WebSocket: WebSocketSubjects.swift

    // MARK: permessage-deflate

    static func inflate(_ inputs: DeflateInputs) -> BenchCase? {
        let peer = PerMessageDeflateSubject(inputs)
        return BenchCase(
            subject: Report.codec, opsPerCall: inputs.plain.count, run: { n in loop(n) { peer.inflateAll() } },
            digest: peer.inflateDigest)
    }

    static func deflate(_ inputs: DeflateInputs) -> BenchCase? {
        let peer = PerMessageDeflateSubject(inputs)
        return BenchCase(
            subject: Report.codec, opsPerCall: inputs.plain.count, run: { n in loop(n) { peer.deflateAll() } },
            digest: peer.deflateDigest)
    }
}

// The state of each subject lives in a class (the harness keeps it across calls), but every
// call hands it to a static loop as `inout`: one exclusivity check per call, as in an
// application that parses a whole read at once, instead of one per access to a class property.

final class HTTP1ParserSubject {
    var parser: HTTP1Parser
    let input: [UInt8]

    init(kind: HTTP1MessageKind, input: [UInt8]) {
        parser = HTTP1Parser(parsing: kind)
        self.input = input
    }

    func run(_ calls: Int) -> UInt64 {
        input.withUnsafeBufferPointer { Self.parse(&parser, $0, calls: calls) }
    }

    /// Parses every message of `buffer` to `.end`, `calls` times, reading each head's field
    /// count and target or status.
    static func parse(_ parser: inout HTTP1Parser, _ buffer: UnsafeBufferPointer<UInt8>, calls: Int) -> UInt64 {
        var checksum: UInt64 = 0
        for _ in 0..<calls {
            var offset = 0
            while true {
                let step: HTTP1ParseStep
                do {
                    step = try parser.parse(UnsafeBufferPointer(rebasing: buffer[offset...]))
                } catch {
                    fatalError("wirecodec: \(error)")
                }
                offset &+= step.consumed
                guard let event = step.event else { break }
                switch event {
                case .requestHead(let head):
                    checksum &+= UInt64(head.fields.count) &+ UInt64(head.withTarget { $0.count })
                case .responseHead(let head):
                    checksum &+= UInt64(head.fields.count) &+ UInt64(head.status)
                case .body(let range):
                    checksum &+= UInt64(range.count)
                case .chunkExtensions:
                    break
                case .end:
                    checksum &+= 1
                }
            }
        }
        return checksum
    }

    func digest() -> String {
        var digest = HTTPDigest()
        input.withUnsafeBufferPointer { buffer in
            var offset = 0
            while true {
                let step: HTTP1ParseStep
                do {
                    step = try parser.parse(UnsafeBufferPointer(rebasing: buffer[offset...]))
                } catch {
                    fatalError("wirecodec: \(error)")
                }
                offset &+= step.consumed
                guard let event = step.event else { break }
                switch event {
                case .requestHead(let head):
                    digest.heads += 1
                    digest.lastStartLine = "\(head.method) \(head.target)"
                    digest.lastFields = (0..<head.fields.count).map { (head.fields.name(at: $0), head.fields.value(at: $0)) }
                case .responseHead(let head):
                    digest.heads += 1
                    digest.lastStartLine = "\(head.status)"
                    digest.lastFields = (0..<head.fields.count).map { (head.fields.name(at: $0), head.fields.value(at: $0)) }
                case .body(let range):
                    digest.bodyBytes += range.count
                case .chunkExtensions:
                    break
                case .end:
                    digest.messages += 1
                }
            }
        }
        return digest.description
    }
}

final class HTTP1SerializerSubject {
    let response: HTTPResponse
    let body: [UInt8]
    var out: [UInt8] = []

    init() {
        var fields = HTTPFields()
        for (name, value) in Fixtures.responseHeadFields { fields.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
        response = HTTPResponse(status: .ok, headerFields: fields)
        body = Fixtures.responseBody
        out.reserveCapacity(4096)
    }

    func run(_ calls: Int) -> UInt64 {
        let body = self.body
        return Self.serialize(response, body.span, into: &out, calls: calls)
    }

    /// Writes head, body and end into `out` (emptied first, capacity kept), `calls` times.
    static func serialize(_ response: HTTPResponse, _ body: Span<UInt8>, into out: inout [UInt8], calls: Int) -> UInt64 {
        var checksum: UInt64 = 0
        for _ in 0..<calls {
            out.removeAll(keepingCapacity: true)
            var serializer = HTTP1Serializer(role: .server)
            do {
                try serializer.writeHead(response, into: &out)
                try serializer.writeBody(body, into: &out)
                try serializer.writeEnd(into: &out)
            } catch {
                fatalError("wirecodec: \(error)")
            }
            checksum &+= UInt64(out.count)
        }
        return checksum
    }

    func digest() -> String {
        _ = run(1)
        return SerializedDigest(out).description
    }
}

/// `PerMessageDeflate` (server role, windows of 15 bits, zlib level 6 and memLevel 8 like the
/// zlib peer; with no context takeover the stream is reset, not freed, between messages, as
/// the peer does). A fresh extension per call, as at the start of a connection.
final class PerMessageDeflateSubject {
    let inputs: DeflateInputs
    let parameters: PerMessageDeflateParameters
    let configuration = PerMessageDeflateConfiguration(
        compressionLevel: 6, memoryLevel: Int(ZlibSettings.memoryLevel), minimumSizeToCompress: 0,
        skipIncompressible: false, releaseMemoryBetweenMessages: false)
    var out: [UInt8] = []
    var lastLength = 0

    init(_ inputs: DeflateInputs) {
        self.inputs = inputs
        let reset = !inputs.contextTakeover
        parameters = PerMessageDeflateParameters(
            serverNoContextTakeover: reset, clientNoContextTakeover: reset,
            serverMaxWindowBits: Int(inputs.windowBits), clientMaxWindowBits: Int(inputs.windowBits))
        out.reserveCapacity(2 * inputs.largestPlainMessage + 1024)
    }

    private func makeExtension() -> PerMessageDeflate {
        do {
            return try PerMessageDeflate(parameters: parameters, role: .server, configuration: configuration)
        } catch {
            fatalError("wirecodec: \(error)")
        }
    }

    func inflateAll() -> UInt64 {
        var deflate = makeExtension()
        let compressed = inputs.compressed.bytes
        return Self.inflate(&deflate, compressed.span, offsets: inputs.compressed.offsets, into: &out)
    }

    func deflateAll() -> UInt64 {
        var deflate = makeExtension()
        let plain = inputs.plain.bytes
        let total = Self.deflate(&deflate, plain.span, offsets: inputs.plain.offsets, into: &out)
        lastLength = out.count
        return total
    }

    /// Inflates each message in order (the last one's output stays in `out`).
    static func inflate(_ deflate: inout PerMessageDeflate, _ span: Span<UInt8>, offsets: [Int], into out: inout [UInt8]) -> UInt64 {
        var total: UInt64 = 0
        for index in 0..<(offsets.count - 1) {
            out.removeAll(keepingCapacity: true)
            do {
                let message = span.extracting(offsets[index]..<offsets[index + 1])
                total &+= UInt64(try deflate.decompress(message, fin: true, limit: 1 << 24, into: &out))
            } catch {
                fatalError("wirecodec: \(error)")
            }
        }
        return total
    }

    /// Compresses each message in order (the last one's output stays in `out`).
    static func deflate(_ deflate: inout PerMessageDeflate, _ span: Span<UInt8>, offsets: [Int], into out: inout [UInt8]) -> UInt64 {
        var total: UInt64 = 0
        for index in 0..<(offsets.count - 1) {
            out.removeAll(keepingCapacity: true)
            guard deflate.compressMessage(span.extracting(offsets[index]..<offsets[index + 1]), into: &out) else {
                fatalError("wirecodec: message not compressed")
            }
            total &+= UInt64(out.count)
        }
        return total
    }

    func inflateDigest() -> String {
        let total = inflateAll()
        return DeflateDigest(total: Int(total), last: SerializedDigest(out)).description
    }

    func deflateDigest() -> String {
        let total = deflateAll()
        return DeflateDigest(total: Int(total), last: SerializedDigest(out)).description
    }
}

extension CodecSubjects {
    /// Idle connection states of the codec: inline size plus the heap blocks they own, new
    /// and after one exchange (buffers and zlib state kept for the next message).
    static func memory() -> [MemoryResult] {
        var results = [MemoryResult]()
        let httpInline = MemoryLayout<HTTP1Connection>.size
        let httpNew = Harness.heapBytesHeld { hold in
            let connection = HTTP1Connection(role: .server)
            hold()
            withExtendedLifetime(connection) {}
        }
        results.append(
            MemoryResult(
                subject: Report.codec, what: "HTTP1Connection (server), new: inline \(httpInline) + heap \(httpNew)",
                bytes: httpInline + httpNew))
        let request = Fixtures.browserGet
        let httpUsed = Harness.heapBytesHeld { hold in
            var connection = HTTP1Connection(role: .server)
            serveOneRequest(&connection, request)
            hold()
            withExtendedLifetime(connection) {}
        }
        results.append(
            MemoryResult(
                subject: Report.codec,
                what: "HTTP1Connection (server), idle after one request and response: inline \(httpInline) + heap \(httpUsed)",
                bytes: httpInline + httpUsed))

        let inline = MemoryLayout<WebSocketConnection>.size
        let message = JSONMessages.message(index: 7, size: 1024)
        for role in [Role.server, Role.client] {
            for bits in [nil, 15, 12, 9] as [Int?] {
                let parameters = bits.map { PerMessageDeflateParameters(serverMaxWindowBits: $0, clientMaxWindowBits: $0) }
                let incoming = frameFromPeer(of: role, parameters: parameters, message: message)
                let new = Harness.heapBytesHeld { hold in
                    let connection = openConnection(role: role, parameters: parameters)
                    hold()
                    connection.keepAlive()
                }
                let used = Harness.heapBytesHeld { hold in
                    var connection = openConnection(role: role, parameters: parameters)
                    exchange(&connection, incoming, message)
                    hold()
                    connection.keepAlive()
                }
                let what = "WebSocketConnection (\(role), "
                    + (bits.map { "permessage-deflate, \($0)-bit windows, context takeover" } ?? "no deflate")
                results.append(
                    MemoryResult(
                        subject: Report.codec, what: what + "), open: inline \(inline) + heap \(new)", bytes: inline + new))
                results.append(
                    MemoryResult(
                        subject: Report.codec,
                        what: what + "), idle after a 1 KiB message each way: inline \(inline) + heap \(used)",
                        bytes: inline + used))
                guard parameters != nil else { continue }
                // The same idle connection with both deflate streams asleep (issue 19): zlib's
                // state freed, the last window of each direction kept; after 1 KiB each way and
                // after 64 KiB each way (both windows full: the most a sleeping connection holds).
                for (label, size) in [("a 1 KiB message", 1024), ("a 64 KiB message (full windows)", 1 << 16)] {
                    let sent = size == message.count ? message : JSONMessages.message(index: 7, size: size)
                    let received = size == message.count ? incoming : frameFromPeer(of: role, parameters: parameters, message: sent)
                    let asleep = Harness.heapBytesHeld { hold in
                        var connection = openConnection(role: role, parameters: parameters)
                        exchange(&connection, received, sent)
                        connection.hibernateCompression()
                        hold()
                        connection.keepAlive()
                    }
                    results.append(
                        MemoryResult(
                            subject: Report.codec,
                            what: what + "), idle after \(label) each way, hibernated: inline \(inline) + heap \(asleep)",
                            bytes: inline + asleep))
                }
            }
        }
        return results
    }

    /// A server's cycle: the browser GET in, a 200 with a short body out, ready for the next.
    static func serveOneRequest(_ connection: inout HTTP1Connection, _ request: [UInt8]) {
        connection.receive(request.span)
        do {
            while let event = try connection.nextEvent() {
                if case .end = event { break }
            }
            try connection.send(.response(HTTPResponse(status: .ok, headerFields: [.contentLength: "2"])))
            try connection.send(.body([0x6F, 0x6B]))
            try connection.send(.end())
            _ = connection.takeOutbound()
            try connection.startNextCycle()
        } catch {
            fatalError("wirecodec: \(error)")
        }
    }

    /// The bytes of one message as the peer of `role` sends it (through its send pipeline).
    static func frameFromPeer(of role: Role, parameters: PerMessageDeflateParameters?, message: [UInt8]) -> [UInt8] {
        do {
            var sender = try WebSocketSender(role: role.peer, deflate: parameters)
            var out = [UInt8]()
            try sender.writeMessage(.text, message.span, into: &out)
            return out
        } catch {
            fatalError("wirecodec: \(error)")
        }
    }
}

extension WebSocketConnection {
    /// Keeps the connection alive up to this call.
    @inline(never)
    borrowing func keepAlive() {}
}

extension CodecSubjects {
    /// An open connection (handshake done elsewhere) with the given deflate agreement.
    static func openConnection(role: Role, parameters: PerMessageDeflateParameters?) -> WebSocketConnection {
        do {
            return try WebSocketConnection(role: role, negotiation: WebSocketNegotiation(deflate: parameters))
        } catch {
            fatalError("wirecodec: \(error)")
        }
    }

    /// Receives `incoming` (one message) and sends `message`; the output is taken and dropped.
    static func exchange(_ connection: inout WebSocketConnection, _ incoming: [UInt8], _ message: [UInt8]) {
        connection.receive(incoming.span)
        do {
            while try connection.nextEvent() != nil {}
            try connection.sendMessage(.text, message.span)
        } catch {
            fatalError("wirecodec: \(error)")
        }
        _ = connection.takeOutbound()
    }
}
