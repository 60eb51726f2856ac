import TestSupport
import Testing
import WireCore
import WireWebSocket

private func at(_ seconds: Double) -> WebSocketInstant {
    WebSocketInstant(nanoseconds: UInt64(seconds * 1_000_000_000))
}

@Suite struct ConnectionTimerTests {
    @Test func instantArithmetic() {
        #expect(at(1) + .milliseconds(500) == at(1.5))
        #expect(at(1) + .seconds(-3) == at(1))
        #expect(WebSocketInstant(nanoseconds: .max - 1) + .seconds(1) == WebSocketInstant(nanoseconds: .max))
        #expect(at(1) < at(2))
    }

    private static func keepAliveConfiguration() -> WebSocketConfiguration {
        var configuration = WebSocketConfiguration.testing(seed: 1)
        configuration.keepAlive = WebSocketKeepAlive(interval: .seconds(10), timeout: .seconds(5))
        return configuration
    }

    @Test func keepAlivePingsAndPongs() throws {
        var pair = ConnectionPair(clientConfiguration: Self.keepAliveConfiguration())
        #expect(pair.client.nextDeadline == nil)
        #expect(pair.client.tick(now: at(100)) == at(110))           // armed by the first tick
        #expect(pair.client.tick(now: at(105)) == at(110))
        #expect(pair.client.takeOutbound().isEmpty)
        #expect(pair.client.tick(now: at(110)) == at(115))           // ping out, pong due at 115
        let ping = pair.client.takeOutbound()
        #expect(frames(ping, sentBy: .client) == [WebSocketFrame(opcode: .ping, payload: [0, 0, 0, 0, 0, 0, 0, 1])])
        #expect(feed(&pair.server, ping) == [.event(.ping([0, 0, 0, 0, 0, 0, 0, 1]))])
        #expect(pair.toClient().isEmpty)                               // the keep-alive pong is consumed
        #expect(pair.client.tick(now: at(112)) == at(120))
        #expect(pair.client.tick(now: at(120)) == at(125))           // the next ping
        #expect(frames(pair.client.takeOutbound(), sentBy: .client).first?.payload == [0, 0, 0, 0, 0, 0, 0, 2])
        #expect(pair.client.state == .open)
    }

    /// An old or foreign pong does not count; without the right pong the peer is overdue:
    /// 1001 on the wire, 1006 for the application, close the transport.
    @Test func overduePeer() throws {
        var client = openConnection(.client, .init(), Self.keepAliveConfiguration())
        client.tick(now: at(0))
        client.tick(now: at(10))
        _ = client.takeOutbound()
        // A pong with another payload is the application's business, not the keep-alive's.
        #expect(feed(&client, frame(.pong, [0, 0, 0, 0, 0, 0, 0, 0], masked: false)) == [.event(.pong([0, 0, 0, 0, 0, 0, 0, 0]))])
        #expect(client.tick(now: at(14.9)) == at(15))
        client.tick(now: at(15))
        let closure = WebSocketClosure(cause: .peerOverdue, sent: WebSocketClose(code: .goingAway))
        #expect(client.state == .closed(closure))
        #expect(closure.code == .abnormalClosure)
        #expect(client.transport == .closeNow)
        #expect(frames(client.takeOutbound(), sentBy: .client) == [WebSocketFrame(opcode: .close, payload: closePayload(1001))])
        #expect(drain(&client) == [.event(.closed(closure))])
        #expect(client.tick(now: at(100)) == nil)
    }

    @Test func closingHandshakeTimesOut() throws {
        var server = openConnection(.server)
        try server.send(.close(.normalClosure))
        #expect(server.tick(now: at(1)) == at(11))                   // default closing timeout 10 s
        #expect(server.tick(now: at(10)) == at(11))
        server.tick(now: at(11))
        let closure = WebSocketClosure(cause: .closingTimedOut, sent: WebSocketClose(code: .normalClosure))
        #expect(server.state == .closed(closure))
        #expect(drain(&server) == [.event(.closed(closure))])
        #expect(server.transport == .closeNow)
    }

    /// §7.1.1: the client waits for the server's TCP close, but not forever.
    @Test func clientStopsWaitingForTheServer() throws {
        var client = openConnection(.client)
        _ = feed(&client, frame(.close, closePayload(1000), masked: false))
        #expect(client.transport == .waitForPeerToClose)
        #expect(client.tick(now: at(0)) == at(10))
        client.tick(now: at(10))
        #expect(client.transport == .closeNow)
        #expect(client.tick(now: at(20)) == nil)
    }

    @Test(arguments: [Role.client, .server])
    func openingHandshakeTimesOut(role: Role) {
        var configuration = WebSocketConfiguration.testing(seed: 1)
        configuration.handshakeTimeout = .seconds(3)
        var connection = role == .client
            ? WebSocketConnection(client: clientHandshake(), configuration: configuration)
            : WebSocketConnection(server: .init(), configuration: configuration)
        _ = connection.takeOutbound()
        #expect(connection.tick(now: at(1)) == at(4))
        connection.tick(now: at(4))
        let closure = WebSocketClosure(cause: .handshakeFailed(WebSocketHandshakeError(.timedOut)))
        #expect(drain(&connection) == [.event(.closed(closure))])
        #expect(connection.takeOutbound().isEmpty)                    // no answer to a request that never came
        #expect(connection.transport == .closeNow)
    }

    @Test func noTimersWhenNoneAreConfigured() {
        var configuration = WebSocketConfiguration.testing(seed: 1)
        configuration.handshakeTimeout = nil
        var connection = WebSocketConnection(server: .init(), configuration: configuration)
        #expect(connection.tick(now: at(1)) == nil)
        var open = openConnection(.server)
        #expect(open.tick(now: at(1)) == nil)
    }
}
