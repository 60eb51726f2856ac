import HTTPTypes
import TestSupport
import WireCore
import WireWebSocket

/// What a test saw from `nextEvent()`: an event (fragments with their bytes) or a thrown error.
enum Seen: Hashable, CustomStringConvertible {
    case event(WebSocketEvent)
    case fragment(WebSocketMessageKind, [UInt8])
    case error(WebSocketProtocolError)

    var description: String {
        switch self {
        case .event(let event): "\(event)"
        case .fragment(let kind, let bytes): "fragment(\(kind), \(bytes.count) bytes)"
        case .error(let error): "\(error)"
        }
    }
}

extension WebSocketConnectionState {
    /// The closure of a closed state, `nil` in any other (for `#require`).
    var closure: WebSocketClosure? {
        if case .closed(let closure) = self { return closure }
        return nil
    }
}

/// Every event `connection` has now, until `nil`.
func drain(_ connection: inout WebSocketConnection, limit: Int = 100_000) -> [Seen] {
    var seen: [Seen] = []
    for _ in 0..<limit {
        do {
            guard let event = try connection.nextEvent() else { return seen }
            if case .fragment(let kind, let count) = event {
                let bytes = connection.fragmentBytes
                precondition(bytes.count == count)
                seen.append(.fragment(kind, bytes))
            } else {
                seen.append(.event(event))
            }
        } catch {
            seen.append(.error(error))
        }
    }
    fatalError("nextEvent never returned nil")
}

/// Feeds `bytes` in the given pieces, draining after each.
func feed(_ connection: inout WebSocketConnection, _ pieces: [ArraySlice<UInt8>]) -> [Seen] {
    var seen: [Seen] = []
    for piece in pieces {
        let bytes = Array(piece)
        connection.receive(bytes.span)
        seen += drain(&connection)
    }
    return seen
}

/// Feeds `bytes` whole, then drains.
func feed(_ connection: inout WebSocketConnection, _ bytes: [UInt8]) -> [Seen] {
    feed(&connection, [bytes[...]])
}

/// Joins the streaming events of a message back into whole-message events, so streaming and
/// whole delivery can be compared.
func joinedFragments(_ seen: [Seen]) -> [Seen] {
    var result: [Seen] = []
    var current: [UInt8] = []
    for item in seen {
        switch item {
        case .event(.messageStart):
            current = []
        case .fragment(_, let bytes):
            current += bytes
        case .event(.messageEnd(let kind)):
            result.append(.event(kind == .text ? .text(String(decoding: current, as: UTF8.self)) : .binary(current)))
            current = []
        default:
            result.append(item)
        }
    }
    return result
}

/// A client and a server connection wired together in memory (h11's `ConnectionPair`).
struct ConnectionPair: ~Copyable {
    var client: WebSocketConnection
    var server: WebSocketConnection
    /// Cuts each transfer into pieces of at most this many bytes (`nil`: whole).
    var pieceSize: Int?

    /// Both ends running the handshake; `handshake()` completes it.
    init(
        client handshake: WebSocketClientHandshake, policy: WebSocketServerPolicy = .init(origins: .allowAll),
        clientConfiguration: WebSocketConfiguration = .testing(seed: 1),
        serverConfiguration: WebSocketConfiguration = .testing(seed: 2), pieceSize: Int? = nil
    ) {
        client = WebSocketConnection(client: handshake, configuration: clientConfiguration)
        server = WebSocketConnection(server: policy, configuration: serverConfiguration)
        self.pieceSize = pieceSize
    }

    /// Both ends open already (negotiation done elsewhere).
    init(
        negotiation: WebSocketNegotiation = .init(), clientConfiguration: WebSocketConfiguration = .testing(seed: 1),
        serverConfiguration: WebSocketConfiguration = .testing(seed: 2), pieceSize: Int? = nil
    ) {
        client = openConnection(.client, negotiation, clientConfiguration)
        server = openConnection(.server, negotiation, serverConfiguration)
        self.pieceSize = pieceSize
    }

    private func pieces(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        guard let size = pieceSize, !bytes.isEmpty else { return [bytes[...]] }
        return stride(from: 0, to: bytes.count, by: size).map { bytes[$0..<min(bytes.count, $0 + size)] }
    }

