import Foundation
import Testing
import WireCodecCLI
import WireHTTP1

/// Replays every capture in `Fixtures/http/` through the CLI contract and compares the output
/// line by line with the `.expected.jsonl` beside it (produced by h11, `Fixtures/http/oracle.py`).
@Suite struct HTTPFixtureReplayTests {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let fixtures = root.appendingPathComponent("Fixtures/http")

    struct Fixture: Sendable, CustomTestStringConvertible {
        var folder: String
        var name: String
        var testDescription: String { "\(folder)/\(name)" }
        var kind: HTTP1MessageKind { folder == "requests" ? .request : .response }
        /// `responses/head-*`: every response answers a HEAD request.
        var answersHEAD: Bool { name.hasPrefix("head-") }
        var bin: URL { HTTPFixtureReplayTests.fixtures.appendingPathComponent("\(folder)/\(name).bin") }
        var expected: URL { HTTPFixtureReplayTests.fixtures.appendingPathComponent("\(folder)/\(name).expected.jsonl") }
    }

    static func all() -> [Fixture] {
        var result: [Fixture] = []
        for folder in ["requests", "responses"] {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: fixtures.appendingPathComponent(folder).path)) ?? []
            for file in names.sorted() where file.hasSuffix(".bin") {
                result.append(Fixture(folder: folder, name: String(file.dropLast(4))))
            }
        }
        return result
    }

    @Test func thereAreFixturesOfEveryKind() {
        let fixtures = Self.all()
        #expect(fixtures.count >= 25)
        #expect(fixtures.contains { $0.folder == "requests" && $0.name == "curl-get" })
        #expect(fixtures.contains { $0.answersHEAD })
        #expect(fixtures.contains { $0.kind == .response && !$0.answersHEAD })
    }

    @Test(arguments: all())
    func fixtureDecodesAsTheOracleSays(fixture: Fixture) throws {
        let input = try [UInt8](Data(contentsOf: fixture.bin))
        let expected = try String(contentsOf: fixture.expected, encoding: .utf8).split(separator: "\n").map(String.init)
        let output = HTTPDecode.render(
            HTTPDecode.decode(input, options: .init(kind: fixture.kind, answersHEAD: fixture.answersHEAD)), pretty: false)
        let lines = output.split(separator: "\n").map(String.init)
        #expect(lines.count == expected.count)
        for (i, (got, want)) in zip(lines, expected).enumerated() {
            #expect(got == want, "line \(i + 1)")
        }
        #expect(!expected.isEmpty)
    }

    /// The executable contract: the built `wirecodec` binary, run as a process on a fixture,
    /// exits 0 and prints the expected lines; a usage error exits non-zero.
    @Test func builtExecutableDecodesAFixture() throws {
        let binary = Self.executable()
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "build the package first: \(binary.path)")
        let fixture = Fixture(folder: "requests", name: "curl-keep-alive")
        let (status, output) = try Self.run(binary, ["http", "decode", "--request", fixture.bin.path])
        #expect(status == 0)
        #expect(output == (try String(contentsOf: fixture.expected, encoding: .utf8)))

        let (usageStatus, _) = try Self.run(binary, ["http", "decode", fixture.bin.path])
        #expect(usageStatus != 0)
    }

    /// `wirecodec` sits beside the test bundle in the build folder.
    static func executable() -> URL {
        var url = Bundle.main.bundleURL
        while url.pathComponents.count > 1 && !url.lastPathComponent.hasSuffix(".xctest") {
            url.deleteLastPathComponent()
        }
        if url.lastPathComponent.hasSuffix(".xctest") {
            return url.deletingLastPathComponent().appendingPathComponent("wirecodec")
        }
        return Bundle.main.bundleURL.appendingPathComponent("wirecodec")
    }

    static func run(_ binary: URL, _ arguments: [String]) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
