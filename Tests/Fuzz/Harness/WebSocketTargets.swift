// Fuzz targets for the WebSocket receive pipeline: the frame parser (both roles), the message
// layer with UTF-8 validation, the permessage-deflate inflater under a size limit, the whole
// receive pipeline (`WebSocketReceiver`, the connection's), and the Sec-WebSocket-Extensions
// parser with the permessage-deflate negotiation.
//
// Invariants, besides "no crash, no memory error":
// - every chunking of the input gives the same frames, messages and errors (with offsets);
// - every error carries a close code the RFC allows for it (1002, 1007, 1009) and an offset
//   within the stream;
// - frames respect the role's masking rule, control frames are short and final, payloads and
//   messages never exceed the configured limits (and inflated output never exceeds the room
//   it was given);
// - accepted frames re-serialize and re-parse to the same frames; accepted extension headers
//   re-serialize and re-parse to the same list; inflated data compresses and inflates back;
// - text accepted by the validator is exactly what the standard library accepts as UTF-8.

@testable import WireWebSocket
import WireCore

let allowedCloseCodes: Set<UInt16> = [1002, 1007, 1009]

enum FrameRecord: Equatable, CustomStringConvertible {
    case head(WebSocketFrameHeader)
    case payload([UInt8])
    case end
    case error(String, close: UInt16, offset: Int)

    var description: String {
        switch self {
        case .head(let h): "head(\(h.opcode) fin=\(h.fin) len=\(h.payloadLength) mask=\(h.maskingKey != nil) rsv=\(h.reserved.rawValue))"
        case .payload(let p): "payload(\(p.count))"
        case .end: "end"
        case .error(let c, let close, let o): "error(\(c) \(close) at \(o))"
        }
    }
}

struct FrameSetup {
    var role: Role
    var maxFrameSize: Int
    var reserved: ReservedBits
    var allowNonMinimalLengths: Bool

    init(_ reader: inout ByteReader, role: Role) {
        let a = reader.byte()
        self.role = role
        reserved = ReservedBits(rawValue: a & 0x70)
        allowNonMinimalLengths = a & 0x01 != 0
        maxFrameSize = a & 0x02 != 0 ? 125 + Int(reader.byte()) * 8 : WebSocketLimits().maxFrameSize
    }

    func parser() -> WebSocketFrameParser {
        WebSocketFrameParser(
            role: role, limits: WebSocketLimits(maxFrameSize: maxFrameSize), allowedReservedBits: reserved,
            allowNonMinimalLengths: allowNonMinimalLengths)
    }
}

func checkProtocolError(_ error: WebSocketProtocolError, total: Int) {
    check(allowedCloseCodes.contains(error.closeCode.rawValue), "close code \(error.closeCode.rawValue) for \(error.code)")
    check(error.offset >= 0 && error.offset <= total, "offset \(error.offset) outside 0...\(total)")
    check(!error.code.name.isEmpty, "an error without a name")
}

func runFrameParser(_ setup: FrameSetup, input: UnsafeBufferPointer<UInt8>, pieces: [Range<Int>]) -> [FrameRecord] {
    var parser = setup.parser()
    var records: [FrameRecord] = []
    var current: WebSocketFrameHeader? = nil
    var payloadSoFar = 0
    outer: for piece in pieces {
        let span = UnsafeBufferPointer(rebasing: input[piece]).span
        var index = 0
        while true {
            let step: WebSocketParseStep
            do {
                step = try parser.parse(span, from: index)
            } catch {
                checkProtocolError(error, total: input.count)
                // The parser stays failed.
                do { _ = try parser.parse(span, from: span.count); check(false, "no error after \(error)") } catch let again {
                    check(again == error, "\(again) after \(error)")
                }
                records.append(.error(error.code.name, close: error.closeCode.rawValue, offset: error.offset))
                break outer
            }
            check(step.consumed >= 0 && index + step.consumed <= span.count, "consumed past the input")
            index += step.consumed
            guard let event = step.event else {
                check(index == span.count, "no event before the end of the input")
                break
            }
            switch event {
            case .head(let h):
                check(h.payloadLength <= setup.maxFrameSize, "frame over the limit")
                check((h.maskingKey != nil) == (setup.role == .server), "masking rule broken for \(setup.role)")
                check(setup.reserved.isSuperset(of: h.reserved), "reserved bits not allowed")
                if h.opcode.isControl { check(h.fin && h.payloadLength <= 125, "bad control frame accepted") }
                current = h
                payloadSoFar = 0
                records.append(.head(h))
            case .payload(let p):
                check(current != nil && !p.range.isEmpty, "payload outside a frame, or empty")
                check(p.payloadOffset == payloadSoFar, "payload offset \(p.payloadOffset) != \(payloadSoFar)")
                var bytes: [UInt8] = []
                p.unmask(span, appendingTo: &bytes)
                // In-place unmasking gives the same bytes.
                var copy = Array(UnsafeBufferPointer(rebasing: input[piece]))
                p.unmask(inPlace: &copy)
                check(Array(copy[p.range]) == bytes, "in-place unmasking differs")
                payloadSoFar += bytes.count
                if case .payload(let previous)? = records.last {
                    records[records.count - 1] = .payload(previous + bytes)
                } else {
                    records.append(.payload(bytes))
                }
            case .end:
                check(current != nil && payloadSoFar == current!.payloadLength, "end before the payload was complete")
                current = nil
                records.append(.end)
            }
        }
    }
    return records
}

