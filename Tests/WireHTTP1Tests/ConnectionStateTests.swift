import Testing
import WireCore
import WireHTTP1

/// The transition table of `HTTP1ConnectionState`, checked for every (role, state, input):
/// the same table is in Spec/http1.md ("Connection state machine").
@Suite struct ConnectionStateTests {
    typealias S = HTTP1PeerState
    typealias I = HTTP1ConnectionState.Input

    /// Event-triggered transitions: (role, from, input) → to. Everything else is refused.
    static let table: [Role: [S: [I: S]]] = [
        .client: [
            .idle: [.request: .sendBody, .connectionClosed: .closed],
            .sendBody: [.data: .sendBody, .endOfMessage: .done],
            .done: [.connectionClosed: .closed],
            .mustClose: [.connectionClosed: .closed],
            .closed: [.connectionClosed: .closed],
        ],
        .server: [
            .idle: [.response: .sendBody, .connectionClosed: .closed],
            .sendResponse: [.informationalResponse: .sendResponse, .response: .sendBody],
            .sendBody: [.data: .sendBody, .endOfMessage: .done],
            .done: [.connectionClosed: .closed],
            .mustClose: [.connectionClosed: .closed],
            .closed: [.connectionClosed: .closed],
        ],
    ]

    struct Case: Sendable, CustomTestStringConvertible {
        var role: Role, from: S, input: I
        var testDescription: String { "\(role) \(from) \(input)" }
    }

    static let allCases: [Case] = Role.allCases.flatMap { role in
        S.allCases.flatMap { from in I.allCases.map { Case(role: role, from: from, input: $0) } }
    }

    @Test(arguments: allCases)
    func transitionMatchesTheTable(c: Case) {
        // The other peer sits where no two-peer rule applies to the acting one.
        var machine = c.role == .client
            ? HTTP1ConnectionState(client: c.from, server: .sendResponse)
            : HTTP1ConnectionState(client: .done, server: c.from)
        let expected = Self.table[c.role]?[c.from]?[c.input]
        let before = machine
        let accepted = machine.process(c.input, from: c.role)
        #expect(accepted == (expected != nil))
        if let expected {
            #expect(machine.state(of: c.role) == expected)
        } else {
            #expect(machine == before)
        }
    }

    @Test func requestMakesTheServerOweAResponse() {
        var m = HTTP1ConnectionState()
        let r1 = m.process(.request, from: .client)
        #expect(r1)
        #expect(m.server == .sendResponse)
    }

    @Test func switchProposals() {
        // Accepted upgrade: 101 switches both.
        var m = HTTP1ConnectionState()
        m.process(.request, from: .client)
        m.proposeSwitch(.upgrade)
        m.process(.endOfMessage, from: .client)
        #expect(m.client == .mightSwitchProtocol)
        let r2 = m.process(.response, from: .server, switching: .upgrade)
        #expect(!r2)  // a 101 is informational
        let r3 = m.process(.informationalResponse, from: .server, switching: .connect)
        #expect(!r3)  // not proposed
        let r4 = m.process(.informationalResponse, from: .server, switching: .upgrade)
        #expect(r4)
        #expect(m.client == .switchedProtocol && m.server == .switchedProtocol)

        // Declined: a normal final response drops the proposal.
        m = HTTP1ConnectionState()
        m.process(.request, from: .client)
        m.proposeSwitch(.connect)
        m.process(.endOfMessage, from: .client)
        m.process(.informationalResponse, from: .server)
        #expect(m.client == .mightSwitchProtocol)
        m.process(.response, from: .server)
        #expect(m.client == .done)
        #expect(m.pendingSwitchProposals.isEmpty)
        let r5 = m.process(.response, from: .server, switching: .connect)
        #expect(!r5)
    }

    @Test func keepAliveOffAndClosesSpreadToTheOtherPeer() {
        var m = HTTP1ConnectionState(client: .done, server: .sendBody)
        m.disableKeepAlive()
        #expect(m.client == .mustClose)
        m.process(.endOfMessage, from: .server)
        #expect(m.server == .mustClose)
        let r6 = m.startNextCycle()
        #expect(!r6)

        m = HTTP1ConnectionState(client: .idle, server: .idle)
        m.process(.connectionClosed, from: .client)
        #expect(m.server == .mustClose)
        m = HTTP1ConnectionState(client: .done, server: .done)
        m.process(.connectionClosed, from: .server)
        #expect(m.client == .mustClose)
        m = HTTP1ConnectionState(client: .done, server: .sendBody)
        m.fail(.server)
        #expect(m.client == .mustClose)
        m = HTTP1ConnectionState(client: .done, server: .done)
        let r7 = m.startNextCycle()
        #expect(r7)
        #expect(m == HTTP1ConnectionState())
    }
}
