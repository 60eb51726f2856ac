import HTTPTypes
import TestSupport
import Testing
import WireCore
import WireWebSocket

@Suite struct ConnectionConversationTests {
    @Test func handshakeThenEchoThenClose() throws {
        var pair = ConnectionPair(client: clientHandshake())
        let (serverSeen, clientSeen) = try pair.handshake()
        #expect(serverSeen.count == 1)
        guard case .event(.upgradeRequest(let request))? = serverSeen.first else {
            Issue.record("no upgrade request: \(serverSeen)")
            return
        }
        #expect(request.request.path == "/chat")
        #expect(clientSeen == [.event(.accepted(WebSocketNegotiation()))])
        #expect(pair.client.state == .open)
        #expect(pair.server.state == .open)

        try pair.client.send(.text("hello"))
        #expect(pair.toServer() == [.event(.text("hello"))])
        try pair.server.send(.binary([1, 2, 3]))
        #expect(pair.toClient() == [.event(.binary([1, 2, 3]))])

        try pair.client.send(.close(.normalClosure, reason: "bye"))
        #expect(pair.client.state == .closing(sent: WebSocketClose(code: .normalClosure, reason: "bye")))
        let serverClose = pair.toServer()
        let expectedServer = WebSocketClosure(
            cause: .closeReceived, received: WebSocketClose(code: .normalClosure, reason: "bye"),
            sent: WebSocketClose(code: .normalClosure))
        #expect(serverClose == [.event(.closed(expectedServer))])
        #expect(pair.server.transport == .closeNow)
        let clientClose = pair.toClient()
        let expectedClient = WebSocketClosure(
            cause: .closeAnswered, received: WebSocketClose(code: .normalClosure),
            sent: WebSocketClose(code: .normalClosure, reason: "bye"))
        #expect(clientClose == [.event(.closed(expectedClient))])
        #expect(pair.client.transport == .waitForPeerToClose)
        pair.client.receiveEOF()
        #expect(pair.client.transport == .closeNow)
        #expect(expectedClient.wasClean && expectedClient.code == .normalClosure)
    }
}

/// A deflate setting for both ends of an in-memory conversation.
struct DeflateCase: Sendable, CustomTestStringConvertible {
    var name: String
    var offer: PerMessageDeflateClientOffer?
    var policy: PerMessageDeflateServerPolicy?
    var testDescription: String { name }

    static let all: [DeflateCase] = [
        DeflateCase(name: "no deflate", offer: nil, policy: nil),
        DeflateCase(name: "offered, server off", offer: .init(), policy: nil),
        DeflateCase(name: "defaults", offer: .init(), policy: .init()),
        DeflateCase(name: "server_no_context_takeover asked", offer: .init([.init(requestServerNoContextTakeover: true)]), policy: .init()),
        DeflateCase(name: "client_no_context_takeover", offer: .init([.init(clientNoContextTakeover: true)]), policy: .init()),
        DeflateCase(name: "server demands client_no_context_takeover", offer: .init(), policy: .init(clientNoContextTakeover: true)),
        DeflateCase(name: "server_max_window_bits=9 asked", offer: .init([.init(requestServerMaxWindowBits: 9)]), policy: .init()),
        DeflateCase(name: "server window 10 by policy", offer: .init(), policy: .init(maxServerWindowBits: 10)),
        DeflateCase(name: "client_max_window_bits=9", offer: .init([.init(clientMaxWindowBits: .limit(9))]), policy: .init()),
        DeflateCase(name: "client window 9 by policy", offer: .init(), policy: .init(maxClientWindowBits: 9)),
        DeflateCase(name: "everything", offer: .init([.init(requestServerNoContextTakeover: true, clientNoContextTakeover: true,
                                                            requestServerMaxWindowBits: 11, clientMaxWindowBits: .limit(12))]),
                    policy: .init(maxServerWindowBits: 12, maxClientWindowBits: 10)),
    ]
}

extension ConnectionConversationTests {
    static let sizes = [0, 1, 125, 126, 127, 1000, 65535, 65536, 200_000]

