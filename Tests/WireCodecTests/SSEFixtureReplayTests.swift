import Foundation
import Testing
import TestSupport
import WireCodecCLI
import WireSSE

/// Replays every capture in `Fixtures/sse/` (streams a Python server sent to headless
/// Chromium, recorded by `Fixtures/sse/capture.py`) through the `sse decode` contract. The
/// expected events are what the browser's `EventSource` dispatched, and the last event ID is
/// the `Last-Event-ID` the browser sent when it reconnected: an oracle independent of
/// WireCodec.
@Suite struct SSEFixtureReplayTests {
    static let fixtures = HTTPFixtureReplayTests.root.appendingPathComponent("Fixtures/sse")

    struct Fixture: Sendable, CustomTestStringConvertible {
        var name: String
        var testDescription: String { name }
        func url(_ suffix: String) -> URL { SSEFixtureReplayTests.fixtures.appendingPathComponent(name + suffix) }
    }

    struct Meta {
        var writes: [Int]
        var lastEventID: String?
        var reconnectAfterMs: Int?
        var browser: String
    }

    static func all() -> [Fixture] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: fixtures.path)) ?? []
        return names.sorted().filter { $0.hasSuffix(".bin") }.map { Fixture(name: String($0.dropLast(4))) }
    }

    static func meta(_ fixture: Fixture) throws -> Meta {
        let value = try JSONParse.parse(try String(contentsOf: fixture.url(".meta.json"), encoding: .utf8))
        var writes: [Int] = []
        if case .array(let items)? = value["writes"] {
            for case .int(let n) in items { writes.append(n) }
        }
        var lastEventID: String? = nil
        if case .string(let s)? = value["reconnect_last_event_id"] { lastEventID = s }
        var after: Int? = nil
        if case .int(let n)? = value["reconnect_after_ms"] { after = n }
        var browser = ""
        if case .string(let s)? = value["browser"] { browser = s }
        return Meta(writes: writes, lastEventID: lastEventID, reconnectAfterMs: after, browser: browser)
    }

    static func expected(_ fixture: Fixture) throws -> [JSONValue] {
        let text = try String(contentsOf: fixture.url(".expected.jsonl"), encoding: .utf8)
        return try text.split(separator: "\n").map { line throws in try JSONParse.parse(String(line)) }
    }

    static func eventLines(_ lines: [JSONValue]) -> [JSONValue] {
        lines.filter { $0["type"] == .string("event") }
    }

    @Test func thereAreFixtures() throws {
        let all = Self.all()
        #expect(all.count >= 25)
        let events = try all.reduce(0) { $0 + (try Self.expected($1).count) }
        #expect(events >= 500)
        #expect(try Self.meta(all[0]).browser.hasPrefix("Chromium"))
    }

    /// Our events are the browser's events, in order.
    @Test(arguments: all())
    func decodesAsTheBrowserDispatched(fixture: Fixture) throws {
        let input = try [UInt8](Data(contentsOf: fixture.url(".bin")))
        let lines = SSEDecode.decode(input)
        #expect(Self.eventLines(lines) == (try Self.expected(fixture)))
        #expect(!lines.contains { $0["type"] == .string("error") })
    }

    /// The last event ID after the stream is what the browser resumed from; the reconnection
    /// time we read agrees with how long the browser waited (its default is 3 s).
    @Test(arguments: all())
    func lastEventIDAndRetryAsTheBrowserReconnected(fixture: Fixture) throws {
        let input = try [UInt8](Data(contentsOf: fixture.url(".bin")))
        let meta = try Self.meta(fixture)
        var parser = SSEParser()
        try parser.parse(input.span) { _ in }
        _ = parser.finish()
        // Chromium sends no Last-Event-ID when the string is empty.
        #expect(parser.lastEventID == (meta.lastEventID ?? ""))
        let after = try #require(meta.reconnectAfterMs)
        if let ms = parser.reconnectionTime {
            #expect(after >= Int(ms) && after < Int(ms) + 1500, "retry \(ms) ms, browser came back after \(after) ms")
        } else {
            #expect(after >= 2500, "no retry, browser came back after \(after) ms")
        }
    }

    /// Fed in the server's own writes, and in random pieces, the events are the same.
    @Test(arguments: all())
    func splitsGiveTheSameEvents(fixture: Fixture) throws {
        let input = try [UInt8](Data(contentsOf: fixture.url(".bin")))
        let meta = try Self.meta(fixture)
        let whole = parseAll([input[...]])
        var pieces: [ArraySlice<UInt8>] = []
        var start = 0
        for n in meta.writes {
            pieces.append(input[start..<(start + n)])
            start += n
        }
        #expect(start == input.count)
        #expect(parseAll(pieces) == whole)
        var rng = SplitMix64(seed: UInt64(input.count))
        #expect(parseAll(Chunkings.random(of: input, maxPiece: 7, using: &rng)) == whole)
    }

    func parseAll(_ pieces: [ArraySlice<UInt8>]) -> [SSEParseEvent] {
        var parser = SSEParser()
        var events: [SSEParseEvent] = []
        for piece in pieces {
            let bytes = Array(piece)
            try? parser.parse(bytes.span) { events.append($0) }
        }
        return events
    }

    /// Fixtures/sse/README.md's comparison: the CLI's `"type":"event"` lines are the expected
    /// file, byte for byte (the other lines, retry and incomplete, are not browser events).
    @Test(arguments: all())
    func documentedFilterMatchesEveryFixture(fixture: Fixture) throws {
        let binary = HTTPFixtureReplayTests.executable()
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "build the package first: \(binary.path)")
        let (status, output) = try HTTPFixtureReplayTests.run(binary, ["sse", "decode", fixture.url(".bin").path])
        #expect(status == 0)
        let events = output.split(separator: "\n").filter { $0.contains(#""type":"event""#) }.map { $0 + "\n" }.joined()
        #expect(events == (try String(contentsOf: fixture.url(".expected.jsonl"), encoding: .utf8)))
    }

    @Test func builtExecutableDecodesAFixture() throws {
        let binary = HTTPFixtureReplayTests.executable()
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "build the package first: \(binary.path)")
        let fixture = Fixture(name: "ids")
        let (status, output) = try HTTPFixtureReplayTests.run(binary, ["sse", "decode", fixture.url(".bin").path])
        #expect(status == 0)
        let lines = try output.split(separator: "\n").map { line throws in try JSONParse.parse(String(line)) }
        #expect(lines == (try Self.expected(fixture)))
        let (usageStatus, _) = try HTTPFixtureReplayTests.run(binary, ["sse", "decode", "--max-line-bytes", "-1", fixture.url(".bin").path])
        #expect(usageStatus != 0)
    }
}
