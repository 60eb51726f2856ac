import Foundation
import Testing
import TestSupport
import WireCodecCLI
import WireCore
import WireWebSocket

/// Replays every capture in `Fixtures/websocket/` (frames sent by Python `websockets` 17.4,
/// recorded by `Fixtures/websocket/capture.py`) through the `ws decode` contract and compares
/// the output with the `.expected.jsonl` beside it, which the script wrote from what it told
/// `websockets` to send.
@Suite struct WebSocketFixtureReplayTests {
    static let fixtures = HTTPFixtureReplayTests.root.appendingPathComponent("Fixtures/websocket")

    struct Fixture: Sendable, CustomTestStringConvertible {
        var name: String
        var testDescription: String { name }
        /// `client-*` holds what a client sent: we decode as the server.
        var role: Role { name.hasPrefix("client-") ? .server : .client }
        var bin: URL { WebSocketFixtureReplayTests.fixtures.appendingPathComponent("\(name).bin") }
        var expected: URL { WebSocketFixtureReplayTests.fixtures.appendingPathComponent("\(name).expected.jsonl") }
    }

    static func all() -> [Fixture] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: fixtures.path)) ?? []
        return names.sorted().filter { $0.hasSuffix(".bin") }.map { Fixture(name: String($0.dropLast(4))) }
    }

    @Test func thereAreFixturesOfBothDirections() {
        let all = Self.all()
        #expect(all.count >= 12)
        #expect(all.contains { $0.role == .server })
        #expect(all.contains { $0.role == .client })
    }

    @Test(arguments: all())
    func fixtureDecodesAsThePeerSent(fixture: Fixture) throws {
        let input = try [UInt8](Data(contentsOf: fixture.bin))
        let expected = try String(contentsOf: fixture.expected, encoding: .utf8)
        let output = WebSocketDecode.render(WebSocketDecode.trace(input, options: .init(role: fixture.role)), pretty: false)
        #expect(output == expected)
        #expect(!expected.isEmpty)
    }

    /// The same captures drip-fed through the receive pipeline in random pieces give the same
    /// messages.
    @Test(arguments: all())
    func fixtureDripFedGivesTheSameMessages(fixture: Fixture) throws {
        let input = try [UInt8](Data(contentsOf: fixture.bin))
        let whole = WebSocketDecode.decode(input, options: .init(role: fixture.role))
        var rng = SplitMix64(seed: UInt64(input.count))
        var receiver = try WebSocketReceiver(role: fixture.role)
        var lines: [JSONValue] = []
        for piece in Chunkings.random(of: input, maxPiece: 97, using: &rng) {
            receiver.receive(Array(piece).span)
            while let event = try receiver.nextEvent() {
                if let line = WebSocketDecode.line(for: event) { lines.append(line) }
            }
        }
        #expect(lines == whole)
    }

    @Test func builtExecutableDecodesAFixture() throws {
        let binary = HTTPFixtureReplayTests.executable()
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "build the package first: \(binary.path)")
        let fixture = Fixture(name: "client-fragmented-ping")
        let (status, output) = try HTTPFixtureReplayTests.run(binary, ["ws", "decode", "--role", "server", fixture.bin.path])
        #expect(status == 0)
        #expect(output == (try String(contentsOf: fixture.expected, encoding: .utf8)))
        let (usageStatus, _) = try HTTPFixtureReplayTests.run(binary, ["ws", "decode", fixture.bin.path])
        #expect(usageStatus != 0)
    }
}
