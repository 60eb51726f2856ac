import WireCodec

// The `wirecodec` subjects of the WebSocket workloads. Every one runs through the pipelines
// the connection is built from (`WebSocketReceiver`, `WebSocketSender`) or through the
// connection itself; the one layer-only row (`wirecodec-in-place`: the frame parser unmasking
// in the caller's buffer) is marked as such.

extension CodecSubjects {
    /// `WebSocketReceiver` (server role, streaming delivery): frames parsed, unmasked in place
    /// in the receive buffer, checked by the message layer (sequence, limits, UTF-8), each piece
    /// lent as a fragment; nothing kept.
    static func receiveFrames(_ input: [UInt8], expectedMessages: Int) -> BenchCase? {
        let peer = ReceiverSubject(input: input, delivery: .streaming)
        return BenchCase(subject: Report.codec, opsPerCall: expectedMessages, run: peer.run, digest: peer.digest)
    }

    /// `WebSocketReceiver` (server role, whole messages): frames parsed, unmasked, assembled,
    /// validated as UTF-8, delivered as `.text(String)`. The receive and message buffers keep
    /// `retained` bytes between messages (`retainedBufferCapacity`), as a server tuned for
    /// messages of that size is configured.
    static func receiveMessages(_ input: [UInt8], retained: Int = 0) -> BenchCase? {
        let peer = ReceiverSubject(input: input, delivery: .wholeMessages, retained: retained)
        return BenchCase(subject: Report.codec, run: peer.run, digest: peer.digest)
    }

    /// The frame layer alone: `WebSocketFrameParser` with each payload unmasked in place in the
    /// caller's buffer (`WebSocketPayloadPiece.unmask(inPlace:)`), as a transport that owns a
    /// mutable read buffer can. Unmasking toggles the bytes, so the next call unmasks them
    /// back: the same work each time.
    static func parseFramesInPlace(_ input: [UInt8], expectedFrames: Int) -> BenchCase? {
        let peer = InPlaceFrameParserSubject(input: input)
        return BenchCase(
            subject: Report.codecInPlace, opsPerCall: expectedFrames, run: peer.run, digest: peer.digest)
    }

    /// `WebSocketSender` (client role) writing a 16-byte text message into a reused array,
    /// masked with the NIO peer's key (a fixed key source: the key's source is not what is
    /// measured).
    static func sendFrame() -> BenchCase? {
        let peer = SenderSubject()
        return BenchCase(subject: Report.codec, run: peer.run, digest: peer.digest)
    }

    /// A server `WebSocketConnection` (whole messages): the frames received, every message
    /// delivered as an event, as `WebSocketConnection` users run it; its buffers keep 4 KiB
    /// between messages (`retainedBufferCapacity`, as the sending subjects' outbound buffer).
    static func connectionReceive(_ input: [UInt8], expectedMessages: Int) -> BenchCase? {
        let peer = ConnectionReceiveSubject(input: input)
        return BenchCase(subject: Report.codec, opsPerCall: expectedMessages, run: peer.run, digest: peer.digest)
    }

    /// A client `WebSocketConnection` sending a 16-byte text message, masked (the NIO peer's
    /// key), into its outbound buffer, which is then taken as a transport takes it.
    static func connectionSend() -> BenchCase? {
        let peer = ConnectionSendSubject()
        return BenchCase(subject: Report.codec, run: peer.run, digest: peer.digest)
    }

    /// `UTF8Validator.isValid` over the whole buffer (the message layer's validator).
    static func validateUTF8(_ input: [UInt8]) -> BenchCase? {
        let bytes = input
        return BenchCase(
            subject: Report.codec,
            run: { n in loop(n) { UTF8Validator.isValid(bytes.span) ? UInt64(bytes.count) : 0 } },
            digest: { UTF8Validator.isValid(bytes.span) ? "valid=\(bytes.count)" : "invalid" })
    }
}

final class ReceiverSubject {
    var receiver: WebSocketReceiver
    let input: [UInt8]
    /// Messages delivered by the last call, and the bytes of the last one (for the digest).
    var messages = 0
    var lastMessage: [UInt8] = []
    var recording = false