func frameTarget(_ name: String, role: Role) -> FuzzTarget {
    FuzzTarget(name: name) { data in
        var reader = ByteReader(data)
        let setup = FrameSetup(&reader, role: role)
        let input = reader.rest
        let ways = chunkings(count: input.count, seed: inputSeed(input))
        let reference = runFrameParser(setup, input: input, pieces: ways[0])
        for pieces in ways.dropFirst() {
            let other = runFrameParser(setup, input: input, pieces: pieces)
            check(other == reference, "chunking changed the frames: \(diffDescription(reference, other))")
        }
        // Re-serialize every complete frame and parse again.
        var out: [UInt8] = []
        var expected: [FrameRecord] = []
        var header: WebSocketFrameHeader? = nil
        var payload: [UInt8] = []
        for r in reference {
            switch r {
            case .head(let h): header = h; payload = []
            case .payload(let p): payload += p
            case .end:
                do {
                    try header!.write(payload: payload.span, into: &out)
                } catch {
                    check(false, "the serializer refused a parsed frame: \(error)")
                }
                expected.append(.head(header!))
                if !payload.isEmpty { expected.append(.payload(payload)) }
                expected.append(.end)
            case .error: break
            }
        }
        let again = out.withUnsafeBufferPointer { runFrameParser(setup, input: $0, pieces: [0..<$0.count]) }
        check(again == expected, "round trip changed the frames: \(diffDescription(expected, again))")
    }
}

let wsFrameServerTarget = frameTarget("ws-frame-server", role: .server)
let wsFrameClientTarget = frameTarget("ws-frame-client", role: .client)

// MARK: - Message assembler

enum MessageRecord: Equatable, CustomStringConvertible {
    case text([UInt8]), binary([UInt8]), ping([UInt8]), pong([UInt8]), close(WebSocketClose)
    case error(String, close: UInt16, offset: Int)
    var description: String {
        switch self {
        case .text(let b): "text(\(b.count))"
        case .binary(let b): "binary(\(b.count))"
        case .ping(let b): "ping(\(b.count))"
        case .pong(let b): "pong(\(b.count))"
        case .close(let c): "close(\(c))"
        case .error(let c, let close, let o): "error(\(c) \(close) at \(o))"
        }
    }
}

