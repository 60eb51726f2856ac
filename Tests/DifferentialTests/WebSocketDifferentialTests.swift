import Testing
import TestSupport
import WireCore
import WireWebSocket
import NIOCore
import NIOEmbedded
import NIOWebSocket

// Our frame parser against NIOWebSocket's WebSocketFrameDecoder on generated frames
// (valid ones, and ones that break one rule). NIO's decoder checks only the frame length
// and the control-frame rules; masking, opcodes, RSV bits and length encodings are left to
// other handlers. Our parser, configured as loosely as it goes (every RSV bit allowed,
// non-minimal lengths allowed), must read the same frames and refuse the same inputs,
// except for the deliberate differences below (Spec/websocket.md, "Differences from
// NIOWebSocket").

struct DiffFrame: Equatable, CustomStringConvertible {
    var fin: Bool
    var rsv: UInt8
    var opcode: UInt8
    var mask: [UInt8]?
    var payload: [UInt8]
    var description: String { "frame(fin: \(fin), rsv: \(rsv), opcode: \(opcode), masked: \(mask != nil), \(payload.count) bytes)" }
}

struct DiffFrames: Equatable, CustomStringConvertible {
    var frames: [DiffFrame]
    var error: String?
    /// Our parser only: the input ended inside a frame header.
    var midHeader = false
    var description: String { "\(frames.count) frames, error: \(error ?? "none")" }
}

let differentialMaxFrameSize = 1 << 16

func ourFrames(_ input: [UInt8], role: Role) -> DiffFrames {
    var parser = WebSocketFrameParser(role: role, limits: WebSocketLimits(maxFrameSize: differentialMaxFrameSize),
                                      allowedReservedBits: .all, allowNonMinimalLengths: true)
    var frames: [DiffFrame] = []
    var header: WebSocketFrameHeader? = nil
    var payload: [UInt8] = []
    var offset = 0
    var inFrame = false
    do throws(WebSocketProtocolError) {
        while true {
            let step = try parser.parse(input.span, from: offset)
            offset += step.consumed
            guard let event = step.event else { break }
            switch event {
            case .head(let h):
                inFrame = true
                header = h
                payload = []
            case .payload(let piece):
                piece.unmask(input.span, appendingTo: &payload)
            case .end:
                inFrame = false
                let h = header!
                frames.append(DiffFrame(
                    fin: h.fin, rsv: h.reserved.rawValue >> 4, opcode: h.opcode.rawValue,
                    mask: h.maskingKey?.bytes, payload: payload))
            }
        }
    } catch {
        return DiffFrames(frames: frames, error: error.code.name)
    }
    return DiffFrames(frames: frames, error: nil, midHeader: !inFrame && !parser.isIdle)
}

private final class FrameCollector: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = NIOWebSocket.WebSocketFrame
    var frames: [DiffFrame] = []
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let f = unwrapInboundIn(data)
        let rsv = (f.rsv1 ? 4 : 0) | (f.rsv2 ? 2 : 0) | (f.rsv3 ? 1 : 0)
        frames.append(DiffFrame(fin: f.fin, rsv: UInt8(rsv), opcode: UInt8(webSocketOpcode: f.opcode),
                                mask: f.maskKey.map { Array($0) }, payload: Array(f.unmaskedData.readableBytesView)))
    }
}

func nioFrames(_ input: [UInt8]) -> DiffFrames {
    let channel = EmbeddedChannel()
    let collector = FrameCollector()
    try! channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: differentialMaxFrameSize)))
    try! channel.pipeline.syncOperations.addHandler(collector)
    var refusal: String? = nil
    do {
        try channel.writeInbound(channel.allocator.buffer(bytes: input))
    } catch {
        refusal = "\(error)"
    }
    _ = try? channel.finish(acceptAlreadyClosed: true)
    return DiffFrames(frames: collector.frames, error: refusal)
}

/// How a generated frame breaks the rules, if it does.
enum FrameFlaw: CaseIterable {
    case none, reservedOpcode, wrongMasking, reservedBits, nonMinimalLength, fragmentedControl, longControl,
         tooLarge, highBit
}

