import Foundation
import Testing

/// A Python peer of Tests/Conformance/http2 that prints `{"listening": PORT}` first and then
/// one JSON object per line (what it saw), run for the duration of a test.
final class PythonPeerProcess {
    let process = Process()
    let port: Int
    private let output: Pipe

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
        let firstLine = readLine(from: output)
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

/// An example server (`wirecodec-echo-server`, `wirecodec-feed-server`) over TLS with its
/// standard output read as it goes (it prints one JSON line per request with
/// `--log-requests`), for the duration of a test.
final class LoggingServerProcess {
    let process = Process()
    let port: Int
    private let lines = LockedLines()
    private let reader: Thread

    init(_ executable: String, _ arguments: [String]) throws {
        let binary = Paths.executable(executable)
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "build the package first: \(binary.path)")
        process.executableURL = binary
        process.arguments = ["--host", "127.0.0.1", "--port", "0"] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let fd = output.fileHandleForReading.fileDescriptor
        let lines = self.lines
        reader = Thread {
            var buffer = [UInt8](repeating: 0, count: 4096)
            var line: [UInt8] = []
            while true {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                for byte in buffer[0..<n] {
                    if byte == 0x0A {
                        lines.append(String(decoding: line, as: UTF8.self))
                        line = []
                    } else {
                        line.append(byte)
                    }
                }
            }
            lines.finish()
        }
        reader.start()
        // First line: "...: listening on https://127.0.0.1:PORT/ ..."
        let first = lines.waitForFirst(timeout: 30) ?? ""
        guard let range = first.range(of: "127.0.0.1:"), let port = Int(first[range.upperBound...].prefix { $0.isNumber })
        else {
            kill(process.processIdentifier, SIGKILL)
            throw PythonPeerProcess.PeerError.noPort(first)
        }
        self.port = port
    }

    /// The JSON objects printed so far.
    var records: [[String: Any]] {
        lines.all.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    /// Stops the server (SIGTERM, then SIGKILL after 10 s); returns its exit status.
    @discardableResult
    func stop() -> Int32 {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return -1
        }
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

final class LockedLines: @unchecked Sendable {
    private let condition = NSCondition()
    private var lines: [String] = []
    private var finished = false

    func append(_ line: String) {
        condition.withLock {
            lines.append(line)
            condition.broadcast()
        }
    }

    func finish() {
        condition.withLock {
            finished = true
            condition.broadcast()
        }
    }

    var all: [String] { condition.withLock { lines } }

    func waitForFirst(timeout: Double) -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        return condition.withLock {
            while lines.isEmpty && !finished {
                if !condition.wait(until: deadline) { break }
            }
            return lines.first
        }
    }
}

/// A throwaway CA and server certificate (Tests/Scripts/make-test-cert.sh) in a temporary
/// directory: `ca.pem`, `server.pem`, `server.key`, `spki.txt`.
struct TestCertificates {
    let directory: URL
    var ca: String { directory.appendingPathComponent("ca.pem").path }
    var chain: String { directory.appendingPathComponent("server.pem").path }
    var key: String { directory.appendingPathComponent("server.key").path }
    var spki: String {
        (try? String(contentsOf: directory.appendingPathComponent("spki.txt"), encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
    }

    static var opensslAvailable: Bool { Paths.which("openssl") != nil }

    static func make() throws -> TestCertificates {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("wirecodec-h2-\(UUID().uuidString)")
        let result = try runProcess(
            "/bin/bash", [Paths.root.appendingPathComponent("Tests/Scripts/make-test-cert.sh").path, directory.path], timeout: 60)
        try #require(result.status == 0, "make-test-cert.sh: \(result.stderr)")
        return TestCertificates(directory: directory)
    }

    func remove() { try? FileManager.default.removeItem(at: directory) }
}
