import Glibc

/// `wirecodec-bench --sweep`: how cost grows with size, for the codec and its peers on the same
/// bytes (issue 18). Families: HTTP heads by field count and by value size, WebSocket messages
/// in one masked frame and in sixteen, and permessage-deflate both ways; `memcpy` of the same
/// bytes is the floor. Writes `sweep.json` and one SVG chart per family into a directory
/// (`Spec/performance` by default).
enum Sweep {
    /// One size of one family: a workload whose name is `family@x`.
    struct Point {
        var x: Int
        var bytes: Int
        var workload: Workload
    }

    struct Family {
        var name: String
        var title: String
        /// What x counts: "fields" or "bytes".
        var unit: String
        var points: [Point]
    }

    struct Measurement {
        var family: String
        var subject: String
        var x: Int
        var bytes: Int
        var nsPerOp: Double
        var allocsPerOp: Double
        var nsPerByte: Double { nsPerOp / Double(max(bytes, 1)) }
    }

    // MARK: Families

    static var families: [Family] {
        [
            Family(
                name: "http.head.fields", title: "HTTP/1.1 request head, 1 to 100 fields of 16-byte values",
                unit: "fields",
                points: [1, 2, 5, 10, 20, 50, 100].map { count in
                    httpPoint("http.head.fields", x: count, head: SweepInputs.head(fields: count, valueSize: 16))
                }),
            Family(
                name: "http.head.value-size", title: "HTTP/1.1 request head, 4 fields with values of 8 B to 8 KiB",
                unit: "bytes",
                points: [8, 32, 128, 512, 2048, 8192].map { size in
                    httpPoint("http.head.value-size", x: size, head: SweepInputs.head(fields: 4, valueSize: size))
                }),
            Family(
                name: "ws.message.one-frame", title: "WebSocket message in one masked frame, 16 B to 16 MiB",
                unit: "bytes",
                points: SweepInputs.messageSizes.map { size in
                    webSocketPoint("ws.message.one-frame", size: size, fragments: 1)
                }),
            Family(
                name: "ws.message.fragmented", title: "WebSocket message in 16 masked fragments, 16 B to 16 MiB",
                unit: "bytes",
                points: SweepInputs.messageSizes.map { size in
                    webSocketPoint("ws.message.fragmented", size: size, fragments: 16)
                }),
            Family(
                name: "deflate.inflate", title: "permessage-deflate: inflate one message, 64 B to 1 MiB (no context takeover)",
                unit: "bytes",
                points: SweepInputs.deflateSizes.map { deflatePoint("deflate.inflate", size: $0, inflate: true) }),
            Family(
                name: "deflate.deflate", title: "permessage-deflate: deflate one message, 64 B to 1 MiB (no context takeover)",
                unit: "bytes",
                points: SweepInputs.deflateSizes.map { deflatePoint("deflate.deflate", size: $0, inflate: false) }),
        ]
    }

    static func httpPoint(_ family: String, x: Int, head: [UInt8]) -> Point {
        let workload = Workload(
            name: "\(family)@\(x)", operation: "parse a request head of \(head.count) bytes",
            bytesPerOp: head.count, peers: ["llhttp", "NIOHTTP1", "memcpy"]
        ) {
            let llhttp = LLHTTPPeer(response: false)
            let nio = NIOHTTP1DecoderPeer(response: false, input: head)
            let bytes = BytesPeer(head)
            return [CodecSubjects.parseRequests(head)].compactMap { $0 } + [
                BenchCase(
                    subject: "llhttp", run: { n in head.withUnsafeBytes { b in loop(n) { llhttp.parse(b) } } },
                    digest: { llhttp.digest(head) }),
                BenchCase(subject: "NIOHTTP1", run: { n in loop(n) { nio.parse() } }, digest: nio.digest),
                BenchCase(subject: "memcpy", run: { n in loop(n) { bytes.copy() } }, digest: nil),
            ]
        }
        return Point(x: x, bytes: head.count, workload: workload)
    }

