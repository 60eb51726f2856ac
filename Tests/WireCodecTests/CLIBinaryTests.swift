import Foundation
import Testing

/// Every flag of the `wirecodec` contracts, through the built binary (independent corpora
/// replay their bytes through it, so the wiring of each flag is tested, not only the library
/// behind it). Inputs come from a file or from standard input.
@Suite struct CLIBinaryTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var arguments: [String]
        var stdin: [UInt8]? = nil
        var status: Int32 = 0
        /// The exact output, or nil to check `contains` only.
        var output: String?
        var contains: [String] = []
        var testDescription: String { name }
    }

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static func fixture(_ path: String) -> String { root.appendingPathComponent("Fixtures/" + path).path }
    static let maskedHello: [UInt8] = [0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58]   // RFC 6455 §5.7
    static let helloLine = Array(#"{"type":"text","data_b64":"SGVsbG8="}"#.utf8) + [0x0A]

    static let cases: [Case] = [
        Case(name: "http decode --response --head (file)",
             arguments: ["http", "decode", "--response", "--head", fixture("http/responses/head-h11.bin")],
             output: try? String(contentsOfFile: fixture("http/responses/head-h11.expected.jsonl"), encoding: .utf8)),
        Case(name: "http decode --request --hex (stdin)",
             arguments: ["http", "decode", "--request", "--hex"],
             stdin: Array("47 45 54 20 2f 20 48 54 54 50 2f 31 2e 31 0d 0a\n48 6f 73 74 3a 20 61 0d 0a 0d 0a\n".utf8),
             output: #"{"type":"request","method":"GET","target":"/","version":"HTTP/1.1","headers":[["Host","a"]],"body_b64":"","trailers":[]}"# + "\n"),
        Case(name: "http decode --response: a body read until close ends with the input",
             arguments: ["http", "decode", "--response"], stdin: Array("HTTP/1.1 200 OK\r\n\r\nabc".utf8),
             output: #"{"type":"response","status":200,"reason":"OK","version":"HTTP/1.1","headers":[],"body_b64":"YWJj","trailers":[]}"# + "\n"),
        Case(name: "http decode --request: error line",
             arguments: ["http", "decode", "--request"], stdin: Array("GET / HTTP/1.1\r\nHost : a\r\n\r\n".utf8),
             output: nil, contains: [#"{"type":"error","code":"#, #""offset":"#]),
        Case(name: "http decode --request --pretty",
             arguments: ["http", "decode", "--request", "--pretty", fixture("http/requests/curl-get.bin")],
             output: nil, contains: ["GET", "/hello"]),
        Case(name: "http decode: --request and --response together is a usage error",
             arguments: ["http", "decode", "--request", "--response"], stdin: [], status: 64, output: nil),
        Case(name: "ws decode --role client --hex",
             arguments: ["ws", "decode", "--role", "client", "--hex"], stdin: Array("81 05 48 65 6c 6c 6f".utf8),
             output: String(decoding: helloLine, as: UTF8.self)),
        Case(name: "ws decode --role server --max-message-bytes 3",
             arguments: ["ws", "decode", "--role", "server", "--max-message-bytes", "3"], stdin: maskedHello,
             output: #"{"type":"error","close_code":1009,"reason":"message-too-large"}"# + "\n"),
        Case(name: "ws decode --role client --deflate (RFC 7692 §7.2.3.1)",
             arguments: ["ws", "decode", "--role", "client", "--deflate", "permessage-deflate"],
             stdin: [0xC1, 0x07, 0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00],
             output: String(decoding: helloLine, as: UTF8.self)),
        Case(name: "ws decode: incomplete",
             arguments: ["ws", "decode", "--role", "client"], stdin: [0x81, 0x05, 0x48],
             output: #"{"type":"incomplete"}"# + "\n"),
        Case(name: "ws decode --pretty",
             arguments: ["ws", "decode", "--role", "server", "--pretty"], stdin: maskedHello,
             output: nil, contains: ["text(1)", "mask=37fa213d", "\"Hello\""]),
        Case(name: "ws encode --role client --mask-key --hex (RFC 6455 §5.7)",
             arguments: ["ws", "encode", "--role", "client", "--mask-key", "37fa213d", "--hex"], stdin: helloLine,
             output: "81 85 37 fa 21 3d 7f 9f 4d 51 58\n"),
        Case(name: "ws encode --role server --fragment-size 3 --hex (RFC 6455 §5.7)",
             arguments: ["ws", "encode", "--role", "server", "--fragment-size", "3", "--hex"], stdin: helloLine,
             output: "01 03 48 65 6c 80 02 6c 6f\n"),
        Case(name: "ws encode --role server --mask-key is a usage error",
             arguments: ["ws", "encode", "--role", "server", "--mask-key", "37fa213d"], stdin: helloLine, status: 64, output: nil),
        Case(name: "sse decode (stdin)",
             arguments: ["sse", "decode"], stdin: Array("retry: 500\nid: 7\nevent: add\ndata: a\ndata: b\n\n".utf8),
             output: #"{"type":"retry","ms":500}"# + "\n" + #"{"type":"event","event":"add","data":"a\nb","id":"7"}"# + "\n"),
    ]

    @Test(arguments: cases)
    func flag(_ c: Case) throws {
        let binary = HTTPFixtureReplayTests.executable()
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "build the package first: \(binary.path)")
        let (status, output) = try Self.run(binary, c.arguments, stdin: c.stdin)
        #expect(status == c.status, "\(output)")
        if let expected = c.output { #expect(output == expected) }
        for piece in c.contains { #expect(output.contains(piece), "\(output)") }
    }

    /// Runs the binary with `stdin` (from a temporary file) and returns its status and output.
    static func run(_ binary: URL, _ arguments: [String], stdin: [UInt8]?) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        var input: URL?
        if let stdin {
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("wirecodec-cli-\(UUID().uuidString)")
            try Data(stdin).write(to: url)
            input = url
            process.standardInput = try FileHandle(forReadingFrom: url)
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        defer { if let input { try? FileManager.default.removeItem(at: input) } }
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("wirecodec-cli-out-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: output) }
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: try Data(contentsOf: output), as: UTF8.self))
    }
}
