/// The input bytes of every workload. Each is built once per process, before any subject
/// runs, and every subject reads the same bytes.
enum Fixtures {
    /// A navigation request from Chromium 156 (headless, Linux), captured on loopback with
    /// `Tests/Scripts/capture-browser-get.py`: the second page of a same-origin visit, so it
    /// carries a Referer and the cookie jar the first page set. 696 bytes, 10 fields.
    static let browserGet: [UInt8] = Array((
        "GET /projects/wirecodec/dashboard?tab=activity&range=30d HTTP/1.1\r\n"
        + "Host: app.example.com\r\n"
        + "Connection: keep-alive\r\n"
        + "Upgrade-Insecure-Requests: 1\r\n"
        + "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36\r\n"
        + "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/jxl,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7\r\n"
        + "Referer: http://app.example.com/\r\n"
        + "Accept-Encoding: gzip, deflate\r\n"
        + "Accept-Language: en-US,en;q=0.9\r\n"
        + "Cookie: session=9f3c2a71e4b84d0c8a5f1e6b2d7c4a90; theme=dark; _ga=GA1.1.1843917265.1732526400; _gid=GA1.1.2094718365.1732526400; csrftoken=Xk7qN2vR8tLw4pZs9mYc3bHd6fGj1aEe\r\n"
        + "\r\n").utf8)

    static let minimalGet: [UInt8] = Array("GET / HTTP/1.1\r\nHost: a\r\n\r\n".utf8)

    /// The request shape of the TechEmpower "plaintext" test, whose clients pipeline 16.
    static let plaintextRequest: [UInt8] = Array((
        "GET /plaintext HTTP/1.1\r\n"
        + "Host: server\r\n"
        + "Accept: text/plain,text/html;q=0.9,application/xhtml+xml;q=0.9,application/xml;q=0.8,*/*;q=0.7\r\n"
        + "Connection: keep-alive\r\n"
        + "\r\n").utf8)

    static let pipelined16: [UInt8] = Array((0..<16).map { _ in plaintextRequest }.joined())

    /// An upload of 64 KiB in 16 chunks of 4 KiB (RFC 9112 §7.1), as curl sends a streamed body.
    static let chunkedPost64k: [UInt8] = {
        var bytes = Array((
            "POST /upload/blob HTTP/1.1\r\n"
            + "Host: app.example.com\r\n"
            + "User-Agent: curl/7.88.1\r\n"
            + "Accept: */*\r\n"
            + "Content-Type: application/octet-stream\r\n"
            + "Transfer-Encoding: chunked\r\n"
            + "\r\n").utf8)
        var random = SplitMix64(seed: 0x6368_756E_6B65_64)
        for _ in 0..<16 {
            bytes += Array("1000\r\n".utf8)
            for _ in 0..<4096 { bytes.append(random.nextByte()) }
            bytes += Array("\r\n".utf8)
        }
        bytes += Array("0\r\n\r\n".utf8)
        return bytes
    }()

    /// The head of a typical API response: 8 fields, a 1 KiB JSON body.
    static let responseHeadFields: [(String, String)] = [
        ("Date", "Mon, 25 Nov 2024 10:40:00 GMT"),
        ("Server", "nginx/1.22.1"),
        ("Content-Type", "application/json; charset=utf-8"),
        ("Content-Length", "1024"),
        ("Connection", "keep-alive"),
        ("Cache-Control", "no-cache, private"),
        ("ETag", "\"5f3c2a71e4b84d0c\""),
        ("Vary", "Accept-Encoding"),
    ]

    static let responseBody: [UInt8] = JSONMessages.message(index: 0, size: 1024)

    static let typical200: [UInt8] = {
        var text = "HTTP/1.1 200 OK\r\n"
        for (name, value) in responseHeadFields { text += "\(name): \(value)\r\n" }
        return Array((text + "\r\n").utf8) + responseBody
    }()

    // MARK: WebSocket

    /// A frame as a client sends it (RFC 6455 §5.2: masked), with the given masking key.
    static func maskedFrame(fin: Bool = true, opcode: UInt8, payload: some Collection<UInt8>, key: (UInt8, UInt8, UInt8, UInt8)) -> [UInt8] {
        var frame = [UInt8]()
        frame.reserveCapacity(payload.count + 14)
        appendMaskedFrame(to: &frame, fin: fin, opcode: opcode, payload: payload, key: key)
        return frame
    }