/// Frames from the frame parser, set up as the receive pipeline sets it up (RSV1 allowed when
/// compression is negotiated, non-minimal lengths allowed), into two message layers in
/// lockstep, whole-message and streaming; both must tell the same story. With compression,
/// RSV1 messages' payloads are taken as already inflated (the inflater has its own target).
func runAssembler(role: Role, limits: WebSocketLimits, compression: Bool, input: UnsafeBufferPointer<UInt8>,
                  pieces: [Range<Int>]) -> [MessageRecord] {
    var parser = WebSocketFrameParser(role: role, limits: limits, allowedReservedBits: compression ? .rsv1 : [],
                                      allowNonMinimalLengths: true)
    var whole = WebSocketMessageAssembler(limits: limits, delivery: .wholeMessages)
    var streaming = WebSocketMessageAssembler(limits: limits, delivery: .streaming)
    var records: [MessageRecord] = []
    var streamed: [UInt8] = []
    var streamKind: WebSocketMessageKind? = nil
    var base = 0

    func deliver(_ w: WebSocketMessageEvent?, _ s: WebSocketMessageEvent?) {
        switch w {
        case nil: break
        case .text(let t)?:
            let bytes = Array(t.utf8)
            check(bytes.count <= limits.maxMessageSize, "message over the limit")
            check(String(validating: streamed, as: UTF8.self) != nil, "text message the stdlib rejects")
            records.append(.text(bytes))
        case .binary(let b)?:
            check(b.count <= limits.maxMessageSize, "message over the limit")
            records.append(.binary(b))
        case .ping(let b)?: records.append(.ping(b))
        case .pong(let b)?: records.append(.pong(b))
        case .close(let c)?: records.append(.close(c))
        default: check(false, "streaming event from the whole-message assembler")
        }
        switch (w, s) {
        case (nil, nil), (nil, .messageStart?): break
        case (.text(let t)?, .messageEnd(.text)?): check(Array(t.utf8) == streamed, "streamed text differs")
        case (.binary(let b)?, .messageEnd(.binary)?): check(b == streamed, "streamed binary differs")
        case (.ping?, _), (.pong?, _), (.close?, _): check(w == s, "control events differ")
        default: check(false, "assemblers disagree: \(String(describing: w)) vs \(String(describing: s))")
        }
        if case .messageStart(let kind)? = s { streamKind = kind; streamed = [] }
        if case .messageEnd? = s { streamKind = nil }
    }

    func fail(_ e: WebSocketProtocolError) {
        checkProtocolError(e, total: input.count)
        records.append(.error(e.code.name, close: e.closeCode.rawValue, offset: e.offset))
    }

    outer: for piece in pieces {
        let span = UnsafeBufferPointer(rebasing: input[piece]).span
        var index = 0
        while true {
            let step: WebSocketParseStep
            do { step = try parser.parse(span, from: index) } catch { break outer }   // frame errors: another target
            index += step.consumed
            guard let event = step.event else { break }
            switch event {
            case .head(let h):
                let at = base + index - h.encodedSize
                var w: WebSocketMessageEvent?, s: WebSocketMessageEvent?
                do { w = try whole.frameStarted(h, at: at) } catch {
                    do { _ = try streaming.frameStarted(h, at: at); check(false, "only the whole assembler failed") } catch let e2 {
                        check(e2 == error, "errors differ: \(error) vs \(e2)")
                    }
                    fail(error); break outer
                }
                do { s = try streaming.frameStarted(h, at: at) } catch { check(false, "only the streaming assembler failed: \(error)") }
                deliver(w, s)
            case .payload(let p):
                var bytes: [UInt8] = []
                p.unmask(span, appendingTo: &bytes)
                let at = base + p.range.lowerBound
                do { try whole.payload(bytes.span, at: at) } catch {
                    do { try streaming.payload(bytes.span, at: at); check(false, "only the whole assembler failed") } catch let e2 {
                        check(e2 == error, "errors differ: \(error) vs \(e2)")
                    }
                    fail(error); break outer
                }
                do { try streaming.payload(bytes.span, at: at) } catch { check(false, "only the streaming assembler failed: \(error)") }
                if streamKind != nil && !streaming.currentFrameIsControl { streamed += bytes }
            case .end:
                let at = base + index
                var w: WebSocketMessageEvent?, s: WebSocketMessageEvent?
                do { w = try whole.frameEnded(at: at) } catch {
                    do { _ = try streaming.frameEnded(at: at); check(false, "only the whole assembler failed") } catch let e2 {
                        check(e2 == error, "errors differ: \(error) vs \(e2)")
                    }
                    fail(error); break outer
                }
                do { s = try streaming.frameEnded(at: at) } catch { check(false, "only the streaming assembler failed: \(error)") }
                deliver(w, s)
            }
        }
        base += piece.count
    }
    return records
}

let wsAssemblerTarget = FuzzTarget(name: "ws-assembler") { data in
    var reader = ByteReader(data)
    let a = reader.byte()
    let role: Role = a & 1 == 0 ? .server : .client
    let compression = a & 2 != 0
    let limits = a & 4 != 0
        ? WebSocketLimits(maxFrameSize: 125 + Int(reader.byte()), maxMessageSize: Int(reader.byte()) * 4)
        : WebSocketLimits()
    let input = reader.rest
    let ways = chunkings(count: input.count, seed: inputSeed(input))
    let reference = runAssembler(role: role, limits: limits, compression: compression, input: input, pieces: ways[0])
    for pieces in ways.dropFirst() {
        let other = runAssembler(role: role, limits: limits, compression: compression, input: input, pieces: pieces)
        check(other == reference, "chunking changed the messages: \(diffDescription(reference, other))")
    }
    // The UTF-8 validator against the standard library, on the raw input cut in two.
    let bytes = Array(input)
    let expectValid = String(validating: bytes, as: UTF8.self) != nil
    var v = UTF8Validator()
    let cut = bytes.isEmpty ? 0 : Int(inputSeed(input) % UInt64(bytes.count + 1))
    let head = Array(bytes[..<cut]), tail = Array(bytes[cut...])
    let first = v.validate(head.span)
    let second = first == nil ? v.validate(tail.span).map { $0 + cut } : first
    let ok = second == nil && v.finish()
    check(ok == expectValid, "UTF8Validator says \(ok), the stdlib \(expectValid) for \(hex(bytes.prefix(64)))")
    check(UTF8Validator.isValid(bytes.span) == expectValid, "UTF8Validator.isValid disagrees with the stdlib")
    if let bad = second {
        // Everything before the reported byte is a valid prefix: some completion of it is valid.
        check(bad <= bytes.count, "invalid index past the end")
        var w = UTF8Validator()
        let prefix = Array(bytes[..<bad])
        check(w.validate(prefix.span) == nil, "the bytes before the reported error are already invalid")
    }
}

