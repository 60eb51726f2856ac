import Foundation
import Testing

/// Paths of the package and of the built executables (next to the test bundle).
enum Paths {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var binaries: URL {
        var url = Bundle.main.bundleURL
        while url.pathComponents.count > 1 && !url.lastPathComponent.hasSuffix(".xctest") {
            url.deleteLastPathComponent()
        }
        return url.lastPathComponent.hasSuffix(".xctest") ? url.deletingLastPathComponent() : Bundle.main.bundleURL
    }

    static func executable(_ name: String) -> URL { binaries.appendingPathComponent(name) }

    /// Finds a program on PATH.
    static func which(_ name: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }
}

/// Whether a missing external peer (curl, python websockets, chromium) fails the test
/// (`WIRECODEC_REQUIRE_PEERS`, set by `Tests/Scripts/test-all.sh`) or only skips it.
func requirePeer(_ available: Bool, _ what: String) -> Bool {
    if available { return true }
    if ProcessInfo.processInfo.environment["WIRECODEC_REQUIRE_PEERS"] != nil {
        Issue.record("\(what) is required (WIRECODEC_REQUIRE_PEERS) but not available")
    }
    return false
}

struct ProcessResult {
    var status: Int32
    var stdout: Data
    var stderr: String
    var timedOut: Bool
    var text: String { String(decoding: stdout, as: UTF8.self) }
}

/// Writing to a child's input after it exited raises SIGPIPE, which ends the test process
/// unless ignored: ignored once, the write fails with EPIPE instead.
let ignoreBrokenPipes: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

/// Runs a program to completion (stopped after `timeout` seconds: SIGTERM, then SIGKILL 2 s
/// later).
func runProcess(
    _ executable: String, _ arguments: [String], stdin: Data? = nil, environment: [String: String]? = nil,
    timeout: Double = 60
) throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment {
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    }
    let out = Pipe(), err = Pipe(), input = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = stdin == nil ? FileHandle.nullDevice : input
    try process.run()
    let pid = process.processIdentifier
    let killed = LockedData(), reaped = LockedData()
    let killer = DispatchWorkItem {
        if !hasEnded(pid) {
            killed.set(Data([1]))
            process.terminate()
            // The child inherits this thread's signal mask, SIGTERM blocked (Swift's test
            // threads block it): a program that does not unblock it ignores terminate().
            DispatchQueue.global().asyncAfter(deadline: .now() + 2) {
                if reaped.get().isEmpty && !hasEnded(pid) { kill(pid, SIGKILL) }
            }
        }
    }
    DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: killer)
    if let stdin {
        ignoreBrokenPipes
        DispatchQueue.global().async {
            // A child may exit without reading it all: EPIPE, not a trap (`write(_:)` traps).
            try? input.fileHandleForWriting.write(contentsOf: stdin)
            try? input.fileHandleForWriting.close()
        }
    }
    // Read both pipes concurrently so that neither fills up.
    let errData = LockedData()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async {
        errData.set(readAll(err.fileHandleForReading.fileDescriptor))
        group.leave()
    }
    let outData = readAll(out.fileHandleForReading.fileDescriptor)
    group.wait()
    process.waitUntilExit()
    reaped.set(Data([1]))
    killer.cancel()
    let timedOut = !killed.get().isEmpty
    return ProcessResult(
        status: process.terminationStatus, stdout: outData, stderr: String(decoding: errData.get(), as: UTF8.self),
        timedOut: timedOut)
}

/// Reads a pipe to its end with POSIX reads, retrying on EINTR (Foundation's FileHandle traps
/// on it, and other tests' child processes exiting cause it).
func readAll(_ fd: Int32) -> Data {
    var data = Data()
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { return data }
        data.append(contentsOf: buffer[0..<n])
    }
}

final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func set(_ value: Data) { lock.withLock { data = value } }
    func get() -> Data { lock.withLock { data } }
}

/// `wirecodec-echo-server` (or another example server that prints the same first line) on a
/// free loopback port, for the duration of a test.
final class EchoServerProcess {
    let process = Process()
    let port: Int
    private let output: Pipe

    init(_ arguments: [String] = [], executable: String = "wirecodec-echo-server") throws {
        let binary = Paths.executable(executable)
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "build the package first: \(binary.path)")
        process.executableURL = binary
        process.arguments = ["--host", "127.0.0.1", "--port", "0"] + arguments
        output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        // First line: "wirecodec-echo-server: listening on http://127.0.0.1:PORT/ ..."
        let text = String(decoding: readLine(from: output), as: UTF8.self)
        guard let range = text.range(of: "127.0.0.1:"),
            let port = Int(text[range.upperBound...].prefix { $0.isNumber })
        else {
            process.terminate()
            throw EchoServerError.noPort(text)
        }
        self.port = port
    }

    var httpURL: String { "http://127.0.0.1:\(port)" }
    var wsURL: String { "ws://127.0.0.1:\(port)" }

    /// Waits for the process to exit (someone else signalled it); its status, or `nil` if it
    /// is still running after `timeout` seconds.
    func waitForExit(timeout: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        return process.isRunning ? nil : process.terminationStatus
    }

    /// Sends SIGTERM and returns the exit status (0: a clean exit).
    func stop() -> Int32 {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning {
            process.interrupt()
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

enum EchoServerError: Error { case noPort(String) }

/// The next line a child writes to `pipe` (through its newline; shorter at end of file).
/// POSIX reads, a byte at a time so that nothing after the line is consumed:
/// `FileHandle.availableData` traps on EINTR (other tests' children exit).
func readLine(from pipe: Pipe) -> Data {
    let fd = pipe.fileHandleForReading.fileDescriptor
    var line = Data()
    var byte: UInt8 = 0
    while byte != 0x0A {
        let n = read(fd, &byte, 1)
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { break }
        line.append(byte)
    }
    return line
}
