/// The workloads of issue 7 (targets of issue 18), in the order of its table, each with the codec (when its layer
/// exists) and its peers on the same bytes.
enum Workloads {
    static var all: [Workload] { [
        httpRequest("http.request.browser-get", Fixtures.browserGet,
            operation: "parse a 696-byte Chromium GET with 10 fields to a readable head",
            target: "≤ 0.30× llhttp, 0 allocs"),
        httpRequest("http.request.minimal-get", Fixtures.minimalGet,
            operation: "parse `GET / HTTP/1.1`, `Host: a`", target: "≤ 0.80× llhttp, 0 allocs"),
        httpRequest("http.request.pipelined-16", Fixtures.pipelined16,
            operation: "parse 16 pipelined requests from one buffer", target: "≤ 0.50× llhttp, 0 allocs"),
        httpRequest("http.request.chunked-post-64k", Fixtures.chunkedPost64k,
            operation: "parse a POST with 64 KiB in 4 KiB chunks, body as slices",
            bytesPerOp: 64 << 10, target: "≤ 1.00× llhttp, 0 allocs"),
        httpResponse("http.response.typical-200", Fixtures.typical200,
            operation: "parse a 200 with 8 fields and a 1 KiB body"),
        Workload(
            name: "http.serialize.response-200", operation: "serialize that response (head, body, end)",
            target: "≤ 0.10× NIOHTTP1, 0 allocs", peers: ["NIOHTTP1"],
            makeCases: {
                let nio = NIOHTTP1EncoderPeer()
                return [CodecSubjects.serializeResponse()].compactMap { $0 } + [
                    BenchCase(subject: "NIOHTTP1", run: { n in loop(n) { nio.serialize() } }, digest: nio.digest)
                ]
            }),
        Workload(
            name: "ws.decode.small-frames", operation: "one masked 16-byte text frame out of 2^20 in one buffer",
            bytesPerOp: 16, target: "NIOWebSocket ≥ 50× our time, 0 allocs", peers: ["NIOWebSocket"],
            makeCases: {
                let input = Fixtures.smallFrames
                let nio = NIOWebSocketDecoderPeer(input: input, maxFrameSize: 1 << 14, aggregate: false)
                return [CodecSubjects.receiveFrames(input, expectedMessages: Fixtures.smallFrameCount)].compactMap { $0 } + [
                    BenchCase(
                        subject: "NIOWebSocket", opsPerCall: Fixtures.smallFrameCount,
                        run: { n in loop(n) { nio.decode() } }, digest: nio.digest)
                ]
            }),
        Workload(
            name: "ws.decode.masked-1mib", operation: "one masked 1 MiB binary frame, unmasked",
            bytesPerOp: Fixtures.mebibyte, target: "≥ 0.90× memcpy's speed",
            peers: [Report.codecInPlace, "NIOWebSocket", "memcpy"],
            makeCases: {
                let input = Fixtures.maskedMebibyteFrame
                let nio = NIOWebSocketDecoderPeer(input: input, maxFrameSize: 1 << 21, aggregate: false)
                let bytes = BytesPeer(Array(input.suffix(Fixtures.mebibyte)))
                return [
                    CodecSubjects.receiveFrames(input, expectedMessages: 1),
                    CodecSubjects.parseFramesInPlace(input, expectedFrames: 1),
                ].compactMap { $0 } + [
                    BenchCase(subject: "NIOWebSocket", run: { n in loop(n) { nio.decode() } }, digest: nio.digest),
                    BenchCase(subject: "memcpy", run: { n in loop(n) { bytes.copy() } }, digest: nil),
                ]
            }),
        Workload(
            name: "ws.message.fragmented-64k",
            operation: "a 64 KiB text message in 16 masked fragments, assembled and UTF-8 validated (buffers kept: retainedBufferCapacity 128 KiB)",
            bytesPerOp: 64 << 10, target: "NIOWebSocket ≥ 5× our time, ≤ 1 alloc", peers: ["NIOWebSocket"],
            makeCases: {
                let input = Fixtures.fragmented64k
                let nio = NIOWebSocketDecoderPeer(input: input, maxFrameSize: 1 << 16, aggregate: true)
                return [CodecSubjects.receiveMessages(input, retained: 128 << 10)].compactMap { $0 } + [
                    BenchCase(subject: "NIOWebSocket", run: { n in loop(n) { nio.decode() } }, digest: nio.digest)
                ]
            }),
        utf8("ws.utf8.ascii-1mib", Fixtures.asciiMebibyte, operation: "validate 1 MiB of ASCII",
            target: "≥ 0.5× memcpy's speed"),
        utf8("ws.utf8.mixed-1mib", Fixtures.mixedMebibyte, operation: "validate 1 MiB of mixed-script text",
            target: "≤ 0.50× stdlib's time"),
        Workload(
            name: "ws.encode.small-frames", operation: "serialize and mask a 16-byte text frame",
            bytesPerOp: 16, peers: ["NIOWebSocket"],
            makeCases: {
                let nio = NIOWebSocketEncoderPeer()
                return [CodecSubjects.sendFrame()].compactMap { $0 } + [
                    BenchCase(subject: "NIOWebSocket", run: { n in loop(n) { nio.encode() } }, digest: nio.digest)
                ]
            }),
        Workload(
            name: "ws.connection.receive-small-frames",
            operation: "one masked 16-byte text frame out of 2^20 in one read, through the server connection to a delivered message (retainedBufferCapacity 4 KiB)",
            bytesPerOp: 16, target: "NIOWebSocket decoder + aggregator ≥ 20× our time, 0 allocs per message once warm",
            peers: ["NIOWebSocket"],
            makeCases: {
                let input = Fixtures.smallFrames
                let nio = NIOWebSocketDecoderPeer(input: input, maxFrameSize: 1 << 14, aggregate: true)
                return [CodecSubjects.connectionReceive(input, expectedMessages: Fixtures.smallFrameCount)].compactMap { $0 } + [
                    BenchCase(
                        subject: "NIOWebSocket", opsPerCall: Fixtures.smallFrameCount,
                        run: { n in loop(n) { nio.decode() } }, digest: nio.digest)
                ]
            }),
        Workload(
            name: "ws.connection.send-small-messages",
            operation: "a 16-byte text message through the client connection, masked, into the outbound buffer",
            bytesPerOp: 16, target: "NIOWebSocket encoder ≥ 20× our time, 0 allocs", peers: ["NIOWebSocket"],
            makeCases: {
                let nio = NIOWebSocketEncoderPeer()
                return [CodecSubjects.connectionSend()].compactMap { $0 } + [
                    BenchCase(subject: "NIOWebSocket", run: { n in loop(n) { nio.encode() } }, digest: nio.digest)
                ]
            }),
        deflate("deflate.inflate.json-1k-ctx", inflate: true, { DeflateInputs.json1k(count: 512) },
            operation: "inflate one 1 KiB JSON message (context takeover, window 15)"),
        deflate("deflate.deflate.json-1k-ctx", inflate: false, { DeflateInputs.json1k(count: 512) },
            operation: "deflate one 1 KiB JSON message (context takeover, window 15)"),
        deflate("deflate.inflate.json-64k", inflate: true, { DeflateInputs.json64k(count: 16) },
            operation: "inflate one 64 KiB JSON message (no context takeover)"),
        deflate("deflate.deflate.json-64k", inflate: false, { DeflateInputs.json64k(count: 16) },
            operation: "deflate one 64 KiB JSON message (no context takeover)"),
    ] }