    /// Messages of all sizes both ways, whole and streamed, split into pieces of several
    /// sizes, with and without each permessage-deflate setting.
    @Test(arguments: DeflateCase.all, [WebSocketConfiguration.Delivery.wholeMessages, .streaming])
    func messagesOfAllSizes(deflate: DeflateCase, delivery: WebSocketConfiguration.Delivery) throws {
        for pieceSize in [nil, 1000, 7] as [Int?] {
            var pair = ConnectionPair(
                client: clientHandshake(deflate: deflate.offer), policy: .init(origins: .allowAll, deflate: deflate.policy),
                clientConfiguration: .testing(seed: 1, delivery: delivery, fragmentSize: pieceSize == 7 ? 300 : .max),
                serverConfiguration: .testing(seed: 2, delivery: delivery), pieceSize: pieceSize)
            _ = try pair.handshake()
            let expectDeflate = deflate.offer != nil && deflate.policy != nil
            #expect((pair.client.negotiation?.deflate != nil) == expectDeflate)
            #expect(pair.client.negotiation == pair.server.negotiation)
            let sizes = Self.sizes.filter { $0 <= (pieceSize == 1 ? 1000 : pieceSize == 7 ? 2000 : .max) }
            for (index, size) in sizes.enumerated() {
                let data = payload(size, seed: UInt64(index))
                let text = String(repeating: "é€x", count: size / 6)
                try pair.client.send(.binary(data))
                try pair.client.send(.text(text))
                let atServer = joinedFragments(pair.toServer())
                #expect(atServer == [.event(.binary(data)), .event(.text(text))], "size \(size), pieces \(pieceSize ?? 0)")
                try pair.server.send(.text(text))
                try pair.server.send(.binary(data))
                let atClient = joinedFragments(pair.toClient())
                #expect(atClient == [.event(.text(text)), .event(.binary(data))], "size \(size), pieces \(pieceSize ?? 0)")
            }
            try pair.server.send(.close(.goingAway, reason: "done"))
            #expect(pair.toClient().last == .event(.closed(WebSocketClosure(
                cause: .closeReceived, received: WebSocketClose(code: .goingAway, reason: "done"),
                sent: WebSocketClose(code: .goingAway)))))
            #expect(pair.toServer().count == 1)
            #expect(pair.server.state.isClosed && pair.client.state.isClosed)
        }
    }

    @Test func subprotocolIsAgreedThroughTheConnection() throws {
        var pair = ConnectionPair(
            client: clientHandshake(subprotocols: ["v1", "v2"]), policy: .init(origins: .allowAll, subprotocols: ["v2"]))
        let (_, clientSeen) = try pair.handshake()
        #expect(clientSeen == [.event(.accepted(WebSocketNegotiation(subprotocol: "v2")))])
        #expect(pair.server.negotiation?.subprotocol == "v2")
        #expect(pair.client.negotiation?.subprotocol == "v2")
    }

    /// §4.2.2/§5: frames may follow the head in the same read, both ways.
    @Test func framesInTheSameReadAsTheHandshake() throws {
        var client = WebSocketConnection(client: clientHandshake(), configuration: .testing(seed: 1))
        var server = WebSocketConnection(server: .init(origins: .allowAll), configuration: .testing(seed: 2))
        var request = client.takeOutbound()
        // A frame written by hand right behind the request (an impatient client).
        request += try sent(.text, bytes("early"), by: .client)
        var seen = feed(&server, request)
        #expect(seen.count == 1)
        #expect(server.bufferedByteCount == 11)
        try server.accept()
        seen = drain(&server)
        #expect(seen == [.event(.text("early"))])

        var response = server.takeOutbound()
        try server.send(.text("welcome"))
        try server.send(.ping([1]))
        response += server.takeOutbound()
        seen = feed(&client, response)
        #expect(seen == [.event(.accepted(WebSocketNegotiation())), .event(.text("welcome")), .event(.ping([1]))])
    }

    /// The whole client → server stream (handshake and frames) split at every point gives the
    /// same events as the unsplit stream.
    @Test(arguments: [false, true])
    func dripFedClientStream(deflate: Bool) throws {
        var client = WebSocketConnection(
            client: clientHandshake(deflate: deflate ? .init() : nil), configuration: .testing(seed: 1, fragmentSize: 40))
        var reference = WebSocketConnection(
            server: .init(origins: .allowAll, deflate: deflate ? .init() : nil), configuration: .testing(seed: 2))
        var stream = client.takeOutbound()
        _ = feed(&reference, stream)
        try reference.accept()
        _ = feed(&client, reference.takeOutbound())
        let handshakeLength = stream.count
        try client.send(.text(String(repeating: "héllo ", count: 30)))
        try client.send(.ping(bytes("p")))
        try client.send(.binary(payload(100)))
        try client.send(.fragment(.text, bytes("ab"), isFinal: false))
        try client.send(.fragment(.text, bytes("cd"), isFinal: true))
        try client.send(.close(.normalClosure, reason: ""))
        stream += client.takeOutbound()
        let expected = drain(&reference) + feed(&reference, Array(stream[handshakeLength...]))
        #expect(expected.count == 5)

        for chunking in Chunkings.standard(of: stream, randomCount: 8).prefix(400) {
            var server = WebSocketConnection(
                server: .init(origins: .allowAll, deflate: deflate ? .init() : nil), configuration: .testing(seed: 2))
            var seen: [Seen] = []
            for piece in chunking {
                server.receive(Array(piece).span)
                seen += drain(&server)
                if server.pendingUpgradeRequest != nil {
                    try server.accept()
                    seen += drain(&server)
                }
            }
            #expect(Array(seen.dropFirst()) == expected)
        }
    }
}
