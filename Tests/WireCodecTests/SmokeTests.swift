import Testing
import WireCore

@Test func roleHasAPeer() {
    #expect(Role.client.peer == .server)
    #expect(Role.server.peer == .client)
}
