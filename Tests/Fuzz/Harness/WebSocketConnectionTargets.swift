// Fuzz targets for the opening handshake (server validation) and the whole
// WebSocketConnection machine, both roles, fed arbitrary bytes from the start (the opening
// handshake included).
//
// Invariants: every chunking gives the same events and outbound bytes (the outbound buffer
// is taken after every event, so automatic pongs do not depend on the split); every
// protocol error carries a close code the RFC allows; everything we send after the
// handshake parses as valid frames for the peer's role; a connection that closed says so
// once, last; an accepted handshake answers with the right Sec-WebSocket-Accept and
// parameters we can set up; a refused one carries a 400/403/426 status.

@testable import WireWebSocket
@testable import WireHTTP1
import WireCore
import HTTPTypes

let fuzzKey = "dGhlIHNhbXBsZSBub25jZQ=="   // RFC 6455 §1.3's sample key

enum ConnectionEventRecord: Equatable, CustomStringConvertible {
    case event(String)
    /// Streamed bytes of a message: cut by the input's split, so merged.
    case fragment(WebSocketMessageKind, [UInt8])
    case error(String, close: UInt16)
    case usage(String)
    var description: String {
        switch self {
        case .event(let e): e
        case .fragment(let k, let b): "fragment(\(k), \(b.count))"
        case .error(let c, let close): "error(\(c), \(close))"
        case .usage(let u): "usage(\(u))"
        }
    }
}

/// Frames in `bytes` (what we sent), parsed as the peer would: no error allowed.
func checkOutboundFrames(_ bytes: [UInt8], peer: Role, compressed: Bool) {
    var parser = WebSocketFrameParser(role: peer, allowedReservedBits: compressed ? .rsv1 : [])
    var offset = 0
    var sawClose = false
    do throws(WebSocketProtocolError) {
        while true {
            let step = try parser.parse(bytes.span, from: offset)
            offset += step.consumed
            guard let event = step.event else { break }
            if case .head(let h) = event {
                check(!sawClose || h.opcode == .pong, "a frame after our close frame that is not a pong (§5.5.2)")
                if h.opcode == .close { sawClose = true }
            }
        }
    } catch {
        check(false, "we sent a frame the peer refuses: \(error) in \(hex(bytes.prefix(64)))")
    }
    check(parser.isIdle, "we sent a partial frame")
}

func runWebSocketConnection(role: Role, setup: UInt8, input: UnsafeBufferPointer<UInt8>, pieces: [Range<Int>])
    -> ([ConnectionEventRecord], [UInt8])
{
    var configuration = WebSocketConfiguration(
        limits: setup & 0x04 != 0 ? WebSocketLimits(maxFrameSize: 256, maxMessageSize: 1024) : .init(),
        delivery: setup & 0x08 != 0 ? .streaming : .wholeMessages)
    configuration.maskingKeys = .deterministic(seed: 7)
    let deflate = setup & 0x01 != 0
    var conn: WebSocketConnection
    if role == .server {
        let policy = WebSocketServerPolicy(origins: .allowAll, subprotocols: ["chat", "superchat"],
                                           deflate: deflate ? PerMessageDeflateServerPolicy() : nil)
        conn = WebSocketConnection(server: policy, scheme: "http", configuration: configuration)
    } else {
        let handshake = try! WebSocketClientHandshake(
            authority: "example.com", path: "/chat", subprotocols: ["chat"],
            deflate: deflate ? PerMessageDeflateClientOffer() : nil, key: fuzzKey)
        conn = WebSocketConnection(client: handshake, configuration: configuration)
    }
    var records: [ConnectionEventRecord] = []
    var outbound = conn.takeOutbound()
    let handshakeBytes = outbound.count
    var closed = false
    var openedWithDeflate = false

    func pump() {
        while true {
            let event: WebSocketEvent?
            do {
                event = try conn.nextEvent()
            } catch {
                check(allowedCloseCodes.contains(error.closeCode.rawValue), "close code \(error.closeCode.rawValue) for \(error.code)")
                // Streaming delivery hands out a piece only when all of it is valid, so how
                // much of a failed message was delivered depends on the split: drop it.
                if case .fragment? = records.last { records.removeLast() }
                records.append(.error(error.code.name, close: error.closeCode.rawValue))
                outbound += conn.takeOutbound()
                continue
            }
            guard let event else { break }
            check(!closed, "an event after closed: \(event)")
            switch event {
            case .upgradeRequest(let handshake):
                records.append(.event("upgrade \(handshake.key) \(handshake.offeredSubprotocols)"))
                do {
                    if setup & 0x10 != 0 { try conn.reject() } else { try conn.accept() }
                } catch {
                    records.append(.usage(error.code.name))
                }
                openedWithDeflate = conn.negotiation?.deflate != nil
            case .accepted(let negotiation):
                openedWithDeflate = negotiation.deflate != nil
                records.append(.event("accepted \(negotiation)"))
                // Say something back, so the send path runs after the handshake too.
                do { try conn.send(.text("hello")) } catch { records.append(.usage(error.code.name)) }
            case .text(let t):
                records.append(.event("text \(t.utf8.count)"))
            case .binary(let b):
                records.append(.event("binary \(b.count)"))
            case .fragment(let kind, let n):
                let bytes = conn.fragmentBytes
                check(bytes.count == n, "fragment of \(n) bytes lends \(bytes.count)")
                if case .fragment(kind, let previous)? = records.last {
                    records[records.count - 1] = .fragment(kind, previous + bytes)
                } else {
                    records.append(.fragment(kind, bytes))
                }
            case .closed(let closure):
                closed = true
                if case .protocolError(let e) = closure.cause {
                    check(allowedCloseCodes.contains(e.closeCode.rawValue), "closed with \(e)")
                    if case .fragment? = records.last { records.removeLast() }
                }
                records.append(.event("closed \(closure)"))
            default:
                records.append(.event("\(event)"))
            }
            outbound += conn.takeOutbound()
        }
    }

    for piece in pieces where !closed {
        conn.receive(UnsafeBufferPointer(rebasing: input[piece]).span)
        pump()
    }
    if !closed {
        conn.receiveEOF()
        pump()
        check(closed, "no closed event after EOF")
    }
    // What we sent after the handshake is valid for the peer.
    if role == .client {
        checkOutboundFrames(Array(outbound[handshakeBytes...]), peer: .server, compressed: openedWithDeflate)
    } else if let end = findHeadEnd(outbound), outbound.starts(with: Array("HTTP/1.1 101".utf8)) {
        checkOutboundFrames(Array(outbound[end...]), peer: .client, compressed: openedWithDeflate)
    }
    return (records, outbound)
}

