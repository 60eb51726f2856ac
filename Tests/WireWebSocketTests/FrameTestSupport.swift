import WireCore
import WireWebSocket
import TestSupport

/// What a whole input parsed to: the frames (payloads unmasked), then an error or whether
/// the input ended mid-frame.
struct ParsedFrames: Equatable, CustomStringConvertible {
    var frames: [WebSocketFrame] = []
    var error: WebSocketProtocolError? = nil
    var midFrame = false

    var description: String { "frames: \(frames.count) \(frames.map { "\($0.opcode.name)/\($0.payload.count)" }) error: \(String(describing: error)) midFrame: \(midFrame)" }
}

/// Runs the streaming parser over `pieces`, unmasking each payload piece into the frame.
func parseStreaming(_ pieces: [ArraySlice<UInt8>], role: Role, maxFrameSize: Int = 1 << 20,
                    allowed: ReservedBits = [], allowNonMinimalLengths: Bool = false) -> ParsedFrames {
    var parser = WebSocketFrameParser(
        role: role, limits: WebSocketLimits(maxFrameSize: maxFrameSize), allowedReservedBits: allowed,
        allowNonMinimalLengths: allowNonMinimalLengths)
    var result = ParsedFrames()
    var current: WebSocketFrame? = nil
    for piece in pieces {
        let chunk = Array(piece)
        let span = chunk.span
        var offset = 0
        do {
            while true {
                let step = try parser.parse(span, from: offset)
                offset += step.consumed
                guard let event = step.event else { break }
                switch event {
                case .head(let h):
                    current = WebSocketFrame(fin: h.fin, reserved: h.reserved, opcode: h.opcode, maskingKey: h.maskingKey)
                case .payload(let p):
                    p.unmask(span, appendingTo: &current!.payload)
                case .end:
                    result.frames.append(current!)
                    current = nil
                }
            }
        } catch {
            result.error = error
            return result
        }
    }
    result.midFrame = !parser.isIdle
    return result
}

func parseStreaming(_ bytes: [UInt8], role: Role, maxFrameSize: Int = 1 << 20,
                    allowed: ReservedBits = [], allowNonMinimalLengths: Bool = false) -> ParsedFrames {
    parseStreaming([bytes[...]], role: role, maxFrameSize: maxFrameSize, allowed: allowed,
                   allowNonMinimalLengths: allowNonMinimalLengths)
}

/// A send pipeline for tests: deterministic masking keys, optional fragmentation.
func testSender(_ role: Role, fragmentSize: Int = .max, seed: UInt64 = 42) -> WebSocketSender {
    var configuration = WebSocketConfiguration()
    configuration.fragmentSize = fragmentSize
    configuration.maskingKeys = .deterministic(seed: seed)
    do {
        return try WebSocketSender(role: role, configuration: configuration)
    } catch {
        fatalError("\(error)")
    }
}

/// The bytes of one message through a fresh send pipeline of `role`.
func sent(_ kind: WebSocketMessageKind, _ payload: [UInt8], by role: Role, fragmentSize: Int = .max) throws -> [UInt8] {
    var sender = testSender(role, fragmentSize: fragmentSize)
    var out: [UInt8] = []
    try sender.writeMessage(kind, payload.span, into: &out)
    return out
}

/// Hex text to bytes, whitespace ignored.
func hex(_ text: String) -> [UInt8] {
    let digits = text.filter { !$0.isWhitespace }.map { UInt8(String($0), radix: 16)! }
    return stride(from: 0, to: digits.count, by: 2).map { digits[$0] << 4 | digits[$0 + 1] }
}

/// Feeds frames through the frame parser and the message layer, as the receive pipeline runs
/// them (the parser first: frame-level rules are its), each payload split in two pieces;
/// returns the events and the error, if any. With `compression`, RSV1 messages' payloads are
/// taken as already inflated (the inflater is tested on its own).
func assemble(_ frames: [WebSocketFrame], limits: WebSocketLimits = .init(), delivery: WebSocketConfiguration.Delivery = .wholeMessages,
              compression: Bool = false) -> (events: [WebSocketMessageEvent], error: WebSocketProtocolError?) {
    var bytes: [UInt8] = []
    for frame in frames {
        var unmasked = frame
        unmasked.maskingKey = nil
        do { try unmasked.write(into: &bytes) } catch { fatalError("\(error)") }
    }
    var parser = WebSocketFrameParser(role: .client, limits: limits, allowedReservedBits: compression ? .rsv1 : [])
    var assembler = WebSocketMessageAssembler(limits: limits, delivery: delivery)
    var events: [WebSocketMessageEvent] = []
    var offset = 0
    do {
        while true {
            let step = try parser.parse(bytes.span, from: offset)
            offset += step.consumed
            guard let event = step.event else { break }
            switch event {
            case .head(let header):
                if let e = try assembler.frameStarted(header, at: offset - header.encodedSize) { events.append(e) }
            case .payload(let piece):
                // Split each payload in two pieces to exercise streaming.
                let cut = piece.range.lowerBound + piece.range.count / 2
                try assembler.payload(bytes.span.extracting(piece.range.lowerBound..<cut), at: piece.range.lowerBound)
                try assembler.payload(bytes.span.extracting(cut..<piece.range.upperBound), at: cut)
            case .end:
                if let e = try assembler.frameEnded(at: offset) { events.append(e) }
            }
        }
    } catch {
        return (events, error)
    }
    return (events, nil)
}

/// One whole frame through a message layer (payload unmasked), at stream offset `offset`.
func append(_ frame: WebSocketFrame, to assembler: inout WebSocketMessageAssembler, at offset: Int = 0) throws(WebSocketProtocolError) -> WebSocketMessageEvent? {
    let header = frame.header
    let start = try assembler.frameStarted(header, at: offset)
    try assembler.payload(frame.payload.span, at: offset + header.encodedSize)
    return try assembler.frameEnded(at: offset + header.encodedSize + frame.payload.count) ?? start
}