    static func httpRequest(
        _ name: String, _ makeInput: @autoclosure @escaping () -> [UInt8], operation: String,
        bytesPerOp: Int? = nil, target: String? = nil
    ) -> Workload {
        Workload(
            name: name, operation: operation, bytesPerOp: bytesPerOp, target: target, peers: ["llhttp", "NIOHTTP1"]
        ) {
            let input = makeInput()
            let llhttp = LLHTTPPeer(response: false)
            let nio = NIOHTTP1DecoderPeer(response: false, input: input)
            return [CodecSubjects.parseRequests(input)].compactMap { $0 } + [
                BenchCase(
                    subject: "llhttp",
                    run: { n in input.withUnsafeBytes { bytes in loop(n) { llhttp.parse(bytes) } } },
                    digest: { llhttp.digest(input) }),
                BenchCase(subject: "NIOHTTP1", run: { n in loop(n) { nio.parse() } }, digest: nio.digest),
            ]
        }
    }

    static func httpResponse(
        _ name: String, _ makeInput: @autoclosure @escaping () -> [UInt8], operation: String
    ) -> Workload {
        Workload(name: name, operation: operation, peers: ["llhttp", "NIOHTTP1"]) {
            let input = makeInput()
            let llhttp = LLHTTPPeer(response: true)
            let nio = NIOHTTP1DecoderPeer(response: true, input: input)
            return [CodecSubjects.parseResponses(input)].compactMap { $0 } + [
                BenchCase(
                    subject: "llhttp",
                    run: { n in input.withUnsafeBytes { bytes in loop(n) { llhttp.parse(bytes) } } },
                    digest: { llhttp.digest(input) }),
                BenchCase(
                    subject: "NIOHTTP1", prepare: { n in nio.sendRequests(n) },
                    run: { n in loop(n) { nio.parse() } }, digest: nio.digest),
            ]
        }
    }

    static func utf8(
        _ name: String, _ makeInput: @autoclosure @escaping () -> [UInt8], operation: String, target: String
    ) -> Workload {
        Workload(
            name: name, operation: operation, bytesPerOp: Fixtures.mebibyte, target: target,
            peers: ["stdlib", "stdlib-utf8span", "memcpy"]
        ) {
            let input = makeInput()
            precondition(input.count == Fixtures.mebibyte)
            let peer = BytesPeer(input)
            let digest = { "valid=\(input.count)" }
            return [CodecSubjects.validateUTF8(input)].compactMap { $0 } + [
                BenchCase(subject: "stdlib", run: { n in loop(n) { peer.stringValidating() } }, digest: digest),
                BenchCase(subject: "stdlib-utf8span", run: { n in loop(n) { peer.utf8SpanValidating() } }, digest: digest),
                BenchCase(subject: "memcpy", run: { n in loop(n) { peer.copy() } }, digest: nil),
            ]
        }
    }

    static func deflate(
        _ name: String, inflate: Bool, _ makeInputs: @escaping () -> DeflateInputs, operation: String
    ) -> Workload {
        Workload(name: name, operation: operation, target: "≤ 1.10× zlib", peers: ["zlib"]) {
            let inputs = makeInputs()
            let zlib = ZlibPeer(inputs)
            let codec = inflate ? CodecSubjects.inflate(inputs) : CodecSubjects.deflate(inputs)
            return [codec].compactMap { $0 } + [
                BenchCase(
                    subject: "zlib", opsPerCall: inputs.plain.count,
                    run: { n in loop(n) { inflate ? zlib.inflateAll() : zlib.deflateAll() } },
                    digest: inflate ? zlib.inflateDigest : zlib.deflateDigest)
            ]
        }
    }
}

/// Calls `body` `count` times and folds its results (the loop every subject's `run` uses).
@inline(__always)
func loop(_ count: Int, _ body: () -> UInt64) -> UInt64 {
    var sum: UInt64 = 0
    for _ in 0..<count { sum &+= body() }
    return sum
}
