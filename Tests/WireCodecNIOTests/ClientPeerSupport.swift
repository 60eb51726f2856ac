import Foundation
import Testing

/// The peers of the client tests: Python `websockets` and an `http.server` event stream
/// (Tests/Conformance/client/), Debian's `tinyproxy`, a test CA made with `openssl`.
enum ClientPeers {
    static let scripts = Paths.root.appendingPathComponent("Tests/Conformance/client")

    /// The Python with `websockets` 17.4: the project's venv, else `python3` on PATH.
    static let python: String? = {
        let venv = Paths.root.appendingPathComponent(".build/wirecodec-python/bin/python3").path
        for candidate in [venv, Paths.which("python3")].compactMap({ $0 }) {
            if FileManager.default.isExecutableFile(atPath: candidate),
                let result = try? runProcess(candidate, ["-c", "import websockets; assert websockets.__version__ == '17.4'"], timeout: 30),
                result.status == 0
            {
                return candidate
            }
        }
        return nil
    }()

    static let tinyproxy: String? = Paths.which("tinyproxy")
        ?? ["/usr/bin/tinyproxy", "/usr/sbin/tinyproxy"].first { FileManager.default.isExecutableFile(atPath: $0) }

    static let openssl: String? = Paths.which("openssl")

    /// A test CA and a server certificate for localhost and 127.0.0.1, made once per run with
    /// `openssl` by Tests/Scripts/make-test-cert.sh: `ca.pem`, `server.pem`, `server.key`.
    static let certificates: URL? = {
        guard openssl != nil, let bash = Paths.which("bash") else { return nil }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wirecodec-client-ca-\(getpid())")
        let script = Paths.root.appendingPathComponent("Tests/Scripts/make-test-cert.sh").path
        guard let result = try? runProcess(bash, [script, dir.path], timeout: 60), result.status == 0 else { return nil }
        return dir
    }()

    /// `certificates` or a failed requirement.
    static func requireCertificates() throws -> (ca: String, cert: String, key: String) {
        let dir = try #require(certificates, "a test CA (openssl, Tests/Scripts/make-test-cert.sh)")
        return (dir.appendingPathComponent("ca.pem").path, dir.appendingPathComponent("server.pem").path,
                dir.appendingPathComponent("server.key").path)
    }

    /// `wirecodec` next to the test bundle.
    static var wirecodec: String { Paths.executable("wirecodec").path }
}

extension Trait where Self == ConditionTrait {
    /// Runs the test when its peer is installed, or when peers are required
    /// (`WIRECODEC_REQUIRE_PEERS`, set by the test command: a missing peer then fails the
    /// test); otherwise the test is skipped, visibly.
    static func peer(_ available: Bool, _ what: String) -> Self {
        .enabled(if: available || ProcessInfo.processInfo.environment["WIRECODEC_REQUIRE_PEERS"] != nil, "needs \(what)")
    }
}

/// A peer program in the background whose standard output is JSON lines (the first one
/// `{"listening": PORT}`), collected as they come.
final class PeerProcess: @unchecked Sendable {
    let process = Process()
    private let lock = NSLock()
    private var lines: [String] = []
    private let done = DispatchSemaphore(value: 0)

    init(_ executable: String, _ arguments: [String], stderr: Bool = false) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = stderr ? out : FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let fd = out.fileHandleForReading.fileDescriptor
        let thread = Thread { [self] in
            var current = Data()
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                for byte in buffer[0..<n] {
                    if byte == 0x0A {
                        let line = String(decoding: current, as: UTF8.self)
                        lock.withLock { lines.append(line) }
                        current.removeAll()
                    } else {
                        current.append(byte)
                    }
                }
            }
            done.signal()
        }
        thread.start()
    }

    /// The lines so far.
    var output: [String] { lock.withLock { lines } }

    /// The lines parsed as JSON objects.
    var objects: [[String: Any]] {
        output.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    /// Waits until a line satisfies `predicate` (or `timeout` passes).
    @discardableResult
    func waitFor(timeout: Double = 20, _ predicate: ([String: Any]) -> Bool) -> [String: Any]? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let match = objects.first(where: predicate) { return match }
            if !process.isRunning { return objects.first(where: predicate) }
            usleep(20_000)
        }
        return nil
    }

    /// The port of `{"listening": PORT}`.
    func port() throws -> Int {
        let line = try #require(waitFor { $0["listening"] != nil }, "the peer did not start: \(output)")
        return try #require(line["listening"] as? Int)
    }

    func stop() {
        stopProcess(process)
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

/// Debian's tinyproxy on a free loopback port, with its own configuration file.
final class TinyproxyProcess {
    let process = Process()
    let port: Int
    let directory: URL

    /// - Parameter basicAuth: `(user, password)` to require (tinyproxy's `BasicAuth`).
    init(basicAuth: (String, String)? = nil) throws {
        let tinyproxy = try #require(ClientPeers.tinyproxy)
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("wirecodec-tinyproxy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        port = try Self.freePort()
        var config = """
            Port \(port)
            Listen 127.0.0.1
            Timeout 60
            Allow 127.0.0.1
            MaxClients 50
            LogLevel Info
            LogFile "\(directory.appendingPathComponent("tinyproxy.log").path)"

            """
        if let (user, password) = basicAuth { config += "BasicAuth \(user) \(password)\n" }
        let configURL = directory.appendingPathComponent("tinyproxy.conf")
        try config.write(to: configURL, atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: tinyproxy)
        process.arguments = ["-d", "-c", configURL.path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(10)
        while !Self.isListening(port) {
            guard Date() < deadline, process.isRunning else { throw PeerError.notStarted("tinyproxy on \(port)") }
            usleep(20_000)
        }
    }

    var url: String { "http://127.0.0.1:\(port)" }

    /// tinyproxy's log (its CONNECT lines).
    var log: String { (try? String(contentsOf: directory.appendingPathComponent("tinyproxy.log"), encoding: .utf8)) ?? "" }

    func stop() {
        stopProcess(process)
        try? FileManager.default.removeItem(at: directory)
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw PeerError.notStarted("no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func isListening(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}

enum PeerError: Error { case notStarted(String) }

/// Ends a peer at once (SIGKILL: the test process may pass its children a mask that blocks
/// SIGTERM, and nothing of the peers' exit is under test) and waits for it.
func stopProcess(_ process: Process) {
    if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    process.waitUntilExit()
}

/// The JSON lines `wirecodec` printed, parsed.
func jsonLines(_ text: String) -> [[String: Any]] {
    text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
}

/// `{"type":"text","data_b64":...}` decoded, for comparing.
func decodedMessages(_ text: String) -> [String] {
    jsonLines(text).map { line in
        let type = line["type"] as? String ?? "?"
        if let b64 = line["data_b64"] as? String, let data = Data(base64Encoded: b64) {
            return type == "text" ? "text:" + String(decoding: data, as: UTF8.self) : "\(type):" + data.map { String(format: "%02x", $0) }.joined()
        }
        if type == "close" { return "close:\(line["code"] as? Int ?? -1):\(line["reason"] as? String ?? "")" }
        return type
    }
}