/// One frame's bytes for a receiver in `role`, with the given flaw.
func generateFrame(role: Role, flaw: FrameFlaw, _ rng: inout SplitMix64) -> [UInt8] {
    let dataOpcodes: [UInt8] = [0x0, 0x1, 0x2]
    let controlOpcodes: [UInt8] = [0x8, 0x9, 0xA]
    var control = rng.chance(30)
    if flaw == .fragmentedControl || flaw == .longControl { control = true }
    var opcode = control ? rng.pick(controlOpcodes) : rng.pick(dataOpcodes)
    if flaw == .reservedOpcode { opcode = rng.pick([0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF]) }
    var fin = control || rng.chance(70)
    if flaw == .fragmentedControl { fin = false }
    let rsv: UInt8 = flaw == .reservedBits ? UInt8(1 + rng.below(7)) : 0
    var length: Int
    switch rng.below(10) {
    case 0..<6: length = rng.below(126)
    case 6..<9: length = 126 + rng.below(400)
    default: length = 65536 + rng.below(10)
    }
    if control { length = rng.below(126) }
    if flaw == .longControl { length = 126 + rng.below(100) }
    if flaw == .tooLarge { length = differentialMaxFrameSize + 1 + rng.below(1000) }
    let masked = (role == .server) != (flaw == .wrongMasking)
    var bytes: [UInt8] = [(fin ? 0x80 : 0) | rsv << 4 | opcode]
    let maskBit: UInt8 = masked ? 0x80 : 0
    let encoding: Int   // 0: 7-bit, 2: 16-bit, 8: 64-bit
    if flaw == .highBit { encoding = 8 } else if flaw == .nonMinimalLength {
        encoding = length <= 125 ? rng.pick([2, 8]) : 8
        if length > 0xFFFF { length = rng.below(0x10000) }
    } else {
        encoding = length <= 125 ? 0 : length <= 0xFFFF ? 2 : 8
    }
    switch encoding {
    case 0: bytes.append(maskBit | UInt8(length))
    case 2: bytes += [maskBit | 126, UInt8(length >> 8), UInt8(length & 0xFF)]
    default:
        var value = UInt64(length)
        if flaw == .highBit { value |= 1 << 63 }
        bytes.append(maskBit | 127)
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8((value >> UInt64(shift)) & 0xFF)) }
    }
    if masked { for _ in 0..<4 { bytes.append(UInt8(rng.below(256))) } }
    if flaw != .tooLarge && flaw != .highBit {
        for _ in 0..<length { bytes.append(UInt8(rng.below(256))) }
    }
    return bytes
}

/// The deliberate differences, each listed in Spec/websocket.md ("Differences from NIOWebSocket").
enum WebSocketDifference: String {
    /// RFC 6455 §5.2: reserved opcodes fail the connection; NIO's decoder passes them on.
    case reservedOpcode = "D-WS1: we refuse reserved opcodes (1002), NIO's decoder passes them on"
    /// RFC 6455 §5.1: a server must fail on an unmasked frame, a client on a masked one;
    /// NIO's decoder accepts both.
    case masking = "D-WS2: we enforce the masking rule for the role (1002), NIO's decoder does not"
    /// A frame that breaks two rules (e.g. a control frame with a 64-bit length over the
    /// limit): both refuse it, each naming the rule it checks first.
    case checkOrder = "D-WS3: both refuse the same frame, naming different rules"
    /// A header cut short after its length but before its masking key: NIO's decoder refuses
    /// an over-long length at once, our parser judges a header when all of it (at most 14
    /// bytes) is in, so it is still waiting.
    case lengthBeforeMask = "D-WS4: NIO refuses an over-long length before the masking key arrives"
}

func deliberateWebSocketDifference(ours: DiffFrames, nio: DiffFrames) -> WebSocketDifference? {
    let k = zip(ours.frames, nio.frames).prefix(while: { $0 == $1 }).count
    if ours.frames == nio.frames, ours.error == nil, ours.midHeader, nio.error == "invalidFrameLength" {
        return .lengthBeforeMask
    }
    guard k == ours.frames.count, let code = ours.error else { return nil }
    if ours.frames == nio.frames, nio.error != nil, equivalentErrors[code] != nil { return .checkOrder }
    switch code {
    case "reserved-opcode": return .reservedOpcode
    case "unmasked-frame", "masked-frame": return .masking
    default: return nil
    }
}

/// Our error codes and the NIOWebSocketError each corresponds to.
let equivalentErrors: [String: String] = [
    "frame-too-large": "invalidFrameLength",
    "payload-length-high-bit": "invalidFrameLength",
    "fragmented-control-frame": "fragmentedControlFrame",
    "control-frame-too-long": "multiByteControlFrameLength",
]

@Suite struct WebSocketDifferentialTests {
    @Test(arguments: [Role.server, Role.client])
    func framesAgreeWithNIOWebSocket(role: Role) {
        var rng = SplitMix64(seed: DifferentialRun.seed &+ (role == .server ? 0 : 1))
        var agreed = 0
        var deliberate: [String: Int] = [:]
        var unexplained: [String] = []
        let count = DifferentialRun.count(2000)
        for _ in 0..<count {
            var input: [UInt8] = []
            for _ in 0..<(1 + rng.below(4)) {
                let flaw: FrameFlaw = rng.chance(60) ? .none : rng.pick(FrameFlaw.allCases)
                input += generateFrame(role: role, flaw: flaw, &rng)
            }
            if rng.chance(20) { input.removeLast(rng.below(Swift.min(input.count, 20))) }   // cut short
            let ours = ourFrames(input, role: role)
            let nio = nioFrames(input)
            if ours.frames == nio.frames, ours.error.flatMap({ equivalentErrors[$0] }) == nio.error ||
                (ours.error == nil && nio.error == nil) {
                agreed += 1
                continue
            }
            if let reason = deliberateWebSocketDifference(ours: ours, nio: nio) {
                deliberate[reason.rawValue, default: 0] += 1
            } else if unexplained.count < 20 {
                unexplained.append("\(hexString(input.prefix(64)))\n    ours: \(ours) \(ours.frames)\n    nio:  \(nio) \(nio.frames)")
            }
        }
        print("WebSocket differential (\(role)): \(agreed) of \(count) agree; deliberate differences:")
        for (reason, n) in deliberate.sorted(by: { $0.key < $1.key }) { print("  \(n)× \(reason)") }
        #expect(unexplained.isEmpty, "\(unexplained.count) unexplained disagreements:\n\(unexplained.joined(separator: "\n"))")
    }
}
