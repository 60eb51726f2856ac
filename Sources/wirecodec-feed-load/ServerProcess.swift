import Foundation

/// The feed server under test, started as a child process so that its CPU time and memory
/// can be read from `/proc` (Linux).
final class ServerProcess {
    let process: Process
    let pid: Int32
    let port: Int

    init(executable: String, arguments: [String]) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["--host", "127.0.0.1", "--port", "0"] + arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.standardError
        try process.run()
        pid = process.processIdentifier
        // The first line names the port: "... listening on http://127.0.0.1:PORT/ ...".
        // POSIX reads: FileHandle.availableData traps on EINTR.
        var line: [UInt8] = []
        let fd = out.fileHandleForReading.fileDescriptor
        var byte: UInt8 = 0
        while byte != 0x0A {
            let n = read(fd, &byte, 1)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            line.append(byte)
        }
        let text = String(decoding: line, as: UTF8.self)
        guard let range = text.range(of: "127.0.0.1:"),
              let port = Int(text[range.upperBound...].prefix { $0.isNumber })
        else {
            process.terminate()
            throw LoadError("the feed server did not start: \(text)")
        }
        self.port = port
    }

    var readings: ProcessReadings { ProcessReadings(pid: pid) }

    /// CPU time the server has used so far (all its threads).
    func cpuNanoseconds() -> UInt64 { readings.cpuNanoseconds() }

    /// Resident memory of the server, in bytes.
    func residentBytes() -> Int { readings.residentBytes() }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    deinit { stop() }
}

/// CPU time and resident memory of a process, from `/proc` (Linux): the spawned server, or
/// the instances named by `--server-pid`.
struct ProcessReadings: Sendable {
    let pid: Int32

    /// CPU time used so far (all threads, from `/proc/PID/task/*/schedstat`); 0 once it is gone.
    func cpuNanoseconds() -> UInt64 {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        var total: UInt64 = 0
        for task in tasks {
            guard let text = try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/schedstat", encoding: .utf8),
                  let first = text.split(separator: " ").first, let ns = UInt64(first)
            else { continue }
            total += ns
        }
        return total
    }

    /// Resident memory (`VmRSS` in `/proc/PID/status`), in bytes.
    func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kb = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        else { return 0 }
        return kb * 1024
    }
}

struct LoadError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
