import Testing
import TestSupport
import WireCore
@testable import WireWebSocket

/// Prepared messages (issue 19): one message framed once per class of negotiated parameters
/// and compressed once for every server that agreed `server_no_context_takeover`; every
/// connection of a class writes the same bytes, which are the bytes it would have written
/// itself, and its peer reads the message from them.
@Suite struct PreparedMessageTests {
    static let long = String(repeating: "{\"id\":1,\"data\":\"compress me\"} ", count: 40)

    /// The bytes a server connection writes for `text` by itself.
    static func ownBytes(_ negotiation: WebSocketNegotiation, _ configuration: WebSocketConfiguration, _ text: String) throws -> [UInt8] {
        var connection = openConnection(.server, negotiation, configuration)
        try connection.send(.text(text))
        return connection.takeOutbound()
    }

    /// Sends `message` on `connection` as a transport would: its own bytes, then the shared
    /// frames of its class (or what it encoded itself).
    static func wire(_ connection: inout WebSocketConnection, _ message: WebSocketPreparedMessage) throws -> (bytes: [UInt8], frameClass: WebSocketFrameClass?) {
        let frameClass = try connection.send(message)
        var bytes = connection.takeOutbound()
        if let frameClass { bytes += message.frames(for: frameClass) }
        return (bytes, frameClass)
    }

    @Test(arguments: [
        WebSocketNegotiation(),
        WebSocketNegotiation(deflate: PerMessageDeflateParameters(serverNoContextTakeover: true)),
        WebSocketNegotiation(deflate: PerMessageDeflateParameters(serverNoContextTakeover: true, serverMaxWindowBits: 10)),
    ])
    func sharedFramesAreTheBytesTheConnectionWouldWriteAndItsPeerReads(negotiation: WebSocketNegotiation) throws {
        for text in ["tiny", Self.long] {
            for fragmentSize in [Int.max, 100] {
                let configuration = WebSocketConfiguration.testing(seed: 9, fragmentSize: fragmentSize)
                let message = WebSocketPreparedMessage(text: text)
                var server = openConnection(.server, negotiation, configuration)
                let (bytes, frameClass) = try Self.wire(&server, message)
                #expect(frameClass != nil, "a server without context takeover shares its frames")
                #expect(bytes == (try Self.ownBytes(negotiation, configuration, text)))
                var client = openConnection(.client, negotiation)
                #expect(feed(&client, bytes) == [.event(.text(text))])
                #expect(frameClass?.isCompressed == (negotiation.deflate != nil && text.utf8.count >= 64))
            }
        }
    }

    /// Connections with the same parameters share one form; a small message goes uncompressed
    /// and so shares the plain class with connections without deflate.
    @Test func classesAreSharedAcrossConnections() throws {
        let plain = WebSocketNegotiation()
        let reset = WebSocketNegotiation(deflate: PerMessageDeflateParameters(serverNoContextTakeover: true))
        let message = WebSocketPreparedMessage(text: Self.long)
        var classes: Set<WebSocketFrameClass> = []
        for negotiation in [plain, reset, plain, reset, reset] {
            var server = openConnection(.server, negotiation)
            let frameClass = try #require(try server.send(message))
            _ = message.frames(for: frameClass)
            classes.insert(frameClass)
        }
        #expect(classes.count == 2)
        #expect(message.preparedClasses == classes)
        let small = WebSocketPreparedMessage(text: "{}")
        var a = openConnection(.server, plain)
        var b = openConnection(.server, reset)
        #expect(try a.send(small) == b.send(small))
    }

    /// A client masks each frame, and a compressor that takes over its context compresses
    /// with the connection's history: both encode the message themselves, into their own
    /// outbound bytes, and the peer reads it.
    @Test func clientsAndContextTakeoverEncodeThemselves() throws {
        let message = WebSocketPreparedMessage(text: Self.long)
        var client = openConnection(.client)
        #expect(try client.send(message) == nil)
        var server = openConnection(.server)
        #expect(feed(&server, client.takeOutbound()) == [.event(.text(Self.long))])

        var pair = ConnectionPair(negotiation: WebSocketNegotiation(deflate: PerMessageDeflateParameters()))
        for _ in 0..<3 {
            #expect(try pair.server.send(message) == nil)
            #expect(pair.toClient() == [.event(.text(Self.long))])
        }
    }

    @Test func refusedLikeAnyMessage() throws {
        let message = WebSocketPreparedMessage(binary: [1, 2, 3])
        var server = openConnection(.server)
        try server.send(.fragment(.binary, [0], isFinal: false))
        #expect(throws: WebSocketUsageError(.messageInProgress)) { _ = try server.send(message) }
        try server.send(.fragment(.binary, [0], isFinal: true))
        try server.close()
        #expect(throws: WebSocketUsageError(.closeAlreadySent)) { _ = try server.send(message) }
    }

    /// The transport's own form of a class is made once and handed to every caller.
    @Test func transportFormIsMadeOnce() throws {
        final class Box: Sendable {}
        let message = WebSocketPreparedMessage(text: "x")
        var server = openConnection(.server)
        let frameClass = try #require(try server.send(message))
        let first = message.transportForm(for: frameClass) { _ in Box() }
        let second = message.transportForm(for: frameClass) { _ in Box() }
        #expect(first === second)
    }
}
