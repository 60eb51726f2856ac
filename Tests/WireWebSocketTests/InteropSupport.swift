#if canImport(Glibc)
import Foundation
import Glibc
import WireWebSocket

/// Blocking loopback TCP for the interop tests (POSIX sockets; test target only).
struct LoopbackSocket {
    let fd: Int32

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// A listening socket on 127.0.0.1 with a port chosen by the kernel.
    static func listen() throws -> (listener: LoopbackSocket, port: UInt16) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, Glibc.listen(fd, 4) == 0 else { throw Failure(description: "bind/listen: errno \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return (LoopbackSocket(fd: fd), UInt16(bigEndian: address.sin_port))
    }

    /// Accepts one connection (waiting at most `timeout` seconds).
    func accept(timeout: Int = 15) throws -> LoopbackSocket {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        var ready = poll(&poller, 1, Int32(timeout * 1000))
        while ready < 0 && errno == EINTR { ready = poll(&poller, 1, Int32(timeout * 1000)) }
        guard ready == 1 else { throw Failure(description: "accept timed out") }
        let client = Glibc.accept(fd, nil, nil)
        guard client >= 0 else { throw Failure(description: "accept: errno \(errno)") }
        let socket = LoopbackSocket(fd: client)
        socket.setTimeout(seconds: timeout)
        return socket
    }

    static func connect(port: UInt16, timeout: Int = 15) throws -> LoopbackSocket {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { throw Failure(description: "connect: errno \(errno)") }
        let socket = LoopbackSocket(fd: fd)
        socket.setTimeout(seconds: timeout)
        return socket
    }

    func setTimeout(seconds: Int) {
        var time = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
    }

    func write(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw Failure(description: "send: errno \(errno)") }
            sent += n
        }
    }

    /// Reads what is available (empty at EOF).
    func read(into buffer: inout [UInt8]) throws -> Int {
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw Failure(description: "recv: errno \(errno) (timeout?)") }
            return n
        }
    }

    func close() { _ = Glibc.close(fd) }
}

/// Runs `connection` over `socket` until the connection tells us to close the transport:
/// writes its outbound bytes, reads, and hands each event to `handle`.
func drive(
    _ connection: inout WebSocketConnection, over socket: LoopbackSocket,
    handle: (WebSocketEvent, inout WebSocketConnection) throws -> Void
) throws -> [Seen] {
    var seen: [Seen] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let out = connection.takeOutbound()
        if !out.isEmpty { try socket.write(out) }
        if connection.transport == .closeNow { return seen }
        let n = try socket.read(into: &buffer)
        if n == 0 {
            connection.receiveEOF()
        } else {
            buffer.withUnsafeBufferPointer { connection.receive($0.span.extracting(0..<n)) }
        }
        while true {
            do {
                guard let event = try connection.nextEvent() else { break }
                seen.append(.event(event))
                try handle(event, &connection)
            } catch let error as WebSocketProtocolError {
                seen.append(.error(error))
            }
        }
    }
}

/// The Python `websockets` peer: availability and processes.
enum InteropPeer {
    static var required: Bool { ProcessInfo.processInfo.environment["WIRECODEC_REQUIRE_PEERS"] == "1" }

    /// The interpreter with `websockets` 17.x (`WIRECODEC_PYTHON` or `python3` from `PATH`),
    /// resolved once to its real path (shims like pyenv's add a second per start), or `nil`.
    static let interpreter: String? = {
        let requested = ProcessInfo.processInfo.environment["WIRECODEC_PYTHON"] ?? "python3"
        let probe = "import sys, websockets; print(sys.executable) if websockets.__version__.startswith('17.') else sys.exit(1)"
        guard let running = try? start(executable: "/usr/bin/env", [requested, "-c", probe]) else { return nil }
        let line = running.readLine()
        running.process.waitUntilExit()
        guard running.process.terminationStatus == 0, let line, !line.isEmpty else { return nil }
        return line
    }()

    /// Whether `python3` with `websockets` 17.x can run.
    static var isAvailable: Bool { interpreter != nil }

    /// Tests run when the peer is there, or when CI requires it (and then fail without it).
    static var shouldRun: Bool { isAvailable || required }

    static let scriptPath: String = {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("wirecodec-peer-\(getpid()).py").path
        _ = FileManager.default.createFile(atPath: path, contents: Data(interopPeerScript.utf8))
        return path
    }()

    struct Running {
        let process: Process
        let output: FileHandle
        let errors: Pipe

        /// The next line of standard output (blocking).
        func readLine() -> String? {
            var line: [UInt8] = []
            var byte: UInt8 = 0
            while true {
                let n = Glibc.read(output.fileDescriptor, &byte, 1)
                if n < 0 && errno == EINTR { continue }
                guard n == 1 else { break }
                if byte == UInt8(ascii: "\n") { return String(decoding: line, as: UTF8.self) }
                line.append(byte)
            }
            return line.isEmpty ? nil : String(decoding: line, as: UTF8.self)
        }

        /// Waits for the exit and returns the JSON result line.
        func finish() -> (status: Int32, result: [String: Any]?, stderr: String) {
            var last: String? = nil
            while let line = readLine() { last = line }
            process.waitUntilExit()
            // POSIX reads: FileHandle traps on EINTR when other tests' children exit.
            var stderrBytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 4096)
            let fd = errors.fileHandleForReading.fileDescriptor
            while true {
                let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
                if n > 0 {
                    stderrBytes += chunk[..<n]
                } else if n < 0 && errno == EINTR {
                    continue
                } else {
                    break
                }
            }
            let stderr = String(decoding: stderrBytes, as: UTF8.self)
            let json = last.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            return (process.terminationStatus, json, stderr)
        }
    }

    static func start(executable: String, _ arguments: [String]) throws -> Running {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        return Running(process: process, output: output.fileHandleForReading, errors: errors)
    }

    static func runScript(_ arguments: [String]) throws -> Running {
        guard let interpreter else { throw LoopbackSocket.Failure(description: "python3 with websockets 17 is missing") }
        return try start(executable: interpreter, [scriptPath] + arguments)
    }

    static func server(spec: String) throws -> (Running, UInt16) {
        let running = try runScript(["server", spec])
        guard let line = running.readLine(), let port = UInt16(line) else {
            let (_, _, stderr) = running.finish()
            throw LoopbackSocket.Failure(description: "the Python server did not start: \(stderr)")
        }
        return (running, port)
    }

    static func client(port: UInt16, spec: String) throws -> Running {
        try runScript(["client", String(port), spec])
    }
}

/// The messages the interop tests send from our side (the Python peer sends its own set).
func interopMessages() -> [WebSocketOutboundEvent] {
    let json = (0..<2000).map { "{\"id\": \($0), \"name\": \"wirecodec\", \"tags\": [\"a\", \"b\"]}\n" }.joined()
    return [
        .text(""), .text("a"), .text(String(repeating: "é", count: 40)), .binary([UInt8](repeating: 0x5A, count: 125)),
        .binary([UInt8](repeating: 0, count: 126)), .text(String(json.prefix(1000))), .text(json),
        .binary(payload(50_000)), .binary([UInt8](repeating: 0, count: 100_000)),
        .text(String(repeating: "日本語のテキスト 🎉", count: 100)),
    ]
}
#endif
