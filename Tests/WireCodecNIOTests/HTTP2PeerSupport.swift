import Foundation
import Testing

/// A Python peer of Tests/Conformance/http2 that prints `{"listening": PORT}` first and then
/// one JSON object per line (what it saw), run for the duration of a test.
final class PythonPeerProcess {
    let process = Process()
    let port: Int
    private let output: Pipe
    private var firstLine = Data()

    static let python = Paths.which("python3")

    /// Whether python3 has the HTTP/2 peers (`h2`, `wsproto`), installed by setup-tests.sh.
    static var hasH2Peers: Bool {
        guard let python else { return false }
        return (try? runProcess(python, ["-c", "import h2, wsproto"], timeout: 30).status) == 0
    }

    static func script(_ name: String) -> String {
        Paths.root.appendingPathComponent("Tests/Conformance/http2/\(name)").path
    }

    init(script: String, arguments: [String]) throws {
        let python = try #require(Self.python)
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [Self.script(script)] + arguments
        output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let fd = output.fileHandleForReading.fileDescriptor
        var byte: UInt8 = 0
        while byte != 0x0A {
            let n = read(fd, &byte, 1)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            firstLine.append(byte)
        }
        let object = try JSONSerialization.jsonObject(with: firstLine) as? [String: Any]
        guard let port = object?["listening"] as? Int else {
            process.terminate()
            throw PeerError.noPort(String(decoding: firstLine, as: UTF8.self))
        }
        self.port = port
    }

    /// Stops the peer and returns the JSON lines it printed after the first.
    func stop() -> [[String: Any]] {
        // SIGKILL: a test runner may hand its children a blocked SIGTERM.
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        let text = String(decoding: readAll(output.fileHandleForReading.fileDescriptor), as: UTF8.self)
        process.waitUntilExit()
        return text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    enum PeerError: Error { case noPort(String) }
}

/// The message plan of the HTTP/2 peer tests: text (with non-ASCII characters) and binary
/// payloads around the frame length encodings, up to 1 MiB (more than a 64 KiB window).
enum HTTP2MessagePlan {
    static let sizes = [0, 1, 125, 126, 65_535, 65_536, 1 << 20]

    static func binary(_ size: Int, seed: Int) -> [UInt8] {
        (0..<size).map { UInt8(truncatingIfNeeded: seed &* 31 &+ $0 &* 7) }
    }
}
