import Foundation
import Testing

/// What a new user sees when they get something wrong: the reason, in the terms of what they
/// typed, and the usage of the subcommand they ran (not the top-level one); exit status 64.
@Suite struct CLIErrorTests {
    /// Runs the built binary; returns its status, standard output and standard error.
    static func run(_ arguments: [String], stdin: [UInt8] = []) throws -> (Int32, String, String) {
        let binary = HTTPFixtureReplayTests.executable()
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "build the package first: \(binary.path)")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wirecodec-cli-err-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("in"), out = dir.appendingPathComponent("out"), err = dir.appendingPathComponent("err")
        try Data(stdin).write(to: input)
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.standardInput = try FileHandle(forReadingFrom: input)
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        try process.run()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: try Data(contentsOf: out), as: UTF8.self),
                String(decoding: try Data(contentsOf: err), as: UTF8.self))
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var arguments: [String]
        var stdin: [UInt8] = []
        /// Pieces the error output must hold.
        var says: [String]
        /// The subcommand whose usage must be printed.
        var usage: String
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "http decode: a missing file names the OS reason",
             arguments: ["http", "decode", "--request", "/nonexistent.bin"],
             says: ["/nonexistent.bin", "No such file or directory"], usage: "wirecodec http decode"),
        Case(name: "http decode: a directory names the OS reason",
             arguments: ["http", "decode", "--request", "/"],
             says: ["Is a directory"], usage: "wirecodec http decode"),
        Case(name: "http decode --hex: bad hex",
             arguments: ["http", "decode", "--request", "--hex"], stdin: Array("47 4x".utf8),
             says: ["non-hex character at offset 4"], usage: "wirecodec http decode"),
        Case(name: "ws decode: a missing file",
             arguments: ["ws", "decode", "--role", "server", "/nonexistent.bin"],
             says: ["No such file or directory"], usage: "wirecodec ws decode"),
        Case(name: "ws decode --hex: odd digits",
             arguments: ["ws", "decode", "--role", "client", "--hex"], stdin: Array("81 0".utf8),
             says: ["odd number of hex digits"], usage: "wirecodec ws decode"),
        Case(name: "ws encode: a line that is not JSON says a JSON object was expected",
             arguments: ["ws", "encode", "--role", "server"], stdin: Array("not json\n".utf8),
             says: ["line 1", "expected a JSON object", "\"not json\""], usage: "wirecodec ws encode"),
        Case(name: "ws encode: a JSON array is not a line either",
             arguments: ["ws", "encode", "--role", "server"], stdin: Array("[1]\n".utf8),
             says: ["line 1", "expected a JSON object"], usage: "wirecodec ws encode"),
        Case(name: "ws encode: malformed JSON object",
             arguments: ["ws", "encode", "--role", "server"], stdin: Array("{\"type\":\n".utf8),
             says: ["line 1", "invalid JSON"], usage: "wirecodec ws encode"),
        Case(name: "sse decode: a missing file",
             arguments: ["sse", "decode", "/nonexistent.bin"],
             says: ["No such file or directory"], usage: "wirecodec sse decode"),
    ]

    @Test(arguments: cases)
    func usageErrorNamesItsCauseAndTheSubcommand(_ c: Case) throws {
        let (status, output, error) = try Self.run(c.arguments, stdin: c.stdin)
        #expect(status == 64)
        #expect(output.isEmpty)
        for piece in c.says { #expect(error.contains(piece), "\(error)") }
        #expect(error.contains("Usage: \(c.usage)"), "\(error)")
        #expect(!error.contains("<subcommand>"), "\(error)")
    }

    @Test func topLevelHelpNamesEveryFormat() throws {
        let (status, output, _) = try Self.run(["--help"])
        #expect(status == 0)
        #expect(output.contains("HTTP/1.1"))
        #expect(output.contains("WebSocket"))
        #expect(output.contains("Server-Sent Events"))
    }
}