    init(input: [UInt8], delivery: WebSocketConfiguration.Delivery, retained: Int = 0) {
        do {
            receiver = try WebSocketReceiver(
                role: .server, configuration: WebSocketConfiguration(delivery: delivery, retainedBufferCapacity: retained))
        } catch {
            fatalError("wirecodec: \(error)")
        }
        self.input = input
    }

    func run(_ calls: Int) -> UInt64 {
        let bytes = input
        var checksum: UInt64 = 0
        for _ in 0..<calls {
            checksum &+= Self.receive(&receiver, bytes.span, messages: &messages, last: &lastMessage, recording: recording)
        }
        return checksum
    }

    /// Receives the whole buffer and takes every event: message bytes add to the checksum.
    static func receive(
        _ receiver: inout WebSocketReceiver, _ bytes: Span<UInt8>, messages: inout Int, last: inout [UInt8], recording: Bool
    ) -> UInt64 {
        var checksum: UInt64 = 0
        receiver.receive(bytes)
        do {
            while let event = try receiver.nextEvent() {
                switch event {
                case .messageStart:
                    if recording { last.removeAll(keepingCapacity: true) }
                case .fragment(_, let count):
                    checksum &+= UInt64(count)
                    if recording { receiver.withFragment { $0.withUnsafeBufferPointer { last.append(contentsOf: $0) } } }
                case .messageEnd:
                    messages &+= 1
                case .text(let text):
                    checksum &+= UInt64(text.utf8.count)
                    messages &+= 1
                    if recording { last = Array(text.utf8) }
                case .binary(let data):
                    checksum &+= UInt64(data.count)
                    messages &+= 1
                    if recording { last = data }
                default:
                    break
                }
            }
        } catch {
            fatalError("wirecodec: \(error)")
        }
        return checksum
    }

    func digest() -> String {
        messages = 0
        recording = true
        let payloadBytes = run(1)
        recording = false
        return WebSocketDigest(frames: messages, payloadBytes: Int(payloadBytes), lastPayload: SerializedDigest(lastMessage))
            .description
    }
}

final class InPlaceFrameParserSubject {
    var parser = WebSocketFrameParser(role: .server, limits: WebSocketLimits(maxFrameSize: 1 << 21))
    var buffer: [UInt8]
    var frames = 0
    var lastPayload = 0..<0

    init(input: [UInt8]) { buffer = input }

    func run(_ calls: Int) -> UInt64 {
        var checksum: UInt64 = 0
        for _ in 0..<calls { checksum &+= Self.decode(&parser, &buffer, frames: &frames, lastPayload: &lastPayload) }
        return checksum
    }

    /// Parses the whole buffer step by step, unmasking each payload where it lies.
    static func decode(
        _ parser: inout WebSocketFrameParser, _ buffer: inout [UInt8], frames: inout Int, lastPayload: inout Range<Int>
    ) -> UInt64 {
        var checksum: UInt64 = 0
        var offset = 0
        var payloadStart = 0
        while true {
            let step: WebSocketParseStep
            do {
                step = try parser.parse(buffer.span, from: offset)
            } catch {
                fatalError("wirecodec: \(error)")
            }
            offset &+= step.consumed
            guard let event = step.event else { break }
            switch event {
            case .head:
                payloadStart = offset
            case .payload(let piece):
                piece.unmask(inPlace: &buffer)
            case .end:
                frames &+= 1
                lastPayload = payloadStart..<offset
                checksum &+= UInt64(offset &- payloadStart)
            }
        }
        return checksum
    }

    /// Unmasks once (and masks back with a second call) so the bytes are as they came.
    func digest() -> String {
        frames = 0
        let payloadBytes = run(1)
        let digest = WebSocketDigest(
            frames: frames, payloadBytes: Int(payloadBytes), lastPayload: SerializedDigest(buffer[lastPayload]))
        _ = run(1)
        return digest.description
    }
}