    /// Moves the client's outbound bytes to the server and returns what the server saw.
    mutating func toServer() -> [Seen] {
        let bytes = client.takeOutbound()
        return feed(&server, pieces(bytes))
    }

    /// Moves the server's outbound bytes to the client and returns what the client saw.
    mutating func toClient() -> [Seen] {
        let bytes = server.takeOutbound()
        return feed(&client, pieces(bytes))
    }

    /// Runs the handshake: request to the server, accepted with `headerFields`, 101 to the client.
    mutating func handshake(headerFields: HTTPFields = [:]) throws -> (server: [Seen], client: [Seen]) {
        let serverSeen = toServer()
        try server.accept(headerFields: headerFields)
        let clientSeen = toClient()
        return (serverSeen, clientSeen)
    }
}

func openConnection(
    _ role: Role, _ negotiation: WebSocketNegotiation = .init(), _ configuration: WebSocketConfiguration = .testing(seed: 3)
) -> WebSocketConnection {
    do {
        return try WebSocketConnection(role: role, negotiation: negotiation, configuration: configuration)
    } catch {
        fatalError("\(error)")
    }
}

extension WebSocketConfiguration {
    /// Deterministic masking keys, no timeouts unless asked.
    static func testing(
        seed: UInt64, delivery: Delivery = .wholeMessages, limits: WebSocketLimits = .init(), fragmentSize: Int = .max
    ) -> WebSocketConfiguration {
        var configuration = WebSocketConfiguration(limits: limits, delivery: delivery, fragmentSize: fragmentSize)
        configuration.maskingKeys = .deterministic(seed: seed)
        return configuration
    }
}

/// A fixed key for handshake tests (the RFC 6455 example).
let exampleKey = "dGhlIHNhbXBsZSBub25jZQ=="

func clientHandshake(
    subprotocols: [String] = [], deflate: PerMessageDeflateClientOffer? = nil, origin: String? = nil
) -> WebSocketClientHandshake {
    do {
        return try WebSocketClientHandshake(
            authority: "example.com", path: "/chat", origin: origin, subprotocols: subprotocols, deflate: deflate,
            key: exampleKey)
    } catch {
        fatalError("\(error)")
    }
}

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// Deterministic payloads.
func payload(_ count: Int, seed: UInt64 = 7) -> [UInt8] {
    var rng = SplitMix64(seed: seed)
    var bytes = [UInt8](repeating: 0, count: (count + 7) / 8 * 8)
    bytes.withUnsafeMutableBytes { raw in
        for i in 0..<(raw.count / 8) { raw.storeBytes(of: rng.next(), toByteOffset: i * 8, as: UInt64.self) }
    }
    bytes.removeLast(bytes.count - count)
    return bytes
}

/// Frames written by hand, as a peer would send them.
func frame(
    _ opcode: WebSocketOpcode, _ payload: [UInt8] = [], fin: Bool = true, reserved: ReservedBits = [], masked: Bool
) -> [UInt8] {
    var out: [UInt8] = []
    let header = WebSocketFrameHeader(
        fin: fin, reserved: reserved, opcode: opcode, maskingKey: masked ? WebSocketMaskingKey(1, 2, 3, 4) : nil,
        payloadLength: payload.count)
    do {
        try header.write(payload: payload.span, into: &out)
    } catch {
        fatalError("\(error)")
    }
    return out
}

func closePayload(_ code: UInt16, _ reason: String = "") -> [UInt8] {
    [UInt8(code >> 8), UInt8(code & 0xFF)] + Array(reason.utf8)
}

/// Parses what a connection wrote, as its peer would (whole frames, masking keys dropped).
func frames(_ bytes: [UInt8], sentBy role: Role) -> [WebSocketFrame] {
    let parsed = parseStreaming(bytes, role: role.peer, allowed: .rsv1)
    if let error = parsed.error { fatalError("unparsable output: \(error)") }
    return parsed.frames.map { WebSocketFrame(fin: $0.fin, reserved: $0.reserved, opcode: $0.opcode, payload: $0.payload) }
}
