import NIOCore
import NIOEmbedded
import Testing
@testable import WireCodecNIO
import WireCore
import WireHTTP1
import WireSSE

/// `EventSourceRunner` over a channel it does not open itself (NIO's testing channel).
struct EventSourceRunnerTests {
    struct HandshakeFailed: Error {}

    /// Says that `HandshakeFailed` is fatal, as `TLSClientSecurity` does for a certificate
    /// that does not verify.
    struct FakeSecurity: ClientTransportSecurity {
        func makeClientHandlers(serverHostname: String) throws -> [any ChannelHandler] { [] }
        func isFatal(_ error: any Error) -> Bool { error is HandshakeFailed }
        func describe(_ error: any Error) -> String? { error is HandshakeFailed ? "TLS handshake failed: FAKE" : nil }
    }

    /// The channel failed and closed (a TLS handshake that failed on the event loop) before
    /// the runner's task wrote its request: the runner reports the channel's error, as it does
    /// when the failure comes during the read, not the write's "I/O on closed channel" (which
    /// `ClientFeedServerTests/overTLS` once printed on a loaded machine).
    @Test func aChannelThatFailedBeforeTheRequestReportsItsOwnError() async throws {
        let channel = NIOAsyncTestingChannel()
        let wrapped = try await channel.testingEventLoop.executeInContext {
            try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
        }
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 443))
        channel.pipeline.fireErrorCaught(HandshakeFailed())
        try await channel.close()

        let url = try WireURL("https://example.com/feed")
        let runner = EventSourceRunner(url: url, connection: .init(security: FakeSecurity()), group: channel.testingEventLoop)
        var client = EventSourceClient(url: url)
        #expect(client.transport == .connect(url))
        let stopped = try await runner.attempt(wrapped, &client, now: { WireInstant(nanoseconds: 0) }, { _ in .continue })
        #expect(!stopped)
        #expect(client.failure == .fatalNetworkError("TLS handshake failed: FAKE"))
    }

    /// The same without an error: the peer closed before the request went out. A network
    /// error, so the client waits to reconnect (instead of `run` throwing).
    @Test func aChannelClosedBeforeTheRequestReconnects() async throws {
        let channel = NIOAsyncTestingChannel()
        let wrapped = try await channel.testingEventLoop.executeInContext {
            try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
        }
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 80))
        try await channel.close()

        let url = try WireURL("http://example.com/feed")
        let runner = EventSourceRunner(url: url, group: channel.testingEventLoop)
        var client = EventSourceClient(url: url)
        let stopped = try await runner.attempt(wrapped, &client, now: { WireInstant(nanoseconds: 0) }, { _ in .continue })
        #expect(!stopped)
        #expect(client.failure == nil)
        #expect(client.transport == .wait)
    }
}