    static func webSocketPoint(_ family: String, size: Int, fragments: Int) -> Point {
        let workload = Workload(
            name: "\(family)@\(size)", operation: "receive a \(size)-byte binary message in \(fragments) masked frames",
            bytesPerOp: size, peers: ["NIOWebSocket", "memcpy"]
        ) {
            let input = SweepInputs.maskedMessage(size: size, fragments: fragments)
            let nio = NIOWebSocketDecoderPeer(
                input: input, maxFrameSize: max(size, 1 << 14), aggregate: true,
                maxAccumulatedFrameCount: 64, maxAccumulatedFrameSize: max(size, 1 << 14))
            let bytes = BytesPeer(Array(repeating: 0x5A, count: size))
            return [CodecSubjects.receiveMessages(input)].compactMap { $0 } + [
                BenchCase(subject: "NIOWebSocket", run: { n in loop(n) { nio.decode() } }, digest: nio.digest),
                BenchCase(subject: "memcpy", run: { n in loop(n) { bytes.copy() } }, digest: nil),
            ]
        }
        return Point(x: size, bytes: size, workload: workload)
    }

    static func deflatePoint(_ family: String, size: Int, inflate: Bool) -> Point {
        let workload = Workload(
            name: "\(family)@\(size)", operation: (inflate ? "inflate" : "deflate") + " a \(size)-byte JSON message",
            bytesPerOp: size, peers: ["zlib", "memcpy"]
        ) {
            let inputs = DeflateInputs.json(size: size)
            let zlib = ZlibPeer(inputs)
            let bytes = BytesPeer(Array(inputs.plain.bytes))
            return [inflate ? CodecSubjects.inflate(inputs) : CodecSubjects.deflate(inputs)].compactMap { $0 } + [
                BenchCase(
                    subject: "zlib", run: { n in loop(n) { inflate ? zlib.inflateAll() : zlib.deflateAll() } },
                    digest: inflate ? zlib.inflateDigest : zlib.deflateDigest),
                BenchCase(subject: "memcpy", run: { n in loop(n) { bytes.copy() } }, digest: nil),
            ]
        }
        return Point(x: size, bytes: size, workload: workload)
    }

    // MARK: Running

    /// Runs every selected point (rounds interleaved across subjects, as the main run does),
    /// then writes the JSON and the charts.
    static func run(configuration: BenchConfiguration, directory: String) {
        var measurements = [Measurement]()
        let selected = families.filter { family in
            configuration.filter.map { family.name.contains($0) || $0.contains(family.name) } ?? true
        }
        for family in selected {
            for point in family.points {
                var pointConfiguration = configuration
                pointConfiguration.filter = nil
                let results = Harness.run([point.workload], configuration: pointConfiguration, progress: true)
                for result in results {
                    measurements.append(
                        Measurement(
                            family: family.name, subject: result.subject, x: point.x, bytes: point.bytes,
                            nsPerOp: result.nsPerOp, allocsPerOp: result.allocsPerOp))
                }
            }
        }
        let machine = "\(Machine.description), \(Machine.date), 1-minute load average \(Machine.loadAverage)"
        write(json(measurements, machine: machine), to: directory + "/sweep.json")
        for family in selected {
            let rows = measurements.filter { $0.family == family.name }
            write(SweepChart.svg(family: family, rows: rows, machine: machine), to: directory + "/sweep-\(family.name).svg")
        }
        printError(summary(measurements, families: selected))
    }

    static func json(_ rows: [Measurement], machine: String) -> String {
        let items = rows.map {
            "{\"family\":\(Format.json($0.family)),\"subject\":\(Format.json($0.subject)),\"x\":\($0.x),"
                + "\"bytes\":\($0.bytes),\"ns_per_op\":\(Format.short($0.nsPerOp, 3)),"
                + "\"ns_per_byte\":\(Format.short($0.nsPerByte, 5)),\"allocs_per_op\":\(Format.short($0.allocsPerOp, 4))}"
        }
        return "{\"machine\":\(Format.json(machine)),\"sweep\":[\n" + items.joined(separator: ",\n") + "\n]}\n"
    }