/// The configuration of the sending subjects: the NIO peer's masking key, and an outbound
/// buffer kept between takes (as a server keeps one per busy connection).
private func fixedKeyConfiguration() -> WebSocketConfiguration {
    var configuration = WebSocketConfiguration()
    let k = Fixtures.clientMaskingKey
    configuration.maskingKeys = .fixed(WebSocketMaskingKey(k.0, k.1, k.2, k.3))
    configuration.retainedBufferCapacity = 4096
    return configuration
}

final class SenderSubject {
    let payload = Fixtures.smallFramePayloadToSend
    var sender: WebSocketSender
    var out: [UInt8] = []

    init() {
        do {
            sender = try WebSocketSender(role: .client, configuration: fixedKeyConfiguration())
        } catch {
            fatalError("wirecodec: \(error)")
        }
        out.reserveCapacity(64)
    }

    func run(_ calls: Int) -> UInt64 {
        let payload = self.payload
        return Self.send(&sender, payload.span, into: &out, calls: calls)
    }

    /// Writes the masked message into `out` (emptied first, capacity kept), `calls` times.
    static func send(_ sender: inout WebSocketSender, _ payload: Span<UInt8>, into out: inout [UInt8], calls: Int) -> UInt64 {
        var checksum: UInt64 = 0
        for _ in 0..<calls {
            out.removeAll(keepingCapacity: true)
            do {
                try sender.writeMessage(.text, payload, into: &out)
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

final class ConnectionReceiveSubject {
    var connection: WebSocketConnection
    let input: [UInt8]
    var messages = 0
    var lastText = ""

    init(input: [UInt8]) {
        do {
            connection = try WebSocketConnection(
                role: .server, configuration: WebSocketConfiguration(retainedBufferCapacity: 4096))
        } catch {
            fatalError("wirecodec: \(error)")
        }
        self.input = input
    }

    func run(_ calls: Int) -> UInt64 {
        let bytes = input
        var checksum: UInt64 = 0
        for _ in 0..<calls {
            checksum &+= Self.receive(&connection, bytes.span, messages: &messages, lastText: &lastText)
        }
        return checksum
    }

    /// What a transport does with a read: hands the bytes over, takes every event.
    static func receive(
        _ connection: inout WebSocketConnection, _ bytes: Span<UInt8>, messages: inout Int, lastText: inout String
    ) -> UInt64 {
        var checksum: UInt64 = 0
        connection.receive(bytes)
        do {
            while let event = try connection.nextEvent() {
                if case .text(let text) = event {
                    checksum &+= UInt64(text.utf8.count)
                    messages &+= 1
                    lastText = text
                }
            }
        } catch {
            fatalError("wirecodec: \(error)")
        }
        return checksum
    }

    func digest() -> String {
        messages = 0
        let payloadBytes = run(1)
        return WebSocketDigest(
            frames: messages, payloadBytes: Int(payloadBytes), lastPayload: SerializedDigest(Array(lastText.utf8))
        ).description
    }
}

final class ConnectionSendSubject {
    let payload = Fixtures.smallFramePayloadToSend
    var connection: WebSocketConnection
    var last: [UInt8] = []

    init() {
        do {
            connection = try WebSocketConnection(role: .client, configuration: fixedKeyConfiguration())
        } catch {
            fatalError("wirecodec: \(error)")
        }
    }

    func run(_ calls: Int) -> UInt64 {
        let payload = self.payload
        return Self.send(&connection, payload.span, calls: calls)
    }

    /// Sends the message, then takes the outbound bytes (lent, the buffer kept), `calls` times.
    static func send(_ connection: inout WebSocketConnection, _ payload: Span<UInt8>, calls: Int) -> UInt64 {
        var checksum: UInt64 = 0
        for _ in 0..<calls {
            do {
                try connection.sendMessage(.text, payload)
            } catch {
                fatalError("wirecodec: \(error)")
            }
            checksum &+= connection.withOutbound { UInt64($0.count) }
        }
        return checksum
    }

    func digest() -> String {
        let payload = self.payload
        do {
            try connection.sendMessage(.text, payload.span)
        } catch {
            fatalError("wirecodec: \(error)")
        }
        return SerializedDigest(connection.takeOutbound()).description
    }
}
