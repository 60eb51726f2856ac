import Foundation
import HTTPTypes
import Testing
import WireCore
import WireWebSocket

/// The connection's transition function against the table in `Spec/connection.md`, row by row
/// and pair by pair: the table is the specification, the function its only implementation.
@Suite struct ConnectionTransitionTests {
    /// One row of the table: the tokens of its first five columns.
    struct Row: Sendable, CustomTestStringConvertible {
        var id: String
        var state: String
        var input: String
        var next: String
        var actions: Set<String>
        var testDescription: String { "\(id): \(state) + \(input)" }
    }

    /// The rows of `Spec/connection.md`'s transition table.
    static func rows() -> [Row] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        guard let text = try? String(contentsOf: root.appendingPathComponent("Spec/connection.md"), encoding: .utf8) else {
            return []
        }
        var rows: [Row] = []
        for line in text.split(separator: "\n") where line.hasPrefix("| TR-") {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).dropFirst()
                .map { $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "`")) }
            guard cells.count >= 5 else { continue }
            let actions = cells[4] == "nothing" ? [] : cells[4].components(separatedBy: ", ")
            rows.append(Row(id: cells[0], state: cells[1], input: cells[2], next: cells[3], actions: Set(actions)))
        }
        return rows
    }

    /// A representative value of each state token.
    static let states: [String: WebSocketConnectionState] = [
        "awaitingResponse": .connecting(.awaitingResponse),
        "awaitingRequest": .connecting(.awaitingRequest),
        "awaitingDecision": .connecting(.awaitingDecision),
        "open": .open,
        "closing": .closing(sent: WebSocketClose(code: .normalClosure, reason: "bye")),
        "closed": .closed(WebSocketClosure(cause: .endOfStream)),
    ]

    static let rejection = WebSocketHandshakeRejection(response: HTTPResponse(status: .unauthorized))

    /// A representative value of each input token.
    static let inputs: [String: WebSocketConnectionInput] = [
        "upgradeRequest": .upgradeRequest,
        "accepted": .accepted,
        "rejected": .rejected(rejection),
        "handshakeFailed": .handshakeFailed(WebSocketHandshakeError(.missingKey, statusHint: .badRequest)),
        "accept": .accept,
        "reject": .reject(rejection),
        "data": .data,
        "ping": .ping,
        "pong": .pong(answersKeepAlive: false),
        "pong(keep-alive)": .pong(answersKeepAlive: true),
        "close": .close(WebSocketClose(code: .goingAway, reason: "restart")),
        "protocolError": .protocolError(WebSocketProtocolError(.invalidUTF8, offset: 9)),
        "endOfStream": .endOfStream,
        "send": .send,
        "sendClose": .sendClose(WebSocketClose(code: .normalClosure)),
        "handshakeTimedOut": .handshakeTimedOut,
        "keepAlivePingDue": .keepAlivePingDue,
        "keepAlivePongOverdue": .keepAlivePongOverdue,
        "closingTimedOut": .closingTimedOut,
        "peerCloseWaitExpired": .peerCloseWaitExpired,
    ]

    /// The next-state token of a transition.
    static func token(_ next: WebSocketConnectionState?) -> String {
        switch next {
        case nil: "unchanged"
        case .connecting(.awaitingResponse)?: "awaitingResponse"
        case .connecting(.awaitingRequest)?: "awaitingRequest"
        case .connecting(.awaitingDecision)?: "awaitingDecision"
        case .open?: "open"
        case .closing?: "closing"
        case .closed(let closure)?:
            switch closure.cause {
            case .closeReceived: "closed(closeReceived)"
            case .closeAnswered: "closed(closeAnswered)"
            case .protocolError: "closed(protocolError)"
            case .endOfStream: "closed(endOfStream)"
            case .peerOverdue: "closed(peerOverdue)"
            case .closingTimedOut: "closed(closingTimedOut)"
            case .handshakeRejected: "closed(handshakeRejected)"
            case .handshakeFailed: "closed(handshakeFailed)"
            }
        }
    }

    /// The action tokens of a transition (`refuse <code>` for a refusal).
    static func tokens(_ transition: WebSocketConnectionTransition) -> Set<String> {
        if let refusal = transition.refusal { return ["refuse \(refusal.name)"] }
        let description = transition.actions.description
        return description == "nothing" ? [] : Set(description.components(separatedBy: ", "))
    }

    /// The row for a pair: its own, or its `connecting` row (for the `awaiting…` states), or
    /// its `any` row, or none (nothing happens).
    static func row(for state: String, _ input: String, in rows: [Row]) -> Row? {
        rows.first { $0.state == state && $0.input == input }
            ?? (state.hasPrefix("awaiting") ? rows.first { $0.state == "connecting" && $0.input == input } : nil)
            ?? rows.first { $0.state == "any" && $0.input == input }
    }

    /// The state tokens a row's state stands for.
    static func stateTokens(of row: Row) -> [String] {
        switch row.state {
        case "connecting": ["awaitingResponse", "awaitingRequest", "awaitingDecision"]
        case "any": Array(states.keys)
        default: [row.state]
        }
    }

    @Test func theTableIsThere() {
        let rows = Self.rows()
        #expect(rows.count >= 35)
        #expect(Set(rows.map(\.id)).count == rows.count, "row ids are unique")
        for row in rows {
            #expect(Self.states[row.state] != nil || row.state == "connecting" || row.state == "any", "\(row.id): unknown state \(row.state)")
            #expect(Self.inputs[row.input] != nil, "\(row.id): unknown input \(row.input)")
        }
    }

    /// Each row, against the function (for `connecting`, in each of its sub-states; for
    /// `any`, in each state without a row of its own for this input).
    @Test(arguments: rows())
    func row(_ row: Row) throws {
        let input = try #require(Self.inputs[row.input])
        let rows = Self.rows()
        let tokens = Self.stateTokens(of: row).filter { Self.row(for: $0, row.input, in: rows)?.id == row.id }
        #expect(!tokens.isEmpty, "\(row.id) holds in no state: another row takes its place")
        for token in tokens {
            let state = try #require(Self.states[token])
            let transition = state.transition(on: input)
            #expect(Self.token(transition.next) == row.next, "\(row.id) in \(state)")
            #expect(Self.tokens(transition) == row.actions, "\(row.id) in \(state)")
            if transition.refusal != nil { #expect(transition.next == nil && transition.actions.isEmpty) }
        }
    }

    /// Every (state, input) pair: what the function does is the table's row, and a pair
    /// without a row changes nothing and does nothing.
    @Test func everyStateAndInputIsInTheTable() {
        let rows = Self.rows()
        for (stateToken, state) in Self.states {
            for (inputToken, input) in Self.inputs {
                let transition = state.transition(on: input)
                if let row = Self.row(for: stateToken, inputToken, in: rows) {
                    #expect(Self.token(transition.next) == row.next, "\(stateToken) + \(inputToken): \(row.id)")
                    #expect(Self.tokens(transition) == row.actions, "\(stateToken) + \(inputToken): \(row.id)")
                } else {
                    #expect(transition == WebSocketConnectionTransition(), "\(stateToken) + \(inputToken) has no row but does something")
                }
            }
        }
    }

    /// What the closing rows record: the echo carries the peer's code, a failure's close the
    /// error's, the overdue peer 1001, and our close is kept while closing.
    @Test func closesRecordedByTheTransitions() {
        let peer = WebSocketClose(code: .goingAway, reason: "restart")
        #expect(WebSocketConnectionState.open.transition(on: .close(peer)).next
            == .closed(WebSocketClosure(cause: .closeReceived, received: peer, sent: WebSocketClose(code: .goingAway))))
        let error = WebSocketProtocolError(.messageTooLarge, offset: 3)
        #expect(WebSocketConnectionState.open.transition(on: .protocolError(error)).next
            == .closed(WebSocketClosure(cause: .protocolError(error), sent: WebSocketClose(code: .messageTooBig))))
        #expect(WebSocketConnectionState.open.transition(on: .keepAlivePongOverdue).next
            == .closed(WebSocketClosure(cause: .peerOverdue, sent: WebSocketClose(code: .goingAway))))
        let ours = WebSocketClose(code: .normalClosure, reason: "bye")
        #expect(WebSocketConnectionState.open.transition(on: .sendClose(ours)).next == .closing(sent: ours))
        #expect(WebSocketConnectionState.closing(sent: ours).transition(on: .close(peer)).next
            == .closed(WebSocketClosure(cause: .closeAnswered, received: peer, sent: ours)))
    }
}