func findHeadEnd(_ bytes: [UInt8]) -> Int? {
    guard bytes.count >= 4 else { return nil }
    for i in 0...(bytes.count - 4) where bytes[i] == 0x0D && bytes[i + 1] == 0x0A && bytes[i + 2] == 0x0D && bytes[i + 3] == 0x0A {
        return i + 4
    }
    return nil
}

func webSocketConnectionTarget(_ name: String, role: Role) -> FuzzTarget {
    FuzzTarget(name: name) { data in
        var reader = ByteReader(data)
        let setup = reader.byte()
        let input = reader.rest
        let ways = chunkings(count: input.count, seed: inputSeed(input))
        let reference = runWebSocketConnection(role: role, setup: setup, input: input, pieces: ways[0])
        for pieces in ways.dropFirst() {
            let other = runWebSocketConnection(role: role, setup: setup, input: input, pieces: pieces)
            check(other.0 == reference.0, "chunking changed the events: \(diffDescription(reference.0, other.0))")
            check(other.1 == reference.1, "chunking changed the outbound bytes")
        }
    }
}

let wsConnectionServerTarget = webSocketConnectionTarget("ws-connection-server", role: .server)
let wsConnectionClientTarget = webSocketConnectionTarget("ws-connection-client", role: .client)

/// The server's validation of an Upgrade request, from raw request bytes.
let wsHandshakeServerTarget = FuzzTarget(name: "ws-handshake-server") { data in
    var reader = ByteReader(data)
    let setup = reader.byte()
    var parser = HTTP1Parser(parsing: .request)
    let input = reader.rest
    guard let step = try? parser.parse(input), case .requestHead(let head)? = step.event else { return }
    let policy = WebSocketServerPolicy(
        origins: setup & 1 != 0 ? .allowAll : .sameOrigin, subprotocols: setup & 2 != 0 ? ["chat", "v2.chat"] : [],
        deflate: setup & 4 != 0 ? PerMessageDeflateServerPolicy() : nil)
    let handshake: WebSocketServerHandshake
    do throws(WebSocketHandshakeError) {
        handshake = try WebSocketServerHandshake(validating: head, scheme: "https", policy: policy)
    } catch {
        let status = error.response.status.code
        check([400, 403, 426].contains(status), "refusal status \(status) for \(error.code)")
        if let hint = error.statusHint { check(hint.code == status, "hint \(hint) but response \(status)") }
        return
    }
    check(WebSocketHandshake.isValidKey(handshake.key), "accepted key \(handshake.key)")
    if let chosen = handshake.selectedSubprotocol {
        check(handshake.offeredSubprotocols.contains(chosen) && policy.subprotocols.contains(chosen), "chose \(chosen)")
    }
    let acceptance: WebSocketServerAcceptance
    do { acceptance = try handshake.accept() } catch {
        check(false, "accepting a validated handshake failed: \(error)")
        return
    }
    let response = acceptance.response
    check(response.status.code == 101, "status \(response.status)")
    check(response.headerFields[.secWebSocketAccept] == WebSocketHandshake.acceptValue(forKey: handshake.key), "wrong accept value")
    if let parameters = acceptance.negotiation.deflate {
        check((try? PerMessageDeflate(parameters: parameters, role: .server)) != nil, "cannot set up \(parameters)")
    }
    // The 101 we write parses back as a response with the same fields.
    let bytes = acceptance.responseBytes
    var responseParser = HTTP1Parser(parsing: .response)
    responseParser.expectResponse(to: .get)
    let parsed = bytes.withUnsafeBufferPointer { try? responseParser.parse($0) }
    guard case .responseHead(let back)? = parsed?.event else {
        check(false, "our 101 does not parse: \(hex(bytes))")
        return
    }
    check(back.status == 101, "our 101 parses as \(back.status)")
    check((try? back.httpResponse())?.headerFields == response.headerFields, "our 101's fields change when parsed")
}