    static func appendMaskedFrame(
        to frame: inout [UInt8], fin: Bool = true, opcode: UInt8, payload: some Collection<UInt8>,
        key: (UInt8, UInt8, UInt8, UInt8)
    ) {
        frame.append((fin ? 0x80 : 0) | opcode)
        let length = payload.count
        if length < 126 {
            frame.append(0x80 | UInt8(length))
        } else if length <= 0xFFFF {
            frame += [0x80 | 126, UInt8(length >> 8), UInt8(length & 0xFF)]
        } else {
            frame.append(0x80 | 127)
            for shift in stride(from: 56, through: 0, by: -8) { frame.append(UInt8((length >> shift) & 0xFF)) }
        }
        let mask: InlineArray<4, UInt8> = [key.0, key.1, key.2, key.3]
        for index in 0..<4 { frame.append(mask[index]) }
        var index = 0
        for byte in payload {
            frame.append(byte ^ mask[index & 3])
            index += 1
        }
    }

    static func randomKey(_ random: inout SplitMix64) -> (UInt8, UInt8, UInt8, UInt8) {
        (random.nextByte(), random.nextByte(), random.nextByte(), random.nextByte())
    }

    static let smallFrameCount = 1 << 20

    /// 2^20 masked 16-byte text frames back to back, each with its own masking key.
    static let smallFrames: [UInt8] = {
        var random = SplitMix64(seed: 0x7773_6672_616D_6573)
        var bytes = [UInt8]()
        bytes.reserveCapacity(smallFrameCount * 22)
        var payload = Array("tick 00000000000".utf8)
        for index in 0..<smallFrameCount {
            // "tick 00000000042": the frame's index in 11 decimal digits.
            var value = index
            for position in stride(from: 15, through: 5, by: -1) {
                payload[position] = UInt8(ascii: "0") + UInt8(value % 10)
                value /= 10
            }
            appendMaskedFrame(to: &bytes, opcode: 0x1, payload: payload, key: randomKey(&random))
        }
        return bytes
    }()

    static let mebibyte = 1 << 20

    static let binaryMebibyte: [UInt8] = {
        var random = SplitMix64(seed: 0x6269_6E61_7279)
        return (0..<mebibyte).map { _ in random.nextByte() }
    }()

    /// One masked binary frame carrying `binaryMebibyte`.
    static let maskedMebibyteFrame: [UInt8] = {
        var random = SplitMix64(seed: 0x6D61_736B)
        return maskedFrame(opcode: 0x2, payload: binaryMebibyte, key: randomKey(&random))
    }()

    /// 64 KiB of mixed-script text, a valid UTF-8 message.
    static let fragmentedText: [UInt8] = Text.mixed(byteCount: 64 << 10, seed: 64)

    /// `fragmentedText` as 16 masked frames of 4 KiB (text, then continuations; scalars are
    /// cut across frame boundaries, as senders do).
    static let fragmented64k: [UInt8] = {
        var random = SplitMix64(seed: 0x6672_6167)
        var bytes = [UInt8]()
        let size = fragmentedText.count / 16
        for index in 0..<16 {
            bytes += maskedFrame(
                fin: index == 15, opcode: index == 0 ? 0x1 : 0x0,
                payload: fragmentedText[index * size..<(index + 1) * size], key: randomKey(&random))
        }
        return bytes
    }()

    static let asciiMebibyte: [UInt8] = Text.ascii(byteCount: mebibyte, seed: 1)
    static let mixedMebibyte: [UInt8] = Text.mixed(byteCount: mebibyte, seed: 2)

    static let smallFramePayloadToSend: [UInt8] = Array("{\"op\":\"ping\",\"n\"".utf8)
    static let clientMaskingKey: (UInt8, UInt8, UInt8, UInt8) = (0x37, 0xFA, 0x21, 0x3D)
}

/// SplitMix64 (Steele, Lea, Flood 2014): deterministic inputs without global randomness.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func nextByte() -> UInt8 { UInt8(truncatingIfNeeded: next() >> 32) }
    mutating func next(below bound: Int) -> Int { Int(next() % UInt64(bound)) }
}

/// Text for the UTF-8 workloads.
enum Text {
    static let words = [
        "the", "server", "request", "stream", "frame", "message", "client", "socket", "buffer", "window",
        "header", "field", "value", "token", "close", "ping", "deflate", "context", "chunk", "length",
        "status", "event", "payload", "channel", "session", "cache", "route", "query", "limit", "retry",
        "timeout", "latency", "upgrade", "origin", "protocol", "version", "encode", "decode", "parse", "write",
        "read", "queue", "batch", "metric", "trace", "span", "user", "account", "order", "item",
    ]

