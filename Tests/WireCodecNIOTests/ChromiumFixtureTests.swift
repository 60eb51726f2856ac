import Foundation
import Testing
import TestSupport
import WireCodec

/// Replays the permessage-deflate session of a real browser (Chromium 156, captured by
/// `Tests/Conformance/chromium/capture_fixtures.py` into `Fixtures/websocket/chromium-deflate/`)
/// through the `ws decode` contract with the agreed parameters, and drip-fed through a
/// ``WebSocketConnection``. The session without deflate sits beside the other fixtures
/// (`client-chromium-echo`, `server-chromium-echo`) and `WebSocketFixtureReplayTests` replays it.
@Suite struct ChromiumFixtureTests {
    static let folder = Paths.root.appendingPathComponent("Fixtures/websocket/chromium-deflate")

    static var agreed: String {
        get throws { try String(contentsOf: folder.appendingPathComponent("deflate.txt"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    /// `client-*` holds what the browser sent: we read it as the server.
    static let captures: [(name: String, role: String)] = [("client-chromium-deflate", "server"), ("server-chromium-deflate", "client")]

    @Test func theBrowserOfferedClientMaxWindowBits() throws {
        let request = try String(contentsOf: Self.folder.appendingPathComponent("request.txt"), encoding: .utf8)
        #expect(request.contains("\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"))
        #expect(try Self.agreed.hasPrefix("permessage-deflate"))
    }

    @Test(arguments: captures.map(\.name))
    func captureDecodesAsThePagePlanned(name: String) throws {
        let binary = Paths.executable("wirecodec")
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "build the package first: \(binary.path)")
        let role = Self.captures.first { $0.name == name }!.role
        let bin = Self.folder.appendingPathComponent("\(name).bin").path
        let result = try runProcess(binary.path, ["ws", "decode", "--role", role, "--deflate", try Self.agreed, bin])
        let expected = try String(contentsOf: Self.folder.appendingPathComponent("\(name).expected.jsonl"), encoding: .utf8)
        #expect(result.status == 0)
        #expect(result.text == expected)
        // Compressed frames really are on the wire: the messages hold 263 KB of payload.
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: bin)))
        #expect(bytes.count < 20_000)
    }

    /// The browser's compressed frames in random pieces through the connection's receive path
    /// give the planned messages and the close.
    @Test(arguments: [1 as UInt64, 2, 3])
    func dripFedThroughAConnection(seed: UInt64) throws {
        let parameters = try PerMessageDeflateParameters(parsing: try Self.agreed)
        let input = try [UInt8](Data(contentsOf: Self.folder.appendingPathComponent("client-chromium-deflate.bin")))
        var connection = try WebSocketConnection(role: .server, negotiation: WebSocketNegotiation(deflate: parameters))
        var rng = SplitMix64(seed: seed)
        var lines: [String] = []
        for piece in Chunkings.random(of: input, maxPiece: 300, using: &rng) {
            connection.receive(Array(piece).span)
            while let event = try connection.nextEvent() {
                switch event {
                case .text(let text): lines.append(#"{"type":"text","data_b64":"\#(Data(text.utf8).base64EncodedString())"}"#)
                case .binary(let bytes): lines.append(#"{"type":"binary","data_b64":"\#(Data(bytes).base64EncodedString())"}"#)
                case .closed(let closure): lines.append("closed \(closure.code.rawValue)")
                default: break
                }
            }
        }
        let expected = try String(contentsOf: Self.folder.appendingPathComponent("client-chromium-deflate.expected.jsonl"), encoding: .utf8)
            .split(separator: "\n").map(String.init)
        #expect(lines.dropLast() == expected.dropLast()[...])
        #expect(lines.last == "closed 4001")
        #expect(expected.last?.hasPrefix(#"{"type":"close","code":4001,"#) == true)
    }
}