    /// Where the codec's cost stops being per message and becomes per byte: the size at which
    /// a straight-line fit `a + b·bytes` of its times has `b·bytes = a`.
    static func crossover(_ rows: [Measurement]) -> (fixed: Double, perByte: Double, bytes: Double)? {
        let points = rows.map { (Double($0.bytes), $0.nsPerOp) }
        guard let smallest = points.min(by: { $0.0 < $1.0 }), let largest = points.max(by: { $0.0 < $1.0 }),
            largest.0 > smallest.0
        else { return nil }
        // The per-byte cost from the largest sizes, the fixed cost from the smallest.
        let perByte = max((largest.1 - smallest.1) / (largest.0 - smallest.0), 1e-6)
        let fixed = max(smallest.1 - perByte * smallest.0, 0)
        return (fixed, perByte, fixed / perByte)
    }

    static func summary(_ rows: [Measurement], families: [Family]) -> String {
        var out = ""
        for family in families {
            let ours = rows.filter { $0.family == family.name && $0.subject == Report.codec }
            if let c = crossover(ours) {
                out += "\(family.name): wirecodec ≈ \(Format.nanoseconds(c.fixed)) ns per operation + "
                    + "\(Format.short(c.perByte, 4)) ns per byte: per-byte cost dominates above ≈ \(Int(c.bytes)) bytes\n"
            }
        }
        return out
    }

    static func write(_ text: String, to path: String) {
        guard let file = fopen(path, "w") else {
            printError("wirecodec-bench: cannot write \(path)\n")
            exit(1)
        }
        var text = text
        text.withUTF8 { _ = fwrite($0.baseAddress, 1, $0.count, file) }
        fclose(file)
        printError("wrote \(path)\n")
    }
}

/// The inputs of the sweep, built from the RFCs' facts and the fixtures' vocabulary.
enum SweepInputs {
    static let messageSizes = [16, 64, 256, 1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20, 16 << 20]
    static let deflateSizes = [64, 256, 1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20]

    /// `GET /sweep HTTP/1.1`, Host, then `count` fields `X-Sweep-N` with values of `valueSize`
    /// visible characters.
    static func head(fields count: Int, valueSize: Int) -> [UInt8] {
        var random = SplitMix64(seed: UInt64(count &* 8191 &+ valueSize))
        var text = Array("GET /sweep HTTP/1.1\r\nHost: bench.example\r\n".utf8)
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789-_.;=/ ".utf8)
        for index in 0..<max(count - 1, 0) {
            text += Array("X-Sweep-\(index): ".utf8)
            var value = (0..<valueSize).map { _ in alphabet[random.next(below: alphabet.count)] }
            value[0] = UInt8(ascii: "v")
            value[valueSize - 1] = UInt8(ascii: "v")
            text += value + [0x0D, 0x0A]
        }
        return text + [0x0D, 0x0A]
    }

    /// A binary message of `size` bytes as a client sends it: `fragments` masked frames (the
    /// first binary, then continuations), each with its own key.
    static func maskedMessage(size: Int, fragments: Int) -> [UInt8] {
        var random = SplitMix64(seed: UInt64(size &+ fragments))
        let payload = (0..<size).map { _ in random.nextByte() }
        var bytes = [UInt8]()
        bytes.reserveCapacity(size + fragments * 14)
        let pieces = min(fragments, size)
        let piece = size / pieces
        for index in 0..<pieces {
            let start = index * piece
            let end = index == pieces - 1 ? size : start + piece
            Fixtures.appendMaskedFrame(
                to: &bytes, fin: index == pieces - 1, opcode: index == 0 ? 0x2 : 0x0, payload: payload[start..<end],
                key: Fixtures.randomKey(&random))
        }
        return bytes
    }
}

extension DeflateInputs {
    /// One JSON message of exactly `size` bytes (a prefix of chat events), compressed on its
    /// own (no context takeover).
    static func json(size: Int) -> DeflateInputs {
        var inputs = DeflateInputs(contextTakeover: false)
        var document = [UInt8]()
        var index = 0
        while document.count < size {
            document += JSONMessages.message(index: 20_000 + index, size: 300 + (index * 53) % 400)
            index += 1
        }
        inputs.plain.append(Array(document.prefix(size)))
        inputs.compressAll()
        return inputs
    }
}
