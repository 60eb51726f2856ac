#if canImport(Glibc)
import Foundation
import HTTPTypes
import Testing
import WireCore
import WireWebSocket

/// One permessage-deflate setting of the interop matrix: what the Python peer is configured
/// with, what our side offers (client) or allows (server), and the parameters both must end up
/// with (`nil`: no compression).
struct InteropCase: Sendable, CustomTestStringConvertible {
    var name: String
    /// The Python factory's settings (see `interopPeerScript`).
    var python: String
    var ourOffer: PerMessageDeflateClientOffer? = .init()
    var ourPolicy: PerMessageDeflateServerPolicy? = .init()
    var expected: PerMessageDeflateParameters?
    /// Whether the case applies with us as client / as server.
    var asClient = true
    var asServer = true
    var testDescription: String { name }

    static let all: [InteropCase] = [
        InteropCase(name: "no deflate on either side", python: #"{"deflate": false}"#, ourOffer: nil, ourPolicy: nil, expected: nil),
        InteropCase(name: "we offer, Python does not", python: #"{"deflate": false}"#, expected: nil),
        InteropCase(name: "Python offers, we decline", python: #"{"deflate": true}"#, ourOffer: nil, ourPolicy: nil, expected: nil),
        InteropCase(name: "defaults", python: #"{"deflate": true}"#, expected: .init()),
        InteropCase(name: "server_no_context_takeover (Python)", python: #"{"deflate": true, "snct": true}"#,
                    expected: .init(serverNoContextTakeover: true)),
        InteropCase(name: "client_no_context_takeover (Python)", python: #"{"deflate": true, "cnct": true}"#,
                    expected: .init(clientNoContextTakeover: true)),
        InteropCase(name: "server_max_window_bits=10 (Python)", python: #"{"deflate": true, "smwb": 10}"#,
                    expected: .init(serverMaxWindowBits: 10)),
        InteropCase(name: "client_max_window_bits=10 (Python)", python: #"{"deflate": true, "cmwb": 10}"#,
                    expected: .init(clientMaxWindowBits: 10)),
        // Pairs of parameters, each set by Python (so its side imposes them on ours).
        InteropCase(name: "server_no_context_takeover + server_max_window_bits=12 (Python)",
                    python: #"{"deflate": true, "snct": true, "smwb": 12}"#,
                    expected: .init(serverNoContextTakeover: true, serverMaxWindowBits: 12)),
        InteropCase(name: "client_no_context_takeover + client_max_window_bits=9 (Python)",
                    python: #"{"deflate": true, "cnct": true, "cmwb": 9}"#,
                    expected: .init(clientNoContextTakeover: true, clientMaxWindowBits: 9)),
        InteropCase(name: "server_no_context_takeover + client_max_window_bits=15 (Python)",
                    python: #"{"deflate": true, "snct": true, "cmwb": 15}"#,
                    expected: .init(serverNoContextTakeover: true, clientMaxWindowBits: 15)),
        InteropCase(name: "client_no_context_takeover + server_max_window_bits=15 (Python)",
                    python: #"{"deflate": true, "cnct": true, "smwb": 15}"#,
                    expected: .init(clientNoContextTakeover: true, serverMaxWindowBits: 15)),
        InteropCase(name: "both windows of 11 bits, both without takeover (Python)",
                    python: #"{"deflate": true, "snct": true, "cnct": true, "smwb": 11, "cmwb": 11}"#,
                    expected: .init(serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 11,
                                    clientMaxWindowBits: 11)),
        InteropCase(name: "all four (Python)", python: #"{"deflate": true, "snct": true, "cnct": true, "smwb": 9, "cmwb": 12}"#,
                    expected: .init(serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 9,
                                    clientMaxWindowBits: 12)),
        InteropCase(name: "all four (ours)", python: #"{"deflate": true}"#,
                    ourOffer: .init([.init(requestServerNoContextTakeover: true, clientNoContextTakeover: true,
                                           requestServerMaxWindowBits: 11, clientMaxWindowBits: .limit(12))]),
                    ourPolicy: .init(maxServerWindowBits: 11, maxClientWindowBits: 12, serverNoContextTakeover: true,
                                     clientNoContextTakeover: true),
                    expected: .init(serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 11,
                                    clientMaxWindowBits: 12)),
        InteropCase(name: "windows of 9 bits (ours)", python: #"{"deflate": true}"#,
                    ourOffer: .init([.init(requestServerMaxWindowBits: 9, clientMaxWindowBits: .limit(9))]),
                    ourPolicy: .init(maxServerWindowBits: 9, maxClientWindowBits: 9),
                    expected: .init(serverMaxWindowBits: 9, clientMaxWindowBits: 9)),
        // Python asks our compressor for an 8-bit window, which zlib cannot make: declined.
        InteropCase(name: "server_max_window_bits=8 asked by Python", python: #"{"deflate": true, "smwb": 8}"#,
                    expected: nil, asClient: false),
    ]
}

@Suite(.enabled(if: InteropPeer.shouldRun, "python3 with websockets 17 is not installed (Tests/Scripts/setup-tests.sh installs it)"))
struct ConnectionInteropTests {
    init() {
        if InteropPeer.required && !InteropPeer.isAvailable {
            Issue.record("WIRECODEC_REQUIRE_PEERS=1 but python3 with websockets 17 is missing")
        }
    }

    /// Our client against a Python `websockets` echo server.
    @Test(arguments: InteropCase.all.filter(\.asClient))
    func ourClientAgainstPythonServer(_ test: InteropCase) throws {
        let (python, port) = try InteropPeer.server(spec: test.python)
        let socket = try LoopbackSocket.connect(port: port)
        let handshake = try WebSocketClientHandshake(
            authority: "127.0.0.1:\(port)", path: "/interop", subprotocols: ["chat"], deflate: test.ourOffer)
        var configuration = WebSocketConfiguration(fragmentSize: 16384)
        configuration.limits = WebSocketLimits(maxFrameSize: 1 << 20, maxMessageSize: 1 << 22)
        var connection = WebSocketConnection(client: handshake, configuration: configuration)
        var sent: [WebSocketEvent] = []
        var echoes: [WebSocketEvent] = []
        var pongs = 0
        let seen = try drive(&connection, over: socket) { event, connection in
            switch event {
            case .accepted:
                for message in interopMessages() {
                    try connection.send(message)
                    switch message {
                    case .text(let text): sent.append(.text(text))
                    case .binary(let bytes): sent.append(.binary(bytes))
                    default: break
                    }
                }
                // A streamed message, with a ping between its fragments.
                try connection.send(.fragment(.text, Array("stream".utf8), isFinal: false))
                try connection.send(.ping(Array("mid".utf8)))
                try connection.send(.fragment(.text, Array(" ed ✓".utf8), isFinal: true))
                sent.append(.text("stream ed ✓"))
            case .text, .binary:
                echoes.append(event)
                if echoes.count == sent.count { try connection.send(.close(.normalClosure, reason: "done")) }
            case .pong:
                pongs += 1
            default:
                break
            }
        }
        socket.close()
        let (status, result, stderr) = python.finish()
        #expect(status == 0, "python: \(stderr)")
        #expect(echoes == sent)
        #expect(pongs == 1)
        #expect(connection.negotiation?.deflate == test.expected)
        #expect(connection.negotiation?.subprotocol == "chat")
        guard case .closed(let closure) = connection.state else {
            Issue.record("not closed: \(seen.suffix(3))")
            return
        }
        #expect(closure.cause == .closeAnswered && closure.wasClean && closure.code == .normalClosure)
        #expect(result?["close_code"] as? Int == 1000)
        // What Python says it agreed to (it may spell out a default, "server_max_window_bits=15").
        let pythonAnswer = (result?["extensions"] as? String).map { try? PerMessageDeflateParameters(parsing: $0) }
        #expect(pythonAnswer ?? nil == test.expected, "\(result?["extensions"] ?? "none")")
    }

    /// Window bits 8 against a real peer, the other way round: a Python server that answers
    /// our `client_max_window_bits` with 8 would make our compressor use a window zlib cannot
    /// make raw, so our client fails the handshake (`window-bits-8-unsupported`).
    @Test func ourClientRefusesAWindowOf8FromPython() throws {
        let (python, port) = try InteropPeer.server(spec: #"{"deflate": true, "cmwb": 8}"#)
        let socket = try LoopbackSocket.connect(port: port)
        let handshake = try WebSocketClientHandshake(
            authority: "127.0.0.1:\(port)", path: "/interop", subprotocols: ["chat"], deflate: PerMessageDeflateClientOffer())
        var connection = WebSocketConnection(client: handshake)
        let seen = try drive(&connection, over: socket) { _, _ in }
        socket.close()
        _ = python.finish()
        guard case .closed(let closure) = connection.state, case .handshakeFailed(let error) = closure.cause else {
            Issue.record("expected a failed handshake: \(seen)")
            return
        }
        #expect(error.code == .extensionNegotiationFailed)
        #expect(error.deflate?.code == .windowBits8Unsupported)
        #expect(connection.negotiation == nil)
    }

    /// A Python `websockets` client against our echo server.
    @Test(arguments: InteropCase.all.filter(\.asServer))
    func pythonClientAgainstOurServer(_ test: InteropCase) throws {
        let (listener, port) = try LoopbackSocket.listen()
        defer { listener.close() }
        let python = try InteropPeer.client(port: port, spec: test.python)
        let socket = try listener.accept()
        var configuration = WebSocketConfiguration(fragmentSize: 20000)
        configuration.limits = WebSocketLimits(maxFrameSize: 1 << 20, maxMessageSize: 1 << 22)
        var connection = WebSocketConnection(
            server: WebSocketServerPolicy(origins: .sameOrigin, subprotocols: ["chat"], deflate: test.ourPolicy),
            configuration: configuration)
        var echoed = 0
        let seen = try drive(&connection, over: socket) { event, connection in
            switch event {
            case .upgradeRequest(let request):
                #expect(request.request.path == "/interop")
                try connection.accept()
            case .text(let text):
                echoed += 1
                try connection.send(.text(text))
            case .binary(let bytes):
                echoed += 1
                try connection.send(.binary(bytes))
            default:
                break
            }
        }
        socket.close()
        let (status, result, stderr) = python.finish()
        #expect(status == 0, "python: \(stderr)")
        #expect(result?["ok"] as? Bool == true, "python: \(result ?? [:]) \(stderr)")
        #expect(echoed == 12)
        #expect(connection.negotiation?.deflate == test.expected)
        guard case .closed(let closure) = connection.state else {
            Issue.record("not closed: \(seen.suffix(3))")
            return
        }
        #expect(closure.cause == .closeReceived && closure.wasClean && closure.code == .normalClosure && closure.reason == "bye")
        #expect(connection.transport == .closeNow)
    }
}
#endif