// MARK: - permessage-deflate inflater

let pmdInflateTarget = FuzzTarget(name: "pmd-inflate") { data in
    var reader = ByteReader(data)
    let a = reader.byte()
    let b = reader.byte()
    let role: Role = a & 1 == 0 ? .server : .client
    let peerBits = 8 + Int((a >> 1) & 7)
    let noTakeover = a & 0x10 != 0
    let limit = a & 0x20 != 0 ? Int(b) * 64 : 1 << 20
    let params = role == .server
        ? PerMessageDeflateParameters(serverNoContextTakeover: false, clientNoContextTakeover: noTakeover,
                                      serverMaxWindowBits: 15, clientMaxWindowBits: peerBits)
        : PerMessageDeflateParameters(serverNoContextTakeover: noTakeover, clientNoContextTakeover: false,
                                      serverMaxWindowBits: peerBits, clientMaxWindowBits: 15)
    let input = reader.rest

    /// Inflates the input as two messages (cut at a data-derived point), each in pieces.
    func inflate(_ pieces: [Range<Int>]) -> [MessageRecord] {
        guard var pmd = try? PerMessageDeflate(parameters: params, role: role) else {
            check(false, "could not set up \(params)")
            return []
        }
        var records: [MessageRecord] = []
        let messageCut = input.isEmpty ? 0 : Int(inputSeed(input) % UInt64(input.count + 1))
        for message in [0..<messageCut, messageCut..<input.count] {
            var out: [UInt8] = []
            let own = pieces.map { $0.clamped(to: message) }.filter { !$0.isEmpty }
            let parts = own.isEmpty ? [message] : own
            for (i, part) in parts.enumerated() {
                let room = limit - out.count
                do {
                    let n = try pmd.decompress(UnsafeBufferPointer(rebasing: input[part]).span, fin: i == parts.count - 1,
                                               limit: room, into: &out, offset: part.lowerBound)
                    check(n >= 0 && n <= room, "inflated \(n) bytes with room for \(room)")
                } catch {
                    checkProtocolError(error, total: input.count)
                    check(out.count <= limit, "output over the limit")
                    records.append(.error(error.code.name, close: error.closeCode.rawValue, offset: 0))
                    return records
                }
                check(out.count <= limit, "output over the limit")
                // Memory held: the inflate state and its window (2^bits), no more.
                check(pmd.memory.decompressor.held <= 64 * 1024, "inflater holds \(pmd.memory.decompressor.held) bytes")
            }
            records.append(.binary(out))
        }
        return records
    }

    let ways = chunkings(count: input.count, seed: inputSeed(input), byteAtATimeUpTo: 32)
    let reference = inflate(ways[0])
    for pieces in ways.dropFirst() {
        let other = inflate(pieces)
        // Errors may be found at a different piece; compare outcomes and output.
        check(other == reference, "chunking changed the inflated output: \(diffDescription(reference, other))")
    }
    // What inflated compresses back: the peer's compressor to our inflater.
    for case .binary(let plain) in reference where !plain.isEmpty {
        guard var sender = try? PerMessageDeflate(parameters: PerMessageDeflateParameters(
            serverNoContextTakeover: true, clientNoContextTakeover: true,
            serverMaxWindowBits: 15, clientMaxWindowBits: 15), role: role.peer) else { continue }
        guard var receiver = try? PerMessageDeflate(parameters: PerMessageDeflateParameters(
            serverNoContextTakeover: true, clientNoContextTakeover: true,
            serverMaxWindowBits: 15, clientMaxWindowBits: 15), role: role) else { continue }
        var compressed: [UInt8] = []
        sender.compress(plain.span, fin: true, into: &compressed)
        var back: [UInt8] = []
        do {
            _ = try receiver.decompress(compressed.span, fin: true, limit: plain.count, into: &back)
        } catch {
            check(false, "our own compressed data failed to inflate: \(error)")
        }
        check(back == plain, "compress/inflate round trip differs")
    }
}

