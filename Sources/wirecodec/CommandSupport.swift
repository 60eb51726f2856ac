import ArgumentParser
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A usage error found while a subcommand runs (an unreadable file, bad hex, a bad JSON line):
/// the message and *that subcommand's* usage go to standard error and the exit status is 64,
/// as for the errors ArgumentParser finds itself. (A `ValidationError` thrown from `run()`
/// would print the top-level usage instead.)
func usageFailure(_ command: any ParsableCommand.Type, _ message: String) -> ExitCode {
    let usage = WireCodecCommand.usageString(for: command)
    let path = usage.split(separator: " ").prefix { !$0.hasPrefix("-") && !$0.hasPrefix("[") && !$0.hasPrefix("<") }
        .joined(separator: " ")
    let text = "Error: \(message)\nUsage: \(usage)\n  See '\(path) --help' for more information.\n"
    FileHandle.standardError.write(Data(text.utf8))
    return ExitCode.validationFailure
}

/// Reads FILE, or standard input when there is none; a file that cannot be read is a usage
/// failure naming the operating system's reason (`No such file or directory`, ...).
func readInput(_ file: String?, for command: any ParsableCommand.Type) throws -> [UInt8] {
    guard let file else { return [UInt8](FileHandle.standardInput.readDataToEndOfFile()) }
    let fd = open(file, O_RDONLY)
    guard fd >= 0 else { throw usageFailure(command, "cannot read \(file): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 64 * 1024)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            throw usageFailure(command, "cannot read \(file): \(String(cString: strerror(errno)))")
        }
        if n == 0 { return bytes }
        bytes.append(contentsOf: chunk[0..<n])
    }
}
