import HTTPTypes
import Testing
import TestSupport
import WireCore
@testable import WireHTTP1

/// `HTTP1Connection.releaseIdleBuffers()`: what a quiet connection (an event stream between
/// events, a held long poll) keeps for the next message is freed, and nothing it still
/// needs: heads handed out stay whole, a next request already (partly) received is parsed
/// as if nothing happened, and the one after a release gets fresh storage.
@Suite struct IdleBufferTests {
    func request(_ server: inout HTTP1Connection) throws -> HTTP1RequestHead {
        guard case .request(let head)? = try server.nextEvent() else {
            Issue.record("no request head")
            throw HTTP1UsageError(.notDone)
        }
        #expect(try server.nextEvent() == .end(trailers: nil))
        return head
    }

    @Test func aQuietConnectionFreesItsHeadStorageAndParsesTheNextRequestAfresh() throws {
        var server = HTTP1Connection(role: .server)
        server.receive(Array("GET /events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n".utf8).span)
        let first = try request(&server)
        try server.send(.response(HTTPResponse(status: .ok, headerFields: [.contentType: "text/event-stream"])))
        _ = server.takeOutbound()

        server.releaseIdleBuffers()
        #expect(server.parser.storage === HTTP1HeadStorage.released)
        #expect(server.inbound.capacity == 0 && server.outbound.capacity == 0)
        // The head handed out keeps its own storage.
        #expect(first.target == "/events" && first.fields.description.contains("text/event-stream"))

        try server.send(.body(Array("data: 1\n\n".utf8)))
        #expect(String(decoding: server.takeOutbound(), as: UTF8.self) == "9\r\ndata: 1\n\n\r\n")
        try server.send(.end())
        _ = server.takeOutbound()
        try server.startNextCycle()

        // Half of the next request: not between messages, nothing of it is freed.
        server.receive(Array("GET /long-poll?since=4 HTTP/1.1\r\nHo".utf8).span)
        #expect(try server.nextEvent() == nil)
        let partial = server.parser.storage
        server.releaseIdleBuffers()
        #expect(server.parser.storage === partial && partial !== HTTP1HeadStorage.released)
        server.receive(Array("st: x\r\nX-Long: \(String(repeating: "v", count: 2000))\r\n\r\n".utf8).span)
        let second = try request(&server)
        #expect(second.target == "/long-poll?since=4")
        #expect(second.fields.description.contains("X-Long"), "a head larger than the first storage")
        #expect(first.target == "/events", "the first head is untouched")

        try server.send(.response(HTTPResponse(status: .noContent)))
        try server.send(.end())
        _ = server.takeOutbound()
        server.releaseIdleBuffers()
        try server.startNextCycle()
        server.receive(Array("GET /again HTTP/1.1\r\nHost: y\r\n\r\n".utf8).span)
        let third = try request(&server)
        #expect(third.target == "/again" && third.fields.description.contains("y"))
        #expect(server.parser.storage !== HTTP1HeadStorage.released)
        #expect(second.target == "/long-poll?since=4", "the second head is untouched")
    }
}
