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

/// A deterministic masking-key source for serializer tests.
struct CountingKeys: RandomNumberGenerator, Sendable {
    var next_: UInt64 = 0x37FA_213D
    mutating func next() -> UInt64 {
        defer { next_ = next_ &* 6364136223846793005 &+ 1442695040888963407 }
        return next_
    }
}

/// Runs the streaming parser over `pieces`, unmasking each payload piece into the frame.
func parseStreaming(_ pieces: [ArraySlice<UInt8>], role: Role, maxFrameSize: Int = 1 << 20,
                    allowed: ReservedBits = [], leniencies: WebSocketLeniencies = []) -> ParsedFrames {
    var parser = WebSocketFrameParser(role: role, maxFrameSize: maxFrameSize, allowedReservedBits: allowed, leniencies: leniencies)
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
    result.midFrame = !parser.isAtFrameBoundary
    return result
}

func parseStreaming(_ bytes: [UInt8], role: Role, maxFrameSize: Int = 1 << 20,
                    allowed: ReservedBits = [], leniencies: WebSocketLeniencies = []) -> ParsedFrames {
    parseStreaming([bytes[...]], role: role, maxFrameSize: maxFrameSize, allowed: allowed, leniencies: leniencies)
}

/// Hex text to bytes, whitespace ignored.
func hex(_ text: String) -> [UInt8] {
    let digits = text.filter { !$0.isWhitespace }.map { UInt8(String($0), radix: 16)! }
    return stride(from: 0, to: digits.count, by: 2).map { digits[$0] << 4 | digits[$0 + 1] }
}
