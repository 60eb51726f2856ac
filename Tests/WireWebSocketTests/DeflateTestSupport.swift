import Testing
import TestSupport
import WireCore
@testable import WireWebSocket

// permessage-deflate helpers shared by the deflate, composition, hibernation, Python and fuzz
// regression tests.

/// Receives all of `chunks` through a receive pipeline and returns the message events, or the
/// error.
func decodeMessages(
    _ chunks: [ArraySlice<UInt8>], role: Role = .client, deflate: PerMessageDeflateParameters? = .init(),
    limits: WebSocketLimits = .init()
) -> Result<[WebSocketMessageEvent], WebSocketProtocolError> {
    var receiver = try! WebSocketReceiver(role: role, deflate: deflate, configuration: WebSocketConfiguration(limits: limits))
    var events: [WebSocketMessageEvent] = []
    do throws(WebSocketProtocolError) {
        for chunk in chunks {
            let bytes = Array(chunk)
            receiver.receive(bytes.span)
            while let event = try receiver.nextEvent() { events.append(event) }
        }
    } catch {
        return .failure(error)
    }
    return .success(events)
}

/// A configuration that compresses everything, so the RFC examples come out byte for byte.
let compressAll = PerMessageDeflateConfiguration(minimumSizeToCompress: 0, skipIncompressible: false)

func makeDeflate(
    _ parameters: PerMessageDeflateParameters = .init(), role: Role = .server,
    _ configuration: PerMessageDeflateConfiguration = compressAll
) -> PerMessageDeflate {
    try! PerMessageDeflate(parameters: parameters, role: role, configuration: configuration)
}

func compressed(_ pmd: inout PerMessageDeflate, _ message: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    #expect(pmd.compressMessage(message.span, into: &out))
    return out
}

func inflated(
    _ pmd: inout PerMessageDeflate, _ pieces: [[UInt8]], limit: Int = 1 << 30
) throws(WebSocketProtocolError) -> [UInt8] {
    var out: [UInt8] = []
    var left = limit
    for (i, piece) in pieces.enumerated() {
        left -= try pmd.decompress(piece.span, fin: i == pieces.count - 1, limit: left, into: &out)
    }
    return out
}

/// Text-like messages with repeats (so back-references happen at many distances).
func sampleMessage(_ rng: inout SplitMix64) -> [UInt8] {
    let words = ["{\"id\":", "\"name\":\"", "wirecodec", "deflate", "}", ",", " ", "window", "12345"]
    var out: [UInt8] = []
    let count = Int(rng.next() % 400)
    for _ in 0..<count { out += Array(words[Int(rng.next() % UInt64(words.count))].utf8) }
    if rng.next() % 4 == 0 { out += (0..<Int(rng.next() % 300)).map { _ in UInt8(truncatingIfNeeded: rng.next()) } }
    return out
}