    /// Pangrams and proverbs in several scripts (1, 2, 3 and 4-byte UTF-8 sequences).
    static let sentences = [
        "The quick brown fox jumps over the lazy dog. ",
        "Zwölf Boxkämpfer jagen Viktor quer über den großen Sylter Deich. ",
        "Voix ambiguë d'un cœur qui, au zéphyr, préfère les jattes de kiwis. ",
        "El pingüino Wenceslao hizo kilómetros bajo exhaustiva lluvia y frío. ",
        "Ξεσκεπάζω την ψυχοφθόρα βδελυγμία. ",
        "Съешь же ещё этих мягких французских булок, да выпей чаю. ",
        "いろはにほへと ちりぬるを わかよたれそ つねならむ。",
        "我能吞下玻璃而不伤身体。",
        "다람쥐 헌 쳇바퀴에 타고파. ",
        "نص حكيم له سر قاطع وذو شأن عظيم مكتوب على ثوب أخضر. ",
        "דג סקרן שט בים מאוכזב ולפתע מצא חברה. ",
        "ऋषियों को सताने वाले दुष्ट राक्षसों के राजा रावण का सर्वनाश हुआ। ",
        "Deploy finished ✅ 🚀🎉 👍🏽 — 🇩🇪 🇯🇵 ",
        "Pchnąć w tę łódź jeża lub ośm skrzyń fig. ",
    ]

    /// Exactly `byteCount` bytes of ASCII words and punctuation.
    static func ascii(byteCount: Int, seed: UInt64) -> [UInt8] {
        var random = SplitMix64(seed: seed)
        var bytes = [UInt8]()
        bytes.reserveCapacity(byteCount + 16)
        while bytes.count < byteCount {
            bytes += Array(words[random.next(below: words.count)].utf8)
            bytes.append(random.next(below: 12) == 0 ? UInt8(ascii: ".") : UInt8(ascii: " "))
        }
        return Array(bytes.prefix(byteCount))
    }

    /// Exactly `byteCount` bytes of valid UTF-8: sentences in random order, cut at a scalar
    /// boundary and padded with spaces.
    static func mixed(byteCount: Int, seed: UInt64) -> [UInt8] {
        var random = SplitMix64(seed: seed)
        var bytes = [UInt8]()
        bytes.reserveCapacity(byteCount + 256)
        while bytes.count < byteCount {
            bytes += Array(sentences[random.next(below: sentences.count)].utf8)
        }
        var end = byteCount
        while end > 0 && bytes[end] & 0xC0 == 0x80 { end -= 1 }
        return Array(bytes.prefix(end)) + Array(repeating: UInt8(ascii: " "), count: byteCount - end)
    }
}

/// JSON messages for the deflate and HTTP workloads: chat events built from a fixed
/// vocabulary, each exactly the requested size.
enum JSONMessages {
    static func message(index: Int, size: Int) -> [UInt8] {
        var random = SplitMix64(seed: UInt64(index) &* 0x9E37_79B9 &+ 17)
        let user = 1000 + random.next(below: 9000)
        var text = "{\"type\":\"message\",\"id\":\(100_000 + index),\"channel\":\"c-\(random.next(below: 40))\","
            + "\"user\":{\"id\":\(user),\"name\":\"user\(user)\",\"avatar\":\"https://cdn.example.com/a/\(user).png\"},"
            + "\"ts\":\"2026-11-25T10:\(10 + random.next(below: 50)):\(10 + random.next(below: 50)).\(100 + random.next(below: 900))Z\","
            + "\"reactions\":[{\"emoji\":\"thumbsup\",\"count\":\(random.next(below: 9))}],\"text\":\""
        let closing = "\"}"
        while text.utf8.count + closing.utf8.count < size {
            text += Text.words[random.next(below: Text.words.count)] + " "
        }
        var bytes = Array(text.utf8)
        bytes.removeLast(bytes.count + closing.utf8.count - size)
        return bytes + Array(closing.utf8)
    }

    /// Messages laid end to end, with `offsets[i]..<offsets[i+1]` the i-th.
    struct Batch {
        var bytes: [UInt8] = []
        var offsets: [Int] = [0]
        var count: Int { offsets.count - 1 }
        mutating func append(_ message: [UInt8]) {
            bytes += message
            offsets.append(bytes.count)
        }
        func message(_ index: Int) -> ArraySlice<UInt8> { bytes[offsets[index]..<offsets[index + 1]] }
    }

    /// A 64 KiB JSON document: an array of such messages, exactly 65536 bytes.
    static let document64k: [UInt8] = {
        var bytes: [UInt8] = [UInt8(ascii: "[")]
        var index = 0
        while bytes.count < (64 << 10) - 1100 {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes += message(index: 5000 + index, size: 400 + (index * 37) % 300)
            index += 1
        }
        bytes.append(UInt8(ascii: ","))
        bytes += message(index: 9999, size: (64 << 10) - bytes.count - 1)
        bytes.append(UInt8(ascii: "]"))
        precondition(bytes.count == 64 << 10)
        return bytes
    }()
}