// MARK: - The receive pipeline

let wsDecoderTarget = FuzzTarget(name: "ws-decoder") { data in
    var reader = ByteReader(data)
    let a = reader.byte()
    let role: Role = a & 1 == 0 ? .server : .client
    let deflate: PerMessageDeflateParameters? = a & 2 != 0
        ? PerMessageDeflateParameters(serverNoContextTakeover: a & 4 != 0, clientNoContextTakeover: a & 8 != 0,
                                      serverMaxWindowBits: 9 + Int((a >> 4) & 3), clientMaxWindowBits: 9 + Int((a >> 6) & 3))
        : nil
    let limits = a & 0x10 != 0 ? WebSocketLimits(maxFrameSize: 125 + Int(reader.byte()), maxMessageSize: Int(reader.byte()) * 8)
                               : WebSocketLimits()
    let input = reader.rest

    func decode(_ pieces: [Range<Int>]) -> [MessageRecord] {
        guard var receiver = try? WebSocketReceiver(role: role, deflate: deflate, configuration: WebSocketConfiguration(limits: limits)) else {
            check(false, "receiver set-up failed")
            return []
        }
        var records: [MessageRecord] = []
        for piece in pieces {
            receiver.receive(UnsafeBufferPointer(rebasing: input[piece]).span)
            while true {
                let event: WebSocketMessageEvent?
                do { event = try receiver.nextEvent() } catch {
                    checkProtocolError(error, total: input.count)
                    records.append(.error(error.code.name, close: error.closeCode.rawValue, offset: error.offset))
                    return records
                }
                guard let event else { check(receiver.bufferedByteCount == 0, "stopped early"); break }
                switch event {
                case .text(let t):
                    check(t.utf8.count <= limits.maxMessageSize, "message over the limit"); records.append(.text(Array(t.utf8)))
                case .binary(let b):
                    check(b.count <= limits.maxMessageSize, "message over the limit"); records.append(.binary(b))
                case .ping(let b): records.append(.ping(b))
                case .pong(let b): records.append(.pong(b))
                case .close(let c): records.append(.close(c))
                default: check(false, "streaming event from a whole-message receiver")
                }
            }
            check(receiver.inflaterMemory.held <= 64 * 1024, "inflater holds too much")
        }
        return records
    }
    let ways = chunkings(count: input.count, seed: inputSeed(input))
    let reference = decode(ways[0])
    for pieces in ways.dropFirst() {
        let other = decode(pieces)
        check(other == reference, "chunking changed the decoded messages: \(diffDescription(reference, other))")
    }
}

// MARK: - Sec-WebSocket-Extensions

let extensionHeaderTarget = FuzzTarget(name: "ext-header") { data in
    let bytes = Array(data)
    let strict: [WebSocketExtension]?
    do throws(ExtensionHeaderError) {
        strict = try ExtensionHeader.parse(bytes.span)
    } catch {
        check(error.offset >= 0 && error.offset <= bytes.count, "error offset \(error.offset) of \(bytes.count)")
        strict = nil
    }
    let lenient = ExtensionHeader.elements(of: bytes.span)
    if let strict {
        check(lenient == strict.map { .valid($0) }, "lenient and strict parsing differ")
        // Serialize and parse again: the same list.
        let text = ExtensionHeader.serialize(strict)
        let again = try? ExtensionHeader.parse(Array(text.utf8).span)
        check(again == strict, "round trip changed the extensions: \(text)")
    }
    // The server's negotiation on the same bytes, when they are text.
    guard let line = String(validating: bytes, as: UTF8.self) else { return }
    let outcome = PerMessageDeflateServerPolicy().negotiate(requestLines: [line])
    if let acceptance = outcome.acceptance {
        // The answer re-parses to the agreed parameters, and the extension can be set up.
        let parsed = try? PerMessageDeflateParameters(parsing: acceptance.headerValue)
        check(parsed == acceptance.parameters, "answer \(acceptance.headerValue) does not re-parse to \(acceptance.parameters)")
        check((try? PerMessageDeflate(parameters: acceptance.parameters, role: .server)) != nil,
              "cannot set up the agreed \(acceptance.parameters)")
        // A client that made exactly that offer accepts the answer.
        let offer = PerMessageDeflateClientOffer()
        _ = try? offer.validate(answerLines: [acceptance.headerValue])
    }
}
